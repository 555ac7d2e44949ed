"""Embedding as a job: after every scheduled ingest the worker embeds new and changed papers (and, once the
corpus has grown enough, tends the keyword index: merges it and refills its word counts, search.terms).

The job runs the same command a person would (`broadsheet embed`), so the schedule and the CLI cannot
drift apart. It is queued when an ingest task completes (a huey signal, so ingest needs no knowledge of
search) and can be queued by anyone with `embed_new_papers()`; a failure is logged, never lost silently.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from huey.contrib.djhuey import db_task, lock_task, signal
from huey.signals import SIGNAL_COMPLETE

from broadsheet.search.terms import refresh_if_stale

logger = logging.getLogger(__name__)

# tasks that write papers: each completed run is followed by an embedding run
INGEST_TASK_NAMES = frozenset({"broadsheet.harvest_recent", "broadsheet.import_hf_daily"})


@db_task(name="broadsheet.embed_new_papers")
@lock_task("broadsheet.embed_new_papers")
def embed_new_papers() -> None:
    try:
        call_command("embed")
    except CommandError as exc:
        logger.warning("embedding after ingest failed: %s", exc)
    # the keyword index's merge and word counts, once the corpus has grown enough to need them
    refresh_if_stale()


def ingest_task_name(task: Any) -> str:
    return getattr(task, "name", "") or ""


@signal(SIGNAL_COMPLETE)
def embed_after_ingest(signal_name: str, task: Any, *args: Any, **kwargs: Any) -> None:
    if ingest_task_name(task) in INGEST_TASK_NAMES and settings.BROADSHEET["EMBED_AFTER_INGEST"]:
        embed_new_papers()
