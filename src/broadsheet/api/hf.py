"""The Hugging Face Papers API as `huggingface_hub.HfApi` and the `hf papers` CLI call it:
`/api/daily_papers`, `/api/papers/search` and `/api/papers/{arxiv_id}` (the Markdown page
`/papers/{arxiv_id}.md` is in markdown.py).

Rule: the field names and nesting of the real responses (camelCase, a `paper` object inside each list item),
filled from Broadsheet's own rows; what Broadsheet does not know is null or empty, never invented.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from broadsheet.api.signals import NO_SIGNALS, PaperSignals, entry_signals, paper_signals
from broadsheet.ingest.records import split_arxiv_id
from broadsheet.papers.models import PaperAuthor
from broadsheet.papers.services import PaperCard, PaperDetail, paper_detail
from broadsheet.search.query import QueryError
from broadsheet.search.service import MAX_LIMIT, search_papers
from broadsheet.trending.lists import MAX_PER_PAGE, latest_period, parse_period, period_papers

HF_DEFAULT_LIMIT = 50
MAX_PAGE = 100_000  # 0-based; far past any real list, and keeps the SQL offset small
# Hugging Face's sort names -> broadsheet.trending.lists'
DAILY_SORTS = {"publishedAt": "published", "trending": "trending"}
TAG = "Hugging Face compatible"

router = Router(tags=[TAG])


class ErrorOut(Schema):
    error: str


class HfAuthor(Schema):
    name: str
    hidden: bool = False


class HfUser(Schema):
    """A Hugging Face account as Broadsheet knows it: its user name only."""

    name: str
    user: str
    type: str = "user"


class HfOrganization(Schema):
    name: str
    fullname: str


class HfPaper(Schema):
    id: str
    authors: list[HfAuthor]
    publishedAt: str | None  # noqa: N815 - the Hugging Face field names
    submittedOnDailyAt: str | None  # noqa: N815
    title: str
    summary: str
    upvotes: int
    submittedOnDailyBy: HfUser | None  # noqa: N815
    projectPage: str | None  # noqa: N815
    githubRepo: str | None  # noqa: N815
    githubStars: int | None  # noqa: N815
    ai_summary: str | None
    ai_keywords: list[str]
    organization: HfOrganization | None


class HfItem(Schema):
    paper: HfPaper
    publishedAt: str | None  # noqa: N815
    title: str
    summary: str
    numComments: int  # noqa: N815
    submittedBy: HfUser | None  # noqa: N815
    organization: HfOrganization | None
    isAuthorParticipating: bool = False  # noqa: N815


def hf_time(moment: datetime | None) -> str | None:
    """Hugging Face's time format: UTC with milliseconds and a Z."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def midnight_utc(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day is not None else None


def all_authors(arxiv_ids: Sequence[str]) -> dict[str, list[str]]:
    """Every author of each paper (cards carry only the first few), by arXiv id, in one query."""
    names: dict[str, list[str]] = defaultdict(list)
    rows = (
        PaperAuthor.objects.filter(paper__arxiv_id__in=list(arxiv_ids))
        .order_by("paper_id", "position")
        .values_list("paper__arxiv_id", "name")
    )
    for arxiv_id, name in rows:
        names[arxiv_id].append(name)
    return names


def _user(name: str | None) -> dict[str, str] | None:
    return {"name": name, "user": name, "type": "user"} if name else None


def _organization(name: str | None) -> dict[str, str] | None:
    return {"name": name, "fullname": name} if name else None


def hf_paper(paper: PaperCard | PaperDetail, authors: Sequence[str], signals: PaperSignals) -> dict[str, Any]:
    """The `paper` object (and the whole answer of `/api/papers/{id}`). `publishedAt` is the arXiv
    submission time, or the announcement day at midnight UTC when that is unknown."""
    return {
        "id": paper.arxiv_id,
        "authors": [{"name": name, "hidden": False} for name in authors],
        "publishedAt": hf_time(paper.submitted_at or midnight_utc(paper.announced_on)),
        "submittedOnDailyAt": hf_time(signals.submitted_on_daily_at),
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": signals.upvotes,
        "submittedOnDailyBy": _user(signals.submitted_by),
        "projectPage": signals.project_page,
        "githubRepo": signals.github_repo,
        "githubStars": signals.github_stars,
        "ai_summary": signals.ai_summary,
        "ai_keywords": list(signals.ai_keywords),
        "organization": _organization(signals.organization),
    }


def hf_item(paper: PaperCard, authors: Sequence[str], signals: PaperSignals) -> dict[str, Any]:
    """A list item. Its own `publishedAt` is when the paper reached this list: its Hugging Face daily
    submission, else its arXiv announcement day (midnight UTC), else its submission time."""
    listed_at = signals.submitted_on_daily_at or midnight_utc(paper.announced_on) or paper.submitted_at
    return {
        "paper": hf_paper(paper, authors, signals),
        "publishedAt": hf_time(listed_at),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": signals.num_comments,
        "submittedBy": _user(signals.submitted_by),
        "organization": _organization(signals.organization),
        "isAuthorParticipating": False,
    }


def hf_items(cards: Sequence[PaperCard]) -> list[dict[str, Any]]:
    """List items for cards, in their order, in three queries whatever their number."""
    ids = [card.arxiv_id for card in cards]
    authors = all_authors(ids)
    signals = paper_signals(ids)
    return [
        hf_item(card, authors.get(card.arxiv_id, []), signals.get(card.arxiv_id, NO_SIGNALS))
        for card in cards
    ]


@router.get(
    "/daily_papers",
    response={200: list[HfItem], 400: ErrorOut},
    summary="Daily, weekly or monthly papers (Hugging Face list_daily_papers shape)",
)
def hf_daily_papers(
    request: HttpRequest,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="papers per page")] = HF_DEFAULT_LIMIT,
    day: Annotated[str | None, Query(alias="date", description="a day: YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(description="an ISO week: YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="a month: YYYY-MM")] = None,
    submitter: Annotated[
        str | None, Query(description="only papers this Hugging Face user put on daily papers")
    ] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"],
        Query(description="publishedAt: newest first; trending: trending score, then Hugging Face upvotes"),
    ] = "publishedAt",
) -> Any:
    """The papers announced on arXiv in one day, week or month (at most one of `date`, `week`, `month`;
    none: the newest day with papers). A page past the end is an empty list, as on Hugging Face."""
    given = [(kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value]
    if len(given) > 1:
        raise QueryError("give at most one of date, week and month")
    if submitter and not submitter.isprintable():
        raise QueryError("submitter: a Hugging Face user name has no control characters")
    now = timezone.now()
    if given:
        kind, value = given[0]
        try:
            period = parse_period(kind, value)
        except (ValueError, OverflowError) as exc:  # OverflowError: a period past the year 9999
            raise QueryError(f"{'date' if kind == 'day' else kind}: {exc}") from exc
    else:
        latest = latest_period("day", now)
        if latest is None:
            return []
        period = latest
    entries, _page = period_papers(
        period, sort=DAILY_SORTS[sort], page=p + 1, per_page=limit, submitter=submitter or None, now=now
    )
    ids = [entry.card.arxiv_id for entry in entries]
    authors = all_authors(ids)
    return [
        hf_item(entry.card, authors.get(entry.card.arxiv_id, []), entry_signals(entry)) for entry in entries
    ]


@router.get(
    "/papers/search",
    response={200: list[HfItem], 400: ErrorOut},
    summary="Search papers (Hugging Face Papers response shape)",
)
def hf_search(
    request: HttpRequest,
    q: Annotated[str, Query(description="the search, in the site's search language")] = "",
    limit: Annotated[int, Query(description="results, clamped to 1..100")] = HF_DEFAULT_LIMIT,
) -> Any:
    """Hybrid search, best first. `limit` is clamped to 1..100 as clients of the Hugging Face API
    expect an answer rather than an error."""
    limit = min(max(limit, 1), MAX_LIMIT)
    results = search_papers(q, limit=limit)
    return hf_items([hit.card for hit in results.hits])


def find_paper(raw_id: str) -> PaperDetail | Status:
    """The paper with this arXiv id (any version suffix or `arXiv:` prefix), or the error to answer: 404
    for an id that is not one or not held here, 410 for a paper arXiv has withdrawn."""
    try:
        arxiv_id, _version = split_arxiv_id(raw_id)
    except ValueError:
        return Status(404, {"error": f"not an arXiv identifier: {raw_id[:80]!r}"})
    detail = paper_detail(arxiv_id)
    if detail is None:
        return Status(404, {"error": f"paper {arxiv_id} is not in this Broadsheet"})
    if detail.is_deleted:
        return Status(410, {"error": f"paper {arxiv_id} was withdrawn from arXiv"})
    return detail


@router.get(
    "/papers/{path:arxiv_id}",
    response={200: HfPaper, 404: ErrorOut, 410: ErrorOut},
    summary="One paper (Hugging Face paper_info shape)",
)
def hf_paper_info(request: HttpRequest, arxiv_id: str) -> Any:
    """Old-style ids keep their slash (`/api/papers/hep-th/9901001`); a version suffix is ignored."""
    found = find_paper(arxiv_id)
    if not isinstance(found, PaperDetail):
        return found
    signals = paper_signals([found.arxiv_id]).get(found.arxiv_id, NO_SIGNALS)
    return hf_paper(found, [author.name for author in found.authors], signals)
