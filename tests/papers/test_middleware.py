"""Addresses no page can answer: NUL characters anywhere, and dates at the ends of the calendar."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/categories/cs%00AI/",
        "/papers/2501.%0000001/",
        "/search?q=graph%00ene",
        "/api/papers/search?q=%00",
        "/feeds/category/cs.AI%00.rss",
        "/?has_code=%00",
    ],
)
def test_a_nul_character_in_the_address_is_a_clear_400(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    message = "the address contains a NUL character (%00), which no parameter can hold"
    if path.startswith("/api/"):
        assert response.json() == {"error": message}  # the API's error shape
    else:
        assert response.content.decode() == f"Bad request: {message}\n"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/day/9999-12-31/", 404),
        ("/week/9999-W52/", 404),
        ("/month/9999-12/", 404),
        ("/day/0001-01-01/", 200),
        ("/feeds/day/9999-12-31.rss", 404),
        ("/api/daily_papers?date=9999-12-31", 400),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_no_server_error(client, path: str, status: int) -> None:
    assert client.get(path).status_code == status
