"""Papers, signals, embeddings and subscribers for the digest composition and rendering tests.

Rows go through the real writers: papers through upsert_papers, trending scores through compute_trending
from Hugging Face observations. Embeddings are small hand-made unit vectors stored as PaperEmbedding rows, so
that similarities (and rankings) are exact numbers a test can state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from broadsheet.ingest.records import PaperRecord, VersionRecord

NOW = datetime(2025, 9, 23, 7, 0, tzinfo=UTC)  # Tuesday; today's papers were announced at 00:00 UTC
TODAY = date(2025, 9, 23)
YESTERDAY = date(2025, 9, 22)
LAST_WEEK = date(2025, 9, 17)
SUBMITTED_AT = datetime(2025, 9, 12, 17, 30, tzinfo=UTC)


def record(
    arxiv_id: str,
    *,
    title: str | None = None,
    abstract: str = "We study things.",
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    announced_on: date = TODAY,
) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=title if title is not None else f"Paper {arxiv_id}",
        abstract=abstract,
        authors=authors if authors is not None else ["Ada Lovelace"],
        categories=categories if categories is not None else ["cs.LG"],
        versions=[VersionRecord(1, SUBMITTED_AT, "100kb")],
        submitted_at=SUBMITTED_AT,
        updated_at=SUBMITTED_AT,
        announced_on=announced_on,
        datestamp=announced_on,
    )


def add_papers(*records: PaperRecord) -> dict[str, int]:
    """Upsert the records; {arxiv id: paper id} of every paper."""
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.papers.models import Paper

    upsert_papers(records, now=NOW - timedelta(hours=6))
    return dict(Paper.objects.values_list("arxiv_id", "id"))


def add_hf_upvotes(upvotes: dict[str, int], *, now: datetime = NOW) -> None:
    """Hugging Face upvote counts seen an hour before `now`, then the trending scores recomputed."""
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import HfObservation
    from broadsheet.trending.score import compute_trending

    for arxiv_id, count in upvotes.items():
        paper = Paper.objects.get(arxiv_id=arxiv_id)
        assert paper.announced_on is not None
        HfObservation.objects.create(
            paper=paper, daily_on=paper.announced_on, observed_at=now - timedelta(hours=1), upvotes=count
        )
    compute_trending(now)


def unit(*components: float) -> np.ndarray:
    vector = np.array(components, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def add_embeddings(vectors: dict[str, np.ndarray]) -> None:
    """Store a vector of the configured model for each arXiv id."""
    from broadsheet.papers.models import Paper
    from broadsheet.search.embedding import encode_vector
    from broadsheet.search.models import PaperEmbedding
    from broadsheet.search.service import embedder_name

    for arxiv_id, vector in vectors.items():
        paper = Paper.objects.get(arxiv_id=arxiv_id)
        PaperEmbedding.objects.create(
            paper=paper,
            model_name=embedder_name(),
            content_hash=paper.content_hash,
            dim=len(vector),
            vector=encode_vector(vector),
            embedded_at=NOW,
        )


def add_subscriber(email: str = "reader@example.org", **preferences: object):
    """An active subscriber with nothing but trending switched on, unless `preferences` say otherwise."""
    from broadsheet.digest.models import Subscriber

    fields: dict[str, object] = {
        "status": Subscriber.Status.ACTIVE,
        "created_at": NOW - timedelta(days=30),
        "confirmed_at": NOW - timedelta(days=30),
    }
    fields.update(preferences)
    return Subscriber.objects.create(email=email, **fields)


def author_id(name: str) -> int:
    from broadsheet.papers.models import Author

    return Author.objects.get(name=name).pk
