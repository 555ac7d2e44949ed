"""The send loop against real SMTP: each row sent once, re-checks, 4xx/drops retried, 5xx failed."""

from __future__ import annotations

import socket
from datetime import date, timedelta

import pytest
from django.core import mail

from broadsheet.digest import outbox
from broadsheet.digest.models import Delivery, Subscriber, SuppressedAddress
from broadsheet.digest.sender import send_outbox
from broadsheet.digest.subscriptions import suppress_address, unsubscribe

from .conftest import NOW

Status = Delivery.Status


def queue(*emails_and_fields, make_subscriber):
    for item in emails_and_fields:
        email, fields = (item, {}) if isinstance(item, str) else item
        make_subscriber(email, **fields)
    return outbox.start_run(now=NOW)


def outcomes() -> list[tuple[str, str, int, str]]:
    rows = Delivery.objects.order_by("subscriber__email")
    return list(rows.values_list("subscriber__email", "status", "attempts", "error"))


def send(clock, prepare, **options):
    return send_outbox(sender_id="test:1:1", clock=clock, prepare=prepare, rate_per_minute=0, **options)


def test_every_due_row_is_sent_once_and_marked_after_acceptance(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", "c@example.org", make_subscriber=make_subscriber)

    report = send(clock, prepare)
    again = send(clock, prepare)

    assert smtp_settings.handler.recipients() == ["a@example.org", "b@example.org", "c@example.org"]
    assert (report.sent, report.skipped, report.failed, again.sent) == (3, 0, 0, 0)
    assert outcomes() == [
        ("a@example.org", "sent", 1, ""),
        ("b@example.org", "sent", 1, ""),
        ("c@example.org", "sent", 1, ""),
    ]
    first = Delivery.objects.select_related("subscriber").get(subscriber__email="a@example.org")
    assert (first.sent_at, first.message_id, first.subject, first.claimed_by) == (
        NOW,
        f"<digest.{first.pk}@broadsheet.test>",
        "Broadsheet digest for 2026-03-02",
        "test:1:1",
    )
    assert (first.subscriber.last_digest_on, first.subscriber.last_digest_at) == (date(2026, 3, 2), NOW)
    received = smtp_settings.handler.received[0].message
    assert (received["Message-ID"], received["To"], received["Subject"]) == (
        first.message_id,
        "a@example.org",
        "Broadsheet digest for 2026-03-02",
    )
    assert received.get_content_type() == "multipart/alternative"


def test_unsubscribe_and_bounce_during_a_run_skip_only_those_rows(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", "c@example.org", "d@example.org", make_subscriber=make_subscriber)
    events = {
        # while a's digest is being composed, a unsubscribes (the re-check after composing catches it)
        "a@example.org": lambda: unsubscribe(Subscriber.objects.get(email="a@example.org"), NOW),
        # ... and c's address bounces, and d unsubscribes, before their rows come up
        "b@example.org": lambda: (
            suppress_address("c@example.org", "bounce", NOW),
            unsubscribe(Subscriber.objects.get(email="d@example.org"), NOW),
        ),
    }

    def prepare_with_events(delivery, now):
        event = events.pop(delivery.subscriber.email, None)
        if event:
            event()
        return prepare(delivery, now)

    report = send(clock, prepare_with_events)

    assert smtp_settings.handler.recipients() == ["b@example.org"]
    assert (report.sent, report.skipped) == (1, 3)
    assert outcomes() == [
        ("a@example.org", "skipped", 0, "subscriber is unsubscribed"),
        ("b@example.org", "sent", 1, ""),
        ("c@example.org", "skipped", 0, "subscriber is suppressed"),
        ("d@example.org", "skipped", 0, "subscriber is unsubscribed"),
    ]
    prepared = Delivery.objects.filter(pk__in=prepare.calls).order_by("subscriber__email")
    assert list(prepared.values_list("subscriber__email", flat=True)) == ["a@example.org", "b@example.org"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"frequency": Subscriber.Frequency.PAUSED}, "digests paused"),
        ({"status": Subscriber.Status.PENDING}, "subscriber is pending"),
    ],
)
def test_a_row_whose_subscriber_changed_since_queueing_is_skipped(
    smtp_settings, make_subscriber, clock, prepare, fields, reason
):
    queue("a@example.org", make_subscriber=make_subscriber)
    Subscriber.objects.filter(email="a@example.org").update(**fields)

    send(clock, prepare)

    assert smtp_settings.handler.recipients() == []
    assert outcomes() == [("a@example.org", "skipped", 0, reason)]


def test_a_suppressed_address_is_skipped_even_while_the_subscriber_row_is_active(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", make_subscriber=make_subscriber)
    SuppressedAddress.objects.create(email="A@Example.org", reason="complaint", created_at=NOW)

    send(clock, prepare)

    assert outcomes() == [("a@example.org", "skipped", 0, "address suppressed (complaint)")]


def test_a_4xx_reply_is_retried_after_a_backoff_then_sent(smtp_settings, make_subscriber, clock, prepare):
    queue("a@example.org", "b@example.org", make_subscriber=make_subscriber)
    smtp_settings.handler.fail("a@example.org", "451 4.3.0 mailbox busy, try later")

    report = send(clock, prepare)

    assert clock.sleeps == [60.0]
    assert smtp_settings.handler.recipients() == ["b@example.org", "a@example.org"]
    assert (report.sent, report.retried, report.failed) == (2, 1, 0)
    assert outcomes() == [("a@example.org", "sent", 2, ""), ("b@example.org", "sent", 1, "")]


def test_a_dropped_connection_is_retried_and_the_next_rows_still_go_out(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", make_subscriber=make_subscriber)
    smtp_settings.handler.fail("a@example.org", "drop")

    report = send(clock, prepare)

    assert smtp_settings.handler.recipients() == ["b@example.org", "a@example.org"]
    assert (report.sent, report.retried) == (2, 1)
    assert report.errors[0].startswith("a@example.org: connection dropped")


def test_a_5xx_reply_fails_the_row_with_the_reply(smtp_settings, make_subscriber, clock, prepare):
    queue("a@example.org", "b@example.org", make_subscriber=make_subscriber)
    smtp_settings.handler.fail("a@example.org", "550 5.1.1 no such user here")

    report = send(clock, prepare)

    assert clock.sleeps == []
    assert (report.sent, report.failed) == (1, 1)
    assert outcomes() == [
        ("a@example.org", "failed", 1, "550 5.1.1 no such user here"),
        ("b@example.org", "sent", 1, ""),
    ]


def test_a_recipient_that_keeps_answering_4xx_fails_after_bounded_backoff(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", make_subscriber=make_subscriber)
    smtp_settings.handler.fail("a@example.org", *["452 4.2.2 mailbox full"] * 10)

    report = send(clock, prepare)

    assert clock.sleeps == [60.0, 120.0, 240.0, 480.0]
    assert (report.retried, report.failed) == (4, 1)
    assert outcomes() == [("a@example.org", "failed", 5, "gave up after 5 attempts: 452 4.2.2 mailbox full")]


def test_an_unreachable_server_leads_to_abandoned_at_the_cutoff(settings, make_subscriber, clock, prepare):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once the socket is closed
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    queue("a@example.org", make_subscriber=make_subscriber)
    Delivery.objects.update(cutoff_at=NOW + timedelta(minutes=7))

    report = send(clock, prepare)

    # tries at 07:05, 07:06 and 07:08; the next one, at 07:12, would come after the 07:12 cutoff
    assert clock.sleeps == [60.0, 120.0]
    assert (report.retried, report.abandoned) == (2, 1)
    [(email, status, attempts, error)] = outcomes()
    assert (email, status, attempts) == ("a@example.org", "abandoned", 3)
    assert error.startswith("not sent by its cutoff; last attempt: ConnectionRefusedError")


def test_a_row_already_past_its_cutoff_is_abandoned_and_not_sent(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", make_subscriber=make_subscriber)
    clock.advance(hours=6)

    report = send(clock, prepare)

    assert (report.sent, report.abandoned) == (0, 1)
    assert smtp_settings.handler.recipients() == []
    assert outcomes() == [("a@example.org", "abandoned", 0, "not sent by its cutoff")]


def test_the_rate_limit_spaces_sends_and_holds_for_the_next_sender(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", "c@example.org", make_subscriber=make_subscriber)

    first = send_outbox(sender_id="test:1:1", clock=clock, prepare=prepare, rate_per_minute=2, max_messages=2)
    restarted = send_outbox(sender_id="test:2:2", clock=clock, prepare=prepare, rate_per_minute=2)

    assert (first.sent, restarted.sent) == (2, 1)
    assert clock.sleeps == [60.0]  # the restarted sender waited out the window the first one filled
    sent_at = Delivery.objects.order_by("subscriber__email").values_list("sent_at", flat=True)
    assert list(sent_at) == [NOW, NOW, NOW + timedelta(minutes=1)]


def test_a_dead_senders_started_row_is_reported_uncertain_not_resent(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", make_subscriber=make_subscriber)
    dead = f"{socket.gethostname()}:999999999:1"
    Delivery.objects.filter(subscriber__email="a@example.org").update(
        status=Status.SENDING, claimed_by=dead, claimed_at=NOW, message_id="<digest.x@test>", attempts=1
    )

    report = send(clock, prepare)

    assert (report.uncertain_orphans, report.sent) == (1, 1)
    assert smtp_settings.handler.recipients() == ["b@example.org"]
    assert [row[:3] for row in outcomes()] == [
        ("a@example.org", "uncertain", 1),
        ("b@example.org", "sent", 1),
    ]


def test_without_smtp_the_messages_become_eml_files(settings, tmp_path, make_subscriber, clock, prepare):
    settings.EMAIL_BACKEND = "broadsheet.mailer.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    queue("a@example.org", make_subscriber=make_subscriber)

    report = send(clock, prepare)

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert (report.sent, len(files)) == (1, 1)
    assert b"To: a@example.org" in files[0].read_bytes()


def test_a_message_without_message_id_gets_one_from_the_row(settings, make_subscriber, clock, prepare):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    queue("a@example.org", make_subscriber=make_subscriber)

    def without_id(delivery, now):
        prepared = prepare(delivery, now)
        del prepared.message.extra_headers["Message-ID"]
        return prepared

    send(clock, without_id)

    delivery = Delivery.objects.get()
    assert delivery.message_id.startswith(f"<digest.{delivery.pk}.20260302@")
    assert mail.outbox[0].extra_headers["Message-ID"] == delivery.message_id


def test_a_digest_that_cannot_be_built_fails_alone_and_the_run_goes_on(
    smtp_settings, make_subscriber, clock, prepare
):
    queue("a@example.org", "b@example.org", make_subscriber=make_subscriber)

    def broken_for_a(delivery, now):
        prepared = prepare(delivery, now)
        if delivery.subscriber.email == "a@example.org":
            prepared.message.subject = "Digest\r\nBcc: victim@example.org"
        return prepared

    report = send(clock, broken_for_a)

    assert smtp_settings.handler.recipients() == ["b@example.org"]
    assert (report.sent, report.failed) == (1, 1)
    assert outcomes() == [
        (
            "a@example.org",
            "failed",
            0,
            "could not compose or render: BadHeaderError: Header values can't contain newlines "
            "(got 'Digest\\r\\nBcc: victim@example.org' for header 'Subject')",
        ),
        ("b@example.org", "sent", 1, ""),
    ]
