"""The scale-out job queue: real `broadsheet worker` processes with REDIS_URL run jobs queued through Redis.

Rule: a real redis-server (BROADSHEET_TEST_REDIS_URL, started by scripts/test.sh or scripts/redis.sh),
real worker subprocesses on this test's database, real Broadsheet tasks; what a job did is read from the
database and from the worker's own log line per finished job id. Each test empties its own Redis database
number. Skipped without that URL, except in CI, where a missing Redis is a failure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from broadsheet.accounts.models import RateCounter, SignInToken, Upvote
from broadsheet.accounts.tasks import purge_account_rows
from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.trending.models import TrendingScore
from broadsheet.trending.tasks import compute_trending_scores

REDIS_URL_VARIABLE = "BROADSHEET_TEST_REDIS_URL"
WORKER_START_TIMEOUT_SECONDS = 30.0
JOBS_TIMEOUT_SECONDS = 30.0
# the consumer logs "Executing <module>.<task name>: <task id>" and "<...>: <task id> executed in 0.012s"
EXECUTED_LINE = re.compile(r"(?P<name>[\w.]+): (?P<id>[0-9a-f-]{36}) executed in ")
CONSUMER_STARTED = "Huey consumer started"
TRENDING_TASK = "broadsheet.trending.tasks.broadsheet.compute_trending"
PURGE_TASK = "broadsheet.accounts.tasks.broadsheet.purge_account_rows"

NO_REDIS_REASON = (
    f"{REDIS_URL_VARIABLE} is not set: these tests need a running Redis "
    "(scripts/test.sh starts one; by hand: url=$(scripts/redis.sh start $(mktemp -d)))"
)
IN_CI = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}

pytestmark = [
    # decided before the test database is set up, so that a skip costs nothing
    pytest.mark.skipif(
        not os.environ.get(REDIS_URL_VARIABLE, "").strip() and not IN_CI, reason=NO_REDIS_REASON
    ),
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def redis_url_for(database: int) -> str:
    """BROADSHEET_TEST_REDIS_URL pointed at Redis database `database`; in CI a missing URL fails."""
    base = os.environ.get(REDIS_URL_VARIABLE, "").strip()
    if not base:
        pytest.fail(NO_REDIS_REASON)
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class Queue:
    """The job queue of one test: the Redis URL its workers get and a RedisHuey to enqueue from here."""

    url: str
    huey: Any

    def waiting_readers(self) -> int:
        """Connections blocked reading this queue's Redis database: workers ready for the next job."""
        conn = self.huey.storage.conn
        database = conn.connection_pool.connection_kwargs["db"]
        return sum(
            1 for client in conn.client_list() if "b" in client["flags"] and int(client["db"]) == database
        )


@pytest.fixture
def redis_queue() -> Iterator[Callable[[int], Queue]]:
    """redis_queue(database) -> a Queue on that Redis database number (each test its own; 0 is left to
    whoever shares the server), named as the worker's queue, emptied before and after the test."""
    from huey import RedisHuey

    made: list[Queue] = []

    def make(database: int) -> Queue:
        url = redis_url_for(database)
        queue = Queue(url, RedisHuey(settings.HUEY["name"], url=url))
        queue.huey.storage.conn.flushdb()
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.huey.storage.conn.flushdb()
        queue.huey.storage.conn.connection_pool.disconnect()


def enqueue_on(huey: Any, task: Any) -> Callable[[], Any]:
    """`task` (a Broadsheet task) registered under its own name on `huey`: calling it queues it there.

    This process's Django queue is the SQLite one (no REDIS_URL here); the worker looks tasks up by
    module and name, so the message is the one `broadsheet worker` would get from a web node on Redis."""
    return huey.task(name=task.name)(task)


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the database this test process uses."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(str(config['NAME'])).resolve()}"
    credentials = quote(config.get("USER") or "", safe="")
    if config.get("PASSWORD"):
        credentials += ":" + quote(config["PASSWORD"], safe="")
    host = config.get("HOST") or "localhost"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{'@' if credentials else ''}{host}{port}/{config['NAME']}"


class Worker:
    """A `broadsheet worker --no-periodic` subprocess whose output goes to a file."""

    def __init__(self, redis_url: str, data_dir: Path, log_path: Path) -> None:
        env = {key: value for key, value in os.environ.items() if key != REDIS_URL_VARIABLE}
        env.update(
            DATABASE_URL=database_url_for_subprocess(),
            REDIS_URL=redis_url,
            BROADSHEET_DATA_DIR=str(data_dir),
            BROADSHEET_LOG_LEVEL="INFO",
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        script = Path(sys.executable).parent / "broadsheet"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "broadsheet"]
        self.log_path = log_path
        self.log: IO[str] = log_path.open("w", encoding="utf-8")
        # no schedule: a periodic job falling due during the test would run beside the queued ones
        self.process = subprocess.Popen(
            [*command, "worker", "--no-periodic"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def executed(self) -> list[tuple[str, str]]:
        """(task name, task id) of every job this worker finished, in order."""
        return [(match["name"], match["id"]) for match in EXECUTED_LINE.finditer(self.output())]

    def wait_started(self) -> None:
        if not wait_for(
            lambda: CONSUMER_STARTED in self.output() or self.process.poll() is not None,
            WORKER_START_TIMEOUT_SECONDS,
        ):
            pytest.fail(f"the worker did not start in {WORKER_START_TIMEOUT_SECONDS:.0f} s:\n{self.output()}")
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.output()}")

    def send_stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture
def start_workers(tmp_path: Path) -> Iterator[Callable[..., list[Worker]]]:
    """start_workers(queue, count) -> `count` running workers on `queue`, started together, each one
    blocked reading the queue; every one is stopped after the test."""
    workers: list[Worker] = []

    def start(queue: Queue, count: int = 1) -> list[Worker]:
        started = []
        for _ in range(count):
            number = len(workers) + 1
            worker = Worker(queue.url, tmp_path / f"worker{number}-data", tmp_path / f"worker{number}.log")
            workers.append(worker)
            started.append(worker)
        for worker in started:
            worker.wait_started()
        # the consumer logs that it started before its worker thread reads the queue: a job queued in
        # between would go to whichever worker got there first
        if not wait_for(lambda: queue.waiting_readers() >= count, WORKER_START_TIMEOUT_SECONDS):
            pytest.fail(f"{queue.waiting_readers()} of {count} workers read the queue")
        return started

    yield start
    # all at once: each takes up to a second to notice (its blocking read of the queue times out)
    for worker in workers:
        worker.send_stop()
    for worker in workers:
        worker.wait_stopped()


def wait_for(predicate: Callable[[], bool], timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def add_paper(arxiv_id: str, *, announced_on: datetime) -> Paper:
    submitted = announced_on - timedelta(days=1)
    record = PaperRecord(
        arxiv_id=arxiv_id,
        title=f"Paper {arxiv_id}",
        abstract="We study queues.",
        authors=["Ada Lovelace"],
        categories=["cs.DC"],
        versions=[VersionRecord(1, submitted, "100kb")],
        submitted_at=submitted,
        updated_at=submitted,
        announced_on=announced_on.date(),
        datestamp=announced_on.date(),
    )
    upsert_papers([record], now=announced_on)
    return Paper.objects.get(arxiv_id=arxiv_id)


def scored_papers() -> list[tuple[str, int]]:
    return list(
        TrendingScore.objects.order_by("paper__arxiv_id").values_list("paper__arxiv_id", "upvotes_local")
    )


def test_worker_on_redis_runs_the_trending_job_queued_by_another_process(redis_queue, start_workers):
    queue = redis_queue(1)
    now = timezone.now()
    voted = add_paper("2608.00001", announced_on=now - timedelta(days=2))
    stale = add_paper("2608.00002", announced_on=now - timedelta(days=40))
    reader = User.objects.create_user("reader", "reader@example.org")
    Upvote.objects.create(user=reader, paper=voted, created_at=now - timedelta(hours=1))
    # a score left from an earlier run for a paper with no signal left: the recompute removes it
    TrendingScore.objects.create(paper=stale, score=1.0, points=1.0, age_hours=900.0, computed_at=now)
    [worker] = start_workers(queue)

    job = enqueue_on(queue.huey, compute_trending_scores)()

    ran = wait_for(lambda: scored_papers() == [("2608.00001", 1)], JOBS_TIMEOUT_SECONDS)
    assert ran, worker.output()
    assert worker.executed() == [(TRENDING_TASK, job.id)]
    assert queue.huey.pending_count() == 0


def test_two_workers_share_the_redis_queue_and_run_each_job_once(redis_queue, start_workers):
    queue = redis_queue(2)
    now = timezone.now()
    expired, fresh = now - timedelta(hours=1), now + timedelta(hours=1)
    for number, expires_at in enumerate([expired, expired, fresh]):
        SignInToken.objects.create(
            email=f"reader{number}@example.org",
            token_hash=f"{number:064x}",
            created_at=now - timedelta(hours=2),
            expires_at=expires_at,
        )
        RateCounter.objects.create(
            key_hash=f"{number:064x}", window_start=0, window_seconds=60, count=1, expires_at=expires_at
        )
    workers = start_workers(queue, 2)
    purge = enqueue_on(queue.huey, purge_account_rows)

    job_ids = [purge().id for _ in range(20)]

    def all_ran() -> bool:
        return len([run for worker in workers for run in worker.executed()]) >= len(job_ids)

    finished = wait_for(all_ran, JOBS_TIMEOUT_SECONDS)
    # a job taken twice would show up late: give a duplicate a moment to appear before counting
    time.sleep(0.5)
    outputs = "\n".join(worker.output() for worker in workers)
    assert finished, outputs
    runs = Counter(run for worker in workers for run in worker.executed())
    assert sorted(runs) == sorted((PURGE_TASK, job_id) for job_id in job_ids), outputs
    assert set(runs.values()) == {1}, outputs
    assert all(worker.executed() for worker in workers), [len(worker.executed()) for worker in workers]
    assert queue.huey.pending_count() == 0
    assert list(SignInToken.objects.values_list("expires_at", flat=True)) == [fresh]
    assert list(RateCounter.objects.values_list("expires_at", flat=True)) == [fresh]
