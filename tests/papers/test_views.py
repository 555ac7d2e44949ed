"""The paper pages over HTTP: status, visible content, navigation, JSON twins, and hostile text kept inert."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from broadsheet.ingest.records import PaperRecord
from broadsheet.papers.models import Author, Paper

pytestmark = pytest.mark.django_db

Record = Callable[..., PaperRecord]
THU, MON, TUE = date(2025, 9, 18), date(2025, 9, 22), date(2025, 9, 23)
UPDATED_AT = datetime(2025, 9, 21, 8, 0, tzinfo=UTC)


class TextOf(HTMLParser):
    """The text a reader sees (what a browser shows as text, not markup), tags dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = TextOf()
    parser.feed(html)
    return "".join(parser.parts)


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


@pytest.fixture
def small_day(paper_record: Record, add_papers: Callable[..., None]) -> None:
    """Two papers on Monday, one on Thursday (the weekend and Friday are empty), one on Tuesday."""
    add_papers(
        paper_record(
            "2509.20001",
            title=r"Bounds on $\alpha$-divergences",
            abstract=r"We prove $x^2 \geq 0$.",
            authors=["Emmy Noether", "Ada Lovelace"],
            categories=["math.PR", "cs.IT"],
            version=2,
            updated_at=UPDATED_AT,
            doi="10.1000/xyz",
            journal_ref="J. Obvious Results 1 (2025) 1-2",
            comments="12 pages, 3 figures",
            license="http://creativecommons.org/licenses/by/4.0/",
        ),
        paper_record("2509.20002", title="Sparse attention", authors=["Grace Hopper"], categories=["cs.LG"]),
        paper_record("2509.10001", title="Thursday paper", announced_on=THU),
        paper_record("2509.30001", title="Tuesday paper", announced_on=TUE),
    )


def author_id(name: str) -> int:
    return Author.objects.get(name=name).pk


# --- home and day pages ---------------------------------------------------------------------------


def test_daily_tab_shows_the_latest_day(client: Client, small_day: None) -> None:
    html = page(client, "/day/")
    assert "Tuesday 23 September 2025" in html
    assert "1 paper announced, the latest day with papers" in html
    assert "Tuesday paper" in html
    assert "Sparse attention" not in html
    assert '<a class="older" rel="prev" href="/day/2025-09-22/">← 22 September 2025</a>' in html
    assert 'class="newer"' not in html
    assert '<link rel="canonical" href="http://127.0.0.1:8000/day/">' in html
    assert '<a href="/day/" aria-current="page">Daily</a>' in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/day/", "No papers yet"),
        ("/week/", "No papers yet"),
        ("/month/", "No papers yet"),
        ("/", "Nothing is trending yet."),
    ],
)
def test_lists_without_papers_say_so(client: Client, url: str, expected: str) -> None:
    assert expected in page(client, url)


def test_day_page_lists_papers_with_authors_categories_and_links(client: Client, small_day: None) -> None:
    html = page(client, "/day/2025-09-22/")
    assert "Monday 22 September 2025" in html
    assert "2 papers announced" in html
    assert html.index("Sparse attention") < html.index("-divergences")  # newest id first
    emmy, ada = author_id("Emmy Noether"), author_id("Ada Lovelace")
    byline = f'<a href="/authors/{emmy}/"><bdi>Emmy Noether</bdi></a>, <a href="/authors/{ada}/"><bdi>Ada'
    assert byline in html
    primary = '<a class="cat primary" href="/categories/math.PR/">math.PR</a>'
    assert primary + '<a class="cat" href="/categories/cs.IT/">cs.IT</a>' in html
    assert '<a href="https://arxiv.org/abs/2509.20001v2">arXiv:2509.20001</a>' in html
    assert '<a href="https://arxiv.org/pdf/2509.20001v2">PDF</a>' in html
    assert (
        '<h2 class="card-title"><a href="/papers/2509.20001/"><bdi>Bounds on <math display="inline">' in html
    )
    assert '<details class="abstract"><summary dir="auto">We prove <math display="inline">' in html


@pytest.mark.parametrize(
    ("url", "older", "newer"),
    [
        ("/day/2025-09-22/", "/day/2025-09-18/", "/day/2025-09-23/"),
        # Friday and the weekend are empty: they still point at the nearest days with papers
        ("/day/2025-09-19/", "/day/2025-09-18/", "/day/2025-09-22/"),
        ("/day/2025-09-20/", "/day/2025-09-18/", "/day/2025-09-22/"),
        ("/day/2025-09-18/", None, "/day/2025-09-22/"),
        ("/day/2025-09-23/", "/day/2025-09-22/", None),
    ],
)
def test_day_navigation_skips_empty_days(
    client: Client, small_day: None, url: str, older: str | None, newer: str | None
) -> None:
    html = page(client, url)
    found_older = re.search(r'class="older" rel="prev" href="([^"]+)"', html)
    found_newer = re.search(r'class="newer" rel="next" href="([^"]+)"', html)
    assert (found_older and found_older.group(1)) == older
    assert (found_newer and found_newer.group(1)) == newer


def test_empty_day_says_so(client: Client, small_day: None) -> None:
    assert "No papers were announced on this day." in page(client, "/day/2025-09-20/")


@pytest.mark.parametrize("url", ["/?date=2025-09-22", "/day/?date=2025-09-22"])
def test_date_form_redirects_to_the_day_page(client: Client, small_day: None, url: str) -> None:
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, "/day/2025-09-22/")
    response = client.get(url + "&format=json")
    assert (response.status_code, response["Location"]) == (302, "/day/2025-09-22/?format=json")


@pytest.mark.parametrize(
    "url",
    ["/?date=2025-13-01", "/?date=yesterday", "/day/2025-02-30/", "/day/2025-9-1/", "/?page=0", "/?page=x"],
)
def test_bad_dates_and_pages_are_not_found(client: Client, small_day: None, url: str) -> None:
    page(client, url, status=404)


def test_day_pages_hold_fifty_papers(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(*[paper_record(f"2509.{n:05d}") for n in range(1, 52)])
    first = page(client, "/day/2025-09-22/")
    second = page(client, "/day/2025-09-22/?page=2")
    assert first.count('<article class="card">') == 50
    assert "Page 1 of 2" in first
    assert '<a rel="next" href="/day/2025-09-22/?page=2">Next page →</a>' in first
    assert second.count('<article class="card">') == 1
    assert "Paper 2509.00001" in second
    assert '<a rel="prev" href="/day/2025-09-22/">← Previous page</a>' in second
    assert '<link rel="canonical" href="http://127.0.0.1:8000/day/2025-09-22/?page=2">' in second
    page(client, "/day/2025-09-22/?page=3", status=404)


def test_cards_cut_long_author_lists(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(paper_record("2509.00001", authors=[f"Author Number{n}" for n in range(1, 31)]))
    html = page(client, "/day/2025-09-22/")
    assert 'Author Number8</bdi></a> <span class="etal">et al. (30 authors)</span>' in html
    assert "Author Number9" not in html


def test_deleted_papers_are_left_out_of_lists(
    client: Client, small_day: None, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(deleted_record("2509.20002"), deleted_record("2509.30001"))
    html = page(client, "/day/2025-09-22/")
    assert "Sparse attention" not in html
    assert "1 paper announced" in html
    # Tuesday's only paper is gone: Monday is the latest day now
    assert "Monday 22 September 2025" in page(client, "/day/")
    assert "Sparse attention" not in page(client, f"/authors/{author_id('Grace Hopper')}/")
    assert "Sparse attention" not in page(client, "/categories/cs.LG/")


def test_home_page_queries_do_not_grow_with_the_papers(
    client: Client,
    paper_record: Record,
    add_papers: Callable[..., None],
    django_assert_max_num_queries: Any,
) -> None:
    many_authors = [f"Author Number{n}" for n in range(1, 13)]
    add_papers(
        *[
            paper_record(
                f"2509.{n:05d}",
                authors=many_authors if n % 2 else ["Ada Lovelace"],
                categories=["cs.LG", "stat.ML"],
            )
            for n in range(1, 61)
        ]
    )
    # latest day, count, papers with a score and with HF info, the rest, cards (4), upvotes, older and
    # newer days
    with django_assert_max_num_queries(12):
        html = page(client, "/day/")
    assert html.count('<article class="card">') == 50
    with django_assert_max_num_queries(12):
        page(client, "/day/?page=2")


# --- JSON twins -----------------------------------------------------------------------------------

MONDAY_JSON_PAPERS = [
    {
        "id": "2509.20002",
        "version": 1,
        "title": "Sparse attention",
        "abstract": "We study things.",
        "authors": ["Grace Hopper"],
        "author_count": 1,
        "categories": ["cs.LG"],
        "primary_category": "cs.LG",
        "announced_on": "2025-09-22",
        "submitted_at": "2025-09-19T17:30:00Z",
        "updated_at": "2025-09-19T17:30:00Z",
        "links": {
            "abs": "https://arxiv.org/abs/2509.20002v1",
            "pdf": "https://arxiv.org/pdf/2509.20002v1",
            "html": "https://arxiv.org/html/2509.20002v1",
            "doi": None,
        },
        "url": "http://127.0.0.1:8000/papers/2509.20002/",
    },
    {
        "id": "2509.20001",
        "version": 2,
        "title": r"Bounds on $\alpha$-divergences",
        "abstract": r"We prove $x^2 \geq 0$.",
        "authors": ["Emmy Noether", "Ada Lovelace"],
        "author_count": 2,
        "categories": ["math.PR", "cs.IT"],
        "primary_category": "math.PR",
        "announced_on": "2025-09-22",
        "submitted_at": "2025-09-19T17:30:00Z",
        "updated_at": "2025-09-21T08:00:00Z",
        "links": {
            "abs": "https://arxiv.org/abs/2509.20001v2",
            "pdf": "https://arxiv.org/pdf/2509.20001v2",
            "html": "https://arxiv.org/html/2509.20001v2",
            "doi": "https://doi.org/10.1000/xyz",
        },
        "url": "http://127.0.0.1:8000/papers/2509.20001/",
    },
]


# what list entries add to a card: a paper nobody has upvoted, viewed or featured
NO_SIGNALS = {"upvotes": 0, "has_code": False, "score": None, "trending": None, "hf": None}


def test_day_json_twin_has_the_page_data(client: Client, small_day: None) -> None:
    response = client.get("/day/2025-09-22/?format=json")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json() == {
        "list": "day",
        "date": "2025-09-22",
        "period": {
            "kind": "day",
            "slug": "2025-09-22",
            "label": "22 September 2025",
            "start": "2025-09-22",
            "end": "2025-09-22",
        },
        "prev": "2025-09-18",
        "next": "2025-09-23",
        "sort": "trending",
        "has_code": False,
        "page": 1,
        "prev_page": None,
        "next_page": None,
        "page_count": 1,
        "paper_count": 2,
        "papers": [{**paper, **NO_SIGNALS} for paper in MONDAY_JSON_PAPERS],
    }


def test_latest_day_json_twin_is_the_latest_day(client: Client, small_day: None) -> None:
    data = client.get("/day/?format=json").json()
    assert (data["date"], data["prev"], data["next"]) == ("2025-09-23", "2025-09-22", None)
    assert [paper["id"] for paper in data["papers"]] == ["2509.30001"]


def test_json_twin_and_page_show_the_same_papers(client: Client, small_day: None) -> None:
    html = page(client, "/day/2025-09-22/")
    listed = re.findall(r'<h2 class="card-title"><a href="([^"]+)"', html)
    data = client.get("/day/2025-09-22/?format=json").json()
    assert listed == [paper["url"].removeprefix("http://127.0.0.1:8000") for paper in data["papers"]]


def test_author_json_twin(client: Client, small_day: None) -> None:
    emmy = author_id("Emmy Noether")
    assert client.get(f"/authors/{emmy}/?format=json").json() == {
        "author": {"id": emmy, "name": "Emmy Noether", "url": f"http://127.0.0.1:8000/authors/{emmy}/"},
        "page": 1,
        "prev_page": None,
        "next_page": None,
        "page_count": 1,
        "paper_count": 1,
        "papers": [MONDAY_JSON_PAPERS[1]],
    }


def test_category_json_twin(client: Client, small_day: None) -> None:
    assert client.get("/categories/cs.IT/?format=json").json() == {
        "category": {
            "code": "cs.IT",
            "name": "Information Theory",
            "url": "http://127.0.0.1:8000/categories/cs.IT/",
        },
        "sort": "trending",
        "has_code": False,
        "page": 1,
        "prev_page": None,
        "next_page": None,
        "papers": [{**MONDAY_JSON_PAPERS[1], **NO_SIGNALS}],
    }


def test_category_index_json_twin(client: Client, small_day: None) -> None:
    assert client.get("/categories/?format=json").json() == {
        "categories": [
            {
                "code": "cs.IT",
                "name": "Information Theory",
                "archive": "cs",
                "paper_count": 1,
                "url": "http://127.0.0.1:8000/categories/cs.IT/",
            },
            {
                "code": "cs.LG",
                "name": "Machine Learning",
                "archive": "cs",
                "paper_count": 3,
                "url": "http://127.0.0.1:8000/categories/cs.LG/",
            },
            {
                "code": "math.PR",
                "name": "Probability",
                "archive": "math",
                "paper_count": 1,
                "url": "http://127.0.0.1:8000/categories/math.PR/",
            },
        ]
    }


def test_paper_json_twin(client: Client, small_day: None) -> None:
    assert client.get("/papers/2509.20001/?format=json").json() == {
        **MONDAY_JSON_PAPERS[1],
        "comments": "12 pages, 3 figures",
        "journal_ref": "J. Obvious Results 1 (2025) 1-2",
        "doi": "10.1000/xyz",
        "report_no": "",
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "versions": [
            {"version": 1, "created_at": "2025-09-19T17:30:00Z", "size": "100kb"},
            {"version": 2, "created_at": "2025-09-21T08:00:00Z", "size": "200kb"},
        ],
    }


def test_json_twin_of_a_missing_page_is_json(client: Client, small_day: None) -> None:
    response = client.get("/papers/2509.99999/?format=json")
    assert (response.status_code, response.json()) == (404, {"error": "not found", "id": "2509.99999"})


# --- paper page -----------------------------------------------------------------------------------


def test_paper_page_shows_everything_about_the_paper(client: Client, small_day: None) -> None:
    html = page(client, "/papers/2509.20001/")
    text = text_of(html)
    assert "<title>\u2068Bounds on α-divergences\u2069 · Broadsheet</title>" in html
    assert '<meta name="description" content="We prove x^2 ≥ 0.">' in html
    assert '<link rel="canonical" href="http://127.0.0.1:8000/papers/2509.20001/">' in html
    assert (
        '<h1><bdi>Bounds on <math display="inline"><mrow><mi>α</mi></mrow></math>-divergences</bdi></h1>'
        in html
    )
    emmy = author_id("Emmy Noether")
    assert f'<a href="/authors/{emmy}/"><bdi>Emmy Noether</bdi></a>' in html
    for expected in (
        "arXiv:2509.20001v2",
        "math.PR Probability (primary)",
        "cs.IT Information Theory",
        "Submitted19 September 2025, 17:30 UTC",
        "Updated21 September 2025, 08:00 UTC",
        "Announced22 September 2025",
        "v1 19 Sep 2025 (100kb)v2 21 Sep 2025 (200kb)",
        "Comments12 pages, 3 figures",
        "Journal ref.J. Obvious Results 1 (2025) 1-2",
        "DOI10.1000/xyz",
        "LicenceCC BY 4.0",
    ):
        assert expected in text
    for link in (
        '<a href="https://arxiv.org/abs/2509.20001v2">arXiv page</a>',
        '<a href="https://arxiv.org/pdf/2509.20001v2">PDF</a>',
        '<a href="https://arxiv.org/html/2509.20001v2">HTML</a>',
        '<a href="https://doi.org/10.1000/xyz">DOI</a>',
        '<a href="https://arxiv.org/abs/2509.20001v1">v1</a>',
        '<a href="http://creativecommons.org/licenses/by/4.0/"><bdi>CC BY 4.0</bdi></a>',
        '<a class="cat primary" href="/categories/math.PR/">math.PR</a>',
        '<a href="/day/2025-09-22/">',
    ):
        assert link in html


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/papers/2509.20001v2/", "/papers/2509.20001/"),
        ("/papers/2509.20001v1/", "/papers/2509.20001/"),
        ("/papers/arXiv:2509.20001/", "/papers/2509.20001/"),
        ("/papers/2509.20001v2/?format=json", "/papers/2509.20001/?format=json"),
        ("/papers/hep-th/9901001v3/", "/papers/hep-th/9901001/"),
    ],
)
def test_versioned_ids_redirect_to_the_paper(
    client: Client, small_day: None, url: str, location: str
) -> None:
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (301, location)


def test_old_style_ids_have_pages_and_links(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(paper_record("hep-th/9901001", title="Old string theory", categories=["hep-th"]))
    html = page(client, "/papers/hep-th/9901001/")
    assert "<bdi>Old string theory</bdi>" in html
    assert '<a href="https://arxiv.org/abs/hep-th/9901001v1">arXiv page</a>' in html
    assert '<a href="/papers/hep-th/9901001/"><bdi>Old string theory</bdi></a>' in page(
        client, "/day/2025-09-22/"
    )


def test_unknown_paper_is_not_found_with_a_link_to_arxiv(client: Client, small_day: None) -> None:
    html = page(client, "/papers/2509.99999/", status=404)
    assert "arXiv:2509.99999 is not in this collection (yet)." in html
    assert '<a href="https://arxiv.org/abs/2509.99999">arXiv</a>' in html


@pytest.mark.parametrize("url", ["/papers/not-an-id/", "/papers/2509.1/", "/papers/%3Cscript%3E/"])
def test_malformed_paper_ids_are_not_found(client: Client, url: str) -> None:
    html = page(client, url, status=404)
    assert "There is no page at this address." in html


def test_deleted_paper_is_gone_without_its_content(
    client: Client, small_day: None, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(deleted_record("2509.20001", on=date(2025, 12, 1)))
    html = page(client, "/papers/2509.20001/", status=410)
    assert "arXiv:2509.20001 has been removed" in html
    assert 'recorded <time datetime="2025-12-01">1 December 2025</time>' in html
    assert '<a href="https://arxiv.org/abs/2509.20001">arXiv</a>' in html
    assert "divergences" not in html and "We prove" not in html
    response = client.get("/papers/2509.20001/?format=json")
    assert (response.status_code, response.json()) == (
        410,
        {"id": "2509.20001", "deleted": True, "deleted_on": "2025-12-01"},
    )


# --- author and category pages --------------------------------------------------------------------


def test_author_page_lists_papers_newest_first(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(
        paper_record("2509.10001", title="Older work", authors=["Emmy Noether"], announced_on=THU),
        paper_record(
            "2509.30001", title="Newer work", authors=["Emmy Noether", "Ada Lovelace"], announced_on=TUE
        ),
        paper_record("2509.30002", title="Not hers", authors=["Ada Lovelace"], announced_on=TUE),
    )
    html = page(client, f"/authors/{author_id('Emmy Noether')}/")
    assert "<h1><bdi>Emmy Noether</bdi></h1>" in html
    assert "2 papers, newest first" in html
    assert html.index("Newer work") < html.index("Older work")
    assert "Not hers" not in html


def test_author_pages_paginate(client: Client, paper_record: Record, add_papers: Callable[..., None]) -> None:
    add_papers(*[paper_record(f"2509.{n:05d}", authors=["Emmy Noether"]) for n in range(1, 52)])
    emmy = author_id("Emmy Noether")
    assert page(client, f"/authors/{emmy}/").count('<article class="card">') == 50
    second = page(client, f"/authors/{emmy}/?page=2")
    assert second.count('<article class="card">') == 1
    assert "Page 2 of 2" in second
    page(client, f"/authors/{emmy}/?page=3", status=404)


def test_unknown_author_is_not_found(client: Client) -> None:
    page(client, "/authors/999999/", status=404)


def test_category_page_lists_cross_lists_newest_first(client: Client, small_day: None) -> None:
    html = page(client, "/categories/cs.LG/")
    assert '<h1>cs.LG <span class="sub">Machine Learning</span></h1>' in html
    titles = re.findall(r'<h2 class="card-title"><a href="[^"]+"><bdi>([^<]+)</bdi>', html)
    assert titles == ["Tuesday paper", "Sparse attention", "Thursday paper"]
    # cs.IT holds only a cross-listed paper
    assert "-divergences" in page(client, "/categories/cs.IT/")


def test_category_pages_paginate(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(*[paper_record(f"2509.{n:05d}", categories=["math.AG"]) for n in range(1, 52)])
    first = page(client, "/categories/math.AG/")
    assert first.count('<article class="card">') == 50
    assert '<a rel="next" href="/categories/math.AG/?page=2">Next page →</a>' in first
    second = page(client, "/categories/math.AG/?page=2")
    assert second.count('<article class="card">') == 1
    page(client, "/categories/math.AG/?page=3", status=404)


@pytest.mark.parametrize(
    ("url", "status", "expected"),
    [
        ("/categories/math.CT/", 200, "No papers in this category yet."),  # known to arXiv, no papers here
        ("/categories/xx.YY/", 404, "There is no page at this address."),
    ],
)
def test_category_without_papers(
    client: Client, small_day: None, url: str, status: int, expected: str
) -> None:
    assert expected in page(client, url, status=status)


def test_category_index_lists_categories_with_counts(client: Client, small_day: None) -> None:
    text = text_of(page(client, "/categories/"))
    assert "Computer Science" in text and "Mathematics" in text
    assert "cs.IT Information Theory 1" in text
    assert "cs.LG Machine Learning 3" in text
    assert "math.PR Probability 1" in text


# --- error pages ----------------------------------------------------------------------------------


def test_not_found_page_has_the_site_around_it(client: Client) -> None:
    html = page(client, "/no/such/page/", status=404)
    assert "<title>Not found · Broadsheet</title>" in html
    assert '<a class="brand" href="/">Broadsheet</a>' in html
    assert "There is no page at this address." in html


def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [path("boom/", broken_view), path("", include("broadsheet.papers.urls"))]


@pytest.mark.urls(__name__)
def test_server_error_page(db: None) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "<title>Server error · Broadsheet</title>" in html
    assert "Something went wrong" in html


# --- hostile text ---------------------------------------------------------------------------------

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "template": "{{7*7}}{% now 'Y' %}",
    "rtl-override": "\u202eevil\u202c",
    "attribute-breakout": '"><img src=x onerror=alert(1)>',
}
FIELDS = ["title", "abstract", "author", "comments"]


@pytest.fixture(
    params=[(field, kind) for field in FIELDS for kind in HOSTILE], ids=lambda p: f"{p[0]}-{p[1]}"
)
def hostile_paper(
    request: pytest.FixtureRequest, paper_record: Record, add_papers: Callable[..., None]
) -> tuple[str, str]:
    field, kind = request.param
    hostile = HOSTILE[kind]
    values: dict[str, Any] = {
        "title": "Harmless title",
        "abstract": "Harmless abstract.",
        "comments": "8 pages",
        "authors": ["Alice Liddell"],
    }
    if field == "author":
        values["authors"] = [f"Eve {hostile}", "Alice Liddell"]
    else:
        values[field] = f"Before {hostile} after"
    add_papers(paper_record("2509.66666", **values))
    return field, hostile


@pytest.mark.parametrize("url", ["/day/", "/papers/2509.66666/", "/categories/cs.LG/", "author"])
def test_hostile_text_is_shown_as_text_and_runs_nothing(
    client: Client, hostile_paper: tuple[str, str], url: str
) -> None:
    field, hostile = hostile_paper
    if url == "author":
        url = f"/authors/{author_id('Alice Liddell')}/"
    html = page(client, url)
    for markup in ("<script>alert", "<img", "onerror=alert(1)>"):
        assert markup not in html.replace("onerror=alert(1)&gt;", "")
    assert "Before 49" not in html and "Eve 49" not in html  # {{7*7}} is never evaluated
    # comments show on the paper page only; everything else on every page
    if field != "comments" or url.startswith("/papers/"):
        assert hostile in text_of(html)
        if hostile.startswith("\u202e"):
            # an override cannot leak out of its text into the page around it
            isolated = re.search(r'<(bdi|[a-z0-9]+ [^>]*dir="auto")[^>]*>[^<]*\u202eevil\u202c', html)
            assert isolated, html


def test_hostile_title_is_isolated_in_the_document_title(
    client: Client, paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(paper_record("2509.66666", title="\u202eevil</title><script>alert(1)</script>"))
    html = page(client, "/papers/2509.66666/")
    assert (
        "<title>\u2068\u202eevil&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;\u2069 · Broadsheet"
        in html
    )


def test_math_renders_on_the_page_and_stays_latex_in_json(client: Client, small_day: None) -> None:
    html = page(client, "/papers/2509.20001/")
    formula = (
        '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup><mo>≥</mo><mn>0</mn></mrow></math>'
    )
    assert f"We prove {formula}." in html
    assert client.get("/papers/2509.20001/?format=json").json()["abstract"] == r"We prove $x^2 \geq 0$."


# --- admin ----------------------------------------------------------------------------------------


def test_admin_shows_papers_read_only(admin_client: Client, small_day: None) -> None:
    listing = admin_client.get("/admin/papers/paper/?q=2509.20001")
    assert listing.status_code == 200
    assert "2509.20001" in listing.content.decode() and "Sparse attention" not in listing.content.decode()
    assert admin_client.get("/admin/papers/paper/?primary_category__code__exact=cs.LG").status_code == 200
    paper = Paper.objects.get(arxiv_id="2509.20001")
    detail = admin_client.get(f"/admin/papers/paper/{paper.pk}/change/")
    assert detail.status_code == 200
    assert "Emmy Noether" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.get("/admin/papers/paper/add/").status_code == 403
    for url in ("/admin/papers/author/", "/admin/papers/category/", "/admin/ingest/harveststate/"):
        assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/day/", "/week/", "/month/", "/categories/", "/search?q=x", "/signin/"]
)
def test_no_template_syntax_leaks_onto_a_page(client, path: str) -> None:
    # Django comments are one line: a multi-line {# ... #} is printed as text
    body = client.get(path).content.decode()
    assert "{#" not in body and "{%" not in body and "{{" not in body.replace("{{7*7}}", "")
