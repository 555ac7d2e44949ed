"""Fusion of ranked result lists (keyword, vector) into one ranking.

Rule: the parameters are constants chosen once and held fixed for every collection and query (no tuning per
data set); bench/eval_search.py measures them on every test collection (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

# The constant of Cormack, Clarke and Buettcher (SIGIR 2009), used unchanged by most hybrid search engines.
RRF_K = 60


def reciprocal_rank_fusion(
    ranked_lists: Sequence[Sequence[tuple[int, float]]],
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Papers of several rankings by sum of weight / (k + rank), rank counted from 1; best first.

    Each list holds (paper id, score) best first; only the order is used. An id repeated inside one list
    counts at its best rank. Ties are broken by the smaller id, so the result does not depend on the
    order of the lists.
    """
    if weights is None:
        weights = [1.0] * len(ranked_lists)
    if len(weights) != len(ranked_lists):
        raise ValueError(f"{len(weights)} weights for {len(ranked_lists)} lists")
    fused: dict[int, float] = {}
    for ranking, weight in zip(ranked_lists, weights, strict=True):
        seen: set[int] = set()
        for rank, (paper_id, _score) in enumerate(ranking, start=1):
            if paper_id in seen:
                continue
            seen.add(paper_id)
            fused[paper_id] = fused.get(paper_id, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
