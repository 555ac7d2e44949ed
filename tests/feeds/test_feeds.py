"""RSS 2.0 and Atom feeds: each one parses with feedparser without a bozo flag (hostile titles and
math included), carries the list's papers in the page's order with absolute links, and refuses what
does not exist (404) or cannot be searched (400)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import feedparser
import pytest
from django.test import Client

from broadsheet.feeds.views import xml_text
from broadsheet.ingest.records import PaperRecord, VersionRecord

BASE = "http://127.0.0.1:8000"
NOW = datetime(2026, 8, 22, 0, 0, tzinfo=UTC)
FORMATS = ["rss", "atom"]


def record(arxiv_id: str, title: str, *, announced_on: date = date(2026, 8, 20), **fields) -> PaperRecord:
    submitted_at = datetime(2026, 8, 18, 15, 0, tzinfo=UTC)
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=fields.pop("abstract", f"We study {arxiv_id}."),
        authors=fields.pop("authors", ["Ada Lovelace"]),
        categories=fields.pop("categories", ["cs.CL"]),
        versions=[VersionRecord(1, submitted_at, "100kb")],
        submitted_at=submitted_at,
        updated_at=submitted_at,
        announced_on=announced_on,
        datestamp=announced_on,
    )


@pytest.fixture
def papers(db) -> None:
    """Three cs.CL papers of 20 August 2026 (week 34); the math one is viewed, so it trends."""
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import PageViewDay
    from broadsheet.trending.score import compute_trending

    upsert_papers(
        [
            record(
                "2608.00001",
                r"Bounds on $\alpha$-divergences",
                abstract=r"We prove $x^2 \geq 0$ for graphene.",
                authors=["Emmy Noether", "Ada Lovelace"],
            ),
            record("2608.00002", "Sparse attention for graphene"),
            record("2608.00003", "Tokenizers", announced_on=date(2026, 8, 19)),
        ],
        now=NOW,
    )
    PageViewDay.objects.create(
        paper=Paper.objects.get(arxiv_id="2608.00001"), day=date(2026, 8, 21), views=30
    )
    compute_trending(NOW)


def parse(client: Client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    parsed = feedparser.parse(response.content, response_headers={"content-type": response["Content-Type"]})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return response, parsed


def author_id(name: str) -> int:
    from broadsheet.papers.models import Author

    return Author.objects.get(name=name).pk


@pytest.mark.parametrize("feed_format", FORMATS)
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/feeds/trending", ["2608.00001"]),
        ("/feeds/day/2026-08-20", ["2608.00001", "2608.00002"]),
        ("/feeds/week/2026-W34", ["2608.00001", "2608.00002", "2608.00003"]),
        ("/feeds/month/2026-08", ["2608.00001", "2608.00002", "2608.00003"]),
        ("/feeds/category/cs.CL", ["2608.00001", "2608.00002", "2608.00003"]),
        ("/feeds/author/EMMY", ["2608.00001"]),
    ],
)
def test_every_list_has_a_feed_in_the_pages_order(client: Client, papers, feed_format, path, expected):
    path = path.replace("EMMY", str(author_id("Emmy Noether")))
    response, parsed = parse(client, f"{path}.{feed_format}")
    assert response["Content-Type"] == f"application/{feed_format}+xml; charset=utf-8"
    assert [entry.link for entry in parsed.entries] == [f"{BASE}/papers/{arxiv_id}/" for arxiv_id in expected]
    assert parsed.feed.link.startswith(BASE + "/")


@pytest.mark.parametrize("feed_format", FORMATS)
def test_feed_items_have_math_as_text_authors_dates_and_categories(client: Client, papers, feed_format):
    _response, parsed = parse(client, f"/feeds/day/2026-08-20.{feed_format}")
    first = parsed.entries[0]
    assert first.title == "Bounds on α-divergences"
    assert first.summary.startswith("We prove x^2 ≥ 0 for graphene.")
    assert first.author == "Emmy Noether, Ada Lovelace"
    assert [tag.term for tag in first.tags] == ["cs.CL"]
    assert first.id == f"{BASE}/papers/2608.00001/"
    assert first.published_parsed[:3] == (2026, 8, 20)
    assert parsed.feed.title == "Broadsheet: papers of 20 August 2026"
    assert parsed.feed.link == f"{BASE}/day/2026-08-20/"


@pytest.mark.parametrize("feed_format", FORMATS)
def test_list_feed_items_note_upvotes(client: Client, papers, feed_format):
    _response, parsed = parse(client, f"/feeds/trending.{feed_format}")
    assert parsed.entries[0].summary.endswith("▲ 0")


@pytest.mark.parametrize("feed_format", FORMATS)
def test_search_feed_lists_matches_newest_first(client: Client, papers, feed_format):
    _response, parsed = parse(client, f"/feeds/search.{feed_format}?q=graphene")
    assert [entry.link for entry in parsed.entries] == [
        f"{BASE}/papers/2608.00002/",
        f"{BASE}/papers/2608.00001/",
    ]
    assert parsed.feed.title == "Broadsheet: search for graphene"
    assert parsed.feed.link == f"{BASE}/search?q=graphene"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/feeds/search.rss?q=" + "x" * 5000, 400),
        ("/feeds/search.atom?q=graphene&from=2025-13-01", 400),
        ("/feeds/day/2025-02-30.rss", 404),
        ("/feeds/week/2025-W54.atom", 404),
        ("/feeds/month/2025-13.rss", 404),
        ("/feeds/category/xx.YY.rss", 404),
        ("/feeds/author/999999.atom", 404),
        ("/feeds/trending.json", 404),
        ("/feeds/week/2026-W34.rss?sort=votes", 404),
    ],
)
def test_feeds_refuse_what_does_not_exist_or_cannot_be_searched(client: Client, papers, url, status):
    assert client.get(url).status_code == status


def test_bad_search_says_why(client: Client, papers):
    response = client.get("/feeds/search.rss", {"q": "graphene", "from": "2025-13-01"})
    assert response.content.decode().startswith("Bad search: not a date")


@pytest.mark.parametrize("feed_format", FORMATS)
def test_hostile_titles_and_abstracts_never_break_the_xml(client: Client, db, hostile_strings, feed_format):
    from django.db import connection

    from broadsheet.ingest.upsert import upsert_papers

    if connection.vendor == "postgresql":
        # PostgreSQL refuses NUL in text (the ingest parsers drop it); every other character is kept
        hostile_strings = [hostile.replace("\x00", "") for hostile in hostile_strings]
    upsert_papers(
        [
            record(
                f"2608.{n:05d}", f"Before {hostile} after", abstract=hostile, authors=[hostile[:200] or "X"]
            )
            for n, hostile in enumerate(hostile_strings, start=1)
        ],
        now=NOW,
    )
    _response, parsed = parse(client, f"/feeds/day/2026-08-20.{feed_format}")
    titles = {entry.link.rsplit("/", 2)[-2]: entry.title for entry in parsed.entries}
    assert len(titles) == len(hostile_strings)
    assert titles["2608.00001"] == 'Before <script>alert("xss")</script> after'
    assert titles["2608.00002"] == 'Before "><img src=x onerror=alert(1)> after'
    assert titles["2608.00005"] == 'Before {{ request.META }}{% now "Y" %} after'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nul\x00byte and \x1b[31mescape", "nulbyte and [31mescape"),
        ("tab\tnewline\nreturn\r", "tab\tnewline\nreturn\r"),
        ("c1\x85\x9f controls", "c1 controls"),
        ("\ufffe\uffff gone, \ud800 lone", " gone,  lone"),
        ("naïve café 中文 𝔸𝔹 🙂", "naïve café 中文 𝔸𝔹 🙂"),
    ],
)
def test_xml_text_drops_what_xml_cannot_hold(text, expected):
    assert xml_text(text) == expected
