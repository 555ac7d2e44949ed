"""Acceptance: the installed `huggingface_hub` client and its `hf papers` CLI, pointed at a real Broadsheet
server (pytest-django's live server), read Broadsheet's papers as they read Hugging Face's.

Expected values are the rows of the fixture corpus (tests/api/conftest.py), written out literally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

pytestmark = pytest.mark.django_db

HF_CLI = Path(sys.executable).parent / "hf"


@pytest.fixture
def hf_api(live_server, broadsheet) -> HfApi:
    return HfApi(endpoint=live_server.url, token=False)


def listed(papers) -> list[tuple[Any, ...]]:
    """What a reader of list_daily_papers sees of each paper."""
    return [
        (
            paper.id,
            paper.title,
            [author.name for author in paper.authors or []],
            paper.published_at,
            paper.submitted_at,
            paper.upvotes,
            paper.comments,
            paper.submitted_by.username if paper.submitted_by else None,
        )
        for paper in papers
    ]


ENGINES = (
    "2609.00001",
    "Analytical engines",
    ["Ada Lovelace", "Grace Hopper"],
    datetime(2026, 9, 4, 15, 0, tzinfo=UTC),  # arXiv submission
    datetime(2026, 9, 8, 0, 0, tzinfo=UTC),  # Hugging Face daily page
    22,  # 20 on Hugging Face + 2 here
    3,
    "ada",
)
NUMBERS = (
    "2609.00002",
    "Computable numbers",
    ["Alan Turing"],
    datetime(2026, 9, 4, 15, 0, tzinfo=UTC),
    datetime(2026, 9, 8, 0, 0, tzinfo=UTC),
    5,
    0,
    "grace",
)
# no signal: upvotes 0 reads as None in PaperInfo (it takes `paper.upvotes or upvotes`), as with Hugging Face
COMPILERS = (
    "2609.00003",
    "Compilers for everyone",
    ["Grace Hopper"],
    datetime(2026, 9, 5, 15, 0, tzinfo=UTC),
    datetime(2026, 9, 8, 0, 0, tzinfo=UTC),  # its announcement day
    None,
    0,
    None,
)
HELIX = (
    "2609.00004",
    "Double helix",
    ["Rosalind Franklin"],
    datetime(2026, 9, 11, 15, 0, tzinfo=UTC),
    datetime(2026, 9, 14, 0, 0, tzinfo=UTC),
    None,
    0,
    None,
)
RADIO = (
    "2608.00005",
    "Radio astronomy",
    ["Jocelyn Bell"],
    datetime(2026, 8, 28, 15, 0, tzinfo=UTC),
    datetime(2026, 8, 31, 0, 0, tzinfo=UTC),
    None,
    0,
    None,
)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [HELIX]),  # no period: the newest day with papers
        ({"date": "2026-09-07"}, [NUMBERS, ENGINES]),  # newest first, then the higher arXiv id
        ({"date": "2026-09-07", "sort": "trending"}, [ENGINES, NUMBERS]),
        ({"week": "2026-W37"}, [COMPILERS, NUMBERS, ENGINES]),
        ({"week": "2026-W37", "sort": "trending"}, [ENGINES, NUMBERS, COMPILERS]),
        ({"month": "2026-09"}, [HELIX, COMPILERS, NUMBERS, ENGINES]),
        ({"month": "2026-09", "sort": "trending"}, [ENGINES, NUMBERS, HELIX, COMPILERS]),
        ({"month": "2026-08"}, [RADIO]),
        ({"month": "2026-09", "submitter": "grace"}, [NUMBERS]),
        ({"month": "2026-09", "limit": 3, "p": 1}, [ENGINES]),
        ({"date": "2026-09-09"}, []),
    ],
)
def test_list_daily_papers_reads_days_weeks_and_months(hf_api: HfApi, options, expected) -> None:
    assert listed(hf_api.list_daily_papers(**options)) == expected


def test_list_daily_papers_matches_the_database_rows(hf_api: HfApi) -> None:
    from broadsheet.papers.models import Paper, PaperAuthor

    papers = list(hf_api.list_daily_papers(month="2026-09"))
    for paper in papers:
        row = Paper.objects.get(arxiv_id=paper.id)
        authorships = PaperAuthor.objects.filter(paper=row).order_by("position")
        names = list(authorships.values_list("name", flat=True))
        assert (paper.title, paper.summary, [author.name for author in paper.authors or []]) == (
            row.title, row.abstract, names,
        )
        assert paper.published_at == row.submitted_at
    assert len(papers) == Paper.objects.filter(announced_on__month=9, announced_on__year=2026).count()


def test_list_daily_papers_bad_parameters_raise_the_servers_message(hf_api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as raised:
        list(hf_api.list_daily_papers(week="2026-W54"))
    assert raised.value.response.status_code == 400
    assert "'2026-W54' is not a week: 2026 has no ISO week 54" in str(raised.value)


def test_list_papers_searches(hf_api: HfApi) -> None:
    papers = list(hf_api.list_papers(query="analytical engines"))
    assert listed(papers)[0] == ENGINES
    assert papers[0].summary == "The abstract of analytical engines."


def test_paper_info_reads_every_field(hf_api: HfApi) -> None:
    info = hf_api.paper_info("2609.00001")
    assert (info.id, info.title, info.summary, [author.name for author in info.authors or []]) == (
        "2609.00001", "Analytical engines", "The abstract of analytical engines.",
        ["Ada Lovelace", "Grace Hopper"],
    )
    assert (info.published_at, info.submitted_at) == (
        datetime(2026, 9, 4, 15, 0, tzinfo=UTC), datetime(2026, 9, 8, 0, 0, tzinfo=UTC),
    )
    assert (info.upvotes, info.github_repo, info.github_stars, info.project_page) == (
        22, "https://github.com/ada/engine", 1234, "https://engine.example/",
    )
    assert (info.ai_summary, info.ai_keywords) == ("Engines, summarised.", ["engines", "analysis"])
    assert info.submitted_by is not None and info.organization is not None
    assert (info.submitted_by.username, info.organization.fullname) == ("ada", "Analytical Society")


def test_paper_info_takes_old_style_ids_and_404s_unknown_ones(hf_api: HfApi) -> None:
    assert hf_api.paper_info("hep-th/9901001").title == "Strings"
    with pytest.raises(HfHubHTTPError) as raised:
        hf_api.paper_info("2609.99999")
    assert raised.value.response.status_code == 404


def test_read_paper_returns_the_markdown_page(hf_api: HfApi, live_server) -> None:
    from django.conf import settings

    text = hf_api.read_paper("2609.00002")
    assert text == (
        "# Computable numbers\n"
        "\n"
        "- **arXiv:** 2609.00002v1\n"
        "- **Authors:** Alan Turing\n"
        "- **Categories:** cs.CL\n"
        "- **Submitted:** 2026-09-04\n"
        "- **Announced:** 2026-09-07\n"
        "- **Upvotes:** 5\n"
        "\n"
        "## Abstract\n"
        "\n"
        "The abstract of computable numbers.\n"
        "\n"
        "## Links\n"
        "\n"
        f"- [Broadsheet]({settings.BASE_URL}/papers/2609.00002/)\n"
        "- [arXiv](https://arxiv.org/abs/2609.00002v1)\n"
        "- [PDF](https://arxiv.org/pdf/2609.00002v1)\n"
        "- [HTML](https://arxiv.org/html/2609.00002v1)\n"
    )


def run_hf_cli(live_server, tmp_path: Path, *args: str) -> Any:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))
    }
    environment.update({
        "HF_ENDPOINT": live_server.url,
        "HF_HOME": str(tmp_path / "hf-home"),  # no saved token, no cache of anyone's
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "NO_COLOR": "1",
    })
    finished = subprocess.run(
        [str(HF_CLI), "papers", *args, "--format", "json"],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.mark.skipif(not HF_CLI.exists(), reason="the hf CLI is not installed beside this Python")
def test_hf_papers_cli_lists_and_shows_papers(live_server, broadsheet, tmp_path: Path) -> None:
    rows = run_hf_cli(live_server, tmp_path, "ls", "--week", "2026-W37", "--sort", "trending")
    # the CLI leaves out empty fields (upvotes 0 reads as None, as above)
    assert [(row["id"], row["title"], row.get("upvotes")) for row in rows] == [
        ("2609.00001", "Analytical engines", 22),
        ("2609.00002", "Computable numbers", 5),
        ("2609.00003", "Compilers for everyone", None),
    ]
    info = run_hf_cli(live_server, tmp_path, "info", "2609.00001")
    assert (info["id"], info["title"], info["upvotes"], info["github_repo"], info["github_stars"]) == (
        "2609.00001", "Analytical engines", 22, "https://github.com/ada/engine", 1234,
    )
