"""Upvotes: htmx and plain-form POSTs, undo, safe redirects, anonymous readers, one vote under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from broadsheet.accounts.models import Upvote
from broadsheet.accounts.upvotes import add_upvote
from broadsheet.papers.models import Paper
from broadsheet.trending.score import gather_signals

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/day/2025-03-04/"}


def vote(client: Client, arxiv_id: str, action: str, **extra: Any) -> Any:
    return client.post(f"/papers/{arxiv_id}/upvote/", {"action": action, **extra.pop("data", {})}, **extra)


@pytest.mark.django_db
def test_plain_post_upvotes_and_redirects_to_a_local_next(
    reader_client: Client, papers: dict, reader: Any
) -> None:
    response = vote(reader_client, "2503.00001", "upvote", data={"next": "/day/2025-03-04/"})
    assert (response.status_code, response["Location"]) == (302, "/day/2025-03-04/")
    assert list(Upvote.objects.values_list("user_id", "paper__arxiv_id")) == [(reader.pk, "2503.00001")]


@pytest.mark.django_db
@pytest.mark.parametrize("next_value", ["https://evil.example/", "//evil.example/x", ""])
def test_plain_post_never_redirects_off_site(reader_client: Client, papers: dict, next_value: str) -> None:
    response = vote(reader_client, "2503.00001", "upvote", data={"next": next_value})
    assert response["Location"] == "/papers/2503.00001/"


@pytest.mark.django_db
def test_htmx_post_answers_the_swapped_button_with_count_and_state(
    reader_client: Client, papers: dict, other_reader: Any
) -> None:
    add_upvote(other_reader.pk, Paper.objects.get(arxiv_id="2503.00001").pk, timezone.now())
    html = vote(reader_client, "2503.00001", "upvote", **HTMX).content.decode()
    assert html.startswith('<form class="vote voted" id="vote-2503-00001"')
    assert '<span class="vote-count">2</span>' in html
    assert 'name="action" value="undo"' in html and 'aria-pressed="true"' in html
    html = vote(reader_client, "2503.00001", "undo", **HTMX).content.decode()
    assert html.startswith('<form class="vote" id="vote-2503-00001"')
    assert '<span class="vote-count">1</span>' in html and 'name="action" value="upvote"' in html


@pytest.mark.django_db
def test_repeated_upvotes_and_undos_are_idempotent(reader_client: Client, papers: dict) -> None:
    for _ in range(3):
        vote(reader_client, "2503.00001", "upvote")
    assert Upvote.objects.count() == 1
    for _ in range(2):
        vote(reader_client, "2503.00001", "undo")
    assert Upvote.objects.count() == 0


@pytest.mark.django_db
def test_old_style_ids_can_be_upvoted(reader_client: Client, papers: dict) -> None:
    assert vote(reader_client, "hep-th/9901001", "upvote").status_code == 302
    assert Upvote.objects.get().paper.arxiv_id == "hep-th/9901001"


@pytest.mark.django_db
def test_anonymous_readers_are_sent_to_sign_in(client: Client, papers: dict) -> None:
    response = client.get("/papers/2503.00001/upvote/")
    assert response["Location"] == "/signin/?next=%2Fpapers%2F2503.00001%2Fupvote%2F"
    htmx = vote(client, "2503.00001", "upvote", data={"next": "/day/2025-03-04/"}, **HTMX)
    assert htmx["HX-Redirect"] == "/signin/?next=%2Fday%2F2025-03-04%2F"
    assert Upvote.objects.count() == 0


@pytest.mark.django_db
def test_upvoting_needs_csrf(reader: Any, papers: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    assert vote(client, "2503.00001", "upvote").status_code == 403
    assert Upvote.objects.count() == 0


@pytest.mark.django_db
def test_unknown_papers_and_actions_are_refused(reader_client: Client, papers: dict) -> None:
    assert vote(reader_client, "2503.09999", "upvote").status_code == 404
    assert vote(reader_client, "2503.00001", "explode").status_code == 400


@pytest.mark.django_db
def test_paper_page_shows_the_button_with_count_and_state(reader_client: Client, papers: dict) -> None:
    vote(reader_client, "2503.00001", "upvote")
    html = reader_client.get("/papers/2503.00001/").content.decode()
    assert '<form class="vote voted" id="vote-2503-00001"' in html
    assert '<span class="vote-count">1</span>' in html
    anonymous = Client().get("/papers/2503.00001/").content.decode()
    assert 'href="/signin/?next=%2Fpapers%2F2503.00001%2F"' in anonymous


@pytest.mark.django_db
def test_cards_carry_a_slot_that_one_request_fills(reader_client: Client, papers: dict) -> None:
    day = reader_client.get("/day/2025-03-04/").content.decode()
    assert day.count('name="vote_paper" value="2503.') == 2 and 'name="vote_paper" value="hep-th/' in day
    assert '<a href="/papers/2503.00001/upvote/" rel="nofollow"' in day
    vote(reader_client, "2503.00002", "upvote")
    filled = reader_client.get(
        "/votes/", {"vote_paper": ["2503.00001", "2503.00002", "2503.09999"]}, **HTMX
    ).content.decode()
    assert filled.count('hx-swap-oob="true"') == 2
    assert '<form class="vote voted" id="vote-2503-00002"' in filled
    assert 'name="next" value="/day/2025-03-04/"' in filled
    as_json = reader_client.get("/votes/", {"vote_paper": ["2503.00002"], "format": "json"}).json()
    assert as_json == {"papers": [{"id": "2503.00002", "upvotes": 1, "upvoted": True}]}


@pytest.mark.django_db
def test_upvotes_feed_the_trending_signals(reader_client: Client, papers: dict) -> None:
    vote(reader_client, "2503.00001", "upvote")
    paper_id = Paper.objects.get(arxiv_id="2503.00001").pk
    signals = gather_signals([paper_id], timezone.now() + timedelta(seconds=1))
    assert signals[paper_id].upvotes == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_upvotes_by_one_reader_leave_one_row(papers: dict, reader: Any) -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite is not shared between threads")
    start = threading.Barrier(8)
    statuses: list[int] = []

    def click() -> None:
        try:
            client = Client()
            client.force_login(reader)
            start.wait()
            statuses.append(vote(client, "2503.00001", "upvote").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 8
    assert Upvote.objects.filter(user=reader).count() == 1
