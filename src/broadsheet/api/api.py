"""The JSON API (django-ninja): Hugging Face Papers-compatible search and `/api/v1/search`, with the
OpenAPI schema at `/api/openapi.json` and its browsable docs at `/api/docs`.

Rule: thin adapters over broadsheet.search.service; every parameter that cannot be used answers 400
with a message saying what to change (never 422, never a 5xx).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Schema
from ninja.errors import ValidationError

from broadsheet.papers.models import PaperAuthor
from broadsheet.papers.services import PaperCard
from broadsheet.search.query import QueryError, SearchMode, SortOrder
from broadsheet.search.service import MAX_LIMIT, MAX_RESULTS, SearchHit, search_papers
from broadsheet.search.views import filters_from, hit_json

HF_DEFAULT_LIMIT = 50

api = NinjaAPI(
    title="Broadsheet API",
    version="1",
    description=(
        "Search the papers of this Broadsheet. `/api/papers/search` answers in the shape of the "
        "Hugging Face Papers API (`huggingface_hub.HfApi(endpoint=...).list_papers(query=...)` reads it); "
        "`/api/v1/search` takes every search parameter. Queries use the search language of the site: "
        'free words, "quoted phrases", -exclusions, author:, cat:, from:, to:.'
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


class ErrorOut(Schema):
    error: str


@api.exception_handler(ValidationError)
def invalid_parameters(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return api.create_response(request, {"error": "; ".join(problems)}, status=400)


@api.exception_handler(QueryError)
def bad_query(request: HttpRequest, exc: QueryError) -> HttpResponse:
    return api.create_response(request, {"error": str(exc)}, status=400)


# --- Hugging Face Papers shape ------------------------------------------------------------------------


class HfAuthor(Schema):
    name: str
    hidden: bool = False


class HfPaper(Schema):
    id: str
    authors: list[HfAuthor]
    publishedAt: str | None  # noqa: N815 - the Hugging Face field names
    title: str
    summary: str
    upvotes: int = 0


class HfSearchItem(Schema):
    paper: HfPaper
    publishedAt: str | None  # noqa: N815
    title: str
    summary: str
    numComments: int = 0  # noqa: N815
    isAuthorParticipating: bool = False  # noqa: N815


def hf_timestamp(card: PaperCard) -> str | None:
    """Hugging Face's `publishedAt` (the arXiv submission time), with milliseconds and a Z; the
    announcement day at midnight UTC when the submission time is unknown."""
    moment = card.submitted_at
    if moment is None and card.announced_on is not None:
        moment = datetime.combine(card.announced_on, time(0), tzinfo=UTC)
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def all_authors(cards: list[PaperCard]) -> dict[str, list[str]]:
    """Every author of each card's paper (cards carry only the first few), by arXiv id."""
    names: dict[str, list[str]] = defaultdict(list)
    rows = (
        PaperAuthor.objects.filter(paper__arxiv_id__in=[card.arxiv_id for card in cards])
        .order_by("paper_id", "position")
        .values_list("paper__arxiv_id", "name")
    )
    for arxiv_id, name in rows:
        names[arxiv_id].append(name)
    return names


def hf_item(card: PaperCard, authors: list[str]) -> dict[str, Any]:
    published = hf_timestamp(card)
    paper = {
        "id": card.arxiv_id,
        "authors": [{"name": name, "hidden": False} for name in authors],
        "publishedAt": published,
        "title": card.title,
        "summary": card.abstract,
        "upvotes": 0,
    }
    return {
        "paper": paper,
        "publishedAt": published,
        "title": card.title,
        "summary": card.abstract,
        "numComments": 0,
        "isAuthorParticipating": False,
    }


@api.get(
    "/papers/search",
    response={200: list[HfSearchItem], 400: ErrorOut},
    tags=["Hugging Face compatible"],
    summary="Search papers (Hugging Face Papers response shape)",
)
def hf_search(request: HttpRequest, q: str = "", limit: int = HF_DEFAULT_LIMIT) -> Any:
    """Hybrid search, best first. `limit` is clamped to 1..100 as clients of the Hugging Face API
    expect an answer rather than an error."""
    limit = min(max(limit, 1), MAX_LIMIT)
    results = search_papers(q, limit=limit)
    cards = [hit.card for hit in results.hits]
    authors = all_authors(cards)
    return [hf_item(card, authors.get(card.arxiv_id, [])) for card in cards]


# --- /api/v1 --------------------------------------------------------------------------------------------


class LinksOut(Schema):
    abs: str
    pdf: str
    html: str
    doi: str | None


class ResultOut(Schema):
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


@api.get(
    "/v1/search",
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
