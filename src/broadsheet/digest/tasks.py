"""Scheduled digests: every quarter hour the job worker queues whoever's delivery hour has come and sends.

Rule: the task calls the same services as `broadsheet digest send`; a subscriber is due from the delivery
hour until the cutoff, so a tick the worker missed is caught up by the next one, and a tick that finds the
rows already queued queues nothing (quarter hours, so time zones with half-hour offsets are on time too).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from broadsheet.digest.sender import start_and_send

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/15"), name="broadsheet.send_digests")
@lock_task("broadsheet.send_digests")
def send_digests() -> None:
    started, report = start_and_send(trigger="schedule")
    if started.run is not None:
        logger.info("digest run %s: queued %s", started.run.pk, started.created)
    logger.info("digest sender %s: %s", report.sender_id, report.summary())
