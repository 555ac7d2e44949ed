"""The list pages over HTTP: trending home, day / week / month and category lists, their options (sort,
has code, pages), previous / next, feed links, JSON twins and clear 404s for impossible periods.

The world is the week of test_lists (week 34 of 2026); trending is read at the real clock, which only
decays the scores (their order stays)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from broadsheet.papers.views import list_url

from .conftest import arxiv_record
from .test_lists import build_week

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def week(db, add_papers):
    return build_week(add_papers)


CARD_LINK = re.compile(r'<h2 class="card-title"><a href="/papers/([^/]+)/"')


def listed(html: str) -> list[str]:
    return CARD_LINK.findall(html)


def get(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:400]
    return response.content.decode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/", ["2608.00001", "2608.00002", "2607.00009"]),
        ("/?has_code=1", ["2608.00001"]),
        ("/day/2026-08-21/", ["2608.00001", "2608.00004"]),
        ("/day/", ["2608.00001", "2608.00004"]),  # the latest day with papers
        ("/week/2026-W34/", ["2608.00001", "2608.00002", "2608.00003", "2608.00004", "2608.00005"]),
        (
            "/week/2026-W34/?sort=published",
            ["2608.00004", "2608.00001", "2608.00002", "2608.00003", "2608.00005"],
        ),
        ("/week/2026-W34/?has_code=1", ["2608.00001"]),
        ("/week/", ["2608.00001", "2608.00002", "2608.00003", "2608.00004", "2608.00005"]),
        ("/month/2026-07/", ["2607.00009"]),
        ("/month/2026-08/?has_code=1&sort=published", ["2608.00001"]),
        ("/categories/cs.CL/", ["2608.00002", "2608.00003"]),  # scored first, then newest
        ("/categories/cs.LG/", ["2608.00001", "2607.00009", "2608.00004", "2608.00003", "2608.00005"]),
        (
            "/categories/cs.LG/?sort=published",
            ["2608.00004", "2608.00001", "2608.00003", "2608.00005", "2607.00009"],
        ),
        ("/categories/cs.LG/?has_code=1", ["2608.00001"]),
    ],
)
def test_lists_show_their_papers_in_order_and_the_json_twin_agrees(client: Client, week, url, expected):
    assert listed(get(client, url)) == expected
    twin = client.get(url + ("&" if "?" in url else "?") + "format=json").json()
    assert [paper["id"] for paper in twin["papers"]] == expected


def test_trending_home_shows_score_components_and_explains_them(client: Client, week):
    html = get(client, "/")
    assert "<h1>Trending</h1>" in html
    assert '<a href="/about/trending/">How trending works</a>' in html
    assert '<a href="/" aria-current="page">Trending</a>' in html
    votes = '<span class="votes" title="22 upvotes: 2 here, 20 on Hugging Face">'
    assert votes + '<span aria-hidden="true">▲</span> 22' in html
    assert '<span aria-hidden="true">★</span> 1.2k<span class="visually-hidden"> GitHub stars</span>' in html
    assert '<a href="https://github.com/ada/engine" rel="nofollow noopener">Code</a>' in html
    assert '<a href="https://engine.example/" rel="nofollow noopener">Project page</a>' in html
    assert '<span class="views" title="views this week">40 views</span>' in html


def test_trending_json_twin_carries_the_score_components(client: Client, week):
    data = client.get("/?format=json").json()
    first = data["papers"][0]
    assert (data["list"], data["has_code"], data["paper_count"], data["page"], data["next_page"]) == (
        "trending",
        False,
        3,
        1,
        None,
    )
    assert {key: first["trending"][key] for key in ("points", "upvotes", "hf_upvotes", "views_week")} == {
        "points": 22.0,
        "upvotes": 2,
        "hf_upvotes": 20,
        "views_week": 0,
    }
    assert first["hf"] == {
        "upvotes": 20,
        "num_comments": 1,
        "github_repo": "https://github.com/ada/engine",
        "github_stars": 1234,
        "project_page": "https://engine.example/",
        "ai_summary": "Engines, summarised.",
        "ai_keywords": ["engines", "alpha"],
        "organization": None,
        "submitted_by": "ada",
        "submitted_on_daily_at": "2026-08-21T00:00:00Z",
    }
    assert (first["upvotes"], first["has_code"], first["score"] > 0) == (2, True, True)


def test_week_page_has_its_label_neighbours_options_and_feeds(client: Client, week):
    html = get(client, "/week/2026-W34/")
    assert "<h1>Week 34 of 2026</h1>" in html
    assert '5 papers announced from <time datetime="2026-08-17">17 Aug</time> to' in html
    assert '<a class="older" rel="prev" href="/week/2026-W31/">← Week 31 of 2026</a>' in html
    assert 'class="newer"' not in html  # no later week has papers
    assert '<a href="/week/2026-W34/?sort=published">Newest</a>' in html
    assert '<a href="/week/2026-W34/" aria-current="true">Trending</a>' in html
    assert '<a class="has-code" href="/week/2026-W34/?has_code=1">' in html
    assert '<input type="week" id="jump" name="week" value="2026-W34"' in html
    assert '<a href="/week/" aria-current="page">Weekly</a>' in html
    assert f'<link rel="canonical" href="{BASE}/week/2026-W34/">' in html
    for kind, name in (("rss", "RSS"), ("atom", "Atom")):
        alternate = (
            f'<link rel="alternate" type="application/{kind}+xml" '
            f'title="Broadsheet: papers of Week 34 of 2026 ({name})" '
            f'href="{BASE}/feeds/week/2026-W34.{kind}">'
        )
        assert alternate in html
        assert f'<a href="{BASE}/feeds/week/2026-W34.{kind}" type="application/{kind}+xml"' in html


def test_filtered_page_keeps_its_options_in_links_and_feeds(client: Client, week):
    html = get(client, "/month/2026-08/?has_code=1&sort=published")
    assert '<a class="has-code" href="/month/2026-08/?sort=published" aria-current="true">' in html
    assert '<a href="/month/2026-08/?has_code=1">Trending</a>' in html
    assert f'href="{BASE}/feeds/month/2026-08.rss?has_code=1&amp;sort=published"' in html
    assert f'<link rel="canonical" href="{BASE}/month/2026-08/?has_code=1&amp;sort=published">' in html


def test_month_and_day_pages_link_their_neighbours(client: Client, week):
    month = get(client, "/month/2026-08/")
    assert '<a class="older" rel="prev" href="/month/2026-07/">← July 2026</a>' in month
    day = get(client, "/day/2026-08-20/")
    assert '<a class="older" rel="prev" href="/day/2026-08-19/">← 19 August 2026</a>' in day
    assert '<a class="newer" rel="next" href="/day/2026-08-21/">21 August 2026 →</a>' in day
    assert client.get("/day/2026-08-20/?format=json").json()["prev"] == "2026-08-19"


def test_category_page_offers_its_feeds_and_sorts(client: Client, week):
    html = get(client, "/categories/cs.CL/")
    assert f'href="{BASE}/feeds/category/cs.CL.atom"' in html
    assert '<a href="/categories/cs.CL/?sort=published">Newest</a>' in html
    assert "trending first, then newest" in html


def test_author_page_offers_its_feeds(client: Client, week):
    from broadsheet.papers.models import Author

    author = Author.objects.get(name="Ada Lovelace").pk
    html = get(client, f"/authors/{author}/")
    title = "Broadsheet: papers by Ada Lovelace (Atom)"
    href = f"{BASE}/feeds/author/{author}.atom"
    assert f'<link rel="alternate" type="application/atom+xml" title="{title}" href="{href}">' in html


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/day/2025-02-30/", 404, "&#x27;2025-02-30&#x27; is not a date in the calendar"),
        ("/week/2025-W54/", 404, "&#x27;2025-W54&#x27; is not a week: 2025 has no ISO week 54"),
        ("/month/2025-13/", 404, "&#x27;2025-13&#x27; is not a month: months run from 01 to 12"),
        ("/week/2025-39/", 404, "expected YYYY-Www, e.g. 2025-W39"),
        ("/week/?week=2025-W54", 404, "2025 has no ISO week 54"),
        ("/week/2026-W34/?sort=votes", 400, "Unknown sort &#x27;votes&#x27;: use trending or published."),
    ],
)
def test_impossible_periods_are_not_found_with_the_reason(client: Client, week, url, status, message):
    assert message in get(client, url, status=status)
    data = client.get(url + ("&" if "?" in url else "?") + "format=json")
    assert data.status_code == status and data.json()["error"]


@pytest.mark.parametrize(
    "url", ["/?page=2", "/week/2026-W34/?page=2", "/categories/cs.CL/?page=2", "/month/2026-08/?page=0"]
)
def test_pages_past_the_end_are_not_found(client: Client, week, url):
    get(client, url, status=404)


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("/week/?week=2026-W34", "/week/2026-W34/"),
        ("/month/?month=2026-08", "/month/2026-08/"),
        ("/day/?date=2026-08-21", "/day/2026-08-21/"),
    ],
)
def test_jump_forms_redirect_to_the_period(client: Client, week, url, target):
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, target)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "/week/2026-W34/"),
        ({"page": 2}, "/week/2026-W34/?page=2"),
        ({"sort": "published", "page": 3}, "/week/2026-W34/?sort=published&page=3"),
        ({"has_code": True, "sort": "published", "page": 1}, "/week/2026-W34/?has_code=1&sort=published"),
    ],
)
def test_list_urls_carry_only_non_default_options(options, expected):
    assert list_url("/week/2026-W34/", **options) == expected


def test_list_pages_page_through_fifty_at_a_time(client: Client, db, add_papers):
    add_papers(*[arxiv_record(f"2608.{n:05d}", announced_on=date(2026, 8, 3)) for n in range(1, 53)])
    first = get(client, "/week/2026-W32/?sort=published")
    assert len(listed(first)) == 50
    assert '<a rel="next" href="/week/2026-W32/?sort=published&amp;page=2">Next page →</a>' in first
    second = get(client, "/week/2026-W32/?sort=published&page=2")
    assert listed(second) == ["2608.00002", "2608.00001"]
    assert '<a rel="prev" href="/week/2026-W32/?sort=published">← Previous page</a>' in second


def test_trending_home_before_any_score_shows_the_latest_day(client: Client, db, add_papers):
    add_papers(arxiv_record("2608.00001"))
    html = get(client, "/")
    assert (
        'Nothing is trending yet: here are the papers of <a href="/day/2026-08-20/">20 August 2026</a>'
        in html
    )
    assert listed(html) == ["2608.00001"]
    data = client.get("/?format=json").json()
    assert (data["list"], data["date"], [paper["id"] for paper in data["papers"]]) == (
        "latest",
        "2026-08-20",
        ["2608.00001"],
    )
    assert "Nothing is trending with code yet." in get(client, "/?has_code=1")


def test_list_pages_use_a_bounded_number_of_queries(client: Client, week, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        get(client, "/week/2026-W34/")
    with django_assert_max_num_queries(12):
        get(client, "/")
    with django_assert_max_num_queries(12):
        get(client, "/categories/cs.LG/")


# --- in a browser ---------------------------------------------------------------------------------


@pytest.fixture
def browser_week(transactional_db, add_papers):
    """The week, written before the browser starts (see browser_page)."""
    return build_week(add_papers)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [360, 1280])
def test_lists_read_well_on_a_phone_and_a_desktop(
    browser_week, browser_page, live_server, artifacts_dir, width
):
    from django.db import connection

    page, watch = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in (("trending", "/"), ("week", "/week/2026-W34/"), ("category", "/categories/cs.LG/")):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200
        page.screenshot(
            path=str(artifacts_dir / f"list-{name}-{width}-{connection.vendor}.png"), full_page=True
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, f"{path} is wider than {width} px"
        assert page.locator(".entry").first.locator(".votes").inner_text().startswith("▲ 22")
    # the options are links: has code, then newest first, then back to page one of everything
    page.goto(f"{live_server.url}/week/2026-W34/")
    page.get_by_role("link", name="Has code").click()
    assert page.url.endswith("/week/2026-W34/?has_code=1")
    assert page.locator(".entry").count() == 1
    page.get_by_role("link", name="Newest").click()
    assert page.url.endswith("/week/2026-W34/?has_code=1&sort=published")
    page.get_by_role("link", name="Has code").click()
    assert page.locator(".entry").count() == 5
    page.get_by_role("link", name="← Week 31 of 2026").click()
    assert page.url.endswith("/week/2026-W31/")
    assert watch.problems() == []
