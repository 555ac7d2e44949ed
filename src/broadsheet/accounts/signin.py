"""Passwordless sign-in: a one-time link by email, valid SIGNIN_LINK_MINUTES, used at most once.

Rule: asking for a link does the same work whether or not the address has an account (no lookup at
all: the account is made when a link is first used), only the SHA-256 of a token is stored, and the
link is built from settings.BASE_URL, never from the request's Host header.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from broadsheet.accounts.models import SignInToken

SIGNIN_LINK_MINUTES = 15
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
MAX_USERNAME_LENGTH = 150  # django.contrib.auth's username column
MAX_NEXT_LENGTH = 500
TOKEN_BYTES = 32


class InvalidEmail(ValueError):
    """An address that cannot be an email address; the message says why, for the form."""


def normalize_email(raw: str) -> str:
    """One spelling per mailbox: trimmed, NFKC, lower case, the domain as IDNA ASCII.

    Local parts are case-sensitive in theory and never in practice; folding them keeps one person
    from getting two accounts. Raises InvalidEmail for anything a mail server would not take.
    """
    text = unicodedata.normalize("NFKC", raw.strip())
    if not text:
        raise InvalidEmail("Enter your email address.")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"An email address has at most {MAX_EMAIL_LENGTH} characters.")
    if any(unicodedata.category(char)[0] in {"C", "Z"} for char in text):
        raise InvalidEmail("An email address has no spaces or control characters.")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("Enter a valid email address, like name@example.org.")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidEmail("Enter a valid email address, like name@example.org.") from exc
    address = f"{local}@{ascii_domain}".lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvalidEmail("Enter a valid email address, like name@example.org.") from exc
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"An email address has at most {MAX_EMAIL_LENGTH} characters.")
    return address


def username_for(email: str) -> str:
    """The username of the account of a normalised `email`: the address itself, or for addresses longer
    than the username column, a stable name derived from it."""
    if len(email) <= MAX_USERNAME_LENGTH:
        return email
    return "email-" + hashlib.sha256(email.encode()).hexdigest()


def safe_next(raw: str | None) -> str:
    """`raw` when it is a path on this site (`/...`, not `//host`), else ""."""
    if not raw or len(raw) > MAX_NEXT_LENGTH or not raw.startswith("/") or raw.startswith("//"):
        return ""
    if "\\" in raw or any(unicodedata.category(char)[0] == "C" for char in raw):
        return ""
    if not url_has_allowed_host_and_scheme(raw, allowed_hosts=None):
        return ""
    return raw


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def signin_link(token: str) -> str:
    return settings.BASE_URL + reverse("accounts:signin-link", args=[token])


@dataclass(frozen=True)
class IssuedLink:
    token: str
    url: str
    expires_at: datetime


def issue_signin_link(email: str, next_path: str, now: datetime) -> IssuedLink:
    """Store a new token for normalised `email` and return its link (not yet sent)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(minutes=SIGNIN_LINK_MINUTES)
    SignInToken.objects.create(
        email=email,
        token_hash=hash_token(token),
        next_path=safe_next(next_path),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedLink(token=token, url=signin_link(token), expires_at=expires_at)


def send_signin_email(email: str, link: IssuedLink) -> None:
    """The sign-in email, through Django's configured backend (SMTP or the .eml outbox)."""
    site = settings.BASE_URL
    body = (
        f"Open this link to sign in to Broadsheet at {site}:\n\n"
        f"{link.url}\n\n"
        f"It works once, for {SIGNIN_LINK_MINUTES} minutes. If you did not ask to sign in, ignore this "
        "email: nobody can sign in without the link.\n"
    )
    EmailMessage(subject="Your Broadsheet sign-in link", body=body, to=[email]).send()


def find_usable_token(token: str, now: datetime) -> SignInToken | None:
    """The unused, unexpired token row for `token`, without using it up (the confirmation page)."""
    if not token or len(token) > 100:
        return None
    return SignInToken.objects.filter(
        token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=now
    ).first()


def redeem_token(token: str, now: datetime) -> SignInToken | None:
    """Use up `token`: the row when this call was the one that used it, else None (unknown, expired,
    or already used, also by a concurrent request)."""
    row = find_usable_token(token, now)
    if row is None:
        return None
    claimed = SignInToken.objects.filter(pk=row.pk, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if claimed != 1:
        return None
    row.used_at = now
    return row


def user_for_email(email: str) -> Any:
    """The account of normalised `email`, made on first sign-in."""
    user_model = get_user_model()
    username = username_for(email)
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = user_model(username=username, email=email)
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:  # two first sign-ins at once
        return user_model.objects.get(username=username)


def purge_signin_tokens(now: datetime) -> int:
    """Delete tokens that can no longer be used; returns how many."""
    deleted, _ = SignInToken.objects.filter(expires_at__lte=now).delete()
    return deleted
