"""Fusion of ranked result lists (keyword, vector) into one ranking; `fuse_rankings` is the search's.

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


def normalized_score_fusion(
    ranked_lists: Sequence[Sequence[tuple[int, float]]],
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Papers of several rankings by the weighted sum of their min-max normalised scores; best first.

    Each list's scores are mapped to [0, 1] (its best 1, its worst 0; a list whose scores are all equal
    gives 1 to each); a paper missing from a list gets 0 from it (CombSUM of Fox and Shaw, 1994). Unlike
    RRF, the size of the gap between two results counts, so one retriever that is sure of a paper can
    outvote the other's weak preference. Ties are broken by the smaller id.
    """
    if weights is None:
        weights = [1.0] * len(ranked_lists)
    if len(weights) != len(ranked_lists):
        raise ValueError(f"{len(weights)} weights for {len(ranked_lists)} lists")
    fused: dict[int, float] = {}
    for ranking, weight in zip(ranked_lists, weights, strict=True):
        best: dict[int, float] = {}
        for paper_id, score in ranking:
            if paper_id not in best or score > best[paper_id]:
                best[paper_id] = score
        if not best:
            continue
        low, high = min(best.values()), max(best.values())
        for paper_id, score in best.items():
            share = (score - low) / (high - low) if high > low else 1.0
            fused[paper_id] = fused.get(paper_id, 0.0) + weight * share
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def fuse_rankings(ranked_lists: Sequence[Sequence[tuple[int, float]]]) -> list[tuple[int, float]]:
    """Broadsheet's hybrid ranking: keyword and vector results by normalised score fusion, equal weights.

    The one fusion the search uses, with its parameters fixed here for every collection and query. Plain
    RRF (k = 60) fell below vector-only search on CSFCube, where the vector ranking is clearly the better
    one and RRF's rank-only votes let the weaker keyword ranking pull it down; equal-weight score fusion
    was at or above the better single retriever on every collection (docs/benchmarks.md).
    """
    return normalized_score_fusion(ranked_lists)
