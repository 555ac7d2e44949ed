"""Fixtures for the accounts tests: papers written through upsert_papers, readers, a signed-in client.

Rule: papers enter the database only through the ingest pipeline, as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from broadsheet.ingest.records import PaperRecord, VersionRecord

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def make_record(arxiv_id: str, title: str, authors: list[str] | None = None) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=f"Abstract of {title}.",
        authors=authors or ["Ada Lovelace"],
        categories=["cs.LG"],
        versions=[VersionRecord(1, NOW)],
        submitted_at=NOW,
        updated_at=NOW,
        announced_on=NOW.date(),
        datestamp=NOW.date(),
    )


PAPERS = {
    "2503.00001": "Sparse attention for very long documents",
    "2503.00002": "Graph networks on a budget",
    "hep-th/9901001": "Strings at low energy",
}


@pytest.fixture
def papers(db: Any) -> dict[str, str]:
    # imported here: this conftest loads before Django is set up, and the upsert imports models
    from broadsheet.ingest.upsert import upsert_papers

    upsert_papers([make_record(arxiv_id, title) for arxiv_id, title in PAPERS.items()], now=NOW)
    return dict(PAPERS)


@pytest.fixture
def reader(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="ada@example.org", email="ada@example.org")


@pytest.fixture
def other_reader(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="bob@example.org", email="bob@example.org")


@pytest.fixture
def reader_client(reader: Any) -> Client:
    client = Client()
    client.force_login(reader)
    return client
