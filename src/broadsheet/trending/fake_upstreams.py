"""Real HTTP look-alikes of Hugging Face daily papers and the GitHub REST API on loopback, for tests.

FakeHfDaily serves `/api/daily_papers?date=&p=&limit=` from saved responses (`YYYY-MM-DD.json[.gz]` files
or bytes by date); FakeGitHub serves `/repos/{owner}/{name}` with stars, 404s, redirects of renamed
repositories, tokens and GitHub's rate-limit headers. Faults (a status with Retry-After, a raw body) are
queued at start or at run time. Rule: what a client sees is only HTTP; nothing here is imported by it.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SAVED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json(?:\.gz)?$")


@dataclass
class Fault:
    """The next `count` requests whose path and query contain `match` get this answer instead."""

    status: int = 503
    count: int = 1
    retry_after: str = ""
    body: str = ""  # with status 200: a raw body in place of the real one (malformed JSON, ...)
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""


@dataclass
class LoggedRequest:
    at: float  # time.monotonic() on arrival
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int = 0


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"), headers=dict(headers or {}))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self.server.fake.handle(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeUpstream


class FakeUpstream:
    """A server on a background thread; subclasses answer in `answer`."""

    name = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])
        self._log: list[LoggedRequest] = []
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        bound_host, bound_port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=self.name, daemon=True
        )

    def start(self) -> FakeUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeUpstream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_fault(self, **options: Any) -> Fault:
        fault = Fault(**options)
        with self._lock:
            self._faults.append(fault)
        return fault

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match in target:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        params = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        entry = LoggedRequest(
            time.monotonic(), parts.path, params, {k.lower(): v for k, v in handler.headers.items()}
        )
        with self._lock:
            self._log.append(entry)
        fault = self._take_fault(handler.path)
        if fault is not None and fault.status != 200:
            reply = Reply(
                fault.status, f"{fault.status} {self.name} fault\n".encode(), "text/plain; charset=utf-8"
            )
            if fault.retry_after:
                reply.headers["Retry-After"] = fault.retry_after
            reply.headers.update(fault.headers)
        else:
            reply = self.answer(parts.path, params, entry.headers)
            if fault is not None:
                reply.body = fault.body.encode("utf-8")
                reply.headers.update(fault.headers)
        entry.status = reply.status
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Hugging Face daily papers


class FakeHfDaily(FakeUpstream):
    """`GET /api/daily_papers?date=YYYY-MM-DD&p=N&limit=M` from saved responses; a date without one is an
    empty list, as on Hugging Face; no date is the latest page. A response that is not JSON is served
    as it is (page 0 only)."""

    name = "fake-hf"

    def __init__(self, responses: dict[date, bytes], **options: Any) -> None:
        super().__init__(**options)
        self.responses = dict(responses)

    @classmethod
    def from_folder(cls, folder: Path, **options: Any) -> FakeHfDaily:
        responses = {}
        for path in sorted(folder.iterdir()):
            match = SAVED_NAME.match(path.name)
            if match:
                responses[date.fromisoformat(match.group(1))] = path.read_bytes()
        return cls(responses, **options)

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.rstrip("/") != "/api/daily_papers":
            return json_reply({"error": "Not Found"}, 404)
        raw_date = params.get("date")
        try:
            day = date.fromisoformat(raw_date) if raw_date else max(self.responses, default=None)
            page = int(params.get("p", "0"))
            limit = int(params.get("limit", "50"))
        except ValueError:
            return json_reply({"error": "Invalid query parameters"}, 400)
        if page < 0 or not 1 <= limit <= 100:
            return json_reply({"error": "p must be >= 0 and limit between 1 and 100"}, 400)
        body = self.responses.get(day) if day is not None else None
        if body is None:
            return json_reply([])
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        try:
            items = json.loads(body)
        except ValueError:
            return Reply(200, body if page == 0 else b"[]")
        if not isinstance(items, list):
            return Reply(200, body)
        return json_reply(items[page * limit : (page + 1) * limit])


# ---------------------------------------------------------------------------------------------
# GitHub


RATE_LIMIT_MESSAGE = (
    "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a "
    "higher rate limit. Check out the documentation for more details.)"
)
DOCS_URL = "https://docs.github.com/rest"


class FakeGitHub(FakeUpstream):
    """`GET /repos/{owner}/{name}` (case-insensitive) with GitHub's rate-limit headers.

    `stars` maps `owner/name` to a star count; others are 404. `renamed` maps an old name to a new one
    (301 to the new URL). With `token` set, a request bearing it gets `authenticated_limit`, a wrong one
    is 401; every other request draws on `anonymous_limit`. An exhausted budget is GitHub's 403 with
    X-RateLimit-Remaining 0 and X-RateLimit-Reset (`reset_at`, epoch seconds).
    """

    name = "fake-github"

    def __init__(
        self,
        stars: dict[str, int],
        *,
        renamed: dict[str, str] | None = None,
        token: str = "",
        anonymous_limit: int = 60,
        authenticated_limit: int = 5000,
        reset_at: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.stars = {name.lower(): count for name, count in stars.items()}
        self.canonical = {name.lower(): name for name in stars}
        self.renamed = {old.lower(): new for old, new in (renamed or {}).items()}
        self.token = token
        self.limits = {"anonymous": anonymous_limit, "token": authenticated_limit}
        self.used = {"anonymous": 0, "token": 0}
        self.reset_at = reset_at if reset_at is not None else int(time.time()) + 3600

    def set_stars(self, full_name: str, count: int) -> None:
        with self._lock:
            self.stars[full_name.lower()] = count
            self.canonical.setdefault(full_name.lower(), full_name)

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        authorization = headers.get("authorization", "")
        bucket = "anonymous"
        if authorization:
            if not self.token or authorization != f"Bearer {self.token}":
                return json_reply(
                    {"message": "Bad credentials", "documentation_url": DOCS_URL, "status": "401"}, 401
                )
            bucket = "token"
        with self._lock:
            limit = self.limits[bucket]
            exhausted = self.used[bucket] >= limit
            if not exhausted:
                self.used[bucket] += 1
            rate = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(limit - self.used[bucket], 0)),
                "X-RateLimit-Reset": str(self.reset_at),
                "X-RateLimit-Used": str(self.used[bucket]),
                "X-RateLimit-Resource": "core",
            }
            if exhausted:
                return json_reply({"message": RATE_LIMIT_MESSAGE, "documentation_url": DOCS_URL}, 403, rate)
            match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/?", path)
            key = f"{match.group(1)}/{match.group(2)}".lower() if match else ""
            if key in self.renamed:
                return Reply(301, b"", headers={**rate, "Location": f"/repos/{self.renamed[key]}"})
            if key not in self.stars:
                return json_reply(
                    {"message": "Not Found", "documentation_url": DOCS_URL, "status": "404"}, 404, rate
                )
            full_name = self.canonical[key]
            payload = {
                "full_name": full_name,
                "html_url": f"https://github.com/{full_name}",
                "stargazers_count": self.stars[key],
            }
        return json_reply(payload, 200, rate)
