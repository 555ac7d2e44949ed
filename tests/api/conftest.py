"""A small Broadsheet for the API tests, written through the real ingest paths (upsert_papers for arXiv
records, store_daily_papers for Hugging Face daily papers), with upvotes and a computed trending score.

    2609.00001  Mon 7 Sep 2026 (2026-W37)  cs.LG  v2; HF: 20 upvotes, 3 comments, code (1234 stars),
                                                  project page, AI summary, submitted by ada; 2 upvotes here
    2609.00002  Mon 7 Sep 2026             cs.CL  HF: 5 upvotes, submitted by grace
    2609.00003  Tue 8 Sep 2026             cs.LG  nothing
    2609.00004  Mon 14 Sep 2026 (2026-W38) cs.CL  nothing
    2608.00005  Mon 31 Aug 2026 (2026-W36) cs.LG  nothing
    hep-th/9901001  Mon 4 Jan 1999         hep-th nothing (an old-style id)

Trending (computed at NOW): 2609.00001 (22 points) above 2609.00002 (5 points); both count from their
Hugging Face daily page of 8 September, so their order holds at any later moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from broadsheet.ingest.records import PaperRecord, VersionRecord

# Modules that define or import models are imported inside the functions: a conftest loads before Django
# is set up when only this package is collected.

NOW = datetime(2026, 9, 15, 0, 0, tzinfo=UTC)
HF_DAILY_ON = date(2026, 9, 8)


def arxiv_record(
    arxiv_id: str,
    announced_on: date,
    *,
    title: str,
    authors: tuple[str, ...] = ("Ada Lovelace",),
    categories: tuple[str, ...] = ("cs.LG",),
    version: int = 1,
    **fields,
) -> PaperRecord:
    # submitted three days before the announcement, at 15:00 UTC
    submitted_at = datetime.combine(announced_on, time(15), UTC) - timedelta(days=3)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=f"The abstract of {title.lower()}.",
        authors=list(authors),
        categories=list(categories),
        versions=[VersionRecord(number, submitted_at, f"{number}00kb") for number in range(1, version + 1)],
        submitted_at=submitted_at,
        updated_at=submitted_at,
        announced_on=announced_on,
        datestamp=announced_on,
        **fields,
    )


CORPUS = (
    arxiv_record(
        "2609.00001", date(2026, 9, 7), title="Analytical engines", authors=("Ada Lovelace", "Grace Hopper"),
        version=2, doi="10.1000/engines", comments="12 pages",
    ),
    arxiv_record("2609.00002", date(2026, 9, 7), title="Computable numbers", authors=("Alan Turing",),
                 categories=("cs.CL",)),
    arxiv_record("2609.00003", date(2026, 9, 8), title="Compilers for everyone", authors=("Grace Hopper",)),
    arxiv_record("2609.00004", date(2026, 9, 14), title="Double helix", authors=("Rosalind Franklin",),
                 categories=("cs.CL", "q-bio.BM")),
    arxiv_record("2608.00005", date(2026, 8, 31), title="Radio astronomy", authors=("Jocelyn Bell",)),
    arxiv_record("hep-th/9901001", date(1999, 1, 4), title="Strings", authors=("Edward Witten",),
                 categories=("hep-th",)),
)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def hf_item(arxiv_id: str, upvotes: int, **fields):
    from broadsheet.trending.hf_daily import HfItem

    return HfItem(
        record=PaperRecord(arxiv_id=arxiv_id, title=f"HF title of {arxiv_id}"),
        upvotes=upvotes,
        submitted_on_daily_at=midnight(HF_DAILY_ON),
        **fields,
    )


def add_upvotes(arxiv_id: str, *usernames: str, at: datetime) -> None:
    from django.contrib.auth import get_user_model

    from broadsheet.accounts.models import Upvote
    from broadsheet.papers.models import Paper

    paper = Paper.objects.get(arxiv_id=arxiv_id)
    for name in usernames:
        user, _ = get_user_model().objects.get_or_create(username=name)
        Upvote.objects.create(user=user, paper=paper, created_at=at)


def load_broadsheet() -> None:
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.trending.github import parse_github_repo
    from broadsheet.trending.hf_daily import store_daily_papers
    from broadsheet.trending.score import compute_trending

    upsert_papers(list(CORPUS), now=datetime(2026, 9, 14, 12, 0, tzinfo=UTC))
    full_name, url = parse_github_repo("https://github.com/ada/engine")  # type: ignore[misc]
    items = [
        hf_item(
            "2609.00001", 20, num_comments=3, github_url=url, github_full_name=full_name, github_stars=1234,
            project_page="https://engine.example/", ai_summary="Engines, summarised.",
            ai_keywords=["engines", "analysis"], organization="Analytical Society", submitted_by="ada",
        ),
        hf_item("2609.00002", 5, num_comments=0, submitted_by="grace"),
    ]
    store_daily_papers(items, daily_on=HF_DAILY_ON, observed_at=midnight(date(2026, 9, 9)), now=NOW)
    add_upvotes("2609.00001", "ada", "grace", at=datetime(2026, 9, 10, 9, 0, tzinfo=UTC))
    compute_trending(NOW)


@pytest.fixture
def broadsheet(db) -> None:
    load_broadsheet()


@pytest.fixture(autouse=True)
def _hub_connections_closed():
    """huggingface_hub keeps its HTTP connections open across calls; one left open keeps a live-server
    request thread, and its database connection, alive past the test (PostgreSQL then refuses to drop the
    test database at the end of the run)."""
    yield
    from huggingface_hub.utils import close_session

    close_session()
