"""`broadsheet ingest hf` and `broadsheet trending compute|stars`: thin adapters printing one line; the
scheduled tasks run the same commands."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from broadsheet.trending.fake_upstreams import FakeGitHub, FakeHfDaily

from .conftest import FIXTURES, HF_DAILY


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def point_at(settings):
    def point(**extra):
        settings.BROADSHEET = {
            **settings.BROADSHEET,
            "REQUEST_DELAY_SECONDS": 0.0,
            "GITHUB_REQUEST_DELAY_SECONDS": 0.0,
            "GITHUB_TOKEN": "",
            "CATEGORIES": [],
            **extra,
        }

    return point


@pytest.mark.django_db
def test_ingest_hf_dir_imports_saved_responses_and_prints_a_summary(point_at):
    point_at()
    out, _ = run("ingest", "hf", "--dir", str(HF_DAILY))
    assert out.startswith(
        f"hf {HF_DAILY}: 2 responses, 5 items (papers created 4, updated 0, unchanged 1, skipped 0), "
        "5 observations, 2 star samples in "
    )


@pytest.mark.django_db
def test_ingest_hf_dir_stops_at_a_malformed_file_or_skips_it(point_at):
    point_at()
    with pytest.raises(CommandError, match=r"2026-08-22\.json: malformed JSON at line 3 column 22"):
        run("ingest", "hf", "--dir", str(FIXTURES / "hf_bad_json"))
    out, err = run("ingest", "hf", "--dir", str(FIXTURES / "hf_bad_json"), "--skip-invalid")
    assert err.startswith(f"skipped: {FIXTURES / 'hf_bad_json' / '2026-08-22.json'}: malformed JSON")
    assert ", 1 responses skipped" in out


@pytest.mark.django_db
def test_ingest_hf_fetches_a_range_of_daily_pages(point_at, start_server):
    fake = start_server(FakeHfDaily.from_folder(HF_DAILY))
    point_at(HF_URL=fake.url)
    out, _ = run("ingest", "hf", "--from", "2026-08-20", "--until", "2026-08-22")
    assert out.startswith("hf 2026-08-20 to 2026-08-22: 3 responses, 5 items (papers created 4, ")
    assert [request.params["date"] for request in fake.requests] == ["2026-08-20", "2026-08-21", "2026-08-22"]


@pytest.mark.django_db
def test_ingest_hf_days_counts_back_from_today(point_at, start_server):
    fake = start_server(FakeHfDaily({}))
    point_at(HF_URL=fake.url)
    run("ingest", "hf", "--days", "2")
    today = timezone.now().astimezone(UTC).date()
    assert [request.params["date"] for request in fake.requests] == [
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dir", "x", "--date", "2026-08-20"], "--dir takes no --date, --from, --until or --days"),
        (["--date", "2026-08-20", "--from", "2026-08-19"], "give either --date or --from/--until"),
        (["--from", "2026-08-21", "--until", "2026-08-20"], "--until 2026-08-20 is before --from 2026-08-21"),
        (["--days", "0"], "--days takes a positive number and no --date, --from or --until"),
        (["--skip-invalid"], "--skip-invalid goes with --dir"),
    ],
)
def test_ingest_hf_refuses_contradicting_options(args, message, point_at):
    point_at()
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("ingest", "hf", *args)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_ingest_hf_without_network_is_status_3(point_at):
    point_at(HF_URL=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(CommandError) as caught:
        run("ingest", "hf", "--date", "2026-08-20")
    assert caught.value.returncode == 3


@pytest.mark.django_db
def test_trending_compute_prints_what_it_scored(point_at):
    point_at()
    run("ingest", "hf", "--dir", str(HF_DAILY))
    out, _ = run("trending", "compute", "--now", "2026-08-22T00:00Z", "--window-days", "30")
    assert out.startswith("trending as of 2026-08-22T00:00:00Z: 4 papers scored, 0 left the list in ")
    with pytest.raises(CommandError, match="must cover the 7 days"):
        run("trending", "compute", "--window-days", "3")


@pytest.mark.django_db
def test_trending_stars_reports_the_rate_limit_and_when_it_resumes(point_at, start_server):
    reset = int((timezone.now() + timedelta(hours=1)).timestamp())
    fake = start_server(FakeGitHub({"Analytical-Engine/Tiny-Engines": 80}, anonymous_limit=1, reset_at=reset))
    point_at(GITHUB_API_URL=fake.url)
    run("ingest", "hf", "--dir", str(HF_DAILY))
    out, _ = run("trending", "stars")
    assert out == "github stars: 1 sampled, 0 missing, 0 failed\n"
    from broadsheet.trending.github import ensure_repos

    ensure_repos(["another/repo"])
    out, _ = run("trending", "stars")
    resumes = datetime.fromtimestamp(reset, UTC).isoformat().replace("+00:00", "Z")
    assert out == (
        f"github stars: 0 sampled, 0 missing, 0 failed; rate limit reached with 1 left, "
        f"resumes after {resumes}\n"
    )


@pytest.mark.django_db
def test_scheduled_tasks_run_the_commands(point_at, start_server):
    from broadsheet.trending import tasks
    from broadsheet.trending.models import HfObservation, TrendingScore

    today = timezone.now().astimezone(UTC).date()
    fake = start_server(FakeHfDaily({today: (HF_DAILY / "2026-08-20.json").read_bytes()}))
    point_at(HF_URL=fake.url)
    tasks.import_hf_daily.call_local()
    assert list(HfObservation.objects.order_by("upvotes").values_list("daily_on", "upvotes")) == [
        (today, 3),
        (today, 12),
    ]
    tasks.compute_trending_scores.call_local()
    assert TrendingScore.objects.count() == 2


def test_schedules_can_be_turned_off():
    from broadsheet.trending.tasks import minutes_schedule

    never = minutes_schedule(0)
    every_quarter = minutes_schedule(15)
    moments = [datetime(2026, 8, 22, 10, minute) for minute in (0, 7, 15, 30)]
    assert [never(moment) for moment in moments] == [False, False, False, False]
    assert [every_quarter(moment) for moment in moments] == [True, False, True, True]
    assert [minutes_schedule(60)(moment) for moment in moments] == [True, False, False, False]
