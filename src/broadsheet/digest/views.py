"""Digest pages: subscribe, confirm, preferences and unsubscribe (RFC 8058 one-click included).

Rule: the signed link in the URL is the only credential (no password, no session needed); GET never
changes state; every state change is a CSRF-protected POST except the RFC 8058 one-click POST, which
mail providers send without cookies. The subscribe answer never reveals whether an address is known.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from broadsheet.digest.forms import (
    PreferencesForm,
    SubscribeForm,
    preferences_initial,
    save_preferences,
    time_zone_names,
)
from broadsheet.digest.models import Subscriber
from broadsheet.digest.subscriptions import (
    confirm_subscription,
    request_subscription,
    resubscribe,
    subscribe_user,
    subscriber_for_user,
    unsubscribe,
)
from broadsheet.digest.tokens import Purpose, TokenError, preferences_url, read_token, unsubscribe_url
from broadsheet.ingest.records import normalize_author_name
from broadsheet.papers.models import Author

ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")
AUTHOR_SEARCH_LIMIT = 20
NO_STORE = "no-store"  # pages whose URL is a credential: keep them out of shared caches


def token_error_page(request: HttpRequest, exc: TokenError) -> HttpResponse:
    status = 400 if exc.reason == "invalid" else 410
    response = render(request, "digest/link_error.html", {"message": str(exc), "reason": exc.reason},
                      status=status)
    response["Cache-Control"] = NO_STORE
    return response


def private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = NO_STORE
    # The token must not leak to other sites: the site-wide Referrer-Policy "same-origin" sees to that.
    # "no-referrer" would be stricter but makes browsers send `Origin: null`, which CSRF checks refuse.
    return response


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """GET: the form alone. POST: start double opt-in; one answer whatever the address."""
    if request.method == "GET":
        return render(request, "digest/subscribe.html", {"form": SubscribeForm()})
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "digest/subscribe.html", {"form": form}, status=400)
    request_subscription(form.cleaned_data["email"], timezone.now())
    return render(request, "digest/subscribe_sent.html", {"email": form.cleaned_data["email"]})


@require_POST
def subscribe_me(request: HttpRequest) -> HttpResponse:
    """A signed-in reader's one click: their address is proven by their sign-in, no confirmation."""
    if not request.user.is_authenticated:
        signin = reverse("accounts:signin") + "?" + urlencode({"next": reverse("digest:subscribe")})
        return HttpResponseRedirect(signin, status=303)
    if not getattr(request.user, "email", ""):
        return render(request, "digest/subscribe.html", {"form": SubscribeForm(), "no_account_email": True},
                      status=400)
    subscriber = subscribe_user(request.user, timezone.now())
    return HttpResponseRedirect(preferences_url(subscriber) + "?welcome=1", status=303)


@require_GET
def my_preferences(request: HttpRequest) -> HttpResponse:
    """From the account menu or the subscribe box: a signed-in subscriber's preferences page."""
    subscriber = subscriber_for_user(request.user)
    if subscriber is None or subscriber.status == Subscriber.Status.PENDING:
        return render(request, "digest/subscribe.html", {"form": SubscribeForm(), "not_subscribed": True})
    return private(HttpResponseRedirect(preferences_url(subscriber), status=303))


def subscriber_from(token: str, purpose: Purpose) -> Subscriber:
    return read_token(token, purpose, timezone.now())


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that follow links must not confirm); POST confirms."""
    try:
        subscriber = subscriber_from(token, "confirm")
    except TokenError as exc:
        return token_error_page(request, exc)
    if subscriber.status == Subscriber.Status.SUPPRESSED:
        return token_error_page(request, TokenError("revoked"))
    if request.method == "GET":
        return private(render(request, "digest/confirm.html", {"subscriber": subscriber}))
    confirm_subscription(subscriber, timezone.now())
    return private(HttpResponseRedirect(preferences_url(subscriber) + "?welcome=1", status=303))


def matching_authors(query: str) -> list[Author]:
    key = normalize_author_name(query[:200])
    if len(key) < 2:
        return []
    return list(Author.objects.filter(normalized_name__contains=key).order_by("normalized_name")
                [:AUTHOR_SEARCH_LIMIT])


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_from(token, "preferences")
    except TokenError as exc:
        return token_error_page(request, exc)
    status = 200
    if request.method == "POST" and request.POST.get("action") == "resubscribe":
        resubscribe(subscriber, timezone.now())
        return private(HttpResponseRedirect(request.path + "?saved=1", status=303))
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            save_preferences(subscriber, form.cleaned_data)
            return private(HttpResponseRedirect(request.path + "?saved=1", status=303))
        status = 400
    else:
        form = PreferencesForm(initial=preferences_initial(subscriber))
    author_query = request.GET.get("author", "").strip()[:200]
    context = {
        "subscriber": subscriber,
        "form": form,
        "saved": request.GET.get("saved") == "1",
        "welcome": request.GET.get("welcome") == "1",
        "time_zones": time_zone_names(),
        "author_query": author_query,
        "authors_found": matching_authors(author_query) if author_query else [],
        "unsubscribe_url": unsubscribe_url(subscriber),
    }
    return private(render(request, "digest/preferences.html", context, status=status))


def unsubscribe_page(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    return private(render(request, "digest/unsubscribe.html", {"subscriber": subscriber, "token": token}))


@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button. POST (CSRF-protected form): unsubscribe."""
    try:
        subscriber = subscriber_from(token, "unsubscribe")
    except TokenError as exc:
        return token_error_page(request, exc)
    if request.method == "GET":
        return unsubscribe_page(request, subscriber, token)
    unsubscribe(subscriber, timezone.now())
    return private(render(request, "digest/unsubscribed.html", {"subscriber": subscriber}))


@csrf_exempt  # RFC 8058: the mail provider POSTs without cookies; the signed token is the credential
@require_http_methods(["GET", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe URL. POST `List-Unsubscribe=One-Click`: unsubscribe, 200. GET: the page."""
    try:
        subscriber = subscriber_from(token, "unsubscribe")
    except TokenError as exc:
        return token_error_page(request, exc)
    if request.method == "GET":
        return unsubscribe_page(request, subscriber, token)
    if request.POST.get(ONE_CLICK_BODY[0]) != ONE_CLICK_BODY[1]:
        return HttpResponseBadRequest(
            "expected the body List-Unsubscribe=One-Click (RFC 8058)",
            content_type="text/plain; charset=utf-8",
        )
    unsubscribe(subscriber, timezone.now())
    return private(HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8"))
