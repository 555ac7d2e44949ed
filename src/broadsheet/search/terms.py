"""Document frequencies of the words in many papers, kept in a table (TermStat) beside the full-text index.

BM25 weighs each query word by how many papers hold it. FTS5 keeps no such count: it is found by walking
the word's postings, which for a common word at 1M papers is most of a query's time (a sampled estimate
still read 1,000 postings a word: ~0.4 ms, 3 ms for a title). So the words of the SQLite index held by at
least MIN_DOCUMENTS papers are copied, with their counts, from FTS5's vocabulary into TermStat, and a query
reads all its words in one indexed lookup (the index holds Porter stems: a query word is first put through
the index's own tokenizer, `index_terms`). A word not in the table was rarer than that when it was filled
and is counted live, which is cheap for a rare word (`keyword.SqliteBackend.uncached_frequencies`).

The table is filled by `broadsheet index keyword` (and `broadsheet index rebuild`), and by the worker after
an ingest once the corpus has grown by STALE_GROWTH since the last fill; both first merge the FTS5 index's
segments into one (`merge_fulltext_index`). Between fills a stored count is scaled by the corpus's growth.
Corpora under keyword.DF_CACHE_MIN_DOCS papers never use it: their words are counted exactly. PostgreSQL
keeps no table: its counts come from its GIN index (see keyword.PostgresBackend).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

MIN_DOCUMENTS = 50  # words in fewer papers are counted live (a few postings: cheap)
STALE_GROWTH = 0.02  # refill after ingest once the index holds 2% more (or fewer) papers than at the fill
MAX_TERM_CHARS = 200  # TermStat.term's length; a longer "word" is counted live
# The tokenizer of search_paper_fts (migration search.0002; a test holds them equal), and a scratch table
# that runs it on query words
TOKENIZE = "porter unicode61 remove_diacritics 2"
STEMMER = "search_stemmer"
STEM_CACHE_SIZE = 100_000
MERGE_PAGES = 2_000  # FTS5 merge work per transaction (~0.1-0.5 s): how long a writer may wait on upkeep
_STEMS: dict[str, str | None] = {}


@dataclass(frozen=True)
class TermStatsState:
    document_count: int
    term_count: int
    min_documents: int
    refreshed_at: datetime


def supported(using: str = "default") -> bool:
    return connections[using].vendor == "sqlite"


def refresh_term_stats(using: str = "default", min_documents: int = MIN_DOCUMENTS) -> TermStatsState | None:
    """Copy the counts of the words held by `min_documents` papers or more from FTS5's vocabulary into
    TermStat. The vocabulary is read first (a read: ~7 s at 1M papers, writers go on meanwhile), then the
    table is replaced in one short transaction. Returns None where there is nothing to do (PostgreSQL)."""
    from broadsheet.search.keyword import PAPER_FTS, backend_for
    from broadsheet.search.models import TermStat, TermStatsRun

    if not supported(using):
        return None
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{PAPER_FTS}_vocab "
            f"USING fts5vocab(main, {PAPER_FTS}, 'row')"
        )
        cursor.execute(
            f"SELECT term, doc FROM temp.{PAPER_FTS}_vocab WHERE doc >= %s AND length(term) <= %s",
            [min_documents, MAX_TERM_CHARS],
        )
        rows = cursor.fetchall()
    document_count = backend_for(using).document_count()
    with transaction.atomic(using=using):
        TermStat.objects.using(using).all().delete()
        TermStat.objects.using(using).bulk_create(
            (TermStat(term=term, documents=documents) for term, documents in rows), batch_size=5_000
        )
        TermStatsRun.objects.using(using).all().delete()
        run = TermStatsRun.objects.using(using).create(
            document_count=document_count,
            min_documents=min_documents,
            term_count=len(rows),
            refreshed_at=timezone.now(),
        )
    return _state(run)


def term_stats_state(using: str = "default") -> TermStatsState | None:
    from broadsheet.search.models import TermStatsRun

    run = TermStatsRun.objects.using(using).order_by("-refreshed_at").first()
    return _state(run) if run is not None else None


def _state(run) -> TermStatsState:
    return TermStatsState(run.document_count, run.term_count, run.min_documents, run.refreshed_at)


def _large_corpus_count(using: str) -> int | None:
    """The corpus size where queries use the table (SQLite, keyword.DF_CACHE_MIN_DOCS papers or more)."""
    from broadsheet.search.keyword import DF_CACHE_MIN_DOCS, backend_for

    if not supported(using):
        return None
    count = backend_for(using).document_count()
    return count if count >= DF_CACHE_MIN_DOCS else None


def is_large(using: str = "default") -> bool:
    """Whether queries use the table: SQLite, with keyword.DF_CACHE_MIN_DOCS papers or more."""
    return _large_corpus_count(using) is not None


def is_stale(using: str = "default") -> bool:
    """Whether a refill is due: a large corpus never filled, or grown (or shrunk) by STALE_GROWTH since."""
    count = _large_corpus_count(using)
    if count is None:
        return False
    state = term_stats_state(using)
    if state is None or state.document_count == 0:
        return True
    return abs(count - state.document_count) / state.document_count >= STALE_GROWTH


def merge_fulltext_index(using: str = "default", pages: int = MERGE_PAGES) -> int:
    """Merge the SQLite full-text index's segments into one, `pages` pages of work per transaction.

    FTS5 writes each batch of new papers as a segment and merges them only now and then: a bulk import of
    1M papers left 15, and every query word is looked up, and its postings merged on the fly, in each of
    them. One segment made keyword search about a fifth faster at 1M papers (docs/benchmarks.md). FTS5's
    'merge' command does a bounded amount of that work and does nothing once one segment is left, so
    writers wait at most one step. Returns the steps that did work (0: already merged, or PostgreSQL)."""
    from broadsheet.search.keyword import PAPER_FTS

    if not supported(using):
        return 0
    connection = connections[using]
    steps = 0
    while True:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            before = connection.connection.total_changes
            # a negative page count: first gather every segment for one merge (as 'optimize' does),
            # then do that many pages of it; a positive one would merge only 'usermerge' (4)+ at a level
            cursor.execute(
                f"INSERT INTO {PAPER_FTS}({PAPER_FTS}, rank) VALUES ('merge', %s)", [-abs(pages)]
            )
            # SQLite's documented test: the command itself counts as one change, work as more
            if connection.connection.total_changes - before < 2:
                return steps
        steps += 1


def keyword_upkeep(using: str = "default") -> TermStatsState | None:
    """Merge the full-text index, then refill the word counts (what `broadsheet index keyword` runs)."""
    merge_fulltext_index(using)
    return refresh_term_stats(using)


def refresh_if_stale(using: str = "default") -> TermStatsState | None:
    if not is_stale(using):
        return None
    state = keyword_upkeep(using)
    if state is not None:
        logger.info(
            "keyword index merged, word counts refilled: %s words at %s papers",
            state.term_count, state.document_count,
        )
    return state


def index_terms(tokens: list[str], using: str = "default") -> dict[str, str]:
    """The term the SQLite index holds for each token: what its tokenizer makes of it (a Porter stem,
    `based` -> `base`). Found by that same tokenizer, in a scratch FTS5 table of the connection's temp
    schema, so it cannot disagree with the index; remembered per process. A token the tokenizer does not
    make exactly one term of is left out."""
    missing = [token for token in dict.fromkeys(tokens) if token not in _STEMS]
    if missing:
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{STEMMER} USING fts5(token, tokenize='{TOKENIZE}')"
            )
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{STEMMER}_terms "
                f"USING fts5vocab(temp, {STEMMER}, 'instance')"
            )
            cursor.executemany(
                f"INSERT INTO temp.{STEMMER}(rowid, token) VALUES (%s, %s)",
                [(number, token) for number, token in enumerate(missing, start=1)],
            )
            cursor.execute(f"SELECT doc, term FROM temp.{STEMMER}_terms")
            made: dict[int, list[str]] = {}
            for number, term in cursor.fetchall():
                made.setdefault(number, []).append(term)
            cursor.execute(f"DELETE FROM temp.{STEMMER}")
        if len(_STEMS) + len(missing) > STEM_CACHE_SIZE:
            _STEMS.clear()
        for number, token in enumerate(missing, start=1):
            terms = made.get(number, [])
            _STEMS[token] = terms[0] if len(terms) == 1 else None
    return {token: term for token in tokens if (term := _STEMS.get(token))}


def stored_frequencies(tokens: list[str], count: int, using: str = "default") -> dict[str, int]:
    """The counts in TermStat of those of `tokens` it holds, scaled from the corpus size of the last fill to
    `count` (one statement)."""
    if not tokens or not supported(using):
        return {}
    terms = index_terms(tokens, using)
    if not terms:
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT s.term, s.documents, r.document_count FROM search_termstat s "
            "CROSS JOIN (SELECT document_count FROM search_termstatsrun "
            "ORDER BY refreshed_at DESC LIMIT 1) r "
            "WHERE s.term IN (SELECT value FROM json_each(%s))",
            [json.dumps(sorted(set(terms.values())))],
        )
        rows = cursor.fetchall()
    counts: dict[str, int] = {}
    for term, documents, then in rows:
        scaled = documents * count / then if then else documents
        counts[term] = max(1, min(count, round(scaled)))
    return {token: counts[term] for token, term in terms.items() if term in counts}
