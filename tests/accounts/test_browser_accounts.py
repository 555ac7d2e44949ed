"""Headless Chromium clicks through sign-in, upvote and undo (with and without JavaScript), saving to a
collection and submitting a paper by id.

Rule: the sign-in link is read from the mail the live server sent (Django's test outbox); arXiv is the
fake arXiv server on loopback; what a reader sees is asserted as visible text and button state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from broadsheet.ingest.fake_arxiv import FakeArxiv, start_fake_arxiv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIXTURE = Path(__file__).parent / "fixtures" / "arxiv.jsonl"
DAY = "/day/2025-03-04/"
LINK = re.compile(r"https?://\S+/signin/link/[A-Za-z0-9_-]+/")


@pytest.fixture
def site(papers: dict, live_server: Any, settings: Any) -> str:
    """The live server's URL, with BASE_URL pointing at it so that emailed links lead back to it."""
    settings.BASE_URL = live_server.url
    return live_server.url


def sign_in(page: Any, site: str, email: str, next_path: str = "/") -> None:
    outbox_before = len(mail.outbox)
    page.goto(f"{site}/signin/?next={next_path}")
    page.fill("#signin-email", email)
    page.click("text=Email me a sign-in link")
    page.wait_for_selector("text=Check your email")
    assert len(mail.outbox) == outbox_before + 1
    match = LINK.search(mail.outbox[-1].body)
    assert match is not None
    page.goto(match.group(0))
    page.click("button:has-text('Sign in')")
    page.wait_for_selector(f".account-email:has-text('{email}')")


def vote_button(page: Any, arxiv_id: str) -> Any:
    return page.locator(f"#vote-{arxiv_id.replace('.', '-')} button")


def test_anonymous_upvote_leads_to_sign_in_by_email_link_then_sign_out(site: str, browser_page: Any) -> None:
    page, watch = browser_page
    page.goto(f"{site}/papers/2503.00001/")
    page.click("#vote-2503-00001")
    page.wait_for_selector("#signin-email")
    assert "/signin/?next=" in page.url
    sign_in(page, site, "ada@example.org", "/papers/2503.00001/")
    assert page.url == f"{site}/papers/2503.00001/"
    page.click("text=Sign out")
    page.wait_for_selector(".account >> text=Sign in")
    assert page.locator(".account-email").count() == 0
    assert watch.problems() == []


def test_upvote_and_undo_with_htmx_on_cards_and_the_paper_page(site: str, browser_page: Any) -> None:
    page, watch = browser_page
    sign_in(page, site, "ada@example.org", DAY)
    card_button = vote_button(page, "2503.00001")
    card_button.wait_for()  # the page's one /votes/ request has filled the card slots
    assert card_button.get_attribute("aria-pressed") == "false"
    card_button.click()
    page.wait_for_selector("#vote-2503-00001 button[aria-pressed='true']")
    assert vote_button(page, "2503.00001").inner_text().endswith("1")
    assert page.url == f"{site}{DAY}"  # swapped in place, no navigation
    vote_button(page, "2503.00001").click()
    page.wait_for_selector("#vote-2503-00001 button[aria-pressed='false']")
    assert vote_button(page, "2503.00001").inner_text().endswith("0")

    page.goto(f"{site}/papers/2503.00002/")
    vote_button(page, "2503.00002").click()
    page.wait_for_selector("#vote-2503-00002 button[aria-pressed='true']")
    page.reload()
    assert vote_button(page, "2503.00002").get_attribute("aria-pressed") == "true"
    assert watch.problems() == []


def test_upvote_and_undo_without_javascript(site: str, browser_page: Any) -> None:
    page, watch = browser_page
    context = page.context.browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.set_default_timeout(10_000)
        sign_in(plain, site, "bob@example.org", "/papers/2503.00001/")
        vote_button(plain, "2503.00001").click()  # a plain form POST, redirected back
        plain.wait_for_selector("#vote-2503-00001 button[aria-pressed='true']")
        assert plain.url == f"{site}/papers/2503.00001/"
        vote_button(plain, "2503.00001").click()
        plain.wait_for_selector("#vote-2503-00001 button[aria-pressed='false']")

        # a card has no per-reader HTML without JavaScript: its link leads to the paper's vote page
        plain.goto(f"{site}{DAY}")
        plain.click("#vote-2503-00002 a")
        vote_button(plain, "2503.00002").click()
        plain.wait_for_url(f"{site}{DAY}")
        plain.goto(f"{site}/papers/2503.00002/")
        assert vote_button(plain, "2503.00002").get_attribute("aria-pressed") == "true"
    finally:
        context.close()
    assert watch.problems() == []


@pytest.fixture
def fake_arxiv(settings: Any) -> Iterator[FakeArxiv]:
    fake = start_fake_arxiv(FIXTURE)
    settings.BROADSHEET = {**settings.BROADSHEET, "ARXIV_API_URL": fake.api_url, "REQUEST_DELAY_SECONDS": 0.0}
    try:
        yield fake
    finally:
        fake.stop()


def test_save_to_a_collection_and_submit_a_paper_by_id(
    site: str, fake_arxiv: FakeArxiv, browser_page: Any
) -> None:
    page, watch = browser_page
    sign_in(page, site, "ada@example.org", "/papers/2503.00002/")
    page.click("#save-control button:has-text('Save')")
    page.wait_for_selector("text=Saved to Reading list.")
    page.fill("#save-control input[name=new_name]", "Graphs <3")
    page.click("#save-control button:has-text('Save')")
    page.wait_for_selector("text=Saved to Graphs <3.")
    page.click(".account >> text=Collections")
    page.click("text=Graphs <3")
    page.wait_for_selector("h1:has-text('Graphs <3')")
    assert "Graph networks on a budget" in page.inner_text("main")
    assert "private collection" in page.inner_text("main")

    page.click(".account >> text=Submit")
    page.fill("#submit-id", "arXiv:2502.00042v1")
    page.click("text=Fetch from arXiv")
    page.wait_for_selector("text=Added:")
    page.click(".submit-result a")
    page.wait_for_selector("h1:has-text('Compilers that explain themselves')")
    assert "Grace Hopper" in page.inner_text("main")
    page.goto(f"{site}/submit/")
    page.fill("#submit-id", "2502.00042")
    page.click("text=Fetch from arXiv")
    page.wait_for_selector("text=is already here")
    assert watch.problems() == []
