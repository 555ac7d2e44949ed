"""Signed links that stand in for a password: confirm a subscription, edit preferences, unsubscribe.

Rule: a token is signed with the secret key, salted per purpose, and names the subscriber and their
token_version; bumping token_version revokes every link issued so far. Confirmation links also carry the
confirm_nonce (cleared on use, so a link works once) and expire after CONFIRMATION_MAX_AGE. Every URL is
absolute from settings.BASE_URL, never from the Host header.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.core import signing
from django.urls import reverse

from broadsheet.digest.models import Subscriber

Purpose = Literal["confirm", "preferences", "unsubscribe"]
PURPOSES: tuple[Purpose, ...] = ("confirm", "preferences", "unsubscribe")
CONFIRMATION_MAX_AGE = timedelta(hours=72)


class TokenError(Exception):
    """A link that cannot be honoured. `reason` is one of: invalid, expired, used, revoked."""

    MESSAGES = {
        "invalid": "This link is not valid: it may have been copied incompletely or altered.",
        "expired": "This confirmation link has expired: links are valid for 72 hours. "
        "Subscribe again to get a new one.",
        "used": "This confirmation link has already been used.",
        "revoked": "This link is no longer valid: a newer link replaced it.",
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


def signer_for(purpose: Purpose) -> signing.Signer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose: {purpose!r}")
    # a distinct salt per purpose: an unsubscribe token can never be replayed as a confirmation
    return signing.Signer(salt=f"broadsheet.digest.tokens.{purpose}")


def make_token(subscriber: Subscriber, purpose: Purpose, now: datetime | None = None) -> str:
    """The signed token for `subscriber` and `purpose`; confirmation tokens carry `now` as issue time."""
    payload: dict[str, object] = {"s": subscriber.pk, "v": subscriber.token_version}
    if purpose == "confirm":
        if not subscriber.confirm_nonce:
            subscriber.confirm_nonce = secrets.token_urlsafe(16)
            subscriber.save(update_fields=["confirm_nonce"])
        payload["n"] = subscriber.confirm_nonce
        payload["t"] = int((now or datetime.now(UTC)).timestamp())
    return signer_for(purpose).sign_object(payload, compress=True)


def read_token(token: str, purpose: Purpose, now: datetime | None = None) -> Subscriber:
    """The subscriber a token names; TokenError when it is tampered, expired, used or revoked."""
    try:
        payload = signer_for(purpose).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeError):
        raise TokenError("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise TokenError("invalid")
    subscriber = Subscriber.objects.filter(pk=payload["s"]).first()
    if subscriber is None:
        raise TokenError("invalid")
    if payload.get("v") != subscriber.token_version:
        raise TokenError("revoked")
    if purpose == "confirm":
        issued_at = payload.get("t")
        if not isinstance(issued_at, int):
            raise TokenError("invalid")
        current = now or datetime.now(UTC)
        if current - datetime.fromtimestamp(issued_at, UTC) > CONFIRMATION_MAX_AGE:
            raise TokenError("expired")
        nonce = payload.get("n")
        if not subscriber.confirm_nonce or not isinstance(nonce, str):
            raise TokenError("used")
        if not secrets.compare_digest(nonce, subscriber.confirm_nonce):
            # a newer confirmation email replaced this one's nonce
            raise TokenError("revoked")
    return subscriber


def absolute_url(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def confirmation_url(subscriber: Subscriber, now: datetime | None = None) -> str:
    """The double opt-in link (valid 72 h, once). Sets a confirm_nonce if the subscriber has none."""
    token = make_token(subscriber, "confirm", now)
    return absolute_url(reverse("digest:confirm", args=[token]))


def preferences_url(subscriber: Subscriber) -> str:
    return absolute_url(reverse("digest:preferences", args=[make_token(subscriber, "preferences")]))


def unsubscribe_url(subscriber: Subscriber) -> str:
    """The unsubscribe page: GET shows a confirmation button, its CSRF-protected POST unsubscribes."""
    return absolute_url(reverse("digest:unsubscribe", args=[make_token(subscriber, "unsubscribe")]))


def one_click_unsubscribe_url(subscriber: Subscriber) -> str:
    """What List-Unsubscribe carries: RFC 8058 one-click POST unsubscribes; GET shows the page."""
    return absolute_url(reverse("digest:unsubscribe-one-click", args=[make_token(subscriber, "unsubscribe")]))


def revoke_tokens(subscriber: Subscriber) -> None:
    """Kill every preferences/unsubscribe/confirmation link issued to `subscriber` so far."""
    subscriber.token_version += 1
    subscriber.save(update_fields=["token_version"])
