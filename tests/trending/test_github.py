"""GitHub stars: repository links parse, samples are kept over time, 404s mark repositories missing, the
token is sent, and GitHub's rate limit stops a run cleanly with the time it resumes (a fake GitHub on
127.0.0.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from broadsheet.ingest.records import PaperRecord
from broadsheet.trending.fake_upstreams import FakeGitHub
from broadsheet.trending.github import (
    GitHubAuthError,
    GitHubClient,
    parse_github_repo,
    rate_limit_resume_at,
    repos_to_sample,
    sample_stars,
    store_star_samples,
)
from broadsheet.trending.hf_daily import HfItem, midnight, store_daily_papers

from .conftest import client_options

NOW = datetime(2026, 8, 22, 6, 0, tzinfo=UTC)
RESET = 1787400000  # 2026-08-22T12:00:00Z
RESET_AT = datetime(2026, 8, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/Owner/Repo", ("owner/repo", "https://github.com/Owner/Repo")),
        ("http://www.github.com/Owner/Repo/", ("owner/repo", "https://github.com/Owner/Repo")),
        ("https://github.com/o-1/re.po_x/tree/main/sub", ("o-1/re.po_x", "https://github.com/o-1/re.po_x")),
        ("https://github.com/Owner/Repo.git", ("owner/repo", "https://github.com/Owner/Repo")),
        ("https://github.com/Owner/Repo#readme", ("owner/repo", "https://github.com/Owner/Repo")),
        ("https://github.com/Owner", None),
        ("https://github.com/orgs/owner/repositories", None),
        ("https://github.com/features/copilot", None),
        ("https://gitlab.com/owner/repo", None),
        ("https://github.com.evil.example/owner/repo", None),
        ("https://github.com/-bad/repo", None),
        ("javascript:alert(1)//github.com/a/b", None),
    ],
)
def test_repository_links_parse_to_a_full_name_and_canonical_url(url, expected):
    assert parse_github_repo(url) == expected


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


@pytest.mark.parametrize(
    ("status", "given", "message", "expected"),
    [
        (200, headers(X_RateLimit_Remaining="10", X_RateLimit_Reset=str(RESET)), "", None),
        (200, headers(X_RateLimit_Remaining="0", X_RateLimit_Reset=str(RESET)), "", RESET_AT),
        (404, headers(X_RateLimit_Remaining="0", X_RateLimit_Reset=str(RESET)), "Not Found", RESET_AT),
        (
            403,
            headers(X_RateLimit_Remaining="0", X_RateLimit_Reset=str(RESET)),
            "API rate limit exceeded",
            RESET_AT,
        ),
        (
            403,
            headers(Retry_After="90", X_RateLimit_Remaining="12"),
            "secondary rate limit",
            NOW + timedelta(seconds=90),
        ),
        (429, headers(), "", NOW + timedelta(minutes=1)),
        (
            403,
            headers(X_RateLimit_Remaining="30"),
            "You have exceeded a secondary rate limit",
            NOW + timedelta(minutes=1),
        ),
        (403, headers(X_RateLimit_Remaining="30"), "Repository access blocked", None),
        (500, headers(X_RateLimit_Remaining="0", X_RateLimit_Reset=str(RESET)), "", None),
    ],
)
def test_rate_limit_answers_say_when_to_resume(status, given, message, expected):
    assert rate_limit_resume_at(status, given, message, NOW) == expected


def hf_item(arxiv_id: str, repo: str) -> HfItem:
    full_name, url = parse_github_repo(f"https://github.com/{repo}") or ("", "")
    return HfItem(
        record=PaperRecord(arxiv_id=arxiv_id, title=f"Paper {arxiv_id}", authors=["A. Author"]),
        upvotes=1,
        num_comments=0,
        github_url=url,
        github_full_name=full_name,
        submitted_on_daily_at=NOW,
    )


def link_repos(daily_on: date, *pairs: tuple[str, str]) -> None:
    """Papers on the Hugging Face page of `daily_on` linking these repositories, through the importer."""
    store_daily_papers(
        [hf_item(arxiv_id, repo) for arxiv_id, repo in pairs],
        daily_on=daily_on,
        observed_at=midnight(daily_on + timedelta(days=1)),
        now=NOW,
    )


def repo_rows():
    from broadsheet.trending.models import GitHubRepo, StarSample

    return (
        list(
            GitHubRepo.objects.order_by("full_name").values_list(
                "full_name", "stars", "last_sampled_at", "checked_at", "missing"
            )
        ),
        list(
            StarSample.objects.order_by("repo__full_name", "sampled_at").values_list(
                "repo__full_name", "sampled_at", "stars"
            )
        ),
    )


@pytest.fixture
def github(start_server):
    def start(**options) -> FakeGitHub:
        options.setdefault("reset_at", RESET)
        stars = options.pop("stars", {"Ada/Engine": 120, "Grace/Compiler": 7, "Alan/Machine": 3000})
        return start_server(FakeGitHub(stars, **options))

    return start


def github_client(fake: FakeGitHub, clock, **options) -> GitHubClient:
    return GitHubClient(base_url=fake.url, **client_options(clock, **options))


@pytest.mark.django_db
def test_sampling_keeps_a_sample_per_repository_and_marks_404s_missing(github, fake_clock):
    fake = github(renamed={"grace/old-compiler": "Grace/Compiler"})
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"), ("2608.00002", "nobody/gone"))
    link_repos(date(2026, 8, 20), ("2608.00003", "grace/old-compiler"))
    with github_client(fake, fake_clock) as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert (result.sampled, result.missing, result.failed, result.resume_at) == (2, 1, 0, None)
    assert result.summary() == "github stars: 2 sampled, 1 missing, 0 failed"
    sampled_at = fake_clock.now()
    assert repo_rows() == (
        [
            ("ada/engine", 120, sampled_at, sampled_at, False),
            ("grace/old-compiler", 7, sampled_at, sampled_at, False),  # followed GitHub's redirect
            ("nobody/gone", None, None, sampled_at, True),
        ],
        [("ada/engine", sampled_at, 120), ("grace/old-compiler", sampled_at, 7)],
    )
    assert [request.path for request in fake.requests] == [
        "/repos/ada/engine",
        "/repos/grace/old-compiler",
        "/repos/Grace/Compiler",
        "/repos/nobody/gone",
    ]
    assert "authorization" not in fake.requests[0].headers
    assert fake.requests[0].headers["accept"] == "application/vnd.github+json"


@pytest.mark.django_db
def test_samples_accumulate_over_time(github, fake_clock):
    fake = github()
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"))
    first = fake_clock.now()
    with github_client(fake, fake_clock) as client:
        sample_stars(client, now=first, recent_days=14, clock=lambda: first)
        fake.set_stars("Ada/Engine", 150)
        # within a day the repository is not due again
        assert (
            sample_stars(client, now=first + timedelta(hours=5), recent_days=14, clock=fake_clock.now).sampled
            == 0
        )
        later = first + timedelta(days=1)
        sample_stars(client, now=later, recent_days=14, clock=lambda: later)
    assert repo_rows() == (
        [("ada/engine", 150, later, later, False)],
        [("ada/engine", first, 120), ("ada/engine", later, 150)],
    )


@pytest.mark.django_db
def test_the_token_is_sent_as_a_bearer_header(github, fake_clock):
    fake = github(token="s3cret-token", anonymous_limit=0)
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"))
    with github_client(fake, fake_clock, token="s3cret-token") as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert result.sampled == 1
    assert fake.requests[0].headers["authorization"] == "Bearer s3cret-token"


@pytest.mark.django_db
def test_a_refused_token_stops_the_run(github, fake_clock):
    fake = github(token="right")
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"), ("2608.00002", "grace/compiler"))
    with github_client(fake, fake_clock, token="wrong") as client, pytest.raises(GitHubAuthError) as caught:
        sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert (
        str(caught.value)
        == f"{fake.url}/repos/ada/engine: HTTP 401 Bad credentials: check BROADSHEET_GITHUB_TOKEN"
    )
    assert len(fake.requests) == 1


@pytest.mark.django_db
def test_an_exhausted_budget_stops_before_the_next_request(github, fake_clock):
    fake = github(anonymous_limit=2)
    link_repos(
        date(2026, 8, 21),
        ("2608.00001", "ada/engine"),
        ("2608.00002", "grace/compiler"),
        ("2608.00003", "alan/machine"),
        ("2608.00004", "nobody/gone"),
    )
    with github_client(fake, fake_clock) as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert (result.sampled, result.left, result.resume_at) == (2, 2, RESET_AT)
    assert result.summary() == (
        "github stars: 2 sampled, 0 missing, 0 failed; rate limit reached with 2 left, "
        "resumes after 2026-08-22T12:00:00Z"
    )
    assert len(fake.requests) == 2  # the third would have been refused: it was not sent
    assert fake_clock.sleeps == []  # a limit is a stop, never a sleep


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fault", "resume_at"),
    [
        (
            {"status": 403, "headers": {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)}},
            RESET_AT,
        ),
        ({"status": 429, "retry_after": "30"}, NOW + timedelta(seconds=30)),
        ({"status": 403, "retry_after": "60"}, NOW + timedelta(seconds=60)),
    ],
)
def test_a_rate_limited_answer_stops_the_run_with_its_resume_time(github, fake_clock, fault, resume_at):
    fake = github()
    fake.add_fault(**fault)
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"), ("2608.00002", "grace/compiler"))
    fake_clock.wall = NOW
    with github_client(fake, fake_clock) as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert (result.sampled, result.left, result.resume_at) == (0, 2, resume_at)
    assert repo_rows() == (
        [("ada/engine", None, None, None, False), ("grace/compiler", None, None, None, False)],
        [],
    )
    assert len(fake.requests) == 1


@pytest.mark.django_db
def test_server_errors_are_retried(github, fake_clock):
    fake = github()
    fake.add_fault(status=502)
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"))
    with github_client(fake, fake_clock) as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert result.sampled == 1
    assert fake_clock.sleeps == [1.0]


@pytest.mark.django_db
def test_a_repository_that_keeps_failing_is_counted_and_the_run_goes_on(github, fake_clock):
    fake = github()
    fake.add_fault(status=500, count=4, match="/repos/ada/")
    link_repos(date(2026, 8, 21), ("2608.00001", "ada/engine"), ("2608.00002", "grace/compiler"))
    with github_client(fake, fake_clock) as client:
        result = sample_stars(client, now=NOW, recent_days=14, clock=fake_clock.now)
    assert (result.sampled, result.failed) == (1, 1)


@pytest.mark.django_db
def test_repositories_of_recent_papers_are_sampled_first():
    from broadsheet.trending.models import GitHubRepo

    link_repos(date(2026, 5, 1), ("2605.00001", "old/never-checked"), ("2605.00002", "old/missing-long-ago"))
    link_repos(date(2026, 8, 20), ("2608.00001", "new/checked-days-ago"), ("2608.00002", "new/never-checked"))
    link_repos(
        date(2026, 8, 21), ("2608.00003", "new/checked-an-hour-ago"), ("2608.00004", "new/missing-lately")
    )
    checked = {
        "new/checked-days-ago": (NOW - timedelta(days=2), False),
        "new/checked-an-hour-ago": (NOW - timedelta(hours=1), False),
        "new/missing-lately": (NOW - timedelta(days=10), True),
        "old/missing-long-ago": (NOW - timedelta(days=40), True),
    }
    for full_name, (checked_at, missing) in checked.items():
        GitHubRepo.objects.filter(full_name=full_name).update(checked_at=checked_at, missing=missing)
    assert [repo.full_name for repo in repos_to_sample(NOW, recent_days=14)] == [
        "new/never-checked",
        "new/checked-days-ago",
        "old/never-checked",
        "old/missing-long-ago",  # asked again after a month: it may be public again
    ]
    assert [repo.full_name for repo in repos_to_sample(NOW, recent_days=14, limit=1)] == ["new/never-checked"]


@pytest.mark.django_db
def test_two_samples_at_one_moment_keep_the_larger_count():
    from broadsheet.trending.github import ensure_repos

    repo_id = ensure_repos(["ada/engine"])["ada/engine"]
    store_star_samples([(repo_id, NOW, 10), (repo_id, NOW, 12)])
    store_star_samples([(repo_id, NOW, 11), (repo_id, NOW - timedelta(days=1), 5)])
    assert repo_rows() == (
        [("ada/engine", 12, NOW, None, False)],
        [("ada/engine", NOW - timedelta(days=1), 5), ("ada/engine", NOW, 12)],
    )
