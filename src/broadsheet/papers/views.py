"""Paper pages (latest day, day, paper, author, category, category index) and their JSON twins.

Rule: views only adapt requests to the query functions in services.py and render what they return.
JSON twins: every list page, and the paper page, answers `?format=json` at the same URL with the same
data the HTML shows (titles and abstracts as the LaTeX source, not MathML). `/api/v1/` is left to the
API. Pagination is `?page=N` (50 papers a page); a page past the end is a 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from broadsheet.feeds.links import build_feed_links
from broadsheet.ingest.records import split_arxiv_id
from broadsheet.papers import services
from broadsheet.papers.models import Paper
from broadsheet.papers.services import PaperCard, PaperDetail, PaperLinks
from broadsheet.search.service import similar_papers
from broadsheet.trending import lists
from broadsheet.trending.lists import ListEntry, Period, neighbour_periods, parse_period, trending_entries
from broadsheet.trending.views import is_human_view, record_paper_view

JSON_FORMAT = "json"
SITE_NAME = "Broadsheet"
SIMILAR_PAPERS = 10


def wants_json(request: HttpRequest) -> bool:
    return request.GET.get("format") == JSON_FORMAT


def absolute_url(path: str) -> str:
    """BASE_URL + path: links and canonicals never come from the request's Host header."""
    return settings.BASE_URL + path


def page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 6:
        raise Http404("no such page")
    return int(raw)


def canonical_for(path: str, page: int) -> str:
    return absolute_url(path + (f"?page={page}" if page > 1 else ""))


def iso_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def links_json(links: PaperLinks) -> dict[str, str | None]:
    return {"abs": links.abs, "pdf": links.pdf, "html": links.html, "doi": links.doi}


def card_json(card: PaperCard) -> dict[str, Any]:
    """One paper of a list. `authors` holds the names a card shows (at most AUTHORS_PER_CARD);
    `author_count` is the full count."""
    return {
        "id": card.arxiv_id,
        "version": card.version,
        "title": card.title,
        "abstract": card.abstract,
        "authors": [author.name for author in card.authors],
        "author_count": card.author_count,
        "categories": list(card.categories),
        "primary_category": card.primary_category,
        "announced_on": iso_date(card.announced_on),
        "submitted_at": iso_datetime(card.submitted_at),
        "updated_at": iso_datetime(card.updated_at),
        "links": links_json(card.links),
        "url": absolute_url(card.path),
    }


def page_json(page: services.ListPage) -> dict[str, Any]:
    return {"page": page.number, "prev_page": page.previous_number, "next_page": page.next_number}


def json_response(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


# --- lists: trending, day / week / month, category ------------------------------------------------

SORT_LABELS = {"trending": "Trending", "published": "Newest"}
PERIOD_JUMP_FIELDS = {"day": "date", "week": "week", "month": "month"}
SECTION_OF_KIND = {"day": "daily", "week": "weekly", "month": "monthly"}


class BadListRequest(Exception):
    """A list request naming something that does not exist (a date, a sort): its message is shown."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def list_filters(request: HttpRequest, sorts: bool = True) -> tuple[str, bool]:
    """(sort, has_code) from `?sort=trending|published` and `?has_code=1`."""
    sort = request.GET.get("sort", "trending") if sorts else "trending"
    if sort not in SORT_LABELS:
        raise BadListRequest(f"Unknown sort {sort!r}: use trending or published.", status=400)
    return sort, request.GET.get("has_code") in ("1", "true", "on")


def list_url(path: str, *, sort: str = "trending", has_code: bool = False, page: int = 1) -> str:
    """A list's path with its non-default options, always in the same order (one URL per view)."""
    params = []
    if has_code:
        params.append("has_code=1")
    if sort != "trending":
        params.append(f"sort={sort}")
    if page > 1:
        params.append(f"page={page}")
    return path + ("?" + "&".join(params) if params else "")


def list_options(path: str, sort: str, has_code: bool, sorts: bool = True) -> dict[str, Any]:
    """The sort tabs and the has-code switch of a list page: each a link to the same list, page 1."""
    return {
        "sorts": [
            {"label": label, "url": list_url(path, sort=key, has_code=has_code), "current": key == sort}
            for key, label in SORT_LABELS.items()
        ]
        if sorts
        else [],
        "has_code": has_code,
        "has_code_url": list_url(path, sort=sort, has_code=not has_code),
    }


def pager_urls(path: str, page: services.ListPage, sort: str, has_code: bool) -> dict[str, str | None]:
    """The pager's links, keeping the list's options."""
    previous = list_url(path, sort=sort, has_code=has_code, page=page.number - 1)
    following = list_url(path, sort=sort, has_code=has_code, page=page.number + 1)
    return {
        "prev_url": previous if page.has_previous else None,
        "next_url": following if page.has_next else None,
    }


def entry_json(entry: ListEntry) -> dict[str, Any]:
    """One paper of a list: its card, local upvotes, trending score and components, Hugging Face info."""
    trending = entry.trending
    hf = entry.hf
    return {
        **card_json(entry.card),
        "upvotes": entry.upvotes,
        "has_code": entry.has_code,
        "score": trending.score if trending else None,
        "trending": {
            "score": trending.score,
            "points": trending.points,
            "upvotes": trending.upvotes,
            "hf_upvotes": trending.hf_upvotes,
            "views_week": trending.views_week,
            "stars_gained_week": trending.stars_gained_week,
            "age_hours": round(trending.age_hours, 3),
            "computed_at": iso_datetime(trending.computed_at),
        }
        if trending
        else None,
        "hf": {
            "upvotes": hf.upvotes,
            "num_comments": hf.num_comments,
            "github_repo": hf.github_repo or None,
            "github_stars": hf.github_stars,
            "project_page": hf.project_page or None,
            "ai_summary": hf.ai_summary or None,
            "ai_keywords": list(hf.ai_keywords),
            "organization": hf.organization or None,
            "submitted_by": hf.submitted_by or None,
            "submitted_on_daily_at": iso_datetime(hf.submitted_on_daily_at),
        }
        if hf
        else None,
    }


def period_json(period: Period) -> dict[str, Any]:
    return {
        "kind": period.kind,
        "slug": period.slug,
        "label": period.label,
        "start": period.start.isoformat(),
        "end": period.last_day.isoformat(),  # inclusive
    }


def list_error(request: HttpRequest, error: BadListRequest) -> HttpResponse:
    if wants_json(request):
        return json_response({"error": str(error)}, status=error.status)
    context = {"message": str(error), "status": error.status}
    return render(request, "papers/list_error.html", context, status=error.status)


def home(request: HttpRequest) -> HttpResponse:
    """Trending papers (the published score at this moment), `?has_code=1` for those with code.
    Before anything has a score (a new installation), the first page of the latest day instead, said
    so on the page and as `"list": "latest"` in JSON. `?date=YYYY-MM-DD` (the date form of older pages)
    redirects to /day/."""
    if "date" in request.GET:
        return latest_period(request, "day")
    try:
        _sort, has_code = list_filters(request, sorts=False)
    except BadListRequest as error:
        return list_error(request, error)
    page = page_number(request)
    path = reverse("papers:home")
    now = timezone.now()
    entries, list_page = trending_entries(now, has_code=has_code, page=page)
    if page > (list_page.page_count or 1):
        raise Http404("no such page")
    fallback = None
    if not entries and not has_code:
        fallback = lists.latest_period("day", now)
        if fallback is not None:
            entries, day_page = lists.period_papers(fallback, now=now)
            list_page = services.ListPage(1, False, False, day_page.count, 1)
    if wants_json(request):
        data: dict[str, Any] = {"list": "latest", "date": fallback.slug} if fallback else {"list": "trending"}
        return json_response({
            **data,
            "has_code": has_code,
            **page_json(list_page),
            "page_count": list_page.page_count,
            "paper_count": list_page.count,
            "papers": [entry_json(entry) for entry in entries],
        })
    params = {"has_code": "1" if has_code else ""}
    title = "Trending papers" + (" with code" if has_code else "")
    return render(request, "papers/list.html", {
        "list_kind": "trending",
        "fallback": fallback,
        "title": title,
        "entries": entries,
        "page": list_page,
        **list_options(path, "trending", has_code, sorts=False),
        **pager_urls(path, list_page, "trending", has_code),
        "nav_section": "trending",
        "feed_links": build_feed_links("trending", [], f"{SITE_NAME}: {title.lower()}", params),
        "canonical_url": absolute_url(list_url(path, has_code=has_code, page=page)),
    })


def latest_period(request: HttpRequest, kind: str) -> HttpResponse:
    """`/day/`, `/week/`, `/month/`: the period holding the newest announcement day. The jump forms send
    `?date=2025-09-22`, `?week=2025-W39` or `?month=2025-09`, which redirect to that period's page."""
    field = PERIOD_JUMP_FIELDS[kind]
    if field in request.GET:
        try:
            period = parse_period(kind, request.GET[field].strip())
        except ValueError as exc:
            return list_error(request, BadListRequest(str(exc)))
        target = reverse(f"papers:{kind}", args=[period.slug])
        return HttpResponseRedirect(target + ("?format=json" if wants_json(request) else ""))
    latest = lists.latest_period(kind, timezone.now())
    return _period_response(request, kind, latest, reverse(f"papers:latest-{kind}"))


def day_papers(request: HttpRequest, slug: str) -> HttpResponse:
    return period_papers_view(request, "day", slug)


def week_papers(request: HttpRequest, slug: str) -> HttpResponse:
    return period_papers_view(request, "week", slug)


def month_papers(request: HttpRequest, slug: str) -> HttpResponse:
    return period_papers_view(request, "month", slug)


def period_papers_view(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    try:
        period = parse_period(kind, slug)
    except ValueError as exc:
        return list_error(request, BadListRequest(str(exc)))
    return _period_response(request, kind, period, reverse(f"papers:{kind}", args=[period.slug]))


def _period_response(request: HttpRequest, kind: str, period: Period | None, path: str) -> HttpResponse:
    """A day, week or month list: `?sort=trending|published`, `?has_code=1`, `?page=N`; the nearest
    earlier and later periods with papers as previous / next."""
    try:
        sort, has_code = list_filters(request)
    except BadListRequest as error:
        return list_error(request, error)
    page = page_number(request)
    previous = following = None
    if period is None:
        if page > 1:
            raise Http404("no such page")
        entries: list[ListEntry] = []
        list_page = services.ListPage(1, False, False, 0, 1)
    else:
        entries, list_page = lists.period_papers(
            period, sort=sort, has_code=has_code, page=page, now=timezone.now()
        )
        if page > (list_page.page_count or 1):
            raise Http404("no such page")
        previous, following = neighbour_periods(period)
    if wants_json(request):
        data: dict[str, Any] = {"list": kind}
        if kind == "day":
            data["date"] = period.slug if period else None
        data.update({
            "period": period_json(period) if period else None,
            "prev": previous.slug if previous else None,
            "next": following.slug if following else None,
            "sort": sort,
            "has_code": has_code,
            **page_json(list_page),
            "page_count": list_page.page_count,
            "paper_count": list_page.count,
            "papers": [entry_json(entry) for entry in entries],
        })
        return json_response(data)
    feed_links = []
    if period is not None:
        title = f"{SITE_NAME}: papers of {period.label}" + (" with code" if has_code else "")
        params = {"has_code": "1" if has_code else "", "sort": sort if sort != "trending" else ""}
        feed_links = build_feed_links(kind, [period.slug], title, params)
    return render(request, "papers/list.html", {
        "list_kind": kind,
        "period": period,
        "title": (period.label if period else "Latest papers") + (" · with code" if has_code else ""),
        "is_latest": path == reverse(f"papers:latest-{kind}"),
        "entries": entries,
        "page": list_page,
        "previous": previous,
        "previous_url": reverse(f"papers:{kind}", args=[previous.slug]) if previous else None,
        "following": following,
        "following_url": reverse(f"papers:{kind}", args=[following.slug]) if following else None,
        "jump_field": PERIOD_JUMP_FIELDS[kind],
        "jump_action": reverse(f"papers:latest-{kind}"),
        **list_options(path, sort, has_code),
        **pager_urls(path, list_page, sort, has_code),
        "nav_section": SECTION_OF_KIND[kind],
        "feed_links": feed_links,
        "canonical_url": absolute_url(list_url(path, sort=sort, has_code=has_code, page=page)),
    })


def paper_detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """One paper. `2501.01234v2` (or `arXiv:2501.01234`) redirects to the canonical `2501.01234`.

    A paper arXiv has deleted answers 410 Gone with a page saying so and a link to arXiv, and shows
    neither its title nor its abstract: a removal may have been for a reason (rights, a duplicate)
    that makes repeating the content wrong. An id we do not hold answers 404 with a link to arXiv.
    """
    try:
        canonical_id, _version = split_arxiv_id(arxiv_id)
    except ValueError as exc:
        raise Http404("not an arXiv identifier") from exc
    if canonical_id != arxiv_id:
        target = reverse("papers:paper", args=[canonical_id])
        if wants_json(request):
            target += "?format=json"
        return HttpResponsePermanentRedirect(target)
    detail = services.paper_detail(canonical_id)
    abs_url = f"https://arxiv.org/abs/{canonical_id}"
    if detail is None:
        if wants_json(request):
            return json_response({"error": "not found", "id": canonical_id}, status=404)
        return render(request, "404.html", {"arxiv_abs_url": abs_url, "missing_id": canonical_id}, status=404)
    if detail.is_deleted:
        if wants_json(request):
            gone = {"id": detail.arxiv_id, "deleted": True, "deleted_on": iso_date(detail.deleted_on)}
            return json_response(gone, status=410)
        return render(request, "papers/paper_gone.html", {
            "paper": detail, "arxiv_abs_url": abs_url, "canonical_url": absolute_url(detail.path),
        }, status=410)
    if wants_json(request):
        return json_response(detail_json(detail))
    # similar papers: vector neighbours; ?newer=1 only those announced later, ?category=1 only its category
    newer_only = request.GET.get("newer") == "1"
    same_category = request.GET.get("category") == "1"
    similar = similar_papers(
        detail.arxiv_id, k=SIMILAR_PAPERS, newer_only=newer_only, same_category=same_category
    )
    response = render(request, "papers/paper.html", {
        "paper": detail, "canonical_url": absolute_url(detail.path),
        "similar": similar, "similar_newer": newer_only, "similar_category": same_category,
    })
    # a human reading the page is a trending signal (counted per paper per day, nothing about the reader)
    if is_human_view(request):
        paper_pk = Paper.objects.filter(arxiv_id=detail.arxiv_id).values_list("pk", flat=True).first()
        if paper_pk is not None:
            record_paper_view(request, paper_pk, now=timezone.now())
    return response


def detail_json(detail: PaperDetail) -> dict[str, Any]:
    return {
        "id": detail.arxiv_id,
        "version": detail.version,
        "title": detail.title,
        "abstract": detail.abstract,
        "authors": [author.name for author in detail.authors],
        "author_count": len(detail.authors),
        "categories": [category.code for category in detail.categories],
        "primary_category": detail.primary_category,
        "announced_on": iso_date(detail.announced_on),
        "submitted_at": iso_datetime(detail.submitted_at),
        "updated_at": iso_datetime(detail.updated_at),
        "links": links_json(detail.links),
        "url": absolute_url(detail.path),
        "comments": detail.comments,
        "journal_ref": detail.journal_ref,
        "doi": detail.doi,
        "report_no": detail.report_no,
        "license": detail.license,
        "versions": [
            {"version": item.version, "created_at": iso_datetime(item.created_at), "size": item.size}
            for item in detail.versions
        ],
    }


def author_detail(request: HttpRequest, author_id: int) -> HttpResponse:
    page = page_number(request)
    try:
        listing = services.author_listing(author_id, page=page)
    except services.PageOutOfRange as exc:
        raise Http404("no such page") from exc
    if listing is None:
        raise Http404("no such author")
    path = reverse("papers:author", args=[author_id])
    if wants_json(request):
        return json_response({
            "author": {"id": listing.author.id, "name": listing.author.name, "url": absolute_url(path)},
            **page_json(listing.page),
            "page_count": listing.page.page_count,
            "paper_count": listing.page.count,
            "papers": [card_json(card) for card in listing.papers],
        })
    title = f"{SITE_NAME}: papers by {listing.author.name}"
    return render(request, "papers/author.html", {
        "listing": listing, "page_path": path, "canonical_url": canonical_for(path, page),
        "feed_links": build_feed_links("author", [listing.author.id], title),
    })


def category_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Papers listed in a category: its trending papers first, then the newest (`?sort=published`:
    newest only), `?has_code=1` for those with code."""
    try:
        sort, has_code = list_filters(request)
    except BadListRequest as error:
        return list_error(request, error)
    page = page_number(request)
    category = services.find_category(code)
    if category is None:
        raise Http404("no such category")
    entries, list_page = lists.category_papers(
        code, now=timezone.now(), sort=sort, has_code=has_code, page=page
    )
    if page > 1 and not entries:
        raise Http404("no such page")
    path = reverse("papers:category", args=[code])
    if wants_json(request):
        return json_response({
            "category": {"code": category.code, "name": category.name, "url": absolute_url(path)},
            "sort": sort,
            "has_code": has_code,
            **page_json(list_page),
            "papers": [entry_json(entry) for entry in entries],
        })
    title = f"{SITE_NAME}: {category.code} {category.name}".rstrip() + (" with code" if has_code else "")
    params = {"has_code": "1" if has_code else "", "sort": sort if sort != "trending" else ""}
    return render(request, "papers/category.html", {
        "category": category,
        "entries": entries,
        "page": list_page,
        "sort": sort,
        **list_options(path, sort, has_code),
        **pager_urls(path, list_page, sort, has_code),
        "nav_section": "categories",
        "feed_links": build_feed_links("category", [category.code], title, params),
        "canonical_url": absolute_url(list_url(path, sort=sort, has_code=has_code, page=page)),
    })


def category_index(request: HttpRequest) -> HttpResponse:
    """Every category with its paper count (cross-lists included; counts cached for minutes)."""
    counts = services.category_counts()
    if wants_json(request):
        return json_response({"categories": [
            {
                "code": item.code,
                "name": item.name,
                "archive": item.archive,
                "paper_count": item.paper_count,
                "url": absolute_url(reverse("papers:category", args=[item.code])),
            }
            for item in counts
        ]})
    archives: dict[str, dict[str, Any]] = {}
    for item in counts:
        group = archives.setdefault(
            item.archive, {"code": item.archive, "name": item.archive_name, "items": []}
        )
        group["items"].append(item)
    return render(request, "papers/categories.html", {
        "archives": list(archives.values()), "canonical_url": absolute_url(reverse("papers:categories")),
    })


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the site's 404 page (JSON for `?format=json` requests)."""
    if wants_json(request):
        return json_response({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)
