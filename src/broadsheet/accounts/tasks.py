"""Housekeeping of the accounts app: every hour the job worker deletes rate counters and sign-in tokens that
no decision or sign-in can use any more."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from broadsheet.accounts.ratelimit import purge_rate_counters
from broadsheet.accounts.signin import purge_signin_tokens


@db_periodic_task(crontab(minute="23"), name="broadsheet.purge_account_rows")
def purge_account_rows() -> None:
    now = timezone.now()
    purge_rate_counters(now)
    purge_signin_tokens(now)
