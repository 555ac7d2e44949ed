"""The feeds a page offers: what base.html renders as `<link rel="alternate">` and the page shows as a
small "RSS / Atom" link.

Rule: feed URLs are absolute from settings.BASE_URL, never from the request's Host header.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

FEED_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
FEED_FORMAT_NAMES = {"rss": "RSS", "atom": "Atom"}


@dataclass(frozen=True)
class FeedLink:
    type: str  # the MIME type
    title: str
    url: str  # absolute
    format: str  # "rss" or "atom"

    @property
    def format_name(self) -> str:
        return FEED_FORMAT_NAMES[self.format]


def build_feed_links(
    name: str, args: list[object], title: str, params: dict[str, str] | None = None
) -> list[FeedLink]:
    """The RSS and Atom links of the feed `feeds:<name>` with `args` (the format is the last argument)
    and query `params` (empty values left out)."""
    query = urlencode({key: value for key, value in (params or {}).items() if value})
    links = []
    for feed_format, mime in FEED_TYPES.items():
        path = reverse(f"feeds:{name}", args=[*args, feed_format])
        url = settings.BASE_URL + path + (f"?{query}" if query else "")
        links.append(FeedLink(mime, f"{title} ({FEED_FORMAT_NAMES[feed_format]})", url, feed_format))
    return links
