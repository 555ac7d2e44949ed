"""Fixtures for the digest tests: a real SMTP server (aiosmtpd on 127.0.0.1), subscribers, a fixed clock.

Rule: nothing is mocked at the SMTP boundary. The server records every message it accepts and can be told
to answer 4xx/5xx or drop the connection for chosen recipients; only time is faked, by a clock object.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time as time_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

NOW = datetime(2026, 3, 2, 7, 5, tzinfo=UTC)  # a Monday, five past the default delivery hour in UTC
HOLD_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """One message the server accepted: envelope recipients and the parsed message."""

    recipients: list[str]
    data: bytes

    @property
    def message(self) -> ParsedMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that accepts and records messages, or answers a planted fault.

    `faults[address]` is a list consumed one per conversation: an SMTP reply such as "451 4.3.0 busy" or
    "550 5.1.1 no such user" (answered to RCPT), or "drop" (the connection is cut when DATA ends, before
    the message is accepted). With `folder`, each accepted message is also written there as one file
    before the reply, so a record survives whatever happens to the client. `delay_seconds` slows each
    acceptance; `hold_until_sessions` makes the first senders wait until that many are connected.
    """

    folder: Path | None = None
    delay_seconds: float = 0.0  # before accepting each message: a wider window for a kill to land in
    hold_until_sessions: int = 0  # accept nothing until this many client sessions have said RCPT
    received: list[Received] = field(default_factory=list)
    peers: set[Any] = field(default_factory=set)
    faults: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, address: str, *replies: str) -> None:
        with self.lock:
            self.faults.setdefault(address.lower(), []).extend(replies)

    def _take_fault(self, address: str, kind: str) -> str | None:
        with self.lock:
            planned = self.faults.get(address.lower())
            if planned and (planned[0] == "drop") == (kind == "drop"):
                return planned.pop(0)
        return None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            self.peers.add(session.peer)
        reply = self._take_fault(address, "reply")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if self._take_fault(address, "drop") is not None:
                server.transport.close()
                return "421 4.4.2 connection dropped"
        deadline = time_module.monotonic() + HOLD_TIMEOUT_SECONDS
        while len(self.peers) < self.hold_until_sessions and time_module.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        data = bytes(envelope.content)
        with self.lock:
            if self.folder is not None:
                index = len(self.received)
                (self.folder / f"{index:06d}.eml").write_bytes(data)
            self.received.append(Received(list(envelope.rcpt_tos), data))
        return "250 2.0.0 accepted"

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for item in self.received for address in item.recipients]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port, recording to memory and to tmp_path/smtp/."""
    folder = tmp_path / "smtp"
    folder.mkdir()
    handler = RecordingHandler(folder=folder)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    yield SmtpServer("127.0.0.1", port, handler)
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    """Django's SMTP backend pointed at the test server (what BROADSHEET_SMTP_URL=smtp://... gives)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


class FakeClock:
    """now() and sleep() for the sender: sleeping advances the clock and is recorded."""

    def __init__(self, start: datetime = NOW) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.current += timedelta(seconds=max(seconds, 0.0))

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_subscriber(db: None) -> Callable[..., Any]:
    """make_subscriber(email, **fields): an active daily subscriber (7:00 UTC) unless told otherwise."""
    from broadsheet.digest.models import Subscriber

    def make(email: str, **fields: Any) -> Subscriber:
        values: dict[str, Any] = {
            "status": Subscriber.Status.ACTIVE,
            "created_at": NOW - timedelta(days=30),
            "confirmed_at": NOW - timedelta(days=30),
        }
        values.update(fields)
        return Subscriber.objects.create(email=email, **values)

    return make


class PlainPrepare:
    """A Prepare that builds a small two-part message: the outbox mechanics without composition.

    Every message claims to carry `paper_ids`; `calls` lists the delivery ids it prepared.
    """

    def __init__(self, paper_ids: list[int] | None = None) -> None:
        self.paper_ids = list(paper_ids or [])
        self.calls: list[int] = []

    def __call__(self, delivery: Any, now: datetime) -> Any:
        from django.core.mail import EmailMultiAlternatives

        from broadsheet.digest.sender import PreparedMessage

        self.calls.append(delivery.pk)
        subject = f"Broadsheet digest for {delivery.digest_date:%Y-%m-%d}"
        message = EmailMultiAlternatives(
            subject=subject,
            body=f"Hello {delivery.subscriber.email}",
            to=[delivery.subscriber.email],
            headers={"Message-ID": f"<digest.{delivery.pk}@broadsheet.test>"},
        )
        message.attach_alternative(f"<p>Hello {delivery.subscriber.email}</p>", "text/html")
        return PreparedMessage(message, subject, list(self.paper_ids))


@pytest.fixture
def prepare() -> PlainPrepare:
    return PlainPrepare()


@pytest.fixture
def make_papers(db: None) -> Callable[[int], list[int]]:
    """make_papers(n, announced_on=, categories=): n papers written through upsert_papers (announced the day
    before NOW in cs.LG unless told); returns every paper's row id in arXiv id order."""
    from broadsheet.ingest.records import PaperRecord, VersionRecord
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.papers.models import Paper

    def make(
        count: int, *, announced_on: date | None = None, categories: list[str] | None = None
    ) -> list[int]:
        announced_on = announced_on or (NOW - timedelta(days=1)).date()
        submitted = datetime.combine(announced_on, time(12), tzinfo=UTC) - timedelta(days=1)
        records = [
            PaperRecord(
                arxiv_id=f"2603.{number:05d}",
                version=1,
                title=f"Paper {number}",
                abstract="We study things.",
                authors=["Ada Lovelace"],
                categories=categories or ["cs.LG"],
                versions=[VersionRecord(1, submitted, "100kb")],
                submitted_at=submitted,
                updated_at=submitted,
                announced_on=announced_on,
                datestamp=announced_on,
            )
            for number in range(1, count + 1)
        ]
        upsert_papers(records, now=NOW)
        return list(Paper.objects.order_by("arxiv_id").values_list("id", flat=True))

    return make


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the database this test process uses."""
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(str(config['NAME'])).resolve()}"
    credentials = quote(config.get("USER") or "", safe="")
    if config.get("PASSWORD"):
        credentials += ":" + quote(config["PASSWORD"], safe="")
    host = config.get("HOST") or "localhost"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{'@' if credentials else ''}{host}{port}/{config['NAME']}"


def broadsheet_command() -> list[str]:
    """The `broadsheet` console script of this environment (or `python -m broadsheet` without one)."""
    script = Path(sys.executable).parent / "broadsheet"
    return [str(script)] if script.exists() else [sys.executable, "-m", "broadsheet"]


def child_env(smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    """The environment of a `broadsheet` child on this test's database, sending to `smtp`."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_subprocess(),
        BROADSHEET_SMTP_URL=smtp.url,
        BROADSHEET_SMTP_TIMEOUT_SECONDS="10",
        BROADSHEET_DIGEST_RATE_PER_MINUTE="0",
        BROADSHEET_LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env
