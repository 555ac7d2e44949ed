"""Reciprocal rank fusion: literal scores and orders."""

from __future__ import annotations

import pytest

from broadsheet.search.fusion import RRF_K, reciprocal_rank_fusion


def test_rrf_constant_is_the_published_one() -> None:
    assert RRF_K == 60


@pytest.mark.parametrize(
    ("lists", "kwargs", "expected"),
    [
        # a paper high in both lists beats one that tops a single list
        (
            [[(1, 9.0), (2, 8.0), (3, 7.0)], [(3, 0.9), (1, 0.8)]],
            {},
            [(1, 1 / 61 + 1 / 62), (3, 1 / 63 + 1 / 61), (2, 1 / 62)],
        ),
        # only ranks count, not the scores' scale
        (
            [[(7, 1000.0), (8, 0.001)], [(8, 0.5), (7, 0.4)]],
            {},
            [(7, 1 / 61 + 1 / 62), (8, 1 / 62 + 1 / 61)],
        ),
        # k changes how much the top ranks dominate
        ([[(1, 1.0), (2, 1.0)], [(2, 1.0)]], {"k": 0}, [(2, 1 / 2 + 1 / 1), (1, 1 / 1)]),
        # weights scale each list's contribution
        (
            [[(1, 1.0)], [(2, 1.0)]],
            {"weights": [1.0, 2.0]},
            [(2, 2 / 61), (1, 1 / 61)],
        ),
        # an id repeated inside one list counts once, at its best rank
        ([[(5, 3.0), (5, 2.0), (6, 1.0)]], {}, [(5, 1 / 61), (6, 1 / 63)]),
        # nothing in, nothing out
        ([[], []], {}, []),
        ([], {}, []),
    ],
)
def test_rrf_scores_are_sums_of_weight_over_k_plus_rank(lists, kwargs, expected) -> None:
    fused = reciprocal_rank_fusion(lists, **kwargs)
    assert [paper_id for paper_id, _ in fused] == [paper_id for paper_id, _ in expected]
    assert [score for _, score in fused] == pytest.approx([score for _, score in expected])


def test_rrf_ties_are_broken_by_smaller_id_whatever_the_list_order() -> None:
    first = [[(10, 1.0)], [(4, 1.0)]]
    assert reciprocal_rank_fusion(first) == reciprocal_rank_fusion(first[::-1])
    assert [paper_id for paper_id, _ in reciprocal_rank_fusion(first)] == [4, 10]


def test_rrf_refuses_a_weight_count_that_does_not_match_the_lists() -> None:
    with pytest.raises(ValueError, match="2 weights for 1 lists"):
        reciprocal_rank_fusion([[(1, 1.0)]], weights=[1.0, 1.0])
