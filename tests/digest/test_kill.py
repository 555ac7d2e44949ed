"""A real `broadsheet digest send` killed (SIGKILL) at 50+ random points and restarted: nothing sent twice,
no one dropped, and every row whose fate a kill made unknown is reported `uncertain`.

The SMTP server lives in this process (the sender is the one being killed) and records each accepted
message before replying; the child runs on this test's database, SQLite file or PostgreSQL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter

import pytest
from django.utils import timezone

from broadsheet.digest.models import Delivery, DigestRun

from .conftest import broadsheet_command, child_env

SUBSCRIBERS = 200
KILLS = 55
STARTUP_KILL_SHARE = 0.2  # this share of kills lands anywhere in start-up, run creation and recovery
STARTUP_SECONDS = 2.5
AFTER_FIRST_MESSAGE_SECONDS = 0.1
CHILD_TIMEOUT_SECONDS = 120


def wait_for_first_message(handler, before: int, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
    while len(handler.received) <= before and child.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the sender sent nothing within {CHILD_TIMEOUT_SECONDS} s")
        time.sleep(0.002)


def wait_in_startup(handler, before: int, child: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(handler.received) <= before and child.poll() is None:
        time.sleep(0.002)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_at_random_points_sends_each_digest_at_most_once(
    smtp_server, make_subscriber, make_papers
):
    seed = int(os.environ.get("BROADSHEET_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    today = timezone.now().date()
    make_papers(4, announced_on=today, categories=["cs.LG"])
    for number in range(SUBSCRIBERS):
        make_subscriber(f"reader{number:03d}@example.org", categories=["cs.LG"])
    handler = smtp_server.handler
    # a message takes at least this long to be accepted: about 3 messages a life on average, so the 200
    # digests outlast the 55 kills even on a fast machine
    handler.delay_seconds = 0.02
    command = [*broadsheet_command(), "digest", "send", "--date", today.isoformat(), "--no-wait"]
    env = child_env(smtp_server)

    kills = 0
    sent_per_life = []
    while kills < KILLS:
        before = len(handler.received)
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if rng.random() < STARTUP_KILL_SHARE:
            # anywhere in start-up, run creation and recovery; on a fast machine that is over by the first
            # message, so the kill comes then at the latest (a later one would be a sending kill, unbounded)
            wait_in_startup(handler, before, child, rng.uniform(0, STARTUP_SECONDS))
        else:
            wait_for_first_message(handler, before, child)
            try:
                child.wait(timeout=rng.uniform(0, AFTER_FIRST_MESSAGE_SECONDS))
            except subprocess.TimeoutExpired:
                pass
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        _, err = child.communicate(timeout=CHILD_TIMEOUT_SECONDS)
        sent_per_life.append(len(handler.received) - before)
        assert child.returncode in (0, -signal.SIGKILL), err
        assert child.returncode != 0, (
            f"the run finished after {kills} kills (seed {seed}, messages per life {sent_per_life})"
        )

    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS)
    assert final.returncode == 0, final.stderr
    assert "no new digests to queue" in final.stdout

    received = Counter(address for item in handler.received for address in item.recipients)
    rows = list(Delivery.objects.select_related("subscriber").filter(digest_date=today))
    status_counts = Counter(row.status for row in rows)
    context = f"seed {seed}, kills {kills}, statuses {dict(status_counts)}, messages per life {sent_per_life}"

    assert len(rows) == SUBSCRIBERS, context
    assert DigestRun.objects.count() == 1, context  # the restarts queued nothing new
    assert set(status_counts) <= {"sent", "uncertain"}, context
    assert status_counts["sent"] + status_counts["uncertain"] == SUBSCRIBERS, context
    assert status_counts["uncertain"] <= kills, context
    assert max(received.values()) == 1, f"someone got two: {received.most_common(3)}; {context}"
    assert len(handler.received) == sum(received.values())  # one recipient per message
    for row in rows:
        email = row.subscriber.email
        if row.status == "sent":
            assert received[email] == 1, f"{email} is marked sent but got {received[email]}; {context}"
        else:
            assert received[email] in (0, 1), context
            assert row.error.startswith("sender ") and "died during the SMTP conversation" in row.error
    # each accepted message is the one its row recorded
    ids_by_email = {row.subscriber.email: row.message_id for row in rows}
    for item in handler.received:
        assert item.message["Message-ID"] == ids_by_email[item.recipients[0]], context
    assert len(list(handler.folder.glob("*.eml"))) == len(handler.received)
    print(context)
