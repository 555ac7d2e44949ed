"""The outbox: runs create rows idempotently, claims are atomic, marks need the claim, dead claims recover."""

from __future__ import annotations

import os
import socket
from datetime import UTC, date, datetime, timedelta

import pytest

from broadsheet.digest import outbox
from broadsheet.digest.models import DeliveredPaper, Delivery, DigestRun, SenderState, Subscriber

from .conftest import NOW

Status = Delivery.Status
HOST = socket.gethostname()
ME = outbox.sender_identity()
CUTOFF = timedelta(hours=6)


def make_delivery(subscriber, **fields) -> Delivery:
    run = DigestRun.objects.create(started_at=NOW, trigger="manual")
    values = {
        "digest_date": date(2026, 3, 2),
        "due_at": datetime(2026, 3, 2, 7, tzinfo=UTC),
        "cutoff_at": datetime(2026, 3, 2, 13, tzinfo=UTC),
        "updated_at": NOW,
    }
    values.update(fields)
    return Delivery.objects.create(subscriber=subscriber, run=run, **values)


def statuses() -> list[tuple[str, str]]:
    return list(Delivery.objects.order_by("subscriber__email").values_list("subscriber__email", "status"))


def test_start_run_queues_one_row_per_due_subscriber(make_subscriber):
    make_subscriber("a@example.org")
    make_subscriber("b@example.org", time_zone="Europe/Berlin", delivery_hour=8)
    make_subscriber("later@example.org", delivery_hour=9)
    make_subscriber("paused@example.org", frequency=Subscriber.Frequency.PAUSED)
    make_subscriber("pending@example.org", status=Subscriber.Status.PENDING)

    started = outbox.start_run(now=NOW, cutoff=CUTOFF)

    assert started.created == 2
    rows = Delivery.objects.order_by("subscriber__email").values_list(
        "subscriber__email", "digest_date", "status", "due_at", "cutoff_at", "run_id"
    )
    assert list(rows) == [
        ("a@example.org", date(2026, 3, 2), "queued", datetime(2026, 3, 2, 7, tzinfo=UTC),
         datetime(2026, 3, 2, 13, tzinfo=UTC), started.run.pk),
        ("b@example.org", date(2026, 3, 2), "queued", datetime(2026, 3, 2, 7, tzinfo=UTC),
         datetime(2026, 3, 2, 13, tzinfo=UTC), started.run.pk),
    ]  # fmt: skip


def test_a_second_run_in_the_same_hour_queues_nothing_and_leaves_no_run(make_subscriber):
    make_subscriber("a@example.org")
    first = outbox.start_run(now=NOW, cutoff=CUTOFF)
    second = outbox.start_run(now=NOW + timedelta(minutes=20), cutoff=CUTOFF)

    assert (first.created, second.created, second.run) == (1, 0, None)
    assert list(DigestRun.objects.values_list("id", flat=True)) == [first.run.pk]
    assert Delivery.objects.count() == 1


def test_a_later_run_catches_up_a_subscriber_who_joined_after_the_first(make_subscriber):
    make_subscriber("a@example.org")
    outbox.start_run(now=NOW, cutoff=CUTOFF)
    make_subscriber("b@example.org")
    later = outbox.start_run(now=NOW + timedelta(hours=1), cutoff=CUTOFF)

    assert later.created == 1
    assert list(later.run.deliveries.values_list("subscriber__email", flat=True)) == ["b@example.org"]


def test_manual_run_for_a_date_queues_every_subscriber_due_that_day_once(make_subscriber):
    make_subscriber("a@example.org", delivery_hour=20)
    make_subscriber("friday@example.org", frequency=Subscriber.Frequency.WEEKLY, weekly_day=4)
    make_subscriber("monday@example.org", frequency=Subscriber.Frequency.WEEKLY, weekly_day=0)

    friday = outbox.start_run(now=NOW, trigger="manual", digest_date=date(2026, 2, 27), cutoff=CUTOFF)
    again = outbox.start_run(now=NOW, trigger="manual", digest_date=date(2026, 2, 27), cutoff=CUTOFF)

    assert friday.created == 2
    assert set(friday.run.deliveries.values_list("subscriber__email", "due_at", "cutoff_at")) == {
        ("a@example.org", NOW, NOW + CUTOFF),
        ("friday@example.org", NOW, NOW + CUTOFF),
    }
    assert (again.created, again.run) == (0, None)
    assert DigestRun.objects.count() == 1


def test_a_claim_is_taken_once(make_subscriber):
    delivery = make_delivery(make_subscriber("a@example.org"), message_id="<old@x>")

    assert outbox.claim_delivery(delivery.pk, sender_id="host:1:1", now=NOW) is True
    assert outbox.claim_delivery(delivery.pk, sender_id="host:2:2", now=NOW) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_by, delivery.claimed_at, delivery.message_id) == (
        "sending",
        "host:1:1",
        NOW,
        "",
    )


@pytest.mark.parametrize(
    ("fields", "claimable"),
    [
        ({}, True),
        ({"due_at": NOW + timedelta(minutes=1)}, False),
        ({"cutoff_at": NOW}, False),
        ({"next_attempt_at": NOW}, True),
        ({"next_attempt_at": NOW + timedelta(seconds=1)}, False),
        ({"status": Status.SENT}, False),
        ({"status": Status.UNCERTAIN}, False),
        ({"status": Status.FAILED}, False),
    ],
)
def test_claim_next_takes_only_due_queued_rows_out_of_backoff(make_subscriber, fields, claimable):
    delivery = make_delivery(make_subscriber("a@example.org"), **fields)
    claimed = outbox.claim_next(sender_id=ME, now=NOW)
    assert (claimed.pk if claimed else None) == (delivery.pk if claimable else None)


def test_claim_next_takes_rows_oldest_due_first(make_subscriber):
    late = make_delivery(make_subscriber("late@example.org"), due_at=NOW - timedelta(minutes=5))
    early = make_delivery(make_subscriber("early@example.org"), due_at=NOW - timedelta(hours=1))
    order = [outbox.claim_next(sender_id=ME, now=NOW).pk, outbox.claim_next(sender_id=ME, now=NOW).pk]
    assert order == [early.pk, late.pk]
    assert outbox.claim_next(sender_id=ME, now=NOW) is None


def test_abandon_overdue_marks_queued_rows_past_their_cutoff(make_subscriber):
    make_delivery(make_subscriber("over@example.org"), cutoff_at=NOW)
    make_delivery(make_subscriber("ontime@example.org"), cutoff_at=NOW + timedelta(seconds=1))
    make_delivery(make_subscriber("sent@example.org"), cutoff_at=NOW, status=Status.SENT)

    assert outbox.abandon_overdue(now=NOW) == 1
    assert statuses() == [("ontime@example.org", "queued"), ("over@example.org", "abandoned"),
                          ("sent@example.org", "sent")]  # fmt: skip
    assert Delivery.objects.get(status=Status.ABANDONED).error == "not sent by its cutoff"


@pytest.mark.parametrize(
    ("claimed_by", "minutes_ago", "alive"),
    [
        (ME, 60, True),  # this very process, however old the claim
        (f"{HOST}:{os.getpid()}:1", 0, False),  # this pid, but a different process start: pid reused
        (f"{HOST}:999999999:1", 0, False),  # no such process
        ("elsewhere:42:1", 9, True),  # another host, inside the lease
        ("elsewhere:42:1", 10, False),  # another host, lease ran out
        ("a free-form id", 1, True),
        ("a free-form id", 11, False),
    ],
)
def test_claimant_alive_checks_proc_on_this_host_and_a_lease_elsewhere(claimed_by, minutes_ago, alive):
    claimed_at = NOW - timedelta(minutes=minutes_ago)
    assert outbox.claimant_alive(claimed_by, claimed_at, now=NOW, host=HOST) is alive


def test_recover_orphans_marks_started_conversations_uncertain_and_requeues_unstarted_ones(make_subscriber):
    dead = f"{HOST}:999999999:1"
    started = make_delivery(make_subscriber("started@example.org"), status=Status.SENDING, claimed_by=dead,
                            claimed_at=NOW, message_id="<digest.1@x>", attempts=1)  # fmt: skip
    unstarted = make_delivery(make_subscriber("unstarted@example.org"), status=Status.SENDING,
                              claimed_by=dead, claimed_at=NOW)  # fmt: skip
    live = make_delivery(make_subscriber("live@example.org"), status=Status.SENDING, claimed_by=ME,
                         claimed_at=NOW - timedelta(hours=1), message_id="<digest.3@x>")  # fmt: skip

    recovery = outbox.recover_orphans(now=NOW)

    assert recovery == outbox.Recovery(requeued=1, uncertain=1)
    assert statuses() == [("live@example.org", "sending"), ("started@example.org", "uncertain"),
                          ("unstarted@example.org", "queued")]  # fmt: skip
    started.refresh_from_db()
    unstarted.refresh_from_db()
    live.refresh_from_db()
    assert started.error == f"sender {dead} died during the SMTP conversation; the message may have arrived"
    assert (started.claimed_by, started.attempts) == (dead, 1)  # kept for the report
    assert (unstarted.claimed_by, unstarted.claimed_at) == ("", None)
    assert live.claimed_by == ME


def test_marks_need_the_claim_of_the_sender_that_holds_it(make_subscriber):
    delivery = make_delivery(make_subscriber("a@example.org"), status=Status.SENDING, claimed_by="host:1:1")
    imposter = Delivery.objects.get(pk=delivery.pk)
    imposter.claimed_by = "host:2:2"

    assert outbox.mark_attempt(imposter, message_id="<x@y>", subject="S", paper_ids=[], now=NOW) is False
    assert outbox.mark_sent(imposter, now=NOW) is False
    assert outbox.mark_skipped(imposter, reason="r", now=NOW) is False
    assert outbox.mark_failed(imposter, error="e", now=NOW) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.message_id, delivery.attempts) == ("sending", "", 0)


def test_mark_sent_records_the_papers_and_the_subscribers_last_digest(make_subscriber, make_papers):
    paper_ids = make_papers(3)
    subscriber = make_subscriber("a@example.org")
    delivery = make_delivery(subscriber)
    assert outbox.claim_delivery(delivery.pk, sender_id=ME, now=NOW)
    delivery.refresh_from_db()
    assert outbox.mark_attempt(
        delivery, message_id="<m@x>", subject="Digest", paper_ids=paper_ids[:2], now=NOW
    )
    sent_at = NOW + timedelta(seconds=2)

    assert outbox.mark_sent(delivery, now=sent_at) is True

    delivery.refresh_from_db()
    subscriber.refresh_from_db()
    assert (delivery.status, delivery.sent_at, delivery.message_id, delivery.subject, delivery.attempts) == (
        "sent",
        sent_at,
        "<m@x>",
        "Digest",
        1,
    )
    assert delivery.paper_ids == paper_ids[:2]
    delivered = DeliveredPaper.objects.filter(subscriber=subscriber, delivery=delivery)
    assert sorted(delivered.values_list("paper_id", flat=True)) == paper_ids[:2]
    assert (subscriber.last_digest_on, subscriber.last_digest_at) == (date(2026, 3, 2), sent_at)


@pytest.mark.parametrize(
    ("attempts", "delay_seconds"),
    [(1, 60), (2, 120), (3, 240), (4, 480), (6, 1800), (10, 1800)],
)
def test_retry_delay_doubles_up_to_half_an_hour(attempts, delay_seconds):
    assert outbox.retry_delay(attempts) == timedelta(seconds=delay_seconds)


def test_mark_retry_requeues_with_backoff_until_the_attempts_are_spent(make_subscriber):
    delivery = make_delivery(make_subscriber("a@example.org"))
    seen = []
    now = NOW
    while True:
        assert outbox.claim_delivery(delivery.pk, sender_id=ME, now=now)
        delivery.refresh_from_db()
        outbox.mark_attempt(delivery, message_id="<m@x>", subject="S", paper_ids=[], now=now)
        status = outbox.mark_retry(delivery, error="451 busy", now=now)
        delivery.refresh_from_db()
        seen.append((status, delivery.attempts, delivery.next_attempt_at and delivery.next_attempt_at - now))
        if status != Status.QUEUED:
            break
        now = delivery.next_attempt_at
    assert seen == [
        ("queued", 1, timedelta(minutes=1)),
        ("queued", 2, timedelta(minutes=2)),
        ("queued", 3, timedelta(minutes=4)),
        ("queued", 4, timedelta(minutes=8)),
        ("failed", 5, None),
    ]
    assert delivery.error == "gave up after 5 attempts: 451 busy"


def test_rate_window_grants_n_per_minute_and_is_shared_state(db):
    granted = [outbox.reserve_send_slot(now=NOW, per_minute=2) for _ in range(3)]
    assert granted == [None, None, NOW + timedelta(minutes=1)]
    # the window is a row: a restarted sender (no memory) is refused as well
    state = SenderState.objects.values_list("key", "window_started_at", "sent_in_window").get()
    assert state == ("rate", NOW, 2)
    refused = outbox.reserve_send_slot(now=NOW + timedelta(seconds=59), per_minute=2)
    assert refused == NOW + timedelta(minutes=1)
    assert outbox.reserve_send_slot(now=NOW + timedelta(minutes=1), per_minute=2) is None
    assert outbox.reserve_send_slot(now=NOW, per_minute=0) is None


def test_run_counts_give_every_status_per_run(make_subscriber):
    first = make_delivery(make_subscriber("a@example.org"), status=Status.SENT).run
    other = make_delivery(make_subscriber("b@example.org"), status=Status.UNCERTAIN)
    Delivery.objects.filter(pk=other.pk).update(run=first)
    second = make_delivery(make_subscriber("c@example.org")).run

    counts = outbox.run_counts([first.pk, second.pk])
    assert counts == {
        first.pk: {"queued": 0, "sending": 0, "sent": 1, "failed": 0, "uncertain": 1, "abandoned": 0,
                   "skipped": 0},
        second.pk: {"queued": 1, "sending": 0, "sent": 0, "failed": 0, "uncertain": 0, "abandoned": 0,
                    "skipped": 0},
    }  # fmt: skip
