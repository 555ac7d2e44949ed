"""`broadsheet ingest oai|api|snapshot|hf`: run one ingest source and print a one-line summary.

Rule: the command only parses arguments, shows progress and reports; the work is done by
broadsheet.ingest.oai, .arxiv_api, .snapshot and broadsheet.trending.hf_daily. No network is exit
status 3 with one line.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from broadsheet.ingest.arxiv_api import fetch_by_ids, fetch_by_query
from broadsheet.ingest.http import PoliteClient, UpstreamUnreachable
from broadsheet.ingest.oai import METADATA_PREFIXES, OaiPage, harvest_oai
from broadsheet.ingest.records import IngestError
from broadsheet.ingest.snapshot import SNAPSHOT_BATCH_SIZE, import_snapshot
from broadsheet.ingest.upsert import UpsertResult, upsert_papers
from broadsheet.trending.hf_daily import HfImportResult, import_daily_pages, import_saved_responses

NO_NETWORK_STATUS = 3


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"expected YYYY-MM-DD, got {raw!r}") from exc


def format_summary(label: str, result: UpsertResult, seconds: float) -> str:
    rate = result.seen / seconds if seconds > 0 else 0.0
    return (
        f"{label}: {result.seen:,} papers (created {result.created:,}, updated {result.updated:,}, "
        f"unchanged {result.unchanged:,}, deleted {result.deleted:,}, skipped {result.skipped:,}) "
        f"in {seconds:.1f} s, {rate:,.0f} papers/s"
    )


class Command(BaseCommand):
    help = (
        "Ingest papers from arXiv OAI-PMH, the arXiv API, a metadata snapshot or Hugging Face daily papers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sources = parser.add_subparsers(dest="source", required=True, metavar="{oai,api,snapshot,hf}")

        oai = sources.add_parser("oai", help="harvest arXiv OAI-PMH (resumable)")
        oai.add_argument(
            "--from",
            dest="from_date",
            type=_day,
            metavar="YYYY-MM-DD",
            help="first datestamp (default: today minus BROADSHEET_INGEST_DAYS)",
        )
        oai.add_argument(
            "--until",
            dest="until_date",
            type=_day,
            metavar="YYYY-MM-DD",
            help="last datestamp (default: open-ended)",
        )
        oai.add_argument(
            "--set",
            dest="sets",
            action="extend",
            nargs="+",
            metavar="SET",
            help="OAI sets, e.g. cs physics:astro-ph cs:cs:CL (default: BROADSHEET_OAI_SETS)",
        )
        oai.add_argument(
            "--prefix",
            choices=METADATA_PREFIXES,
            default=None,
            help="metadata format (default: BROADSHEET_OAI_METADATA_PREFIX)",
        )
        oai.add_argument(
            "--restart",
            action="store_true",
            help="ignore the stored checkpoint and start the list from its first page",
        )

        api = sources.add_parser("api", help="fetch papers by id or by query from the arXiv API")
        api.add_argument("ids", nargs="*", metavar="ID", help="arXiv ids (2501.01234, hep-th/9901001)")
        api.add_argument("--query", help='arXiv search_query, e.g. "cat:cs.CL AND ti:retrieval"')
        api.add_argument("--max", dest="max_results", type=int, default=100, help="most results of --query")

        snapshot = sources.add_parser(
            "snapshot", help="import an arXiv metadata snapshot (JSON Lines, .gz ok)"
        )
        snapshot.add_argument("file", type=Path)
        snapshot.add_argument("--restart", action="store_true", help="start again from the first line")
        snapshot.add_argument(
            "--skip-invalid",
            action="store_true",
            help="skip malformed lines (reported) instead of stopping at the first",
        )
        snapshot.add_argument(
            "--batch-size", type=int, default=SNAPSHOT_BATCH_SIZE, help="papers per committed batch"
        )

        hf = sources.add_parser(
            "hf",
            help="Hugging Face daily papers (upvotes, GitHub links) from the API or from saved responses",
        )
        hf.add_argument(
            "--dir",
            type=Path,
            help="import saved /api/daily_papers responses (YYYY-MM-DD.json or .json.gz) from this folder",
        )
        hf.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="one daily page (default: today)")
        hf.add_argument("--from", dest="from_date", type=_day, metavar="YYYY-MM-DD", help="first daily page")
        hf.add_argument(
            "--until",
            dest="until_date",
            type=_day,
            metavar="YYYY-MM-DD",
            help="last daily page (default: today)",
        )
        hf.add_argument("--days", type=int, help="the daily pages of the last N days, today included")
        hf.add_argument(
            "--skip-invalid",
            action="store_true",
            help="with --dir: leave out malformed files (reported) instead of stopping at the first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.console = Console(stderr=True)
        now = timezone.now()
        keep_categories = frozenset(settings.BROADSHEET["CATEGORIES"])
        try:
            if options["source"] == "oai":
                self.handle_oai(options, now, keep_categories)
            elif options["source"] == "api":
                self.handle_api(options, now)
            elif options["source"] == "hf":
                self.handle_hf(options, now, keep_categories)
            else:
                self.handle_snapshot(options, now, keep_categories)
        except UpstreamUnreachable as exc:
            raise CommandError(
                f"no network: {exc}; serving what we have", returncode=NO_NETWORK_STATUS
            ) from exc
        except IngestError as exc:
            raise CommandError(str(exc)) from exc

    def _progress(self, *columns: Any) -> Progress:
        return Progress(*columns, console=self.console, disable=not self.console.is_terminal, transient=True)

    def handle_oai(self, options: dict[str, Any], now: datetime, keep_categories: frozenset[str]) -> None:
        config = settings.BROADSHEET
        from_date = options["from_date"] or (now.date() - timedelta(days=config["INGEST_DAYS"]))
        until_date = options["until_date"]
        if until_date is not None and until_date < from_date:
            raise CommandError(f"--until {until_date} is before --from {from_date}")
        prefix = options["prefix"] or config["OAI_METADATA_PREFIX"]
        sets: list[str | None] = list(options["sets"] or config["OAI_SETS"]) or [None]
        with PoliteClient() as client:
            for set_spec in sets:
                label = f"oai {set_spec or 'all sets'} ({prefix}, from {from_date}" + (
                    f" until {until_date})" if until_date else ")"
                )
                started = time.monotonic()
                with self._progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    TextColumn("{task.fields[position]}"),
                    TextColumn("created {task.fields[created]:,} updated {task.fields[updated]:,}"),
                    TimeElapsedColumn(),
                ) as progress:
                    task = progress.add_task(label, total=None, position="", created=0, updated=0)

                    def on_page(
                        page: OaiPage, totals: UpsertResult, task: Any = task, progress: Progress = progress
                    ):
                        done = (page.cursor or 0) + len(page.records)
                        size = f"/{page.complete_list_size:,}" if page.complete_list_size else ""
                        progress.update(
                            task,
                            completed=done,
                            total=page.complete_list_size,
                            position=f"{done:,}{size} records, page {page.number}",
                            created=totals.created,
                            updated=totals.updated,
                        )

                    result = harvest_oai(
                        client,
                        base_url=config["ARXIV_OAI_URL"],
                        metadata_prefix=prefix,
                        set_spec=set_spec,
                        from_date=from_date,
                        until_date=until_date,
                        now=now,
                        keep_categories=keep_categories,
                        on_page=on_page,
                        restart=options["restart"],
                    )
                self.stdout.write(format_summary(label, result, time.monotonic() - started))

    def handle_api(self, options: dict[str, Any], now: datetime) -> None:
        ids, query = options["ids"], options["query"]
        if bool(ids) == bool(query):
            raise CommandError("give either arXiv ids or --query, not both or neither")
        base_url = settings.BROADSHEET["ARXIV_API_URL"]
        started = time.monotonic()
        with PoliteClient() as client:
            if ids:
                records = fetch_by_ids(client, ids, base_url=base_url)
                label = f"api {len(ids)} ids"
            else:
                records = fetch_by_query(client, query, base_url=base_url, max_results=options["max_results"])
                label = f"api query {query!r}"
        # papers asked for by name are kept whatever BROADSHEET_CATEGORIES says
        result = upsert_papers(records, now=now)
        if records.not_found:
            self.stderr.write(f"not found on arXiv: {', '.join(records.not_found)}")
        self.stdout.write(format_summary(label, result, time.monotonic() - started))

    def handle_snapshot(
        self, options: dict[str, Any], now: datetime, keep_categories: frozenset[str]
    ) -> None:
        path: Path = options["file"]
        started = time.monotonic()
        with self._progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rate]:,.0f} papers/s"),
            TextColumn("created {task.fields[created]:,} updated {task.fields[updated]:,}"),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task(f"snapshot {path.name}", total=None, rate=0.0, created=0, updated=0)

            def on_progress(done_bytes: int, total_bytes: int, totals: UpsertResult) -> None:
                elapsed = time.monotonic() - started
                progress.update(
                    task,
                    completed=done_bytes,
                    total=total_bytes,
                    created=totals.created,
                    updated=totals.updated,
                    rate=totals.seen / elapsed if elapsed > 0 else 0.0,
                )

            result = import_snapshot(
                path,
                now=now,
                batch_size=options["batch_size"],
                keep_categories=keep_categories,
                restart=options["restart"],
                skip_invalid=options["skip_invalid"],
                on_progress=on_progress,
                on_invalid=lambda message: self.stderr.write(f"skipped: {message}"),
            )
        self.stdout.write(format_summary(f"snapshot {path}", result, time.monotonic() - started))

    def handle_hf(self, options: dict[str, Any], now: datetime, keep_categories: frozenset[str]) -> None:
        started = time.monotonic()
        ranged = [options["date"], options["from_date"], options["until_date"], options["days"]]
        progress = self._progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[day]}"),
            TimeElapsedColumn(),
        )
        if options["dir"] is not None:
            if any(value is not None for value in ranged):
                raise CommandError("--dir takes no --date, --from, --until or --days")
            with progress:
                task = progress.add_task(f"hf {options['dir']}", total=None, day="")
                result: HfImportResult = import_saved_responses(
                    options["dir"],
                    now=now,
                    keep_categories=keep_categories,
                    skip_invalid=options["skip_invalid"],
                    on_response=lambda day, _totals: progress.update(task, advance=1, day=str(day)),
                    on_invalid=lambda message: self.stderr.write(f"skipped: {message}"),
                )
            self.stdout.write(result.summary(f"hf {options['dir']}", time.monotonic() - started))
            return
        days = self._hf_days(options, now.date())
        label = f"hf {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "")
        with PoliteClient() as client, progress:
            task = progress.add_task(label, total=len(days), day="")
            result = import_daily_pages(
                client,
                days,
                base_url=settings.BROADSHEET["HF_URL"],
                now=now,
                keep_categories=keep_categories,
                on_response=lambda day, _totals: progress.update(task, advance=1, day=str(day)),
            )
        self.stdout.write(result.summary(label, time.monotonic() - started))

    @staticmethod
    def _hf_days(options: dict[str, Any], today: date) -> list[date]:
        if options["skip_invalid"]:
            raise CommandError("--skip-invalid goes with --dir")
        if options["days"] is not None:
            if options["days"] < 1 or any(options[name] for name in ("date", "from_date", "until_date")):
                raise CommandError("--days takes a positive number and no --date, --from or --until")
            return [today - timedelta(days=back) for back in range(options["days"] - 1, -1, -1)]
        if options["date"] is not None:
            if options["from_date"] or options["until_date"]:
                raise CommandError("give either --date or --from/--until")
            return [options["date"]]
        first = options["from_date"] or options["until_date"] or today
        last = options["until_date"] or today
        if last < first:
            raise CommandError(f"--until {last} is before --from {first}")
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
