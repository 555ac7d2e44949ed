"""Fixtures shared by every test package: hostile strings, the browser, the scratch data dir.

App-specific fixtures live in tests/<app>/conftest.py. Rule: nothing here fakes a component that can
really run; the browser is a real headless Chromium against pytest-django's live server.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

# Settings are read from the environment when broadsheet.settings is imported. pytest-django imports
# it in its own pytest_load_initial_conftests hook, which runs *before* pytest loads any conftest.py
# (rootdir or tests/) when DJANGO_SETTINGS_MODULE comes from the pytest ini or the environment: a
# default set here is then too late and the data dir silently falls back to ./data. It takes effect
# only when DJANGO_SETTINGS_MODULE is set here too (not in the ini); `make test` sets
# BROADSHEET_DATA_DIR explicitly either way.
_SCRATCH_DATA_DIR: str | None = None
if "BROADSHEET_DATA_DIR" not in os.environ and "broadsheet.settings" not in sys.modules:
    _SCRATCH_DATA_DIR = tempfile.mkdtemp(prefix="broadsheet-test-")
    os.environ["BROADSHEET_DATA_DIR"] = _SCRATCH_DATA_DIR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")

from django.conf import settings  # noqa: E402

# Touching a setting imports the settings module now, so pytest-django's pytest_configure finds Django
# configured and calls django.setup() before test modules (which import models) are collected.
settings.DATABASES  # noqa: B018
# Subprocesses started by tests (CLI, servers) must use the same data dir as this process.
os.environ.setdefault("BROADSHEET_DATA_DIR", str(settings.DATA_DIR))

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Strings that break naive code: markup and script, template and format syntax, LaTeX that smuggles
# HTML, SQL, bidi/zero-width/control characters (PostgreSQL refuses NUL in text), header injection.
HOSTILE_STRINGS = [
    '<script>alert("xss")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "</title></head><body><h1>injected</h1>",
    '{{ request.META }}{% now "Y" %}',
    "%s %(title)s {0} {title}",
    "$<script>alert(1)</script>$",
    "$\\href{javascript:alert(1)}{x}$ and \\(\\unknowncommand{x}\\)",
    "$$\\frac{1}{0$$ unbalanced $",
    "' OR '1'='1' --; DROP TABLE papers_paper;",
    "subject\r\nBcc: victim@example.com",
    "\u202egnp.exe\u202c zero\u200bwidth",
    "nul\x00byte and \x1b[31mescape",
    "naïve café 中文 𝔸𝔹 🙂",
    "x" * 5000,
]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SCRATCH_DATA_DIR is not None:
        shutil.rmtree(_SCRATCH_DATA_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty Django cache: a cached list (category counts, card HTML) from one
    test's database must not answer in the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hostile_strings() -> list[str]:
    return list(HOSTILE_STRINGS)


@pytest.fixture(params=HOSTILE_STRINGS, ids=[f"hostile{i}" for i in range(len(HOSTILE_STRINGS))])
def hostile_string(request: pytest.FixtureRequest) -> str:
    """Each hostile string in turn (the test runs once per string)."""
    return request.param


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config) -> Path:
    """test-artifacts/ at the repository root (git-ignored): screenshots and other evidence."""
    path = pytestconfig.rootpath / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def browser_required() -> bool:
    """In CI, or when asked for, a missing browser fails the test instead of skipping it."""
    return any(
        os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no"}
        for name in ("CI", "BROADSHEET_TEST_BROWSER")
    )


@dataclass
class PageWatch:
    """What a page did that a smoke test forbids: dialogs, console errors, uncaught errors, off-host loads."""

    allowed_host: str
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"dialog: {text}" for text in self.dialogs]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"request off the live server: {url}" for url in self.blocked_requests]
        )


@pytest.fixture
def browser_page(live_server: Any) -> Iterator[tuple[Any, PageWatch]]:
    """(page, watch): a fresh headless Chromium page and a record of what it did.

    Playwright's sync API runs an event loop in this thread while it is open, and Django refuses ORM
    calls from a thread with a running loop: create the database rows before requesting this fixture
    (list the data fixture first, or write rows in a fixture this one comes after).
    Requests that leave the live server are aborted and recorded: a page must not load anything
    from the internet.
    """
    if not CHROMIUM_PATH.exists():
        message = f"{CHROMIUM_PATH} not found (Debian: apt-get install chromium)"
        if browser_required():
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        if browser_required():
            pytest.fail(f"playwright is not installed: {exc}")
        pytest.skip(f"playwright is not installed: {exc}")

    watch = PageWatch(allowed_host=urlsplit(live_server.url).netloc)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # Pages render in milliseconds; a missing element should fail fast, not after 30 s.
            page.set_default_timeout(10_000)

            def on_dialog(dialog: Any) -> None:
                watch.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            def on_console(message: Any) -> None:
                if message.type == "error":
                    watch.console_errors.append(message.text)

            def on_request(route: Any) -> None:
                url = route.request.url
                parts = urlsplit(url)
                if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != watch.allowed_host:
                    watch.blocked_requests.append(url)
                    route.abort()
                else:
                    route.continue_()

            page.on("dialog", on_dialog)
            page.on("console", on_console)
            page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
            page.route("**/*", on_request)
            yield page, watch
        finally:
            browser.close()
