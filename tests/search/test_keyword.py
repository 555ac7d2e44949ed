"""Keyword retrieval on SQLite FTS5 and PostgreSQL full text: ranking, phrases, exclusions, filters, the
index following every write, plans that bound the work, and hostile text."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.db import connection

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Author, Paper
from broadsheet.search import keyword
from broadsheet.search.keyword import (
    ensure_fulltext_index,
    filter_matching,
    find_author_ids,
    keyword_search,
    run_keyword_search,
)
from broadsheet.search.query import ParsedQuery, SearchFilters, parse_query

from .corpus import CORPUS, INGESTED_AT, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> dict[str, int]:
    """The corpus, and arXiv id -> paper id."""
    upsert_papers(CORPUS, now=INGESTED_AT)
    return dict(Paper.objects.values_list("arxiv_id", "id"))


def found(text: str, **kwargs) -> list[str]:
    """arXiv ids of the keyword hits for `text`, best first."""
    hits = keyword_search(parse_query(text), **kwargs)
    ids = [paper_id for paper_id, _ in hits]
    by_id = dict(Paper.objects.filter(id__in=ids).values_list("id", "arxiv_id"))
    return [by_id[paper_id] for paper_id, _ in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # title match above abstract match
        ("graphene", ["2501.00001", "2501.00002"]),
        ("carbon", ["2501.00002", "2501.00001"]),
        # stemming: the plural finds the singular
        ("transistor", ["2501.00001"]),
        # a phrase must appear in order; free words need not all appear
        ('"neural network"', ["2502.00003"]),
        ("neural network", ["2502.00003", "2502.00004"]),
        # exclusion, of a word and of a phrase
        ("graphene -transistors", ["2501.00002"]),
        ('network -"neural network"', ["2502.00004"]),
        # accents fold both ways
        ("esperance", ["2503.00005"]),
        ("étudions", ["2503.00005"]),
        # a word in no paper does not empty the results of the others
        ("graphene zzzunknownzzz", ["2501.00001", "2501.00002"]),
        ("zzzunknownzzz", []),
        # filters
        ("graphene author:lovelace", ["2501.00001"]),
        ('graphene author:"G Hopper"', ["2501.00001", "2501.00002"]),
        ("graphene author:turing", []),
        ("graphene cat:cond-mat.mtrl-sci", ["2501.00002"]),
        ("graphene cat:cond-mat", ["2501.00001", "2501.00002"]),
        ("graphene cat:CS.et", ["2501.00001"]),
        ("graphene cat:hep-th", []),
        ("graphene from:2025-02", ["2501.00002"]),
        ("graphene to:2025-01", ["2501.00001"]),
        ("network from:2025-06-01 to:2025-12-31", ["2502.00004"]),
    ],
)
def test_keyword_search_ranks_and_filters(corpus: dict[str, int], query: str, expected: list[str]) -> None:
    assert found(query) == expected


def test_keyword_search_returns_ids_with_scores_best_first(corpus: dict[str, int]) -> None:
    hits = keyword_search(parse_query("graphene"))
    assert [paper_id for paper_id, _ in hits] == [corpus["2501.00001"], corpus["2501.00002"]]
    assert hits[0][1] > hits[1][1] > 0


def test_keyword_search_takes_filters_given_apart_from_the_text(corpus: dict[str, int]) -> None:
    hits = keyword_search(parse_query("graphene"), filters=SearchFilters(date_from=date(2025, 2, 1)))
    assert [paper_id for paper_id, _ in hits] == [corpus["2501.00002"]]


def test_keyword_search_stops_at_the_limit(corpus: dict[str, int]) -> None:
    assert found("graphene", limit=1) == ["2501.00001"]
    assert found("graphene", limit=0) == []


def test_keyword_search_without_text_finds_nothing(corpus: dict[str, int]) -> None:
    assert keyword_search(parse_query("author:lovelace")) == []
    assert keyword_search(ParsedQuery()) == []


def test_author_names_match_by_words_initials_and_accents(corpus: dict[str, int]) -> None:
    borel = Author.objects.get(normalized_name="emile borel").id
    assert find_author_ids("Borel") == [borel]
    assert find_author_ids("émile BOREL") == [borel]
    assert find_author_ids("E. Borel") == [borel]
    assert find_author_ids("Emile Lovelace") == []
    assert find_author_ids("!!!") == []


@pytest.mark.parametrize("walk_per_id", [0, 50])  # probe each id, or walk the postings
def test_filter_matching_keeps_papers_with_the_phrases_and_without_the_exclusions(
    corpus: dict[str, int], monkeypatch: pytest.MonkeyPatch, walk_per_id: int
) -> None:
    monkeypatch.setattr(keyword, "WALK_POSTINGS_PER_ID", walk_per_id)
    ids = list(corpus.values())
    assert filter_matching(parse_query('"neural network"'), ids) == {corpus["2502.00003"]}
    assert filter_matching(parse_query("anything -graphene"), ids) == {
        corpus[arxiv_id] for arxiv_id in ("2502.00003", "2502.00004", "2503.00005")
    }
    assert filter_matching(parse_query("no operators"), ids) == set(ids)
    assert filter_matching(parse_query('"neural network" -graphene'), ids) == {corpus["2502.00003"]}
    assert filter_matching(parse_query('"neural network"'), [corpus["2501.00001"]]) == set()


def test_papers_passing_keeps_live_papers_that_pass_the_filters(corpus: dict[str, int]) -> None:
    ids = list(corpus.values())

    def passing(text: str) -> set[str]:
        resolved = keyword.resolve_filters(parse_query(text).filters)
        by_id = {paper_id: arxiv_id for arxiv_id, paper_id in corpus.items()}
        return {by_id[paper_id] for paper_id in keyword.papers_passing(resolved, ids)}

    assert passing("cat:cond-mat") == {"2501.00001", "2501.00002"}
    assert passing("cat:cond-mat from:2025-02") == {"2501.00002"}
    assert passing("author:lovelace") == {"2501.00001"}
    upsert_papers([PaperRecord("2501.00002", deleted=True, datestamp=date(2025, 12, 1))], now=INGESTED_AT)
    assert passing("cat:cond-mat") == {"2501.00001"}


# --- the index follows every write -------------------------------------------------------------------


def test_the_index_follows_inserts_updates_and_deletes_through_upsert() -> None:
    upsert_papers([record("2504.00001", "Photonic crystals", "Light in periodic media.")], now=INGESTED_AT)
    assert found("photonic") == ["2504.00001"]

    # a new version with another title replaces the indexed text
    upsert_papers(
        [record("2504.00001", "Phononic crystals", "Sound in periodic media.", version=2)], now=INGESTED_AT
    )
    assert found("photonic") == []
    assert found("phononic") == ["2504.00001"]
    assert found("periodic") == ["2504.00001"]

    # an upstream deletion hides the paper from search; a newer version brings it back
    upsert_papers([PaperRecord("2504.00001", deleted=True, datestamp=date(2025, 12, 1))], now=INGESTED_AT)
    assert found("phononic") == []
    upsert_papers(
        [record("2504.00001", "Phononic crystals", "Sound again.", version=3, announced_on=date(2026, 1, 5))],
        now=INGESTED_AT,
    )
    assert found("phononic") == ["2504.00001"]

    # re-ingesting unchanged records changes nothing
    upsert_papers(
        [record("2504.00001", "Phononic crystals", "Sound again.", version=3, announced_on=date(2026, 1, 5))],
        now=INGESTED_AT,
    )
    assert found("phononic") == ["2504.00001"]

    Paper.objects.filter(arxiv_id="2504.00001").delete()
    assert found("phononic") == []


def test_the_author_index_follows_new_and_removed_authors() -> None:
    upsert_papers(
        [record("2504.00002", "Lattices", "Abstract.", authors=("Sofia Kovalevskaya",))], now=INGESTED_AT
    )
    assert len(find_author_ids("kovalevskaya")) == 1
    upsert_papers(
        [record("2504.00002", "Lattices", "Abstract.", authors=("Emmy Noether",), version=2)], now=INGESTED_AT
    )
    assert find_author_ids("kovalevskaya") == []  # the author left with no paper is removed
    assert found("lattices author:noether") == ["2504.00002"]


def test_the_migration_indexes_rows_that_were_there_before(corpus: dict[str, int]) -> None:
    """ensure_fulltext_index is the migration's fill: after losing its triggers, the index is whole."""
    if connection.vendor != "sqlite":
        assert ensure_fulltext_index() is False
        return
    with connection.cursor() as cursor:
        for name in keyword.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
        cursor.execute("INSERT INTO search_paper_fts(search_paper_fts) VALUES ('delete-all')")
    upsert_papers([record("2504.00003", "Graphene again", "More.")], now=INGESTED_AT)
    assert found("graphene") == []
    assert ensure_fulltext_index() is True
    assert found("graphene") == ["2504.00003", "2501.00001", "2501.00002"]
    assert ensure_fulltext_index() is False


def test_the_triggers_are_those_ensure_fulltext_index_recreates(corpus: dict[str, int]) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("triggers keep the SQLite index; PostgreSQL uses a generated column")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'")
        installed = dict(cursor.fetchall())
    assert set(installed) == set(keyword.SQLITE_TRIGGERS)
    for name, sql in keyword.SQLITE_TRIGGERS.items():
        # SQLite keeps the statement as written, less IF NOT EXISTS
        assert installed[name] == sql.replace(" IF NOT EXISTS", "")


# --- plans: bounded work ------------------------------------------------------------------------------


@pytest.fixture
def crowded() -> None:
    """Twelve papers: 'common' in all of them, 'frequent' in five (and in the titles of the two oldest),
    'rare' in two."""
    records = []
    for number in range(12):
        words = ["common"]
        if number < 5:
            words.append("frequent")
        if number in (1, 3):
            words.append("rare")
        title = "frequent flyers" if number < 2 else f"paper {number}"
        records.append(record(f"2505.{number:05d}", title, " ".join(words)))
    upsert_papers(records, now=INGESTED_AT)


def test_rare_words_take_the_rare_words_plan(crowded: None) -> None:
    result = run_keyword_search(parse_query("rare frequent"))
    assert result.plan == "rare-words"
    assert result.scored_terms == ("rare", "frequent")
    ranked = found("rare frequent")
    assert ranked[:2] == ["2505.00001", "2505.00003"]
    assert sorted(ranked) == ["2505.00000", "2505.00001", "2505.00002", "2505.00003", "2505.00004"]


@pytest.mark.parametrize(
    ("word", "sample", "expected"),
    [
        ("frequent", 20, 5),  # fewer than the sample: counted exactly
        ("common", 3, 12),  # in all 12 papers: the newest 3 span 3 of 12 ids, so 3 * 12 / 3
        # in the five oldest papers (ids 1-5): the newest 3 reach back to id 3, spanning 10 of 12 ids, and
        # stand for 3 * 12 / 10 = 3.6 (the estimate assumes an even spread over time)
        ("frequent", 3, 3),
    ],
)
def test_large_corpora_estimate_word_counts_past_a_sample(
    crowded: None, monkeypatch: pytest.MonkeyPatch, word: str, sample: int, expected: int
) -> None:
    monkeypatch.setattr(keyword, "DF_SAMPLE", sample)
    backend = keyword.backend_for()
    exact = {"common": 12, "frequent": 5}[word]
    if connection.vendor != "sqlite":
        assert backend.estimate_token_count(word, 100, 12) == exact  # PostgreSQL counts
        return
    assert backend.estimate_token_count(word, 100, 12) == expected
    assert backend.estimate_token_count(word, 4, 12) == min(4, expected)  # never past the cap


def test_a_word_in_more_than_half_the_papers_is_left_out(crowded: None) -> None:
    result = run_keyword_search(parse_query("rare common"))
    assert result.scored_terms == ("rare",)
    assert result.dropped_terms == ("common",)
    assert found("rare common") == ["2505.00001", "2505.00003"]  # equal scores: the older first


@pytest.mark.parametrize("scratch_max", [0, 100])  # titles checked in the index, or in a scratch table
def test_common_words_alone_list_title_matches_first_then_newest(
    crowded: None, monkeypatch: pytest.MonkeyPatch, scratch_max: int
) -> None:
    monkeypatch.setattr(keyword, "IDF_BUDGET", 4)
    monkeypatch.setattr(keyword, "TITLE_SCRATCH_MAX", scratch_max)
    result = run_keyword_search(parse_query("frequent"))
    assert result.plan == "newest"
    assert result.dropped_terms == ()
    assert found("frequent") == ["2505.00001", "2505.00000", "2505.00004", "2505.00003", "2505.00002"]
    assert found("frequent", limit=3) == ["2505.00001", "2505.00000", "2505.00004"]
    assert found("frequent zzzunknownzzz") == []  # every word must be in the paper


def test_common_words_alone_leave_out_a_word_in_most_papers_when_others_remain(
    crowded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyword, "IDF_BUDGET", 4)
    result = run_keyword_search(parse_query("common frequent"))
    assert result.plan == "newest"
    assert result.dropped_terms == ("common",)  # in all twelve papers
    assert found("common frequent") == found("frequent")
    alone = run_keyword_search(parse_query("common"))
    assert alone.dropped_terms == ()
    assert len(alone.hits) == 12


def test_many_candidates_take_the_conjunctive_plan(crowded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyword, "CANDIDATE_CAP", 1)
    monkeypatch.setattr(keyword, "FILL_CAP", 1)
    result = run_keyword_search(parse_query("frequent rare"), limit=4)
    assert result.plan == "conjunctive"
    ids = dict(Paper.objects.values_list("id", "arxiv_id"))
    # the newest paper holding both words (one fits the cap), then the newest holding either (one fits
    # the fill)
    assert [ids[paper_id] for paper_id, _ in result.hits] == ["2505.00003", "2505.00004"]
    # a larger fill is ranked: of the three newest holding either word, paper 1 has both and "frequent" in
    # its title; papers 2 and 4 tie, the older first
    monkeypatch.setattr(keyword, "FILL_CAP", 3)
    result = run_keyword_search(parse_query("frequent rare"), limit=4)
    assert [ids[paper_id] for paper_id, _ in result.hits] == [
        "2505.00003", "2505.00001", "2505.00002", "2505.00004",
    ]


def test_ranking_by_rare_leading_words_is_bm25_over_every_scored_word(crowded: None) -> None:
    """rank() with `leading` scores papers holding a word of the rest in a second pass and keeps the
    leading score of the others; the result is BM25 over all scored words, as one pass over them gives."""
    backend = keyword.backend_for()
    rare, paper = keyword.Item(("rare",)), keyword.Item(("paper",))
    scored = [rare, paper]  # "rare" is in papers 1 and 3; "paper" in the titles of papers 2-11
    count = backend.document_count()
    dfs = backend.document_frequencies(["rare", "paper"], 100, count)
    ids = [paper_id for paper_id, _ in run_keyword_search(parse_query("rare")).hits]
    assert len(ids) == 2
    plain = backend.rank(scored, dfs, count, ids)
    by_id = dict(Paper.objects.values_list("id", "arxiv_id"))
    assert [by_id[paper_id] for paper_id, _ in plain] == ["2505.00003", "2505.00001"]  # 3 also has "paper"
    variants = [backend.rank(scored, dfs, count, ids, leading=[rare])]
    if backend.scores_windows:
        window = backend.scored_window(keyword.Expr(any_of=(rare,)), 10)
        variants.append(backend.rank(scored, dfs, count, ids, leading=[rare], lead_scores=dict(window)))
    for ranked in variants:
        assert [paper_id for paper_id, _ in ranked] == [paper_id for paper_id, _ in plain]
        assert [score for _, score in ranked] == pytest.approx([score for _, score in plain], rel=1e-12)


# --- hostile text --------------------------------------------------------------------------------------


FTS_SYNTAX = [
    'NEAR(graphene carbon, 2)', "graph*", "title:graphene", "{title abstract}: x", "graphene AND OR NOT ^",
    '"', '""', '"""', "-", "--", "- -", "*", "^graphene", "(", ")", "((((", "NOT", "AND", "OR", "'", "\\",
    "col:x", "rowid:1", "a:b:c", "x\x00y", "\ud800", "\udfff\ud800", "%", "%s", "?", ":name", "$1",
    "--; DROP",
]


@pytest.mark.parametrize("text", FTS_SYNTAX)
def test_fts_syntax_in_queries_is_only_text(corpus: dict[str, int], text: str) -> None:
    keyword_search(parse_query(text))
    filter_matching(parse_query(text), list(corpus.values()))


def test_hostile_strings_are_only_text(corpus: dict[str, int], hostile_string: str) -> None:
    parsed = parse_query(hostile_string[:1000])
    keyword_search(parsed)
    filter_matching(parsed, list(corpus.values()))
    assert find_author_ids(hostile_string[:200]) in ([], find_author_ids(hostile_string[:200]))


def test_postgresql_folds_accents_as_its_migration_does() -> None:
    migration = importlib.import_module("broadsheet.search.migrations.0002_fulltext")
    assert migration.FOLD == keyword.PG_FOLD
    assert len(keyword.PG_ACCENTED) == len(keyword.PG_UNACCENTED)
