"""Keyword retrieval over titles and abstracts: SQLite FTS5 or PostgreSQL full text, by `connection.vendor`.

Rule: user text never becomes query syntax. A token reaches FTS5 only inside a double-quoted string made
of letters and digits, and PostgreSQL only as a bound parameter of plainto_tsquery/phraseto_tsquery.
The work one query may cost is bounded by a plan made from document frequencies (`run_keyword_search`):

* a word in more than half the corpus has a BM25 weight of zero or less and is left out, and so is
  a word in IDF_BUDGET or more papers (FTS5's bm25() reads each query word's whole postings list once
  per query, so such a word costs more than it tells) -- unless the query has nothing rarer;
* of the rest, the rarest words whose postings add up to at most IDF_BUDGET are scored ("S"), by BM25
  with the title weighted TITLE_WEIGHT : ABSTRACT_WEIGHT;
* "rare-words": the papers holding any of the rarest words of S, up to CANDIDATE_CAP papers in all, are
  the candidates (every collection of BEIR size takes this plan, and so do rare words at any size);
* "conjunctive": when even the rarest word is in more papers, the newest CANDIDATE_CAP holding every
  word of S are ranked; either plan, when short of results, goes on with the newest CANDIDATE_CAP
  holding every word of S, then the best of the newest FILL_CAP holding any;
* "newest": a query of common words only lists the papers holding all of them (but those in more than
  half the papers, when others remain), title matches first, newest first (no BM25: every candidate
  would cost a postings scan).

Quoted phrases must match and excluded words must not, in every plan; deleted papers are not indexed.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Q

from broadsheet.ingest.records import normalize_author_name
from broadsheet.papers.models import Category
from broadsheet.search.query import TOKEN, ParsedQuery, SearchFilters, tokenize
from broadsheet.search.terms import TOKENIZE, stored_frequencies

TITLE_WEIGHT = 3.0
ABSTRACT_WEIGHT = 1.0
# BM25's IDF, log((N - n + 0.5) / (n + 0.5)), is zero or less once a word is in half the documents.
STOP_FRACTION = 0.5
# Postings read by one query's bm25() IDF pass, and again to find the candidates among them (~0.05 us
# each on this machine: ~5 ms in all).
IDF_BUDGET = 50_000
# Papers BM25-scored by one query (~3.5 us each with FTS5: ~3.5 ms).
CANDIDATE_CAP = 1_000
# Papers holding any scored word that fill a page the other candidates left short: the best of this many
# newest (each BM25-scored; the fill ranks below every paper holding all the scored words).
FILL_CAP = 250
# A query of common words only looks for papers holding all of them among this many newest papers.
NEWEST_SCAN_ROWS = 200_000
# With filters, at most this many of the newest text matches are checked against them.
FILTER_SCAN_CAP = 100_000
# Document frequencies change slowly on a large corpus; small ones (tests, evaluation) are never cached.
DF_CACHE_MIN_DOCS = 50_000
DF_CACHE_SECONDS = 3600.0
DF_CACHE_SIZE = 50_000
# On such corpora a word's papers are counted up to this many, and estimated beyond.
DF_SAMPLE = 1_000
ESTIMATES_PER_STATEMENT = 100  # words counted by one UNION ALL statement (SQLite allows 500 terms)
AUTHORS_PER_NAME_CAP = 10_000  # author rows one `author:` value may stand for
# Title checks of up to this many papers index their titles apart, in a scratch table (~15 us a paper)
# rather than walk the words' postings between the lowest and highest id (~1-4 ms at 1M papers).
TITLE_SCRATCH_MAX = 100
TITLE_SCRATCH = "search_title_scratch"
# Checking a list of ids against phrases or excluded words probes the index once per id (~12 us a word at
# 1M papers) or walks the words' postings between the lowest and highest id (~0.2 us a posting with the id
# check): the walk is taken up to this many postings per id.
WALK_POSTINGS_PER_ID = 50

# PostgreSQL text search: English stemming and stop words for papers, none for names.
PG_TEXT_CONFIG = "english"
PG_NAME_CONFIG = "simple"
# Accented Latin letters folded to their base letter inside the indexed text (the english configuration
# keeps accents); the same expression as migration 0002 (a test holds them equal).
PG_ACCENTED = (
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚ"
    "ǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱ"
    "ṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
)
PG_UNACCENTED = (
    "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuu"
    "uaagkoojgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrssssstttt"
    "uuuuuvvwwwwwxxyzzzhtwysaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy"
)
PG_FOLD = "translate(lower(coalesce({column}, '')), '" + PG_ACCENTED + "', '" + PG_UNACCENTED + "')"
# ts_rank weights for {D, C, B, A}: title (A) counts 2.5 times the abstract (B).
PG_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"

PAPER_FTS = "search_paper_fts"
Ids = Sequence[int]
Hits = list[tuple[int, float]]
Dfs = dict[str, int]
AUTHOR_FTS = "search_author_fts"

# The statements of migration search.0002 that `ensure_fulltext_index` can replay: SQLite drops a
# table's triggers when a schema change rebuilds the table (Django does that for many ALTERs).
SQLITE_TRIGGERS = {
    "search_paper_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS search_paper_fts_ai AFTER INSERT ON papers_paper "
        "WHEN new.is_deleted = 0 BEGIN "
        "INSERT INTO search_paper_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract); "
        "END"
    ),
    "search_paper_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS search_paper_fts_ad AFTER DELETE ON papers_paper "
        "WHEN old.is_deleted = 0 BEGIN "
        "INSERT INTO search_paper_fts(search_paper_fts, rowid, title, abstract) "
        "VALUES ('delete', old.id, old.title, old.abstract); "
        "END"
    ),
    "search_paper_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS search_paper_fts_au AFTER UPDATE OF title, abstract, is_deleted "
        "ON papers_paper WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract "
        "OR old.is_deleted IS NOT new.is_deleted BEGIN "
        "INSERT INTO search_paper_fts(search_paper_fts, rowid, title, abstract) "
        "SELECT 'delete', old.id, old.title, old.abstract WHERE old.is_deleted = 0; "
        "INSERT INTO search_paper_fts(rowid, title, abstract) "
        "SELECT new.id, new.title, new.abstract WHERE new.is_deleted = 0; "
        "END"
    ),
    "search_author_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS search_author_fts_ai AFTER INSERT ON papers_author BEGIN "
        "INSERT INTO search_author_fts(rowid, normalized_name) VALUES (new.id, new.normalized_name); "
        "END"
    ),
    "search_author_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS search_author_fts_ad AFTER DELETE ON papers_author BEGIN "
        "INSERT INTO search_author_fts(search_author_fts, rowid, normalized_name) "
        "VALUES ('delete', old.id, old.normalized_name); "
        "END"
    ),
    "search_author_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS search_author_fts_au AFTER UPDATE OF normalized_name ON papers_author "
        "WHEN old.normalized_name IS NOT new.normalized_name BEGIN "
        "INSERT INTO search_author_fts(search_author_fts, rowid, normalized_name) "
        "VALUES ('delete', old.id, old.normalized_name); "
        "INSERT INTO search_author_fts(rowid, normalized_name) VALUES (new.id, new.normalized_name); "
        "END"
    ),
}
SQLITE_FILL = (
    "INSERT INTO search_paper_fts(search_paper_fts) VALUES ('delete-all')",
    "INSERT INTO search_paper_fts(rowid, title, abstract) "
    "SELECT id, title, abstract FROM papers_paper WHERE is_deleted = 0",
    "INSERT INTO search_author_fts(search_author_fts) VALUES ('rebuild')",
)


# ---------------------------------------------------------------------------------------------------
# query items and plans


@dataclass(frozen=True)
class Item:
    """A word or a phrase as index tokens (letters and digits only)."""

    tokens: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Item | None:
        tokens = tuple(tokenize(text))
        return cls(tokens) if tokens else None

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def fts5(self) -> str:
        # tokens hold no double quote (TOKEN matches letters and digits only); doubling would escape one
        return '"' + self.text.replace('"', '""') + '"'


@dataclass(frozen=True)
class Expr:
    """Papers holding all of `every` (or any of `any_of`), all `required` phrases, no `excluded` item."""

    every: tuple[Item, ...] = ()
    any_of: tuple[Item, ...] = ()
    required: tuple[Item, ...] = ()
    excluded: tuple[Item, ...] = ()
    title_only: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.every or self.any_of or self.required)


@dataclass
class KeywordResult:
    """Ranked (paper id, score) pairs, best first, and how they were found. Scores are comparable within
    one result only; the order is the ranking."""

    hits: list[tuple[int, float]] = field(default_factory=list)
    plan: str = "empty"  # empty | rare-words | conjunctive | newest
    scored_terms: tuple[str, ...] = ()
    dropped_terms: tuple[str, ...] = ()  # common words left out of matching and scoring
    document_count: int = 0


# ---------------------------------------------------------------------------------------------------
# document frequency cache


class _DfCache:
    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], now: float) -> int | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or now - found[0] > DF_CACHE_SECONDS:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple[str, str], value: int, now: float) -> None:
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > DF_CACHE_SIZE:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


DF_CACHE = _DfCache()


# ---------------------------------------------------------------------------------------------------
# filters


@dataclass(frozen=True)
class ResolvedFilters:
    """Filters as database values: category codes, author ids per `author:` value, dates."""

    category_codes: tuple[str, ...] | None = None  # None: any category
    author_groups: tuple[tuple[int, ...], ...] = ()  # a paper needs an author from every group
    date_from: Any = None
    date_to: Any = None
    matches_nothing: bool = False

    @property
    def is_empty(self) -> bool:
        return (
            self.category_codes is None and not self.author_groups and self.date_from is None
            and self.date_to is None and not self.matches_nothing
        )


def resolve_filters(filters: SearchFilters, using: str = "default") -> ResolvedFilters:
    """Category codes (`cs.cl` -> cs.CL; an archive `cs` -> every cs.* code) and author ids for names."""
    if filters.is_empty:
        return ResolvedFilters()
    codes: tuple[str, ...] | None = None
    if filters.categories:
        condition = Q()
        for value in filters.categories:
            condition |= Q(code__iexact=value) | Q(archive__iexact=value)
        codes = tuple(sorted(Category.objects.using(using).filter(condition).values_list("code", flat=True)))
    groups = tuple(tuple(find_author_ids(name, using=using)) for name in filters.authors)
    return ResolvedFilters(
        category_codes=codes,
        author_groups=groups,
        date_from=filters.date_from,
        date_to=filters.date_to,
        matches_nothing=(codes is not None and not codes) or any(not group for group in groups),
    )


def name_tokens(name: str) -> list[str]:
    return TOKEN.findall(normalize_author_name(name))


def find_author_ids(name: str, *, using: str = "default") -> list[int]:
    """Authors whose name holds every word of `name` (accents and case ignored); a one-letter word is
    an initial and matches a name word starting with it (`author:"G Hinton"`)."""
    tokens = name_tokens(name)
    if not tokens:
        return []
    return backend_for(using).author_ids(tokens)


# ---------------------------------------------------------------------------------------------------
# backends


class _Backend:
    def __init__(self, using: str) -> None:
        self.using = using
        self.connection = connections[using]

    def cursor(self):
        return self.connection.cursor()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    # implemented per vendor
    def document_count(self) -> int:
        raise NotImplementedError

    def count_token(self, token: str, cap: int) -> int:
        raise NotImplementedError

    def window(
        self, expr: Expr, n: int, filters: ResolvedFilters, exclude_ids: Ids = (), after_id: int = 0
    ) -> list[int]:
        """The newest `n` indexed papers matching `expr` and `filters` with an id above `after_id`."""
        raise NotImplementedError

    # whether scored_window exists: unfiltered windows that return each paper's BM25 in the same pass
    scores_windows = False

    def scored_window(self, expr: Expr, n: int, exclude_ids: Ids = (), after_id: int = 0) -> Hits:
        raise NotImplementedError

    def newest_id(self) -> int:
        rows = self.fetch("SELECT max(id) FROM papers_paper")
        return int(rows[0][0] or 0)

    def rank(
        self, scored: Sequence[Item], dfs: Dfs, count: int, ids: Ids, every: bool = False,
        leading: Sequence[Item] = (), lead_scores: dict[int, float] | None = None,
    ) -> Hits:
        """Papers `ids` (each holding a word of `scored`; all of them when `every`; a word of `leading`, a
        part of `scored`, when given, with their scores over `leading` alone when known) by relevance."""
        raise NotImplementedError

    def title_matches(self, items: Sequence[Item], ids: Sequence[int]) -> set[int]:
        raise NotImplementedError

    def passing(self, filters: ResolvedFilters, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are live papers passing `filters` (one statement, each paper looked up by id)."""
        raise NotImplementedError

    def matching(self, expr: Expr, ids: Sequence[int]) -> set[int]:
        raise NotImplementedError

    def author_ids(self, tokens: Sequence[str]) -> list[int]:
        raise NotImplementedError

    def document_frequencies(self, tokens: Sequence[str], cap: int, count: int) -> Dfs:
        """Papers holding each of `tokens`, counted up to `cap` (cached on large corpora; SQLite's stored
        counts of the words in many papers are given whole, past `cap`)."""
        if count < DF_CACHE_MIN_DOCS:
            return {token: self.count_token(token, cap) for token in tokens}
        prefix = f"{self.connection.vendor}:{self.connection.settings_dict.get('NAME')}"
        now = time.monotonic()
        found: Dfs = {}
        missing: list[str] = []
        for token in dict.fromkeys(tokens):
            cached = DF_CACHE.get((prefix, token), now)
            if cached is None:
                missing.append(token)
            else:
                found[token] = cached
        if missing:
            for token, value in self.uncached_frequencies(missing, cap, count).items():
                DF_CACHE.put((prefix, token), value, now)
                found[token] = value
        return found

    def uncached_frequencies(self, tokens: Sequence[str], cap: int, count: int) -> Dfs:
        return {token: self.estimate_token_count(token, cap, count) for token in tokens}

    def estimate_token_count(self, token: str, cap: int, count: int) -> int:
        """count_token, or an estimate where counting would read many postings (see SqliteBackend)."""
        return self.count_token(token, cap)


def _idf(df: int, count: int) -> float:
    """BM25's IDF with FTS5's floor: a word in half the documents or more still counts a little."""
    return max(math.log((count - df + 0.5) / (df + 0.5)), 1e-6)


class SqliteBackend(_Backend):
    def document_count(self) -> int:
        # The totals record is cheap to read but lags inside a transaction (FTS5 writes it at commit);
        # the per-document size table is exact at once but costs a scan: read it on small corpora only.
        rows = self.fetch(f"SELECT block FROM {PAPER_FTS}_data WHERE id = 1")
        committed = _read_varint(bytes(rows[0][0]), 0)[0] if rows and rows[0][0] else 0
        if committed >= DF_CACHE_MIN_DOCS:
            return committed
        return int(self.fetch(f"SELECT count(*) FROM {PAPER_FTS}_docsize")[0][0])

    def count_token(self, token: str, cap: int) -> int:
        rows = self.fetch(
            f"SELECT count(*) FROM (SELECT rowid FROM {PAPER_FTS} WHERE {PAPER_FTS} MATCH %s LIMIT %s)",
            [Item((token,)).fts5(), cap],
        )
        return int(rows[0][0])

    def uncached_frequencies(self, tokens: Sequence[str], cap: int, count: int) -> Dfs:
        """The stored counts of the words in many papers (broadsheet.search.terms), whole: they cost nothing
        more past `cap`, and tell a word in most papers (run_keyword_search); others counted live."""
        found = stored_frequencies(list(tokens), count, self.using)
        rest = [token for token in tokens if token not in found]
        if rest:
            found.update(self.estimate_token_counts(rest, cap, count))
        return found

    def estimate_token_count(self, token: str, cap: int, count: int) -> int:
        return self.estimate_token_counts([token], cap, count)[token]

    def estimate_token_counts(self, tokens: Sequence[str], cap: int, count: int) -> Dfs:
        """Papers holding each token on a large corpus, in one statement: counted exactly up to DF_SAMPLE,
        beyond that estimated from how far back the newest DF_SAMPLE of them reach among paper ids (counting
        a common word up to IDF_BUDGET read 50,000 postings: ~5 ms a word; reading DF_SAMPLE costs a tenth).
        An IDF from an estimate within a few percent moves a score by less than that; words whose use grows
        over time come out a little commoner than they are. Mostly rare words get here: the common ones are
        in TermStat."""
        sample = min(cap, DF_SAMPLE)
        counted: dict[str, tuple[int, int]] = {}
        for start in range(0, len(tokens), ESTIMATES_PER_STATEMENT):
            chunk = tokens[start : start + ESTIMATES_PER_STATEMENT]
            one = (
                f"SELECT %s, count(*), min(rowid) FROM (SELECT rowid FROM {PAPER_FTS} "
                f"WHERE {PAPER_FTS} MATCH %s ORDER BY rowid DESC LIMIT %s)"
            )
            params: list[Any] = []
            for token in chunk:
                params += [token, Item((token,)).fts5(), sample]
            for token, found, oldest in self.fetch(" UNION ALL ".join([one] * len(chunk)), params):
                counted[token] = (int(found), int(oldest or 0))
        result = {token: found for token, (found, _oldest) in counted.items() if found < sample}
        if len(result) < len(counted):
            # two subqueries: min() and max() together in one SELECT would scan the table
            first, newest = self.fetch(
                "SELECT (SELECT min(id) FROM papers_paper), (SELECT max(id) FROM papers_paper)"
            )[0]
            for token, (found, oldest) in counted.items():
                if token not in result:
                    spanned = max(1, int(newest) - oldest + 1)
                    estimate = found * (int(newest) - int(first) + 1) / spanned
                    result[token] = min(cap, count, max(found, int(estimate)))
        return result

    @staticmethod
    def match_text(expr: Expr) -> str:
        parts: list[str] = []
        if expr.every:
            parts.append(" AND ".join(item.fts5() for item in expr.every))
        if expr.any_of:
            parts.append("(" + " OR ".join(item.fts5() for item in expr.any_of) + ")")
        parts.extend(item.fts5() for item in expr.required)
        text = "(" + " AND ".join(parts) + ")"
        if expr.title_only:
            text = "{title} : " + text
        if expr.excluded:
            text += " NOT (" + " OR ".join(item.fts5() for item in expr.excluded) + ")"
        return text

    def _filter_sql(self, filters: ResolvedFilters) -> tuple[list[str], list[Any]]:
        """Conditions on `m.rowid` (the paper id) and, for dates, on `p` (papers_paper joined to it)."""
        conditions: list[str] = []
        params: list[Any] = []
        ops = self.connection.ops
        if filters.date_from is not None:
            conditions.append("p.announced_on >= %s")
            params.append(ops.adapt_datefield_value(filters.date_from))
        if filters.date_to is not None:
            conditions.append("p.announced_on <= %s")
            params.append(ops.adapt_datefield_value(filters.date_to))
        if filters.category_codes is not None:
            # codes are few (a category, or the categories of one archive): placeholders, so the
            # correlated subquery does not parse a JSON list per row
            placeholders = ", ".join(["%s"] * len(filters.category_codes))
            conditions.append(
                "EXISTS (SELECT 1 FROM papers_papercategory c WHERE c.paper_id = m.rowid "
                f"AND c.category_id IN ({placeholders}))"
            )
            params.extend(filters.category_codes)
        for group in filters.author_groups:
            conditions.append(
                "m.rowid IN (SELECT a.paper_id FROM papers_paperauthor a "
                "WHERE a.author_id IN (SELECT value FROM json_each(%s)))"
            )
            params.append(json.dumps(list(group)))
        return conditions, params

    def window(
        self, expr: Expr, n: int, filters: ResolvedFilters, exclude_ids: Ids = (), after_id: int = 0
    ) -> list[int]:
        """The newest `n` indexed papers matching `expr` and `filters` (ids, newest first)."""
        match = self.match_text(expr)
        skip = ""
        skip_params: list[Any] = []
        if exclude_ids:
            skip = " AND +m.rowid NOT IN (SELECT value FROM json_each(%s))"
            skip_params = [json.dumps(list(exclude_ids))]
        if filters.is_empty:
            sql = (
                f"SELECT m.rowid FROM {PAPER_FTS} m WHERE {PAPER_FTS} MATCH %s AND m.rowid > %s{skip} "
                "ORDER BY m.rowid DESC LIMIT %s"
            )
            return [row[0] for row in self.fetch(sql, [match, after_id, *skip_params, n])]
        conditions, params = self._filter_sql(filters)
        # papers_paper only for dates: a category or author condition looks up its own table by id
        dated = filters.date_from is not None or filters.date_to is not None
        join = " CROSS JOIN papers_paper p ON p.id = m.rowid" if dated else ""
        # No ORDER BY outside: the subquery streams newest first and the LIMIT stops it early (a sort
        # would read all FILTER_SCAN_CAP rows); the ids are put in order here.
        sql = (
            f"SELECT m.rowid FROM (SELECT rowid FROM {PAPER_FTS} WHERE {PAPER_FTS} MATCH %s AND rowid > %s "
            f"ORDER BY rowid DESC LIMIT %s) m{join} "
            f"WHERE {' AND '.join(conditions)}{skip} LIMIT %s"
        )
        rows = self.fetch(sql, [match, after_id, FILTER_SCAN_CAP, *params, *skip_params, n])
        return sorted((row[0] for row in rows), reverse=True)

    scores_windows = True

    def scored_window(self, expr: Expr, n: int, exclude_ids: Ids = (), after_id: int = 0) -> Hits:
        """window() without filters, with each paper's BM25 over the phrases of `expr` computed as it is
        found: one statement, one pass over the postings, where window() then rank() took two (a NOT phrase
        adds nothing to a score; a required phrase would count twice, so callers leave those to rank)."""
        skip = ""
        params: list[Any] = [TITLE_WEIGHT, ABSTRACT_WEIGHT, self.match_text(expr), after_id]
        if exclude_ids:
            skip = " AND +m.rowid NOT IN (SELECT value FROM json_each(%s))"
            params.append(json.dumps(list(exclude_ids)))
        sql = (
            f"SELECT m.rowid, bm25({PAPER_FTS}, %s, %s) FROM {PAPER_FTS} m WHERE {PAPER_FTS} MATCH %s "
            f"AND m.rowid > %s{skip} ORDER BY m.rowid DESC LIMIT %s"
        )
        # bm25() is negative, best first; scores are returned higher-is-better
        return [(paper_id, -score) for paper_id, score in self.fetch(sql, [*params, n])]

    def rank(
        self, scored: Sequence[Item], dfs: Dfs, count: int, ids: Ids, every: bool = False,
        leading: Sequence[Item] = (), lead_scores: dict[int, float] | None = None,
    ) -> Hits:
        """BM25 over the words of `scored`; matching all of them (`every`) reads fewer rows in the range.

        With `leading` (rare words every paper of `ids` holds one of), each paper's score over the leading
        words alone comes first (`lead_scores`, or one pass over `ids`); then FTS5 walks the few postings
        of the leading words and seeks the other scored words' postings only for them: bm25() of
        `(leading) AND (rest)` is each paper's score over `scored`, exactly, for the papers holding a word
        of the rest, and the others keep their leading score. Matching `(scored)` instead would hand SQLite
        every paper holding any scored word, to be checked against `ids` one by one (most of a rank's time
        at 1M papers). `lead_scores` given: they come from a window of every paper matching `leading`
        between the lowest and highest of `ids` (scored_window), so the second pass needs no id list.
        """
        if not ids:
            return []
        low_high = [min(ids), max(ids)]
        in_range = (
            f"SELECT rowid, bm25({PAPER_FTS}, %s, %s) FROM {PAPER_FTS} "
            f"WHERE {PAPER_FTS} MATCH %s AND rowid BETWEEN %s AND %s"
        )
        among_ids = in_range + " AND +rowid IN (SELECT value FROM json_each(%s))"
        weights = [TITLE_WEIGHT, ABSTRACT_WEIGHT]
        rest = [item for item in scored if item not in leading]
        if every or not leading or not rest:
            match = self.match_text(Expr(every=tuple(scored)) if every else Expr(any_of=tuple(scored)))
            rows = self.fetch(among_ids, [*weights, match, *low_high, json.dumps(list(ids))])
            # bm25() is negative, best first; scores are returned higher-is-better
            scores = {paper_id: -score for paper_id, score in rows}
        else:
            lead = self.match_text(Expr(any_of=tuple(leading)))
            pair = f"{lead} AND {self.match_text(Expr(any_of=tuple(rest)))}"
            if lead_scores is None:
                ids_json = json.dumps(list(ids))
                once = self.fetch(among_ids, [*weights, lead, *low_high, ids_json])
                lead_scores = {paper_id: -score for paper_id, score in once}
                rows = self.fetch(among_ids, [*weights, pair, *low_high, ids_json])
            else:
                rows = self.fetch(in_range, [*weights, pair, *low_high])
            scores = dict(lead_scores)
            for paper_id, score in rows:
                if paper_id in scores:
                    scores[paper_id] = -score
        # higher is better; ties by id, as before
        return _best_first(list(scores.items()))

    def passing(self, filters: ResolvedFilters, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        conditions, params = self._filter_sql(filters)
        sql = (
            "SELECT m.rowid FROM (SELECT value AS rowid FROM json_each(%s)) m "
            "CROSS JOIN papers_paper p ON p.id = m.rowid WHERE p.is_deleted = 0"
        )
        for condition in conditions:
            sql += f" AND {condition}"
        return {row[0] for row in self.fetch(sql, [json.dumps(list(ids)), *params])}

    def title_matches(self, items: Sequence[Item], ids: Sequence[int]) -> set[int]:
        if not ids or not items:
            return set()
        if len(ids) <= TITLE_SCRATCH_MAX:
            return self._title_matches_apart(items, ids)
        match = self.match_text(Expr(every=tuple(items), title_only=True))
        sql = (
            f"SELECT rowid FROM {PAPER_FTS} WHERE {PAPER_FTS} MATCH %s AND rowid BETWEEN %s AND %s "
            "AND +rowid IN (SELECT value FROM json_each(%s))"
        )
        return {row[0] for row in self.fetch(sql, [match, min(ids), max(ids), json.dumps(list(ids))])}

    def _title_matches_apart(self, items: Sequence[Item], ids: Sequence[int]) -> set[int]:
        """title_matches for a few papers: their titles in a scratch FTS5 table of the connection's temp
        schema with the index's tokenizer, matched there, then removed."""
        with self.cursor() as cursor:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{TITLE_SCRATCH} "
                f"USING fts5(title, tokenize='{TOKENIZE}')"
            )
            try:
                cursor.execute(
                    f"INSERT INTO temp.{TITLE_SCRATCH}(rowid, title) SELECT id, title FROM papers_paper "
                    "WHERE id IN (SELECT value FROM json_each(%s))",
                    [json.dumps(list(ids))],
                )
                cursor.execute(
                    f"SELECT rowid FROM temp.{TITLE_SCRATCH} WHERE {TITLE_SCRATCH} MATCH %s",
                    [self.match_text(Expr(every=tuple(items)))],
                )
                return {row[0] for row in cursor.fetchall()}
            finally:
                cursor.execute(f"DELETE FROM temp.{TITLE_SCRATCH}")

    def matching(self, expr: Expr, ids: Sequence[int]) -> set[int]:
        """Which of `ids` match `expr`: one index probe per id, or one walk over the expression's postings
        between the lowest and highest id when those are few next to the ids (see _walk_is_cheaper)."""
        if not ids:
            return set()
        if expr.is_empty:
            # NOT needs something on its left: "every indexed paper among ids" minus the excluded ones
            excluded = self.matching(Expr(any_of=expr.excluded), ids) if expr.excluded else set()
            indexed = self._indexed(ids)
            return indexed - excluded
        ids_json = json.dumps(list(ids))
        if self._walk_is_cheaper(expr, len(ids)):
            sql = (
                f"SELECT rowid FROM {PAPER_FTS} WHERE {PAPER_FTS} MATCH %s AND rowid BETWEEN %s AND %s "
                "AND +rowid IN (SELECT value FROM json_each(%s))"
            )
            params: list[Any] = [self.match_text(expr), min(ids), max(ids), ids_json]
        else:
            sql = (
                f"SELECT rowid FROM {PAPER_FTS} WHERE {PAPER_FTS} MATCH %s "
                "AND rowid IN (SELECT value FROM json_each(%s))"
            )
            params = [self.match_text(expr), ids_json]
        return {row[0] for row in self.fetch(sql, params)}

    def _walk_is_cheaper(self, expr: Expr, id_count: int) -> bool:
        """Whether walking the postings of `expr` costs less than probing `id_count` ids: a probe costs about
        what WALK_POSTINGS_PER_ID postings do. The postings walked are those of the rarest item of an AND,
        or of every item of an OR (counted as the search counts them, cached on large corpora)."""
        items = (*expr.every, *expr.required) or expr.any_of
        count = self.document_count()
        dfs = self.document_frequencies(
            [token for item in items for token in item.tokens], IDF_BUDGET + 1, count
        )
        postings = [min(dfs[token] for token in item.tokens) for item in items]
        walked = min(postings) if expr.every or expr.required else sum(postings)
        return walked <= WALK_POSTINGS_PER_ID * id_count

    def _indexed(self, ids: Sequence[int]) -> set[int]:
        rows = self.fetch(
            "SELECT id FROM papers_paper WHERE is_deleted = 0 AND id IN (SELECT value FROM json_each(%s))",
            [json.dumps(list(ids))],
        )
        return {row[0] for row in rows}

    def author_ids(self, tokens: Sequence[str]) -> list[int]:
        # a one-letter word is an initial: a prefix query ("g"*), built from a letter, never user syntax
        match = " AND ".join(
            Item((token,)).fts5() + ("*" if len(token) == 1 else "") for token in tokens
        )
        rows = self.fetch(
            f"SELECT rowid FROM {AUTHOR_FTS} WHERE {AUTHOR_FTS} MATCH %s LIMIT %s",
            [match, AUTHORS_PER_NAME_CAP],
        )
        return [row[0] for row in rows]


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """SQLite's varint (big-endian, 7 bits a byte, the ninth byte whole): (value, next offset)."""
    value = 0
    for index in range(8):
        byte = data[offset + index]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, offset + index + 1
    return (value << 8) | data[offset + 8], offset + 9


class PostgresBackend(_Backend):
    def document_count(self) -> int:
        estimate = self.fetch("SELECT reltuples::bigint FROM pg_class WHERE oid = 'papers_paper'::regclass")
        if estimate and estimate[0][0] >= DF_CACHE_MIN_DOCS:
            return int(estimate[0][0])
        return int(self.fetch("SELECT count(*) FROM papers_paper WHERE NOT is_deleted")[0][0])

    def count_token(self, token: str, cap: int) -> int:
        rows = self.fetch(
            "SELECT count(*) FROM (SELECT 1 FROM papers_paper WHERE NOT is_deleted "
            f"AND search_vector @@ plainto_tsquery('{PG_TEXT_CONFIG}', %s) LIMIT %s) s",
            [token, cap],
        )
        return int(rows[0][0])

    @staticmethod
    def item_query(item: Item) -> tuple[str, list[Any]]:
        function = "plainto_tsquery" if len(item.tokens) == 1 else "phraseto_tsquery"
        return f"{function}('{PG_TEXT_CONFIG}', %s)", [item.text]

    @classmethod
    def tsquery(cls, expr: Expr) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []

        def combine(items: Iterable[Item], operator: str) -> str:
            pieces = []
            for item in items:
                sql, item_params = cls.item_query(item)
                pieces.append(sql)
                params.extend(item_params)
            return "(" + f" {operator} ".join(pieces) + ")"

        if expr.every:
            parts.append(combine(expr.every, "&&"))
        if expr.any_of:
            parts.append(combine(expr.any_of, "||"))
        if expr.required:
            parts.append(combine(expr.required, "&&"))
        sql = "(" + " && ".join(parts) + ")"
        if expr.excluded:
            sql = f"({sql} && !!{combine(expr.excluded, '||')})"
        return sql, params

    def _filter_sql(self, filters: ResolvedFilters) -> tuple[list[str], list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        if filters.date_from is not None:
            conditions.append("p.announced_on >= %s")
            params.append(filters.date_from)
        if filters.date_to is not None:
            conditions.append("p.announced_on <= %s")
            params.append(filters.date_to)
        if filters.category_codes is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM papers_papercategory c WHERE c.paper_id = p.id "
                "AND c.category_id = ANY(%s))"
            )
            params.append(list(filters.category_codes))
        for group in filters.author_groups:
            conditions.append(
                "p.id IN (SELECT a.paper_id FROM papers_paperauthor a WHERE a.author_id = ANY(%s))"
            )
            params.append(list(group))
        return conditions, params

    def window(
        self, expr: Expr, n: int, filters: ResolvedFilters, exclude_ids: Ids = (), after_id: int = 0
    ) -> list[int]:
        query, params = self.tsquery(expr)
        match = f"p.search_vector @@ {query} AND p.id > %s"
        params.append(after_id)
        conditions, filter_params = self._filter_sql(filters)
        sql = f"SELECT p.id FROM papers_paper p WHERE NOT p.is_deleted AND {match}"
        for condition in conditions:
            sql += f" AND {condition}"
        all_params = params + filter_params
        if exclude_ids:
            sql += " AND NOT (p.id = ANY(%s))"
            all_params.append(list(exclude_ids))
        sql += " ORDER BY p.id DESC LIMIT %s"
        all_params.append(n)
        return [row[0] for row in self.fetch(sql, all_params)]

    def rank(
        self, scored: Sequence[Item], dfs: Dfs, count: int, ids: Ids, every: bool = False,
        leading: Sequence[Item] = (), lead_scores: dict[int, float] | None = None,
    ) -> Hits:
        """An IDF-weighted sum of per-word ts_rank (title weight A, abstract B): BM25's shape, since
        ts_rank alone weighs a common word like a rare one."""
        if not ids:
            return []
        terms: list[str] = []
        params: list[Any] = []
        for item in scored:
            sql, item_params = self.item_query(item)
            idf = _idf(min(dfs.get(token, 0) for token in item.tokens), count)
            terms.append(f"%s * ts_rank('{PG_RANK_WEIGHTS}', search_vector, {sql}, 1)")
            params.extend([idf, *item_params])
        sql = (
            f"SELECT id, ({' + '.join(terms)}) AS score FROM papers_paper WHERE id = ANY(%s) "
            "ORDER BY score DESC, id"
        )
        return [(paper_id, float(score)) for paper_id, score in self.fetch(sql, [*params, list(ids)])]

    def passing(self, filters: ResolvedFilters, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        conditions, params = self._filter_sql(filters)
        sql = "SELECT p.id FROM papers_paper p WHERE p.id = ANY(%s) AND NOT p.is_deleted"
        for condition in conditions:
            sql += f" AND {condition}"
        return {row[0] for row in self.fetch(sql, [list(ids), *params])}

    def title_matches(self, items: Sequence[Item], ids: Sequence[int]) -> set[int]:
        if not ids or not items:
            return set()
        query, params = self.tsquery(Expr(every=tuple(items)))
        sql = (
            f"SELECT id FROM papers_paper WHERE id = ANY(%s) "
            f"AND to_tsvector('{PG_TEXT_CONFIG}', {PG_FOLD.format(column='title')}) @@ {query}"
        )
        return {row[0] for row in self.fetch(sql, [list(ids), *params])}

    def matching(self, expr: Expr, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        if expr.is_empty:
            sql = "SELECT id FROM papers_paper WHERE NOT is_deleted AND id = ANY(%s)"
            params: list[Any] = [list(ids)]
            if expr.excluded:
                excluded_sql, excluded_params = self.tsquery(Expr(any_of=expr.excluded))
                sql += f" AND NOT search_vector @@ {excluded_sql}"
                params += excluded_params
            return {row[0] for row in self.fetch(sql, params)}
        query, params = self.tsquery(expr)
        sql = (
            "SELECT id FROM papers_paper WHERE NOT is_deleted AND id = ANY(%s) "
            f"AND search_vector @@ {query}"
        )
        return {row[0] for row in self.fetch(sql, [list(ids), *params])}

    def author_ids(self, tokens: Sequence[str]) -> list[int]:
        # tokens are letters and digits only, so the tsquery text holds no operator a user wrote
        text = " & ".join(token + (":*" if len(token) == 1 else "") for token in tokens)
        rows = self.fetch(
            f"SELECT id FROM papers_author WHERE to_tsvector('{PG_NAME_CONFIG}', normalized_name) "
            f"@@ to_tsquery('{PG_NAME_CONFIG}', %s) LIMIT %s",
            [text, AUTHORS_PER_NAME_CAP],
        )
        return [row[0] for row in rows]


def backend_for(using: str = "default") -> _Backend:
    vendor = connections[using].vendor
    if vendor == "sqlite":
        return SqliteBackend(using)
    if vendor == "postgresql":
        return PostgresBackend(using)
    raise NotImplementedError(f"keyword search supports SQLite and PostgreSQL, not {vendor}")


# ---------------------------------------------------------------------------------------------------
# the search


def query_items(parsed: ParsedQuery) -> tuple[list[Item], list[Item], list[Item]]:
    """(free words, required phrases, excluded words and phrases) as index tokens, without repeats."""

    def items(texts: Iterable[str]) -> list[Item]:
        seen: set[Item] = set()
        result = []
        for text in texts:
            item = Item.of(text)
            if item is not None and item not in seen:
                seen.add(item)
                result.append(item)
        return result

    # a free word the index splits (`self-supervised`, `1,000`) ranks as its parts, as BM25 has it; only
    # quotes ask for words in sequence
    words = [token for term in parsed.terms for token in tokenize(term)]
    return items(words), items(parsed.phrases), items(parsed.excluded)


def run_keyword_search(
    parsed: ParsedQuery,
    *,
    limit: int = 100,
    filters: SearchFilters | None = None,
    using: str = "default",
) -> KeywordResult:
    """The best `limit` papers for the free text of `parsed`, with phrases, exclusions and filters
    (`filters` replaces parsed.filters when given), and the plan that found them (see module doc)."""
    terms, required, excluded = query_items(parsed)
    if not terms and not required:
        return KeywordResult()
    backend = backend_for(using)
    resolved = resolve_filters(parsed.filters if filters is None else filters, using)
    count = backend.document_count()
    result = KeywordResult(document_count=count)
    if resolved.matches_nothing or count == 0 or limit <= 0:
        return result

    stop_df = count * STOP_FRACTION
    # a small corpus is counted past half its size, so that a word in most papers is known as one (a large
    # one's common words come whole from the stored counts on SQLite)
    probe_cap = IDF_BUDGET + 1 if count >= DF_CACHE_MIN_DOCS else max(IDF_BUDGET, int(stop_df)) + 1
    dfs = backend.document_frequencies(
        [token for item in terms + required for token in item.tokens], probe_cap, count
    )

    def df(item: Item) -> int:
        return min(dfs[token] for token in item.tokens)

    def cost(item: Item) -> int:
        return sum(dfs[token] for token in item.tokens)

    # phrases must match anyway; a rare one also ranks (bm25 counts a phrase's occurrences)
    candidates = terms + [item for item in required if item not in terms]
    informative = [item for item in candidates if 0 < df(item) <= stop_df and cost(item) <= IDF_BUDGET]
    absent = [item for item in terms if df(item) == 0]
    scored: list[Item] = []
    spent = 0
    for item in sorted(informative, key=lambda item: (cost(item), item.tokens)):
        if spent + cost(item) > IDF_BUDGET:
            break
        scored.append(item)
        spent += cost(item)
    result.scored_terms = tuple(item.text for item in scored)
    result.dropped_terms = tuple(item.text for item in terms if item not in scored and item not in absent)

    if not scored:
        if absent and len(absent) == len(terms) and not required:
            return result  # every free word is missing from the index: nothing can match
        ubiquitous = [item for item in terms if df(item) > stop_df]
        return _newest_plan(backend, result, terms, required, excluded, resolved, limit, absent, ubiquitous)

    def window(expr: Expr, n: int, skip: Sequence[int] = ()) -> list[int]:
        return backend.window(expr, n, resolved, skip)

    def ranked(ids: Sequence[int], every: bool = False, leading: Sequence[Item] = ()) -> Hits:
        return backend.rank(scored, dfs, count, ids, every, leading)

    must_have, must_not = tuple(required), tuple(excluded)
    # The rarest words whose papers add up to at most CANDIDATE_CAP give the candidates, and every scored
    # word ranks them: a paper holding none of the rare words scores only on commoner, lighter words
    # (MaxScore's argument). On SciFact, CACM and CISI this gives the nDCG@10 and Recall@100 of
    # scoring every match.
    essential: list[Item] = []
    total = 0
    for item in scored:
        if total + df(item) > CANDIDATE_CAP:
            break
        essential.append(item)
        total += df(item)
    hits: list[tuple[int, float]] = []
    seen: list[int] = []
    # without filters or required phrases a window can score its papers as it finds them (scored_window)
    inline = backend.scores_windows and resolved.is_empty and not must_have
    if essential:
        result.plan = "rare-words"
        lead = Expr(any_of=tuple(essential), required=must_have, excluded=must_not)
        if inline:
            found = backend.scored_window(lead, CANDIDATE_CAP)
            seen = [paper_id for paper_id, _ in found]
            if len(essential) == len(scored):
                hits = _best_first(found)[:limit]
            else:
                hits = backend.rank(
                    scored, dfs, count, seen, leading=essential, lead_scores=dict(found)
                )[:limit]
        else:
            seen = window(lead, CANDIDATE_CAP)
            hits = ranked(seen, leading=essential)[:limit]
    else:
        result.plan = "conjunctive"
    if len(hits) < limit and len(essential) < len(scored):
        # the newest papers holding every scored word, then the newest holding any
        for every in (True, False):
            expr = Expr(
                every=tuple(scored) if every else (),
                any_of=() if every else tuple(scored),
                required=must_have,
                excluded=must_not,
            )
            size = CANDIDATE_CAP if every else FILL_CAP
            if inline:
                found = backend.scored_window(expr, size, seen)
                more = [paper_id for paper_id, _ in found]
                hits += _best_first(found)[: limit - len(hits)]
            else:
                more = window(expr, size, seen)
                hits += ranked(more, every)[: limit - len(hits)]
            seen += more
            if len(hits) >= limit:
                break
    result.hits = hits
    return result


def _best_first(hits: Hits) -> Hits:
    """Best score first, ties by id (a sort of plain tuples: no key function called per hit)."""
    ordered = sorted([(-score, paper_id) for paper_id, score in hits])
    return [(paper_id, -negated) for negated, paper_id in ordered]


def _newest_plan(
    backend: _Backend,
    result: KeywordResult,
    terms: list[Item],
    required: list[Item],
    excluded: list[Item],
    resolved: ResolvedFilters,
    limit: int,
    absent: list[Item],
    ubiquitous: list[Item],
) -> KeywordResult:
    """Only common words (or phrases of them): of the newest CANDIDATE_CAP papers holding every one (among
    the newest NEWEST_SCAN_ROWS papers: several common words together can be rare, and looking further
    back would scan postings lists of half the corpus), those holding them all in the title first.
    A word in more than half the papers (`ubiquitous`) is left out when other words remain: it hardly
    narrows the list, and walking its postings took half the time of such a query at 1M papers."""
    result.plan = "newest"
    if absent:
        return result  # a word that is in no paper cannot be in all of them
    present = [item for item in terms if item not in ubiquitous] or terms
    base = Expr(every=tuple(present), required=tuple(required), excluded=tuple(excluded))
    after_id = max(0, backend.newest_id() - NEWEST_SCAN_ROWS)
    newest = backend.window(base, max(limit, CANDIDATE_CAP), resolved, after_id=after_id)
    in_title = backend.title_matches(present + required, newest)
    ranked = ([paper_id for paper_id in newest if paper_id in in_title]
              + [paper_id for paper_id in newest if paper_id not in in_title])[:limit]
    result.hits = [(paper_id, float(len(ranked) - position)) for position, paper_id in enumerate(ranked)]
    result.dropped_terms = tuple(item.text for item in terms if item not in present)
    return result


def keyword_search(
    parsed: ParsedQuery,
    *,
    limit: int = 100,
    filters: SearchFilters | None = None,
    using: str = "default",
) -> list[tuple[int, float]]:
    """(paper id, score) pairs, best first: see run_keyword_search."""
    return run_keyword_search(parsed, limit=limit, filters=filters, using=using).hits


def papers_passing(filters: ResolvedFilters, ids: Sequence[int], *, using: str = "default") -> set[int]:
    """Which of `ids` are live papers passing `filters` (for vector results: a page of ids, not a listing)."""
    return backend_for(using).passing(filters, ids)


def filter_matching(parsed: ParsedQuery, ids: Sequence[int], *, using: str = "default") -> set[int]:
    """Which of `ids` hold every quoted phrase of `parsed` and no excluded word (for vector results)."""
    _terms, required, excluded = query_items(parsed)
    if not ids:
        return set()
    return backend_for(using).matching(Expr(required=tuple(required), excluded=tuple(excluded)), ids)


def ensure_fulltext_index(using: str = "default") -> bool:
    """Recreate the SQLite triggers if a schema change dropped them, and refill the index then.

    Returns True when something had to be repaired. PostgreSQL keeps its generated column through
    ALTERs, so there is nothing to do there.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%%'")
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        if not missing:
            return False
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
        for statement in SQLITE_FILL:
            cursor.execute(statement)
    return True

