"""`broadsheet fake-arxiv FILE`: serve a snapshot file as a fake arXiv (OAI-PMH and API) on loopback.

Rule: it prints the two settings that point Broadsheet at it, then serves until interrupted.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadsheet.ingest.fake_arxiv import (
    DEFAULT_PAGE_SIZE,
    FAULT_KINDS,
    FakeArxiv,
    FakeStore,
    parse_fault_spec,
)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve an arXiv snapshot file (JSON Lines, .gz ok) as a fake arXiv OAI-PMH and API server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help="arXiv metadata snapshot (JSON Lines, optionally gzipped)"
        )
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
        parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="records per OAI page")
        parser.add_argument(
            "--deleted",
            action="append",
            default=[],
            metavar="ID[@YYYY-MM-DD]",
            help="serve this id as a deleted record (repeatable)",
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="KIND[:key=value,...]",
            help=f"inject a fault at start (repeatable); kinds: {', '.join(sorted(FAULT_KINDS))} or an HTTP "
            "status; options: count, after, status, retry_after, seconds, body, path. "
            "Example: 503:count=2,retry_after=5. At run time: POST /_fault with the same as JSON.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            faults = [parse_fault_spec(spec) for spec in options["fault"]]
        except (TypeError, ValueError) as exc:
            raise CommandError(f"--fault: {exc}") from exc
        started = time.monotonic()
        try:
            store = FakeStore.from_file(path, options["deleted"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        fake = FakeArxiv(
            store, host=options["host"], port=options["port"], page_size=options["page_size"], faults=faults
        )
        self.stderr.write(
            f"indexed {len(store.records):,} records from {path} in {time.monotonic() - started:.1f} s; "
            f"serving on {fake.url} (Ctrl-C stops)"
        )
        self.stdout.write(f"BROADSHEET_ARXIV_OAI_URL={fake.oai_url} BROADSHEET_ARXIV_API_URL={fake.api_url}")
        self.stdout.flush()
        # SIGTERM stops it as cleanly as Ctrl-C does
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            pass
