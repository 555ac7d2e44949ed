"""Template tags of the accounts app: the upvote and save controls of the paper page, card slot ids.

Rule: controls that depend on the reader render here, per request; a card's cached HTML only carries a
slot (`vote_slot_id`) that the page's one `/votes/` request fills.
"""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

from broadsheet.accounts import upvotes
from broadsheet.papers.services import paper_path

register = template.Library()

_NOT_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@register.filter
def vote_slot_id(arxiv_id: str) -> str:
    """`vote-2501-01234`: an HTML id (and CSS selector) safe form of an arXiv id."""
    return "vote-" + _NOT_ID_SAFE.sub("-", str(arxiv_id))


@register.simple_tag(takes_context=True)
def upvote_control(context: template.Context, arxiv_id: str) -> SafeString:
    """The paper page's upvote button with its count and the reader's state."""
    from broadsheet.accounts.views import render_vote  # views import the papers app, which loads these tags

    request = context.get("request")
    paper = upvotes.votable_paper(arxiv_id)
    if request is None or paper is None:
        return mark_safe("")
    user_id = request.user.pk if request.user.is_authenticated else None
    state = upvotes.vote_state(paper, user_id)
    return mark_safe(render_vote(request, state, paper_path(arxiv_id)))  # noqa: S308 - an escaped template


@register.inclusion_tag("accounts/_save.html", takes_context=True)
def save_control(context: template.Context, arxiv_id: str) -> dict:
    """The paper page's "save to a collection" form (a sign-in link for anonymous readers)."""
    from broadsheet.accounts.views import save_context, signin_url

    request = context.get("request")
    paper = upvotes.votable_paper(arxiv_id)
    if request is None or paper is None:
        return {"hidden": True}
    if not request.user.is_authenticated:
        return {"paper": paper, "anonymous": True, "signin_url": signin_url(paper_path(arxiv_id)),
                "request": request}
    values = save_context(request, paper, paper_path(arxiv_id))
    values["request"] = request
    values["csrf_token"] = context.get("csrf_token")
    return values
