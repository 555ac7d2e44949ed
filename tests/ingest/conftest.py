"""Fixtures for the ingest tests: a real fake arXiv on 127.0.0.1, a fake clock, snapshot writers.

Rule: every network test talks HTTP to a FakeArxiv on an ephemeral loopback port; only time is faked.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from broadsheet.ingest.fake_arxiv import FakeArxiv, start_fake_arxiv
from broadsheet.ingest.http import PoliteClient

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT_FIXTURE = FIXTURES / "snapshot.jsonl"
CATEGORY_CYCLE = ["cs.CL cs.LG", "cs.LG", "math.AG", "cs.IR stat.ML", "astro-ph.CO"]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeClock:
    """monotonic() and sleep() for PoliteClient: sleeping advances the clock and is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(fake_clock: FakeClock) -> Iterator[Callable[..., PoliteClient]]:
    """PoliteClient factory on the fake clock: no politeness delay, 1 s backoff, 3 retries unless told."""
    clients: list[PoliteClient] = []

    def make(**options: Any) -> PoliteClient:
        settings: dict[str, Any] = {
            "delay_seconds": 0.0,
            "timeout_seconds": 5.0,
            "max_retries": 3,
            "retry_after_cap_seconds": 120.0,
            "backoff_seconds": 1.0,
            "sleep": fake_clock.sleep,
            "monotonic": fake_clock.monotonic,
        }
        settings.update(options)
        client = PoliteClient(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def synthetic_items(
    count: int, *, first_day: date = date(2024, 1, 1), per_day: int = 7
) -> list[dict[str, Any]]:
    """`count` snapshot lines in the Kaggle format, `per_day` papers per update_date, every third revised."""
    items = []
    for number in range(count):
        day = first_day + timedelta(days=number // per_day)
        submitted = datetime(day.year, day.month, day.day, 9, 0) - timedelta(days=1, minutes=number)
        versions = [
            {"version": "v1", "created": submitted.strftime("%a, %-d %b %Y %H:%M:%S GMT"), "size": "100kb"}
        ]
        if number % 3 == 2:
            revised = submitted + timedelta(hours=20)
            versions.append(
                {"version": "v2", "created": revised.strftime("%a, %-d %b %Y %H:%M:%S GMT"), "size": "110kb"}
            )
        surname = f"Author{number:03d}"
        items.append(
            {
                "id": f"2401.{10000 + number:05d}",
                "submitter": f"First {surname}",
                "authors": f"First {surname}, Second Coauthor and Third Person",
                "title": f"Synthetic paper number {number} on language models",
                "comments": f"{number} pages" if number % 2 else None,
                "journal-ref": None,
                "doi": None,
                "report-no": None,
                "categories": CATEGORY_CYCLE[number % len(CATEGORY_CYCLE)],
                "license": None,
                "abstract": f"Abstract of synthetic paper {number}.",
                "versions": versions,
                "update_date": day.isoformat(),
                "authors_parsed": [
                    [surname, "First", ""],
                    ["Coauthor", "Second", ""],
                    ["Person", "Third", ""],
                ],
            }
        )
    return items


def write_snapshot(path: Path, items: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item) + "\n")
    return path


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    """The hand-written snapshot fixture served with 3 records per OAI page."""
    server = start_fake_arxiv(SNAPSHOT_FIXTURE, page_size=3)
    yield server
    server.stop()


@pytest.fixture
def start_fake(tmp_path: Path) -> Iterator[Callable[..., FakeArxiv]]:
    """Factory: start_fake(items or path, page_size=..., deleted=..., faults=...) -> a running FakeArxiv."""
    servers: list[FakeArxiv] = []

    def start(source: list[dict[str, Any]] | Path, **options: Any) -> FakeArxiv:
        path = (
            source
            if isinstance(source, Path)
            else write_snapshot(tmp_path / f"snap{len(servers)}.jsonl", source)
        )
        server = start_fake_arxiv(path, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the database this test process uses."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(str(config['NAME'])).resolve()}"
    if connection.vendor == "postgresql":
        credentials = quote(config.get("USER") or "", safe="")
        if config.get("PASSWORD"):
            credentials += ":" + quote(config["PASSWORD"], safe="")
        host = config.get("HOST") or "localhost"
        port = f":{config['PORT']}" if config.get("PORT") else ""
        at = "@" if credentials else ""
        return f"postgres://{credentials}{at}{host}{port}/{config['NAME']}"
    raise RuntimeError(f"no subprocess database URL for {connection.vendor}")


def broadsheet_command() -> list[str]:
    """The `broadsheet` console script of this environment (or `python -m broadsheet` without one)."""
    script = Path(sys.executable).parent / "broadsheet"
    if script.exists():
        return [str(script)]
    found = shutil.which("broadsheet")
    return [found] if found else [sys.executable, "-m", "broadsheet"]


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url_for_subprocess()
    env.update(overrides)
    return env


@pytest.fixture
def read_fixture() -> Callable[[str], bytes]:
    return fixture_bytes


@pytest.fixture
def make_items() -> Callable[..., list[dict[str, Any]]]:
    return synthetic_items


@pytest.fixture
def child_process() -> dict[str, Any]:
    """How to start a real `broadsheet` child on this test's database: its command and environment."""
    return {"command": broadsheet_command(), "env": subprocess_env}


@pytest.fixture
def snapshot_fixture() -> Path:
    """The hand-written snapshot file (Kaggle arXiv metadata format)."""
    return SNAPSHOT_FIXTURE
