"""Stored paper embeddings: embed the papers whose content changed, read every vector of a model back.

Rule: a paper needs embedding for a model when it is not deleted and has no PaperEmbedding for that model
with its current content hash. Work goes in chunks ordered by paper id, each written in one transaction,
so a killed run resumes where it stopped and a second run finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from broadsheet.papers.models import Paper
from broadsheet.search.embedders import Embedder, paper_text
from broadsheet.search.models import PaperEmbedding

EMBED_BATCH_SIZE = 256
# past this many changed papers (or more than the index holds), rebuilding the index beats adding to it
REBUILD_INDEX_ABOVE_PAPERS = 100_000
VECTOR_DTYPE = np.dtype("<f2")  # float16 little-endian, as PaperEmbedding.vector documents


@dataclass
class EmbedResult:
    model_name: str
    needing: int = 0  # papers that needed embedding when the run started
    pending: int = 0  # of those, the ones this run set out to embed (at most `limit`)
    embedded: int = 0  # papers embedded and stored by this run
    paper_ids: list[int] = field(default_factory=list, repr=False)  # the papers embedded, in id order


def papers_needing_embedding(model_name: str) -> QuerySet[Paper]:
    """Papers that are not deleted and have no embedding of `model_name` for their current content."""
    current = PaperEmbedding.objects.filter(
        paper=OuterRef("pk"), model_name=model_name, content_hash=OuterRef("content_hash")
    )
    return Paper.objects.filter(is_deleted=False).exclude(Exists(current))


def encode_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).astype(VECTOR_DTYPE).tobytes()


def decode_vector(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(data, dtype=VECTOR_DTYPE).astype(np.float32)


def embed_papers(
    *,
    embedder: Embedder,
    now: datetime,
    batch_size: int = EMBED_BATCH_SIZE,
    on_progress: Callable[[EmbedResult], None] | None = None,
    limit: int | None = None,
) -> EmbedResult:
    """Embed title + abstract of every paper that needs it (at most `limit`) and store the vectors.

    Each chunk of `batch_size` papers is embedded, then written in one transaction (insert, or replace
    the stale row of that paper and model). `on_progress` is called after each chunk with the totals.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = EmbedResult(model_name=embedder.name)
    pending = papers_needing_embedding(embedder.name)
    result.needing = pending.count()
    result.pending = result.needing if limit is None else min(limit, result.needing)
    if on_progress is not None:
        on_progress(result)
    last_id = 0
    while result.embedded < result.pending:
        size = min(batch_size, result.pending - result.embedded)
        chunk = list(
            pending.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "title", "abstract", "content_hash")[:size]
        )
        if not chunk:
            break
        last_id = chunk[-1][0]
        vectors = embedder.embed([paper_text(title, abstract) for _, title, abstract, _ in chunk])
        if vectors.shape != (len(chunk), embedder.dim):
            raise ValueError(
                f"embedder {embedder.name} returned shape {vectors.shape} for {len(chunk)} texts "
                f"of dimension {embedder.dim}"
            )
        rows = [
            PaperEmbedding(
                paper_id=paper_id,
                model_name=embedder.name,
                content_hash=content_hash,
                dim=embedder.dim,
                vector=encode_vector(vector),
                embedded_at=now,
            )
            for (paper_id, _, _, content_hash), vector in zip(chunk, vectors, strict=True)
        ]
        with transaction.atomic():
            PaperEmbedding.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["paper", "model_name"],
                update_fields=["content_hash", "dim", "vector", "embedded_at"],
            )
        result.embedded += len(chunk)
        result.paper_ids.extend(paper_id for paper_id, *_ in chunk)
        if on_progress is not None:
            on_progress(result)
    return result


def load_vectors(model_name: str, paper_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids as int64, float32 vectors) of every stored embedding of a model, by paper id.

    Deleted papers are left out. With `paper_ids`, only those papers (the ones that exist and have one).
    """
    rows = PaperEmbedding.objects.filter(model_name=model_name, paper__is_deleted=False)
    if paper_ids is not None:
        rows = rows.filter(paper_id__in=paper_ids)
    count = rows.count()
    dims = list(rows.values_list("dim", flat=True).distinct()[:2])
    if count == 0 or not dims:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    if len(dims) > 1:
        raise ValueError(f"stored embeddings of {model_name} have different dimensions: {dims}")
    dim = dims[0]
    ids = np.zeros(count, dtype=np.int64)
    vectors = np.zeros((count, dim), dtype=np.float32)
    filled = 0
    for paper_id, vector in (
        rows.order_by("paper_id").values_list("paper_id", "vector").iterator(chunk_size=5000)
    ):
        if filled == count:  # rows added since the count are left for the next load
            break
        ids[filled] = paper_id
        vectors[filled] = decode_vector(vector)
        filled += 1
    return ids[:filled], vectors[:filled]


def update_vector_index(model_name: str, paper_ids: list[int]) -> str:
    """Bring the model's vector index up to date after embedding `paper_ids`; returns what was done.

    The first time (no index file yet), or after a large run, the index is built from every stored
    embedding; otherwise the embedded papers are added (or replaced) and deleted papers removed.
    """
    from broadsheet.search.vector_index import VectorIndex, index_path, rebuild_vector_index

    index = VectorIndex.open(index_path(model_name))
    if index.signature is None or len(paper_ids) > max(REBUILD_INDEX_ABOVE_PAPERS, len(index)):
        built = rebuild_vector_index(model_name)
        return f"built the index of {model_name}: {len(built):,} vectors"
    # small IN lists (SQLite builds may allow as few as 999 parameters), one write of the index file
    loaded = [
        load_vectors(model_name, paper_ids[start : start + 900]) for start in range(0, len(paper_ids), 900)
    ]
    loaded = [(ids, vectors) for ids, vectors in loaded if len(ids)]
    added = 0
    if loaded:
        ids = np.concatenate([ids for ids, _ in loaded])
        index.add(ids, np.concatenate([vectors for _, vectors in loaded]))
        added = len(ids)
    deleted = list(
        Paper.objects.filter(is_deleted=True, embeddings__model_name=model_name).values_list("pk", flat=True)
    )
    removed = index.remove(deleted) if deleted else 0
    return f"index of {model_name}: {added:,} added or replaced, {removed:,} removed"
