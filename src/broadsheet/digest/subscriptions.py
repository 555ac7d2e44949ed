"""Subscribing (double opt-in), confirming, unsubscribing and suppressing addresses.

Rule: asking to subscribe looks the same from outside whatever the address's state: the caller always
shows one answer, and an email goes out (a confirmation, or a note with the preferences link to an
address already subscribed) unless the address is suppressed or has had MAX_CONFIRMATIONS_PER_DAY today.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from broadsheet.digest.models import ConfirmationEmail, Subscriber, SuppressedAddress
from broadsheet.digest.tokens import confirmation_url, preferences_url, unsubscribe_url

logger = logging.getLogger(__name__)

MAX_CONFIRMATIONS_PER_DAY = 3
CONFIRMATION_WINDOW = timedelta(days=1)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_or_create_subscriber(email: str, now: datetime) -> Subscriber:
    """The row for `email`, created pending if new; two requests racing on one address share a row."""
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is not None:
        return subscriber
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, created_at=now, status=Subscriber.Status.PENDING)
    except IntegrityError:
        return Subscriber.objects.get(email=email)


def request_subscription(email: str, now: datetime) -> str:
    """Start a double opt-in for `email`; returns what was done, for logs and tests, never for the page.

    One of: "confirmation" (link sent), "reminder" (already active: preferences link sent),
    "suppressed" (nothing sent), "rate_limited" (nothing sent: the day's emails are used up).
    """
    email = normalize_email(email)
    if SuppressedAddress.objects.filter(email=email).exists():
        return "suppressed"
    subscriber = find_or_create_subscriber(email, now)
    with transaction.atomic():
        # the row lock makes concurrent requests for one address count one after another
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            return "suppressed"
        recent = ConfirmationEmail.objects.filter(email=email, sent_at__gt=now - CONFIRMATION_WINDOW)
        sent_today = recent.count()
        if sent_today >= MAX_CONFIRMATIONS_PER_DAY:
            return "rate_limited"
        ConfirmationEmail.objects.create(email=email, sent_at=now)
        if subscriber.status != Subscriber.Status.ACTIVE and not subscriber.confirm_nonce:
            # set under the row lock: two racing requests must not each replace the other's link
            subscriber.confirm_nonce = secrets.token_urlsafe(16)
            subscriber.save(update_fields=["confirm_nonce"])
    if subscriber.status == Subscriber.Status.ACTIVE:
        outcome = "reminder"
        context = {"subscriber": subscriber, "preferences_url": preferences_url(subscriber),
                   "unsubscribe_url": unsubscribe_url(subscriber)}
    else:
        outcome = "confirmation"
        context = {"subscriber": subscriber, "confirmation_url": confirmation_url(subscriber, now)}
    send_account_email(subscriber.email, f"digest/email/{outcome}", context)
    return outcome


def send_account_email(to: str, template_stem: str, context: dict[str, Any]) -> bool:
    """One plain-text message from `<stem>_subject.txt` and `<stem>_body.txt`; False if the server refused.

    A failure is logged, not raised: the page answers the same whether or not the mail went out.
    """
    context = {**context, "BASE_URL": settings.BASE_URL}
    subject = " ".join(render_to_string(f"{template_stem}_subject.txt", context).split())
    body = render_to_string(f"{template_stem}_body.txt", context)
    message = EmailMessage(subject, body, to=[to], headers={"Auto-Submitted": "auto-generated"})
    try:
        message.send()
    except Exception:  # SMTP, DNS or disk: any of them must not change the page
        logger.exception("could not send %s to a subscriber", template_stem)
        return False
    return True


def confirm_subscription(subscriber: Subscriber, now: datetime) -> Subscriber:
    """Activate a subscriber whose confirmation link was followed; the link dies with its nonce."""
    subscriber.status = Subscriber.Status.ACTIVE
    subscriber.confirmed_at = now
    subscriber.unsubscribed_at = None
    subscriber.confirm_nonce = ""
    subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "confirm_nonce"])
    return subscriber


def subscribe_user(user: Any, now: datetime) -> Subscriber:
    """One-click subscription of a signed-in reader's address: signing in by email proved it is theirs.

    An old suppression of that address is lifted: the reader has just received mail there and asked.
    """
    email = normalize_email(user.email or "")
    if not email:
        raise ValueError("the account has no email address")
    SuppressedAddress.objects.filter(email=email).delete()
    subscriber = find_or_create_subscriber(email, now)
    subscriber.user = user
    if subscriber.status != Subscriber.Status.ACTIVE:
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
    subscriber.confirm_nonce = ""
    subscriber.save(update_fields=["user", "status", "confirmed_at", "unsubscribed_at", "confirm_nonce"])
    return subscriber


def subscriber_for_user(user: Any) -> Subscriber | None:
    """The subscription of a signed-in reader: linked to the account, or under the account's address."""
    if not getattr(user, "is_authenticated", False):
        return None
    linked = Subscriber.objects.filter(user=user).order_by("-pk").first()
    if linked is not None:
        return linked
    email = normalize_email(user.email or "")
    return Subscriber.objects.filter(email=email).first() if email else None


def unsubscribe(subscriber: Subscriber, now: datetime) -> Subscriber:
    """Stop every digest to `subscriber`. Idempotent: the first unsubscribed_at is kept."""
    fields = ["confirm_nonce"]
    subscriber.confirm_nonce = ""  # an unconfirmed signup's link must not re-activate it
    if subscriber.status not in {Subscriber.Status.SUPPRESSED, Subscriber.Status.UNSUBSCRIBED}:
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        fields.append("status")
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
        fields.append("unsubscribed_at")
    subscriber.save(update_fields=fields)
    return subscriber


def resubscribe(subscriber: Subscriber, now: datetime) -> Subscriber:
    """Undo an unsubscribe from the preferences page: its token proves the address, as a confirmation does."""
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.unsubscribed_at = None
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.save(update_fields=["status", "unsubscribed_at", "confirmed_at"])
    return subscriber


def suppress_address(email: str, reason: str, now: datetime) -> None:
    """Never mail `email` again (hard bounce, complaint): a suppression row and a suppressed subscriber."""
    email = normalize_email(email)
    try:
        with transaction.atomic():
            SuppressedAddress.objects.get_or_create(
                email=email, defaults={"reason": reason, "created_at": now}
            )
    except IntegrityError:
        pass  # another request suppressed it at the same moment
    Subscriber.objects.filter(email=email).update(status=Subscriber.Status.SUPPRESSED)
