"""`broadsheet worker`: the job worker (huey consumer) that runs queued and scheduled jobs."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the job worker: queued jobs and the schedule (SQLite queue, or Redis when REDIS_URL is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=1, help="worker threads")
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not run the schedule (run it on exactly one worker when there are several)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "run_huey", workers=options["workers"], worker_type="thread", periodic=not options["no_periodic"]
        )
