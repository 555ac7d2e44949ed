"""Stored word counts (broadsheet.search.terms): filled from FTS5's vocabulary, read by keyword search on
large corpora in place of counting postings, refilled when the corpus grows."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from broadsheet.ingest.upsert import upsert_papers
from broadsheet.search import keyword, terms
from broadsheet.search.keyword import run_keyword_search
from broadsheet.search.models import TermStat, TermStatsRun
from broadsheet.search.query import parse_query

from .corpus import INGESTED_AT, record

pytestmark = pytest.mark.django_db

sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="PostgreSQL keeps no word counts")


@pytest.fixture
def papers() -> None:
    """Six papers: 'based' (stem 'base') in all, 'running'/'runs' (stem 'run') in four, 'graphene' in two."""
    abstracts = [
        "Methods based on running graphene devices.",
        "A study based on runs of graphene.",
        "Running shoes, based on foam.",
        "Runs based on nothing.",
        "Based on other things.",
        "Based, again.",
    ]
    upsert_papers(
        [record(f"2505.{number:05d}", f"Paper {number}", text) for number, text in enumerate(abstracts)],
        now=INGESTED_AT,
    )


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six papers count as a large corpus: queries read stored counts, and no cache hides them."""
    monkeypatch.setattr(keyword, "DF_CACHE_MIN_DOCS", 1)
    keyword.DF_CACHE.clear()
    yield
    keyword.DF_CACHE.clear()


def test_the_stemmer_table_uses_the_index_tokenizer() -> None:
    migration = importlib.import_module("broadsheet.search.migrations.0002_fulltext")
    assert f"tokenize='{terms.TOKENIZE}'" in migration.SQLITE_FORWARD[0]


def test_index_terms_are_what_the_index_makes_of_query_words(papers: None) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert terms.index_terms(["based", "running", "runs", "graphene", "the"]) == {
        "based": "base", "running": "run", "runs": "run", "graphene": "graphen", "the": "the",
    }


@sqlite_only
def test_refresh_copies_the_counts_of_words_in_enough_papers(papers: None) -> None:
    state = terms.refresh_term_stats(min_documents=3)
    assert state is not None and state.document_count == 6 and state.min_documents == 3
    stored = dict(TermStat.objects.values_list("term", "documents"))
    assert stored["base"] == 6 and stored["run"] == 4 and stored["on"] == 5
    assert "graphen" not in stored  # in two papers only: counted live
    assert state.term_count == len(stored)
    # a second fill replaces the first
    terms.refresh_term_stats(min_documents=5)
    assert set(TermStat.objects.values_list("term", flat=True)) == {"base", "on", "paper"}
    assert TermStatsRun.objects.count() == 1


@sqlite_only
def test_queries_on_large_corpora_read_the_stored_counts(papers: None, large: None) -> None:
    terms.refresh_term_stats(min_documents=3)
    TermStat.objects.filter(term="run").update(documents=3)  # tell a stored count from a live one
    backend = keyword.backend_for()
    assert backend.document_frequencies(["running", "graphene", "zzzmissing"], 100, 6) == {
        "running": 3,  # stored
        "graphene": 2,  # not stored: counted
        "zzzmissing": 0,
    }
    keyword.DF_CACHE.clear()
    # stored counts grow with the corpus until the next fill, and are given whole past the cap (a word in
    # most papers is told from one in many without counting it)
    assert backend.document_frequencies(["running"], 100, 12) == {"running": 6}
    keyword.DF_CACHE.clear()
    assert backend.document_frequencies(["running"], 5, 12) == {"running": 6}


@sqlite_only
def test_small_corpora_count_every_word(papers: None) -> None:
    terms.refresh_term_stats(min_documents=1)
    TermStat.objects.filter(term="run").update(documents=1)
    assert keyword.backend_for().document_frequencies(["running"], 100, 6) == {"running": 4}


@sqlite_only
def test_search_results_are_the_same_with_stored_counts(papers: None, large: None) -> None:
    before = run_keyword_search(parse_query("running graphene"))
    terms.refresh_term_stats(min_documents=1)
    keyword.DF_CACHE.clear()
    after = run_keyword_search(parse_query("running graphene"))
    assert after.hits == before.hits and after.plan == before.plan


@sqlite_only
def test_a_refill_is_due_when_the_corpus_has_grown(papers: None, large: None) -> None:
    assert terms.is_stale()  # never filled
    terms.refresh_term_stats()
    assert not terms.is_stale()
    upsert_papers([record("2505.00099", "Another", "More text.")], now=INGESTED_AT)  # 6 -> 7 papers
    assert terms.is_stale()
    assert terms.refresh_if_stale() is not None
    assert terms.refresh_if_stale() is None


@sqlite_only
def test_small_corpora_never_need_a_fill(papers: None) -> None:
    assert not terms.is_stale()
    assert terms.refresh_if_stale() is None
    assert not TermStatsRun.objects.exists()


def test_postgresql_keeps_no_word_counts(papers: None) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("PostgreSQL only")
    assert terms.refresh_term_stats() is None
    assert terms.stored_frequencies(["based"], 6) == {}
    assert not terms.is_stale()


def test_index_keyword_command_merges_fills_and_status_reports(
    papers: None, large: None, capsys: Any
) -> None:
    call_command("index", "keyword")
    out = capsys.readouterr().out
    call_command("index", "status")
    status = capsys.readouterr().out.splitlines()[0]
    if connection.vendor != "sqlite":
        assert out.startswith("keyword index: PostgreSQL tends its own index")
        return
    count = TermStat.objects.count()
    assert out.startswith("keyword index: merged into one segment in ")
    assert f"; word counts: {count:,} words held by 50+ of 6 papers in " in out
    assert status.startswith(f"word counts: {count:,} words held by 50+ of 6 papers, filled ")


def segments() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT segid) FROM search_paper_fts_idx")
        return cursor.fetchone()[0]


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_merging_leaves_one_segment_and_the_same_results(papers: None) -> None:
    def automerge(segments: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_paper_fts(search_paper_fts, rank) VALUES ('automerge', %s)", [segments]
            )

    automerge(0)  # FTS5 would merge some as they come (4 a level by default): keep them all apart
    try:
        for number in range(12):  # one segment per committed insert
            paper = record(f"2506.{number:05d}", f"Graphene paper {number}", "Running text.")
            upsert_papers([paper], now=INGESTED_AT)
        assert segments() > 1
        before = run_keyword_search(parse_query("graphene running")).hits
        assert terms.merge_fulltext_index(pages=1) >= 1
        assert segments() == 1
        assert terms.merge_fulltext_index() == 0  # nothing left to do
        assert run_keyword_search(parse_query("graphene running")).hits == before
    finally:
        automerge(4)


@sqlite_only
def test_the_worker_refills_after_embedding_when_due(
    papers: None, large: None, settings: Any, tmp_path: Any
) -> None:
    from broadsheet.search.tasks import embed_new_papers

    settings.DATA_DIR = tmp_path
    embed_new_papers.call_local()
    assert TermStatsRun.objects.get().document_count == 6
