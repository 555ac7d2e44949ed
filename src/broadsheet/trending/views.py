"""Page-view counting for the trending score, and the /about/trending page that publishes the formula.

Rule: a view is one counter increment per paper per UTC day; nothing about the reader (address, agent,
cookie, account) is stored. Bots, link previews and prefetches are not counted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from broadsheet.papers.models import Paper
from broadsheet.trending import score
from broadsheet.trending.models import PageViewDay

# User-Agent words of crawlers, link unfurlers, feed readers, monitors, HTTP libraries and headless browsers
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|archiver|scrap|fetch|preview|facebookexternalhit|embedly|whatsapp|"
    r"feed|rss|monitor|uptime|pingdom|lighthouse|headless|phantomjs|selenium|puppeteer|playwright|"
    r"python|curl|wget|httpx|aiohttp|requests|go-http|java/|okhttp|libwww|axios|node-fetch|scrapy|"
    r"^mozilla/[0-9.]+$",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_MOZ", "HTTP_X_PURPOSE")
TOP_EXAMPLES = 5


def is_human_view(request: HttpRequest) -> bool:
    """A GET for the page by a browser a person drives: not a bot's agent, not a prefetch or prerender."""
    if request.method != "GET":
        return False
    agent = request.META.get("HTTP_USER_AGENT", "").strip()
    if not agent or BOT_USER_AGENT.search(agent):
        return False
    return not any(
        "prefetch" in request.META.get(header, "").lower()
        or "prerender" in request.META.get(header, "").lower()
        for header in PREFETCH_HEADERS
    )


def record_paper_view(request: HttpRequest, paper_id: int, *, now: datetime) -> bool:
    """Count a human view of the paper with primary key `paper_id` on the UTC day of `now`; returns whether
    it was counted. Call it from the paper page's HTML response (not from its JSON twin)."""
    if not is_human_view(request):
        return False
    day = now.astimezone(UTC).date()
    counter = PageViewDay.objects.filter(paper_id=paper_id, day=day)
    if counter.update(views=F("views") + 1):
        return True
    try:
        with transaction.atomic():
            PageViewDay.objects.create(paper_id=paper_id, day=day, views=1)
    except IntegrityError:
        # another request created the day's row first; or the paper is gone (nothing to count then)
        counter.update(views=F("views") + 1)
    return True


def about_trending(request: HttpRequest) -> HttpResponse:
    """The formula, its constants (taken from score.py, so page and code cannot disagree) and the current
    top papers with their components as worked examples."""
    now = timezone.now()
    entries = score.trending_papers(now, limit=TOP_EXAMPLES)
    titles = dict(
        Paper.objects.filter(pk__in=[entry.paper_id for entry in entries]).values_list("pk", "title")
    )
    examples = [
        {
            "entry": entry,
            "title": titles.get(entry.paper_id, ""),
            "path": reverse("papers:paper", args=[entry.arxiv_id]),
        }
        for entry in entries
    ]
    return render(
        request,
        "trending/about.html",
        {
            "constants": {
                "upvote": score.UPVOTE_POINTS,
                "hf_upvote": score.HF_UPVOTE_POINTS,
                "view": score.VIEW_POINTS,
                "star": score.STAR_POINTS,
                "gravity": score.GRAVITY,
                "offset": score.AGE_OFFSET_HOURS,
            },
            "examples": examples,
            "canonical_url": settings.BASE_URL + reverse("about-trending"),
        },
    )
