"""Rendering a digest as an email: subject, plain-text and HTML parts, headers, the "view in browser" link.

Rule: every piece of paper or subscriber text is plain Unicode (math through pylatexenc), stripped of control
and bidi-override characters, and escaped by the templates; every link is absolute from settings.BASE_URL;
header values never carry CR/LF (paper titles end up in the subject).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from broadsheet.digest.compose import Digest, DigestItem, compose_digest
from broadsheet.digest.models import Delivery, Subscriber
from broadsheet.papers.math import latex_to_text
from broadsheet.papers.models import ARXIV_ABS_URL, ARXIV_PDF_URL

SITE_NAME = "Broadsheet"
SUBJECT_TITLE_CHARS = 90
ABSTRACT_EXCERPT_CHARS = 320
AUTHORS_SHOWN = 6
TEXT_WIDTH = 72
TEXT_INDENT = "   "
VIEW_TOKEN_SALT = "broadsheet.digest.view"
# C0/C1 controls (CR and LF included) become spaces; the invisible characters that reorder or hide text go:
# a title must not be able to make a subject or a link text read differently from what it says.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
INVISIBLE_CHARACTERS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
SPACES = re.compile(r"\s+")
RENDER_CACHE_SIZE = 4096


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def clean_text(value: object) -> str:
    """`value` as one line of displayable text: unsafe characters gone, whitespace runs made one space."""
    text = INVISIBLE_CHARACTERS.sub("", CONTROL_CHARACTERS.sub(" ", str(value)))
    return SPACES.sub(" ", text).strip()


# Keyed by the text itself: the same paper reaches thousands of subscribers in one run.
@lru_cache(maxsize=RENDER_CACHE_SIZE)
def paper_text(value: str) -> str:
    """A title or abstract as clean plain text, formulas as Unicode (`$\\alpha$` -> `α`)."""
    return clean_text(latex_to_text(clean_text(value)))


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]  # the last word was cut through
    return cut.rstrip(" ,;:.-") + "…"


def authors_line(names: list[str]) -> str:
    names = [clean_text(name) for name in names if clean_text(name)]
    if len(names) <= AUTHORS_SHOWN + 1:  # "and 1 more" would take the room of the name
        return ", ".join(names)
    return ", ".join(names[:AUTHORS_SHOWN]) + f" and {len(names) - AUTHORS_SHOWN} more"


def local_date_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def subject_for(digest: Digest, digest_date: date) -> str:
    """"Broadsheet — 23 Sep: <top title> and 9 more" (one line, whatever the title holds)."""
    prefix = f"{SITE_NAME} — {digest_date.day} {digest_date:%b}"
    if digest.is_empty:
        return f"{prefix}: no new papers for you"
    top = shorten(paper_text(digest.items[0].title), SUBJECT_TITLE_CHARS) or digest.items[0].arxiv_id
    more = len(digest.items) - 1
    return clean_text(f"{prefix}: {top}" + (f" and {more} more" if more else ""))


# -- links ------------------------------------------------------------------------------------------------


def view_token(subscriber: Subscriber, digest_date: date) -> str:
    """Signed (subscriber, digest date, token version): revoked with the subscriber's other links."""
    payload = {"s": subscriber.pk, "d": digest_date.isoformat(), "v": subscriber.token_version}
    return signing.Signer(salt=VIEW_TOKEN_SALT).sign_object(payload, compress=True)


def read_view_token(token: str) -> tuple[Subscriber, date] | None:
    """The subscriber and digest date a "view in browser" token names; None if tampered or revoked."""
    try:
        payload = signing.Signer(salt=VIEW_TOKEN_SALT).unsign_object(token)
        subscriber_id, day, version = payload["s"], date.fromisoformat(payload["d"]), payload["v"]
    except (signing.BadSignature, ValueError, UnicodeError, TypeError, KeyError):
        return None
    if not isinstance(subscriber_id, int):
        return None
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.token_version != version:
        return None
    return subscriber, day


def view_in_browser_url(subscriber: Subscriber, digest_date: date) -> str:
    return settings.BASE_URL + reverse("digest:view", args=[view_token(subscriber, digest_date)])


def digest_links(subscriber: Subscriber, digest_date: date, *, in_browser: bool) -> dict[str, str]:
    from broadsheet.digest.tokens import preferences_url, unsubscribe_url

    links = {
        "home": settings.BASE_URL + "/",
        "preferences": preferences_url(subscriber),
        "unsubscribe": unsubscribe_url(subscriber),
        "view": "" if in_browser else view_in_browser_url(subscriber, digest_date),
    }
    return links


# -- parts ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownItem:
    """One paper as both parts show it: plain text, cleaned; the templates escape it."""

    number: int
    title: str
    url: str
    authors: str
    categories: tuple[str, ...]
    reasons: tuple[str, ...]
    excerpt: str
    upvotes: int | None
    abs_url: str
    pdf_url: str

    @property
    def text_block(self) -> str:
        lines = [indented(self.title, first=f"{self.number}. ".ljust(len(TEXT_INDENT)))]
        if self.authors:
            lines.append(indented(self.authors))
        lines.extend(indented(f"Why: {reason}") for reason in self.reasons)
        if self.excerpt:
            lines.append("")
            lines.append(indented(self.excerpt))
        lines.append("")
        lines.append(f"{TEXT_INDENT}{self.url}")
        return "\n".join(lines)

    @property
    def html(self) -> SafeString:
        return item_html(self)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def indented(text: str, first: str = TEXT_INDENT) -> str:
    """`text` wrapped at TEXT_WIDTH columns under an indent (the same abstract wraps once per run)."""
    return textwrap.fill(
        text, width=TEXT_WIDTH, initial_indent=first, subsequent_indent=TEXT_INDENT, break_long_words=True
    )


# A shown item depends on nothing else, and many subscribers get the same paper at the same place for the
# same reasons: its HTML is rendered once per run (the template engine is most of a digest's rendering).
@lru_cache(maxsize=RENDER_CACHE_SIZE)
def item_html(item: ShownItem) -> SafeString:
    return mark_safe(  # noqa: S308 - rendered by an autoescaping template
        get_template("digest/_email_item.html").render({"item": item, "site_name": SITE_NAME})
    )


def shown_item(number: int, item: DigestItem) -> ShownItem:
    upvotes = None
    if item.trending is not None and item.trending.upvotes + item.trending.hf_upvotes > 0:
        upvotes = item.trending.upvotes + item.trending.hf_upvotes
    return ShownItem(
        number=number,
        title=paper_text(item.title) or item.arxiv_id,
        url=item.url,
        authors=authors_line(item.authors),
        categories=tuple(clean_text(code) for code in item.categories),
        reasons=tuple(clean_text(reason) for reason in item.reasons),
        excerpt=shorten(paper_text(item.abstract), ABSTRACT_EXCERPT_CHARS),
        upvotes=upvotes,
        abs_url=ARXIV_ABS_URL.format(arxiv_id=item.arxiv_id, version=item.version),
        pdf_url=ARXIV_PDF_URL.format(arxiv_id=item.arxiv_id, version=item.version),
    )


def render_digest(
    digest: Digest, subscriber: Subscriber, *, digest_date: date, in_browser: bool = False
) -> RenderedDigest:
    """Subject, plain text and HTML of `digest` for `subscriber` on `digest_date` (their local date).
    `in_browser`: for the "view in browser" page, which does not link to itself."""
    if settings.DEBUG:  # templates may have been edited
        item_html.cache_clear()
    items = [shown_item(number, item) for number, item in enumerate(digest.items, start=1)]
    weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
    count = len(items)
    papers = f"{count} paper{'s' if count != 1 else ''}"
    if count and digest.new_papers is not None:
        intro = (
            f"{papers} picked for you from {digest.new_papers:,} new since your last digest, "
            "each with the reason it is here."
        )
    elif count:
        intro = f"{papers} picked for you, each with the reason it is here."
    else:
        intro = "Nothing new matched your preferences this time."
    subject = subject_for(digest, digest_date)
    context = {
        "site_name": SITE_NAME,
        "subject": subject,
        "heading": f"Your {'weekly' if weekly else 'daily'} papers",
        "date_label": local_date_label(digest_date),
        "intro": intro,
        "preheader": shorten(" · ".join(item.title for item in items[:3]), 140),
        "items": items,
        "email": clean_text(subscriber.email),
        "host": urlsplit(settings.BASE_URL).netloc,
        "links": digest_links(subscriber, digest_date, in_browser=in_browser),
    }
    footer = (
        f"You get this because {context['email']} subscribed to the {SITE_NAME} digest at {context['host']}."
    )
    context["text_intro"] = textwrap.fill(intro, width=TEXT_WIDTH)
    context["text_footer"] = textwrap.fill(footer, width=TEXT_WIDTH)
    # templates leave blank-line runs where tags stood; mail readers show them
    text = re.sub(r"\n{3,}", "\n\n", str(render_to_string("digest/email.txt", context))).strip() + "\n"
    html = str(render_to_string("digest/email.html", context))
    return RenderedDigest(subject=subject, text=text, html=html)


# -- the message ------------------------------------------------------------------------------------------


def message_id_for(delivery: Delivery) -> str:
    """The same Message-ID for every attempt at one delivery: a resend is recognisably the same message."""
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"<digest.{delivery.pk}.{delivery.digest_date:%Y%m%d}@{host}>"


def build_message(delivery: Delivery, rendered: RenderedDigest) -> EmailMultiAlternatives:
    """The multipart/alternative message of a delivery, with RFC 8058 one-click unsubscribe headers.

    Django refuses header values with CR/LF and writes non-ASCII ones as RFC 2047 encoded words; the subject
    is cleaned here too, so a title can neither break the header nor add one. Django adds `Date` when sent.
    """
    from broadsheet.digest.tokens import one_click_unsubscribe_url

    subscriber = delivery.subscriber
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    message = EmailMultiAlternatives(
        subject=clean_text(rendered.subject),
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={
            "Message-ID": message_id_for(delivery),
            "List-Id": f"{SITE_NAME} digest <digest.{host}>",
            "List-Unsubscribe": f"<{one_click_unsubscribe_url(subscriber)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def subscriber_local_date(subscriber: Subscriber, now: datetime) -> date:
    try:
        zone = ZoneInfo(subscriber.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def preview_digest(email: str, *, now: datetime) -> RenderedDigest:
    """The digest `email` would get at `now` (what `broadsheet digest preview EMAIL` prints); nothing is
    recorded. Raises Subscriber.DoesNotExist for an unknown address."""
    subscriber = Subscriber.objects.get(email=email.strip().lower())
    digest = compose_digest(subscriber, since_at=subscriber.last_digest_at, now=now)
    return render_digest(digest, subscriber, digest_date=subscriber_local_date(subscriber, now))
