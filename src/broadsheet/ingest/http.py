"""The polite HTTP client every upstream request goes through.

Rule: at most one request per REQUEST_DELAY_SECONDS to a host, bounded retries with exponential
backoff on 5xx, 429, empty bodies and dropped connections, `Retry-After` honoured up to a cap.
Clock and sleep are injected so that tests check every wait without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

from broadsheet.ingest.records import IngestError

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429})  # plus every 5xx
BACKOFF_CAP_SECONDS = 300.0


class UpstreamError(IngestError):
    """An upstream request that failed for good: the message names the URL and what went wrong."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


class UpstreamUnreachable(UpstreamError):
    """The upstream host could not be reached at all (DNS failure, connection refused, no route)."""


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None when absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _setting(name: str) -> Any:
    return settings.BROADSHEET[name]


class PoliteClient:
    """A synchronous httpx client that waits its turn per host and retries what is worth retrying.

    Connection failures to a host this client has never reached raise UpstreamUnreachable at once
    (no network should be reported in a second, not after minutes of backoff); once a host has
    answered, a failed connection is a blip and is retried like a dropped one.
    """

    def __init__(
        self,
        *,
        delay_seconds: float | None = None,
        timeout_seconds: float | None = None,
        max_retries: int | None = None,
        retry_after_cap_seconds: float | None = None,
        backoff_seconds: float | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.delay_seconds = float(
            _setting("REQUEST_DELAY_SECONDS") if delay_seconds is None else delay_seconds
        )
        self.timeout_seconds = float(
            _setting("HTTP_TIMEOUT_SECONDS") if timeout_seconds is None else timeout_seconds
        )
        self.max_retries = int(_setting("HTTP_MAX_RETRIES") if max_retries is None else max_retries)
        self.retry_after_cap_seconds = float(
            _setting("RETRY_AFTER_CAP_SECONDS")
            if retry_after_cap_seconds is None
            else retry_after_cap_seconds
        )
        # backoff scales with the politeness delay: 3 s, 6 s, 12 s ... against arXiv
        self.backoff_seconds = max(self.delay_seconds, 1.0) if backoff_seconds is None else backoff_seconds
        self.user_agent = _setting("USER_AGENT") if user_agent is None else user_agent
        self.sleep = sleep
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self._last_request_done: dict[str, float] = {}
        self._reached_hosts: set[str] = set()
        self._http = httpx.Client(
            timeout=self.timeout_seconds,
            headers={"User-Agent": self.user_agent},
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def wait_turn(self, host: str) -> None:
        """Sleep until `delay_seconds` have passed since the last request to `host` finished."""
        last = self._last_request_done.get(host)
        if last is None or self.delay_seconds <= 0:
            return
        remaining = last + self.delay_seconds - self.monotonic()
        if remaining > 0:
            self.sleep(remaining)

    def backoff_wait(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based) when upstream gave no Retry-After."""
        return min(self.backoff_seconds * (2 ** (attempt - 1)), BACKOFF_CAP_SECONDS)

    def get(self, url: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """GET `url` and return the successful (2xx, non-empty) response, or raise UpstreamError."""
        host = httpx.URL(url).host
        attempt = 0
        while True:
            self.wait_turn(host)
            request_url = str(httpx.URL(url, params=params)) if params else url
            problem: str
            retry_after: float | None = None
            try:
                response = self._http.get(url, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if host not in self._reached_hosts:
                    raise UpstreamUnreachable(request_url, f"cannot connect ({exc})") from exc
                problem = f"cannot connect ({exc})"
            except httpx.TimeoutException as exc:
                problem = f"timed out after {self.timeout_seconds:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"connection dropped ({type(exc).__name__}: {exc})"
            else:
                self._reached_hosts.add(host)
                request_url = str(response.request.url)
                status = response.status_code
                if 200 <= status < 300:
                    if response.content and not response.content.isspace():
                        self._last_request_done[host] = self.monotonic()
                        return response
                    problem = f"empty {status} response"
                elif status >= 500 or status in RETRIED_STATUSES:
                    problem = f"HTTP {status}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"), self.wall_clock())
                else:
                    self._last_request_done[host] = self.monotonic()
                    raise UpstreamError(request_url, f"HTTP {status} {response.reason_phrase}")
            self._last_request_done[host] = self.monotonic()
            attempt += 1
            if attempt > self.max_retries:
                error = UpstreamUnreachable if problem.startswith("cannot connect") else UpstreamError
                raise error(request_url, f"{problem}; gave up after {attempt} attempts")
            wait = self.backoff_wait(attempt) if retry_after is None else retry_after
            wait = min(wait, self.retry_after_cap_seconds)
            logger.warning(
                "%s: %s; retry %d/%d in %.1f s", request_url, problem, attempt, self.max_retries, wait
            )
            if wait > 0:
                self.sleep(wait)
