"""`broadsheet digest send|status|preview`: queue and send due digests, report the outbox, preview a digest.

Rule: the command parses arguments and prints; broadsheet.digest.outbox, .sender and .render do the work.
`send` is safe to run again at any time, also after a kill: rows are created once and never sent twice.
"""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from broadsheet.digest import outbox
from broadsheet.digest.models import DigestRun, Subscriber
from broadsheet.digest.sender import send_outbox
from broadsheet.mailer import EmlFileBackend

RECENT_RUNS = 10
COUNT_COLUMNS = ["queued", "sending", "sent", "failed", "uncertain", "abandoned", "skipped"]


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"expected a date such as 2026-03-02, got {raw!r}") from exc


class Command(BaseCommand):
    help = "Send the digests that are due, show the outbox per run, or preview one subscriber's digest."
    # a sender restarted after a crash should be sending within a second: the checks import every view
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{send,status,preview}")
        send = actions.add_parser("send", help="queue the digests due now (or for --date), then send")
        send.add_argument(
            "--date",
            dest="digest_date",
            type=_date,
            help="queue every subscriber's digest for this date (YYYY-MM-DD) and send it now, whatever "
            "their delivery hour; without it, those whose delivery hour has come",
        )
        send.add_argument(
            "--sender-id",
            default="",
            help="name claims with this id instead of host:pid:start (a claim by an id that is not "
            "host:pid:start counts as dead 10 minutes after it was made)",
        )
        send.add_argument(
            "--no-wait",
            action="store_true",
            help="stop when nothing can be sent now instead of waiting for rows in a retry backoff",
        )
        status = actions.add_parser("status", help="counts per status for recent runs, and rows to look at")
        status.add_argument("--run", type=int, help="only this run")
        preview = actions.add_parser("preview", help="print the digest EMAIL would get now (nothing is sent)")
        preview.add_argument("email")
        preview.add_argument("--html", type=Path, help="also write the HTML part to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(**options)

    def handle_send(self, *, digest_date: date | None, sender_id: str, no_wait: bool, **_: Any) -> None:
        started = outbox.start_run(now=timezone.now(), trigger="manual", digest_date=digest_date)
        if started.run is None:
            self.stdout.write("no new digests to queue")
        else:
            for_date = f" for {digest_date:%Y-%m-%d}" if digest_date else ""
            self.stdout.write(f"run {started.run.pk}: queued {started.created} digests{for_date}")
        connection = get_connection(fail_silently=False)
        report = send_outbox(sender_id=sender_id or None, connection=connection, wait_for_retries=not no_wait)
        self.stdout.write(report.summary())
        if isinstance(connection, EmlFileBackend) and report.sent:
            self.stdout.write(
                "no SMTP server configured (BROADSHEET_SMTP_URL): the messages were written as .eml files "
                f"to {connection.folder}"
            )
        if report.uncertain_orphans:
            self.stdout.write("see `broadsheet digest status` for the uncertain rows")

    def handle_status(self, *, run: int | None, **_: Any) -> None:
        if run is not None:
            runs = list(DigestRun.objects.filter(pk=run))
            if not runs:
                raise CommandError(f"no digest run {run}")
        else:
            runs = list(DigestRun.objects.order_by("-id")[:RECENT_RUNS])[::-1]
        if not runs:
            self.stdout.write("no digest runs yet")
            return
        counts = outbox.run_counts(run.pk for run in runs)
        header = f"{'run':>5}  {'started (UTC)':16}  {'trigger':8}  {'date':10}  " + "  ".join(
            f"{name:>9}" for name in COUNT_COLUMNS
        )
        self.stdout.write(header)
        for digest_run in runs:
            started_at = digest_run.started_at.astimezone(UTC)
            self.stdout.write(
                f"{digest_run.pk:>5}  {started_at:%Y-%m-%d %H:%M}  {digest_run.trigger:8}  "
                f"{digest_run.digest_date.isoformat() if digest_run.digest_date else '-':10}  "
                + "  ".join(f"{counts[digest_run.pk][name]:>9}" for name in COUNT_COLUMNS)
            )
        attention = list(outbox.rows_needing_attention([run.pk for run in runs]))
        if attention:
            self.stdout.write("")
            self.stdout.write("rows to look at (never resent automatically):")
            for row in attention:
                self.stdout.write(
                    f"  delivery {row.pk} (run {row.run_id})  {row.subscriber.email}  {row.digest_date}  "
                    f"{row.status}  {row.error}"
                )

    def handle_preview(self, *, email: str, html: Path | None, **_: Any) -> None:
        from broadsheet.digest.render import preview_digest

        try:
            rendered = preview_digest(email, now=timezone.now())
        except Subscriber.DoesNotExist as exc:
            raise CommandError(f"no subscriber with the address {email!r}") from exc
        self.stdout.write(f"Subject: {rendered.subject}")
        self.stdout.write("")
        self.stdout.write(rendered.text)
        if html is not None:
            html.write_text(rendered.html, encoding="utf-8")
            self.stdout.write(f"HTML part written to {html} (base URL {settings.BASE_URL})")
