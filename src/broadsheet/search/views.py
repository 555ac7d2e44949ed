"""The search page `/search?q=` and its JSON twin (`?format=json`, same parameters, same results).

Rule: the view reads parameters, calls search_papers and renders what it returns; a query or a
parameter that cannot be used is a 400 carrying the parser's message (page or JSON), never a 5xx.
Parameters: q (the query language), mode (hybrid|keyword|vector), sort (relevance|newest), author,
category, from, to (YYYY[-MM[-DD]]), page (20 results a page, up to search.service.MAX_RESULTS).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from broadsheet.feeds.links import build_feed_links
from broadsheet.papers.views import card_json, json_response, wants_json
from broadsheet.search.query import (
    QueryError,
    SearchFilters,
    SearchMode,
    SortOrder,
    clean_text,
    parse_author,
    parse_category,
    parse_date,
)
from broadsheet.search.service import MAX_RESULTS, SearchHit, SearchResults, search_papers

PAGE_SIZE = 20
FORM_PARAMETERS = ("q", "mode", "sort", "author", "category", "from", "to")


def filters_from(params: dict[str, str]) -> SearchFilters:
    """The filter parameters (author, category, from, to) as SearchFilters; QueryError when malformed."""
    author = params.get("author", "").strip()
    category = params.get("category", "").strip()
    date_from = params.get("from", "").strip()
    date_to = params.get("to", "").strip()
    return SearchFilters(
        authors=(parse_author(author),) if author else (),
        categories=(parse_category(category),) if category else (),
    ).merge(SearchFilters(
        date_from=parse_date(date_from, end=False) if date_from else None,
        date_to=parse_date(date_to, end=True) if date_to else None,
    ))


def page_from(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise QueryError("page must be a whole number from 1")
    page = int(raw)
    if page * PAGE_SIZE > MAX_RESULTS:
        raise QueryError(f"results are paged up to the first {MAX_RESULTS}")
    return page


def hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        **card_json(hit.card),
        "score": hit.score,
        "matched_by": list(hit.sources),
        "title_html": hit.title_html,
        "snippet_html": hit.snippet_html,
    }


def results_json(results: SearchResults, page: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "query": results.query.text,
        "mode": results.mode.value,
        "sort": results.sort.value,
        "offset": results.offset,
        "limit": results.limit,
        "has_more": results.has_more,
        "notes": list(results.notes),
        "results": [hit_json(hit) for hit in results.hits],
    }
    if page is not None:
        data["page"] = page
        data["prev_page"] = page - 1 if page > 1 else None
        data["next_page"] = page + 1 if results.has_more else None
    return data


def search(request: HttpRequest) -> HttpResponse:
    # what the form shows back: printable text only, as the parser will see it
    params = {name: clean_text(request.GET.get(name, ""))[:2000] for name in FORM_PARAMETERS}
    context: dict[str, Any] = {"params": params, "search_query": params["q"], "modes": list(SearchMode),
                               "sorts": list(SortOrder)}
    try:
        page = page_from(request.GET.get("page", "1"))
        results = search_papers(
            request.GET.get("q", ""),  # whole: an over-long query is refused with its real length
            mode=params["mode"] or SearchMode.HYBRID,
            sort=params["sort"] or SortOrder.RELEVANCE,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            filters=filters_from(params),
        )
    except QueryError as exc:
        if wants_json(request):
            return json_response({"error": str(exc)}, status=400)
        return render(request, "search/results.html", {**context, "error": str(exc)}, status=400)
    if wants_json(request):
        return json_response(results_json(results, page))
    kept = {name: value for name, value in params.items() if value}
    base = reverse("search:search")

    def page_url(number: int) -> str:
        query = {**kept, **({"page": str(number)} if number > 1 else {})}
        return base + ("?" + urlencode(query) if query else "")

    context.update({
        "results": results,
        "page": page,
        "previous_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(page + 1) if results.has_more else None,
        "json_url": base + "?" + urlencode({**kept, "page": str(page), "format": "json"}),
        # the same search as a feed (newest first there), for a feed reader to follow
        "feed_links": build_feed_links(
            "search", [], f"Broadsheet: search for {params['q'] or 'the filters'}",
            {name: value for name, value in kept.items() if name != "page"},
        ) if not results.is_empty_query else [],
    })
    return render(request, "search/results.html", context)
