"""The digest outbox: a run creates one Delivery per (subscriber, digest date); senders claim, mark, recover.

Rule: every state change is one conditional UPDATE on the row's current status and claimant, so two
senders, or a sender and a restart, never both act on one row; `sent` is written only after SMTP accepted,
and a row whose SMTP conversation may have started under a dead sender becomes `uncertain`, never resent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from broadsheet.digest.models import DeliveredPaper, Delivery, DigestRun, SenderState, Subscriber
from broadsheet.digest.schedule import DueDigest, candidate_subscribers, find_due

Status = Delivery.Status

# SMTP conversations per row before a transient failure becomes `failed`.
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 30 * 60
# A claim by a sender on another host counts as dead after this long: one message never takes minutes.
CLAIM_LEASE = timedelta(minutes=10)
RATE_WINDOW = timedelta(minutes=1)
CREATE_BATCH_SIZE = 1000

STATUS_ORDER = [
    Status.QUEUED,
    Status.SENDING,
    Status.SENT,
    Status.FAILED,
    Status.UNCERTAIN,
    Status.ABANDONED,
    Status.SKIPPED,
]


def cutoff_delta() -> timedelta:
    return timedelta(hours=settings.BROADSHEET["DIGEST_CUTOFF_HOURS"])


@dataclass(frozen=True)
class RunStart:
    run: DigestRun | None  # None: the pass found no one new to queue
    created: int


def create_deliveries(run: DigestRun, due: Iterable[DueDigest], *, now: datetime) -> int:
    """Outbox rows for `due` under `run`; rows that already exist for (subscriber, date) are left alone."""
    rows = [
        Delivery(
            subscriber_id=item.subscriber_id,
            digest_date=item.digest_date,
            run=run,
            status=Status.QUEUED,
            due_at=item.due_at,
            cutoff_at=item.cutoff_at,
            since_at=item.since_at,
            updated_at=now,
        )
        for item in due
    ]
    # ignore_conflicts cannot report which rows went in, so the run counts its own rows afterwards.
    Delivery.objects.bulk_create(rows, batch_size=CREATE_BATCH_SIZE, ignore_conflicts=True)
    return Delivery.objects.filter(run=run).count()


def start_run(
    *,
    now: datetime,
    trigger: str = "schedule",
    digest_date: date | None = None,
    cutoff: timedelta | None = None,
) -> RunStart:
    """Find who is due at `now` (or, with `digest_date`, everyone for that date) and queue their rows.

    Idempotent: a second run in the same hour queues nothing new, and a run that queues nothing leaves no
    DigestRun behind. The run and its rows commit together, so a kill leaves all or none.
    """
    cutoff = cutoff_delta() if cutoff is None else cutoff
    due = find_due(candidate_subscribers(), now=now, cutoff=cutoff, digest_date=digest_date)
    with transaction.atomic():
        run = DigestRun.objects.create(started_at=now, trigger=trigger, digest_date=digest_date)
        created = create_deliveries(run, due, now=now)
        if created == 0:
            # a run that queued nothing (every hourly tick, every restart of a manual send) is not kept
            run.delete()
            return RunStart(None, 0)
        run.finished_at = now
        run.save(update_fields=["finished_at"])
    return RunStart(run, created)


# -- who is claiming ------------------------------------------------------------------------------


def process_start_ticks(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot, or None when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing parenthesis
    fields = raw[raw.rindex(")") + 2 :].split()
    state, start_ticks = fields[0], fields[19]
    if state in {"Z", "X", "x"}:
        return None
    return start_ticks


def sender_identity() -> str:
    """This process as `host:pid:start-ticks`: a pid reused by a later process does not look alive."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start_ticks(pid) or 0}"


def claimant_alive(claimed_by: str, claimed_at: datetime | None, *, now: datetime, host: str) -> bool:
    """Whether the sender that claimed a row may still be working on it.

    On this host the answer is exact (/proc); a claim from another host, or in another format, is alive
    until its lease runs out.
    """
    parts = claimed_by.rsplit(":", 2)
    if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
        return process_start_ticks(int(parts[1])) == parts[2]
    return claimed_at is not None and now - claimed_at < CLAIM_LEASE


@dataclass(frozen=True)
class Recovery:
    requeued: int  # claimed, but no SMTP conversation had started: safe to send
    uncertain: int  # the SMTP conversation may have happened


def recover_orphans(
    *,
    now: datetime,
    host: str | None = None,
    is_alive: Callable[[str, datetime | None], bool] | None = None,
) -> Recovery:
    """Rows left `sending` by dead senders: back to `queued` if their SMTP conversation never started
    (no message id recorded yet), otherwise `uncertain`. Live senders' rows are left alone."""
    host = socket.gethostname() if host is None else host
    alive = is_alive or (lambda by, at: claimant_alive(by, at, now=now, host=host))
    requeued = uncertain = 0
    orphans = Delivery.objects.filter(status=Status.SENDING).values_list(
        "id", "claimed_by", "claimed_at", "message_id"
    )
    for delivery_id, claimed_by, claimed_at, message_id in list(orphans):
        if alive(claimed_by, claimed_at):
            continue
        still_theirs = Delivery.objects.filter(id=delivery_id, status=Status.SENDING, claimed_by=claimed_by)
        if message_id:
            uncertain += still_theirs.update(
                status=Status.UNCERTAIN,
                error=f"sender {claimed_by} died during the SMTP conversation; the message may have arrived",
                updated_at=now,
            )
        else:
            requeued += still_theirs.update(
                status=Status.QUEUED, claimed_by="", claimed_at=None, updated_at=now
            )
    return Recovery(requeued, uncertain)


# -- claiming and marking -------------------------------------------------------------------------


def abandon_overdue(*, now: datetime) -> int:
    """Queued rows past their cutoff become `abandoned`: a late digest is worse than a reported gap."""
    return Delivery.objects.filter(status=Status.QUEUED, cutoff_at__lte=now).update(
        status=Status.ABANDONED, error="not sent by its cutoff", updated_at=now
    )


def claimable(now: datetime):
    """Queued rows that may be sent at `now`, oldest due first."""
    return (
        Delivery.objects.filter(status=Status.QUEUED, due_at__lte=now, cutoff_at__gt=now)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("due_at", "id")
    )


def claim_delivery(delivery_id: int, *, sender_id: str, now: datetime) -> bool:
    """Atomically take one queued row for `sender_id`; False when another sender (or state) got there first.

    The claim clears the message id: it is written again only when the SMTP conversation starts.
    """
    return (
        Delivery.objects.filter(id=delivery_id, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_by=sender_id, claimed_at=now, message_id="", updated_at=now
        )
        == 1
    )


def claim_next(*, sender_id: str, now: datetime, look_ahead: int = 20) -> Delivery | None:
    """The next claimable row, claimed for `sender_id`, or None when there is nothing to send now."""
    while True:
        candidate_ids = list(claimable(now).values_list("id", flat=True)[:look_ahead])
        if not candidate_ids:
            return None
        for delivery_id in candidate_ids:
            if claim_delivery(delivery_id, sender_id=sender_id, now=now):
                return Delivery.objects.select_related("subscriber").get(id=delivery_id)
        # every candidate went to another sender: look again


def next_retry_at(*, now: datetime) -> datetime | None:
    """When the earliest row waiting out a backoff may be tried again (before its cutoff), or None."""
    return (
        Delivery.objects.filter(status=Status.QUEUED, next_attempt_at__gt=now)
        .filter(cutoff_at__gt=F("next_attempt_at"))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def _mine(delivery: Delivery):
    return Delivery.objects.filter(id=delivery.pk, status=Status.SENDING, claimed_by=delivery.claimed_by)


def mark_attempt(
    delivery: Delivery, *, message_id: str, subject: str, paper_ids: list[int], now: datetime
) -> bool:
    """Record that the SMTP conversation for this claimed row starts now (the point of no blind retry)."""
    attempts = delivery.attempts + 1
    updated = _mine(delivery).update(
        message_id=message_id,
        subject=subject[:400],
        paper_ids=paper_ids,
        attempts=attempts,
        updated_at=now,
    )
    if updated:
        delivery.message_id, delivery.subject, delivery.paper_ids = message_id, subject[:400], paper_ids
        delivery.attempts = attempts
    return updated == 1


def mark_sent(delivery: Delivery, *, now: datetime) -> bool:
    """The SMTP server accepted the message: the row, its papers and the subscriber's last digest, at once."""
    with transaction.atomic():
        updated = _mine(delivery).update(
            status=Status.SENT, sent_at=now, error="", next_attempt_at=None, updated_at=now
        )
        if not updated:
            return False
        DeliveredPaper.objects.bulk_create(
            [
                DeliveredPaper(subscriber_id=delivery.subscriber_id, paper_id=paper_id, delivery=delivery)
                for paper_id in delivery.paper_ids
            ],
            ignore_conflicts=True,
        )
        Subscriber.objects.filter(id=delivery.subscriber_id).filter(
            Q(last_digest_on__isnull=True) | Q(last_digest_on__lte=delivery.digest_date)
        ).update(last_digest_on=delivery.digest_date, last_digest_at=now)
    return True


def mark_skipped(delivery: Delivery, *, reason: str, now: datetime) -> bool:
    return _mine(delivery).update(status=Status.SKIPPED, error=reason, updated_at=now) == 1


def mark_failed(delivery: Delivery, *, error: str, now: datetime) -> bool:
    return (
        _mine(delivery).update(status=Status.FAILED, error=error, next_attempt_at=None, updated_at=now) == 1
    )


def mark_uncertain(delivery: Delivery, *, error: str, now: datetime) -> bool:
    return _mine(delivery).update(status=Status.UNCERTAIN, error=error, updated_at=now) == 1


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failed conversation: 1, 2, 4, 8 ... minutes, at most 30."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS))


def mark_retry(delivery: Delivery, *, error: str, now: datetime) -> str:
    """A transient failure: back to `queued` after a backoff, `failed` once the attempts are spent, or
    `abandoned` when the next attempt would come after the cutoff. Returns the row's new status.
    """
    if delivery.attempts >= MAX_ATTEMPTS:
        mark_failed(delivery, error=f"gave up after {delivery.attempts} attempts: {error}", now=now)
        return Status.FAILED
    retry_at = now + retry_delay(delivery.attempts)
    if retry_at >= delivery.cutoff_at:
        _mine(delivery).update(
            status=Status.ABANDONED,
            error=f"not sent by its cutoff; last attempt: {error}",
            next_attempt_at=None,
            updated_at=now,
        )
        return Status.ABANDONED
    _mine(delivery).update(
        status=Status.QUEUED,
        claimed_by="",
        claimed_at=None,
        next_attempt_at=retry_at,
        error=error,
        updated_at=now,
    )
    return Status.QUEUED


# -- the rate limit -------------------------------------------------------------------------------


def reserve_send_slot(*, now: datetime, per_minute: int) -> datetime | None:
    """Take one sending slot in the shared window; None when granted, else when to ask again.

    The window lives in the database (SenderState 'rate'), so the limit holds for every sender together
    and across restarts. A slot taken by a sender that then dies is simply spent.
    """
    if per_minute <= 0:
        return None
    for _ in range(2):
        try:
            with transaction.atomic():
                state, _created = SenderState.objects.select_for_update().get_or_create(
                    key="rate", defaults={"window_started_at": now, "sent_in_window": 0}
                )
                if now - state.window_started_at >= RATE_WINDOW or state.window_started_at > now:
                    state.window_started_at, state.sent_in_window = now, 0
                if state.sent_in_window >= per_minute:
                    return state.window_started_at + RATE_WINDOW
                state.sent_in_window += 1
                state.save(update_fields=["window_started_at", "sent_in_window"])
                return None
        except IntegrityError:
            # two senders created the row at once: the loser reads the winner's row
            continue
    raise RuntimeError("could not read the sending rate window")


# -- reporting ------------------------------------------------------------------------------------


def run_counts(run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{run id: {status: count}} with every status present (0 when none)."""
    counts: dict[int, dict[str, int]] = {run_id: dict.fromkeys(STATUS_ORDER, 0) for run_id in run_ids}
    rows = (
        Delivery.objects.filter(run_id__in=list(counts))
        .values("run_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["run_id"]][row["status"]] = row["count"]
    return counts


def rows_needing_attention(run_ids: Iterable[int] | None = None):
    """Uncertain and abandoned rows (and failed ones): what a person should look at."""
    rows = Delivery.objects.filter(
        status__in=[Status.UNCERTAIN, Status.ABANDONED, Status.FAILED]
    ).select_related("subscriber")
    if run_ids is not None:
        rows = rows.filter(run_id__in=list(run_ids))
    return rows.order_by("run_id", "id")
