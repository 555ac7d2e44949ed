"""Scheduled ingest: the job worker harvests arXiv OAI-PMH every BROADSHEET_INGEST_EVERY_HOURS hours.

The task runs the same command a person would (`broadsheet ingest oai`), so the schedule and the CLI
cannot drift apart; a failure is logged and retried at the next slot, never lost silently.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)

EVERY_HOURS = settings.BROADSHEET["INGEST_EVERY_HOURS"]


def harvest_schedule(every_hours: int):
    """The crontab that fires every `every_hours` hours (at minute 7, off the hour's rush); never when 0."""
    if every_hours <= 0:
        return lambda _timestamp: False
    return crontab(minute="7", hour=f"*/{every_hours}" if every_hours < 24 else "0")


@db_periodic_task(harvest_schedule(EVERY_HOURS), name="broadsheet.harvest_recent")
@lock_task("broadsheet.harvest_recent")
def harvest_recent() -> None:
    try:
        call_command("ingest", "oai")
    except CommandError as exc:
        logger.warning("scheduled harvest failed: %s", exc)
