"""The vector index: exact scan and inverted file agree, add/remove, files replaced whole, rebuilt."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from broadsheet.search.vector_index import (
    EXACT_SCAN_MAX_VECTORS,
    VectorIndex,
    VectorIndexError,
    get_vector_index,
    index_path,
    model_file_stem,
    rebuild_vector_index,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def unit_circle(degrees: float) -> list[float]:
    radians = np.deg2rad(degrees)
    return [float(np.cos(radians)), float(np.sin(radians))]


# Five papers on the unit circle: the cosine between two of them is the cosine of their angle.
CIRCLE_IDS = [10, 20, 30, 40, 50]
CIRCLE = [unit_circle(angle) for angle in (0, 30, 60, 90, 180)]


def ids_of(results: list[tuple[int, float]]) -> list[int]:
    return [paper_id for paper_id, _ in results]


def clustered_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    """Vectors around 16 topics on an 8-dimensional subspace, plus a little noise in every dimension.

    Text embeddings have a low intrinsic dimension; isotropic noise in every dimension would make the data
    much harder for any graph index than real embeddings are.
    """
    basis = np.random.default_rng(0).standard_normal((8, dim))
    topics = np.random.default_rng(1).standard_normal((16, 8))
    rng = np.random.default_rng(seed)
    latent = topics[rng.integers(0, 16, count)] + 0.5 * rng.standard_normal((count, 8))
    return (latent @ basis + 0.05 * rng.standard_normal((count, dim))).astype(np.float32)


@pytest.fixture(params=["exact", "ivf"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def threshold_for(mode: str) -> int:
    """exact_max_vectors that puts the small test data in the given mode."""
    return 1_000 if mode == "exact" else 1


def test_search_returns_ids_with_cosine_similarity_best_first(tmp_path: Path, mode: str) -> None:
    index = VectorIndex.build(CIRCLE_IDS, CIRCLE, tmp_path / "m.index", exact_max_vectors=threshold_for(mode))
    assert index.is_exact is (mode == "exact")
    results = index.search(np.array(unit_circle(10)), 3)
    assert ids_of(results) == [10, 20, 30]
    # 8-bit storage in the inverted file costs a little precision
    assert [score for _, score in results] == pytest.approx(
        [np.cos(np.deg2rad(10)), np.cos(np.deg2rad(20)), np.cos(np.deg2rad(50))], abs=0.02
    )


@pytest.mark.parametrize(
    ("query", "k", "expected"),
    [
        ([1.0, 0.0], 10, [10, 20, 30, 40, 50]),  # k above the size: everything, best first
        ([1.0, 0.0], 0, []),
        ([-1.0, 0.0], 1, [50]),
        ([0.0, 5.0], 2, [40, 30]),  # the query need not be normalised
        ([[0.0, 5.0]], 2, [40, 30]),  # (1, dim) is one query too
    ],
)
def test_exact_search_table(tmp_path: Path, query, k, expected) -> None:
    index = VectorIndex.build(CIRCLE_IDS, CIRCLE, tmp_path / "m.index")
    assert ids_of(index.search(np.array(query), k)) == expected


def test_exact_search_breaks_ties_by_paper_id(tmp_path: Path) -> None:
    index = VectorIndex.build([9, 3, 5], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], tmp_path / "m.index")
    assert ids_of(index.search(np.array([1.0, 0.0]), 2)) == [3, 9]


def test_inverted_file_agrees_with_exact_scan_on_random_clustered_data(tmp_path: Path) -> None:
    vectors = clustered_vectors(3_000, 48, seed=7)
    ids = np.arange(3_000) * 2 + 1
    exact = VectorIndex.build(ids, vectors, tmp_path / "exact.index", exact_max_vectors=10_000)
    ivf = VectorIndex.build(ids, vectors, tmp_path / "ivf.index", exact_max_vectors=100)
    assert exact.is_exact and not ivf.is_exact
    queries = clustered_vectors(100, 48, seed=8)
    overlaps = [
        len(set(ids_of(exact.search(query, 10))) & set(ids_of(ivf.search(query, 10)))) / 10
        for query in queries
    ]
    assert np.mean(overlaps) >= 0.95


def test_add_inserts_and_replaces_and_remove_deletes(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "m.index"
    # the inverted file learns each dimension's 8-bit range at the build: build over the whole circle
    index = VectorIndex.build(CIRCLE_IDS, CIRCLE, path, exact_max_vectors=threshold_for(mode))
    assert index.remove([40, 50]) == 2
    assert ids_of(index.search(np.array([0.0, 1.0]), 5)) == [30, 20, 10]
    index.add([40, 50], CIRCLE[3:])
    assert len(index) == 5
    assert ids_of(index.search(np.array([0.0, 1.0]), 1)) == [40]
    # paper 10 changed: its new vector replaces the old one, the count stays
    index.add([10], [unit_circle(85)])
    assert len(index) == 5
    assert ids_of(index.search(np.array([0.0, 1.0]), 2)) == [40, 10]
    assert index.remove([40, 999]) == 1
    assert len(index) == 4
    assert ids_of(index.search(np.array([0.0, 1.0]), 2)) == [10, 30]
    assert sorted(index.ids().tolist()) == [10, 20, 30, 50]
    assert index.remove([999]) == 0


def test_add_keeps_the_last_vector_given_for_a_repeated_id(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "m.index")
    index.add([1, 1], [[1.0, 0.0], [0.0, 1.0]])
    assert len(index) == 1
    assert index.search(np.array([0.0, 1.0]), 1) == [(1, pytest.approx(1.0, abs=1e-3))]


def test_a_missing_file_is_an_empty_index_that_add_creates(tmp_path: Path) -> None:
    path = tmp_path / "vectors" / "m.index"
    index = VectorIndex.open(path)
    assert len(index) == 0 and index.signature is None
    assert index.search(np.array([1.0, 0.0]), 5) == []
    index.add([7], [[1.0, 0.0]])
    assert path.exists()
    assert VectorIndex.open(path).search(np.array([1.0, 0.0]), 5) == [(7, pytest.approx(1.0, abs=1e-3))]


def test_index_switches_between_scan_and_inverted_file_as_it_crosses_the_threshold(tmp_path: Path) -> None:
    path = tmp_path / "m.index"
    vectors = clustered_vectors(40, 8, seed=1)
    index = VectorIndex.build(np.arange(30), vectors[:30], path, exact_max_vectors=32)
    assert index.is_exact
    index.add(np.arange(30, 40), vectors[30:])
    assert not index.is_exact and len(index) == 40
    assert ids_of(index.search(vectors[35], 1)) == [35]
    index.remove(np.arange(20))
    assert index.is_exact and len(index) == 20
    assert ids_of(index.search(vectors[35], 1)) == [35]
    assert sorted(index.ids().tolist()) == list(range(20, 40))


def test_reopened_file_gives_the_same_answers(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "m.index"
    vectors = clustered_vectors(200, 16, seed=3)
    built = VectorIndex.build(np.arange(200) + 1000, vectors, path, exact_max_vectors=threshold_for(mode))
    reopened = VectorIndex.open(path)
    assert (len(reopened), reopened.dim, reopened.is_exact) == (200, 16, mode == "exact")
    for query in vectors[:5]:
        assert reopened.search(query, 5) == built.search(query, 5)


def test_an_open_index_keeps_answering_from_its_file_after_another_writer_replaced_it(tmp_path: Path) -> None:
    path = tmp_path / "m.index"
    old = VectorIndex.build(CIRCLE_IDS, CIRCLE, path, exact_max_vectors=1)
    VectorIndex.build([1, 2], [[1.0, 0.0], [0.0, 1.0]], path, exact_max_vectors=1)
    # the old mapping still points at the replaced file, whole
    assert ids_of(old.search(np.array([1.0, 0.0]), 2)) == [10, 20]
    assert ids_of(VectorIndex.open(path).search(np.array([1.0, 0.0]), 2)) == [1, 2]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_get_vector_index_reopens_when_another_process_rewrote_the_file(settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    model = "test/model one"
    VectorIndex.build([1, 2], [[1.0, 0.0], [0.0, 1.0]], index_path(model))
    first = get_vector_index(model)
    assert get_vector_index(model) is first
    script = textwrap.dedent(
        f"""
        from broadsheet.search.vector_index import VectorIndex
        VectorIndex.open({str(index_path(model))!r}).add([3], [[-1.0, 0.0]])
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    second = get_vector_index(model)
    assert second is not first
    assert ids_of(second.search(np.array([-1.0, 0.0]), 1)) == [3]


def test_writes_from_two_index_objects_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "m.index"
    one = VectorIndex.open(path)
    two = VectorIndex.open(path)
    one.add([1], [[1.0, 0.0]])
    two.add([2], [[0.0, 1.0]])  # `two` never saw paper 1: the write applies to the newest file
    assert sorted(VectorIndex.open(path).ids().tolist()) == [1, 2]


@pytest.mark.parametrize(
    ("ids", "vectors", "error", "message"),
    [
        ([1, 2], [[1.0, 0.0]], ValueError, "2 ids for 1 vectors"),
        ([1, 1], [[1.0, 0.0], [0.0, 1.0]], ValueError, "duplicate paper ids"),
        ([-1], [[1.0, 0.0]], ValueError, "non-negative"),
    ],
)
def test_build_refuses_inconsistent_input(tmp_path: Path, ids, vectors, error, message) -> None:
    with pytest.raises(error, match=message):
        VectorIndex.build(ids, vectors, tmp_path / "m.index")


def test_vectors_of_another_dimension_are_refused(tmp_path: Path, mode: str) -> None:
    index = VectorIndex.build(CIRCLE_IDS, CIRCLE, tmp_path / "m.index", exact_max_vectors=threshold_for(mode))
    with pytest.raises(VectorIndexError, match="dimension 3, the index has 2"):
        index.search(np.array([1.0, 0.0, 0.0]), 1)
    with pytest.raises(VectorIndexError, match="dimension 3, the index has 2"):
        index.add([99], [[1.0, 0.0, 0.0]])


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.index"
    path.write_bytes(b"not an index at all" * 10)
    with pytest.raises(VectorIndexError, match="not a Broadsheet vector index"):
        VectorIndex.open(path)


@pytest.mark.parametrize(
    ("model_name", "stem"),
    [
        ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
        ("st:BAAI/bge-small-en-v1.5", "st_BAAI_bge-small-en-v1.5-"),
        ("../../etc/passwd", "etc_passwd-"),
    ],
)
def test_model_names_become_safe_distinct_file_names(model_name: str, stem: str) -> None:
    assert model_file_stem(model_name).startswith(stem)
    assert "/" not in model_file_stem(model_name)


def test_default_threshold_keeps_small_collections_exact() -> None:
    assert EXACT_SCAN_MAX_VECTORS == 20_000


# -- rebuilt from the database ------------------------------------------------------------------------------


@pytest.fixture
def embedded_papers(db):
    """Four papers, three with vectors of model `m1`, one of model `m2`; returns {arxiv_id: paper id}."""
    from broadsheet.ingest.records import PaperRecord
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.papers.models import Paper
    from broadsheet.search.models import PaperEmbedding

    records = [
        PaperRecord(arxiv_id=f"2601.0000{n}", title=f"Paper {n}", abstract="Text.", categories=["cs.IR"])
        for n in range(1, 5)
    ]
    upsert_papers(records, now=NOW)
    papers = {paper.arxiv_id: paper for paper in Paper.objects.all()}
    rows = [
        ("2601.00001", "m1", unit_circle(0)),
        ("2601.00002", "m1", unit_circle(45)),
        ("2601.00003", "m1", unit_circle(90)),
        ("2601.00004", "m2", unit_circle(0)),
    ]
    for arxiv_id, model, vector in rows:
        PaperEmbedding.objects.create(
            paper=papers[arxiv_id],
            model_name=model,
            content_hash=papers[arxiv_id].content_hash,
            dim=2,
            vector=np.asarray(vector, dtype="<f2").tobytes(),
            embedded_at=NOW,
        )
    return {arxiv_id: paper.pk for arxiv_id, paper in papers.items()}


def test_rebuild_indexes_exactly_the_stored_embeddings_of_the_model(settings, tmp_path, embedded_papers):
    settings.DATA_DIR = tmp_path
    index = rebuild_vector_index("m1")
    assert index.path == tmp_path / "vectors" / "m1.index"
    assert len(index) == 3
    assert ids_of(index.search(np.array(unit_circle(50)), 3)) == [
        embedded_papers["2601.00002"],
        embedded_papers["2601.00003"],
        embedded_papers["2601.00001"],
    ]


def test_index_command_rebuilds_every_model_and_reports_status(settings, tmp_path, embedded_papers, capsys):
    settings.DATA_DIR = tmp_path
    call_command("index", "status")
    words, *indexes = capsys.readouterr().out.splitlines()
    assert words == (
        "word counts: not used under 50,000 papers (each query counts its words)"
        if connection.vendor == "sqlite"
        else "word counts: PostgreSQL counts words with its own index; nothing to keep"
    )
    assert indexes == [
        "m1: no index file (3 stored embeddings); run `broadsheet index rebuild`",
        "m2: no index file (1 stored embeddings); run `broadsheet index rebuild`",
    ]
    call_command("index", "rebuild")
    out = capsys.readouterr().out
    assert out.startswith("keyword index: ")  # tended with the vector indexes (see test_terms.py)
    assert "m1: 3 vectors (exact scan)" in out and "m2: 1 vectors (exact scan)" in out
    call_command("index", "status", "--model", "m2")
    status = capsys.readouterr().out.splitlines()[1]
    assert status.startswith("m2: 1 vectors of dimension 2 (exact scan)")
    assert "in step with 1 stored embeddings" in status
    assert ids_of(get_vector_index("m2").search(np.array([1.0, 0.0]), 5)) == [embedded_papers["2601.00004"]]
