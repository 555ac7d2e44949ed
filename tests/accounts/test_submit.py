"""Submit a paper by arXiv id: fetched from a real fake arXiv on loopback; every outcome has its message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from broadsheet.accounts.submit import parse_submission
from broadsheet.ingest.fake_arxiv import FakeArxiv, start_fake_arxiv
from broadsheet.papers.models import Paper

FIXTURE = Path(__file__).parent / "fixtures" / "arxiv.jsonl"


@pytest.fixture
def fake_arxiv(settings: Any) -> Iterator[FakeArxiv]:
    fake = start_fake_arxiv(FIXTURE)
    settings.BROADSHEET = {**settings.BROADSHEET, "ARXIV_API_URL": fake.api_url, "REQUEST_DELAY_SECONDS": 0.0}
    try:
        yield fake
    finally:
        fake.stop()


def submit(client: Client, value: str) -> Any:
    return client.post("/submit/", {"arxiv_id": value})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2502.00042", "2502.00042"),
        (" arXiv:2502.00042v3 ", "2502.00042"),
        ("https://arxiv.org/abs/2502.00042v2", "2502.00042"),
        ("http://www.arxiv.org/pdf/2502.00042v1.pdf", "2502.00042"),
        ("arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
    ],
)
def test_parse_submission_takes_ids_and_arxiv_links(raw: str, expected: str) -> None:
    assert parse_submission(raw) == expected


@pytest.mark.parametrize("raw", ["", "2502", "https://evil.example/abs/2502.00042", "2502.00042 2502.00043"])
def test_parse_submission_refuses_the_rest(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_submission(raw)


@pytest.mark.django_db
def test_a_paper_arxiv_knows_is_fetched_and_added(reader_client: Client, fake_arxiv: FakeArxiv) -> None:
    response = submit(reader_client, "https://arxiv.org/abs/2502.00042")
    assert response.status_code == 201
    html = response.content.decode()
    assert 'Added: <a href="/papers/2502.00042/"><bdi>Compilers that explain themselves</bdi></a>' in html
    paper = Paper.objects.get(arxiv_id="2502.00042")
    assert (paper.title, paper.primary_category_id) == ("Compilers that explain themselves", "cs.PL")
    assert [request.endpoint for request in fake_arxiv.requests] == ["api"]


@pytest.mark.django_db
def test_a_paper_already_here_links_to_it_without_asking_arxiv(
    reader_client: Client, papers: dict, fake_arxiv: FakeArxiv
) -> None:
    response = submit(reader_client, "2503.00001v2")
    assert response.status_code == 200
    assert 'already here: <a href="/papers/2503.00001/">' in response.content.decode()
    assert fake_arxiv.requests == []


@pytest.mark.django_db
def test_an_id_arxiv_does_not_know_says_so(reader_client: Client, fake_arxiv: FakeArxiv) -> None:
    response = submit(reader_client, "2502.99999")
    assert response.status_code == 404
    assert "arXiv does not know arXiv:2502.99999" in response.content.decode()
    assert not Paper.objects.exists()


@pytest.mark.django_db
def test_a_malformed_id_says_what_an_id_looks_like(reader_client: Client, hostile_string: str) -> None:
    response = submit(reader_client, hostile_string)
    assert response.status_code == 400
    html = response.content.decode()
    assert "That is not an arXiv id" in html
    assert "<script>alert" not in html and "<img src=x" not in html


@pytest.mark.django_db
def test_arxiv_unreachable_says_so(reader_client: Client, settings: Any) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.BROADSHEET = {**settings.BROADSHEET, "ARXIV_API_URL": f"http://127.0.0.1:{port}/api/query"}
    response = submit(reader_client, "2502.00042")
    assert response.status_code == 502
    assert "arXiv could not be reached just now" in response.content.decode()


@pytest.mark.django_db
def test_arxiv_failing_says_so(reader_client: Client, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.set_fault("status", status=503, count=5)
    response = submit(reader_client, "2502.00042")
    assert response.status_code == 502
    assert not Paper.objects.exists()


@pytest.mark.django_db
def test_only_signed_in_readers_submit(client: Client, reader: Any) -> None:
    assert client.get("/submit/")["Location"] == "/signin/?next=%2Fsubmit%2F"
    assert client.post("/submit/", {"arxiv_id": "2502.00042"})["Location"] == "/signin/?next=%2Fsubmit%2F"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    assert submit(strict, "2502.00042").status_code == 403


@pytest.mark.django_db
def test_submissions_are_rate_limited(reader_client: Client, settings: Any) -> None:
    settings.BROADSHEET = {**settings.BROADSHEET, "SUBMIT_PER_HOUR": 2}
    statuses = [submit(reader_client, "not an id").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert int(submit(reader_client, "not an id")["Retry-After"]) > 0
