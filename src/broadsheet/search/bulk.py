"""Bulk imports on SQLite: new rows reach the FTS5 indexes in one pass at the end, not row by row.

Rule: for the length of a bulk import the per-row insert triggers of the full-text indexes are dropped,
and the update/delete triggers are narrowed to the rows that existed before it (`old.id <= high water`),
so the index never sees a row it has not been given; the rows the import added are indexed in one
INSERT ... SELECT at the end, and the migration's triggers are restored. That costs a third of the CPU of
per-row triggers (measured on one quarter of the shared corpus: 25.6 s -> 8.2 s). If an import dies in
between, the next bulk import and `broadsheet up` find the triggers altered and rebuild the indexes.
For the same length the WAL is checkpointed every BULK_WAL_PAGES pages instead of every 1,000, and once at
the end (truncating the WAL file). PostgreSQL's generated tsvector column needs none of this.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

logger = logging.getLogger(__name__)

BULK_MARK = "old.id <= "
# WAL pages between checkpoints during a bulk import (64 MB). SQLite's default, 1,000 pages (4 MB), is less
# than one batch writes, so every commit copied the WAL into the database file and synced it: +23% papers/s
# with this (bench/ingest_snapshot.py, four runs each way).
BULK_WAL_PAGES = 16_384


class FullText:
    """One FTS5 index: its table, the content table, the indexed columns and which rows it holds."""

    def __init__(self, table: str, content: str, columns: tuple[str, ...], condition: str) -> None:
        self.table, self.content, self.columns, self.condition = table, content, columns, condition

    @property
    def triggers(self) -> dict[str, str]:
        return {kind: f"{self.table}_{kind}" for kind in ("ai", "ad", "au")}


FULLTEXT = (
    FullText("search_paper_fts", "papers_paper", ("title", "abstract"), "is_deleted = 0"),
    FullText("search_author_fts", "papers_author", ("normalized_name",), "1 = 1"),
)


def _migration_triggers() -> dict[str, str]:
    """CREATE TRIGGER statements by trigger name, as the full-text migration wrote them."""
    migration = importlib.import_module("broadsheet.search.migrations.0002_fulltext")
    statements = {}
    for sql in migration.SQLITE_FORWARD:
        if sql.startswith("CREATE TRIGGER IF NOT EXISTS "):
            statements[sql.split()[5]] = sql
    return statements


def _narrowed(sql: str, high_water: int) -> str:
    """A trigger statement that fires only for rows with `old.id <= high_water`."""
    head, body = sql.split(" BEGIN ", 1)
    if " WHEN " in head:
        before, condition = head.split(" WHEN ", 1)
        head = f"{before} WHEN {BULK_MARK}{int(high_water)} AND ({condition})"
    else:
        head = f"{head} WHEN {BULK_MARK}{int(high_water)}"
    return f"{head} BEGIN {body}"


def _installed_triggers(cursor) -> dict[str, str]:
    cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    return dict(cursor.fetchall())


def _fulltext_installed(cursor) -> bool:
    cursor.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [FULLTEXT[0].table]
    )
    return cursor.fetchone()[0] == 1


def repair_fulltext() -> bool:
    """Rebuild an FTS5 index and restore its triggers when an interrupted bulk import left them altered.

    Returns whether a repair was needed.
    """
    if connection.vendor != "sqlite":
        return False
    repaired = False
    with transaction.atomic(), connection.cursor() as cursor:
        if not _fulltext_installed(cursor):
            return False
        installed = _installed_triggers(cursor)
        create = _migration_triggers()
        for index in FULLTEXT:
            names = index.triggers.values()
            if all(name in installed and BULK_MARK not in installed[name] for name in names):
                continue
            logger.warning("full-text index %s was left mid-import: rebuilding it", index.table)
            for name in names:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"INSERT INTO {index.table}({index.table}) VALUES ('rebuild')")
            for name in names:
                cursor.execute(create[name])
            repaired = True
    return repaired


@contextmanager
def deferred_fulltext_inserts() -> Iterator[None]:
    """Within this block, rows inserted into papers and authors are indexed once, when it ends."""
    if connection.vendor != "sqlite":
        yield
        return
    repair_fulltext()
    with connection.cursor() as cursor:
        if not _fulltext_installed(cursor):
            yield
            return
    create = _migration_triggers()
    high_water: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        autocheckpoint = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA wal_autocheckpoint = {max(autocheckpoint, BULK_WAL_PAGES)}")
    with transaction.atomic(), connection.cursor() as cursor:
        for index in FULLTEXT:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {index.content}")
            high_water[index.table] = int(cursor.fetchone()[0])
            for kind, name in index.triggers.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                if kind != "ai":
                    cursor.execute(_narrowed(create[name], high_water[index.table]))
    try:
        yield
    finally:
        try:
            # also after a failed import: the batches it committed are rows above the high water mark; if
            # this fails too, the altered triggers are found and the index rebuilt by repair_fulltext()
            with transaction.atomic(), connection.cursor() as cursor:
                for index in FULLTEXT:
                    columns = ", ".join(index.columns)
                    cursor.execute(
                        f"INSERT INTO {index.table}(rowid, {columns}) "
                        f"SELECT id, {columns} FROM {index.content} WHERE id > %s AND {index.condition}",
                        [high_water[index.table]],
                    )
                    for name in index.triggers.values():
                        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                        cursor.execute(create[name])
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
                if not connection.in_atomic_block:
                    # copy the import into the database file now and give the WAL file's space back (a
                    # reader still using it makes this a partial checkpoint; later commits go on from there)
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    cursor.fetchall()
