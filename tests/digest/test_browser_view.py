"""The "view in browser" page: a sent digest behind its signed link, nothing else; and in real Chromium."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from broadsheet.digest.compose import compose_digest
from broadsheet.digest.render import render_digest, view_in_browser_url, view_token

from .composing import NOW, TODAY, YESTERDAY, add_hf_upvotes, add_papers, add_subscriber, record

HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(2)> Robust parsing'


def make_sent_digest(status: str = "sent"):
    """Three papers today, a subscriber to cs.CL, and the delivery of today's digest with `status`."""
    from broadsheet.digest.models import Delivery, DigestRun

    add_papers(
        record("2509.00001", title=r"Bounds on $\alpha$-divergences", categories=["cs.CL"]),
        record("2509.00002", title="Sparse Attention at Scale", categories=["cs.CL"]),
        record("2509.00003", title=HOSTILE_TITLE, categories=["cs.CL"]),
        record("2509.00004", title="Not in this digest", categories=["math.CO"]),
    )
    add_hf_upvotes({"2509.00002": 12})
    subscriber = add_subscriber(categories=["cs.CL"])
    digest = compose_digest(subscriber, since_at=None, now=NOW)
    run = DigestRun.objects.create(started_at=NOW)
    Delivery.objects.create(
        subscriber=subscriber, digest_date=TODAY, run=run, status=status, due_at=NOW,
        cutoff_at=NOW + timedelta(hours=6), updated_at=NOW, sent_at=NOW if status == "sent" else None,
        paper_ids=digest.paper_ids,
    )
    return subscriber, digest


def view_path(subscriber, day=TODAY) -> str:
    return re.sub(r"^https?://[^/]+", "", view_in_browser_url(subscriber, day))


@pytest.mark.django_db
def test_link_in_the_email_opens_the_sent_digest(client, settings) -> None:
    settings.BASE_URL = "https://papers.example.org"
    subscriber, digest = make_sent_digest()
    email_html = render_digest(digest, subscriber, digest_date=TODAY).html
    [link] = re.findall(r'href="(https://papers\.example\.org/digest/view/[^"]+)"', email_html)

    response = client.get(link.removeprefix(settings.BASE_URL))

    assert response.status_code == 200
    page = response.content.decode()
    titles = re.findall(r'class="bs-title" style="[^"]*">([^<]*)</a>', page)
    assert titles == [
        "Sparse Attention at Scale",
        "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;"
        "&lt;img src=x onerror=alert(2)&gt; Robust parsing",
        "Bounds on α-divergences",
    ]
    assert "Trending in cs.CL (▲ 12)" in page
    assert "View in browser" not in page
    assert "Unsubscribe" in page
    assert (response["Cache-Control"], response["Referrer-Policy"], response["X-Robots-Tag"]) == (
        "no-store", "no-referrer", "noindex, nofollow",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    ["tampered", "preferences token", "revoked", "other day", "queued", "failed"],
)
def test_link_shows_nothing_but_a_sent_digest(client, case: str) -> None:
    from broadsheet.digest.tokens import make_token, revoke_tokens

    subscriber, _ = make_sent_digest(status={"queued": "queued", "failed": "failed"}.get(case, "sent"))
    path = view_path(subscriber)
    if case == "tampered":
        token = view_token(subscriber, TODAY)
        path = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    elif case == "preferences token":
        path = f"/digest/view/{make_token(subscriber, 'preferences')}/"
    elif case == "revoked":
        revoke_tokens(subscriber)
    elif case == "other day":
        path = view_path(subscriber, YESTERDAY)

    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_link_answers_get_only(client) -> None:
    subscriber, _ = make_sent_digest()

    assert client.post(view_path(subscriber)).status_code == 405


@pytest.fixture
def sent_digest_path(transactional_db: None, settings: Any, live_server: Any) -> str:
    """A sent digest, written before the browser starts (see browser_page); links point at the live server."""
    settings.BASE_URL = live_server.url
    subscriber, _ = make_sent_digest()
    return view_path(subscriber)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_digest_page_renders_in_chromium_runs_nothing_and_fits_a_phone(
    sent_digest_path: str, browser_page: Any, live_server: Any, artifacts_dir: Path, scheme: str
) -> None:
    page, watch = browser_page
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 760, "height": 900})
    response = page.goto(f"{live_server.url}{sent_digest_path}")
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts_dir / f"digest-view-{scheme}-{connection.vendor}.png"), full_page=True)

    text = page.inner_text("body")
    for expected in (
        "Your daily papers", "Sparse Attention at Scale", HOSTILE_TITLE, "Bounds on α-divergences",
        "WHY IT IS HERE", "New in cs.CL, one of your categories", "Preferences", "Unsubscribe",
    ):
        assert expected in text
    assert page.locator('img[src="x"]').count() == 0
    card = page.locator(".bs-card").first.evaluate("element => getComputedStyle(element).backgroundColor")
    assert card == {"light": "rgb(255, 255, 255)", "dark": "rgb(23, 26, 33)"}[scheme]

    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert watch.problems() == []
