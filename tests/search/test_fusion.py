"""Reciprocal rank fusion: literal scores and orders."""

from __future__ import annotations

import pytest

from broadsheet.search.fusion import RRF_K, fuse_rankings, normalized_score_fusion, reciprocal_rank_fusion


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


@pytest.mark.parametrize(
    ("lists", "kwargs", "expected"),
    [
        # each list mapped to [0, 1]: keyword 10 -> 1, 6 -> 0.5, 2 -> 0; vector 0.9 -> 1, 0.5 -> 0
        (
            [[(1, 10.0), (2, 6.0), (3, 2.0)], [(3, 0.9), (2, 0.5)]],
            {},
            [(2, 0.5), (3, 1.0), (1, 1.0)],
        ),
        # a retriever that is sure of one paper outvotes the other's small preference (RRF would tie them)
        (
            [[(1, 0.50), (2, 0.49), (3, 0.10)], [(2, 0.9), (1, 0.1), (3, 0.0)]],
            {},
            [(2, 0.975 + 1.0), (1, 1.0 + 1 / 9), (3, 0.0)],
        ),
        # equal scores in a list: each gets 1 from it
        ([[(4, 2.0), (5, 2.0)], [(5, 0.3)]], {}, [(5, 2.0), (4, 1.0)]),
        # weights scale each list's share
        ([[(1, 1.0), (2, 0.0)], [(2, 1.0), (1, 0.0)]], {"weights": [1.0, 3.0]}, [(2, 3.0), (1, 1.0)]),
        # an id repeated inside one list counts once, with its best score
        ([[(5, 3.0), (5, 1.0), (6, 1.0)]], {}, [(5, 1.0), (6, 0.0)]),
        ([[], []], {}, []),
    ],
)
def test_normalized_score_fusion_sums_min_max_shares(lists, kwargs, expected) -> None:
    fused = normalized_score_fusion(lists, **kwargs)
    assert sorted(fused, key=lambda item: (-item[1], item[0])) == fused
    assert sorted(fused) == sorted((paper_id, pytest.approx(score)) for paper_id, score in expected)


def test_fuse_rankings_is_equal_weight_score_fusion() -> None:
    keyword = [(1, 12.0), (2, 8.0), (3, 1.0)]
    vector = [(3, 0.8), (4, 0.7), (1, 0.2)]
    assert fuse_rankings([keyword, vector]) == normalized_score_fusion([keyword, vector])
    # keyword 12, 8, 1 -> 1, 7/11, 0; vector 0.8, 0.7, 0.2 -> 1, 5/6, 0; papers 1 and 3 tie at 1
    assert fuse_rankings([keyword, vector]) == [
        (1, pytest.approx(1.0)),
        (3, pytest.approx(1.0)),
        (4, pytest.approx(5 / 6)),
        (2, pytest.approx(7 / 11)),
    ]
