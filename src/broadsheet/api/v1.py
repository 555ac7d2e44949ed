"""`/api/v1`: everything the site shows, as typed JSON: papers (with versions, signals and similar papers),
day/week/month lists, trending with its score components, categories, authors and search.

Rule: each endpoint calls the service its page calls (papers.services, trending.lists, search.service) and
shapes the answer with the pages' own JSON helpers, so a page and its endpoint never disagree. Pages
count from 1 as on the site; a page past the end is a 404, a malformed parameter a 400.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from broadsheet.api.hf import ErrorOut, find_paper
from broadsheet.api.signals import NO_SIGNALS, PaperSignals, entry_signals, paper_signals
from broadsheet.papers import services
from broadsheet.papers.services import ListPage, PaperDetail
from broadsheet.papers.views import absolute_url, card_json, detail_json, iso_date, iso_datetime
from broadsheet.search.query import QueryError, SearchMode, SortOrder, parse_category
from broadsheet.search.service import MAX_LIMIT, MAX_RESULTS, SearchHit, search_papers, similar_papers
from broadsheet.search.views import filters_from, hit_json
from broadsheet.trending import lists
from broadsheet.trending.lists import ListEntry, Period
from broadsheet.trending.score import TrendingEntry

router = Router()
MAX_PAGE = 100_000
MAX_SIMILAR = 50
MAX_ID = 2**63 - 1  # primary keys are 64-bit; a longer number would overflow the database driver

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page, from 1")]
PerPage = Annotated[int, Query(ge=1, le=lists.MAX_PER_PAGE, description="papers per page")]
CategoryFilter = Annotated[str, Query(description="only papers listed in this arXiv category (cs.CL)")]
HasCode = Annotated[bool, Query(description="only papers linking a GitHub repository that exists")]


# --- schemas --------------------------------------------------------------------------------------------


class LinksOut(Schema):
    abs: str
    pdf: str
    html: str
    doi: str | None


class CardOut(Schema):
    """A paper as a list shows it: `authors` holds at most the first 8 names, `author_count` all."""

    id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    author_count: int
    categories: list[str]
    primary_category: str | None
    announced_on: str | None
    submitted_at: str | None
    updated_at: str | None
    links: LinksOut
    url: str


class SignalsOut(Schema):
    """Upvotes here and on Hugging Face, and what Hugging Face daily papers adds (null: not known)."""

    upvotes: int
    hf_upvotes: int
    num_comments: int
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    ai_summary: str | None
    ai_keywords: list[str]
    submitted_by: str | None
    submitted_on_daily_at: str | None


class TrendingOut(Schema):
    """The parts of the trending score (docs/trending.md): points from the signals, decayed by age."""

    score: float
    points: float
    upvotes: int
    hf_upvotes: int
    views_week: int
    stars_gained_week: int
    age_hours: float
    computed_at: str


class EntryOut(CardOut):
    has_code: bool
    signals: SignalsOut
    trending: TrendingOut | None


class PageOut(Schema):
    page: int
    prev_page: int | None
    next_page: int | None
    page_count: int | None
    paper_count: int | None


class VersionOut(Schema):
    version: int
    created_at: str | None
    size: str


class CategoryRefOut(Schema):
    code: str
    name: str
    url: str | None


class PaperOut(Schema):
    id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    author_ids: list[int]
    author_count: int
    categories: list[str]
    category_names: list[CategoryRefOut]
    primary_category: str | None
    announced_on: str | None
    submitted_at: str | None
    updated_at: str | None
    links: LinksOut
    url: str
    markdown_url: str
    comments: str
    journal_ref: str
    doi: str
    report_no: str
    license: str
    versions: list[VersionOut]
    signals: SignalsOut
    similar: list[CardOut]


class ListOut(PageOut):
    kind: str
    period: str
    label: str
    start: str
    end: str  # the last day of the period
    prev_period: str | None
    next_period: str | None
    papers: list[EntryOut]


class TrendingListOut(PageOut):
    papers: list[EntryOut]


class CategoryOut(Schema):
    code: str
    name: str
    archive: str
    archive_name: str
    paper_count: int
    url: str | None


class CategoryListOut(Schema):
    category: CategoryRefOut
    page: int
    prev_page: int | None
    next_page: int | None
    papers: list[CardOut]


class AuthorRefOut(Schema):
    id: int
    name: str
    url: str


class AuthorListOut(PageOut):
    author: AuthorRefOut
    papers: list[CardOut]


class ResultOut(CardOut):
    score: float
    matched_by: list[str]
    title_html: str | None
    snippet_html: str


class SearchOut(Schema):
    query: str
    mode: SearchMode
    sort: SortOrder
    offset: int
    limit: int
    has_more: bool
    notes: list[str]
    results: list[ResultOut]


# --- shaping --------------------------------------------------------------------------------------------


def signals_json(signals: PaperSignals) -> dict[str, Any]:
    return {
        "upvotes": signals.local_upvotes,
        "hf_upvotes": signals.hf_upvotes,
        "num_comments": signals.num_comments,
        "github_repo": signals.github_repo,
        "github_stars": signals.github_stars,
        "project_page": signals.project_page,
        "ai_summary": signals.ai_summary,
        "ai_keywords": list(signals.ai_keywords),
        "submitted_by": signals.submitted_by,
        "submitted_on_daily_at": iso_datetime(signals.submitted_on_daily_at),
    }


def trending_json(entry: TrendingEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "score": entry.score,
        "points": entry.points,
        "upvotes": entry.upvotes,
        "hf_upvotes": entry.hf_upvotes,
        "views_week": entry.views_week,
        "stars_gained_week": entry.stars_gained_week,
        "age_hours": entry.age_hours,
        "computed_at": iso_datetime(entry.computed_at),
    }


def entry_json(entry: ListEntry) -> dict[str, Any]:
    return {
        **card_json(entry.card),
        "has_code": entry.has_code,
        "signals": signals_json(entry_signals(entry)),
        "trending": trending_json(entry.trending),
    }


def page_json(page: ListPage) -> dict[str, Any]:
    return {
        "page": page.number,
        "prev_page": page.previous_number,
        "next_page": page.next_number,
        "page_count": page.page_count,
        "paper_count": page.count,
    }


def check_page(page: ListPage, entries: list) -> Status | None:
    """A 404 for a page past the end of a list (the first page of an empty list is fine)."""
    if not entries and page.number > 1:
        return Status(404, {"error": f"page {page.number} is past the last page ({page.page_count})"})
    return None


def category_filter(category: str) -> str | None:
    category = category.strip()
    return parse_category(category) if category else None


# --- papers ---------------------------------------------------------------------------------------------


@router.get(
    "/papers/{path:arxiv_id}",
    response={200: PaperOut, 404: ErrorOut, 410: ErrorOut},
    tags=["Papers"],
    summary="One paper: metadata, versions, signals and similar papers",
)
def v1_paper(
    request: HttpRequest,
    arxiv_id: str,
    similar: Annotated[int, Query(ge=0, le=MAX_SIMILAR, description="how many similar papers")] = 10,
    similar_newer: Annotated[bool, Query(description="only similar papers announced after it")] = False,
    similar_category: Annotated[bool, Query(description="only similar papers in its category")] = False,
) -> Any:
    """Old-style ids keep their slash (`/api/v1/papers/hep-th/9901001`); a version suffix is ignored."""
    found = find_paper(arxiv_id)
    if not isinstance(found, PaperDetail):
        return found
    signals = paper_signals([found.arxiv_id]).get(found.arxiv_id, NO_SIGNALS)
    neighbours = similar_papers(
        found.arxiv_id, k=similar, newer_only=similar_newer, same_category=similar_category
    )
    return {
        **detail_json(found),
        "author_ids": [author.id for author in found.authors],
        "category_names": [
            {
                "code": category.code,
                "name": category.name,
                "url": absolute_url(category.path) if category.path else None,
            }
            for category in found.categories
        ],
        "markdown_url": absolute_url(reverse("paper-markdown", args=[found.arxiv_id])),
        "signals": signals_json(signals),
        "similar": [card_json(card) for card in neighbours],
    }


# --- lists ----------------------------------------------------------------------------------------------


@router.get(
    "/lists/{kind}",
    response={200: ListOut, 400: ErrorOut, 404: ErrorOut},
    tags=["Lists"],
    summary="The papers of a day, an ISO week or a month",
)
def v1_list(
    request: HttpRequest,
    kind: Literal["day", "week", "month"],
    period: Annotated[
        str, Query(description="YYYY-MM-DD, YYYY-Www or YYYY-MM by kind; empty: the newest with papers")
    ] = "",
    category: CategoryFilter = "",
    has_code: HasCode = False,
    sort: Annotated[
        Literal["trending", "published"], Query(description="trending score first, or newest first")
    ] = "trending",
    page: PageNumber = 1,
    per_page: PerPage = lists.PER_PAGE,
) -> Any:
    """Papers announced on arXiv in the period, with each one's signals and trending score parts."""
    now = timezone.now()
    chosen: Period | None
    if period.strip():
        try:
            chosen = lists.parse_period(kind, period.strip())
        except (ValueError, OverflowError) as exc:  # OverflowError: a period past the year 9999
            raise QueryError(f"period: {exc}") from exc
    else:
        chosen = lists.latest_period(kind, now)
    if chosen is None:
        return Status(404, {"error": "no papers yet"})
    entries, list_page = lists.period_papers(
        chosen, category=category_filter(category), has_code=has_code, sort=sort, page=page,
        per_page=per_page, now=now,
    )
    past_end = check_page(list_page, entries)
    if past_end:
        return past_end
    before, after = lists.neighbour_periods(chosen)
    return {
        "kind": chosen.kind,
        "period": chosen.slug,
        "label": chosen.label,
        "start": iso_date(chosen.start),
        "end": iso_date(chosen.end - timedelta(days=1)),
        "prev_period": before.slug if before else None,
        "next_period": after.slug if after else None,
        **page_json(list_page),
        "papers": [entry_json(entry) for entry in entries],
    }


@router.get(
    "/trending",
    response={200: TrendingListOut, 400: ErrorOut, 404: ErrorOut},
    tags=["Lists"],
    summary="Trending papers, best first, with the parts of each score",
)
def v1_trending(
    request: HttpRequest,
    category: CategoryFilter = "",
    has_code: HasCode = False,
    page: PageNumber = 1,
    per_page: PerPage = lists.PER_PAGE,
) -> Any:
    """Scores decayed to the moment of the request, as on the trending page (docs/trending.md)."""
    entries, list_page = lists.trending_entries(
        timezone.now(), category=category_filter(category), has_code=has_code, page=page, per_page=per_page
    )
    past_end = check_page(list_page, entries)
    if past_end:
        return past_end
    return {**page_json(list_page), "papers": [entry_json(entry) for entry in entries]}


# --- categories and authors -----------------------------------------------------------------------------


@router.get("/categories", response=list[CategoryOut], tags=["Categories"], summary="Every category")
def v1_categories(request: HttpRequest) -> Any:
    """Each category with its count of papers (cross-lists included; counts may be minutes old)."""
    return [
        {
            "code": item.code,
            "name": item.name,
            "archive": item.archive,
            "archive_name": item.archive_name,
            "paper_count": item.paper_count,
            "url": absolute_url(item.path) if item.path else None,
        }
        for item in services.category_counts()
    ]


@router.get(
    "/categories/{code}",
    response={200: CategoryListOut, 404: ErrorOut},
    tags=["Categories"],
    summary="The papers of a category, newest first",
)
def v1_category(request: HttpRequest, code: str, page: PageNumber = 1) -> Any:
    try:
        parse_category(code)
    except QueryError:
        return Status(404, {"error": f"no category {code[:40]!r}"})
    try:
        listing = services.category_listing(code, page=page)
    except services.PageOutOfRange:
        return Status(404, {"error": f"page {page} is past the last page"})
    if listing is None:
        return Status(404, {"error": f"no category {code[:40]!r}"})
    path = listing.category.path
    return {
        "category": {
            "code": listing.category.code,
            "name": listing.category.name,
            "url": absolute_url(path) if path else None,
        },
        "page": listing.page.number,
        "prev_page": listing.page.previous_number,
        "next_page": listing.page.next_number,
        "papers": [card_json(card) for card in listing.papers],
    }


@router.get(
    "/authors/{int:author_id}",
    response={200: AuthorListOut, 404: ErrorOut},
    tags=["Authors"],
    summary="An author and their papers, newest first",
)
def v1_author(request: HttpRequest, author_id: int, page: PageNumber = 1) -> Any:
    if author_id > MAX_ID:
        return Status(404, {"error": f"no author {author_id}"})
    try:
        listing = services.author_listing(author_id, page=page)
    except services.PageOutOfRange:
        return Status(404, {"error": f"page {page} is past the last page"})
    if listing is None:
        return Status(404, {"error": f"no author {author_id}"})
    return {
        "author": {
            "id": listing.author.id, "name": listing.author.name, "url": absolute_url(listing.author.path),
        },
        **page_json(listing.page),
        "papers": [card_json(card) for card in listing.papers],
    }


# --- search ---------------------------------------------------------------------------------------------


@router.get(
    "/search",
    response={200: SearchOut, 400: ErrorOut},
    tags=["Search"],
    summary="Search papers with every parameter",
)
def v1_search(
    request: HttpRequest,
    q: Annotated[str, Query(description='words, "phrases", -exclusions, author:, cat:, from:, to:')] = "",
    mode: Annotated[SearchMode, Query(description="hybrid (keyword + semantic), keyword or vector")] = (
        SearchMode.HYBRID
    ),
    sort: Annotated[SortOrder, Query(description="relevance or newest")] = SortOrder.RELEVANCE,
    author: Annotated[str, Query(description="papers with an author of this name (all its words)")] = "",
    category: Annotated[str, Query(description="an arXiv category (cs.CL) or archive (cs)")] = "",
    date_from: Annotated[str, Query(alias="from", description="announced on or after: YYYY[-MM[-DD]]")] = "",
    date_to: Annotated[str, Query(alias="to", description="announced on or before: YYYY[-MM[-DD]]")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="results per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_RESULTS - 1, description="results to skip")] = 0,
) -> Any:
    filters = filters_from({"author": author, "category": category, "from": date_from, "to": date_to})
    results = search_papers(q, mode=mode, sort=sort, limit=limit, offset=offset, filters=filters)
    return {
        "query": results.query.text,
        "mode": results.mode,
        "sort": results.sort,
        "offset": results.offset,
        "limit": results.limit,
        "has_more": results.has_more,
        "notes": list(results.notes),
        "results": [_result(hit) for hit in results.hits],
    }


def _result(hit: SearchHit) -> dict[str, Any]:
    data = hit_json(hit)
    data["title_html"] = str(hit.title_html) if hit.title_html is not None else None
    data["snippet_html"] = str(hit.snippet_html)
    return data
