"""Bounce and complaint webhook: an email service tells us which addresses to stop mailing.

Rule: nothing is read before the HMAC-SHA256 signature checks out (constant-time compare against the
shared secret BROADSHEET_BOUNCE_WEBHOOK_SECRET); each event is applied once, by its id; a hard bounce or
a complaint suppresses the address, a soft bounce is only recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from broadsheet.digest.models import WebhookEvent
from broadsheet.digest.subscriptions import normalize_email, suppress_address

SIGNATURE_HEADER = "X-Broadsheet-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_EVENT_ID_CHARS = 200


class PayloadError(ValueError):
    """A signed body that is not an event we understand; the message says which field is wrong."""


@dataclass(frozen=True)
class BounceEvent:
    event_id: str  # namespaced by format ("mailgun:...") so two formats' ids never collide
    kind: str  # hard_bounce | soft_bounce | complaint
    email: str

    @property
    def suppresses(self) -> bool:
        return self.kind in {"hard_bounce", "complaint"}


def webhook_secret() -> str:
    return str(settings.ENV.get("BROADSHEET_BOUNCE_WEBHOOK_SECRET", ""))


def sign_body(body: bytes, secret: str) -> str:
    """The signature header value for `body`: what a sender computes, and what the check recomputes."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str, secret: str) -> bool:
    return hmac.compare_digest(sign_body(body, secret).encode(), header.strip().lower().encode())


def mailgun_signature_matches(signature: Any, secret: str) -> bool:
    """Mailgun signs timestamp + token with the webhook signing key (HMAC-SHA256, hex)."""
    if not isinstance(signature, dict):
        return False
    timestamp, token, digest = (signature.get(key) for key in ("timestamp", "token", "signature"))
    if not all(isinstance(value, str | int) for value in (timestamp, token, digest)):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), str(digest).lower().encode())


def clean_event_email(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) > 254:
        raise PayloadError("email: expected an email address")
    email = normalize_email(raw)
    try:
        validate_email(email)
    except ValidationError:
        raise PayloadError("email: expected an email address") from None
    return email


def clean_event_id(raw: Any, namespace: str) -> str:
    if not isinstance(raw, str | int) or not str(raw).strip() or len(str(raw)) > MAX_EVENT_ID_CHARS:
        raise PayloadError(f"event id: expected a non-empty string, at most {MAX_EVENT_ID_CHARS} characters")
    return f"{namespace}:{str(raw).strip()}"


def parse_broadsheet_event(data: dict[str, Any]) -> BounceEvent:
    """{"event_id": "...", "type": "bounce" | "complaint", "email": "...", "bounce": "hard" | "soft"}."""
    kind = data.get("type")
    if kind == "complaint":
        resolved = "complaint"
    elif kind == "bounce":
        severity = data.get("bounce", "hard")
        if severity not in {"hard", "soft"}:
            raise PayloadError('bounce: expected "hard" or "soft"')
        resolved = f"{severity}_bounce"
    else:
        raise PayloadError('type: expected "bounce" or "complaint"')
    return BounceEvent(clean_event_id(data.get("event_id"), "broadsheet"), resolved,
                       clean_event_email(data.get("email")))


def parse_mailgun_event(event: Any) -> BounceEvent:
    """Mailgun's `event-data`: `failed` (severity permanent/temporary) or `complained`."""
    if not isinstance(event, dict):
        raise PayloadError("event-data: expected an object")
    name = event.get("event")
    if name == "complained":
        kind = "complaint"
    elif name == "failed":
        kind = "hard_bounce" if event.get("severity") == "permanent" else "soft_bounce"
    else:
        raise PayloadError('event: expected "failed" or "complained"')
    event_id = clean_event_id(event.get("id"), "mailgun")
    return BounceEvent(event_id, kind, clean_event_email(event.get("recipient")))


def apply_event(event: BounceEvent, now: datetime) -> str:
    """Record and apply one event; "duplicate" when its id was seen before (nothing changes then)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    event_id=event.event_id,
                    kind=event.kind,
                    email=event.email,
                    received_at=now,
                    payload={"kind": event.kind, "email": event.email},
                )
        except IntegrityError:
            return "duplicate"
        if not event.suppresses:
            return "recorded"
        suppress_address(event.email, "complaint" if event.kind == "complaint" else "bounce", now)
        return "suppressed"


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # a server-to-server call, authenticated by its signature instead of a session
@require_POST
def bounce_webhook(request: HttpRequest) -> JsonResponse:
    secret = webhook_secret()
    if not secret:
        return error(403, "the bounce webhook is disabled: BROADSHEET_BOUNCE_WEBHOOK_SECRET is not set")
    body = request.body
    header = request.headers.get(SIGNATURE_HEADER, "")
    data: Any = None
    if header:
        if not signature_matches(body, header, secret):
            return error(403, f"{SIGNATURE_HEADER} does not match the body")
    else:
        # Mailgun carries its signature inside the body: parse, then verify before using anything else
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error(401, f"missing {SIGNATURE_HEADER} header")
        if not isinstance(data, dict) or "signature" not in data:
            return error(401, f"missing {SIGNATURE_HEADER} header")
        if not mailgun_signature_matches(data["signature"], secret):
            return error(403, "the Mailgun signature does not match")
    try:
        if data is None:
            data = json.loads(body)
        if not isinstance(data, dict):
            raise PayloadError("expected a JSON object")
        if "event-data" in data:
            event = parse_mailgun_event(data["event-data"])
        else:
            event = parse_broadsheet_event(data)
    except (ValueError, UnicodeDecodeError) as exc:
        message = str(exc) if isinstance(exc, PayloadError) else "the body is not JSON"
        return error(400, message)
    outcome = apply_event(event, timezone.now())
    return JsonResponse({"status": outcome, "event_id": event.event_id})
