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

from broadsheet.ingest.records import split_arxiv_id
from broadsheet.papers import services
from broadsheet.papers.models import Paper
from broadsheet.papers.services import PaperCard, PaperDetail, PaperLinks
from broadsheet.search.service import similar_papers
from broadsheet.trending.views import is_human_view, record_paper_view

JSON_FORMAT = "json"
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


def home(request: HttpRequest) -> HttpResponse:
    """The newest announcement day with papers; `?date=YYYY-MM-DD` (the date form) redirects to /day/."""
    if "date" in request.GET:
        try:
            chosen = date.fromisoformat(request.GET["date"])
        except ValueError as exc:
            raise Http404("not a date") from exc
        target = reverse("papers:day", args=[chosen])
        return HttpResponseRedirect(target + ("?format=json" if wants_json(request) else ""))
    latest = services.latest_announcement_day(timezone.now())
    return _day_response(request, latest, reverse("papers:home"))


def day_papers(request: HttpRequest, day: date) -> HttpResponse:
    return _day_response(request, day, reverse("papers:day", args=[day]))


def _day_response(request: HttpRequest, day: date | None, path: str) -> HttpResponse:
    page = page_number(request)
    try:
        listing = services.day_listing(day, page=page)
    except services.PageOutOfRange as exc:
        raise Http404("no such page") from exc
    if wants_json(request):
        return json_response({
            "date": iso_date(listing.day),
            "prev": iso_date(listing.previous_day),
            "next": iso_date(listing.next_day),
            **page_json(listing.page),
            "page_count": listing.page.page_count,
            "paper_count": listing.page.count,
            "papers": [card_json(card) for card in listing.papers],
        })
    return render(request, "papers/day.html", {
        "listing": listing,
        "is_home": path == reverse("papers:home"),
        "page_path": path,
        "canonical_url": canonical_for(path, page),
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
    return render(request, "papers/author.html", {
        "listing": listing, "page_path": path, "canonical_url": canonical_for(path, page),
    })


def category_detail(request: HttpRequest, code: str) -> HttpResponse:
    page = page_number(request)
    try:
        listing = services.category_listing(code, page=page)
    except services.PageOutOfRange as exc:
        raise Http404("no such page") from exc
    if listing is None:
        raise Http404("no such category")
    path = reverse("papers:category", args=[code])
    if wants_json(request):
        return json_response({
            "category": {
                "code": listing.category.code, "name": listing.category.name, "url": absolute_url(path),
            },
            **page_json(listing.page),
            "papers": [card_json(card) for card in listing.papers],
        })
    return render(request, "papers/category.html", {
        "listing": listing, "page_path": path, "canonical_url": canonical_for(path, page),
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
