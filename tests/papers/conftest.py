"""Paper factories for the page and service tests: rows are written only through upsert_papers, as in
production, from PaperRecords built with readable defaults.

Django is set up only after conftest files load, so anything that imports models is imported inside
the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from broadsheet.ingest.records import PaperRecord, VersionRecord

INGESTED_AT = datetime(2025, 9, 30, 12, 0, tzinfo=UTC)
SUBMITTED_AT = datetime(2025, 9, 19, 17, 30, tzinfo=UTC)


def make_record(
    arxiv_id: str,
    *,
    title: str | None = None,
    abstract: str = "We study things.",
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    announced_on: date | None = date(2025, 9, 22),
    version: int = 1,
    submitted_at: datetime | None = SUBMITTED_AT,
    updated_at: datetime | None = None,
    **fields: str,
) -> PaperRecord:
    """A paper announced on Monday 22 September 2025, one version per number up to `version`."""
    versions = [VersionRecord(number, submitted_at, f"{100 * number}kb") for number in range(1, version + 1)]
    if updated_at is not None and versions:
        versions[-1] = VersionRecord(version, updated_at, versions[-1].size)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title if title is not None else f"Paper {arxiv_id}",
        abstract=abstract,
        authors=authors if authors is not None else ["Ada Lovelace"],
        categories=categories if categories is not None else ["cs.LG"],
        versions=versions,
        submitted_at=submitted_at,
        updated_at=updated_at or submitted_at,
        announced_on=announced_on,
        datestamp=announced_on or date(2025, 9, 22),
        **fields,  # type: ignore[arg-type]
    )


def deletion_record(arxiv_id: str, on: date = date(2025, 12, 1)) -> PaperRecord:
    """An upstream deletion newer than any content the factories write."""
    return PaperRecord(arxiv_id, deleted=True, datestamp=on)


@pytest.fixture
def paper_record() -> Callable[..., PaperRecord]:
    """make_record: a PaperRecord for a paper announced on Monday 22 September 2025."""
    return make_record


@pytest.fixture
def deleted_record() -> Callable[..., PaperRecord]:
    """deletion_record: an upstream deletion of a paper, newer than its content."""
    return deletion_record


@pytest.fixture
def add_papers(db: None) -> Callable[..., None]:
    """add_papers(record, ...): upsert the records."""
    from broadsheet.ingest.upsert import upsert_papers

    def add(*records: PaperRecord) -> None:
        upsert_papers(records, now=INGESTED_AT)

    return add


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Category counts live in Django's cache, rendered math and cards in-process; no test sees another's."""
    from django.core.cache import cache

    from broadsheet.papers.math import latex_to_text, render_math
    from broadsheet.papers.templatetags.paper_tags import _render_card

    cache.clear()
    render_math.cache_clear()
    latex_to_text.cache_clear()
    _render_card.cache_clear()
    yield
    cache.clear()
