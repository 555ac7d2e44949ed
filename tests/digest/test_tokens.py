"""Signed digest links: absolute from BASE_URL, bound to one purpose, expiring (confirmation), single-use
(confirmation) and revocable (token_version); anything else is refused with a TokenError naming why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing

from broadsheet.digest.subscriptions import confirm_subscription
from broadsheet.digest.tokens import (
    TokenError,
    confirmation_url,
    make_token,
    one_click_unsubscribe_url,
    preferences_url,
    read_token,
    revoke_tokens,
    unsubscribe_url,
)

from .conftest import NOW

BASE_URL = "https://papers.example.org"

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber(make_subscriber: Callable[..., Any], settings: Any) -> Any:
    settings.BASE_URL = BASE_URL
    return make_subscriber("reader@example.org")


def token_of(url: str, suffix: str = "/") -> str:
    """The token segment of a digest URL (…/<token>/ or …/<token>/one-click/)."""
    return url.removesuffix(suffix).rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("build", "prefix", "suffix", "purpose"),
    [
        (preferences_url, f"{BASE_URL}/digest/preferences/", "/", "preferences"),
        (unsubscribe_url, f"{BASE_URL}/digest/unsubscribe/", "/", "unsubscribe"),
        (one_click_unsubscribe_url, f"{BASE_URL}/digest/unsubscribe/", "/one-click/", "unsubscribe"),
    ],
)
def test_links_are_absolute_from_base_url_and_name_their_subscriber(
    subscriber: Any, build: Callable[[Any], str], prefix: str, suffix: str, purpose: Any
) -> None:
    url = build(subscriber)
    assert url.startswith(prefix)
    assert url.endswith(suffix)
    assert read_token(token_of(url, suffix), purpose) == subscriber


def test_confirmation_link_is_absolute_and_sets_a_nonce(subscriber: Any) -> None:
    subscriber.confirm_nonce = ""
    subscriber.save()
    url = confirmation_url(subscriber, NOW)
    assert url.startswith(f"{BASE_URL}/digest/confirm/")
    subscriber.refresh_from_db()
    assert len(subscriber.confirm_nonce) >= 16
    assert read_token(token_of(url), "confirm", NOW) == subscriber


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(hours=71, minutes=59), True),
        (timedelta(hours=72), True),
        (timedelta(hours=72, seconds=1), False),
        (timedelta(days=30), False),
    ],
)
def test_confirmation_link_expires_after_72_hours(subscriber: Any, age: timedelta, accepted: bool) -> None:
    token = make_token(subscriber, "confirm", NOW)
    if accepted:
        assert read_token(token, "confirm", NOW + age) == subscriber
    else:
        with pytest.raises(TokenError) as caught:
            read_token(token, "confirm", NOW + age)
        assert caught.value.reason == "expired"
        assert "72 hours" in str(caught.value)


def test_confirmation_link_works_once(subscriber: Any) -> None:
    token = make_token(subscriber, "confirm", NOW)
    confirm_subscription(read_token(token, "confirm", NOW), NOW)
    with pytest.raises(TokenError) as caught:
        read_token(token, "confirm", NOW)
    assert caught.value.reason == "used"


def test_preference_and_unsubscribe_links_do_not_expire(subscriber: Any) -> None:
    preferences = make_token(subscriber, "preferences")
    unsubscribe = make_token(subscriber, "unsubscribe")
    years_later = NOW + timedelta(days=3650)
    assert read_token(preferences, "preferences", years_later) == subscriber
    assert read_token(unsubscribe, "unsubscribe", years_later) == subscriber


@pytest.mark.parametrize("purpose", ["confirm", "preferences", "unsubscribe"])
def test_bumping_token_version_revokes_every_link(subscriber: Any, purpose: Any) -> None:
    token = make_token(subscriber, purpose, NOW)
    revoke_tokens(subscriber)
    with pytest.raises(TokenError) as caught:
        read_token(token, purpose, NOW)
    assert caught.value.reason == "revoked"
    assert read_token(make_token(subscriber, purpose, NOW), purpose, NOW) == subscriber


@pytest.mark.parametrize(
    ("made_for", "read_as"),
    [("unsubscribe", "preferences"), ("preferences", "unsubscribe"), ("unsubscribe", "confirm"),
     ("confirm", "preferences")],
)
def test_a_token_is_refused_for_another_purpose(subscriber: Any, made_for: Any, read_as: Any) -> None:
    token = make_token(subscriber, made_for, NOW)
    with pytest.raises(TokenError) as caught:
        read_token(token, read_as, NOW)
    assert caught.value.reason == "invalid"


def flip_last_character(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "tamper",
    [
        flip_last_character,
        lambda token: token[: len(token) // 2],
        lambda token: "x" + token,
        lambda token: token.replace(":", "", 1),
        lambda token: "",
        lambda token: "not-a-token",
    ],
    ids=["flipped-signature", "truncated", "prefixed", "separator-removed", "empty", "garbage"],
)
def test_tampered_tokens_are_invalid(subscriber: Any, tamper: Callable[[str], str]) -> None:
    with pytest.raises(TokenError) as caught:
        read_token(tamper(make_token(subscriber, "preferences")), "preferences")
    assert caught.value.reason == "invalid"


def test_hostile_strings_are_invalid_tokens(subscriber: Any, hostile_string: str) -> None:
    with pytest.raises(TokenError) as caught:
        read_token(hostile_string, "unsubscribe")
    assert caught.value.reason == "invalid"


def test_a_payload_signed_with_another_key_is_invalid(subscriber: Any) -> None:
    forged = signing.Signer(key="another-key", salt="broadsheet.digest.tokens.preferences").sign_object(
        {"s": subscriber.pk, "v": subscriber.token_version}
    )
    with pytest.raises(TokenError) as caught:
        read_token(forged, "preferences")
    assert caught.value.reason == "invalid"


def test_a_token_of_a_deleted_subscriber_is_invalid(subscriber: Any) -> None:
    token = make_token(subscriber, "unsubscribe")
    subscriber.delete()
    with pytest.raises(TokenError) as caught:
        read_token(token, "unsubscribe")
    assert caught.value.reason == "invalid"
