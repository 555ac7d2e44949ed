"""search_papers and similar_papers: fusion, filters, sorting, paging, deleted papers, highlighting, and
keyword results when semantic search cannot answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.search.query import QueryError, SearchFilters, parse_query
from broadsheet.search.service import (
    _abstract_snippet,
    highlight,
    search_papers,
    similar_papers,
    snippet,
)

from .corpus import CORPUS, INGESTED_AT, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> dict[str, int]:
    upsert_papers(CORPUS, now=INGESTED_AT)
    return dict(Paper.objects.values_list("arxiv_id", "id"))


def ids_of(results) -> list[str]:
    return [hit.card.arxiv_id for hit in results.hits]


@pytest.fixture
def vectors(corpus: dict[str, int]) -> Iterator[dict[str, int]]:
    """The corpus embedded by the configured embedder, in its index and as PaperEmbedding rows."""
    from django.utils import timezone

    embedders = pytest.importorskip("broadsheet.search.embedders", reason="no embedder module yet")
    vector_index = pytest.importorskip("broadsheet.search.vector_index", reason="no vector index module yet")
    from broadsheet.search.models import PaperEmbedding
    from broadsheet.search.service import embedder_name

    name = embedder_name()
    try:
        embedder = embedders.get_embedder(name)
    except embedders.EmbedderUnavailable as exc:
        pytest.skip(f"the embedding model is not installed here: {exc}")
    papers = list(Paper.objects.order_by("id").values_list("id", "title", "abstract"))
    matrix = embedder.embed([embedders.paper_text(title, abstract) for _, title, abstract in papers])
    ids = np.array([paper_id for paper_id, _, _ in papers], dtype=np.int64)
    path = vector_index.index_path(name)
    vector_index.VectorIndex.build(ids, matrix, path)
    PaperEmbedding.objects.bulk_create([
        PaperEmbedding(
            paper_id=int(paper_id), model_name=name, content_hash="", dim=matrix.shape[1],
            vector=matrix[row].astype("<f2").tobytes(), embedded_at=timezone.now(),
        )
        for row, paper_id in enumerate(ids)
    ])
    yield corpus
    path.unlink(missing_ok=True)


# --- keyword mode ---------------------------------------------------------------------------------------


def test_keyword_mode_pages_cards_in_keyword_order(corpus: dict[str, int]) -> None:
    results = search_papers("graphene", mode="keyword")
    assert ids_of(results) == ["2501.00001", "2501.00002"]
    assert [hit.sources for hit in results.hits] == [("keyword",), ("keyword",)]
    assert results.keyword_plan == "rare-words"
    assert not results.has_more
    first = results.hits[0]
    assert first.card.title == "Graphene transistors"
    assert first.card.authors[0].name == "Ada Lovelace"


def test_results_mark_matches_in_title_and_snippet(corpus: dict[str, int]) -> None:
    hit = search_papers("graphene ribbon", mode="keyword").hits[0]
    assert hit.card.arxiv_id == "2501.00002"
    assert hit.title_html == "Carbon devices"
    assert hit.snippet_html == (
        "We study <mark>graphene</mark> <mark>ribbons</mark> and their electronic structure under strain."
    )


def test_paging_with_limit_and_offset(corpus: dict[str, int]) -> None:
    first = search_papers("graphene", mode="keyword", limit=1)
    second = search_papers("graphene", mode="keyword", limit=1, offset=1)
    assert (ids_of(first), first.has_more) == (["2501.00001"], True)
    assert (ids_of(second), second.has_more) == (["2501.00002"], False)
    assert ids_of(search_papers("graphene", mode="keyword", limit=1, offset=2)) == []


def test_sort_newest_orders_the_matches_by_announcement_day(corpus: dict[str, int]) -> None:
    assert ids_of(search_papers("graphene", mode="keyword", sort="newest")) == ["2501.00002", "2501.00001"]
    assert ids_of(search_papers("network", mode="keyword", sort="newest")) == ["2502.00004", "2502.00003"]


def test_filters_given_apart_add_to_the_query(corpus: dict[str, int]) -> None:
    results = search_papers("graphene", mode="keyword", filters=SearchFilters(authors=("Lovelace",)))
    assert ids_of(results) == ["2501.00001"]
    results = search_papers(
        "graphene from:2025-02", mode="keyword", filters=SearchFilters(categories=("cs",))
    )
    assert ids_of(results) == []


def test_filters_alone_list_matching_papers_newest_first(corpus: dict[str, int]) -> None:
    assert ids_of(search_papers("author:hopper")) == ["2501.00002", "2501.00001"]
    assert ids_of(search_papers("cat:cond-mat -graphene")) == []
    assert ids_of(search_papers("cat:q-bio")) == ["2502.00004"]
    assert ids_of(search_papers("from:2025-05 to:2025-07")) == ["2502.00004", "2502.00003"]
    assert ids_of(search_papers("author:nobody")) == []


def test_an_empty_query_finds_nothing(corpus: dict[str, int]) -> None:
    results = search_papers("   ")
    assert results.hits == [] and results.is_empty_query


def test_deleted_papers_are_never_found(corpus: dict[str, int]) -> None:
    upsert_papers([PaperRecord("2501.00001", deleted=True, datestamp=date(2025, 12, 1))], now=INGESTED_AT)
    assert ids_of(search_papers("graphene", mode="keyword")) == ["2501.00002"]
    assert ids_of(search_papers("author:lovelace")) == []


def test_a_deleted_paper_still_in_the_vector_index_is_never_shown(vectors: dict[str, int]) -> None:
    # deleted after the index was built, before the embed job removed it from the index
    upsert_papers([PaperRecord("2501.00001", deleted=True, datestamp=date(2025, 12, 1))], now=INGESTED_AT)
    # unfiltered, and through each check of the vector side: filters, an exclusion, a date range
    for text in (
        "graphene transistors", "graphene cat:cond-mat", "graphene -zzzunrelated", "graphene from:2024-01",
    ):
        for mode in ("vector", "hybrid"):
            found = ids_of(search_papers(text, mode=mode))
            assert "2501.00001" not in found and "2501.00002" in found, (text, mode)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 10**9}, "limit must be between 1 and 100"),
        ({"offset": -1}, "offset must be 0 or more"),
        ({"offset": 995, "limit": 10}, "results are paged up to the first 1000"),
        ({"mode": "psychic"}, "mode must be one of: hybrid, keyword, vector"),
        ({"sort": "random"}, "sort must be one of: relevance, newest"),
    ],
)
def test_unusable_parameters_are_query_errors(corpus: dict[str, int], kwargs: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        search_papers("graphene", **kwargs)


def test_hybrid_without_vectors_answers_with_keyword_results_and_says_so(
    corpus: dict[str, int], tmp_path, settings
) -> None:
    settings.DATA_DIR = tmp_path  # no vector file there
    results = search_papers("graphene")
    assert ids_of(results) == ["2501.00001", "2501.00002"]
    assert any("Semantic search" in note for note in results.notes)


# --- escaping ---------------------------------------------------------------------------------------------


def test_highlight_escapes_before_marking(hostile_string: str) -> None:
    marked = str(highlight(hostile_string, ["script", "img", "alert"]))
    without_marks = marked.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks.replace("&gt;", "")


def test_snippet_cuts_around_the_first_match_at_word_boundaries() -> None:
    text = " ".join(f"word{number}" for number in range(100)) + " graphene " + "tail " * 50
    cut = str(snippet(text, ["graphene"], chars=80))
    assert cut.startswith("…word") and cut.endswith("…")
    assert "<mark>graphene</mark>" in cut
    assert len(cut.replace("<mark>", "").replace("</mark>", "")) <= 82


def test_snippets_of_long_latex_abstracts_convert_whole_formulas_near_the_match() -> None:
    # the window around the match starts inside "$\\gamma + \\delta$": it is widened to the whole formula
    abstract = "filler " * 60 + "with $\\gamma + \\delta$ " + "x " * 100 + "graphene sheets " + "tail " * 100
    cut = str(_abstract_snippet(abstract, ["graphene"]))
    assert "<mark>graphene</mark>" in cut
    assert "$" not in cut and "\\" not in cut
    assert cut.startswith("…") and cut.endswith("…")


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("Graphene-based transistors", "<mark>Graphene</mark>-based <mark>transistors</mark>"),
        ("Schrödinger graphène", "Schrödinger <mark>graphène</mark>"),  # accents aside
        ("the_graphene", "the_<mark>graphene</mark>"),  # an underscore splits words, as in the index
        ("agraphene", "agraphene"),  # a match starts a word
    ],
)
def test_highlight_marks_words_as_the_index_splits_them(text: str, marked: str) -> None:
    assert str(highlight(text, ["graphene", "transistor"])) == marked


def test_hostile_titles_come_back_escaped(corpus: dict[str, int]) -> None:
    upsert_papers(
        [record("2506.00001", '<script>alert("graphene")</script>', "<img src=x onerror=alert(1)> graphene")],
        now=INGESTED_AT,
    )
    hits = search_papers("graphene", mode="keyword").hits
    hit = next(hit for hit in hits if hit.card.arxiv_id == "2506.00001")
    assert hit.title_html == "&lt;script&gt;alert(&quot;<mark>graphene</mark>&quot;)&lt;/script&gt;"
    assert hit.snippet_html == "&lt;img src=x onerror=alert(1)&gt; <mark>graphene</mark>"


def test_hostile_queries_never_raise_anything_but_query_errors(
    corpus: dict[str, int], hostile_string: str
) -> None:
    for mode in ("keyword", "hybrid"):
        try:
            search_papers(hostile_string, mode=mode)
        except QueryError:
            pass


# --- with vectors -------------------------------------------------------------------------------------


def test_vector_mode_finds_papers_by_meaning(vectors: dict[str, int]) -> None:
    results = search_papers("two-dimensional carbon electronics", mode="vector")
    assert ids_of(results)[:2] == ["2501.00001", "2501.00002"] or ids_of(results)[:2] == [
        "2501.00002", "2501.00001",
    ]
    assert all(hit.sources == ("vector",) for hit in results.hits)


def test_hybrid_fuses_keyword_and_vector_results(vectors: dict[str, int]) -> None:
    results = search_papers("graphene", mode="hybrid")
    assert ids_of(results)[:2] == ["2501.00001", "2501.00002"]
    assert results.hits[0].sources == ("keyword", "vector")
    assert {hit.card.arxiv_id for hit in results.hits} == set(vectors)  # vectors reach every paper


def test_hybrid_runs_the_vector_side_beside_without_changing_this_threads_faiss(
    vectors: dict[str, int],
) -> None:
    """The vector side of a hybrid search runs in a worker thread that sets faiss to one thread; OpenMP's
    thread count is per thread, so the calling thread (which builds indexes) keeps its own."""
    import threading

    import faiss

    from broadsheet.search import service

    before = faiss.omp_get_max_threads()
    seen: list[tuple[str, int]] = []
    neighbours = service._vector_neighbours

    def spied(*args, **kwargs):
        seen.append((threading.current_thread().name, faiss.omp_get_max_threads()))
        return neighbours(*args, **kwargs)

    service._vector_neighbours = spied
    try:
        results = search_papers("graphene", mode="hybrid")
    finally:
        service._vector_neighbours = neighbours
    assert ids_of(results)[:2] == ["2501.00001", "2501.00002"]
    [(thread, threads)] = seen
    assert thread.startswith("broadsheet-vector") and threads == 1
    assert faiss.omp_get_max_threads() == before


def test_vector_results_obey_phrases_exclusions_and_filters(vectors: dict[str, int]) -> None:
    assert ids_of(search_papers('"neural network"', mode="vector")) == ["2502.00003"]
    assert "2501.00001" not in ids_of(search_papers("carbon -transistors", mode="vector"))
    assert ids_of(search_papers("carbon author:hopper", mode="vector", sort="newest")) == [
        "2501.00002", "2501.00001",
    ]


def test_similar_papers_are_vector_neighbours(vectors: dict[str, int]) -> None:
    similar = [card.arxiv_id for card in similar_papers("2501.00001", k=2)]
    assert similar == ["2501.00002", similar[1]] and "2501.00001" not in similar
    newer = [card.arxiv_id for card in similar_papers("2502.00003", k=5, newer_only=True)]
    assert set(newer) <= {"2502.00004", "2503.00005"}
    assert [card.arxiv_id for card in similar_papers("2501.00001", k=5, same_category=True)] == []


def test_similar_papers_without_vectors_share_rare_words(corpus: dict[str, int]) -> None:
    assert [card.arxiv_id for card in similar_papers("2501.00001", k=3)] == ["2501.00002"]
    assert similar_papers("9999.99999") == []
    assert similar_papers("2501.00001", k=0) == []


def test_parsed_queries_are_taken_as_they_are(corpus: dict[str, int]) -> None:
    assert ids_of(search_papers(parse_query("graphene -transistors"), mode="keyword")) == ["2501.00002"]


def test_sort_trending_orders_matches_by_trending_score_now(corpus: dict[str, int]) -> None:
    from datetime import UTC, datetime

    from broadsheet.trending.models import TrendingScore

    computed_at = datetime(2025, 9, 1, 12, tzinfo=UTC)

    def scored(arxiv_id: str, points: float, age_hours: float) -> TrendingScore:
        return TrendingScore(
            paper_id=corpus[arxiv_id], score=0.0, points=points, upvotes_local=0, upvotes_hf=int(points),
            views_week=0, stars_gained_week=0, age_hours=age_hours, computed_at=computed_at,
        )

    # 2501.00002 is the weaker keyword match but the more trending paper; 2501.00001 has no score at all
    TrendingScore.objects.bulk_create([scored("2501.00002", 50, 10)])
    now = datetime(2025, 9, 2, 12, tzinfo=UTC)
    assert ids_of(search_papers("graphene", mode="keyword", sort="relevance", now=now)) == [
        "2501.00001", "2501.00002",
    ]
    assert ids_of(search_papers("graphene", mode="keyword", sort="trending", now=now)) == [
        "2501.00002", "2501.00001",
    ]
    # a fresher paper with fewer points overtakes an older one: 10 / 27^1.8 > 50 / 226^1.8
    TrendingScore.objects.bulk_create([scored("2501.00001", 10, 1)])
    TrendingScore.objects.filter(paper_id=corpus["2501.00002"]).update(age_hours=200)
    assert ids_of(search_papers("graphene", mode="keyword", sort="trending", now=now)) == [
        "2501.00001", "2501.00002",
    ]
