"""The search page and its JSON twin: results, filters, paging links, errors as 400s, escaping, the
header search form, and arbitrary input never answering 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.ingest.upsert import upsert_papers

from .corpus import CORPUS, INGESTED_AT, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> None:
    upsert_papers(CORPUS, now=INGESTED_AT)


def test_search_page_lists_matches_with_marked_words(client: Client, corpus: None) -> None:
    response = client.get("/search", {"q": "graphene", "mode": "keyword"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("<mark>Graphene</mark> transistors") < html.index("Carbon devices")
    assert "We study <mark>graphene</mark> ribbons" in html
    assert 'value="graphene"' in html  # the query stays in the box
    assert '<meta name="robots" content="noindex">' in html


def test_search_page_answers_with_and_without_the_trailing_slash(client: Client, corpus: None) -> None:
    assert client.get("/search/", {"q": "graphene"}).status_code == 200
    assert client.get("/search").status_code == 200


def test_search_json_twin_has_the_same_results(client: Client, corpus: None) -> None:
    response = client.get("/search", {"q": "graphene", "mode": "keyword", "format": "json"})
    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data["results"]] == ["2501.00001", "2501.00002"]
    first = data["results"][0]
    assert first["title"] == "Graphene transistors"
    assert first["title_html"] == "<mark>Graphene</mark> transistors"
    assert first["authors"] == ["Ada Lovelace", "Grace Hopper"]
    assert first["matched_by"] == ["keyword"]
    assert first["url"].endswith("/papers/2501.00001/")
    assert (data["mode"], data["sort"], data["page"], data["prev_page"], data["next_page"]) == (
        "keyword", "relevance", 1, None, None,
    )


def test_filter_parameters_narrow_the_results(client: Client, corpus: None) -> None:
    def found(**params: str) -> list[str]:
        data = client.get("/search", {**params, "mode": "keyword", "format": "json"}).json()
        return [item["id"] for item in data["results"]]

    assert found(q="graphene", author="Lovelace") == ["2501.00001"]
    assert found(q="graphene", category="cond-mat.mtrl-sci") == ["2501.00002"]
    assert found(q="graphene", **{"from": "2025-02"}) == ["2501.00002"]
    assert found(q="graphene", to="2025-01-31") == ["2501.00001"]
    assert found(q="graphene", sort="newest") == ["2501.00002", "2501.00001"]
    assert found(author="Hopper") == ["2501.00002", "2501.00001"]


def test_pages_link_to_each_other_keeping_the_parameters(client: Client) -> None:
    upsert_papers([record(f"2507.{number:05d}", f"Graphene part {number}", "Text.") for number in range(25)],
                  now=INGESTED_AT)
    html = client.get("/search", {"q": "graphene", "mode": "keyword", "sort": "newest"}).content.decode()
    assert 'href="/search?q=graphene&amp;mode=keyword&amp;sort=newest&amp;page=2"' in html
    second = client.get("/search", {"q": "graphene", "mode": "keyword", "sort": "newest", "page": "2"})
    html = second.content.decode()
    assert 'rel="prev" href="/search?q=graphene&amp;mode=keyword&amp;sort=newest"' in html
    assert 'rel="next"' not in html
    assert html.count('class="card"') == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "from:yesterday"}, "not a date: &#x27;yesterday&#x27;"),
        ({"q": "x" * 5000}, "the query is too long (5000 characters)"),
        ({"q": "graphene", "mode": "psychic"}, "mode must be one of: hybrid, keyword, vector"),
        ({"q": "graphene", "page": "0"}, "page must be a whole number from 1"),
        ({"q": "graphene", "page": "-3"}, "page must be a whole number from 1"),
        ({"q": "graphene", "page": "99999"}, "results are paged up to the first 1000"),
        ({"q": "graphene", "category": "<b>"}, "not an arXiv category: &#x27;&lt;b&gt;&#x27;"),
        ({"q": "graphene", "from": "2025-13-01"}, "not a date"),
    ],
)
def test_unusable_queries_answer_400_with_the_reason(
    client: Client, corpus: None, params: dict[str, str], message: str
) -> None:
    response = client.get("/search", params)
    assert response.status_code == 400
    assert message in response.content.decode()
    as_json = client.get("/search", {**params, "format": "json"})
    assert as_json.status_code == 400
    assert as_json.json()["error"]


def test_hostile_queries_come_back_escaped(client: Client, corpus: None, hostile_string: str) -> None:
    response = client.get("/search", {"q": hostile_string[:900]})
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_every_page_has_the_search_form_in_its_header(client: Client, corpus: None) -> None:
    html = client.get("/").content.decode()
    assert '<form class="slot-search" role="search" action="/search" method="get">' in html
    assert '<input type="search" name="q"' in html


# --- arbitrary input ------------------------------------------------------------------------------------

PARAMETER_NAMES = ["q", "mode", "sort", "author", "category", "from", "to", "page", "format", "limit"]


def encode(value: str) -> str:
    """Percent-encoded UTF-8, lone surrogates included (as a browser could send their bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(PARAMETER_NAMES),
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(["hybrid", "keyword", "vector", "newest", "json", "0", "-1", "10**9", "1e9"]),
            st.integers(min_value=-(10**12), max_value=10**12).map(str),
            st.text(alphabet='"-*:^()NEARORANDNOTauthorcat.frommto0123456789 \x00\ud800', max_size=40),
        ),
        max_size=6,
    ),
    path=st.sampled_from(["/search", "/api/papers/search", "/api/v1/search"]),
)
def test_arbitrary_parameters_never_answer_5xx(client: Client, corpus: None, params: dict, path: str) -> None:
    query = "&".join(f"{encode(name)}={encode(value)}" for name, value in params.items())
    response = client.get(f"{path}?{query}")
    assert response.status_code < 500, (path, params, response.content[:300])
    assert response.status_code in (200, 400)


def test_paper_page_shows_similar_papers_with_their_options(client: Client, corpus: None) -> None:
    html = client.get("/papers/2501.00001/").content.decode()
    similar = html[html.index('id="similar-heading"'):]
    assert "Carbon devices" in similar
    assert "Graphene transistors" not in similar  # not the paper itself
    narrowed = client.get("/papers/2501.00001/", {"category": "1"}).content.decode()
    assert "No similar papers found." in narrowed
    assert 'name="category" value="1" checked' in narrowed
    newer = client.get("/papers/2501.00002/", {"newer": "1"}).content.decode()
    assert "No similar papers found." in newer[newer.index('id="similar-heading"'):]


def test_the_search_page_offers_its_feeds(client, corpus, settings) -> None:
    response = client.get("/search", {"q": 'graphene "carbon"', "category": "cs.ET"})
    html = response.content.decode()
    for feed_format, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml")):
        url = f"{settings.BASE_URL}/feeds/search.{feed_format}?q=graphene+%22carbon%22&amp;category=cs.ET"
        assert f'<link rel="alternate" type="{mime}"' in html and f'href="{url}"' in html
    assert "Follow this search" in html
