"""`broadsheet digest send|status|preview` and the scheduled task, with real composition and rendering."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from broadsheet.digest.models import Delivery, DigestRun
from broadsheet.digest.tasks import send_digests

SUMMARY_ONE_SENT = (
    "sent 1, skipped 0, retrying 0, failed 0, abandoned 0; found 0 uncertain and 0 requeued from dead senders"
)


def digest(*args: str) -> str:
    out = StringIO()
    call_command("digest", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def reader(make_subscriber, make_papers):
    """A daily subscriber to cs.LG, and two cs.LG papers announced today (UTC)."""
    make_papers(2, announced_on=timezone.now().date(), categories=["cs.LG"])
    return make_subscriber("reader@example.org", categories=["cs.LG"])


def test_send_without_smtp_writes_eml_files_and_says_where(settings, tmp_path, reader):
    settings.EMAIL_BACKEND = "broadsheet.mailer.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    today = timezone.now().date()

    output = digest("send", "--date", today.isoformat())

    run = DigestRun.objects.get()
    assert output.splitlines() == [
        f"run {run.pk}: queued 1 digests for {today.isoformat()}",
        SUMMARY_ONE_SENT,
        "no SMTP server configured (BROADSHEET_SMTP_URL): the messages were written as .eml files to "
        f"{tmp_path / 'outbox'}",
    ]
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert b"To: reader@example.org" in eml.read_bytes()


def test_send_again_queues_and_sends_nothing(settings, reader):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    today = timezone.now().date().isoformat()
    digest("send", "--date", today)

    output = digest("send", "--date", today)

    assert output.splitlines() == [
        "no new digests to queue",
        SUMMARY_ONE_SENT.replace("sent 1", "sent 0"),
    ]
    assert len(mail.outbox) == 1


def test_send_delivers_the_rendered_digest_over_smtp(smtp_settings, reader):
    today = timezone.now().date()

    digest("send", "--date", today.isoformat())

    [received] = smtp_settings.handler.received
    message = received.message
    delivery = Delivery.objects.get()
    assert (delivery.status, message["Message-ID"], message["Subject"]) == (
        "sent",
        delivery.message_id,
        delivery.subject,
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(delivery.paper_ids) == 2
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_send_skips_a_digest_with_nothing_new_when_asked_to(settings, make_subscriber):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_subscriber("quiet@example.org", categories=["math.AG"], skip_when_empty=True)

    output = digest("send", "--date", timezone.now().date().isoformat())

    assert "sent 0, skipped 1," in output
    skipped = Delivery.objects.values_list("status", "error").get()
    assert skipped == ("skipped", "nothing new since the last digest")
    assert mail.outbox == []


def test_status_prints_counts_per_run_and_the_rows_to_look_at(make_subscriber):
    started_at = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    run = DigestRun.objects.create(started_at=started_at, trigger="schedule")
    statuses = ["sent", "sent", "failed", "uncertain", "abandoned", "skipped", "queued"]
    rows = {}
    for number, status in enumerate(statuses):
        subscriber = make_subscriber(f"r{number}@example.org")
        rows[status] = Delivery.objects.create(
            subscriber=subscriber,
            run=run,
            digest_date=date(2026, 3, 2),
            status=status,
            due_at=started_at,
            cutoff_at=started_at + timedelta(hours=6),
            updated_at=started_at,
            error={"failed": "550 5.1.1 no such user", "uncertain": "sender h:1:2 died",
                   "abandoned": "not sent by its cutoff"}.get(status, ""),
        )  # fmt: skip

    output = digest("status")

    assert output.splitlines() == [
        "  run  started (UTC)     trigger   date           queued    sending       sent     failed  uncertain"
        "  abandoned    skipped",
        f"{run.pk:>5}  2026-03-02 07:00  schedule  -                   1          0          2          1"
        "          1          1          1",
        "",
        "rows to look at (never resent automatically):",
        f"  delivery {rows['failed'].pk} (run {run.pk})  r2@example.org  2026-03-02  failed  "
        "550 5.1.1 no such user",
        f"  delivery {rows['uncertain'].pk} (run {run.pk})  r3@example.org  2026-03-02  uncertain  "
        "sender h:1:2 died",
        f"  delivery {rows['abandoned'].pk} (run {run.pk})  r4@example.org  2026-03-02  abandoned  "
        "not sent by its cutoff",
    ]
    assert digest("status", "--run", str(run.pk)) == output


def test_status_without_runs_and_for_an_unknown_run(db):
    assert digest("status") == "no digest runs yet\n"
    with pytest.raises(CommandError, match="no digest run 99"):
        digest("status", "--run", "99")


def test_preview_prints_the_text_part_and_writes_the_html_part(tmp_path, reader):
    html_path = tmp_path / "digest.html"

    output = digest("preview", "Reader@Example.org", "--html", str(html_path))

    lines = output.splitlines()
    assert lines[0].startswith("Subject: ")
    assert "Paper 1" in output and "Paper 2" in output
    assert html_path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert lines[-1] == f"HTML part written to {html_path} (base URL http://127.0.0.1:8000)"
    assert Delivery.objects.count() == 0  # a preview records nothing


def test_preview_of_an_unknown_address_is_an_error(db):
    with pytest.raises(CommandError, match="no subscriber with the address 'nobody@example.org'"):
        digest("preview", "nobody@example.org")


def test_send_refuses_a_malformed_date(db):
    with pytest.raises(CommandError, match="2026-13-01"):
        digest("send", "--date", "2026-13-01")


def test_the_scheduled_task_queues_and_sends_whoever_is_due_now(settings, make_subscriber, make_papers):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    make_papers(1, announced_on=now.date(), categories=["cs.LG"])
    make_subscriber("due@example.org", delivery_hour=now.hour, categories=["cs.LG"])
    make_subscriber("later@example.org", delivery_hour=(now.hour + 1) % 24, categories=["cs.LG"])

    send_digests.call_local()
    send_digests.call_local()

    assert [message.to for message in mail.outbox] == [["due@example.org"]]
    run = DigestRun.objects.get()
    assert (run.trigger, run.deliveries.get().status) == ("schedule", "sent")
