"""Browser smoke test: real headless Chromium against the live server, on the home and paper pages.

Rule: what a reader sees is asserted as visible text; math arrives as MathML; a hostile title is shown
as text and runs nothing; no console errors and nothing loaded from off the server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAIN_TITLE = "Sparse attention for very long documents"
MATH_TITLE = r"Bounds on $\alpha$-divergences when $x^2 + y^2 \leq \frac{1}{2}$"
HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(2)> Robust parsing'
HOSTILE_AUTHOR = 'Mallory "><svg onload=alert(3)>'


def make_record(arxiv_id: str, title: str, authors: list[str], abstract: str, now: datetime) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=["cs.LG", "stat.ML"],
        versions=[VersionRecord(1, now)],
        submitted_at=now,
        updated_at=now,
        announced_on=now.date(),
        datestamp=now.date(),
    )


@pytest.fixture
def browser_papers() -> dict[str, str]:
    """Three papers, written before the browser starts (see browser_page)."""
    now = datetime.now(UTC).replace(microsecond=0)
    upsert_papers(
        [
            make_record("2501.00001", PLAIN_TITLE, ["Ada Lovelace", "Grace Hopper"],
                        "We make attention sparse and keep quality on long inputs.", now),
            make_record("2501.00002", MATH_TITLE, ["Emmy Noether"],
                        r"We prove that $\sum_{i=1}^{n} a_i \geq 0$ for every admissible $a$.", now),
            make_record("2501.00003", HOSTILE_TITLE, [HOSTILE_AUTHOR, "Alice Liddell"],
                        "</p><script>alert(4)</script> An abstract that tries to break out.", now),
        ],
        now=now,
    )
    return {"plain": "2501.00001", "math": "2501.00002", "hostile": "2501.00003"}


def screenshot(page: Any, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"{name}-{connection.vendor}.png"), full_page=True)


def test_home_page_lists_papers_with_authors_and_runs_nothing_hostile(
    browser_papers: dict[str, str], browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    response = page.goto(f"{live_server.url}/")
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    screenshot(page, artifacts_dir, "home")

    text = page.inner_text("body")
    for expected in (PLAIN_TITLE, "Ada Lovelace", "Grace Hopper", "Emmy Noether", HOSTILE_TITLE,
                     HOSTILE_AUTHOR):
        assert expected in text
    assert page.locator('img[src="x"], svg[onload]').count() == 0
    assert watch.problems() == []


def test_paper_page_shows_title_and_authors(
    browser_papers: dict[str, str], browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    response = page.goto(f"{live_server.url}/papers/{browser_papers['plain']}/")
    assert response is not None and response.status == 200
    screenshot(page, artifacts_dir, "paper")

    text = page.inner_text("body")
    for expected in (PLAIN_TITLE, "Ada Lovelace", "Grace Hopper", browser_papers["plain"]):
        assert expected in text
    assert PLAIN_TITLE in page.title()
    assert watch.problems() == []


def test_paper_page_renders_latex_as_mathml(
    browser_papers: dict[str, str], browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    response = page.goto(f"{live_server.url}/papers/{browser_papers['math']}/")
    assert response is not None and response.status == 200
    screenshot(page, artifacts_dir, "paper-math")

    # title: $\alpha$ and the inequality; abstract: the sum and $a$
    assert page.locator("math").count() >= 4
    assert page.locator("math mfrac").count() >= 1
    text = page.inner_text("body")
    assert "Emmy Noether" in text
    assert "-divergences when" in text
    assert r"\frac" not in page.inner_text("h1")
    assert watch.problems() == []


def test_paper_page_shows_hostile_title_as_text(
    browser_papers: dict[str, str], browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    response = page.goto(f"{live_server.url}/papers/{browser_papers['hostile']}/")
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    screenshot(page, artifacts_dir, "paper-hostile")

    text = page.inner_text("body")
    assert HOSTILE_TITLE in text
    assert HOSTILE_AUTHOR in text
    assert "</p><script>alert(4)</script>" in text
    assert page.locator('img[src="x"], svg[onload]').count() == 0
    assert watch.dialogs == []
    assert watch.problems() == []


def test_paper_page_fits_a_phone_screen(
    browser_papers: dict[str, str], browser_page: Any, live_server: Any, artifacts_dir: Path
) -> None:
    page, watch = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}/papers/{browser_papers['math']}/")
    screenshot(page, artifacts_dir, "paper-phone")

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    assert watch.problems() == []
