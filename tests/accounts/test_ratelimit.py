"""The database rate limiter: sliding-window counts, Retry-After, client addresses, the search limit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from broadsheet.accounts.models import RateCounter
from broadsheet.accounts.ratelimit import (
    RateDecision,
    check_rate,
    client_address,
    purge_rate_counters,
    seconds_until_allowed,
)

T0 = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)  # a multiple of 60 s and of 3600 s


@pytest.mark.django_db
def test_check_rate_allows_up_to_the_limit_then_refuses_with_retry_after() -> None:
    decisions = [check_rate("k", 3, 60, T0 + timedelta(seconds=i)) for i in range(4)]
    # the next window opens in 57 s, and 20 s into it the 3 requests of this one weigh 2: one more fits
    assert decisions == [RateDecision(True, 0)] * 3 + [RateDecision(False, 77)]


@pytest.mark.django_db
def test_refused_requests_are_not_counted() -> None:
    for second in range(3):
        check_rate("k", 3, 60, T0 + timedelta(seconds=second))
    for _ in range(10):
        assert not check_rate("k", 3, 60, T0 + timedelta(seconds=10)).allowed
    assert RateCounter.objects.get().count == 3


@pytest.mark.django_db
def test_the_previous_window_weighs_by_its_overlap() -> None:
    for _ in range(4):
        assert check_rate("k", 4, 60, T0 + timedelta(seconds=50)).allowed
    # 30 s into the next window the old window still weighs half: 4 * 0.5 + 2 = 4 fits, a third does not
    at = T0 + timedelta(seconds=90)
    assert [check_rate("k", 4, 60, at).allowed for _ in range(3)] == [True, True, False]
    # 45 s in, it weighs a quarter: 1 + 2 = 3, so one more fits
    assert check_rate("k", 4, 60, T0 + timedelta(seconds=105)).allowed


@pytest.mark.django_db
def test_waiting_retry_after_seconds_is_enough() -> None:
    for _ in range(5):
        check_rate("k", 5, 60, T0 + timedelta(seconds=20))
    refused = check_rate("k", 5, 60, T0 + timedelta(seconds=20))
    assert refused == RateDecision(False, 52)
    retry_at = T0 + timedelta(seconds=20 + refused.retry_after_seconds)
    assert not check_rate("k", 5, 60, retry_at - timedelta(seconds=2)).allowed
    assert check_rate("k", 5, 60, retry_at).allowed


@pytest.mark.django_db
def test_keys_and_window_lengths_count_separately_and_limit_zero_is_unlimited() -> None:
    assert check_rate("a", 1, 60, T0).allowed
    assert check_rate("b", 1, 60, T0).allowed
    assert check_rate("a", 1, 3600, T0).allowed
    assert not check_rate("a", 1, 60, T0).allowed
    assert all(check_rate("a", 0, 60, T0).allowed for _ in range(5))


@pytest.mark.django_db
def test_keys_are_stored_hashed_and_expired_counters_are_purged() -> None:
    check_rate("signin:email:ada@example.org", 5, 60, T0)
    row = RateCounter.objects.get()
    assert "ada" not in row.key_hash and len(row.key_hash) == 64
    assert purge_rate_counters(T0 + timedelta(seconds=119)) == 0
    assert purge_rate_counters(T0 + timedelta(seconds=120)) == 1


@pytest.mark.parametrize(
    ("previous", "current", "limit", "elapsed", "expected"),
    [
        (0, 5, 5, 0.0, 72),  # full: the rest of this window, then until its 5 weigh 4 (a fifth of the next)
        (0, 5, 5, 59.0, 13),
        (10, 0, 5, 0.0, 36),  # previous window weighs 10: it must fall to 4 -> 60 * (1 - 4/10)
        (0, 1, 1, 30.0, 90),
        (3, 3, 5, 50.0, 1),  # never less than a second
    ],
)
def test_seconds_until_allowed(
    previous: int, current: int, limit: int, elapsed: float, expected: int
) -> None:
    assert seconds_until_allowed(previous, current, limit, elapsed, 60) == expected


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_limit() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite is not shared between threads")
    allowed: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        try:
            for _ in range(5):
                decision = check_rate("busy", 12, 60, T0)
                with lock:
                    allowed.append(decision.allowed)
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 30
    assert allowed.count(True) == 12
    assert RateCounter.objects.get().count == 12


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", "", 0, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", 0, "203.0.113.9"),  # no proxy trusted: the header is ignored
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", 1, "198.51.100.1"),  # a client cannot pick its address
        ("127.0.0.1", "198.51.100.1, 10.0.0.2", 2, "198.51.100.1"),
        ("127.0.0.1", "", 1, "127.0.0.1"),
        ("2001:db8:1:2:3:4:5:6", "", 0, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "", 0, "203.0.113.9"),
    ],
)
def test_client_address(remote: str, forwarded: str, proxies: int, expected: str, settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "TRUSTED_PROXY_COUNT": proxies}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/search", "/api/papers/search", "/api/v1/search"])
def test_search_answers_429_with_retry_after_above_the_limit(path: str, settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SEARCH_PER_MINUTE": 3}
    client = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [client.get(path, {"q": "graphene"}).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    refused = client.get(path, {"q": "graphene"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 120
    # another client is not affected, and the machine itself is exempt by default
    assert Client(REMOTE_ADDR="198.51.100.8").get(path, {"q": "graphene"}).status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get(path, {"q": "graphene"}).status_code == 200


@pytest.mark.django_db
def test_search_limit_page_and_json_say_when_to_come_back(settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SEARCH_PER_MINUTE": 1}
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.get("/search", {"q": "x"})
    page = client.get("/search", {"q": "x"})
    assert page.status_code == 429
    assert "Too many searches" in page.content.decode()
    api = client.get("/api/v1/search", {"q": "x"})
    assert api.status_code == 429
    assert api.json()["error"] == "too many searches"


@pytest.mark.django_db
def test_other_paths_are_not_limited(settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SEARCH_PER_MINUTE": 1}
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert [client.get("/categories/").status_code for _ in range(3)] == [200, 200, 200]
    assert RateCounter.objects.count() == 0


@pytest.mark.django_db
def test_limit_rate_decorator_answers_429_above_the_limit() -> None:
    from django.http import HttpResponse

    from broadsheet.accounts.ratelimit import limit_rate

    @limit_rate("demo", lambda: 2, 60, "demos")
    def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    factory = RequestFactory()
    responses = [view(factory.get("/demo", REMOTE_ADDR="198.51.100.7")) for _ in range(3)]
    assert [response.status_code for response in responses] == [200, 200, 429]
    assert int(responses[2]["Retry-After"]) > 0
    assert view(factory.get("/demo", REMOTE_ADDR="198.51.100.8")).status_code == 200
