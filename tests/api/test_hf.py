"""The Hugging Face-compatible endpoints: the daily-papers item shape, filled from Hugging Face info and
local upvotes; periods, sorts, paging and submitters; 400s that say what to change; paper_info by any
form of arXiv id; 404 and 410 as JSON."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from .conftest import NOW, add_upvotes, arxiv_record

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["paper"]["id"] for item in response.json()]


def test_daily_papers_item_has_the_hugging_face_shape(client: Client, broadsheet: None) -> None:
    response = client.get("/api/daily_papers", {"date": "2026-09-07", "sort": "trending", "limit": "1"})
    assert response.json() == [
        {
            "paper": {
                "id": "2609.00001",
                "authors": [
                    {"name": "Ada Lovelace", "hidden": False}, {"name": "Grace Hopper", "hidden": False},
                ],
                "publishedAt": "2026-09-04T15:00:00.000Z",
                "submittedOnDailyAt": "2026-09-08T00:00:00.000Z",
                "title": "Analytical engines",
                "summary": "The abstract of analytical engines.",
                "upvotes": 22,
                "submittedOnDailyBy": {"name": "ada", "user": "ada", "type": "user"},
                "projectPage": "https://engine.example/",
                "githubRepo": "https://github.com/ada/engine",
                "githubStars": 1234,
                "ai_summary": "Engines, summarised.",
                "ai_keywords": ["engines", "analysis"],
                "organization": {"name": "Analytical Society", "fullname": "Analytical Society"},
            },
            "publishedAt": "2026-09-08T00:00:00.000Z",
            "title": "Analytical engines",
            "summary": "The abstract of analytical engines.",
            "numComments": 3,
            "submittedBy": {"name": "ada", "user": "ada", "type": "user"},
            "organization": {"name": "Analytical Society", "fullname": "Analytical Society"},
            "isAuthorParticipating": False,
        }
    ]


def test_a_paper_never_on_hugging_face_has_empty_hugging_face_fields(
    client: Client, broadsheet: None
) -> None:
    item = client.get("/api/daily_papers", {"date": "2026-09-14"}).json()[0]
    assert item["publishedAt"] == "2026-09-14T00:00:00.000Z"  # its announcement day
    assert {key: item["paper"][key] for key in (
        "submittedOnDailyAt", "upvotes", "submittedOnDailyBy", "projectPage", "githubRepo", "githubStars",
        "ai_summary", "ai_keywords", "organization",
    )} == {
        "submittedOnDailyAt": None, "upvotes": 0, "submittedOnDailyBy": None, "projectPage": None,
        "githubRepo": None, "githubStars": None, "ai_summary": None, "ai_keywords": [], "organization": None,
    }


def test_upvotes_count_readers_here_and_on_hugging_face(client: Client, broadsheet: None) -> None:
    assert client.get("/api/papers/2609.00002").json()["upvotes"] == 5
    add_upvotes("2609.00002", "alan", at=NOW)
    assert client.get("/api/papers/2609.00002").json()["upvotes"] == 6
    add_upvotes("2609.00003", "alan", at=NOW)
    assert client.get("/api/papers/2609.00003").json()["upvotes"] == 1


SEPTEMBER_NEWEST_FIRST = ["2609.00004", "2609.00003", "2609.00002", "2609.00001"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"month": "2026-09"}, SEPTEMBER_NEWEST_FIRST),
        ({"month": "2026-09", "sort": "publishedAt"}, SEPTEMBER_NEWEST_FIRST),
        ({"month": "2026-09", "sort": "trending"}, ["2609.00001", "2609.00002", "2609.00004", "2609.00003"]),
        ({"month": "2026-09", "limit": "2"}, ["2609.00004", "2609.00003"]),
        ({"month": "2026-09", "limit": "2", "p": "1"}, ["2609.00002", "2609.00001"]),
        ({"month": "2026-09", "limit": "2", "p": "2"}, []),  # past the end: empty, as on Hugging Face
        ({"week": "2026-W36"}, ["2608.00005"]),
        ({"week": "2026-W38"}, ["2609.00004"]),
        ({"date": "1999-01-04"}, ["hep-th/9901001"]),
        ({"month": "2026-09", "submitter": "ada"}, ["2609.00001"]),
        ({"month": "2026-09", "submitter": "nobody"}, []),
        ({"month": "2026-09", "submitter": ""}, SEPTEMBER_NEWEST_FIRST),
        ({}, ["2609.00004"]),  # the newest day with papers
    ],
)
def test_daily_papers_periods_sorts_pages_and_submitters(
    client: Client, broadsheet: None, params: dict[str, str], expected: list[str]
) -> None:
    assert ids(client.get("/api/daily_papers", params)) == expected


def test_daily_papers_of_an_empty_broadsheet_is_an_empty_list(client: Client) -> None:
    assert ids(client.get("/api/daily_papers")) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date": "2026-02-30"}, "date: '2026-02-30' is not a date in the calendar"),
        ({"date": "yesterday"}, "date: 'yesterday' is not a day: expected YYYY-MM-DD"),
        ({"date": "9999-12-31"}, "date: '9999-12-31' is the last day a date can hold"),
        ({"week": "2026-W54"}, "week: '2026-W54' is not a week: 2026 has no ISO week 54"),
        ({"month": "2026-13"}, "month: '2026-13' is not a month: months run from 01 to 12"),
        ({"date": "2026-09-07", "week": "2026-W37"}, "give at most one of date, week and month"),
        ({"sort": "upvotes"}, "sort: Input should be 'publishedAt' or 'trending'"),
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": "101"}, "limit: Input should be less than or equal to 100"),
        ({"p": "-1"}, "p: Input should be greater than or equal to 0"),
        ({"p": "1e9"}, "p: Input should be a valid integer"),
        ({"submitter": "ada\x00"}, "the address contains a NUL character (%00)"),  # refused by middleware
        ({"submitter": "ada\x07"}, "submitter: a Hugging Face user name has no control characters"),
    ],
)
def test_daily_papers_says_what_to_change_with_a_400(
    client: Client, broadsheet: None, params: dict[str, str], message: str
) -> None:
    response = client.get("/api/daily_papers", params)
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "expected_id"),
    [
        ("/api/papers/2609.00002", "2609.00002"),
        ("/api/papers/2609.00002v1", "2609.00002"),
        ("/api/papers/arXiv:2609.00002", "2609.00002"),
        ("/api/papers/hep-th/9901001", "hep-th/9901001"),
        ("/api/papers/hep-th/9901001v3", "hep-th/9901001"),
    ],
)
def test_paper_info_takes_every_form_of_an_arxiv_id(
    client: Client, broadsheet: None, path: str, expected_id: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["id"] == expected_id


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/papers/2609.99999", 404, "paper 2609.99999 is not in this Broadsheet"),
        ("/api/papers/not-a-paper", 404, "not an arXiv identifier: 'not-a-paper'"),
        ("/api/papers/2608.00006", 410, "paper 2608.00006 was withdrawn from arXiv"),
    ],
)
def test_paper_info_answers_json_errors(
    client: Client, broadsheet: None, path: str, status: int, error: str
) -> None:
    from broadsheet.ingest.records import PaperRecord
    from broadsheet.ingest.upsert import upsert_papers

    upsert_papers([arxiv_record("2608.00006", date(2026, 8, 31), title="Gone")], now=NOW)
    upsert_papers([PaperRecord("2608.00006", deleted=True, datestamp=date(2026, 9, 1))], now=NOW)
    response = client.get(path)
    assert (response.status_code, response.json()) == (status, {"error": error})
