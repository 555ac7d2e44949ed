"""Headless Chromium through the whole subscription: the header box, the confirmation link read from the
.eml outbox, the preferences form (an error, then a save), and unsubscribing; no JavaScript needed.

Rule: what the reader sees is asserted as visible text; the rows are checked from another thread (the
browser's event loop owns this one) once the pages say they are done.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from broadsheet.digest.models import Subscriber
from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "reader@example.org"
SUBMITTED_AT = datetime(2026, 2, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def digest_site(settings: Any, live_server: Any, tmp_path: Path) -> Path:
    """Links built for the live server, mail written as .eml files, one paper in cs.LG; returns the outbox."""
    settings.BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "broadsheet.mailer.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    upsert_papers(
        [PaperRecord(arxiv_id="2602.00001", version=1, title="Sparse attention", abstract="We study.",
                     authors=["Ada Lovelace"], categories=["cs.LG"],
                     versions=[VersionRecord(1, SUBMITTED_AT, "100kb")], submitted_at=SUBMITTED_AT,
                     updated_at=SUBMITTED_AT, announced_on=date(2026, 2, 27), datestamp=date(2026, 2, 27))],
        now=SUBMITTED_AT,
    )
    return tmp_path / "outbox"


def link_in_outbox(outbox: Path) -> str:
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == EMAIL
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"(http://\S+/digest/confirm/\S+/)", body)
    assert match, body
    return match.group(1)


def subscriber_row() -> tuple[Any, ...]:
    def read() -> tuple[Any, ...]:
        row = Subscriber.objects.get(email=EMAIL)
        return row.status, row.frequency, row.weekly_day, row.time_zone, row.size, row.categories

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_subscribe_confirm_set_preferences_and_unsubscribe_in_a_browser(
    digest_site: Path, browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    page.goto(f"{live_server.url}/categories/")
    page.fill("#subscribe-email", EMAIL)
    page.click(".subscribe-box button")
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert subscriber_row()[0] == "pending"

    page.goto(link_in_outbox(digest_site))
    assert page.locator("h1").inner_text() == "Confirm your subscription"
    page.click("text=Confirm subscription")
    assert page.locator("h1").inner_text() == "Digest preferences"
    assert "You are subscribed." in page.inner_text("main")

    page.check("input[name=frequency][value=weekly]")
    page.select_option("select[name=weekly_day]", label="Friday")
    page.fill("input[name=time_zone]", "Nowhere/Atlantis")
    page.fill("input[name=size]", "20")
    page.fill("input[name=categories]", "cs.lg")
    page.click("text=Save preferences")
    assert "Unknown time zone" in page.inner_text("main")
    assert subscriber_row() == ("active", "daily", 0, "UTC", 10, [])

    page.fill("input[name=time_zone]", "Europe/Paris")
    page.click("text=Save preferences")
    assert "Preferences saved." in page.inner_text("main")
    page.screenshot(path=str(artifacts_dir / f"digest-preferences-{connection.vendor}.png"), full_page=True)
    assert subscriber_row() == ("active", "weekly", 4, "Europe/Paris", 20, ["cs.LG"])

    page.click("text=Unsubscribe from the digest")
    assert page.locator("h1").inner_text() == "Unsubscribe"
    page.click("main button:has-text('Unsubscribe')")
    assert page.locator("h1").inner_text() == "Unsubscribed"
    assert subscriber_row()[0] == "unsubscribed"
    # the refused form answers 400, which Chromium logs as a failed load; nothing else may appear
    assert watch.problems() == [
        "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]


def test_the_subscribe_box_fits_a_phone_screen(
    digest_site: Path, browser_page: Any, live_server: Any
) -> None:
    page, watch = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}/digest/subscribe/")
    assert page.locator("#subscribe-email").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    assert watch.problems() == []
