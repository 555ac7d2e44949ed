"""Template filters for paper text: MathML HTML for pages, plain text for <title> and meta tags.

Rule: only `math` returns markup, and only what math.render_math has sanitised; everything else is
left to autoescaping.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django import template
from django.conf import settings
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from broadsheet.papers.math import latex_to_text, render_math
from broadsheet.papers.services import PaperCard

register = template.Library()

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


@register.filter(name="math")
def math_filter(value: object) -> SafeString:
    """Title or abstract as HTML with formulas as MathML; everything else escaped."""
    return mark_safe(render_math(str(value or "")))  # noqa: S308 - sanitised by an nh3 allowlist


@register.filter
def plain(value: object) -> str:
    """Title or abstract as plain Unicode text (formulas as text), for <title> and meta tags."""
    return latex_to_text(str(value or ""))


@register.filter
def isolate(value: object) -> str:
    """Plain text wrapped in Unicode isolates, the <bdi> of places that take no markup (<title>):
    a right-to-left override inside cannot reorder the text around it."""
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"


CARD_CACHE_SIZE = 4096


# A card's HTML depends on nothing but the card (no request, no user), and the frozen PaperCard is its
# own key, so a cached card can never be stale; rendering 50 cards through the template engine costs
# tens of milliseconds, looking them up costs well under one.
@lru_cache(maxsize=CARD_CACHE_SIZE)
def _render_card(card: PaperCard) -> SafeString:
    return mark_safe(get_template("papers/_card.html").render({"paper": card}))  # noqa: S308


@register.simple_tag
def paper_card(card: PaperCard) -> SafeString:
    """One paper of a list, as papers/_card.html renders it."""
    if settings.DEBUG:
        _render_card.cache_clear()
    return _render_card(card)


STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


@lru_cache(maxsize=8)
def _read_static(path: str) -> str:
    found = (STATIC_DIR / path).resolve()
    if not found.is_relative_to(STATIC_DIR) or not found.is_file():
        raise template.TemplateSyntaxError(f"static file not found: {path}")
    return found.read_text(encoding="utf-8")


@register.simple_tag
def inline_static(path: str) -> SafeString:
    """The text of one of our own static files, to inline (the stylesheet): no extra request, nothing
    for gunicorn to serve. Read once per process unless DEBUG, so edits show up while developing."""
    if settings.DEBUG:
        _read_static.cache_clear()
    return mark_safe(_read_static(path))  # noqa: S308 - our own file, not user input
