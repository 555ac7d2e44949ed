"""The paper lists readers browse: trending, and the papers of a day, an ISO week or a month, each
filterable by category and "has code", sorted by trending or by newest.

Rule: a list page costs a fixed handful of queries at any corpus size. The few papers with signals
(a trending score or Hugging Face info) are ranked in memory; the many without follow, read newest first
straight from the (announced_on, arxiv_id) index. Cards are built in bulk by papers.services.build_cards.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, Exists, OuterRef, QuerySet

from broadsheet.accounts.models import Upvote
from broadsheet.papers.models import Paper, PaperCategory
from broadsheet.papers.services import CARD_FIELDS, ListPage, PaperCard, build_cards, latest_announcement_day
from broadsheet.trending.models import HfPaperInfo, TrendingScore
from broadsheet.trending.score import (
    SCORE_FIELDS,
    TrendingEntry,
    count_trending,
    score_at,
    trending_papers,
)

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")
SORTS = ("trending", "published")
PER_PAGE = 50
MAX_PER_PAGE = 100

DAY_SLUG = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
WEEK_SLUG = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_SLUG = re.compile(r"^(\d{4})-(\d{2})$")


# ---------------------------------------------------------------------------------------------
# periods


@dataclass(frozen=True)
class Period:
    """A day, an ISO week (Monday to Sunday) or a calendar month: the days `start` <= day < `end`."""

    kind: PeriodKind
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.start.day} {self.start:%B %Y}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week} of {year}"
        return f"{self.start:%B %Y}"

    @property
    def slug(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        """The period of the same kind just before; OverflowError before year 1."""
        return period_containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> Period:
        """The period of the same kind just after; OverflowError after year 9999."""
        return period_containing(self.kind, self.end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


def period_containing(kind: str, day: date) -> Period:
    """The day, ISO week or month that `day` falls in."""
    if kind == "day":
        return Period("day", day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        length = calendar.monthrange(day.year, day.month)[1]
        return Period("month", start, start + timedelta(days=length))
    raise ValueError(f"unknown period kind {kind!r}: expected day, week or month")


def parse_period(kind: str, value: str) -> Period:
    """`day` 2025-09-22, `week` 2025-W39 (ISO 8601 week) or `month` 2025-09; ValueError says what is
    wrong with anything else (2025-02-30, 2025-W54, 2025-13)."""
    if kind == "day":
        match = DAY_SLUG.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a day: expected YYYY-MM-DD, e.g. 2025-09-22")
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date in the calendar ({exc})") from None
        if day == date.max:
            raise ValueError(f"{value!r} is the last day a date can hold: its list has no end")
        return period_containing("day", day)
    if kind == "week":
        match = WEEK_SLUG.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a week: expected YYYY-Www, e.g. 2025-W39")
        year, week = (int(part) for part in match.groups())
        try:
            monday = date.fromisocalendar(year, week, 1)
            end = monday + timedelta(days=7)
        except (ValueError, OverflowError):
            raise ValueError(f"{value!r} is not a week: {year} has no ISO week {week}") from None
        return Period("week", monday, end)
    if kind == "month":
        match = MONTH_SLUG.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a month: expected YYYY-MM, e.g. 2025-09")
        year, month = (int(part) for part in match.groups())
        if not 1 <= month <= 12:
            raise ValueError(f"{value!r} is not a month: months run from 01 to 12")
        if year < 1:
            raise ValueError(f"{value!r} is not a month: years start at 0001")
        try:
            return period_containing("month", date(year, month, 1))
        except OverflowError:
            raise ValueError(f"{value!r} is past the last month a date can hold") from None
    raise ValueError(f"unknown period kind {kind!r}: expected day, week or month")


# ---------------------------------------------------------------------------------------------
# entries


@dataclass(frozen=True)
class HfInfo:
    """What Hugging Face daily papers says about a paper (its latest observation)."""

    upvotes: int
    num_comments: int
    github_repo: str  # the link as given, "" when none
    github_stars: int | None  # the repository's latest sampled count
    has_code: bool  # a GitHub repository that exists (not 404 when last checked)
    project_page: str
    ai_summary: str
    ai_keywords: tuple[str, ...]
    organization: str
    submitted_by: str
    submitted_on_daily_at: datetime | None
    first_daily_on: date | None


@dataclass(frozen=True)
class ListEntry:
    """One paper of a list: its card, the parts of its trending score (None: no signal in the scoring
    window), its Hugging Face info (None: never on HF daily papers) and its local upvote count."""

    card: PaperCard
    trending: TrendingEntry | None
    hf: HfInfo | None
    upvotes: int

    @property
    def score(self) -> float | None:
        return self.trending.score if self.trending else None

    @property
    def has_code(self) -> bool:
        return self.hf is not None and self.hf.has_code

    @property
    def hf_upvotes(self) -> int:
        return self.hf.upvotes if self.hf else 0

    @property
    def total_upvotes(self) -> int:
        """Upvotes here (counted now) and on Hugging Face (as last seen)."""
        return self.upvotes + self.hf_upvotes


HF_FIELDS = (
    "paper_id",
    "upvotes",
    "num_comments",
    "github_repo",
    "repo__stars",
    "repo__missing",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "organization",
    "submitted_by",
    "submitted_on_daily_at",
    "first_daily_on",
)
def _hf_info(row: tuple) -> HfInfo:
    (
        _,
        upvotes,
        comments,
        github_repo,
        stars,
        missing,
        project_page,
        summary,
        keywords,
        organization,
        submitted_by,
        submitted_at,
        first_daily_on,
    ) = row
    return HfInfo(
        upvotes=upvotes,
        num_comments=comments,
        github_repo=github_repo,
        github_stars=stars,
        # a repo row exists only for a parsed GitHub link; `missing` marks one GitHub answered 404 for
        has_code=missing is False,
        project_page=project_page,
        ai_summary=summary,
        ai_keywords=tuple(str(word) for word in keywords) if isinstance(keywords, list) else (),
        organization=organization,
        submitted_by=submitted_by,
        submitted_on_daily_at=submitted_at,
        first_daily_on=first_daily_on,
    )


def _trending_entry(row: tuple, now: datetime | None) -> TrendingEntry:
    """A stored score row as an entry; with `now`, the score decayed to `now` as trending_papers does."""
    paper_id, arxiv_id, score, points, local, hf, views, stars, age_hours, computed_at = row
    if now is not None:
        score = score_at(points, age_hours, computed_at, now)
        age_hours += max((now - computed_at).total_seconds(), 0.0) / 3600
    return TrendingEntry(paper_id, arxiv_id, score, points, local, hf, views, stars, age_hours, computed_at)


def _entries(
    paper_ids: list[int],
    *,
    now: datetime | None,
    scores: dict[int, TrendingEntry] | None = None,
    hf: dict[int, HfInfo] | None = None,
) -> list[ListEntry]:
    """Entries for these papers, in this order, in a fixed number of queries (deleted papers dropped)."""
    if not paper_ids:
        return []
    rows = {
        row["id"]: row
        for row in Paper.objects.filter(pk__in=paper_ids, is_deleted=False).order_by().values(*CARD_FIELDS)
    }
    ordered = [paper_id for paper_id in paper_ids if paper_id in rows]
    cards = build_cards([rows[paper_id] for paper_id in ordered])
    if scores is None:
        scores = {
            row[0]: _trending_entry(row, now)
            for row in TrendingScore.objects.filter(paper_id__in=ordered).values_list(*SCORE_FIELDS)
        }
    if hf is None:
        hf = {
            row[0]: _hf_info(row)
            for row in HfPaperInfo.objects.filter(paper_id__in=ordered).values_list(*HF_FIELDS)
        }
    upvotes = dict(
        Upvote.objects.filter(paper_id__in=ordered)
        .order_by()
        .values("paper_id")
        .annotate(n=Count("id"))
        .values_list("paper_id", "n")
    )
    return [
        ListEntry(
            card=card, trending=scores.get(paper_id), hf=hf.get(paper_id), upvotes=upvotes.get(paper_id, 0)
        )
        for paper_id, card in zip(ordered, cards, strict=True)
    ]


def _page(number: int, per_page: int) -> tuple[int, int]:
    if number < 1:
        raise ValueError(f"page {number}: pages start at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page {per_page}: between 1 and {MAX_PER_PAGE}")
    return (number - 1) * per_page, per_page


def _list_page(number: int, per_page: int, count: int) -> ListPage:
    page_count = max(1, math.ceil(count / per_page))
    return ListPage(number, number > 1, number < page_count, count, page_count)


# ---------------------------------------------------------------------------------------------
# trending


def trending_entries(
    now: datetime,
    *,
    category: str | None = None,
    has_code: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[ListEntry], ListPage]:
    """A page of the trending list (score at `now`, best first) as entries; ValueError for a page number
    or size out of range. A page past the end is empty (its ListPage says where the end is)."""
    offset, limit = _page(page, per_page)
    ranked = trending_papers(now, limit=limit, offset=offset, category=category, has_code=has_code)
    count = count_trending(category=category, has_code=has_code)
    entries = _entries(
        [entry.paper_id for entry in ranked], now=now, scores={entry.paper_id: entry for entry in ranked}
    )
    return entries, _list_page(page, per_page, count)


# ---------------------------------------------------------------------------------------------
# periods


def _in_period(period: Period, category: str | None) -> QuerySet:
    """Live papers announced in `period` (and listed in `category`)."""
    papers = Paper.objects.filter(
        announced_on__gte=period.start, announced_on__lt=period.end, is_deleted=False
    )
    if category:
        papers = papers.filter(
            Exists(PaperCategory.objects.filter(paper_id=OuterRef("pk"), category_id=category))
        )
    return papers


def _code_filter(outer: str) -> Exists:
    return Exists(HfPaperInfo.objects.filter(paper_id=OuterRef(outer), repo__missing=False))


def _newest_ids(papers: QuerySet, offset: int, limit: int) -> list[int]:
    return list(
        papers.order_by("-announced_on", "-arxiv_id").values_list("pk", flat=True)[offset : offset + limit]
    )


def period_papers(
    period: Period,
    *,
    category: str | None = None,
    has_code: bool = False,
    sort: str = "trending",
    page: int = 1,
    per_page: int = PER_PAGE,
    submitter: str | None = None,
    now: datetime | None = None,
) -> tuple[list[ListEntry], ListPage]:
    """A page of the papers announced in `period` (Paper.announced_on), in `category` (cross-lists
    included), with `has_code` only those linking a GitHub repository that exists, with `submitter` only
    those this Hugging Face user submitted to daily papers.

    `sort` "trending": papers with a trending score, best first; then papers known to Hugging Face by
    their upvotes; then the rest, newest first. "published": newest first (announcement day, then arXiv
    id). Scores are as stored by the last computation, or decayed to `now` when given (the trending
    page's figures). ValueError for an unknown sort or a page number or size out of range.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: expected one of {', '.join(SORTS)}")
    offset, limit = _page(page, per_page)
    papers = _in_period(period, category)
    if has_code:
        papers = papers.filter(_code_filter("pk"))
    if submitter is not None:
        papers = papers.filter(
            Exists(HfPaperInfo.objects.filter(paper_id=OuterRef("pk"), submitted_by=submitter))
        )
    count = papers.count()
    list_page = _list_page(page, per_page, count)
    if sort == "published":
        return _entries(_newest_ids(papers, offset, limit), now=now), list_page

    # the ranked head: papers with a signal; bounded by what the signals cover, not by the corpus. Read
    # as "pk IN (the signal table)" so that the database walks the small table, not the period's papers
    head_by_id: dict[int, tuple[Any, ...]] = {}
    for signal_table in (TrendingScore, HfPaperInfo):
        with_signal = papers.filter(pk__in=signal_table.objects.values("paper_id")).order_by()
        head_by_id.update((row[0], row) for row in with_signal.values_list("pk", "announced_on", "arxiv_id"))
    head = list(head_by_id.values())
    head_ids = [row[0] for row in head]
    scores: dict[int, TrendingEntry] = {}
    hf: dict[int, HfInfo] = {}
    for start in range(0, len(head_ids), 500):
        chunk = head_ids[start : start + 500]
        for row in TrendingScore.objects.filter(paper_id__in=chunk).values_list(*SCORE_FIELDS):
            scores[row[0]] = _trending_entry(row, now)
        for row in HfPaperInfo.objects.filter(paper_id__in=chunk).values_list(*HF_FIELDS):
            hf[row[0]] = _hf_info(row)

    def rank(row: tuple) -> tuple:
        paper_id, announced_on, arxiv_id = row
        entry = scores.get(paper_id)
        info = hf.get(paper_id)
        # newest first as the last key: negate the day's ordinal; arXiv ids of a day sort as strings
        return (
            entry is None,
            -(entry.score if entry else 0.0),
            -(info.upvotes if info else 0),
            -announced_on.toordinal(),
            _descending(arxiv_id),
        )

    head.sort(key=rank)
    page_ids = [row[0] for row in head[offset : offset + limit]]
    if len(page_ids) < limit and not has_code and submitter is None:
        # the tail: papers with no signal, newest first, from the index; they start after the head
        tail_offset = max(offset - len(head), 0)
        rest = papers.exclude(Exists(TrendingScore.objects.filter(paper_id=OuterRef("pk")))).exclude(
            Exists(HfPaperInfo.objects.filter(paper_id=OuterRef("pk")))
        )
        page_ids += _newest_ids(rest, tail_offset, limit - len(page_ids))
    return _entries(page_ids, now=now, scores=scores, hf=hf), list_page


def category_papers(
    code: str,
    *,
    now: datetime,
    has_code: bool = False,
    sort: str = "trending",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[ListEntry], ListPage]:
    """A page of the papers listed in category `code` (cross-lists included; undated papers left out,
    as on the category page). `sort` "trending": the category's trending papers (score at `now`) first,
    then the rest newest first; "published": newest first. Counting a whole category would read every
    listing row, so the ListPage has no count: one row past the page tells whether there is a next.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: expected one of {', '.join(SORTS)}")
    offset, limit = _page(page, per_page)
    ranked: list[TrendingEntry] = []
    head_count = 0
    listed = PaperCategory.objects.filter(
        category_id=code, announced_on__isnull=False, paper__is_deleted=False
    )
    if has_code:
        listed = listed.filter(_code_filter("paper_id"))
    if sort == "trending":
        head_count = count_trending(category=code, has_code=has_code)
        if offset < head_count:
            ranked = trending_papers(now, limit=limit, offset=offset, category=code, has_code=has_code)
        listed = listed.exclude(Exists(TrendingScore.objects.filter(paper_id=OuterRef("paper_id"))))
    tail_offset = max(offset - head_count, 0)
    wanted = limit - len(ranked) + 1  # one past the page
    tail = list(
        listed.order_by("-announced_on", "-paper__arxiv_id").values_list("paper_id", flat=True)[
            tail_offset : tail_offset + wanted
        ]
    )
    has_next = len(tail) == wanted or offset + limit < head_count
    page_ids = [entry.paper_id for entry in ranked] + tail[: wanted - 1]
    entries = _entries(page_ids, now=now, scores={entry.paper_id: entry for entry in ranked} or None)
    return entries, ListPage(page, page > 1, has_next)


def _descending(text: str) -> tuple[int, ...]:
    """A sort key that orders strings in reverse."""
    return tuple(-ord(char) for char in text) + (1,)


def latest_period(kind: str, now: datetime) -> Period | None:
    """The period of `kind` holding the newest announcement day with papers (not after `now`'s date
    unless every day is later); None for an empty corpus."""
    day = latest_announcement_day(now)
    return period_containing(kind, day) if day is not None else None


def neighbour_periods(period: Period) -> tuple[Period | None, Period | None]:
    """The nearest earlier and later periods of the same kind that hold papers (empty ones skipped),
    in two index lookups."""
    live = Paper.objects.filter(is_deleted=False).values_list("announced_on", flat=True)
    before = live.filter(announced_on__lt=period.start).order_by("-announced_on").first()
    after = live.filter(announced_on__gte=period.end).order_by("announced_on").first()
    return (
        period_containing(period.kind, before) if before else None,
        period_containing(period.kind, after) if after else None,
    )
