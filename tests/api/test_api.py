"""The JSON API: Hugging Face Papers-shaped search (read by the real huggingface_hub client), /api/v1/search
with every parameter, 400s that say what to change, and the OpenAPI schema and docs served offline."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from broadsheet.ingest.upsert import upsert_papers
from search.corpus import CORPUS, INGESTED_AT, record  # tests/search/corpus.py

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> None:
    upsert_papers(CORPUS, now=INGESTED_AT)


def test_hf_search_answers_in_the_hugging_face_papers_shape(client: Client, corpus: None) -> None:
    response = client.get("/api/papers/search", {"q": "graphene transistors", "limit": "1"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "paper": {
                "id": "2501.00001",
                "authors": [
                    {"name": "Ada Lovelace", "hidden": False}, {"name": "Grace Hopper", "hidden": False},
                ],
                "publishedAt": "2025-01-06T00:00:00.000Z",
                "submittedOnDailyAt": None,
                "title": "Graphene transistors",
                "summary": "Devices built from carbon sheets switch at room temperature.",
                "upvotes": 0,
                "submittedOnDailyBy": None,
                "projectPage": None,
                "githubRepo": None,
                "githubStars": None,
                "ai_summary": None,
                "ai_keywords": [],
                "organization": None,
            },
            "publishedAt": "2025-01-06T00:00:00.000Z",
            "title": "Graphene transistors",
            "summary": "Devices built from carbon sheets switch at room temperature.",
            "numComments": 0,
            "submittedBy": None,
            "organization": None,
            "isAuthorParticipating": False,
        }
    ]


def test_hf_search_lists_every_author_not_only_a_cards_worth(client: Client) -> None:
    names = [f"Author Number{index}" for index in range(12)]
    crowd = record("2508.00001", "Graphene crowd", "Many hands.", authors=tuple(names))
    upsert_papers([crowd], now=INGESTED_AT)
    item = client.get("/api/papers/search", {"q": "graphene"}).json()[0]
    assert [author["name"] for author in item["paper"]["authors"]] == names


@pytest.mark.parametrize(("limit", "count"), [("1", 1), ("0", 1), ("-5", 1), ("1000000000", 2)])
def test_hf_search_clamps_the_limit(client: Client, corpus: None, limit: str, count: int) -> None:
    response = client.get("/api/papers/search", {"q": "graphene", "limit": limit})
    assert response.status_code == 200
    assert len(response.json()) == count


def test_huggingface_hub_reads_the_hf_search(live_server, corpus: None) -> None:
    import huggingface_hub
    api = huggingface_hub.HfApi(endpoint=live_server.url, token=False)
    papers = list(api.list_papers(query="graphene"))
    assert [paper.id for paper in papers] == ["2501.00001", "2501.00002"]
    first = papers[0]
    assert first.title == "Graphene transistors"
    assert [author.name for author in first.authors or []] == ["Ada Lovelace", "Grace Hopper"]
    assert first.published_at is not None and first.published_at.date() == date(2025, 1, 6)
    assert (first.summary or "").startswith("Devices built")


def test_v1_search_takes_every_parameter(client: Client, corpus: None) -> None:
    response = client.get("/api/v1/search", {
        "q": "graphene", "mode": "keyword", "sort": "newest", "author": "Hopper", "category": "cond-mat",
        "from": "2025-01", "to": "2025-12-31", "limit": "1", "offset": "0",
    })
    assert response.status_code == 200
    data = response.json()
    assert {key: data[key] for key in ("query", "mode", "sort", "offset", "limit", "has_more")} == {
        "query": "graphene", "mode": "keyword", "sort": "newest", "offset": 0, "limit": 1, "has_more": True,
    }
    assert [item["id"] for item in data["results"]] == ["2501.00002"]
    item = data["results"][0]
    assert item["snippet_html"] == (
        "We study <mark>graphene</mark> ribbons and their electronic structure under strain."
    )
    assert item["categories"] == ["cond-mat.mtrl-sci"]
    second = client.get("/api/v1/search", {"q": "graphene", "mode": "keyword", "sort": "newest",
                                           "author": "Hopper", "limit": "1", "offset": "1"}).json()
    assert [item["id"] for item in second["results"]] == ["2501.00001"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "1000000000"}, "limit: Input should be less than or equal to 100"),
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": "ten"}, "limit: Input should be a valid integer"),
        ({"offset": "-1"}, "offset: Input should be greater than or equal to 0"),
        ({"offset": "995", "limit": "10"}, "results are paged up to the first 1000"),
        ({"mode": "psychic"}, "mode: Input should be 'hybrid', 'keyword' or 'vector'"),
        ({"sort": "random"}, "sort: Input should be 'relevance', 'newest' or 'trending'"),
        ({"from": "yesterday"}, "not a date: 'yesterday'"),
        ({"q": "x" * 1001}, "the query is too long (1001 characters)"),
        ({"q": "from:2025-06 to:2025-01"}, "the date range is empty"),
        ({"category": "a;b"}, "not an arXiv category"),
    ],
)
def test_v1_search_says_what_to_change_with_a_400(
    client: Client, corpus: None, params: dict[str, str], message: str
) -> None:
    response = client.get("/api/v1/search", {"q": "graphene", **params})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_openapi_schema_describes_both_searches(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert {"/api/papers/search", "/api/v1/search"} <= set(schema["paths"])
    hf = schema["paths"]["/api/papers/search"]["get"]
    assert [parameter["name"] for parameter in hf["parameters"]] == ["q", "limit"]
    v1 = schema["paths"]["/api/v1/search"]["get"]
    assert [parameter["name"] for parameter in v1["parameters"]] == [
        "q", "mode", "sort", "author", "category", "from", "to", "limit", "offset",
    ]
    assert "200" in v1["responses"] and "400" in v1["responses"]


def test_docs_page_loads_its_assets_from_this_server(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/static/ninja/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert asset["Content-Type"] in ("text/javascript", "application/javascript")
    assert client.get("/static/ninja/../../settings.py").status_code == 404
    assert client.get("/static/ninja/unknown.js").status_code == 404
