"""Deferred full-text indexing of bulk imports: same index as the triggers give, restored triggers, repair."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.db import connection

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.search.bulk import (
    BULK_WAL_PAGES,
    FULLTEXT,
    _migration_triggers,
    deferred_fulltext_inserts,
    repair_fulltext,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 triggers exist on SQLite only")


def record(number: int, title: str, authors: list[str]) -> PaperRecord:
    return PaperRecord(
        f"2501.{number:05d}",
        title=title,
        abstract=f"abstract {number}",
        authors=authors,
        categories=["cs.CL"],
        datestamp=date(2025, 1, 2),
        announced_on=date(2025, 1, 2),
    )


def matches(table: str, query: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH %s ORDER BY rowid", [query])
        return [row[0] for row in cursor.fetchall()]


def integrity_ok() -> bool:
    with connection.cursor() as cursor:
        for index in FULLTEXT:
            cursor.execute(f"INSERT INTO {index.table}({index.table}, rank) VALUES ('integrity-check', 1)")
    return True


def installed_triggers() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%%'")
        return dict(cursor.fetchall())


@sqlite_only
@pytest.mark.django_db
def test_deferred_indexing_gives_the_index_the_triggers_give():
    upsert_papers([record(1, "Quantum retrieval", ["Ada Lovelace"])], now=NOW)
    before = installed_triggers()
    with deferred_fulltext_inserts():
        upsert_papers(
            [record(2, "Sparse retrieval", ["Alan Turing"]), record(3, "Dense vectors", ["Ada Lovelace"])],
            now=NOW,
        )
        # an old row changed during the import goes through the (narrowed) update trigger
        upsert_papers(
            [
                PaperRecord(
                    "2501.00001",
                    version=2,
                    title="Quantum search",
                    abstract="abstract 1",
                    authors=["Ada Lovelace"],
                    categories=["cs.CL"],
                    datestamp=date(2025, 2, 1),
                )
            ],
            now=NOW,
        )
        # a new row changed during the import is indexed once, with its final text
        upsert_papers(
            [
                PaperRecord(
                    "2501.00002",
                    version=2,
                    title="Sparse ranking",
                    abstract="abstract 2",
                    authors=["Alan Turing"],
                    categories=["cs.CL"],
                    datestamp=date(2025, 2, 1),
                )
            ],
            now=NOW,
        )
    ids = dict(connection.cursor().execute("SELECT arxiv_id, id FROM papers_paper").fetchall())
    assert matches("search_paper_fts", "retrieval") == []
    assert matches("search_paper_fts", "quantum") == [ids["2501.00001"]]
    assert matches("search_paper_fts", "sparse") == [ids["2501.00002"]]
    assert matches("search_paper_fts", "dense") == [ids["2501.00003"]]
    assert len(matches("search_author_fts", "turing")) == 1
    assert integrity_ok()
    assert installed_triggers() == before


@sqlite_only
@pytest.mark.django_db
def test_rows_committed_before_a_failure_are_indexed_and_the_triggers_restored():
    before = installed_triggers()
    with pytest.raises(RuntimeError), deferred_fulltext_inserts():
        upsert_papers([record(5, "Committed before the failure", ["Grace Hopper"])], now=NOW)
        raise RuntimeError("a bad line")
    assert len(matches("search_paper_fts", "committed")) == 1
    assert installed_triggers() == before
    assert integrity_ok()


@sqlite_only
@pytest.mark.django_db
def test_repair_rebuilds_an_index_whose_triggers_an_interrupted_import_left_altered():
    upsert_papers([record(7, "Indexed by trigger", ["Ada Lovelace"])], now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER search_paper_fts_ai")  # as a killed bulk import leaves it
    upsert_papers([record(8, "Missed by the index", ["Alan Turing"])], now=NOW)
    assert matches("search_paper_fts", "missed") == []
    assert repair_fulltext() is True
    assert len(matches("search_paper_fts", "missed")) == 1
    assert set(_migration_triggers()) <= set(installed_triggers())
    assert repair_fulltext() is False
    assert integrity_ok()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "sqlite", reason="checks the PostgreSQL path")
def test_postgresql_needs_no_deferral():
    with deferred_fulltext_inserts():
        upsert_papers([record(9, "Generated column", ["Ada Lovelace"])], now=NOW)
    assert repair_fulltext() is False


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_bulk_import_checkpoints_seldom_then_restores_the_setting_and_empties_the_wal():
    def autocheckpoint() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return int(cursor.fetchone()[0])

    before = autocheckpoint()
    with deferred_fulltext_inserts():
        assert autocheckpoint() == max(before, BULK_WAL_PAGES)
        upsert_papers([record(2, "Sparse retrieval", ["Alan Turing"])], now=NOW)
    assert autocheckpoint() == before
    wal = Path(f"{connection.settings_dict['NAME']}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert matches("search_paper_fts", "sparse") == [Paper.objects.get().id]
    with pytest.raises(RuntimeError), deferred_fulltext_inserts():
        raise RuntimeError("the import died")
    assert autocheckpoint() == before
