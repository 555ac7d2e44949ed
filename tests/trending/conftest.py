"""Fixtures for the trending tests: fake Hugging Face and GitHub servers on 127.0.0.1, a fake clock for
the HTTP clients, and a helper that writes arXiv papers through the one upsert.

Rule: every network test talks HTTP to a fake on an ephemeral loopback port; only time is faked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from broadsheet.ingest.records import PaperRecord, VersionRecord

FIXTURES = Path(__file__).parent / "fixtures"
HF_DAILY = FIXTURES / "hf_daily"


class FakeClock:
    """monotonic(), sleep() and a wall clock for the HTTP clients: sleeping advances both."""

    def __init__(self, wall: datetime = datetime(2026, 8, 22, 6, 0, tzinfo=UTC)) -> None:
        self.monotonic_now = 1000.0
        self.wall = wall
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.monotonic_now

    def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.sleeps.append(round(seconds, 6))
        self.monotonic_now += seconds
        self.wall += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.wall


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def client_options(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    """No politeness delay, 1 s backoff, 3 retries, on the fake clock."""
    options: dict[str, Any] = {
        "delay_seconds": 0.0,
        "timeout_seconds": 5.0,
        "max_retries": 3,
        "retry_after_cap_seconds": 120.0,
        "backoff_seconds": 1.0,
        "sleep": clock.sleep,
        "monotonic": clock.monotonic,
        "wall_clock": clock.now,
    }
    options.update(overrides)
    return options


@pytest.fixture
def start_server() -> Iterator[Callable[[Any], Any]]:
    """start_server(fake) starts a FakeUpstream and stops it after the test."""
    started: list[Any] = []

    def start(fake: Any) -> Any:
        started.append(fake.start())
        return fake

    yield start
    for fake in started:
        fake.stop()


def arxiv_record(
    arxiv_id: str,
    *,
    title: str | None = None,
    categories: list[str] | None = None,
    announced_on: date = date(2026, 8, 20),
    submitted_at: datetime = datetime(2026, 8, 18, 15, 0, tzinfo=UTC),
) -> PaperRecord:
    """A v1 paper as arXiv's own metadata has it (with a datestamp, so it wins the content merge)."""
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title or f"arXiv title of {arxiv_id}",
        abstract=f"arXiv abstract of {arxiv_id}.",
        authors=["Ada Lovelace"],
        categories=categories if categories is not None else ["cs.LG"],
        versions=[VersionRecord(1, submitted_at, "100kb")],
        submitted_at=submitted_at,
        updated_at=submitted_at,
        announced_on=announced_on,
        datestamp=announced_on,
    )


@pytest.fixture
def add_papers() -> Callable[..., list[int]]:
    """add_papers(record, ...) upserts arXiv records and returns their primary keys, in order."""

    def add(*records: PaperRecord) -> list[int]:
        from broadsheet.ingest.upsert import upsert_papers
        from broadsheet.papers.models import Paper

        upsert_papers(list(records), now=datetime(2026, 8, 21, 12, 0, tzinfo=UTC))
        pks = dict(Paper.objects.values_list("arxiv_id", "pk"))
        return [pks[record.arxiv_id] for record in records]

    return add
