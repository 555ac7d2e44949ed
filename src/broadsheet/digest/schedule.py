"""Who is due for a digest: each subscriber's delivery hour in their own time zone, daily or weekly.

Rule: a digest's date is the subscriber's local date; a subscriber is due from the delivery hour until the
cutoff, so a missed scheduler tick is caught up by the next one. Pure: every function takes `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadsheet.digest.models import Subscriber

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueDigest:
    """One outbox row to create: whose, for which local date, from when and until when to send it."""

    subscriber_id: int
    digest_date: date
    due_at: datetime
    cutoff_at: datetime
    since_at: datetime | None


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or UTC for a name this system does not know (logged, never fatal)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r: using UTC", name)
        return ZoneInfo("UTC")


def is_delivery_day(frequency: str, weekly_day: int, local_date: date) -> bool:
    """Whether a subscriber with this frequency gets a digest dated `local_date`."""
    if frequency == Subscriber.Frequency.DAILY:
        return True
    if frequency == Subscriber.Frequency.WEEKLY:
        return local_date.weekday() == weekly_day
    return False


def delivery_due_at(local_date: date, delivery_hour: int, zone: ZoneInfo) -> datetime:
    """The delivery hour of `local_date` in `zone`, as an aware UTC datetime.

    An hour skipped by a daylight-saving jump resolves to the same wall-clock reading an hour later, as
    zoneinfo does, so the digest still goes out that day.
    """
    hour = min(max(delivery_hour, 0), 23)
    return datetime.combine(local_date, time(hour), tzinfo=zone).astimezone(UTC)


def due_digest(subscriber: Subscriber, *, now: datetime, cutoff: timedelta) -> DueDigest | None:
    """The digest `subscriber` is due for at `now`, or None.

    Today's and yesterday's local dates are both considered: a late delivery hour plus the cutoff can
    cross local midnight. A date already sent (`last_digest_on`) is never due again.
    """
    if subscriber.status != Subscriber.Status.ACTIVE:
        return None
    zone = load_zone(subscriber.time_zone)
    today = now.astimezone(zone).date()
    for local_date in (today, today - timedelta(days=1)):
        if not is_delivery_day(subscriber.frequency, subscriber.weekly_day, local_date):
            continue
        if subscriber.last_digest_on is not None and subscriber.last_digest_on >= local_date:
            continue
        due_at = delivery_due_at(local_date, subscriber.delivery_hour, zone)
        if due_at <= now < due_at + cutoff:
            return DueDigest(subscriber.pk, local_date, due_at, due_at + cutoff, subscriber.last_digest_at)
    return None


def manual_digest(
    subscriber: Subscriber, *, digest_date: date, now: datetime, cutoff: timedelta
) -> DueDigest | None:
    """A digest dated `digest_date` to send now (a manual `--date` run), if that is a delivery day."""
    if subscriber.status != Subscriber.Status.ACTIVE:
        return None
    if not is_delivery_day(subscriber.frequency, subscriber.weekly_day, digest_date):
        return None
    return DueDigest(subscriber.pk, digest_date, now, now + cutoff, subscriber.last_digest_at)


def find_due(
    subscribers: Iterable[Subscriber],
    *,
    now: datetime,
    cutoff: timedelta,
    digest_date: date | None = None,
) -> list[DueDigest]:
    """The digests due at `now` (or, given `digest_date`, every digest of that date) for `subscribers`."""
    found = []
    for subscriber in subscribers:
        if digest_date is None:
            due = due_digest(subscriber, now=now, cutoff=cutoff)
        else:
            due = manual_digest(subscriber, digest_date=digest_date, now=now, cutoff=cutoff)
        if due is not None:
            found.append(due)
    return found


def candidate_subscribers():
    """Subscribers who may be due at some hour (active, not paused), with only the fields scheduling reads."""
    return (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .exclude(frequency=Subscriber.Frequency.PAUSED)
        .only(
            "id",
            "status",
            "frequency",
            "weekly_day",
            "delivery_hour",
            "time_zone",
            "last_digest_on",
            "last_digest_at",
        )
        .order_by("id")
    )
