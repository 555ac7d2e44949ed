"""Two `broadsheet digest send` processes on one outbox at the same time: every digest goes out exactly once.

The SMTP server holds its first acceptance until both senders are connected, so they really overlap;
the test runs on whichever database the suite uses (SQLite file or PostgreSQL).
"""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
from django.utils import timezone

from broadsheet.digest.models import Delivery

from .conftest import broadsheet_command, child_env

SUBSCRIBERS = 60
CHILD_TIMEOUT_SECONDS = 180


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_never_send_one_digest_twice(smtp_server, make_subscriber, make_papers):
    today = timezone.now().date()
    make_papers(3, announced_on=today, categories=["cs.LG"])
    for number in range(SUBSCRIBERS):
        make_subscriber(f"reader{number:03d}@example.org", categories=["cs.LG"])
    handler = smtp_server.handler
    handler.hold_until_sessions = 2
    handler.delay_seconds = 0.005
    command = [*broadsheet_command(), "digest", "send", "--date", today.isoformat(), "--no-wait"]

    children = [
        subprocess.Popen(
            [*command, "--sender-id", f"sender-{name}"],
            env=child_env(smtp_server),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [child.communicate(timeout=CHILD_TIMEOUT_SECONDS) for child in children]

    assert [child.returncode for child in children] == [0, 0], outputs
    received = Counter(address for item in handler.received for address in item.recipients)
    assert sorted(received) == [f"reader{number:03d}@example.org" for number in range(SUBSCRIBERS)]
    assert set(received.values()) == {1}
    rows = Delivery.objects.filter(digest_date=today)
    assert Counter(rows.values_list("status", flat=True)) == {"sent": SUBSCRIBERS}
    by_sender = Counter(rows.values_list("claimed_by", flat=True))
    assert set(by_sender) == {"sender-a", "sender-b"}, by_sender
    reported = sum(int(out.split("sent ", 1)[1].split(",", 1)[0]) for out, _ in outputs)
    assert reported == SUBSCRIBERS
