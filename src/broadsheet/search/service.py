"""Search: keyword and vector retrieval fused into one ranking, filtered, sorted, paged and highlighted;
and the papers similar to one paper.

Rule: plain data out (cards, and snippets escaped first and only then marked with <mark>), the same
for the page, its JSON twin and the API. Semantic search missing, empty or failing degrades to keyword
results with a note; it never turns a search into an error.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from broadsheet.papers.math import TOKEN as MATH_TOKEN
from broadsheet.papers.math import latex_to_text
from broadsheet.papers.models import Paper, PaperAuthor, PaperCategory
from broadsheet.papers.services import CARD_FIELDS, PaperCard, build_cards, card_rows
from broadsheet.search.keyword import (
    ResolvedFilters,
    filter_matching,
    papers_passing,
    resolve_filters,
    run_keyword_search,
)
from broadsheet.search.query import (
    TOKEN,
    ParsedQuery,
    QueryError,
    SearchFilters,
    SearchMode,
    SortOrder,
    parse_query,
    tokenize,
)

logger = logging.getLogger(__name__)

MAX_LIMIT = 100
MAX_RESULTS = 1000  # offset + limit: results past this are not paged to
DEFAULT_LIMIT = 20
# Each retriever contributes its best CANDIDATES to the fusion (more when deep pages are asked for).
CANDIDATES = 100
# Vector neighbours are filtered after the search: ask for more when filters may drop most of them.
FILTERED_VECTOR_CANDIDATES = 1000
SNIPPET_CHARS = 240
SIMILAR_SEARCH_MAX = 500
SIMILAR_KEYWORD_WORDS = 32  # title first, then the abstract: what stands in for a missing vector

KEYWORD = "keyword"
VECTOR = "vector"


@dataclass(frozen=True)
class SearchHit:
    card: PaperCard
    score: float
    sources: tuple[str, ...]  # which retrievers found it: "keyword", "vector"
    title_html: SafeString | None  # the title with matches marked; None when it holds LaTeX (render it)
    snippet_html: SafeString  # an excerpt of the abstract as plain text, escaped, matches marked


@dataclass(frozen=True)
class SearchResults:
    query: ParsedQuery
    mode: SearchMode
    sort: SortOrder
    offset: int
    limit: int
    hits: list[SearchHit]
    has_more: bool
    notes: tuple[str, ...] = ()  # what the reader should know: words left out, semantic search missing
    keyword_plan: str = ""

    @property
    def is_empty_query(self) -> bool:
        return self.query.is_empty


# ---------------------------------------------------------------------------------------------------
# highlighting

_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


@lru_cache(maxsize=1 << 16)
def _stem(token: str) -> str:
    """A crude English stem, only for deciding what to mark (the index has its own stemmer)."""
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


# Words not worth marking: every abstract has them.
UNMARKED_WORDS = frozenset(
    "a an and are as at be been but by can for from has have in into is it its of on or our that the their "
    "then these this those to was we were which with".split()
)


@dataclass(frozen=True)
class _WordMatcher:
    """Decides which tokens of a text to mark. `candidates` finds, in one C-level scan of ASCII text, the
    tokens that start with the stem of a query word; only those are stemmed and checked."""

    stems: frozenset[str]
    prefixes: frozenset[str]
    candidates: re.Pattern[str] | None

    def matches(self, token: str) -> bool:
        folded = token.casefold() if token.isascii() else "".join(tokenize(token))
        # most words of an abstract share no prefix with the query: skip stemming them
        return bool(folded) and folded[:3] in self.prefixes and _stem(folded) in self.stems

    def found(self, text: str) -> Iterator[re.Match[str]]:
        """The tokens of `text` to mark, in order."""
        if self.candidates is None:
            return
        if text.isascii():
            for found in self.candidates.finditer(text):
                if self.matches(found.group()):
                    yield found
        else:  # accents aside: "Schrödinger" matches "schrodinger", which no ASCII pattern sees
            for found in TOKEN.finditer(text):
                if self.matches(found.group()):
                    yield found


@lru_cache(maxsize=256)
def _word_matcher(words: tuple[str, ...]) -> _WordMatcher:
    stems = frozenset(_stem(word) for word in words if word and word not in UNMARKED_WORDS)
    prefixes = frozenset(stem[:3] for stem in stems)
    candidates = None
    if stems:
        alternatives = "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
        # a token (letters and digits, as TOKEN) that starts with one of the stems: a token that matches
        # does (its stem is a prefix of it), and few others do
        candidates = re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*", re.IGNORECASE)
    return _WordMatcher(stems, prefixes, candidates)


def escape(text: str) -> str:
    """Django's escape() (the same five characters, the same entities) without its lazy-string wrapper,
    which cost more than the escaping on a page of snippets."""
    return html.escape(text, quote=True)


def highlight(text: str, words: Iterable[str]) -> SafeString:
    """`text` escaped, with each word matching one of `words` (accents, case and suffixes aside) in
    <mark>. Escaping comes first: only the <mark> tags added here are markup."""
    matcher = _word_matcher(tuple(words))
    parts: list[str] = []
    position = 0
    for found in matcher.found(text):
        parts.append(escape(text[position : found.start()]))
        parts.append("<mark>" + escape(found.group()) + "</mark>")
        position = found.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text went through escape()


def _first_match(text: str, words: Sequence[str]) -> int:
    found = next(_word_matcher(tuple(words)).found(text), None)
    return found.start() if found is not None else 0


def snippet(
    text: str,
    words: Iterable[str],
    *,
    chars: int = SNIPPET_CHARS,
    more_before: bool = False,
    more_after: bool = False,
) -> SafeString:
    """About `chars` characters of `text` around its first match (its start when nothing matches),
    cut at word boundaries, highlighted. `more_before`/`more_after`: `text` is itself an excerpt."""
    words = list(words)
    if len(text) <= chars:
        excerpt = highlight(text, words)
        start, end = 0, len(text)
    else:
        first = _first_match(text, words)
        start = max(0, first - chars // 4)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 else start
        end = min(len(text), start + chars)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        excerpt = highlight(text[start:end], words)
    before = "…" if start or more_before else ""
    after = "…" if end < len(text) or more_after else ""
    return mark_safe(before + excerpt + after)  # noqa: S308 - highlight() escaped the text


_LATEX = re.compile(r"[$\\]")
# Formulas and LaTeX commands in an abstract: an excerpt is widened so that it never cuts one.
_LATEX_SPANS = MATH_TOKEN


def _abstract_snippet(abstract: str, words: Sequence[str]) -> SafeString:
    """The snippet of an abstract as plain text. LaTeX is converted (pylatexenc, ~1 ms a formula) only in
    a window around the first match, not in the whole abstract: that conversion cost a search at 1M papers
    more than its database queries."""
    if not _LATEX.search(abstract):
        return snippet(abstract, words)
    if len(abstract) <= 3 * SNIPPET_CHARS:
        return snippet(latex_to_text(abstract), words)
    first = _first_match(abstract, words)
    # the snippet keeps SNIPPET_CHARS // 4 before the match and the rest after it; LaTeX source is longer
    # than its text, so half again as much source on each side is enough
    start = max(0, first - SNIPPET_CHARS // 2)
    end = min(len(abstract), first + 3 * SNIPPET_CHARS // 2)
    for span in _LATEX_SPANS.finditer(abstract):
        if span.start() >= end:
            break
        if span.start() < start < span.end():
            start = span.start()
        if span.start() < end < span.end():
            end = span.end()
    window = latex_to_text(abstract[start:end])
    return snippet(window, words, more_before=start > 0, more_after=end < len(abstract))


def _hit(card: PaperCard, score: float, sources: tuple[str, ...], words: Sequence[str]) -> SearchHit:
    title_html = None if _LATEX.search(card.title) else highlight(card.title, words)
    return SearchHit(card, score, sources, title_html, _abstract_snippet(card.abstract, words))


# ---------------------------------------------------------------------------------------------------
# filters as ORM conditions (for vector neighbours and for queries without text)


def filtered_papers(resolved: ResolvedFilters) -> QuerySet[Paper]:
    """Live papers passing the filters (a listing; for a page of given ids, keyword.papers_passing)."""
    papers = Paper.objects.filter(is_deleted=False)
    if resolved.date_from is not None:
        papers = papers.filter(announced_on__gte=resolved.date_from)
    if resolved.date_to is not None:
        papers = papers.filter(announced_on__lte=resolved.date_to)
    if resolved.category_codes is not None:
        in_category = PaperCategory.objects.filter(category_id__in=resolved.category_codes)
        papers = papers.filter(id__in=in_category.values("paper_id"))
    for group in resolved.author_groups:
        papers = papers.filter(id__in=PaperAuthor.objects.filter(author_id__in=group).values("paper_id"))
    return papers


# ---------------------------------------------------------------------------------------------------
# vector retrieval


def embedder_name() -> str:
    """The configured embedding model, without loading it."""
    name = settings.BROADSHEET.get("EMBEDDER")
    if name:
        return str(name)
    from broadsheet.search.embedders import DEFAULT_EMBEDDER

    return DEFAULT_EMBEDDER


def _vector_neighbours(vector_of, k: int, notes: list[str]) -> list[tuple[int, float]]:
    """Nearest papers of the configured model's index, or [] with a note when that is not possible.
    `vector_of(embedder_name)` gives the query vector (or None)."""
    try:
        from broadsheet.search.vector_index import get_vector_index
    except ImportError:
        notes.append("Semantic search is not installed; these are keyword results.")
        return []
    name = embedder_name()
    try:
        index = get_vector_index(name)
        if len(index) == 0:
            notes.append("Semantic search has no paper vectors yet (run `broadsheet embed`).")
            return []
        vector = vector_of(name)
        if vector is None:
            return []
        return index.search(vector, k)
    except Exception:  # a broken model or index file must not take the search page down
        logger.exception("vector search failed; answering with keyword results")
        notes.append("Semantic search is unavailable right now; these are keyword results.")
        return []


# Hybrid search embeds the query and searches the vector index in a thread while the keyword query runs:
# ONNX Runtime, faiss and SQLite all release the GIL, so on 2 cores the two overlap. The thread does no
# database work (its own connection would not see the request's transaction); faiss runs single-threaded
# there (OpenMP's thread count is per thread) and ONNX Runtime's workers do not spin (embedders.py), or
# the three would fight over the cores (docs/decisions.md).
_VECTOR_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="broadsheet-vector")
_single_threaded = threading.local()


def _neighbours_beside(vector_of, k: int) -> tuple[list[tuple[int, float]], list[str]]:
    """_vector_neighbours in a _VECTOR_THREADS thread: the neighbours and the notes it made."""
    if not getattr(_single_threaded, "done", False):
        try:
            import faiss

            faiss.omp_set_num_threads(1)
        except ImportError:
            pass
        _single_threaded.done = True
    notes: list[str] = []
    return _vector_neighbours(vector_of, k, notes), notes


def _embed_query(text: str):
    def vector_of(name: str):
        from broadsheet.search.embedders import get_embedder

        return get_embedder(name).embed([text])[0]

    return vector_of


def _keep_allowed(
    hits: Sequence[tuple[int, float]], parsed: ParsedQuery, resolved: ResolvedFilters
) -> list[tuple[int, float]]:
    """Vector hits that are live papers passing the filters, the phrases and the exclusions, in order."""
    ids = [paper_id for paper_id, _ in hits]
    if not ids:
        return []
    if resolved.is_empty:
        # phrases or exclusions only: filter_matching keeps live papers alone (deleted ones are not in the
        # full-text index, and a check of exclusions alone looks at is_deleted)
        allowed = filter_matching(parsed, ids)
    else:
        allowed = papers_passing(resolved, ids)
        if parsed.phrases or parsed.excluded:
            allowed &= filter_matching(parsed, list(allowed))
    return [(paper_id, score) for paper_id, score in hits if paper_id in allowed]


# ---------------------------------------------------------------------------------------------------
# the search


def _check_paging(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise QueryError("offset must be 0 or more")
    if offset + limit > MAX_RESULTS:
        raise QueryError(
            f"results are paged up to the first {MAX_RESULTS}: offset + limit must not exceed it"
        )


def _mode(value: SearchMode | str) -> SearchMode:
    try:
        return SearchMode(value)
    except ValueError:
        raise QueryError(f"mode must be one of: {', '.join(SearchMode)}") from None


def _sort(value: SortOrder | str) -> SortOrder:
    try:
        return SortOrder(value)
    except ValueError:
        raise QueryError(f"sort must be one of: {', '.join(SortOrder)}") from None


def search_papers(
    text: str | ParsedQuery,
    *,
    mode: SearchMode | str = SearchMode.HYBRID,
    sort: SortOrder | str = SortOrder.RELEVANCE,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    filters: SearchFilters | None = None,
    now: datetime | None = None,
) -> SearchResults:
    """One page of results for a query (text in the query language, or already parsed).

    hybrid: keyword and vector candidates fused by normalised score fusion (fuse_rankings); keyword
    or vector: one of them. `filters` add to the query's own operators. sort=newest orders the same
    candidates by announcement day, sort=trending by trending score as of `now` (default: the current
    time). A query of filters alone lists the matching papers, newest first. Raises QueryError for a
    query or paging that cannot be run.
    """
    now = now or timezone.now()
    mode = _mode(mode)
    sort = _sort(sort)
    _check_paging(limit, offset)
    parsed = parse_query(text) if isinstance(text, str) else text
    merged = parsed.filters.merge(filters) if filters is not None else parsed.filters
    notes: list[str] = []
    if parsed.ignored_terms:
        notes.append(f"Only the first {len(parsed.terms)} words were searched for.")

    def results(ranked: list[tuple[int, float]], sources: dict[int, tuple[str, ...]], plan: str = ""):
        return _page(parsed, mode, sort, offset, limit, ranked, sources, notes, plan, now)

    if not parsed.has_text and merged.is_empty:
        return results([], {})
    resolved = resolve_filters(merged)
    if resolved.matches_nothing:
        return results([], {})
    pool = max(CANDIDATES, offset + limit + 1)

    if not parsed.has_text:
        papers = filtered_papers(resolved).order_by(F("announced_on").desc(nulls_last=True), "-arxiv_id")
        ids = list(papers.values_list("id", flat=True)[: MAX_RESULTS if parsed.excluded else pool])
        if parsed.excluded:
            kept = filter_matching(parsed, ids)
            ids = [paper_id for paper_id in ids if paper_id in kept]
        ranked = [(paper_id, float(len(ids) - position)) for position, paper_id in enumerate(ids)]
        return _page(parsed, mode, SortOrder.NEWEST, offset, limit, ranked, {}, notes, "filters", now)

    narrowed = not resolved.is_empty or parsed.phrases or parsed.excluded
    k = max(pool, FILTERED_VECTOR_CANDIDATES) if narrowed else pool
    beside = _VECTOR_THREADS.submit(_neighbours_beside, _embed_query(parsed.text), k) if (
        mode == SearchMode.HYBRID
    ) else None
    keyword_hits: list[tuple[int, float]] = []
    plan = ""
    if mode in (SearchMode.HYBRID, SearchMode.KEYWORD):
        # keyword alone by relevance shows its own ranking, whose first n are the same whatever the limit:
        # it needs one past the page (to tell whether there is a next), not the pool fusion or sorting needs
        alone = mode == SearchMode.KEYWORD and sort == SortOrder.RELEVANCE
        keyword = run_keyword_search(parsed, limit=offset + limit + 1 if alone else pool, filters=merged)
        keyword_hits, plan = keyword.hits, keyword.plan
        if keyword.dropped_terms:
            dropped = ", ".join(keyword.dropped_terms)
            notes.append(f"Very common words were not searched for: {dropped}.")
    vector_hits: list[tuple[int, float]] = []
    if mode in (SearchMode.HYBRID, SearchMode.VECTOR):
        if beside is not None:
            found, vector_notes = beside.result()
            notes.extend(vector_notes)
        else:
            found = _vector_neighbours(_embed_query(parsed.text), k, notes)
        # Unfiltered, the index's neighbours need no database check: the embed job removes deleted papers
        # from the index, and a page never shows one (see _page)
        vector_hits = (_keep_allowed(found, parsed, resolved) if narrowed else list(found))[:pool]

    sources: dict[int, tuple[str, ...]] = {}
    for name, hits in ((KEYWORD, keyword_hits), (VECTOR, vector_hits)):
        for paper_id, _ in hits:
            sources[paper_id] = (*sources.get(paper_id, ()), name)
    if keyword_hits and vector_hits:
        # normalised score fusion, equal weights: above both retrievers on all four evaluation collections,
        # where rank fusion fell below vector-only on CSFCube (docs/benchmarks.md)
        from broadsheet.search.fusion import fuse_rankings

        ranked = fuse_rankings([keyword_hits, vector_hits])
    else:
        ranked = list(keyword_hits or vector_hits)
    return results(ranked, sources, plan)


def _page(
    parsed: ParsedQuery,
    mode: SearchMode,
    sort: SortOrder,
    offset: int,
    limit: int,
    ranked: list[tuple[int, float]],
    sources: dict[int, tuple[str, ...]],
    notes: list[str],
    plan: str,
    now: datetime,
) -> SearchResults:
    scores = dict(ranked)
    ids = [paper_id for paper_id, _ in ranked]
    if sort == SortOrder.TRENDING and ids:
        # the matches by their trending score as of `now`; matches without one follow, best match first
        trending = _trending_now(ids, now)
        position = {paper_id: index for index, paper_id in enumerate(ids)}
        ids.sort(key=lambda paper_id: (-trending.get(paper_id, -1.0), position[paper_id]))
    if sort == SortOrder.NEWEST and ids:
        days = dict(Paper.objects.filter(id__in=ids).values_list("id", "announced_on"))
        # newest day first, undated last; within a day, the better match first
        position = {paper_id: index for index, paper_id in enumerate(ids)}
        ids.sort(key=lambda paper_id: (
            days.get(paper_id) is None, _negated_day(days.get(paper_id)), position[paper_id]
        ))
    page_ids = ids[offset : offset + limit]
    rows = card_rows(page_ids)
    present = [paper_id for paper_id in page_ids if paper_id in rows]
    cards = build_cards([rows[paper_id] for paper_id in present])
    words = parsed.highlight_words
    hits = [
        _hit(card, scores[paper_id], sources.get(paper_id, ()), words)
        for paper_id, card in zip(present, cards, strict=True)
    ]
    return SearchResults(
        query=parsed,
        mode=mode,
        sort=sort,
        offset=offset,
        limit=limit,
        hits=hits,
        has_more=len(ids) > offset + limit and offset + limit < MAX_RESULTS,
        notes=tuple(notes),
        keyword_plan=plan,
    )


def _trending_now(ids: list[int], now: datetime) -> dict[int, float]:
    """Trending scores of these papers decayed to `now` by the published formula (trending/score.py)."""
    from broadsheet.trending.models import TrendingScore
    from broadsheet.trending.score import score_at

    rows = TrendingScore.objects.filter(paper_id__in=ids).values_list(
        "paper_id", "points", "age_hours", "computed_at"
    )
    return {paper_id: score_at(points, age, computed_at, now) for paper_id, points, age, computed_at in rows}


def _negated_day(day) -> int:
    return -day.toordinal() if day is not None else 0


# ---------------------------------------------------------------------------------------------------
# similar papers


def similar_papers(
    paper: Paper | str,
    *,
    k: int = 10,
    newer_only: bool = False,
    same_category: bool = False,
) -> list[PaperCard]:
    """Up to `k` papers nearest in meaning to `paper` (a Paper or an arXiv id), nearest first; deleted
    papers and the paper itself left out. `newer_only`: announced after it; `same_category`: with its
    primary category. Without a stored vector for it, papers sharing its rarest title and abstract
    words stand in (keyword search)."""
    if isinstance(paper, str):
        found = Paper.objects.filter(arxiv_id=paper).first()
        if found is None:
            return []
        paper = found
    if k <= 0:
        return []
    candidates = Paper.objects.filter(is_deleted=False).exclude(id=paper.id)
    if newer_only:
        if paper.announced_on is None:
            return []
        candidates = candidates.filter(announced_on__gt=paper.announced_on)
    if same_category:
        if paper.primary_category_id is None:
            return []
        candidates = candidates.filter(primary_category_id=paper.primary_category_id)

    narrowed = newer_only or same_category
    search_k = min(SIMILAR_SEARCH_MAX, k * (20 if narrowed else 2) + 1)
    notes: list[str] = []
    neighbours = _vector_neighbours(_stored_vector(paper), search_k, notes)
    ids = [paper_id for paper_id, _ in neighbours if paper_id != paper.id]
    if not ids:
        words = tuple(dict.fromkeys(tokenize(f"{paper.title} {paper.abstract}")))[:SIMILAR_KEYWORD_WORDS]
        parsed = ParsedQuery(text=paper.title, terms=words)
        hits = run_keyword_search(parsed, limit=search_k).hits
        ids = [paper_id for paper_id, _ in hits if paper_id != paper.id]
    allowed = set(candidates.filter(id__in=ids).values_list("id", flat=True))
    chosen = [paper_id for paper_id in ids if paper_id in allowed][:k]
    rows = {row["id"]: row for row in Paper.objects.filter(id__in=chosen).values(*CARD_FIELDS)}
    return build_cards([rows[paper_id] for paper_id in chosen if paper_id in rows])


def _stored_vector(paper: Paper):
    def vector_of(name: str):
        from broadsheet.search.models import PaperEmbedding

        row = (
            PaperEmbedding.objects.filter(paper_id=paper.id, model_name=name)
            .values_list("vector", "dim")
            .first()
        )
        if row is None:
            return None
        vector = np.frombuffer(bytes(row[0]), dtype="<f2").astype(np.float32)
        return vector if len(vector) == row[1] else None

    return vector_of
