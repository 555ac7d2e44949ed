"""Pages of the accounts app: sign-in and sign-out, upvotes, collections, submit a paper.

Rule: views adapt requests to the service modules (signin, upvotes, collections, submit); every state
change is a POST with CSRF, answers htmx with the swapped fragment and plain forms with a redirect to a
local `next`; rate limits answer 429 with `Retry-After`.
"""

from __future__ import annotations

from pathlib import Path
from smtplib import SMTPException
from typing import Any
from urllib.parse import urlencode

import django_htmx
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from broadsheet.accounts import collections, signin, upvotes
from broadsheet.accounts.models import Collection
from broadsheet.accounts.ratelimit import check_client_rate, check_rate, too_many_requests
from broadsheet.accounts.submit import Outcome, submit_paper
from broadsheet.papers.models import Paper
from broadsheet.papers.services import paper_path
from broadsheet.papers.views import absolute_url, card_json

HOUR_SECONDS = 3600
HTMX_SCRIPT = Path(django_htmx.__file__).resolve().parent / "static" / "django_htmx" / "htmx-2.min.js"
SUBMIT_STATUS = {
    Outcome.ADDED: 201,
    Outcome.ALREADY_HERE: 200,
    Outcome.MALFORMED: 400,
    Outcome.UNKNOWN: 404,
    Outcome.UNREACHABLE: 502,
}


def _setting(name: str) -> int:
    return int(settings.BROADSHEET[name])


def _user_id(request: HttpRequest) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


def signin_url(next_path: str) -> str:
    target = reverse("accounts:signin")
    return f"{target}?{urlencode({'next': next_path})}" if next_path else target


def _to_signin(request: HttpRequest, next_path: str) -> HttpResponse:
    """Send an anonymous reader to sign in, then back to `next_path` (htmx: a full-page redirect)."""
    target = signin_url(signin.safe_next(next_path))
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(signin.safe_next(request.POST.get("next")) or fallback)


def _referrer_path(request: HttpRequest) -> str:
    """The local path of the Referer header when it is a page of this site, else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    base = settings.BASE_URL
    if referer.startswith(base + "/"):
        return signin.safe_next(referer[len(base):])
    host_url = request.build_absolute_uri("/")  # the same browser tab: allowed to come back to itself
    if referer.startswith(host_url):
        return signin.safe_next(referer[len(host_url) - 1:])
    return ""


# --- sign-in ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signin_form(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: email a one-time link. The page after POST is the same whether or not the
    address has an account; errors are about the address as typed, never about accounts."""
    source = request.POST if request.method == "POST" else request.GET
    next_path = signin.safe_next(source.get("next"))
    context: dict[str, Any] = {"next": next_path, "email": "", "minutes": signin.SIGNIN_LINK_MINUTES}
    if request.method == "GET":
        return render(request, "accounts/signin.html", context)
    raw = request.POST.get("email", "")
    context["email"] = raw[: signin.MAX_EMAIL_LENGTH + 50]
    try:
        email = signin.normalize_email(raw)
    except signin.InvalidEmail as exc:
        context["error"] = str(exc)
        return render(request, "accounts/signin.html", context, status=400)
    now = timezone.now()
    for decision in (
        check_client_rate(request, "signin", _setting("SIGNIN_PER_IP_PER_HOUR"), HOUR_SECONDS, now),
        check_rate(f"signin:email:{email}", _setting("SIGNIN_PER_ADDRESS_PER_HOUR"), HOUR_SECONDS, now),
    ):
        if not decision.allowed:
            return too_many_requests(request, decision, "sign-in requests")
    link = signin.issue_signin_link(email, next_path, now)
    try:
        signin.send_signin_email(email, link)
    except (OSError, SMTPException):
        context["error"] = "The sign-in email could not be sent just now. Please try again in a few minutes."
        return render(request, "accounts/signin.html", context, status=503)
    sent = {"email": email, "minutes": signin.SIGNIN_LINK_MINUTES}
    return render(request, "accounts/signin_sent.html", sent)


@require_http_methods(["GET", "POST"])
def signin_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and uses nothing up: mail scanners that open links must not spend the token.
    POST (CSRF) uses the token and signs in."""
    now = timezone.now()
    if request.method == "GET":
        row = signin.find_usable_token(token, now)
        if row is None:
            return render(request, "accounts/signin_link_bad.html", status=410)
        return render(request, "accounts/signin_confirm.html", {"email": row.email, "token": token})
    redeemed = signin.redeem_token(token, now)
    if redeemed is None:
        return render(request, "accounts/signin_link_bad.html", status=410)
    user = signin.user_for_email(redeemed.email)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(redeemed.next_path or reverse("papers:home"))


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return _back(request, reverse("papers:home"))


# --- upvotes ---------------------------------------------------------------------------------------


def _vote_context(
    request: HttpRequest, state: upvotes.VoteState, next_path: str, oob: bool
) -> dict[str, Any]:
    return {
        "state": state,
        "next": next_path or paper_path(state.arxiv_id),
        "oob": oob,
        "signin_url": signin_url(next_path or paper_path(state.arxiv_id)),
        "signed_in": request.user.is_authenticated,
    }


def render_vote(request: HttpRequest, state: upvotes.VoteState, next_path: str, oob: bool = False) -> str:
    context = _vote_context(request, state, next_path, oob)
    return render_to_string("accounts/_vote.html", context, request=request)


@require_http_methods(["GET", "POST"])
def upvote(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """POST `action=upvote|undo` (explicit, so a repeated click cannot flip a vote twice).
    GET is the page a card's link leads to without JavaScript: the paper and the vote button."""
    paper = upvotes.votable_paper(arxiv_id)
    if paper is None:
        raise Http404("no such paper")
    own_path = reverse("accounts:upvote", args=[paper.arxiv_id])
    if not request.user.is_authenticated:
        return _to_signin(request, own_path if request.method == "GET" else request.POST.get("next", ""))
    if request.method == "GET":
        back = _referrer_path(request) or paper_path(paper.arxiv_id)
        state = upvotes.vote_state(paper, request.user.pk)
        return render(request, "accounts/upvote.html", {
            "paper": paper, "vote_html": render_vote(request, state, back), "back": back,
        })
    action = request.POST.get("action", "upvote")
    if action == "undo":
        upvotes.remove_upvote(request.user.pk, paper.pk)
    elif action == "upvote":
        upvotes.add_upvote(request.user.pk, paper.pk, timezone.now())
    else:
        return HttpResponse("action must be upvote or undo", status=400, content_type="text/plain")
    if getattr(request, "htmx", False):
        next_path = signin.safe_next(request.POST.get("next"))
        return HttpResponse(render_vote(request, upvotes.vote_state(paper, request.user.pk), next_path))
    return _back(request, paper_path(paper.arxiv_id))


@require_GET
def vote_states(request: HttpRequest) -> HttpResponse:
    """The vote buttons of the cards on a page, as htmx out-of-band swaps (one request per page: a card's
    cached HTML carries no reader, count or CSRF token)."""
    wanted = [value for value in request.GET.getlist("vote_paper") if value]
    if not wanted:  # a page without cards asks too: htmx cannot tell beforehand
        return HttpResponse(status=204)
    htmx = getattr(request, "htmx", None)  # django-htmx's request details; falsy for plain requests
    next_path = signin.safe_next(htmx.current_url_abs_path) if htmx else ""
    states = upvotes.vote_states(wanted, _user_id(request))
    if request.GET.get("format") == "json":
        return JsonResponse({"papers": [
            {"id": state.arxiv_id, "upvotes": state.count, "upvoted": state.voted} for state in states
        ]})
    html = "".join(render_vote(request, state, next_path, oob=True) for state in states)
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    return response


# --- collections -----------------------------------------------------------------------------------


def save_context(request: HttpRequest, paper: Paper, next_path: str, message: str = "") -> dict[str, Any]:
    owner_id = request.user.pk
    assert owner_id is not None  # only signed-in readers get this far
    holding = collections.collections_holding(owner_id, paper)
    choices = collections.user_collections(owner_id)
    return {
        "paper": paper,
        "choices": choices,
        "holding": [choice for choice in choices if choice.id in holding],
        "holding_ids": holding,
        "next": next_path or paper_path(paper.arxiv_id),
        "message": message,
        "default_name": collections.DEFAULT_COLLECTION_NAME,
    }


@require_http_methods(["GET", "POST"])
def save_to_collection(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """POST `collection=<id>` (empty: the Reading list, made when needed) or `new_name=...` to save into a
    new collection. GET: the same form on a page of its own."""
    paper = upvotes.votable_paper(arxiv_id)
    if paper is None:
        raise Http404("no such paper")
    own_path = reverse("accounts:save", args=[paper.arxiv_id])
    if not request.user.is_authenticated:
        return _to_signin(request, paper_path(paper.arxiv_id) if request.method == "GET" else
                          request.POST.get("next", ""))
    if request.method == "GET":
        context = save_context(request, paper, _referrer_path(request))
        return render(request, "accounts/save.html", context)
    now = timezone.now()
    next_path = signin.safe_next(request.POST.get("next"))
    new_name = request.POST.get("new_name", "").strip()
    raw_id = request.POST.get("collection", "")
    status = 200
    try:
        if new_name:
            target = collections.create_collection(request.user.pk, new_name, False, now)
        elif raw_id.isdigit():
            found = collections.owned_collection(request.user.pk, int(raw_id))
            if found is None:
                raise collections.CollectionError("That collection is not yours or no longer exists.")
            target = found
        else:
            target = collections.default_collection(request.user.pk, now)
        added = collections.save_paper(target, paper, now)
        message = f"Saved to {target.name}." if added else f"Already in {target.name}."
    except collections.CollectionError as exc:
        message, status = str(exc), 400
    if getattr(request, "htmx", False):
        html = render_to_string("accounts/_save.html", save_context(request, paper, next_path, message),
                                request=request)
        return HttpResponse(html, status=status)
    if status != 200:
        context = save_context(request, paper, next_path, message)
        return render(request, "accounts/save.html", context, status=status)
    return _back(request, own_path)


def collection_json(collection: Collection, cards: list) -> dict[str, Any]:
    return {
        "id": collection.pk,
        "name": collection.name,
        "public": collection.is_public,
        "url": absolute_url(collections.collection_path(collection)),
        "updated_at": collection.updated_at.isoformat().replace("+00:00", "Z"),
        "paper_count": len(cards),
        "papers": [card_json(card) for card in cards],
    }


@require_http_methods(["GET", "POST"])
def my_collections(request: HttpRequest) -> HttpResponse:
    """GET: the reader's collections (`?format=json` too). POST: make one (`name`, `public`)."""
    if not request.user.is_authenticated:
        if request.GET.get("format") == "json":
            return JsonResponse({"error": "sign in first"}, status=401)
        return _to_signin(request, reverse("accounts:collections"))
    now = timezone.now()
    context: dict[str, Any] = {"error": "", "name": ""}
    status = 200
    if request.method == "POST":
        try:
            created = collections.create_collection(
                request.user.pk, request.POST.get("name", ""), request.POST.get("public") == "1", now
            )
            return HttpResponseRedirect(collections.collection_path(created))
        except collections.CollectionError as exc:
            context.update(error=str(exc), name=request.POST.get("name", "")[:200])
            status = 400
    mine = collections.user_collections(request.user.pk)
    if request.GET.get("format") == "json":
        return JsonResponse({"collections": [
            {"id": item.id, "name": item.name, "public": item.is_public, "paper_count": item.paper_count,
             "url": absolute_url(item.path)}
            for item in mine
        ]}, json_dumps_params={"ensure_ascii": False})
    context["collections"] = mine
    return render(request, "accounts/collections.html", context, status=status)


@require_GET
def collection_page(request: HttpRequest, ref: str) -> HttpResponse:
    """A collection: anyone may see a public one; a private one is a 404 to everyone but its owner."""
    collection = collections.visible_collection(ref, _user_id(request))
    if collection is None:
        raise Http404("no such collection")
    canonical = collections.collection_path(collection)
    cards = collections.collection_papers(collection)
    if request.GET.get("format") == "json":
        return JsonResponse(collection_json(collection, cards), json_dumps_params={"ensure_ascii": False})
    if request.path != canonical:
        return HttpResponseRedirect(canonical)
    response = render(request, "accounts/collection.html", {
        "collection": collection,
        "cards": cards,
        "is_owner": collection.owner_id == _user_id(request),
        "canonical_url": absolute_url(canonical) if collection.is_public else None,
    })
    if not collection.is_public:
        response["Cache-Control"] = "private, no-store"
    return response


def _owned_or_404(request: HttpRequest, ref: str) -> Collection:
    collection = collections.visible_collection(ref, request.user.pk)
    if collection is None or collection.owner_id != request.user.pk:
        raise Http404("no such collection")
    return collection


@login_required
@require_POST
def collection_edit(request: HttpRequest, ref: str) -> HttpResponse:
    """Rename and/or set public (`name`, `public=1`)."""
    collection = _owned_or_404(request, ref)
    try:
        collections.update_collection(
            collection, request.POST.get("name", collection.name), request.POST.get("public") == "1",
            timezone.now(),
        )
    except collections.CollectionError as exc:
        return render(request, "accounts/collection.html", {
            "collection": Collection.objects.get(pk=collection.pk),
            "cards": collections.collection_papers(collection),
            "is_owner": True,
            "error": str(exc),
        }, status=400)
    return HttpResponseRedirect(collections.collection_path(collection))


@login_required
@require_POST
def collection_delete(request: HttpRequest, ref: str) -> HttpResponse:
    collections.delete_collection(_owned_or_404(request, ref))
    return HttpResponseRedirect(reverse("accounts:collections"))


@login_required
@require_POST
def collection_remove(request: HttpRequest, ref: str) -> HttpResponse:
    """Take the paper `paper` (an arXiv id) out of the collection."""
    collection = _owned_or_404(request, ref)
    paper = Paper.objects.filter(arxiv_id=request.POST.get("paper", "")).first()
    if paper is not None:
        collections.remove_paper(collection, paper, timezone.now())
    return HttpResponseRedirect(collections.collection_path(collection))


# --- submit a paper --------------------------------------------------------------------------------


def _submit_limit() -> int:
    return _setting("SUBMIT_PER_HOUR")


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: fetch the paper from arXiv by id or abs URL (signed-in readers only)."""
    if not request.user.is_authenticated:
        return _to_signin(request, reverse("accounts:submit"))
    if request.method == "GET":
        return render(request, "accounts/submit.html", {"value": ""})
    now = timezone.now()
    decision = check_rate(f"submit:user:{request.user.pk}", _submit_limit(), HOUR_SECONDS, now)
    if not decision.allowed:
        return too_many_requests(request, decision, "submissions")
    raw = request.POST.get("arxiv_id", "")
    result = submit_paper(raw, now)
    return render(request, "accounts/submit.html", {
        "value": raw[:300], "result": result, "outcome": result.outcome.value,
    }, status=SUBMIT_STATUS[result.outcome])


# --- assets ----------------------------------------------------------------------------------------


@cache_control(max_age=86400, public=True)
@require_GET
def htmx_script(request: HttpRequest) -> FileResponse:
    """htmx as shipped inside the django-htmx package (gunicorn serves no static files)."""
    return FileResponse(HTMX_SCRIPT.open("rb"), content_type="text/javascript; charset=utf-8")

