"""`/api/v1`: papers with versions, signals and similar papers; day/week/month lists and trending with their
score components; categories and authors; the same data as the pages' JSON twins; 400s and 404s as JSON."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.test import Client

from .conftest import NOW, arxiv_record

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [paper["id"] for paper in response.json()["papers"]]


def test_paper_has_versions_signals_and_links(client: Client, broadsheet: None) -> None:
    data = client.get("/api/v1/papers/2609.00001", {"similar": "0"}).json()
    assert data["versions"] == [
        {"version": 1, "created_at": "2026-09-04T15:00:00Z", "size": "100kb"},
        {"version": 2, "created_at": "2026-09-04T15:00:00Z", "size": "200kb"},
    ]
    assert data["signals"] == {
        "upvotes": 2,
        "hf_upvotes": 20,
        "num_comments": 3,
        "github_repo": "https://github.com/ada/engine",
        "github_stars": 1234,
        "project_page": "https://engine.example/",
        "ai_summary": "Engines, summarised.",
        "ai_keywords": ["engines", "analysis"],
        "submitted_by": "ada",
        "submitted_on_daily_at": "2026-09-08T00:00:00Z",
    }
    assert data["category_names"] == [
        {"code": "cs.LG", "name": "Machine Learning", "url": f"{settings.BASE_URL}/categories/cs.LG/"},
    ]
    assert (data["url"], data["markdown_url"]) == (
        f"{settings.BASE_URL}/papers/2609.00001/", f"{settings.BASE_URL}/papers/2609.00001.md",
    )
    assert data["similar"] == []


def test_paper_agrees_with_the_paper_pages_json_twin(client: Client, broadsheet: None) -> None:
    api = client.get("/api/v1/papers/hep-th/9901001").json()
    page = client.get("/papers/hep-th/9901001/", {"format": "json"}).json()
    assert {key: api[key] for key in page} == page


def test_paper_lists_similar_papers(client: Client, broadsheet: None) -> None:
    from broadsheet.ingest.upsert import upsert_papers

    upsert_papers([
        arxiv_record("2609.00011", date(2026, 9, 7), title="Analytical engines revisited"),
        arxiv_record("2609.00012", date(2026, 9, 7), title="Analytical engines at scale"),
    ], now=NOW)
    similar = client.get("/api/v1/papers/2609.00001", {"similar": "1"}).json()["similar"]
    assert len(similar) == 1 and similar[0]["id"] in {"2609.00011", "2609.00012"}
    assert set(similar[0]) == {
        "id", "version", "title", "abstract", "authors", "author_count", "categories", "primary_category",
        "announced_on", "submitted_at", "updated_at", "links", "url",
    }


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/api/v1/lists/week", {"period": "2026-W37"}, ["2609.00001", "2609.00002", "2609.00003"]),
        ("/api/v1/lists/week", {"period": "2026-W37", "sort": "published"},
         ["2609.00003", "2609.00002", "2609.00001"]),
        ("/api/v1/lists/week", {"period": "2026-W37", "category": "cs.CL"}, ["2609.00002"]),
        ("/api/v1/lists/week", {"period": "2026-W37", "has_code": "true"}, ["2609.00001"]),
        ("/api/v1/lists/week", {"period": "2026-W37", "per_page": "1", "page": "3"}, ["2609.00003"]),
        ("/api/v1/lists/day", {"period": "2026-09-07"}, ["2609.00001", "2609.00002"]),
        ("/api/v1/lists/day", {}, ["2609.00004"]),
        ("/api/v1/lists/month", {"period": "2026-08"}, ["2608.00005"]),
        ("/api/v1/lists/month", {"period": "2026-07"}, []),
        ("/api/v1/trending", {}, ["2609.00001", "2609.00002"]),
        ("/api/v1/trending", {"category": "cs.CL"}, ["2609.00002"]),
        ("/api/v1/trending", {"has_code": "1"}, ["2609.00001"]),
        ("/api/v1/trending", {"per_page": "1", "page": "2"}, ["2609.00002"]),
        ("/api/v1/categories/cs.CL", {}, ["2609.00004", "2609.00002"]),
        ("/api/v1/categories/hep-th", {}, ["hep-th/9901001"]),
    ],
)
def test_lists_order_filter_and_page(
    client: Client, broadsheet: None, path: str, params: dict[str, str], expected: list[str]
) -> None:
    assert ids(client.get(path, params)) == expected


def test_week_list_says_where_it_is(client: Client, broadsheet: None) -> None:
    data = client.get("/api/v1/lists/week", {"period": "2026-W37", "per_page": "2"}).json()
    assert {key: value for key, value in data.items() if key != "papers"} == {
        "kind": "week",
        "period": "2026-W37",
        "label": "Week 37 of 2026",
        "start": "2026-09-07",
        "end": "2026-09-13",
        "prev_period": "2026-W36",
        "next_period": "2026-W38",
        "page": 1,
        "prev_page": None,
        "next_page": 2,
        "page_count": 2,
        "paper_count": 3,
    }


def test_trending_entries_carry_their_score_components(client: Client, broadsheet: None) -> None:
    first = client.get("/api/v1/trending").json()["papers"][0]
    trending = first.pop("trending")
    assert trending["score"] > 0 and trending["age_hours"] > 0
    assert {key: trending[key] for key in (
        "points", "upvotes", "hf_upvotes", "views_week", "stars_gained_week", "computed_at",
    )} == {
        "points": 22.0, "upvotes": 2, "hf_upvotes": 20, "views_week": 0, "stars_gained_week": 0,
        "computed_at": "2026-09-15T00:00:00Z",
    }
    assert (first["id"], first["has_code"], first["signals"]["upvotes"]) == ("2609.00001", True, 2)


def test_categories_count_their_papers(client: Client, broadsheet: None) -> None:
    assert [(item["code"], item["paper_count"]) for item in client.get("/api/v1/categories").json()] == [
        ("cs.CL", 2), ("cs.LG", 3), ("hep-th", 1), ("q-bio.BM", 1),
    ]


def test_author_lists_their_papers(client: Client, broadsheet: None) -> None:
    from broadsheet.papers.models import Author

    grace = Author.objects.get(name="Grace Hopper").pk
    data = client.get(f"/api/v1/authors/{grace}").json()
    assert data["author"] == {
        "id": grace, "name": "Grace Hopper", "url": f"{settings.BASE_URL}/authors/{grace}/",
    }
    assert [paper["id"] for paper in data["papers"]] == ["2609.00003", "2609.00001"]
    assert (data["paper_count"], data["page_count"]) == (2, 1)


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/api/v1/papers/2609.99999", {}, 404, "paper 2609.99999 is not in this Broadsheet"),
        ("/api/v1/papers/2609.00001", {"similar": "51"}, 400,
         "similar: Input should be less than or equal to 50"),
        ("/api/v1/lists/year", {}, 400, "kind: Input should be 'day', 'week' or 'month'"),
        ("/api/v1/lists/week", {"period": "2026-09"}, 400,
         "period: '2026-09' is not a week: expected YYYY-Www, e.g. 2025-W39"),
        ("/api/v1/lists/week", {"period": "2026-W37", "page": "2"}, 404, "page 2 is past the last page (1)"),
        ("/api/v1/lists/week", {"sort": "random"}, 400, "sort: Input should be 'trending' or 'published'"),
        ("/api/v1/lists/week", {"category": "a;b"}, 400, "not an arXiv category: 'a;b'"),
        ("/api/v1/lists/week", {"per_page": "101"}, 400,
         "per_page: Input should be less than or equal to 100"),
        ("/api/v1/trending", {"page": "3"}, 404, "page 3 is past the last page (1)"),
        ("/api/v1/trending", {"has_code": "maybe"}, 400, "has_code: Input should be a valid boolean"),
        ("/api/v1/categories/xx.YY", {}, 404, "no category 'xx.YY'"),
        ("/api/v1/categories/cs.CL", {"page": "2"}, 404, "page 2 is past the last page"),
        ("/api/v1/authors/999999", {}, 404, "no author 999999"),
        ("/api/v1/authors/ada", {}, 404, "no such API endpoint; see /api/docs"),
        ("/api/v1/categories/a%00b", {}, 400, "the address contains a NUL character (%00)"),
        ("/api/v1/authors/99999999999999999999999", {}, 404, "no author 99999999999999999999999"),
    ],
)
def test_errors_are_json_that_says_what_is_wrong(
    client: Client, broadsheet: None, path: str, params: dict[str, str], status: int, error: str
) -> None:
    response = client.get(path, params)
    assert response.status_code == status
    assert error in response.json()["error"]


def test_openapi_schema_lists_every_endpoint(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}",
        "/api/v1/papers/{arxiv_id}", "/api/v1/lists/{kind}", "/api/v1/trending", "/api/v1/categories",
        "/api/v1/categories/{code}", "/api/v1/authors/{author_id}", "/api/v1/search",
    }
    trending = schema["components"]["schemas"]["TrendingOut"]["properties"]
    assert set(trending) == {
        "score", "points", "upvotes", "hf_upvotes", "views_week", "stars_gained_week", "age_hours",
        "computed_at",
    }
