"""RSS 2.0 and Atom feeds of every list: trending, each day / week / month, each category, each author and
any search query.

Rule: a feed reads the same service as its page (so they never disagree) and only writes text XML 1.0
can carry: titles and abstracts as plain Unicode (LaTeX converted by papers.math.latex_to_text), control
characters dropped; every link absolute from settings.BASE_URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.views.decorators.http import require_GET

from broadsheet.papers import services
from broadsheet.papers.math import latex_to_text
from broadsheet.papers.services import PaperCard
from broadsheet.search.query import QueryError, SortOrder, clean_text
from broadsheet.search.service import search_papers
from broadsheet.search.views import filters_from
from broadsheet.trending import lists
from broadsheet.trending.lists import ListEntry

SITE_NAME = "Broadsheet"
FEED_ITEMS = 50
FEED_CLASSES: dict[str, type[feedgenerator.SyndicationFeed]] = {
    "rss": feedgenerator.Rss201rev2Feed,
    "atom": feedgenerator.Atom1Feed,
}
# XML 1.0 refuses C0 controls (but tab, newline, return), lone surrogates and U+FFFE/U+FFFF; C1 controls
# are allowed but "discouraged" and no reader shows them
NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
AUTHORS_IN_FEED = 8
CONTENT_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def xml_text(text: str) -> str:
    """Text any XML 1.0 document can hold: the characters it refuses removed."""
    return NOT_XML_TEXT.sub("", text)


def feed_text(latex: str) -> str:
    """A title or abstract as a feed shows it: plain Unicode, formulas as text, nothing XML refuses."""
    return xml_text(latex_to_text(xml_text(latex)))


@dataclass(frozen=True)
class FeedSpec:
    title: str
    page_path: str  # the HTML page the feed mirrors
    description: str


def _signals(entry: ListEntry) -> str:
    parts = [f"▲ {entry.total_upvotes}"]
    if entry.hf and entry.hf.github_stars is not None:
        parts.append(f"★ {entry.hf.github_stars}")
    return " · ".join(parts)


def _published_at(card: PaperCard) -> datetime | None:
    # arXiv announces a listing day at 00:00 UTC; papers without a day fall back to their submission
    if card.announced_on is not None:
        return datetime.combine(card.announced_on, time(0), UTC)
    return card.submitted_at


def render_feed(
    request: HttpRequest,
    feed_format: str,
    spec: FeedSpec,
    cards: Sequence[PaperCard],
    notes: dict[str, str] | None = None,
) -> HttpResponse:
    """The feed of `cards` in `feed_format` ("rss" or "atom"); `notes` adds a line (by arXiv id) to an
    item's description, such as its upvotes."""
    base = settings.BASE_URL
    query = request.META.get("QUERY_STRING", "")
    feed = FEED_CLASSES[feed_format](
        title=xml_text(spec.title),
        link=base + spec.page_path,
        description=xml_text(spec.description),
        language="en",
        feed_url=base + request.path + (f"?{query}" if query else ""),
        feed_guid=base + request.path + (f"?{query}" if query else ""),
        ttl=60,
    )
    for card in cards:
        abstract = feed_text(card.abstract)
        note = (notes or {}).get(card.arxiv_id)
        authors = ", ".join(xml_text(author.name) for author in card.authors[:AUTHORS_IN_FEED])
        if card.author_count > AUTHORS_IN_FEED:
            authors += f" et al. ({card.author_count} authors)"
        feed.add_item(
            title=feed_text(card.title) or f"arXiv:{card.arxiv_id}",
            link=base + card.path,
            description=f"{abstract}\n\n{note}" if note else abstract,
            unique_id=base + card.path,
            unique_id_is_permalink=True,
            author_name=authors or None,
            pubdate=_published_at(card),
            updateddate=card.updated_at,
            categories=[xml_text(code) for code in card.categories],
        )
    response = HttpResponse(content_type=CONTENT_TYPES[feed_format])
    feed.write(response, "utf-8")
    # feeds change when the lists do: a reader polling hourly is plenty
    response["Cache-Control"] = "public, max-age=600"
    return response


def _entries_feed(
    request: HttpRequest, feed_format: str, spec: FeedSpec, entries: Sequence[ListEntry]
) -> HttpResponse:
    cards = [entry.card for entry in entries]
    return render_feed(
        request, feed_format, spec, cards, {entry.card.arxiv_id: _signals(entry) for entry in entries}
    )


def _has_code(request: HttpRequest) -> bool:
    return request.GET.get("has_code") in ("1", "true", "on")


def _sort(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "trending")
    if sort not in lists.SORTS:
        raise Http404(f"unknown sort {sort!r}")
    return sort


def _with_code(title: str, has_code: bool) -> str:
    return title + (" with code" if has_code else "")


@require_GET
def trending_feed(request: HttpRequest, feed_format: str) -> HttpResponse:
    has_code = _has_code(request)
    entries, _page = lists.trending_entries(timezone.now(), has_code=has_code, per_page=FEED_ITEMS)
    path = reverse("papers:home") + ("?has_code=1" if has_code else "")
    spec = FeedSpec(
        _with_code(f"{SITE_NAME}: trending papers", has_code), path, "arXiv papers trending now, best first."
    )
    return _entries_feed(request, feed_format, spec, entries)


@require_GET
def period_feed(request: HttpRequest, kind: str, slug: str, feed_format: str) -> HttpResponse:
    try:
        period = lists.parse_period(kind, slug)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    has_code, sort = _has_code(request), _sort(request)
    entries, _page = lists.period_papers(
        period, has_code=has_code, sort=sort, per_page=FEED_ITEMS, now=timezone.now()
    )
    order = "trending first, then newest" if sort == "trending" else "newest first"
    spec = FeedSpec(
        _with_code(f"{SITE_NAME}: papers of {period.label}", has_code),
        reverse(f"papers:{kind}", args=[period.slug]),
        f"arXiv papers announced in {period.label}, {order}.",
    )
    return _entries_feed(request, feed_format, spec, entries)


@require_GET
def category_feed(request: HttpRequest, code: str, feed_format: str) -> HttpResponse:
    category = services.find_category(code)
    if category is None:
        raise Http404("no such category")
    has_code, sort = _has_code(request), _sort(request)
    entries, _page = lists.category_papers(
        code, now=timezone.now(), has_code=has_code, sort=sort, per_page=FEED_ITEMS
    )
    order = "trending first, then newest" if sort == "trending" else "newest first"
    spec = FeedSpec(
        _with_code(f"{SITE_NAME}: {category.code} {category.name}".rstrip(), has_code),
        reverse("papers:category", args=[category.code]),
        f"arXiv papers listed in {category.code}, cross-lists included, {order}.",
    )
    return _entries_feed(request, feed_format, spec, entries)


@require_GET
def author_feed(request: HttpRequest, author_id: str, feed_format: str) -> HttpResponse:
    listing = services.author_listing(int(author_id))
    if listing is None:
        raise Http404("no such author")
    spec = FeedSpec(
        f"{SITE_NAME}: papers by {listing.author.name}",
        listing.author.path,
        f"arXiv papers by {listing.author.name}, newest first.",
    )
    return render_feed(request, feed_format, spec, listing.papers[:FEED_ITEMS])


SEARCH_PARAMETERS = ("q", "mode", "sort", "author", "category", "from", "to")


@require_GET
def search_feed(request: HttpRequest, feed_format: str) -> HttpResponse:
    """`?q=` in the search language, with the search page's parameters; newest first unless
    `sort=relevance`. A query that cannot be run answers 400 with the parser's message."""
    params = {name: clean_text(request.GET.get(name, ""))[:2000] for name in SEARCH_PARAMETERS}
    try:
        results = search_papers(
            request.GET.get("q", ""),
            mode=params["mode"] or "hybrid",
            sort=params["sort"] or SortOrder.NEWEST,
            limit=FEED_ITEMS,
            filters=filters_from(params),
        )
    except QueryError as exc:
        return HttpResponse(f"Bad search: {exc}\n", status=400, content_type="text/plain; charset=utf-8")
    kept = {name: value for name, value in params.items() if value}
    spec = FeedSpec(
        f"{SITE_NAME}: search for {params['q']}" if params["q"] else f"{SITE_NAME}: search",
        reverse("search:search") + ("?" + urlencode(kept) if kept else ""),
        f"arXiv papers matching {params['q'] or 'the filters'}.",
    )
    return render_feed(request, feed_format, spec, [hit.card for hit in results.hits])
