"""Who is due: delivery hour in the subscriber's time zone, daily / weekly / paused, the local digest date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from broadsheet.digest.models import Subscriber
from broadsheet.digest.schedule import DueDigest, due_digest, find_due, manual_digest

CUTOFF = timedelta(hours=6)
MONDAY_0705 = datetime(2026, 3, 2, 7, 5, tzinfo=UTC)


def subscriber(pk: int = 1, **fields) -> Subscriber:
    values = {"status": Subscriber.Status.ACTIVE, "frequency": Subscriber.Frequency.DAILY}
    values.update(fields)
    return Subscriber(pk=pk, email=f"s{pk}@example.org", **values)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "now", "expected"),
    [
        # (subscriber fields, now, (digest date, due_at) or None)
        ({}, MONDAY_0705, (date(2026, 3, 2), utc(2026, 3, 2, 7))),
        ({}, utc(2026, 3, 2, 7, 0), (date(2026, 3, 2), utc(2026, 3, 2, 7))),
        ({}, utc(2026, 3, 2, 6, 59), None),
        ({}, utc(2026, 3, 2, 12, 59), (date(2026, 3, 2), utc(2026, 3, 2, 7))),
        ({}, utc(2026, 3, 2, 13, 0), None),
        (
            {"delivery_hour": 6, "time_zone": "Europe/Berlin"},
            MONDAY_0705,
            (date(2026, 3, 2), utc(2026, 3, 2, 5)),
        ),
        (
            {"delivery_hour": 12, "time_zone": "Asia/Kolkata"},
            MONDAY_0705,
            (date(2026, 3, 2), utc(2026, 3, 2, 6, 30)),
        ),
        # 22:00 in Los Angeles is 06:00 UTC the next day: the digest carries the local date, Sunday
        (
            {"delivery_hour": 22, "time_zone": "America/Los_Angeles"},
            MONDAY_0705,
            (date(2026, 3, 1), utc(2026, 3, 2, 6)),
        ),
        # 19:00 in Auckland (UTC+13 in March) is 06:00 UTC the same day
        (
            {"delivery_hour": 19, "time_zone": "Pacific/Auckland"},
            MONDAY_0705,
            (date(2026, 3, 2), utc(2026, 3, 2, 6)),
        ),
        ({"delivery_hour": 7, "time_zone": "Pacific/Auckland"}, MONDAY_0705, None),
        # 02:00 does not exist in New York on 8 March 2026: the digest still goes out that morning
        (
            {"delivery_hour": 2, "time_zone": "America/New_York"},
            utc(2026, 3, 8, 7, 30),
            (date(2026, 3, 8), utc(2026, 3, 8, 7)),
        ),
        ({"time_zone": "Mars/Olympus_Mons"}, MONDAY_0705, (date(2026, 3, 2), utc(2026, 3, 2, 7))),
        (
            {"frequency": Subscriber.Frequency.WEEKLY, "weekly_day": 0},
            MONDAY_0705,
            (date(2026, 3, 2), utc(2026, 3, 2, 7)),
        ),
        ({"frequency": Subscriber.Frequency.WEEKLY, "weekly_day": 1}, MONDAY_0705, None),
        ({"frequency": Subscriber.Frequency.PAUSED}, MONDAY_0705, None),
        ({"status": Subscriber.Status.UNSUBSCRIBED}, MONDAY_0705, None),
        ({"status": Subscriber.Status.PENDING}, MONDAY_0705, None),
        ({"status": Subscriber.Status.SUPPRESSED}, MONDAY_0705, None),
        ({"last_digest_on": date(2026, 3, 2)}, MONDAY_0705, None),
        ({"last_digest_on": date(2026, 3, 1)}, MONDAY_0705, (date(2026, 3, 2), utc(2026, 3, 2, 7))),
    ],
)
def test_due_digest_follows_local_hour_frequency_and_status(fields, now, expected):
    due = due_digest(subscriber(**fields), now=now, cutoff=CUTOFF)
    if expected is None:
        assert due is None
    else:
        assert (due.digest_date, due.due_at, due.cutoff_at) == (*expected, expected[1] + CUTOFF)


def test_due_digest_carries_the_last_digest_time_as_since():
    last_at = utc(2026, 3, 1, 7, 1)
    due = due_digest(
        subscriber(last_digest_on=date(2026, 3, 1), last_digest_at=last_at), now=MONDAY_0705, cutoff=CUTOFF
    )
    assert due == DueDigest(1, date(2026, 3, 2), utc(2026, 3, 2, 7), utc(2026, 3, 2, 13), last_at)


@pytest.mark.parametrize(
    ("fields", "digest_date", "is_due"),
    [
        ({}, date(2026, 2, 20), True),
        ({"frequency": Subscriber.Frequency.WEEKLY, "weekly_day": 4}, date(2026, 2, 20), True),  # a Friday
        ({"frequency": Subscriber.Frequency.WEEKLY, "weekly_day": 0}, date(2026, 2, 20), False),
        ({"frequency": Subscriber.Frequency.PAUSED}, date(2026, 2, 20), False),
        ({"status": Subscriber.Status.UNSUBSCRIBED}, date(2026, 2, 20), False),
    ],
)
def test_manual_digest_is_due_now_on_any_delivery_day(fields, digest_date, is_due):
    due = manual_digest(subscriber(**fields), digest_date=digest_date, now=MONDAY_0705, cutoff=CUTOFF)
    expected = DueDigest(1, digest_date, MONDAY_0705, MONDAY_0705 + CUTOFF, None) if is_due else None
    assert due == expected


def test_find_due_keeps_only_the_due_subscribers_in_order():
    subscribers = [
        subscriber(1),
        subscriber(2, delivery_hour=9),
        subscriber(3, time_zone="Europe/Berlin", delivery_hour=8),
        subscriber(4, frequency=Subscriber.Frequency.PAUSED),
    ]
    found = find_due(subscribers, now=MONDAY_0705, cutoff=CUTOFF)
    assert [(item.subscriber_id, item.digest_date, item.due_at) for item in found] == [
        (1, date(2026, 3, 2), utc(2026, 3, 2, 7)),
        (3, date(2026, 3, 2), utc(2026, 3, 2, 7)),
    ]
