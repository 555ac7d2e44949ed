"""Rate limits kept in the database, so every gunicorn worker and every web node counts against one limit.

Rule: a sliding window estimated from two fixed windows (the previous window's count weighted by how
much of it still overlaps the last `window_seconds`); check and count happen in one transaction, and a
refused request is not counted, so a client that waits `retry_after_seconds` gets in.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from broadsheet.accounts.models import RateCounter

SEARCH_WINDOW_SECONDS = 60
# the pages and API endpoints whose cost (a keyword and a vector query each) is worth limiting
SEARCH_PATHS = frozenset({"/search", "/search/", "/api/papers/search", "/api/v1/search"})
IPV6_NETWORK_PREFIX = 64  # one subscriber usually gets a whole /64; limiting single addresses would not bite


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_seconds: int  # 0 when allowed


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def seconds_until_allowed(previous: int, current: int, limit: int, elapsed: float, window: int) -> int:
    """Whole seconds until one more request fits, if nothing else arrives: `previous` and `current` are
    the counts of the last and this fixed window, `elapsed` the seconds since this window began."""
    room = limit - current - 1  # what the weighted previous window may still weigh
    if room >= 0:
        # previous * (1 - t / window) <= room  <=>  t >= window * (1 - room / previous)
        wait = window * (1 - room / previous) - elapsed if previous else 0.0
    else:
        # this window is full: wait for the next one, where this window's count weighs as the previous
        wait = window - elapsed + window * (1 - (limit - 1) / current)
    return max(1, math.ceil(wait))


def _counter(key_hash: str, window_seconds: int, window_start: int) -> Any:
    return RateCounter.objects.filter(
        key_hash=key_hash, window_seconds=window_seconds, window_start=window_start
    )


def check_rate(key: str, limit: int, window_seconds: int, now: datetime) -> RateDecision:
    """Count one request for `key` at `now` if it stays within `limit` per `window_seconds`.

    A `limit` of 0 or less means no limit. Keys are stored hashed; prefix them with what they limit
    (`"signin-email:" + address`) so that two limits never share a counter.
    """
    if limit <= 0:
        return RateDecision(True, 0)
    key_hash = hash_key(key)
    moment = now.timestamp()
    window_start = int(moment // window_seconds) * window_seconds
    elapsed = moment - window_start
    expires_at = now + timedelta(seconds=2 * window_seconds - elapsed)
    this_window = _counter(key_hash, window_seconds, window_start)
    with transaction.atomic():
        # the UPDATE takes the row lock first, so concurrent requests for one key queue here and each
        # reads back an exact count
        if not this_window.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateCounter.objects.create(
                        key_hash=key_hash,
                        window_seconds=window_seconds,
                        window_start=window_start,
                        count=1,
                        expires_at=expires_at,
                    )
            except IntegrityError:  # another process created it first
                this_window.update(count=F("count") + 1)
        current = this_window.values_list("count", flat=True).get()
        previous = (
            _counter(key_hash, window_seconds, window_start - window_seconds)
            .values_list("count", flat=True)
            .first()
        ) or 0
        weighted = previous * (1 - elapsed / window_seconds) + current
        if weighted <= limit:
            return RateDecision(True, 0)
        this_window.update(count=F("count") - 1)
    return RateDecision(False, seconds_until_allowed(previous, current - 1, limit, elapsed, window_seconds))


def purge_rate_counters(now: datetime) -> int:
    """Delete counters no decision will read again; returns how many."""
    deleted, _ = RateCounter.objects.filter(expires_at__lte=now).delete()
    return deleted


def client_address(request: HttpRequest) -> str:
    """The client's address as the rate limits see it: the connection's peer, or with
    BROADSHEET_TRUSTED_PROXY_COUNT = N the N-th address from the right of X-Forwarded-For (the one our
    outermost proxy saw); an IPv6 address stands for its /64 network."""
    raw = request.META.get("REMOTE_ADDR", "")
    proxies = settings.BROADSHEET["TRUSTED_PROXY_COUNT"]
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            raw = forwarded[-proxies]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:100] or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_NETWORK_PREFIX}", strict=False))
    return str(address)


def is_exempt_address(address: str) -> bool:
    """Whether `address` lies in BROADSHEET_RATE_LIMIT_EXEMPT_NETWORKS."""
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return False
    for exempt in settings.BROADSHEET["RATE_LIMIT_EXEMPT_NETWORKS"]:
        try:
            exempt_network = ipaddress.ip_network(exempt, strict=False)
        except ValueError:
            continue
        if network.version == exempt_network.version and network.subnet_of(exempt_network):  # type: ignore[arg-type]
            return True
    return False


def check_client_rate(
    request: HttpRequest, scope: str, limit: int, window_seconds: int, now: datetime
) -> RateDecision:
    """check_rate keyed on the client's address (see client_address); exempt networks always pass."""
    address = client_address(request)
    if is_exempt_address(address):
        return RateDecision(True, 0)
    return check_rate(f"{scope}:ip:{address}", limit, window_seconds, now)


def wants_json_answer(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.GET.get("format") == "json"


def too_many_requests(request: HttpRequest, decision: RateDecision, what: str = "requests") -> HttpResponse:
    """429 Too Many Requests with `Retry-After`: JSON for the API and `?format=json`, else a page."""
    response: HttpResponse
    if wants_json_answer(request):
        response = JsonResponse(
            {"error": f"too many {what}", "retry_after": decision.retry_after_seconds}, status=429
        )
    else:
        response = render(
            request,
            "accounts/too_many_requests.html",
            {"what": what, "retry_after": decision.retry_after_seconds,
             "retry_minutes": math.ceil(decision.retry_after_seconds / 60)},
            status=429,
        )
    response["Retry-After"] = str(decision.retry_after_seconds)
    return response


def limit_rate(
    scope: str, limit: Callable[[], int], window_seconds: int, what: str = "requests"
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: at most `limit()` requests per client address per `window_seconds` (reads the
    limit at request time, so settings overrides apply); above it, 429 with `Retry-After`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            decision = check_client_rate(request, scope, limit(), window_seconds, timezone.now())
            if not decision.allowed:
                return too_many_requests(request, decision, what)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class SearchRateLimitMiddleware:
    """At most BROADSHEET_SEARCH_PER_MINUTE requests per client address per minute to the search page and
    the search API (SEARCH_PATHS); other paths pass untouched, without a database query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in SEARCH_PATHS:
            decision = check_client_rate(
                request, "search", settings.BROADSHEET["SEARCH_PER_MINUTE"], SEARCH_WINDOW_SECONDS,
                timezone.now(),
            )
            if not decision.allowed:
                return too_many_requests(request, decision, "searches")
        return self.get_response(request)
