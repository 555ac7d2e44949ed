"""The bounce/complaint webhook: HMAC-SHA256 signed bodies only, each event applied once by its id, a hard
bounce or complaint suppresses the address, a soft bounce is only recorded; Mailgun's signed shape too."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from broadsheet.digest.models import Subscriber, SuppressedAddress, WebhookEvent

URL = "/digest/webhooks/bounces/"
SECRET = "whsec-test-0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> None:
    settings.ENV = {**settings.ENV, "BROADSHEET_BOUNCE_WEBHOOK_SECRET": SECRET}


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(body: bytes, header: str | None) -> Any:
    extra = {"HTTP_X_BROADSHEET_SIGNATURE": header} if header is not None else {}
    return Client(enforce_csrf_checks=True).post(URL, body, content_type="application/json", **extra)


def event(
    event_id: str = "evt-1", kind: str = "bounce", email: str = "reader@example.org", **more: str
) -> bytes:
    return json.dumps({"event_id": event_id, "type": kind, "email": email, **more}).encode()


def signed(body: bytes) -> Any:
    return post(body, signature(body))


def rows() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    return (
        list(WebhookEvent.objects.order_by("pk").values_list("event_id", "kind")),
        list(SuppressedAddress.objects.order_by("pk").values_list("email", "reason")),
        list(Subscriber.objects.order_by("pk").values_list("email", "status")),
    )


@pytest.fixture
def reader(make_subscriber: Callable[..., Any]) -> Any:
    return make_subscriber("reader@example.org")


@pytest.mark.parametrize(
    ("body", "status", "answer", "expected"),
    [
        (event(bounce="hard"), 200, "suppressed",
         ([("broadsheet:evt-1", "hard_bounce")], [("reader@example.org", "bounce")],
          [("reader@example.org", "suppressed")])),
        (event(), 200, "suppressed",  # a bounce without severity counts as hard
         ([("broadsheet:evt-1", "hard_bounce")], [("reader@example.org", "bounce")],
          [("reader@example.org", "suppressed")])),
        (event(kind="complaint", email="READER@example.org"), 200, "suppressed",
         ([("broadsheet:evt-1", "complaint")], [("reader@example.org", "complaint")],
          [("reader@example.org", "suppressed")])),
        (event(bounce="soft"), 200, "recorded",
         ([("broadsheet:evt-1", "soft_bounce")], [], [("reader@example.org", "active")])),
    ],
    ids=["hard-bounce", "bounce", "complaint", "soft-bounce"],
)
def test_signed_events_are_applied(reader: Any, body: bytes, status: int, answer: str, expected: Any) -> None:
    response = signed(body)
    assert response.status_code == status
    assert response.json() == {"status": answer, "event_id": "broadsheet:evt-1"}
    assert rows() == expected


def test_an_event_delivered_twice_is_applied_once(reader: Any) -> None:
    assert signed(event(bounce="soft")).json()["status"] == "recorded"
    assert signed(event(bounce="soft")).json()["status"] == "duplicate"
    # the same id with another body is still the same event: ids, not bodies, identify events
    assert signed(event(kind="complaint")).json()["status"] == "duplicate"
    assert rows() == ([("broadsheet:evt-1", "soft_bounce")], [], [("reader@example.org", "active")])


def test_suppressing_twice_and_for_an_unknown_address_is_harmless(reader: Any) -> None:
    assert signed(event("a", kind="complaint")).status_code == 200
    assert signed(event("b", bounce="hard")).status_code == 200
    assert signed(event("c", email="stranger@example.net")).status_code == 200
    assert rows()[1] == [("reader@example.org", "complaint"), ("stranger@example.net", "bounce")]


def test_a_suppressed_address_is_sent_no_confirmation(reader: Any, client: Client) -> None:
    signed(event(email="stranger@example.net"))
    assert client.post("/digest/subscribe/", {"email": "stranger@example.net"}).status_code == 200
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("", 401),
        ("sha256=" + "0" * 64, 403),
        (signature(event(), "another-secret"), 403),
        (signature(event()).removeprefix("sha256="), 403),
        (signature(event() + b" "), 403),
        ("sha256=<script>", 403),
    ],
    ids=["missing", "empty", "zeros", "other-secret", "no-prefix", "other-body", "garbage"],
)
def test_unsigned_or_badly_signed_requests_are_refused(reader: Any, header: str | None, status: int) -> None:
    response = post(event(bounce="hard"), header)
    assert response.status_code == status
    assert rows() == ([], [], [("reader@example.org", "active")])


def test_the_webhook_is_closed_without_a_secret(reader: Any, settings: Any) -> None:
    settings.ENV = {**settings.ENV, "BROADSHEET_BOUNCE_WEBHOOK_SECRET": ""}
    response = post(event(), signature(event(), ""))
    assert response.status_code == 403
    assert "disabled" in response.json()["error"]
    assert rows()[0] == []


def test_only_post_is_accepted() -> None:
    assert Client().get(URL).status_code == 405


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the body is not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (event(kind="delivered"), 'type: expected "bounce" or "complaint"'),
        (event(bounce="medium"), 'bounce: expected "hard" or "soft"'),
        (event(email="not an address"), "email: expected an email address"),
        (event(email="a@b.example\r\nBcc: x@y.example"), "email: expected an email address"),
        (event(event_id=""), "event id: expected a non-empty string"),
        (event(event_id="x" * 201), "event id: expected a non-empty string"),
        (json.dumps({"type": "bounce", "email": "reader@example.org"}).encode(), "event id"),
    ],
)
def test_signed_but_malformed_events_are_refused(reader: Any, body: bytes, message: str) -> None:
    response = signed(body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert rows()[0] == []


def mailgun(event_data: dict[str, Any], key: str = SECRET, timestamp: str = "1772435100",
            token: str = "a" * 50) -> bytes:
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": timestamp, "token": token, "signature": digest},
                       "event-data": event_data}).encode()


@pytest.mark.parametrize(
    ("event_data", "answer", "kind"),
    [
        ({"id": "mg-1", "event": "failed", "severity": "permanent", "recipient": "reader@example.org"},
         "suppressed", "hard_bounce"),
        ({"id": "mg-1", "event": "failed", "severity": "temporary", "recipient": "reader@example.org"},
         "recorded", "soft_bounce"),
        ({"id": "mg-1", "event": "complained", "recipient": "reader@example.org"}, "suppressed", "complaint"),
    ],
)
def test_mailgun_webhooks_are_understood(
    reader: Any, event_data: dict[str, Any], answer: str, kind: str
) -> None:
    response = post(mailgun(event_data), None)
    assert response.status_code == 200
    assert response.json() == {"status": answer, "event_id": "mailgun:mg-1"}
    assert rows()[0] == [("mailgun:mg-1", kind)]


def test_a_mailgun_body_signed_with_another_key_is_refused(reader: Any) -> None:
    body = mailgun({"id": "mg-1", "event": "complained", "recipient": "reader@example.org"}, key="other")
    assert post(body, None).status_code == 403
    assert rows() == ([], [], [("reader@example.org", "active")])
