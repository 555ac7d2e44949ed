"""`broadsheet ingest oai|api|snapshot`: thin adapters that print one summary line, and exit 3 offline."""

from __future__ import annotations

import io
import socket
import subprocess

import pytest
from django.core.management import CommandError, call_command

from broadsheet.ingest.models import HarvestState
from broadsheet.papers.models import Paper


@pytest.fixture
def point_at(settings):
    """Point the ingest settings at a fake arXiv, with no politeness delay."""

    def point(fake, **extra):
        settings.BROADSHEET = {
            **settings.BROADSHEET,
            "ARXIV_OAI_URL": fake.oai_url,
            "ARXIV_API_URL": fake.api_url,
            "REQUEST_DELAY_SECONDS": 0.0,
            "CATEGORIES": [],
            **extra,
        }

    return point


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_ingest_oai_harvests_each_set_and_prints_a_summary(fake_arxiv, point_at):
    point_at(fake_arxiv)
    out, _ = run("oai", "--from", "2024-01-01", "--set", "physics:astro-ph", "math")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "oai physics:astro-ph (arXivRaw, from 2024-01-01): 1 papers (created 1, updated 0, "
        "unchanged 0, deleted 0, skipped 0) in "
    )
    assert lines[1].startswith("oai math (arXivRaw, from 2024-01-01): 2 papers (created 2, ")
    assert lines[1].endswith(" papers/s")
    assert sorted(HarvestState.objects.values_list("key", flat=True)) == [
        "oai:arXivRaw|math|2024-01-01|",
        "oai:arXivRaw|physics:astro-ph|2024-01-01|",
    ]


@pytest.mark.django_db
def test_ingest_oai_defaults_to_the_configured_sets_and_days(fake_arxiv, point_at):
    point_at(fake_arxiv, OAI_SETS=["stat"], INGEST_DAYS=100000, OAI_METADATA_PREFIX="arXiv")
    out, _ = run("oai")
    assert out.startswith("oai stat (arXiv, from ")
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.00012"]


@pytest.mark.django_db
def test_ingest_oai_without_network_is_status_3(point_at, fake_arxiv):
    fake_arxiv.oai_url = f"http://127.0.0.1:{closed_port()}/oai"
    point_at(fake_arxiv)
    with pytest.raises(CommandError) as caught:
        run("oai", "--set", "cs")
    assert caught.value.returncode == 3
    assert str(caught.value).startswith("no network: http://127.0.0.1:")
    assert str(caught.value).endswith("; serving what we have")


@pytest.mark.django_db
def test_ingest_api_by_ids_reports_unknown_ids(fake_arxiv, point_at):
    point_at(fake_arxiv)
    out, err = run("api", "2401.00001", "hep-th/9901001", "2401.99999")
    assert out.startswith("api 3 ids: 2 papers (created 2, updated 0, unchanged 0, deleted 0, skipped 0) in ")
    assert err == "not found on arXiv: 2401.99999\n"
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.00001", "hep-th/9901001"]


@pytest.mark.django_db
def test_ingest_api_by_query(fake_arxiv, point_at):
    point_at(fake_arxiv)
    out, _ = run("api", "--query", "all:language", "--max", "2")
    assert out.startswith("api query 'all:language': 2 papers (created 2, ")


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["api"], ["api", "2401.00001", "--query", "all:x"]])
def test_ingest_api_wants_ids_or_a_query(args):
    with pytest.raises(CommandError, match="give either arXiv ids or --query"):
        run(*args)


@pytest.mark.django_db
def test_ingest_snapshot_imports_a_file(snapshot_fixture):
    out, _ = run("snapshot", str(snapshot_fixture), "--batch-size", "4")
    assert out.startswith(
        f"snapshot {snapshot_fixture}: 10 papers (created 10, updated 0, unchanged 0, deleted 0, "
        "skipped 0) in "
    )
    assert Paper.objects.count() == 10


@pytest.mark.django_db
def test_ingest_snapshot_of_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("snapshot", str(tmp_path / "missing.jsonl"))


@pytest.mark.django_db(transaction=True)
def test_cli_without_network_prints_one_line_and_exits_3(child_process):
    env = child_process["env"](BROADSHEET_ARXIV_OAI_URL=f"http://127.0.0.1:{closed_port()}/oai")
    done = subprocess.run(
        [*child_process["command"], "ingest", "oai"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "no network: http://127.0.0.1:" in line and "Traceback" not in done.stderr
