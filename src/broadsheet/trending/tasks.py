"""Scheduled trending work: recompute the scores, import Hugging Face daily papers, sample GitHub stars.

Each task runs the same command a person would (`broadsheet trending compute|stars`, `broadsheet ingest
hf`), so the schedule and the CLI cannot drift apart; a failure is logged and retried at the next slot.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from broadsheet.ingest.tasks import harvest_schedule

logger = logging.getLogger(__name__)

CONFIG = settings.BROADSHEET


def minutes_schedule(every_minutes: int):
    """The crontab that fires every `every_minutes` minutes (a divisor of 60 works best); never when 0."""
    if every_minutes <= 0:
        return lambda _timestamp: False
    return crontab(minute=f"*/{min(every_minutes, 60)}" if every_minutes < 60 else "0")


@db_periodic_task(minutes_schedule(CONFIG["TRENDING_EVERY_MINUTES"]), name="broadsheet.compute_trending")
@lock_task("broadsheet.compute_trending")
def compute_trending_scores() -> None:
    call_command("trending", "compute")


@db_periodic_task(harvest_schedule(CONFIG["HF_EVERY_HOURS"]), name="broadsheet.import_hf_daily")
@lock_task("broadsheet.import_hf_daily")
def import_hf_daily() -> None:
    # yesterday's page too: its upvotes keep growing for a day or two
    try:
        call_command("ingest", "hf", "--days", "2")
    except CommandError as exc:
        logger.warning("scheduled Hugging Face import failed: %s", exc)


@db_periodic_task(harvest_schedule(CONFIG["GITHUB_EVERY_HOURS"]), name="broadsheet.sample_github_stars")
@lock_task("broadsheet.sample_github_stars")
def sample_github_stars() -> None:
    try:
        call_command("trending", "stars")
    except CommandError as exc:
        logger.warning("scheduled GitHub star sampling failed: %s", exc)
