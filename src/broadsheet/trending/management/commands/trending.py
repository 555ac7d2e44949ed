"""`broadsheet trending compute|stars`: recompute the trending scores, or sample GitHub star counts.

Rule: the command only parses arguments and reports one line; broadsheet.trending.score and .github do
the work. No network is exit status 3; GitHub's rate limit is a clean stop that says when it resumes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from broadsheet.ingest.http import UpstreamError, UpstreamUnreachable
from broadsheet.trending.github import make_github_client, sample_stars
from broadsheet.trending.score import compute_trending

NO_NETWORK_STATUS = 3


def _moment(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"expected an ISO date-time such as 2026-08-22T00:00Z, got {raw!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Recompute the trending scores, or sample the GitHub stars of repositories linked from papers."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{compute,stars}")
        compute = actions.add_parser("compute", help="recompute every trending score from the signals")
        compute.add_argument(
            "--now",
            type=_moment,
            help="score as of this moment (ISO date-time, UTC when no offset; default: now)",
        )
        compute.add_argument(
            "--window-days",
            type=int,
            default=None,
            help="score papers with a signal in this many days (default: BROADSHEET_TRENDING_WINDOW_DAYS)",
        )
        stars = actions.add_parser(
            "stars", help="sample GitHub star counts, repositories of recent papers first"
        )
        stars.add_argument("--limit", type=int, help="ask about at most this many repositories")
        stars.add_argument(
            "--recent-days",
            type=int,
            default=None,
            help="papers seen in this many days go first (default: BROADSHEET_GITHUB_RECENT_DAYS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "compute":
            self.handle_compute(options)
        else:
            self.handle_stars(options)

    def handle_compute(self, options: dict[str, Any]) -> None:
        now = options["now"] or timezone.now()
        window = options["window_days"] or settings.BROADSHEET["TRENDING_WINDOW_DAYS"]
        started = time.monotonic()
        try:
            result = compute_trending(now, window_days=window)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        moment = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self.stdout.write(
            f"trending as of {moment}: {result.scored:,} papers scored, {result.removed:,} left the list "
            f"in {time.monotonic() - started:.1f} s"
        )

    def handle_stars(self, options: dict[str, Any]) -> None:
        config = settings.BROADSHEET
        recent_days = options["recent_days"] or config["GITHUB_RECENT_DAYS"]
        try:
            with make_github_client(config) as client:
                result = sample_stars(
                    client,
                    now=timezone.now(),
                    recent_days=recent_days,
                    clock=timezone.now,
                    limit=options["limit"],
                )
        except UpstreamUnreachable as exc:
            raise CommandError(f"no network: {exc}", returncode=NO_NETWORK_STATUS) from exc
        except UpstreamError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary())
