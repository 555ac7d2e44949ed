"""Arbitrary paths and parameters on every new API endpoint answer 200, 400, 404 or 410 — never a 5xx
(search endpoints are fuzzed with the search pages in tests/search/test_views.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

PARAMETER_NAMES = [
    "p", "limit", "date", "week", "month", "submitter", "sort", "q", "period", "category", "has_code", "page",
    "per_page", "similar", "similar_newer", "similar_category",
]
ENDPOINTS = [
    "/api/daily_papers",
    "/api/papers/{}",
    "/papers/{}.md",
    "/api/v1/papers/{}",
    "/api/v1/lists/{}",
    "/api/v1/trending",
    "/api/v1/categories",
    "/api/v1/categories/{}",
    "/api/v1/authors/{}",
]
SEGMENTS = [
    "2609.00001", "2609.00001v9", "hep-th/9901001", "arXiv:2609.00002", "day", "week", "month", "cs.CL",
    "hep-th", "1", "0", "-1", "99999999999999999999", "search",
]
VALUES = [
    "2026-09-07", "2026-W37", "2026-09", "9999-12-31", "9999-W52", "0001-01-01", "0000-W01", "9999-12",
    "trending", "publishedAt", "published", "true", "false", "0", "-1", "100", "101", "1e9", "ada", "cs.CL",
]


def encode(value: str) -> str:
    """Percent-encoded UTF-8, lone surrogates included (as a client could send their bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def encode_path(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="/:")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    segment=st.one_of(st.sampled_from(SEGMENTS), st.text(max_size=30).filter(lambda text: text.strip("/"))),
    params=st.dictionaries(
        st.sampled_from(PARAMETER_NAMES),
        st.one_of(
            st.sampled_from(VALUES),
            st.text(max_size=40),
            st.integers(min_value=-(10**20), max_value=10**20).map(str),
            st.text(alphabet="0123456789-W:.\x00\ud800 ", max_size=12),
        ),
        max_size=5,
    ),
)
def test_arbitrary_requests_never_answer_5xx(
    client: Client, broadsheet: None, endpoint: str, segment: str, params: dict[str, str]
) -> None:
    path = endpoint.format(encode_path(segment))
    query = "&".join(f"{encode(name)}={encode(value)}" for name, value in params.items())
    response = client.get(f"{path}?{query}")
    assert response.status_code in (200, 301, 400, 404, 410), (path, params, response.content[:300])
    if response.status_code in (400, 404, 410) and path.startswith("/api/"):
        assert response.json()["error"]
