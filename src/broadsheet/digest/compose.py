"""Composing digests: which new papers each subscriber gets, in what order, and why each one is there.

Rule: a digest holds only papers announced since the subscriber's last digest and never one already sent to
them (DeliveredPaper); include/exclude keywords are hard filters; the rest is ranked by one published blend
(docs/digest.md, "Composition") and every item carries the reasons that put it there. What all subscribers
share is loaded once into a ComposeContext, so each digest costs a few array operations and one small query.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.conf import settings

from broadsheet.accounts.models import CollectionItem
from broadsheet.digest.models import DeliveredPaper, Subscriber
from broadsheet.papers.math import latex_to_text
from broadsheet.papers.models import Paper, PaperAuthor, PaperCategory
from broadsheet.papers.services import paper_path
from broadsheet.search.embedding import decode_vector
from broadsheet.search.models import PaperEmbedding
from broadsheet.trending.score import TrendingEntry, count_trending, trending_papers

# The blend: score = sum of weight * component, each component in [0, 1] (see docs/digest.md).
AUTHOR_WEIGHT = 1.0  # a followed author wrote it: the strongest signal a reader gives
SIMILARITY_WEIGHT = 0.8  # close to a seed paper
TRENDING_WEIGHT = 0.6  # what everyone reads
CATEGORY_WEIGHT = 0.3  # in one of the reader's categories: broad, so weak
KEYWORD_WEIGHT = 0.2  # matches an include keyword (a hard filter too, so mostly a reason)
# Cosine similarity of all-MiniLM-L6-v2 vectors: unrelated abstracts sit near 0.1-0.3 and papers on the same
# problem around 0.5-0.8, so similarity counts from 0.4 and is full at 0.75.
SIMILARITY_FLOOR = 0.4
SIMILARITY_FULL = 0.75

MIN_SIZE = 5
MAX_SIZE = 50
DAILY_LOOKBACK = timedelta(days=1)
WEEKLY_LOOKBACK = timedelta(days=7)
# A subscriber back from a long pause gets the last two weeks, not a month of papers.
MAX_LOOKBACK_DAYS = 14
MAX_SEEDS = 100
REASON_TITLE_CHARS = 80
QUERY_CHUNK = 500  # ids per IN list: some SQLite builds allow 999 parameters


Seed = tuple[int, str, np.ndarray]  # (paper id, title, unit vector)


@dataclass(frozen=True)
class CandidatePaper:
    """A recent paper as composing needs it."""

    paper_id: int
    arxiv_id: str
    version: int
    title: str
    abstract: str
    announced_on: date
    categories: tuple[str, ...]  # primary first
    authors: tuple[tuple[int, str], ...]  # (author id, name as written on the paper), in order


@dataclass
class DigestItem:
    paper_id: int
    arxiv_id: str
    version: int
    title: str  # as stored (LaTeX included); renderers turn it into text
    authors: list[str]
    abstract: str
    categories: list[str]
    announced_on: date
    url: str  # absolute, from settings.BASE_URL
    trending: TrendingEntry | None  # the trending score's components; None: no signal
    score: float  # the blend that ranked it
    reasons: list[str] = field(default_factory=list)


@dataclass
class Digest:
    subscriber_id: int | None
    since_at: datetime  # papers announced after this
    now: datetime
    items: list[DigestItem]
    new_papers: int | None  # papers announced in the window, before any filter (None: not known)

    @property
    def is_empty(self) -> bool:
        return not self.items

    @property
    def paper_ids(self) -> list[int]:
        return [item.paper_id for item in self.items]


def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A keyword matches whole words of casefolded text, plurals included ("LLM" finds "LLMs")."""
    words = keyword.casefold().split()
    if not words:
        return None
    rest = "".join(r"\s+" + re.escape(word) for word in words[1:])
    # "no word character before the first word", checked after it: a pattern that starts with a literal
    # lets the regex engine jump between occurrences of it (20 times faster than a leading lookbehind)
    return re.compile(rf"{re.escape(words[0])}(?<!\w.{{{len(words[0])}}}){rest}(?:s|es)?(?!\w)")


def _clean_keywords(keywords: Iterable[object]) -> list[str]:
    return [" ".join(str(keyword).split()) for keyword in keywords if str(keyword).strip()]


def _short_title(title: str) -> str:
    text = latex_to_text(title)
    return text if len(text) <= REASON_TITLE_CHARS else text[: REASON_TITLE_CHARS - 1].rstrip() + "…"


def _join_names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _paper_url(arxiv_id: str) -> str:
    return settings.BASE_URL + paper_path(arxiv_id)


class ComposeContext:
    """Everything digests share, for the papers announced in the last MAX_LOOKBACK_DAYS days before `now`:
    texts, authors, categories, trending components and embeddings, as arrays over rows ordered by
    (announced_on, arxiv_id), so that "announced since" is a contiguous slice."""

    def __init__(
        self,
        now: datetime,
        papers: list[CandidatePaper],
        trending: dict[int, TrendingEntry],
        vectors: np.ndarray | None,
    ) -> None:
        self.now = now
        self.papers = papers
        self.trending = trending
        self.days = np.array([paper.announced_on.toordinal() for paper in papers], dtype=np.int64)
        self.paper_ids = np.array([paper.paper_id for paper in papers], dtype=np.int64)
        self.row_of = {paper.paper_id: row for row, paper in enumerate(papers)}
        scores = np.array(
            [trending[paper.paper_id].score if paper.paper_id in trending else 0.0 for paper in papers],
            dtype=np.float64,
        )
        top = scores.max() if len(scores) else 0.0
        # trending scores are heavy-tailed: the square root keeps the 20th paper visible beside the first
        self.trend = np.sqrt(scores / top) if top > 0 else np.zeros(len(papers))
        self.vectors = vectors  # float32 (rows, dim), zero rows where a paper has no embedding
        self._category_rows: dict[str, list[int]] = defaultdict(list)
        self._author_rows: dict[int, list[int]] = defaultdict(list)
        for row, paper in enumerate(papers):
            for code in paper.categories:
                self._category_rows[code].append(row)
            for author_id, _ in paper.authors:
                self._author_rows[author_id].append(row)
        self._keyword_masks: dict[str, np.ndarray] = {}
        self._searchable: tuple[str, np.ndarray] | None = None
        self._urls: dict[int, str] = {}
        self._delivered: dict[int, set[int]] = {}
        self._collections: dict[int, list[int]] = {}
        self._category_masks: dict[tuple[str, ...], np.ndarray] = {}
        self._seed_cache: dict[int, tuple[str, np.ndarray | None]] = {}
        self._paper_ids_by_arxiv: dict[str, int | None] = {paper.arxiv_id: paper.paper_id for paper in papers}

    @classmethod
    def build(cls, now: datetime, *, paper_ids: Sequence[int] | None = None) -> ComposeContext:
        """The context for digests composed at `now`; with `paper_ids`, for exactly those papers whatever
        their age (re-rendering a digest already sent)."""
        rows = Paper.objects.filter(is_deleted=False, announced_on__isnull=False)
        if paper_ids is None:
            today = now.astimezone(UTC).date()
            rows = rows.filter(
                announced_on__gt=today - timedelta(days=MAX_LOOKBACK_DAYS), announced_on__lte=today
            )
            fetched = list(
                rows.order_by("announced_on", "arxiv_id").values_list(
                    "id", "arxiv_id", "version", "title", "abstract", "announced_on"
                )
            )
        else:
            fetched = []
            wanted = list(paper_ids)
            for start in range(0, len(wanted), QUERY_CHUNK):
                fetched.extend(
                    rows.filter(id__in=wanted[start : start + QUERY_CHUNK]).values_list(
                        "id", "arxiv_id", "version", "title", "abstract", "announced_on"
                    )
                )
            fetched.sort(key=lambda row: (row[5], row[1]))
        ids = [row[0] for row in fetched]
        low, high = (min(ids), max(ids)) if ids else (0, -1)
        wanted_ids = set(ids)
        # ranges of ids instead of IN lists: one index scan each, and no parameter limit
        categories: dict[int, list[str]] = defaultdict(list)
        for paper_id, code in (
            PaperCategory.objects.filter(paper_id__gte=low, paper_id__lte=high)
            .order_by("paper_id", "position")
            .values_list("paper_id", "category_id")
        ):
            if paper_id in wanted_ids:
                categories[paper_id].append(code)
        authors: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for paper_id, author_id, name in (
            PaperAuthor.objects.filter(paper_id__gte=low, paper_id__lte=high)
            .order_by("paper_id", "position")
            .values_list("paper_id", "author_id", "name")
        ):
            if paper_id in wanted_ids:
                authors[paper_id].append((author_id, name))
        papers = [
            CandidatePaper(
                paper_id=paper_id,
                arxiv_id=arxiv_id,
                version=version,
                title=title,
                abstract=abstract,
                announced_on=announced_on,  # never None: the query leaves those out
                categories=tuple(categories[paper_id]),
                authors=tuple(authors[paper_id]),
            )
            for paper_id, arxiv_id, version, title, abstract, announced_on in fetched
            if announced_on is not None
        ]
        trending = {
            entry.paper_id: entry
            for entry in trending_papers(now, limit=count_trending())
            if entry.paper_id in wanted_ids and entry.points > 0
        }
        return cls(now, papers, trending, _load_vectors(ids, low, high))

    # -- masks shared by subscribers with the same preference ----------------------------------------

    def keyword_mask(self, keyword: str) -> np.ndarray:
        """Rows whose title or abstract contains `keyword` (computed once per keyword per context)."""
        mask = self._keyword_masks.get(keyword.casefold())
        if mask is None:
            pattern = _keyword_pattern(keyword)
            mask = np.zeros(len(self.papers), dtype=bool)
            if pattern is not None and self.papers:
                # one scan of all texts joined (NUL between papers: no phrase spans two) beats a search
                # per paper by an order of magnitude; match offsets map back to rows
                text, starts = self._searchable_text()
                offsets = [match.start() for match in pattern.finditer(text)]
                if offsets:
                    mask[np.searchsorted(starts, offsets, side="right") - 1] = True
            self._keyword_masks[keyword.casefold()] = mask
        return mask

    def _searchable_text(self) -> tuple[str, np.ndarray]:
        if self._searchable is None:
            parts = [f"{paper.title}\n{paper.abstract}".casefold() for paper in self.papers]
            starts = np.cumsum([0] + [len(part) + 1 for part in parts[:-1]], dtype=np.int64)
            self._searchable = ("\x00".join(parts), starts)
        return self._searchable

    def paper_url(self, row: int) -> str:
        url = self._urls.get(row)
        if url is None:
            url = self._urls[row] = _paper_url(self.papers[row].arxiv_id)
        return url

    # -- papers already sent -------------------------------------------------------------------------

    def prefetch(self, subscribers: Sequence[Subscriber]) -> None:
        """Load in a few queries what composing these subscribers next will read: the context's papers each
        already received, their collections, and their seed papers' vectors. For a fan-out in batches; it
        replaces the previous batch, so memory stays bounded."""
        ids = [subscriber.pk for subscriber in subscribers]
        self._delivered = {subscriber_id: set() for subscriber_id in ids}
        if len(self.paper_ids):
            low, high = int(self.paper_ids.min()), int(self.paper_ids.max())
            for start in range(0, len(ids), QUERY_CHUNK):
                for subscriber_id, paper_id in DeliveredPaper.objects.filter(
                    subscriber_id__in=ids[start : start + QUERY_CHUNK], paper_id__gte=low, paper_id__lte=high
                ).values_list("subscriber_id", "paper_id"):
                    self._delivered[subscriber_id].add(paper_id)
        users = sorted({s.user_id for s in subscribers if s.user_id is not None and s.seeds_from_collections})
        self._collections = {user_id: [] for user_id in users}
        for start in range(0, len(users), QUERY_CHUNK):
            for user_id, paper_id in (
                CollectionItem.objects.filter(collection__owner_id__in=users[start : start + QUERY_CHUNK])
                .order_by("-added_at", "-pk")
                .values_list("collection__owner_id", "paper_id")
            ):
                if len(self._collections[user_id]) < MAX_SEEDS:
                    self._collections[user_id].append(paper_id)
        arxiv_ids = [str(arxiv_id) for subscriber in subscribers for arxiv_id in subscriber.seed_papers or []]
        saved = [paper_id for papers in self._collections.values() for paper_id in papers]
        self.seeds(list(dict.fromkeys(self.paper_ids_for(arxiv_ids) + saved)))

    def collection_paper_ids(self, subscriber: Subscriber) -> list[int]:
        """Papers the subscriber's account saved in its collections, newest first."""
        if subscriber.user_id is None:
            return []
        known = self._collections.get(subscriber.user_id)
        if known is not None:
            return known
        return list(
            CollectionItem.objects.filter(collection__owner_id=subscriber.user_id)
            .order_by("-added_at", "-pk")
            .values_list("paper_id", flat=True)[:MAX_SEEDS]
        )

    def delivered(self, subscriber_id: int, low: int, high: int) -> set[int]:
        """Ids between `low` and `high` of papers the subscriber received."""
        known = self._delivered.get(subscriber_id)
        if known is not None:
            return known
        return set(
            DeliveredPaper.objects.filter(
                subscriber_id=subscriber_id, paper_id__gte=low, paper_id__lte=high
            ).values_list("paper_id", flat=True)
        )

    def category_mask(self, codes: Iterable[str]) -> np.ndarray:
        key = tuple(sorted({str(code) for code in codes}))
        mask = self._category_masks.get(key)
        if mask is None:
            mask = np.zeros(len(self.papers), dtype=bool)
            for code in key:
                mask[self._category_rows.get(code, [])] = True
            self._category_masks[key] = mask
        return mask

    def author_rows(self, author_id: int) -> list[int]:
        return self._author_rows.get(author_id, [])

    # -- seeds ---------------------------------------------------------------------------------------

    def paper_ids_for(self, arxiv_ids: Sequence[str]) -> list[int]:
        """Paper ids of arXiv ids (a version suffix is ignored), in order; unknown ids are left out."""
        bare = [re.sub(r"v\d+$", "", str(arxiv_id).strip()) for arxiv_id in arxiv_ids]
        missing = list(dict.fromkeys(a for a in bare if a not in self._paper_ids_by_arxiv))
        for start in range(0, len(missing), QUERY_CHUNK):
            chunk = missing[start : start + QUERY_CHUNK]
            found = dict(Paper.objects.filter(arxiv_id__in=chunk).values_list("arxiv_id", "id"))
            for arxiv_id in chunk:
                self._paper_ids_by_arxiv[arxiv_id] = found.get(arxiv_id)
        ids = [self._paper_ids_by_arxiv[arxiv_id] for arxiv_id in bare]
        return [paper_id for paper_id in ids if paper_id is not None]

    def seeds(self, paper_ids: Sequence[int]) -> list[Seed]:
        """(paper id, title, unit vector) of the seed papers that have an embedding of the current model."""
        missing = list(dict.fromkeys(p for p in paper_ids if p not in self._seed_cache))
        if missing:
            titles: dict[int, str] = {}
            for start in range(0, len(missing), QUERY_CHUNK):
                chunk = missing[start : start + QUERY_CHUNK]
                titles.update(Paper.objects.filter(id__in=chunk).values_list("id", "title"))
            vectors: dict[int, np.ndarray] = {}
            for start in range(0, len(missing), QUERY_CHUNK):
                vectors.update(
                    (paper_id, decode_vector(vector))
                    for paper_id, vector in PaperEmbedding.objects.filter(
                        model_name=_embedder_name(), paper_id__in=missing[start : start + QUERY_CHUNK]
                    ).values_list("paper_id", "vector")
                )
            for paper_id in missing:
                self._seed_cache[paper_id] = (titles.get(paper_id, ""), vectors.get(paper_id))
        seeds = []
        for paper_id in paper_ids:
            title, vector = self._seed_cache[paper_id]
            if vector is not None and self.vectors is not None and vector.shape[0] == self.vectors.shape[1]:
                seeds.append((paper_id, title, vector))
        return seeds


def _embedder_name() -> str:
    from broadsheet.search.service import embedder_name

    return embedder_name()


def _load_vectors(ids: list[int], low: int, high: int) -> np.ndarray | None:
    """The context's embedding matrix, row for row; None when no paper in it has one."""
    if not ids:
        return None
    row_of = {paper_id: row for row, paper_id in enumerate(ids)}
    matrix: np.ndarray | None = None
    for paper_id, vector in (
        PaperEmbedding.objects.filter(model_name=_embedder_name(), paper_id__gte=low, paper_id__lte=high)
        .values_list("paper_id", "vector")
        .iterator(chunk_size=2000)
    ):
        row = row_of.get(paper_id)
        if row is None:
            continue
        decoded = decode_vector(vector)
        if matrix is None:
            matrix = np.zeros((len(ids), decoded.shape[0]), dtype=np.float32)
        if decoded.shape[0] == matrix.shape[1]:
            matrix[row] = decoded
    return matrix


def default_since_at(subscriber: Subscriber, now: datetime) -> datetime:
    """Where a digest starts when the subscriber has none before: a day back, a week for weekly ones."""
    weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
    return now - (WEEKLY_LOOKBACK if weekly else DAILY_LOOKBACK)


def followed_author_ids(subscriber: Subscriber) -> set[int]:
    """The Author ids the subscriber follows (anything that is not an id is ignored)."""
    ids = set()
    for value in subscriber.followed_authors or []:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def seed_paper_ids(subscriber: Subscriber, context: ComposeContext) -> tuple[list[int], set[int]]:
    """(seed paper ids, the ones among them saved in the subscriber's collections)."""
    explicit = context.paper_ids_for([str(arxiv_id) for arxiv_id in subscriber.seed_papers or []])
    saved = context.collection_paper_ids(subscriber) if subscriber.seeds_from_collections else []
    saved_set = set(saved) - set(explicit)
    ordered = list(dict.fromkeys([*explicit, *saved]))
    return ordered[:MAX_SEEDS], saved_set


@dataclass
class _Ranked:
    rows: np.ndarray  # context rows, best first
    scores: np.ndarray
    trend: np.ndarray
    similarity: np.ndarray  # raw cosine to the nearest seed (0 without seeds)
    nearest_seed: np.ndarray  # index into seeds
    authors: np.ndarray
    categories: np.ndarray
    keywords: np.ndarray


def _score_rows(
    subscriber: Subscriber, context: ComposeContext, rows: np.ndarray, seeds: list[Seed]
) -> _Ranked:
    """Every component of the blend for `rows` (hard filters not applied)."""
    count = len(rows)
    trend = np.zeros(count)
    if subscriber.include_trending:
        trend = context.trend[rows].copy()
        if subscriber.trending_categories:
            trend *= context.category_mask(subscriber.trending_categories)[rows]
    categories = (
        context.category_mask(subscriber.categories)[rows] if subscriber.categories else np.zeros(count, bool)
    )
    authors = np.zeros(count, dtype=bool)
    if subscriber.followed_authors:
        followed = np.zeros(len(context.papers), dtype=bool)
        for author_id in followed_author_ids(subscriber):
            followed[context.author_rows(author_id)] = True
        authors = followed[rows]
    include = _clean_keywords(subscriber.include_keywords or [])
    keywords = np.zeros(count, dtype=bool)
    for keyword in include:
        keywords |= context.keyword_mask(keyword)[rows]
    similarity = np.zeros(count, dtype=np.float32)
    nearest_seed = np.zeros(count, dtype=np.int64)
    if seeds and context.vectors is not None and count:
        # rows lie in one contiguous window: multiply the window (a view), then pick the rows
        low, high = int(rows.min()), int(rows.max()) + 1
        seed_matrix = np.stack([vector for _, _, vector in seeds])
        cosines = (context.vectors[low:high] @ seed_matrix.T)[rows - low]
        nearest_seed = cosines.argmax(axis=1)
        similarity = cosines[np.arange(count), nearest_seed]
    similar = np.clip((similarity - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR), 0.0, 1.0)
    scores = (
        AUTHOR_WEIGHT * authors
        + SIMILARITY_WEIGHT * similar
        + TRENDING_WEIGHT * trend
        + CATEGORY_WEIGHT * categories
        + KEYWORD_WEIGHT * keywords
    )
    return _Ranked(rows, scores, trend, similarity, nearest_seed, authors, categories, keywords)


def _filtered(ranked: _Ranked, keep: np.ndarray) -> _Ranked:
    return _Ranked(*(getattr(ranked, name)[keep] for name in ranked.__dataclass_fields__))


def _reasons(
    subscriber: Subscriber,
    context: ComposeContext,
    paper: CandidatePaper,
    ranked: _Ranked,
    position: int,
    seeds: list[Seed],
    saved_seeds: set[int],
) -> list[str]:
    reasons = []
    if ranked.authors[position]:
        followed = followed_author_ids(subscriber)
        names = list(dict.fromkeys(name for author_id, name in paper.authors if author_id in followed))
        reasons.append(f"By {_join_names(names)}, whom you follow")
    if ranked.similarity[position] >= SIMILARITY_FLOOR:
        seed_id, seed_title, _ = seeds[int(ranked.nearest_seed[position])]
        kind = "saved paper" if seed_id in saved_seeds else "seed paper"
        reasons.append(f"Similar to your {kind} “{_short_title(seed_title)}”")
    if ranked.trend[position] > 0:
        entry = context.trending[paper.paper_id]
        wanted = set(subscriber.trending_categories or [])
        where = next((code for code in paper.categories if not wanted or code in wanted), None)
        upvotes = entry.upvotes + entry.hf_upvotes
        if upvotes:
            signal = f"▲ {upvotes:,}"
        elif entry.stars_gained_week > 0:
            signal = f"+{entry.stars_gained_week:,} GitHub stars this week"
        else:
            signal = f"{entry.views_week:,} views this week"
        reasons.append(f"Trending in {where} ({signal})" if where else f"Trending ({signal})")
    if ranked.keywords[position]:
        matched = [
            keyword
            for keyword in _clean_keywords(subscriber.include_keywords or [])
            if context.keyword_mask(keyword)[ranked.rows[position]]
        ]
        quoted = _join_names([f"“{keyword}”" for keyword in matched])
        reasons.append(f"Matches your keyword{'s' if len(matched) > 1 else ''} {quoted}")
    if ranked.categories[position]:
        wanted = set(subscriber.categories)
        code = next(code for code in paper.categories if code in wanted)
        reasons.append(f"New in {code}, one of your categories")
    return reasons


def _item(context: ComposeContext, row: int, score: float, reasons: list[str]) -> DigestItem:
    paper = context.papers[row]
    return DigestItem(
        paper_id=paper.paper_id,
        arxiv_id=paper.arxiv_id,
        version=paper.version,
        title=paper.title,
        authors=[name for _, name in paper.authors],
        abstract=paper.abstract,
        categories=list(paper.categories),
        announced_on=paper.announced_on,
        url=context.paper_url(row),
        trending=context.trending.get(paper.paper_id),
        score=round(float(score), 6),
        reasons=reasons,
    )


def digest_size(subscriber: Subscriber) -> int:
    return min(max(int(subscriber.size or MIN_SIZE), MIN_SIZE), MAX_SIZE)


def compose_digest(
    subscriber: Subscriber,
    *,
    since_at: datetime | None,
    now: datetime,
    context: ComposeContext | None = None,
) -> Digest:
    """The digest of `subscriber` at `now`: papers announced after `since_at` (None: a day back, a week
    for weekly subscribers; never more than MAX_LOOKBACK_DAYS), best first, at most `size` of them."""
    if context is None:
        context = ComposeContext.build(now)
    if since_at is None:
        since_at = default_since_at(subscriber, now)
    since_at = max(since_at, now - timedelta(days=MAX_LOOKBACK_DAYS))
    # arXiv announces a day's papers at 00:00 UTC: "announced after since_at" is "on a later UTC day"
    first_day = since_at.astimezone(UTC).date().toordinal() + 1
    last_day = now.astimezone(UTC).date().toordinal()
    start, end = np.searchsorted(context.days, [first_day, last_day + 1])
    rows = np.arange(start, end, dtype=np.int64)
    new_papers = len(rows)
    if len(rows):
        window_ids = context.paper_ids[start:end]
        delivered = context.delivered(subscriber.pk, int(window_ids.min()), int(window_ids.max()))
        if delivered:
            rows = rows[~np.isin(context.paper_ids[rows], list(delivered))]
    keep = np.ones(len(rows), dtype=bool)
    for keyword in _clean_keywords(subscriber.exclude_keywords or []):
        keep &= ~context.keyword_mask(keyword)[rows]
    include = _clean_keywords(subscriber.include_keywords or [])
    if include:
        matches = np.zeros(len(rows), dtype=bool)
        for keyword in include:
            matches |= context.keyword_mask(keyword)[rows]
        keep &= matches
    rows = rows[keep]
    seed_ids, saved_seeds = seed_paper_ids(subscriber, context)
    seeds = context.seeds(seed_ids) if len(rows) else []
    ranked = _score_rows(subscriber, context, rows, seeds)
    ranked = _filtered(ranked, ranked.scores > 0)  # a paper with no reason to be there is not
    # best score first; ties: the more trending, then the newer announcement and higher arXiv id
    order = np.lexsort((-ranked.rows, -ranked.trend, -ranked.scores))[: digest_size(subscriber)]
    ranked = _filtered(ranked, order)
    items = [
        _item(
            context,
            int(row),
            ranked.scores[position],
            _reasons(subscriber, context, context.papers[int(row)], ranked, position, seeds, saved_seeds),
        )
        for position, row in enumerate(ranked.rows)
    ]
    return Digest(subscriber.pk, since_at, now, items, new_papers)


def digest_of_papers(subscriber: Subscriber, paper_ids: Sequence[int], *, now: datetime) -> Digest:
    """The items of a digest already composed (a delivery's `paper_ids`), in their order, with their
    reasons as the subscriber's preferences give them now: what "view in browser" shows."""
    context = ComposeContext.build(now, paper_ids=paper_ids)
    rows = np.array(
        [context.row_of[paper_id] for paper_id in paper_ids if paper_id in context.row_of], dtype=np.int64
    )
    seed_ids, saved_seeds = seed_paper_ids(subscriber, context)
    seeds = context.seeds(seed_ids) if len(rows) else []
    ranked = _score_rows(subscriber, context, rows, seeds)
    items = [
        _item(
            context,
            int(row),
            ranked.scores[position],
            _reasons(subscriber, context, context.papers[int(row)], ranked, position, seeds, saved_seeds),
        )
        for position, row in enumerate(ranked.rows)
    ]
    since_at = now - timedelta(days=MAX_LOOKBACK_DAYS)
    return Digest(subscriber.pk, since_at, now, items, None)

