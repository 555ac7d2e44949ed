"""Page views: human views of a paper page are counted per paper per day, bots and prefetches are not, and
nothing about the reader is kept. /about/trending publishes the formula with the constants of the code."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import RequestFactory

from broadsheet.trending import score
from broadsheet.trending.views import is_human_view, record_paper_view

from .conftest import arxiv_record

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
NOW = datetime(2026, 8, 21, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("agent", "extra", "human"),
    [
        (FIREFOX, {}, True),
        (CHROME, {}, True),
        (SAFARI_IPHONE, {}, True),
        ("", {}, False),
        ("Mozilla/5.0", {}, False),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}, False),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", {}, False),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", {}, False),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", {}, False),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0",
            {},
            False,
        ),
        ("python-requests/2.32.3", {}, False),
        ("curl/8.5.0", {}, False),
        ("Feedly/1.0 (+http://www.feedly.com/fetcher.html)", {}, False),
        ("UptimeRobot/2.0", {}, False),
        (CHROME, {"HTTP_SEC_PURPOSE": "prefetch;prerender"}, False),
        (FIREFOX, {"HTTP_PURPOSE": "prefetch"}, False),
        (FIREFOX, {"HTTP_X_MOZ": "prefetch"}, False),
    ],
)
def test_humans_are_told_from_bots_and_prefetches(agent, extra, human):
    request = RequestFactory().get("/papers/2608.00001/", HTTP_USER_AGENT=agent, **extra)
    assert is_human_view(request) is human


def test_only_get_requests_are_views():
    request = RequestFactory().head("/papers/2608.00001/", HTTP_USER_AGENT=FIREFOX)
    assert is_human_view(request) is False


def view_rows():
    from broadsheet.trending.models import PageViewDay

    return list(
        PageViewDay.objects.order_by("paper__arxiv_id", "day").values_list("paper__arxiv_id", "day", "views")
    )


@pytest.mark.django_db
def test_views_are_counted_per_paper_per_utc_day(add_papers):
    first, second = add_papers(arxiv_record("2608.00001"), arxiv_record("2608.00002"))
    factory = RequestFactory()
    for agent in (FIREFOX, CHROME, FIREFOX, "Googlebot/2.1"):
        record_paper_view(factory.get("/", HTTP_USER_AGENT=agent), first, now=NOW)
    # a minute later it is the next UTC day
    assert record_paper_view(
        factory.get("/", HTTP_USER_AGENT=FIREFOX), first, now=datetime(2026, 8, 22, 0, 0, tzinfo=UTC)
    )
    assert not record_paper_view(factory.get("/", HTTP_USER_AGENT="curl/8"), second, now=NOW)
    assert view_rows() == [("2608.00001", date(2026, 8, 21), 3), ("2608.00001", date(2026, 8, 22), 1)]


@pytest.mark.django_db
def test_the_paper_page_counts_human_views_but_not_its_json_twin_or_bots(client, add_papers):
    add_papers(arxiv_record("2608.00001"))
    assert client.get("/papers/2608.00001/", HTTP_USER_AGENT=FIREFOX).status_code == 200
    assert client.get("/papers/2608.00001/", HTTP_USER_AGENT=CHROME).status_code == 200
    assert client.get("/papers/2608.00001/?format=json", HTTP_USER_AGENT=FIREFOX).status_code == 200
    assert client.get("/papers/2608.00001/", HTTP_USER_AGENT="Googlebot/2.1").status_code == 200
    assert client.get("/papers/2608.99999/", HTTP_USER_AGENT=FIREFOX).status_code == 404
    from django.utils import timezone

    assert view_rows() == [("2608.00001", timezone.now().astimezone(UTC).date(), 2)]


@pytest.mark.django_db
def test_a_view_keeps_nothing_about_the_reader(client, add_papers):
    from broadsheet.trending.models import PageViewDay

    add_papers(arxiv_record("2608.00001"))
    client.get("/papers/2608.00001/", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.7")
    assert [field.name for field in PageViewDay._meta.get_fields()] == ["id", "paper", "day", "views"]
    assert "sessionid" not in client.cookies


@pytest.mark.django_db
def test_about_trending_publishes_the_formula_and_current_examples(client, add_papers, hostile_string):
    from broadsheet.ingest.records import PaperRecord
    from broadsheet.trending.hf_daily import HfItem, midnight, store_daily_papers

    # sources drop NUL (PostgreSQL refuses it in text); everything else arrives as it is
    title = "Hostile " + hostile_string.replace("\x00", "")
    add_papers(arxiv_record("2608.00001", title=title, announced_on=date(2026, 8, 21)))
    store_daily_papers(
        [HfItem(record=PaperRecord("2608.00001", title="x"), upvotes=12, num_comments=0)],
        daily_on=date(2026, 8, 21),
        observed_at=midnight(date(2026, 8, 22)),
        now=NOW,
    )
    score.compute_trending(datetime(2026, 8, 22, tzinfo=UTC), window_days=10_000)
    response = client.get("/about/trending/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "score = points / (age in hours + 2.0)<sup>1.8</sup>" in page
    assert "views this week × 0.1" in page and "GitHub stars gained this week × 0.1" in page
    assert '<a href="/papers/2608.00001/">' in page
    assert "<td>12</td>" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert '<link rel="canonical" href="http://127.0.0.1:8000/about/trending/">' in page


@pytest.mark.django_db
def test_about_trending_without_scores_says_so(client):
    response = client.get("/about/trending")
    assert response.status_code == 301
    assert response["Location"] == "/about/trending/"
    assert "No paper has a signal yet." in client.get("/about/trending/").content.decode()
