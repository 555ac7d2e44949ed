"""Email sign-in: the link, its expiry and single use, the same answer for every address, rate limits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from broadsheet.accounts.models import SignInToken
from broadsheet.accounts.signin import InvalidEmail, hash_token, normalize_email, safe_next

pytestmark = pytest.mark.django_db
CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
LINK = re.compile(r"(http://testserver\.example/signin/link/[A-Za-z0-9_-]+/)")


@pytest.fixture(autouse=True)
def base_url(settings: Any) -> None:
    settings.BASE_URL = "http://testserver.example"


def ask_link(client: Client, email: str, **extra: Any) -> Any:
    return client.post("/signin/", {"email": email, **extra})


def sent_link() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada@Example.ORG", "ada@example.org"),
        ("  ada@example.org \n", "ada@example.org"),
        ("ada+papers@example.org", "ada+papers@example.org"),
        ("ada@café.example", "ada@xn--caf-dma.example"),
        ("ａｄａ@example.org", "ada@example.org"),  # fullwidth letters fold under NFKC
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "ada", "ada@", "@example.org", "ada@@example.org", "ada example@example.org",
     "ada@example.org\r\nBcc: victim@example.com", "ada\u200b@example.org", "a" * 250 + "@example.org",
     '<script>alert(1)</script>@example.org', "ada@exa_mple.org"],
)
def test_normalize_email_refuses_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/papers/2503.00001/", "/papers/2503.00001/"),
        ("/search?q=a&page=2", "/search?q=a&page=2"),
        ("//evil.example/", ""),
        ("https://evil.example/", ""),
        ("/\\evil.example", ""),
        ("javascript:alert(1)", ""),
        ("/ok\r\nSet-Cookie: x", ""),
        ("", ""),
    ],
)
def test_safe_next_keeps_only_local_paths(raw: str, expected: str) -> None:
    assert safe_next(raw) == expected


def test_signin_page_has_the_form(client: Client) -> None:
    html = client.get("/signin/?next=/collections/").content.decode()
    assert 'name="email"' in html and 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/collections/"' in html


def test_asking_for_a_link_emails_a_single_use_link_built_from_base_url(client: Client) -> None:
    response = ask_link(client, "Ada@Example.org", next="/collections/")
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    link = sent_link()
    token = link.rstrip("/").rsplit("/", 1)[1]
    row = SignInToken.objects.get()
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(minutes=15)
    assert not get_user_model().objects.exists()  # the account is made when the link is used

    path = link.removeprefix("http://testserver.example")
    confirm = client.get(path)  # opening the link (or a mail scanner doing so) uses nothing up
    assert confirm.status_code == 200 and "ada@example.org" in confirm.content.decode()
    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/collections/"
    user = get_user_model().objects.get()
    assert (user.username, user.email) == ("ada@example.org", "ada@example.org")
    assert not user.has_usable_password()
    assert "ada@example.org" in client.get("/").content.decode()

    again = Client().post(path)
    assert again.status_code == 410


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(client: Client) -> None:
    get_user_model().objects.create_user(username="ada@example.org", email="ada@example.org")
    known = ask_link(client, "ada@example.org")
    unknown = ask_link(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    def page(response: Any, email: str) -> str:
        # CSRF tokens are masked afresh on every page; everything else must match
        return CSRF_VALUE.sub("", response.content.decode().replace(email, "X"))

    assert page(known, "ada@example.org") == page(unknown, "nobody@example.org")
    assert len(mail.outbox) == 2


def test_an_existing_account_is_signed_in_not_duplicated(client: Client) -> None:
    existing = get_user_model().objects.create_user(username="ada@example.org", email="ada@example.org")
    ask_link(client, "ADA@example.org")
    client.post(sent_link().removeprefix("http://testserver.example"))
    assert list(get_user_model().objects.values_list("pk", flat=True)) == [existing.pk]


def test_an_expired_link_does_not_sign_in(client: Client) -> None:
    ask_link(client, "ada@example.org")
    SignInToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    path = sent_link().removeprefix("http://testserver.example")
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert not get_user_model().objects.exists()


def test_an_unknown_token_does_not_sign_in(client: Client) -> None:
    assert client.post("/signin/link/" + "A" * 43 + "/").status_code == 410


def test_hostile_input_gets_a_form_error_escaped(client: Client, hostile_string: str) -> None:
    response = ask_link(client, hostile_string)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="form-error"' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert mail.outbox == []


def test_next_pointing_off_site_is_dropped(client: Client) -> None:
    ask_link(client, "ada@example.org", next="https://evil.example/")
    response = client.post(sent_link().removeprefix("http://testserver.example"))
    assert response["Location"] == "/"


def test_sign_in_requests_are_limited_per_address(client: Client, settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SIGNIN_PER_ADDRESS_PER_HOUR": 2}
    clients = [Client(REMOTE_ADDR=f"198.51.100.{i}") for i in range(3)]
    statuses = [ask_link(each, "ada@example.org").status_code for each in clients]
    assert statuses == [200, 200, 429]
    refused = ask_link(client, "ada@example.org")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert len(mail.outbox) == 2
    assert ask_link(client, "bob@example.org").status_code == 200


def test_sign_in_requests_are_limited_per_client_address(settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SIGNIN_PER_IP_PER_HOUR": 2}
    client = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [ask_link(client, f"reader{i}@example.org").status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    assert "Retry-After" in ask_link(client, "another@example.org")


def test_sign_out_is_a_post_with_csrf(reader_client: Client, reader: Any) -> None:
    assert reader_client.get("/signout/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    assert strict.post("/signout/").status_code == 403
    assert reader_client.post("/signout/").status_code == 302
    assert "Sign in" in reader_client.get("/").content.decode()


def test_signing_in_needs_csrf(client: Client) -> None:
    assert Client(enforce_csrf_checks=True).post("/signin/", {"email": "ada@example.org"}).status_code == 403
    assert mail.outbox == []
