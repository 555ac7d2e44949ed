"""`broadsheet up`, the main job, as a user runs it: a real process, a real web server, a fake arXiv.

Rule: these run the embedded default (SQLite in a fresh data dir) whatever database the suite is on,
because that is what `up` promises on a fresh machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadsheet.config import render_configuration_doc
from broadsheet.ingest.fake_arxiv import FakeArxiv, start_fake_arxiv

TITLES = ["Sparse retrieval at scale", "Attention is still all you need", "Galaxies $z>6$ in JWST fields"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    lines = []
    for number, (title, categories) in enumerate(
        zip(TITLES, ["cs.IR", "cs.CL cs.LG", "cs.CV astro-ph.GA"], strict=True), start=1
    ):
        lines.append(
            json.dumps(
                {
                    "id": f"2607.{number:05d}",
                    "submitter": None,
                    "authors": "Ada Lovelace, Alan Turing",
                    "title": title,
                    "comments": None,
                    "journal-ref": None,
                    "doi": None,
                    "report-no": None,
                    "categories": categories,
                    "license": None,
                    "abstract": f"Abstract of paper {number}.",
                    "versions": [{"version": "v1", "created": "Wed, 1 Jul 2026 10:00:00 GMT"}],
                    "update_date": "2026-07-02",
                    "authors_parsed": [["Lovelace", "Ada", ""], ["Turing", "Alan", ""]],
                }
            )
        )
    path = tmp_path / "snapshot.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fake_arxiv(snapshot_file: Path) -> Iterator[FakeArxiv]:
    server = start_fake_arxiv(snapshot_file, page_size=2)
    yield server
    server.stop()


def up_environment(tmp_path: Path, port: int, oai_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "BROADSHEET_DATA_DIR": str(tmp_path / "data"),
            "BROADSHEET_PORT": str(port),
            "BROADSHEET_ARXIV_OAI_URL": oai_url,
            "BROADSHEET_ARXIV_API_URL": oai_url.replace("/oai", "/api/query"),
            "BROADSHEET_INGEST_DAYS": "100000",
            "BROADSHEET_REQUEST_DELAY_SECONDS": "0",
            "BROADSHEET_WEB_WORKERS": "1",
        }
    )
    return env


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def wait_for(predicate, timeout_seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def run_up(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "up", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"broadsheet up did not stop on SIGTERM:\n{output}")
    return output


@pytest.mark.slow
def test_up_harvests_from_arxiv_and_serves_the_papers(tmp_path, fake_arxiv):
    port = free_port()
    process = run_up(up_environment(tmp_path, port, fake_arxiv.oai_url))
    base = f"http://127.0.0.1:{port}"
    try:
        served = wait_for(lambda: all(title.split("$")[0] in get(base + "/")[1] for title in TITLES))
    finally:
        output = stop(process)
    assert served, output
    assert "Broadsheet is serving at" in output
    assert "created 3" in output
    assert "3 papers available" in output
    # the web server went down with `up`: nothing listens on its port any more
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.slow
def test_up_without_network_says_so_and_keeps_serving(tmp_path):
    port, closed_port = free_port(), free_port()
    process = run_up(up_environment(tmp_path, port, f"http://127.0.0.1:{closed_port}/oai"))
    base = f"http://127.0.0.1:{port}"
    try:
        serving = wait_for(lambda: get(base + "/")[0] == 200)
        status, _ = get(base + "/")
        time.sleep(1)
    finally:
        output = stop(process)
    assert serving and status == 200, output
    assert "no network" in output
    assert "Serving the 0 papers already in the database." in output
    assert "Email: no SMTP server configured" in output and str(tmp_path) in output  # the outbox folder
    assert "Traceback" not in output


@pytest.mark.slow
def test_up_imports_a_snapshot_file_when_given_one(tmp_path, snapshot_file):
    port = free_port()
    env = up_environment(tmp_path, port, "http://127.0.0.1:9/oai")
    env["BROADSHEET_SNAPSHOT"] = str(snapshot_file)
    process = run_up(env)
    base = f"http://127.0.0.1:{port}"
    try:
        served = wait_for(lambda: TITLES[0] in get(base + "/")[1])
    finally:
        output = stop(process)
    assert served, output
    assert "3 papers available" in output


def test_config_docs_prints_the_configuration_reference():
    result = subprocess.run(
        [sys.executable, "-m", "broadsheet", "config", "docs"], capture_output=True, text=True, check=True
    )
    assert result.stdout == render_configuration_doc()


def test_hyphenated_command_names_reach_django_commands():
    result = subprocess.run(
        [sys.executable, "-m", "broadsheet", "fake-arxiv", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "snapshot" in result.stdout.lower()
