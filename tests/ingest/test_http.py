"""PoliteClient against a real fake arXiv on loopback: waits, retries, Retry-After and failures."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from broadsheet.ingest.http import UpstreamError, UpstreamUnreachable, parse_retry_after
from broadsheet.ingest.records import IngestError

IDENTIFY = {"verb": "Identify"}
NOW = datetime(2024, 1, 10, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Wed, 10 Jan 2024 12:00:30 GMT", 30.0),
        ("Wed, 10 Jan 2024 11:59:00 GMT", 0.0),  # a date in the past: go now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(header, expected):
    assert parse_retry_after(header, NOW) == expected


def test_client_sends_the_configured_user_agent(fake_arxiv, make_client):
    client = make_client(user_agent="Broadsheet-test/1.0 (mailto:ops@example.org)")
    client.get(fake_arxiv.oai_url, params=IDENTIFY)
    assert [request.user_agent for request in fake_arxiv.requests] == [
        "Broadsheet-test/1.0 (mailto:ops@example.org)"
    ]


def test_client_waits_out_the_politeness_delay_per_host(fake_arxiv, make_client, fake_clock):
    client = make_client(delay_seconds=3.0)
    client.get(fake_arxiv.oai_url, params=IDENTIFY)
    fake_clock.advance(1.25)  # the caller worked for a while: only the rest of the delay is slept
    client.get(fake_arxiv.oai_url, params=IDENTIFY)
    client.get(fake_arxiv.oai_url, params=IDENTIFY)
    assert fake_clock.sleeps == [1.75, 3.0]
    assert len(fake_arxiv.requests) == 3


def test_politeness_delay_spaces_real_requests_at_the_server(fake_arxiv, make_client):
    client = make_client(delay_seconds=0.15, sleep=time.sleep, monotonic=time.monotonic)
    for _ in range(3):
        client.get(fake_arxiv.oai_url, params=IDENTIFY)
    arrivals = [request.at for request in fake_arxiv.requests]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.15


def test_retry_after_seconds_is_honoured(fake_arxiv, make_client, fake_clock):
    fake_arxiv.set_fault("503", count=2, retry_after="7")
    response = fake_arxiv_get(fake_arxiv, make_client())
    assert response.status_code == 200
    assert fake_clock.sleeps == [7.0, 7.0]
    assert [request.status for request in fake_arxiv.requests] == [503, 503, 200]


def test_retry_after_http_date_is_honoured(fake_arxiv, make_client, fake_clock):
    fake_arxiv.set_fault(
        "503", count=1, retry_after=format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    )
    fake_arxiv_get(fake_arxiv, make_client(wall_clock=lambda: NOW))
    assert fake_clock.sleeps == [42.0]


def test_retry_after_is_capped(fake_arxiv, make_client, fake_clock):
    fake_arxiv.set_fault("503", count=1, retry_after="86400")
    fake_arxiv_get(fake_arxiv, make_client(retry_after_cap_seconds=120.0))
    assert fake_clock.sleeps == [120.0]


@pytest.mark.parametrize("fault", ["500", "502", "429", "drop", "drop_mid_body", "empty_body"])
def test_transient_failures_are_retried_with_exponential_backoff(fake_arxiv, make_client, fake_clock, fault):
    fake_arxiv.set_fault(fault, count=3)
    response = fake_arxiv_get(fake_arxiv, make_client(max_retries=3, backoff_seconds=2.0))
    assert b"<Identify>" in response.content
    assert fake_clock.sleeps == [2.0, 4.0, 8.0]
    assert len(fake_arxiv.requests) == 4


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("503", "HTTP 503; gave up after 3 attempts"),
        (
            "drop",
            "connection dropped (RemoteProtocolError: Server disconnected without sending a response.); "
            "gave up after 3 attempts",
        ),
        ("empty_body", "empty 200 response; gave up after 3 attempts"),
    ],
)
def test_exhausted_retries_raise_upstream_error_naming_url_and_problem(
    fake_arxiv, make_client, fake_clock, fault, problem
):
    fake_arxiv.set_fault(fault, count=10)
    client = make_client(max_retries=2, backoff_seconds=1.0)
    with pytest.raises(UpstreamError) as caught:
        client.get(fake_arxiv.oai_url, params=IDENTIFY)
    assert not isinstance(caught.value, UpstreamUnreachable)
    assert isinstance(caught.value, IngestError)
    assert str(caught.value) == f"{fake_arxiv.oai_url}?verb=Identify: {problem}"
    assert fake_clock.sleeps == [1.0, 2.0]
    assert len(fake_arxiv.requests) == 3


def test_client_errors_are_not_retried(fake_arxiv, make_client, fake_clock):
    client = make_client()
    with pytest.raises(UpstreamError) as caught:
        client.get(fake_arxiv.url + "/nothing-here")
    assert str(caught.value) == f"{fake_arxiv.url}/nothing-here: HTTP 404 Not Found"
    assert fake_clock.sleeps == []


def test_backoff_never_exceeds_the_cap(make_client):
    client = make_client(backoff_seconds=10.0, retry_after_cap_seconds=1000.0)
    assert [client.backoff_wait(attempt) for attempt in (1, 2, 3, 6, 12)] == [10.0, 20.0, 40.0, 300.0, 300.0]


def test_refused_connection_is_unreachable_at_once(make_client, fake_clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nothing listens on the port any more
    client = make_client(max_retries=5)
    with pytest.raises(UpstreamUnreachable) as caught:
        client.get(f"http://127.0.0.1:{port}/oai", params=IDENTIFY)
    assert str(caught.value).startswith(f"http://127.0.0.1:{port}/oai?verb=Identify: cannot connect (")
    assert fake_clock.sleeps == []


def test_lost_connection_to_a_host_once_reached_is_retried(fake_arxiv, make_client, fake_clock):
    client = make_client(max_retries=2, backoff_seconds=1.0)
    client.get(fake_arxiv.oai_url, params=IDENTIFY)
    url = fake_arxiv.oai_url
    fake_arxiv.stop()
    with pytest.raises(UpstreamUnreachable) as caught:
        client.get(url, params=IDENTIFY)
    assert "gave up after 3 attempts" in str(caught.value)
    assert fake_clock.sleeps == [1.0, 2.0]


def fake_arxiv_get(fake_arxiv, client):
    return client.get(fake_arxiv.oai_url, params=IDENTIFY)
