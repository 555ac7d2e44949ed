"""embed_papers, load_vectors, update_vector_index and `broadsheet embed`, on papers written by upsert_papers.

Every test uses the real default embedder (loaded once per session) on a handful of papers.
"""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.search.embedders import Embedder, get_embedder, paper_text
from broadsheet.search.embedding import (
    EmbedResult,
    decode_vector,
    embed_papers,
    load_vectors,
    papers_needing_embedding,
    update_vector_index,
)
from broadsheet.search.models import PaperEmbedding
from broadsheet.search.vector_index import VectorIndex, index_path

NOW = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2025, 10, 2, 9, 0, tzinfo=UTC)

PAPERS = [
    ("2509.00001", "Graphene transistors", "Devices built from carbon sheets switch at room temperature."),
    ("2509.00002", "Dark matter halos", "We simulate the formation of halos in a cold dark matter universe."),
    ("2509.00003", "Retrieval-augmented generation", "A survey of retrieval for question answering."),
    ("2509.00004", "Carbon nanotube electronics", "Band gaps of nanotubes under strain."),
    ("2509.00005", "Title only", ""),
]


def record(arxiv_id: str, title: str, abstract: str, *, version: int = 1, day: int = 22) -> PaperRecord:
    submitted = datetime(2025, 9, day, tzinfo=UTC)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        versions=[VersionRecord(number, submitted, "10kb") for number in range(1, version + 1)],
        submitted_at=submitted,
        updated_at=submitted,
        announced_on=date(2025, 9, day),
        datestamp=date(2025, 9, day),
    )


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder()


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """A data dir per test: vector index files do not leak between tests."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def papers(db: None) -> dict[str, Paper]:
    upsert_papers([record(*paper) for paper in PAPERS], now=NOW)
    return {paper.arxiv_id: paper for paper in Paper.objects.all()}


def stored(model_name: str) -> dict[str, tuple[str, datetime]]:
    """arXiv id -> (content hash, embedded_at) of every stored embedding of a model."""
    return {
        arxiv_id: (content_hash, embedded_at)
        for arxiv_id, content_hash, embedded_at in PaperEmbedding.objects.filter(model_name=model_name)
        .order_by("paper__arxiv_id")
        .values_list("paper__arxiv_id", "content_hash", "embedded_at")
    }


def test_embed_papers_stores_one_float16_unit_vector_per_paper(
    papers: dict[str, Paper], embedder: Embedder
) -> None:
    result = embed_papers(embedder=embedder, now=NOW, batch_size=2, on_progress=None)

    assert (result.pending, result.embedded) == (5, 5)
    assert result.paper_ids == sorted(paper.pk for paper in papers.values())
    rows = {row.paper.arxiv_id: row for row in PaperEmbedding.objects.select_related("paper")}
    assert sorted(rows) == [arxiv_id for arxiv_id, _, _ in PAPERS]
    for arxiv_id, title, abstract in PAPERS:
        row = rows[arxiv_id]
        assert (row.model_name, row.dim, row.embedded_at) == (embedder.name, 384, NOW)
        assert row.content_hash == papers[arxiv_id].content_hash
        assert len(bytes(row.vector)) == 384 * 2
        expected = embedder.embed([paper_text(title, abstract)])[0]
        assert np.abs(decode_vector(row.vector) - expected).max() < 2e-3  # float16 rounding


def test_second_run_embeds_nothing(papers: dict[str, Paper], embedder: Embedder) -> None:
    embed_papers(embedder=embedder, now=NOW, batch_size=256, on_progress=None)
    before = stored(embedder.name)

    again = embed_papers(embedder=embedder, now=LATER, batch_size=256, on_progress=None)

    assert (again.pending, again.embedded, again.paper_ids) == (0, 0, [])
    assert stored(embedder.name) == before


def test_changed_paper_is_embedded_again_and_only_it(papers: dict[str, Paper], embedder: Embedder) -> None:
    embed_papers(embedder=embedder, now=NOW, batch_size=256, on_progress=None)
    upsert_papers(
        [
            record(
                "2509.00002", "Dark matter halos revisited", "New simulations of halo formation.", version=2
            )
        ],
        now=LATER,
    )

    result = embed_papers(embedder=embedder, now=LATER, batch_size=256, on_progress=None)

    changed = Paper.objects.get(arxiv_id="2509.00002")
    assert (result.embedded, result.paper_ids) == (1, [changed.pk])
    rows = stored(embedder.name)
    assert rows["2509.00002"] == (changed.content_hash, LATER)
    assert {arxiv_id for arxiv_id, (_, at) in rows.items() if at == NOW} == {
        "2509.00001",
        "2509.00003",
        "2509.00004",
        "2509.00005",
    }
    vector = decode_vector(PaperEmbedding.objects.get(paper=changed).vector)
    expected = embedder.embed(
        [paper_text("Dark matter halos revisited", "New simulations of halo formation.")]
    )
    assert np.abs(vector - expected[0]).max() < 2e-3


def test_deleted_papers_are_skipped_and_left_out_of_loaded_vectors(
    papers: dict[str, Paper], embedder: Embedder
) -> None:
    embed_papers(embedder=embedder, now=NOW, batch_size=256, on_progress=None, limit=3)
    upsert_papers(
        [
            PaperRecord("2509.00001", deleted=True, datestamp=date(2025, 9, 30)),  # embedded, then deleted
            PaperRecord("2509.00005", deleted=True, datestamp=date(2025, 9, 30)),  # deleted before embedding
        ],
        now=LATER,
    )

    result = embed_papers(embedder=embedder, now=LATER, batch_size=256, on_progress=None)

    assert result.paper_ids == [papers["2509.00004"].pk]
    assert "2509.00005" not in stored(embedder.name)
    ids, vectors = load_vectors(embedder.name)
    assert ids.tolist() == [papers[a].pk for a in ("2509.00002", "2509.00003", "2509.00004")]
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)


def test_limit_and_chunks_resume_in_paper_id_order(papers: dict[str, Paper], embedder: Embedder) -> None:
    seen: list[tuple[int, int]] = []

    def on_progress(totals: EmbedResult) -> None:
        seen.append((totals.embedded, totals.pending))

    first = embed_papers(embedder=embedder, now=NOW, batch_size=2, on_progress=on_progress, limit=3)
    rest = embed_papers(embedder=embedder, now=LATER, batch_size=2, on_progress=None)

    by_id = sorted(paper.pk for paper in papers.values())
    assert seen == [(0, 3), (2, 3), (3, 3)]
    assert (first.paper_ids, rest.paper_ids) == (by_id[:3], by_id[3:])
    assert papers_needing_embedding(embedder.name).count() == 0


def test_load_vectors_of_a_model_without_embeddings_is_empty(db: None) -> None:
    ids, vectors = load_vectors("no-such-model")

    assert ids.dtype == np.int64 and ids.shape == (0,)
    assert vectors.shape == (0, 0)


def test_load_vectors_returns_what_was_stored_by_paper_id(
    papers: dict[str, Paper], embedder: Embedder
) -> None:
    embed_papers(embedder=embedder, now=NOW, batch_size=256, on_progress=None)
    texts = [paper_text(title, abstract) for _, title, abstract in PAPERS]

    ids, vectors = load_vectors(embedder.name)

    assert ids.tolist() == sorted(paper.pk for paper in papers.values())
    assert np.abs(vectors - embedder.embed(texts)).max() < 2e-3


def test_vector_index_is_built_then_updated_after_embedding(
    papers: dict[str, Paper], embedder: Embedder
) -> None:
    first = embed_papers(embedder=embedder, now=NOW, batch_size=256, on_progress=None, limit=4)
    assert update_vector_index(embedder.name, first.paper_ids) == (
        f"built the index of {embedder.name}: 4 vectors"
    )
    upsert_papers([PaperRecord("2509.00001", deleted=True, datestamp=date(2025, 9, 30))], now=LATER)
    second = embed_papers(embedder=embedder, now=LATER, batch_size=256, on_progress=None)

    message = update_vector_index(embedder.name, second.paper_ids)

    assert message == f"index of {embedder.name}: 1 added or replaced, 1 removed"
    index = VectorIndex.open(index_path(embedder.name))
    remaining = ("2509.00002", "2509.00003", "2509.00004", "2509.00005")
    assert sorted(index.ids().tolist()) == [papers[arxiv_id].pk for arxiv_id in remaining]
    query = embedder.embed(["graphene and carbon nanotube devices"])[0]
    assert index.search(query, 1)[0][0] == papers["2509.00004"].pk


def test_embed_command_prints_a_summary_with_papers_per_second(
    papers: dict[str, Paper], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("embed", "--limit", "2", "--batch-size", "1", "--no-index")
    call_command("embed", "--no-index")
    call_command("embed")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("embed all-MiniLM-L6-v2-int8: 2 papers embedded in ")
    assert lines[0].endswith(" papers/s; 3 left")
    assert lines[1].startswith("embed all-MiniLM-L6-v2-int8: 3 papers embedded in ")
    assert lines[2].startswith("embed all-MiniLM-L6-v2-int8: 0 papers embedded in ")
    assert lines[3] == "built the index of all-MiniLM-L6-v2-int8: 5 vectors"
    assert PaperEmbedding.objects.count() == 5


def test_embed_command_with_an_unknown_model_fails_with_one_line(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown embedder 'no-such-model'"):
        call_command("embed", "--model", "no-such-model")


@pytest.fixture
def immediate_huey() -> Any:
    """huey running tasks in the calling thread (its in-memory queue), as its own tests do."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = False


@pytest.mark.parametrize(
    ("task_path", "embed_after_ingest", "expected_embeddings"),
    [
        ("broadsheet.ingest.tasks.harvest_recent", True, 5),
        ("broadsheet.trending.tasks.import_hf_daily", True, 5),
        ("broadsheet.ingest.tasks.harvest_recent", False, 0),
        ("broadsheet.trending.tasks.compute_trending_scores", True, 0),
    ],
)
def test_completed_ingest_task_queues_the_embedding_job(
    papers: dict[str, Paper],
    immediate_huey: Any,
    settings: Any,
    task_path: str,
    embed_after_ingest: bool,
    expected_embeddings: int,
) -> None:
    from huey.signals import SIGNAL_COMPLETE

    import broadsheet.search.tasks  # noqa: F401  (registers the signal handler, as the worker's autodiscovery does)

    settings.BROADSHEET = {**settings.BROADSHEET, "EMBED_AFTER_INGEST": embed_after_ingest}
    module, name = task_path.rsplit(".", 1)
    finished = getattr(importlib.import_module(module), name).s()  # a task instance, not run

    # what the worker does when a task returns
    immediate_huey._emit(SIGNAL_COMPLETE, finished)

    assert PaperEmbedding.objects.count() == expected_embeddings
