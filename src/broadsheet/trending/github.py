"""GitHub star counts of repositories linked from papers, sampled over time (`GET /repos/{owner}/{repo}`).

Rule: every count is kept as a StarSample at its time, so "stars gained this week" is a difference of two;
GitHub's rate limit stops a run cleanly and says when it resumes (it never sleeps for an hour), and a 404
marks the repository missing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery

from broadsheet.ingest.http import PoliteClient, UpstreamError, UpstreamUnreachable, parse_retry_after
from broadsheet.trending.models import GitHubRepo, HfPaperInfo, StarSample

logger = logging.getLogger(__name__)

QUERY_CHUNK = 500
# a repository asked about less than this long ago is not asked again (the schedule is daily)
RESAMPLE_AFTER = timedelta(hours=20)
# a repository GitHub said is gone is asked again after this long: it may have been made public again
MISSING_RECHECK_AFTER = timedelta(days=30)
# GitHub asks clients that hit a secondary rate limit without a Retry-After to wait at least a minute
SECONDARY_LIMIT_WAIT = timedelta(minutes=1)
API_VERSION = "2022-11-28"

_GITHUB_URL = re.compile(
    r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})(?:[/?#].*)?$",
    re.IGNORECASE,
)
# first path segments of github.com that are site pages, not owners
_NOT_OWNERS = frozenset(
    {
        "about",
        "apps",
        "collections",
        "enterprise",
        "explore",
        "features",
        "marketplace",
        "orgs",
        "settings",
        "sponsors",
        "topics",
        "users",
    }
)


def parse_github_repo(url: str) -> tuple[str, str] | None:
    """`https://github.com/Owner/Repo/tree/main/x` -> ('owner/repo', 'https://github.com/Owner/Repo');
    None for anything that does not name a repository (another host, an owner page, a site page)."""
    match = _GITHUB_URL.match(url.strip())
    if not match:
        return None
    owner, name = match.group(1), match.group(2)
    if name.lower().endswith(".git"):
        name = name[:-4]
    if owner.lower() in _NOT_OWNERS or name in ("", ".", ".."):
        return None
    return f"{owner}/{name}".lower(), f"https://github.com/{owner}/{name}"


def _chunks(items: list, size: int = QUERY_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ensure_repos(full_names: Iterable[str]) -> dict[str, int]:
    """GitHubRepo ids by full name, creating the repositories not yet known."""
    names = sorted(set(full_names))
    if not names:
        return {}
    GitHubRepo.objects.bulk_create([GitHubRepo(full_name=name) for name in names], ignore_conflicts=True)
    ids: dict[str, int] = {}
    for chunk in _chunks(names):
        ids.update(GitHubRepo.objects.filter(full_name__in=chunk).values_list("full_name", "id"))
    return ids


def store_star_samples(samples: Iterable[tuple[int, datetime, int]]) -> int:
    """Keep (repo id, sampled_at, stars) samples and point each repository at its latest one.

    Two samples of one repository at the same moment keep the larger count, whatever their order.
    Returns the number of samples written or raised.
    """
    best: dict[tuple[int, datetime], int] = {}
    for repo_id, sampled_at, stars in samples:
        key = (repo_id, sampled_at)
        best[key] = max(stars, best.get(key, stars))
    if not best:
        return 0
    repo_ids = sorted({repo_id for repo_id, _ in best})
    moments = {sampled_at for _, sampled_at in best}
    existing: dict[tuple[int, datetime], tuple[int, int]] = {}
    for chunk in _chunks(repo_ids):
        for pk, repo_id, sampled_at, stars in StarSample.objects.filter(
            repo_id__in=chunk, sampled_at__in=moments
        ).values_list("pk", "repo_id", "sampled_at", "stars"):
            existing[(repo_id, sampled_at)] = (pk, stars)
    new, raised = [], []
    for (repo_id, sampled_at), stars in best.items():
        known = existing.get((repo_id, sampled_at))
        if known is None:
            new.append(StarSample(repo_id=repo_id, sampled_at=sampled_at, stars=stars))
        elif stars > known[1]:
            raised.append(StarSample(pk=known[0], repo_id=repo_id, sampled_at=sampled_at, stars=stars))
    StarSample.objects.bulk_create(new, batch_size=1000)
    StarSample.objects.bulk_update(raised, ["stars"], batch_size=500)
    latest = StarSample.objects.filter(repo_id=OuterRef("pk")).order_by("-sampled_at", "-stars")
    for chunk in _chunks(repo_ids):
        GitHubRepo.objects.filter(pk__in=chunk).update(
            stars=Subquery(latest.values("stars")[:1]),
            last_sampled_at=Subquery(latest.values("sampled_at")[:1]),
        )
    return len(new) + len(raised)


# ---------------------------------------------------------------------------------------------
# the API


class GitHubRateLimited(Exception):
    """GitHub refuses more requests until `resume_at`."""

    def __init__(self, resume_at: datetime, detail: str = "") -> None:
        super().__init__(f"GitHub rate limit reached; resumes after {resume_at.isoformat()}")
        self.resume_at = resume_at
        self.detail = detail


class GitHubAuthError(UpstreamError):
    """GitHub refused the token (401): every further request would fail the same way."""


@dataclass(frozen=True)
class RepoAnswer:
    full_name: str
    stars: int | None  # None when missing
    missing: bool = False


def rate_limit_resume_at(status: int, headers: httpx.Headers, message: str, now: datetime) -> datetime | None:
    """When a rate-limited answer may be retried; None when the answer is not a rate limit.

    GitHub answers 403 or 429 for its primary limit (X-RateLimit-Remaining 0, X-RateLimit-Reset in epoch
    seconds) and for secondary limits (Retry-After, or only a message). A 200 with Remaining 0 is a good
    answer, but the next request would be refused: that is reported too.
    """
    remaining = headers.get("X-RateLimit-Remaining", "").strip()
    reset_raw = headers.get("X-RateLimit-Reset", "").strip()
    reset_at = datetime.fromtimestamp(int(reset_raw), UTC) if reset_raw.isdigit() else None
    if status == 200 or status == 404:
        return reset_at if remaining == "0" and reset_at is not None else None
    if status not in (403, 429):
        return None
    retry_after = parse_retry_after(headers.get("Retry-After"), now)
    if retry_after is not None:
        return now + timedelta(seconds=retry_after)
    if remaining == "0" and reset_at is not None:
        return reset_at
    if status == 429 or "rate limit" in message.lower():
        return reset_at if reset_at is not None and reset_at > now else now + SECONDARY_LIMIT_WAIT
    return None  # a plain 403: this repository is blocked, not the client


class GitHubClient(PoliteClient):
    """PoliteClient for GitHub's REST API: sends the token, and hands 4xx answers back to the caller.

    PoliteClient retries 429s and turns other 4xx into errors without their headers; GitHub's rate limit
    lives in those headers, and a limit that resets in an hour must stop the run, not be slept through.
    Connection failures and 5xx are retried as PoliteClient does.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        **options: Any,
    ) -> None:
        super().__init__(wall_clock=wall_clock, **options)
        self.base_url = base_url.rstrip("/")
        self._http.headers["Accept"] = "application/vnd.github+json"
        self._http.headers["X-GitHub-Api-Version"] = API_VERSION
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        self.limited_until: datetime | None = None

    def __enter__(self) -> GitHubClient:
        return self

    def _get_answer(self, url: str) -> httpx.Response:
        host = httpx.URL(url).host
        attempt = 0
        while True:
            self.wait_turn(host)
            retry_after: float | None = None
            try:
                response = self._http.get(url)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if host not in self._reached_hosts:
                    raise UpstreamUnreachable(url, f"cannot connect ({exc})") from exc
                problem = f"cannot connect ({exc})"
            except httpx.TimeoutException as exc:
                problem = f"timed out after {self.timeout_seconds:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"connection dropped ({type(exc).__name__}: {exc})"
            else:
                self._reached_hosts.add(host)
                if response.status_code < 500:
                    self._last_request_done[host] = self.monotonic()
                    return response
                problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.wall_clock())
            self._last_request_done[host] = self.monotonic()
            attempt += 1
            if attempt > self.max_retries:
                raise UpstreamError(url, f"{problem}; gave up after {attempt} attempts")
            wait = self.backoff_wait(attempt) if retry_after is None else retry_after
            wait = min(wait, self.retry_after_cap_seconds)
            logger.warning("%s: %s; retry %d/%d in %.1f s", url, problem, attempt, self.max_retries, wait)
            if wait > 0:
                self.sleep(wait)

    def fetch_repo(self, full_name: str) -> RepoAnswer:
        """The star count of `owner/name`; raises GitHubRateLimited, or UpstreamError for other failures."""
        now = self.wall_clock()
        if self.limited_until is not None and self.limited_until > now:
            raise GitHubRateLimited(self.limited_until)
        url = f"{self.base_url}/repos/{full_name}"
        response = self._get_answer(url)
        status = response.status_code
        message = ""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            message = payload["message"]
        resume_at = rate_limit_resume_at(status, response.headers, message, now)
        if status in (403, 429) and resume_at is not None:
            self.limited_until = resume_at
            raise GitHubRateLimited(resume_at, message)
        # the answer is good, but GitHub will refuse the next request until the reset
        self.limited_until = resume_at
        if status in (404, 410, 451):
            return RepoAnswer(full_name, None, missing=True)
        if status == 401:
            raise GitHubAuthError(url, f"HTTP 401 {message or 'Unauthorized'}: check BROADSHEET_GITHUB_TOKEN")
        if status != 200:
            raise UpstreamError(url, f"HTTP {status} {message or response.reason_phrase}".strip())
        stars = payload.get("stargazers_count") if isinstance(payload, dict) else None
        if not isinstance(stars, int) or isinstance(stars, bool) or stars < 0:
            raise UpstreamError(url, "answer without a stargazers_count")
        return RepoAnswer(full_name, stars)


def make_github_client(settings_map: dict[str, Any], **options: Any) -> GitHubClient:
    """A GitHubClient configured from settings.BROADSHEET (tests pass clock and sleep in `options`)."""
    options.setdefault("delay_seconds", settings_map["GITHUB_REQUEST_DELAY_SECONDS"])
    return GitHubClient(
        base_url=settings_map["GITHUB_API_URL"], token=settings_map["GITHUB_TOKEN"], **options
    )


# ---------------------------------------------------------------------------------------------
# sampling runs


@dataclass
class SampleResult:
    sampled: int = 0
    missing: int = 0
    failed: int = 0
    left: int = 0  # repositories not asked about because the run stopped
    resume_at: datetime | None = None  # set when GitHub's rate limit stopped the run

    def summary(self) -> str:
        text = f"github stars: {self.sampled:,} sampled, {self.missing:,} missing, {self.failed:,} failed"
        if self.resume_at is not None:
            text += (
                f"; rate limit reached with {self.left:,} left, resumes after "
                f"{self.resume_at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}"
            )
        return text


def repos_to_sample(now: datetime, *, recent_days: int, limit: int | None = None) -> list[GitHubRepo]:
    """Repositories due for a sample, those of papers seen in the last `recent_days` first (a paper counts
    as seen when it was announced or on a Hugging Face daily page then), each group longest-unasked first.
    """
    since = (now - timedelta(days=recent_days)).date()
    recent = HfPaperInfo.objects.filter(repo=OuterRef("pk")).filter(
        Q(paper__announced_on__gte=since) | Q(paper__hf_observations__daily_on__gte=since)
    )
    due = Q(checked_at__isnull=True) | Q(checked_at__lt=now - RESAMPLE_AFTER)
    not_gone = Q(missing=False) | Q(checked_at__lt=now - MISSING_RECHECK_AFTER)
    queryset = (
        GitHubRepo.objects.filter(due & not_gone)
        .annotate(recent=Exists(recent))
        .order_by("-recent", F("checked_at").asc(nulls_first=True), "full_name")
    )
    return list(queryset[:limit] if limit is not None else queryset)


def sample_stars(
    client: GitHubClient,
    *,
    now: datetime,
    recent_days: int,
    clock: Callable[[], datetime],
    limit: int | None = None,
    on_repo: Callable[[GitHubRepo, SampleResult], None] | None = None,
) -> SampleResult:
    """Ask GitHub for the repositories due (see repos_to_sample), one committed sample each, stamped with
    `clock()`. Stops at the rate limit with `resume_at` set; no network raises UpstreamUnreachable."""
    result = SampleResult()
    repos = repos_to_sample(now, recent_days=recent_days, limit=limit)
    for position, repo in enumerate(repos):
        try:
            answer = client.fetch_repo(repo.full_name)
        except GitHubRateLimited as exc:
            result.resume_at = exc.resume_at
            result.left = len(repos) - position
            logger.info("%s", exc)
            break
        except (UpstreamUnreachable, GitHubAuthError):
            raise
        except UpstreamError as exc:
            result.failed += 1
            logger.warning("github stars of %s: %s", repo.full_name, exc)
            continue
        checked_at = clock()
        with transaction.atomic():
            if answer.missing:
                GitHubRepo.objects.filter(pk=repo.pk).update(missing=True, checked_at=checked_at)
                result.missing += 1
            else:
                assert answer.stars is not None
                store_star_samples([(repo.pk, checked_at, answer.stars)])
                GitHubRepo.objects.filter(pk=repo.pk).update(missing=False, checked_at=checked_at)
                result.sampled += 1
        if on_repo is not None:
            on_repo(repo, result)
    return result
