"""The send loop: claim one outbox row at a time, compose and render it, re-check, send it over SMTP, mark it.

Rule: a row is claimed before its SMTP conversation and marked `sent` only after the server accepted the
message; every SMTP outcome maps to one row state (4xx or a dropped connection: retry with backoff; 5xx:
failed). Unsubscribes, suppressions and pauses are re-checked just before the conversation starts.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from broadsheet.digest import outbox
from broadsheet.digest.models import Delivery, Subscriber, SuppressedAddress

logger = logging.getLogger(__name__)

Status = Delivery.Status


class Clock:
    """The wall clock; tests pass one whose `sleep` advances `now` instead of waiting."""

    def now(self) -> datetime:
        return timezone.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


@dataclass
class PreparedMessage:
    """A composed and rendered digest, ready for SMTP, and what the row records about it."""

    message: EmailMessage
    subject: str
    paper_ids: list[int]


# Builds the message for a claimed row, or returns the reason to skip it (e.g. "nothing new").
Prepare = Callable[[Delivery, datetime], "PreparedMessage | str"]


@dataclass
class SendReport:
    """What one sender did, by outcome, plus what it found at start-up."""

    sender_id: str
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    abandoned: int = 0
    requeued_orphans: int = 0
    uncertain_orphans: int = 0
    uncertain: int = 0  # an unexpected error during the SMTP conversation
    lost_claims: int = 0  # rows taken from under this sender (should stay 0)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"sent {self.sent}, skipped {self.skipped}, retrying {self.retried}, failed {self.failed}, "
            f"abandoned {self.abandoned}{f', uncertain {self.uncertain}' if self.uncertain else ''}; "
            f"found {self.uncertain_orphans} uncertain and "
            f"{self.requeued_orphans} requeued from dead senders"
        )


class DigestComposer:
    """The default Prepare: compose_digest + render_digest + build_message, sharing one ComposeContext."""

    def __init__(self) -> None:
        self.context: Any = None

    def __call__(self, delivery: Delivery, now: datetime) -> PreparedMessage | str:
        from broadsheet.digest import compose, render

        if self.context is None:
            self.context = compose.ComposeContext.build(now)
        subscriber = delivery.subscriber
        digest = compose.compose_digest(
            subscriber, since_at=delivery.since_at, now=now, context=self.context
        )
        if digest.is_empty and subscriber.skip_when_empty:
            return "nothing new since the last digest"
        rendered = render.render_digest(digest, subscriber, digest_date=delivery.digest_date)
        message = render.build_message(delivery, rendered)
        return PreparedMessage(message, rendered.subject, [item.paper_id for item in digest.items])


def skip_reason(subscriber_id: int) -> str | None:
    """Why a digest must not go to this subscriber now (read fresh from the database), or None."""
    subscriber = Subscriber.objects.filter(id=subscriber_id).only("email", "status", "frequency").first()
    if subscriber is None:
        return "subscriber deleted"
    if subscriber.status != Subscriber.Status.ACTIVE:
        return f"subscriber is {subscriber.status}"
    suppressed = SuppressedAddress.objects.filter(email__iexact=subscriber.email).first()
    if suppressed is not None:
        return f"address suppressed ({suppressed.reason})"
    if subscriber.frequency == Subscriber.Frequency.PAUSED:
        return "digests paused"
    return None


def message_id_of(message: EmailMessage, delivery: Delivery) -> str:
    """The message's Message-ID, adding one derived from the row when the renderer set none."""
    for name, value in message.extra_headers.items():
        if name.lower() == "message-id":
            return str(value)
    domain = settings.BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    # one id per row: a copy that did get through before a crash is recognisably the same message
    value = f"<digest.{delivery.pk}.{delivery.digest_date:%Y%m%d}@{domain}>"
    message.extra_headers["Message-ID"] = value
    return value


@dataclass(frozen=True)
class SmtpOutcome:
    accepted: bool
    transient: bool = False
    error: str = ""


def classify_smtp_error(exc: BaseException) -> SmtpOutcome:
    """4xx replies, dropped connections and network errors are transient; 5xx replies are final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        codes = [code for code, _ in replies]
        text = "; ".join(f"{code} {_decode(reply)}" for code, reply in replies)
        return SmtpOutcome(False, transient=any(400 <= code < 500 for code in codes), error=text)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SmtpOutcome(False, transient=True, error=f"connection dropped: {exc}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # the server's configuration, not this recipient: keep the row for a later attempt
        return SmtpOutcome(False, transient=True, error=f"{exc.smtp_code} {_decode(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return SmtpOutcome(
            False, transient=not 500 <= code < 600, error=f"{code} {_decode(exc.smtp_error)}"
        )
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return SmtpOutcome(False, transient=True, error=f"{type(exc).__name__}: {exc}")
    raise exc


def _decode(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def deliver_message(connection: Any, message: EmailMessage) -> SmtpOutcome:
    """One SMTP conversation through Django's backend; the connection is reset after any failure."""
    message.connection = connection
    try:
        # opened here, the backend keeps one SMTP session for the whole run instead of one per message
        connection.open()
        sent = connection.send_messages([message])
    except Exception as exc:  # classified below; anything unknown is re-raised
        _reset(connection)
        return classify_smtp_error(exc)
    if not sent:
        return SmtpOutcome(False, transient=False, error="the backend sent nothing (no recipients?)")
    return SmtpOutcome(True)


def _reset(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken connection may fail to say goodbye
        pass
    if hasattr(connection, "connection"):
        connection.connection = None


def send_outbox(
    *,
    sender_id: str | None = None,
    clock: Clock | None = None,
    connection: Any = None,
    prepare: Prepare | None = None,
    rate_per_minute: int | None = None,
    wait_for_retries: bool = True,
    max_messages: int | None = None,
) -> SendReport:
    """Send every row that is due, until none is left to send now (or, waiting for retries, at all).

    At start the sender marks rows left `sending` by dead senders (`uncertain`, or `queued` when their
    SMTP conversation never began) and abandons rows past their cutoff.
    """
    clock = clock or Clock()
    sender_id = sender_id or outbox.sender_identity()
    prepare = prepare or DigestComposer()
    per_minute = settings.BROADSHEET["DIGEST_RATE_PER_MINUTE"] if rate_per_minute is None else rate_per_minute
    connection = connection or get_connection(fail_silently=False)
    report = SendReport(sender_id=sender_id)

    recovery = outbox.recover_orphans(now=clock.now())
    report.requeued_orphans, report.uncertain_orphans = recovery.requeued, recovery.uncertain
    try:
        while max_messages is None or report.sent + report.failed < max_messages:
            now = clock.now()
            report.abandoned += outbox.abandon_overdue(now=now)
            delivery = outbox.claim_next(sender_id=sender_id, now=now)
            if delivery is None:
                retry_at = outbox.next_retry_at(now=now) if wait_for_retries else None
                if retry_at is None:
                    break
                _reset(connection)  # an idle session would time out during the backoff anyway
                clock.sleep((retry_at - now).total_seconds())
                continue
            send_one(
                delivery,
                report=report,
                clock=clock,
                connection=connection,
                prepare=prepare,
                per_minute=per_minute,
            )
    finally:
        _reset(connection)
    return report


def wait_for_send_slot(clock: Clock, per_minute: int) -> None:
    """Block until the shared rate window has room for one more message."""
    while True:
        now = clock.now()
        retry_at = outbox.reserve_send_slot(now=now, per_minute=per_minute)
        if retry_at is None:
            return
        clock.sleep((retry_at - now).total_seconds())


def send_one(
    delivery: Delivery,
    *,
    report: SendReport,
    clock: Clock,
    connection: Any,
    prepare: Prepare,
    per_minute: int = 0,
) -> str:
    """Compose, re-check, send and mark one claimed row; returns its new status."""
    now = clock.now()
    reason = skip_reason(delivery.subscriber_id)
    try:
        prepared: PreparedMessage | str = reason if reason else prepare(delivery, now)
        if isinstance(prepared, PreparedMessage):
            prepared.message.message()  # a header Django refuses (CR/LF) fails here, before any SMTP
    except Exception as exc:
        # a row that cannot be composed must not stay claimed, nor crash every restart in turn
        logger.exception("digest %s to %s could not be composed", delivery.pk, delivery.subscriber.email)
        error = f"could not compose or render: {type(exc).__name__}: {exc}"
        outbox.mark_failed(delivery, error=error, now=now)
        report.failed += 1
        return Status.FAILED
    if not isinstance(prepared, PreparedMessage):
        outbox.mark_skipped(delivery, reason=prepared, now=now)
        report.skipped += 1
        return Status.SKIPPED
    wait_for_send_slot(clock, per_minute)
    # composing and the rate limit take time: unsubscribes and bounces that arrived meanwhile still count
    now = clock.now()
    reason = skip_reason(delivery.subscriber_id)
    if reason:
        outbox.mark_skipped(delivery, reason=reason, now=now)
        report.skipped += 1
        return Status.SKIPPED
    message_id = message_id_of(prepared.message, delivery)
    if not outbox.mark_attempt(
        delivery, message_id=message_id, subject=prepared.subject, paper_ids=prepared.paper_ids, now=now
    ):
        report.lost_claims += 1
        logger.error("delivery %s was taken from sender %s before sending", delivery.pk, report.sender_id)
        return Status.SENDING
    try:
        outcome = deliver_message(connection, prepared.message)
    except Exception as exc:
        # not an SMTP reply: nobody knows whether the server got the message, so a person decides
        logger.exception("digest %s: unexpected error while sending", delivery.pk)
        error = f"unexpected error while sending: {type(exc).__name__}: {exc}"
        outbox.mark_uncertain(delivery, error=error, now=clock.now())
        report.uncertain += 1
        return Status.UNCERTAIN
    now = clock.now()
    if outcome.accepted:
        outbox.mark_sent(delivery, now=now)
        report.sent += 1
        return Status.SENT
    report.errors.append(f"{delivery.subscriber.email}: {outcome.error}")
    if outcome.transient:
        status = outbox.mark_retry(delivery, error=outcome.error, now=now)
    else:
        outbox.mark_failed(delivery, error=outcome.error, now=now)
        status = Status.FAILED
    if status == Status.FAILED:
        report.failed += 1
    elif status == Status.ABANDONED:
        report.abandoned += 1
    else:
        report.retried += 1
    logger.warning("digest %s to %s: %s (%s)", delivery.pk, delivery.subscriber.email, outcome.error, status)
    return status


def start_and_send(
    *,
    now: datetime | None = None,
    trigger: str = "schedule",
    digest_date: date | None = None,
    **send_options: Any,
) -> tuple[outbox.RunStart, SendReport]:
    """One pass of the schedule: queue who is due, then send the outbox."""
    started = outbox.start_run(now=now or datetime.now(UTC), trigger=trigger, digest_date=digest_date)
    return started, send_outbox(**send_options)
