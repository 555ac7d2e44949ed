"""Unsubscribing per RFC 8058: the one-click POST works without cookies, CSRF token or sign-in, answers
200 without a redirect and is idempotent; GET of either URL only shows a page with a CSRF-protected button."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.client import encode_multipart

from broadsheet.digest.tokens import (
    make_token,
    one_click_unsubscribe_url,
    revoke_tokens,
    unsubscribe_url,
)

BASE_URL = "https://papers.example.org"

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber(make_subscriber: Callable[..., Any], settings: Any) -> Any:
    settings.BASE_URL = BASE_URL
    return make_subscriber("reader@example.org")


@pytest.fixture
def one_click_path(subscriber: Any) -> str:
    return one_click_unsubscribe_url(subscriber).removeprefix(BASE_URL)


@pytest.fixture
def page_path(subscriber: Any) -> str:
    return unsubscribe_url(subscriber).removeprefix(BASE_URL)


def state(subscriber: Any) -> tuple[str, Any]:
    subscriber.refresh_from_db()
    return subscriber.status, subscriber.unsubscribed_at


def one_click(client: Client, path: str, encoding: str = "urlencoded") -> Any:
    """A mail provider's RFC 8058 POST: no cookies, no CSRF token, only the one-click body."""
    if encoding == "urlencoded":
        return client.generic("POST", path, "List-Unsubscribe=One-Click",
                              content_type="application/x-www-form-urlencoded")
    boundary = "BoUnDaRy"
    body = encode_multipart(boundary, {"List-Unsubscribe": "One-Click"})
    return client.generic("POST", path, body, content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_without_cookies_or_csrf(
    one_click_path: str, subscriber: Any, encoding: str
) -> None:
    provider = Client(enforce_csrf_checks=True)
    response = one_click(provider, one_click_path, encoding)
    assert response.status_code == 200
    assert "Location" not in response
    assert response.content == b"Unsubscribed.\n"
    assert not response.cookies
    status, unsubscribed_at = state(subscriber)
    assert status == "unsubscribed"
    assert unsubscribed_at is not None


def test_one_click_post_is_idempotent(one_click_path: str, subscriber: Any) -> None:
    provider = Client(enforce_csrf_checks=True)
    assert one_click(provider, one_click_path).status_code == 200
    first = state(subscriber)
    assert [one_click(provider, one_click_path).status_code for _ in range(2)] == [200, 200]
    assert state(subscriber) == first


@pytest.mark.parametrize(
    "body", ["", "List-Unsubscribe=Yes", "list-unsubscribe=one-click", "unsubscribe=1"]
)
def test_a_post_without_the_one_click_body_changes_nothing(one_click_path: str, subscriber: Any,
                                                           body: str) -> None:
    form = "application/x-www-form-urlencoded"
    response = Client().generic("POST", one_click_path, body, content_type=form)
    assert response.status_code == 400
    assert state(subscriber) == ("active", None)


@pytest.mark.parametrize("path_fixture", ["one_click_path", "page_path"])
def test_get_shows_a_button_and_changes_nothing(client: Client, subscriber: Any, path_fixture: str,
                                                request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(path_fixture)
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Stop sending the digest to <strong>reader@example.org</strong>?" in page
        assert f'<form method="post" action="{unsubscribe_url(subscriber).removeprefix(BASE_URL)}">' in page
        assert 'name="csrfmiddlewaretoken"' in page
    assert state(subscriber) == ("active", None)


def test_the_page_button_unsubscribes_with_its_csrf_token(page_path: str, subscriber: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(page_path).status_code == 403  # no token: refused
    assert state(subscriber) == ("active", None)
    page = browser.get(page_path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = browser.post(page_path, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "No more digests go to" in response.content.decode()
    assert state(subscriber)[0] == "unsubscribed"
    assert "already unsubscribed" in browser.get(page_path).content.decode()


def test_unsubscribing_kills_a_pending_confirmation_link(client: Client, one_click_path: str,
                                                         subscriber: Any) -> None:
    confirm_path = f"/digest/confirm/{make_token(subscriber, 'confirm')}/"
    one_click(client, one_click_path)
    assert client.post(confirm_path).status_code == 410
    assert state(subscriber)[0] == "unsubscribed"


def test_a_suppressed_address_stays_suppressed(one_click_path: str, subscriber: Any) -> None:
    subscriber.status = "suppressed"
    subscriber.save()
    assert one_click(Client(), one_click_path).status_code == 200
    assert state(subscriber)[0] == "suppressed"


def test_tampered_and_revoked_links_change_nothing(one_click_path: str, subscriber: Any) -> None:
    tampered = one_click_path.replace("/one-click/", "x/one-click/")
    assert one_click(Client(), tampered).status_code == 400
    revoke_tokens(subscriber)
    response = one_click(Client(), one_click_path)
    assert response.status_code == 410
    assert state(subscriber) == ("active", None)
