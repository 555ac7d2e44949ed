"""Subscribing: the box on every page, double opt-in by a 72-hour single-use link, one answer whatever
the address's state, at most 3 confirmation emails a day, and one click for a signed-in reader."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadsheet.digest.models import ConfirmationEmail, Subscriber, SuppressedAddress
from broadsheet.digest.subscriptions import request_subscription

from .conftest import NOW

BASE_URL = "https://papers.example.org"
SUBSCRIBE = "/digest/subscribe/"
CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def base_url(settings: Any) -> None:
    settings.BASE_URL = BASE_URL


def confirmation_path(message: Any) -> str:
    """The path of the confirmation link in an email, checked to be absolute from BASE_URL."""
    match = re.search(r"(https?://\S+/digest/confirm/\S+/)", message.body)
    assert match, message.body
    assert match.group(1).startswith(f"{BASE_URL}/digest/confirm/")
    return match.group(1).removeprefix(BASE_URL)


def comparable(response: Any, email: str) -> tuple[int, str]:
    """Status and body with the per-response CSRF mask and the typed address replaced."""
    body = CSRF_VALUE.sub('name="csrfmiddlewaretoken" value="MASKED"', response.content.decode())
    return response.status_code, body.replace(email, "EMAIL")


def test_every_page_carries_the_subscribe_box(client: Client) -> None:
    page = client.get(reverse("papers:categories")).content.decode()
    assert f'action="{SUBSCRIBE}" method="post"' in page
    assert 'name="email"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_subscribing_sends_a_confirmation_link_and_confirming_activates(client: Client) -> None:
    response = client.post(SUBSCRIBE, {"email": "  Reader@Example.ORG "})
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status) == ("reader@example.org", "pending")
    assert [message.to for message in mail.outbox] == [["reader@example.org"]]
    assert mail.outbox[0].subject == "Confirm your Broadsheet digest subscription"
    path = confirmation_path(mail.outbox[0])

    shown = client.get(path)  # a link scanner's GET confirms nothing
    assert shown.status_code == 200
    assert "Confirm subscription" in shown.content.decode()
    assert Subscriber.objects.get().status == "pending"

    confirmed = client.post(path)
    assert confirmed.status_code == 303
    assert confirmed["Location"].startswith(f"{BASE_URL}/digest/preferences/")
    subscriber.refresh_from_db()
    assert subscriber.status == "active"
    assert subscriber.confirmed_at is not None
    assert subscriber.confirm_nonce == ""

    again = client.post(path)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_confirmation_link_ignores_the_host_header(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    client.post(SUBSCRIBE, {"email": "reader@example.org"}, HTTP_HOST="evil.example")
    assert "evil.example" not in mail.outbox[0].body
    confirmation_path(mail.outbox[0])


ADDRESS_STATES = ["unknown", "pending", "active", "unsubscribed", "suppressed", "rate_limited"]


def put_in_state(email: str, state: str, make_subscriber: Callable[..., Any]) -> None:
    if state in {"pending", "active", "unsubscribed"}:
        make_subscriber(email, status=state)
    elif state == "suppressed":
        make_subscriber(email, status="suppressed")
        SuppressedAddress.objects.create(email=email, reason="bounce", created_at=NOW)
    elif state == "rate_limited":
        make_subscriber(email, status="pending")
        # the page asks with the wall clock: three emails in the last hour use up the day
        for minutes in (50, 30, 10):
            ConfirmationEmail.objects.create(email=email, sent_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.parametrize("state", ADDRESS_STATES)
def test_the_answer_is_the_same_whatever_the_address_state(
    client: Client, make_subscriber: Callable[..., Any], state: str
) -> None:
    reference = comparable(client.post(SUBSCRIBE, {"email": "nobody@example.net"}), "nobody@example.net")
    email = f"{state.replace('_', '-')}@example.org"
    put_in_state(email, state, make_subscriber)
    assert comparable(client.post(SUBSCRIBE, {"email": email}), email) == reference


@pytest.mark.parametrize(
    ("state", "subject"),
    [
        ("unknown", "Confirm your Broadsheet digest subscription"),
        ("pending", "Confirm your Broadsheet digest subscription"),
        ("unsubscribed", "Confirm your Broadsheet digest subscription"),
        ("active", "Your Broadsheet digest subscription"),
        ("suppressed", None),
    ],
)
def test_what_each_address_state_is_sent(
    client: Client, make_subscriber: Callable[..., Any], state: str, subject: str | None
) -> None:
    email = f"{state}@example.org"
    put_in_state(email, state, make_subscriber)
    client.post(SUBSCRIBE, {"email": email})
    assert [message.subject for message in mail.outbox] == ([subject] if subject else [])
    if state == "active":
        body = mail.outbox[0].body
        assert f"{BASE_URL}/digest/preferences/" in body
        assert f"{BASE_URL}/digest/unsubscribe/" in body
        assert Subscriber.objects.get(email=email).status == "active"


def test_at_most_three_confirmation_emails_per_address_per_day() -> None:
    outcomes = [request_subscription("reader@example.org", NOW + timedelta(hours=hour)) for hour in range(4)]
    assert outcomes == ["confirmation", "confirmation", "confirmation", "rate_limited"]
    assert len(mail.outbox) == 3
    # a day after the first, one more is allowed; the next two are still inside their day
    later = NOW + timedelta(days=1, seconds=1)
    assert request_subscription("reader@example.org", later) == "confirmation"
    assert request_subscription("reader@example.org", later) == "rate_limited"
    assert ConfirmationEmail.objects.filter(email="reader@example.org").count() == 4


def test_the_fourth_request_of_the_day_answers_the_same_and_sends_nothing(client: Client) -> None:
    responses = [comparable(client.post(SUBSCRIBE, {"email": "reader@example.org"}), "reader@example.org")
                 for _ in range(4)]
    assert len(mail.outbox) == 3
    assert responses[3] == responses[0]


def test_every_confirmation_email_of_a_pending_address_stays_valid(client: Client) -> None:
    client.post(SUBSCRIBE, {"email": "reader@example.org"})
    client.post(SUBSCRIBE, {"email": "reader@example.org"})
    first, second = (confirmation_path(message) for message in mail.outbox)
    assert client.post(first).status_code == 303
    assert client.post(second).status_code == 410  # confirmed once: the other link is spent too


@pytest.mark.parametrize("email", ["", "not-an-address", "a@", "@example.org", "a b@example.org",
                                   "x" * 250 + "@example.org"])
def test_malformed_addresses_get_a_form_error(client: Client, email: str) -> None:
    response = client.post(SUBSCRIBE, {"email": email})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="field-error"' in page
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_hostile_input_is_refused_and_escaped(client: Client, hostile_string: str) -> None:
    response = client.post(SUBSCRIBE, {"email": hostile_string})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert" not in page
    assert "onerror=alert(1)>" not in page
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_header_injection_in_the_address_is_refused(client: Client) -> None:
    response = client.post(SUBSCRIBE, {"email": "reader@example.org\r\nBcc: victim@example.com"})
    assert response.status_code == 400
    assert mail.outbox == []


def test_subscribe_page_without_javascript_shows_the_form(client: Client) -> None:
    page = client.get(SUBSCRIBE).content.decode()
    assert "<h1>The daily digest</h1>" in page
    assert page.count('name="email"') == 2  # the page's form and the header box


@pytest.fixture
def reader(db: None) -> Any:
    return get_user_model().objects.create_user("ada", email="Ada@Example.org")


def test_a_signed_in_reader_subscribes_in_one_click_without_confirmation(client: Client, reader: Any) -> None:
    client.force_login(reader)
    page = client.get(reverse("papers:categories")).content.decode()
    assert 'action="/digest/subscribe/me/"' in page
    assert "Get the daily digest" in page
    assert "Send the digest to this address" in client.get(SUBSCRIBE).content.decode()

    response = client.post("/digest/subscribe/me/")
    assert response.status_code == 303
    assert response["Location"].startswith(f"{BASE_URL}/digest/preferences/")
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status, subscriber.user) == ("ada@example.org", "active", reader)
    assert mail.outbox == []

    page = client.get(reverse("papers:categories")).content.decode()
    assert 'href="/digest/preferences/">Digest settings</a>' in page
    settings_link = client.get("/digest/preferences/")
    assert settings_link.status_code == 303
    assert settings_link["Location"].startswith(f"{BASE_URL}/digest/preferences/")


def test_one_click_subscription_needs_sign_in_and_csrf(reader: Any) -> None:
    anonymous = Client()
    to_signin = anonymous.post("/digest/subscribe/me/")
    assert (to_signin.status_code, to_signin["Location"]) == (303, "/signin/?next=%2Fdigest%2Fsubscribe%2F")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    assert strict.post("/digest/subscribe/me/").status_code == 403
    assert Subscriber.objects.count() == 0


def test_subscribing_needs_a_csrf_token() -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(SUBSCRIBE, {"email": "reader@example.org"}).status_code == 403
    assert Subscriber.objects.count() == 0
