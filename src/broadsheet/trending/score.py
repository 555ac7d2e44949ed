"""The published trending score: one formula over the signals, with Hacker News-style time decay.

    points = upvotes + hf_upvotes + views_week / 10 + stars_gained_week / 10
    score  = points / (age_hours + 2) ** 1.8

Rule: `trending_score` is a pure function of the signals and `now`; `compute_trending(now)` gathers the
signals of every paper with one in the window in a few aggregate queries and rewrites TrendingScore in
bulk; lists read those rows (`trending_papers`). docs/trending.md and /about/trending explain it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery, Sum

from broadsheet.accounts.models import Upvote
from broadsheet.papers.models import Paper, PaperCategory
from broadsheet.trending.models import (
    GitHubRepo,
    HfObservation,
    HfPaperInfo,
    PageViewDay,
    StarSample,
    TrendingScore,
)

UPVOTE_POINTS = 1.0  # a reader's upvote here
HF_UPVOTE_POINTS = 1.0  # an upvote on Hugging Face daily papers
VIEW_POINTS = 0.1  # a human view of the paper page in the last 7 days
STAR_POINTS = 0.1  # a GitHub star the paper's repository gained in the last 7 days
GRAVITY = 1.8  # how fast a paper sinks as it ages (Hacker News uses 1.8)
AGE_OFFSET_HOURS = 2.0  # keeps a brand-new paper's divisor away from zero
WEEK = timedelta(days=7)
DEFAULT_WINDOW_DAYS = 30
QUERY_CHUNK = 500


@dataclass(frozen=True)
class Signals:
    """What the score is made of, for one paper, as of some moment."""

    upvotes: int = 0  # local upvotes, all time
    hf_upvotes: int = 0  # the latest Hugging Face count
    views_week: int = 0  # human page views, the last 7 days (UTC), today included
    stars_gained_week: int = 0  # stars gained by the linked repository in the last 7 days (can be < 0)
    released_at: datetime | None = None  # arXiv announcement or Hugging Face daily submission, the later


@dataclass(frozen=True)
class ScoreParts:
    score: float
    points: float
    age_hours: float


def decayed_score(points: float, age_hours: float) -> float:
    """The published formula: points / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY."""
    return points / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY


def score_at(points: float, age_hours: float, computed_at: datetime, now: datetime) -> float:
    """A stored score (its points and age when computed at `computed_at`) decayed to `now`."""
    return decayed_score(points, age_hours + max((now - computed_at).total_seconds(), 0.0) / 3600)


def trending_score(signals: Signals, now: datetime) -> ScoreParts:
    """The score of a paper with these `signals` at `now`. A paper with no release time is as old as
    its oldest possible signal window (7 days); a release time in the future counts as now."""
    points = (
        UPVOTE_POINTS * signals.upvotes
        + HF_UPVOTE_POINTS * signals.hf_upvotes
        + VIEW_POINTS * signals.views_week
        + STAR_POINTS * max(signals.stars_gained_week, 0)
    )
    if signals.released_at is None:
        age_hours = WEEK.total_seconds() / 3600
    else:
        age_hours = max((now - signals.released_at).total_seconds(), 0.0) / 3600
    return ScoreParts(decayed_score(points, age_hours), points, age_hours)


def release_time(
    announced_on: date | None, hf_daily_on: date | None, submitted_at: datetime | None = None
) -> datetime | None:
    """When a paper reached readers: arXiv announces a listing day's papers at 00:00 UTC (20:00 Eastern
    the evening before), and a Hugging Face daily page starts at 00:00 UTC of its date; the later counts,
    so an old paper featured today is as fresh as today's. A paper with neither date counts from its
    submission to arXiv."""
    days = [day for day in (announced_on, hf_daily_on) if day is not None]
    if days:
        return datetime.combine(max(days), time(0), UTC)
    return submitted_at


def stars_gained(
    samples: list[tuple[datetime, int]], baseline: tuple[datetime, int] | None, cut: datetime
) -> int:
    """Stars gained since `cut`: the latest sample minus the count at `cut`, interpolated linearly between
    the last sample before it (`baseline`) and the first one after; without a baseline, the gain seen
    since the first sample after `cut`. `samples` are those after `cut`, up to now."""
    if not samples:
        return 0
    samples = sorted(samples)
    first_at, first_stars = samples[0]
    latest_stars = samples[-1][1]
    if baseline is None:
        return latest_stars - first_stars
    base_at, base_stars = baseline
    span = (first_at - base_at).total_seconds()
    fraction = (cut - base_at).total_seconds() / span if span > 0 else 1.0
    at_cut = base_stars + (first_stars - base_stars) * fraction
    return round(latest_stars - at_cut)


# ---------------------------------------------------------------------------------------------
# computing the rows


def _chunks(items: list[int], size: int = QUERY_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def candidate_papers(now: datetime, window_days: int) -> set[int]:
    """Papers with any signal in the `window_days` before `now`."""
    since = now - timedelta(days=window_days)
    ids: set[int] = set()
    ids.update(
        Upvote.objects.filter(created_at__gt=since, created_at__lte=now).values_list("paper_id", flat=True)
    )
    ids.update(
        HfObservation.objects.filter(observed_at__gt=since, observed_at__lte=now).values_list(
            "paper_id", flat=True
        )
    )
    ids.update(
        PageViewDay.objects.filter(day__gt=since.date(), day__lte=now.date()).values_list(
            "paper_id", flat=True
        )
    )
    sampled_repos = StarSample.objects.filter(sampled_at__gt=since, sampled_at__lte=now).values("repo_id")
    ids.update(HfPaperInfo.objects.filter(repo_id__in=sampled_repos).values_list("paper_id", flat=True))
    return ids


def gather_signals(paper_ids: Iterable[int], now: datetime) -> dict[int, Signals]:
    """The signals of each paper as of `now` (nothing after `now` counts)."""
    ids = sorted(set(paper_ids))
    week_start = now - WEEK
    # "the last 7 days" of views are whole UTC days: today and the 6 before
    first_view_day = now.date() - timedelta(days=6)
    upvotes: dict[int, int] = {}
    hf: dict[int, tuple[datetime, date, int]] = {}
    views: dict[int, int] = {}
    papers: dict[int, tuple[date | None, datetime | None]] = {}
    repo_of: dict[int, int] = {}
    for chunk in _chunks(ids):
        for paper_id, announced_on, submitted_at in Paper.objects.filter(
            pk__in=chunk, is_deleted=False
        ).values_list("pk", "announced_on", "submitted_at"):
            papers[paper_id] = (announced_on, submitted_at)
        upvotes.update(
            Upvote.objects.filter(paper_id__in=chunk, created_at__lte=now)
            .values("paper_id")
            .annotate(n=Count("id"))
            .values_list("paper_id", "n")
        )
        for paper_id, observed_at, daily_on, count in HfObservation.objects.filter(
            paper_id__in=chunk, observed_at__lte=now
        ).values_list("paper_id", "observed_at", "daily_on", "upvotes"):
            latest = (observed_at, daily_on, count)
            if paper_id not in hf or latest > hf[paper_id]:
                hf[paper_id] = latest
        views.update(
            PageViewDay.objects.filter(paper_id__in=chunk, day__gte=first_view_day, day__lte=now.date())
            .values("paper_id")
            .annotate(n=Sum("views"))
            .values_list("paper_id", "n")
        )
        repo_of.update(
            HfPaperInfo.objects.filter(paper_id__in=chunk, repo__isnull=False).values_list(
                "paper_id", "repo_id"
            )
        )
    gained = _stars_gained_by_repo(sorted(set(repo_of.values())), week_start, now)
    signals = {}
    for paper_id, (announced_on, submitted_at) in papers.items():
        latest_hf = hf.get(paper_id)
        signals[paper_id] = Signals(
            upvotes=upvotes.get(paper_id, 0),
            hf_upvotes=latest_hf[2] if latest_hf else 0,
            views_week=views.get(paper_id, 0),
            stars_gained_week=gained.get(repo_of[paper_id], 0) if paper_id in repo_of else 0,
            released_at=release_time(announced_on, latest_hf[1] if latest_hf else None, submitted_at),
        )
    return signals


def _stars_gained_by_repo(repo_ids: list[int], cut: datetime, now: datetime) -> dict[int, int]:
    after: dict[int, list[tuple[datetime, int]]] = {}
    baselines: dict[int, tuple[datetime, int]] = {}
    before = StarSample.objects.filter(repo=OuterRef("pk"), sampled_at__lte=cut).order_by("-sampled_at")
    for chunk in _chunks(repo_ids):
        for repo_id, sampled_at, stars in StarSample.objects.filter(
            repo_id__in=chunk, sampled_at__gt=cut, sampled_at__lte=now
        ).values_list("repo_id", "sampled_at", "stars"):
            after.setdefault(repo_id, []).append((sampled_at, stars))
        for repo_id, base_at, base_stars in (
            GitHubRepo.objects.filter(pk__in=[repo_id for repo_id in chunk if repo_id in after])
            .annotate(
                base_at=Subquery(before.values("sampled_at")[:1]),
                base_stars=Subquery(before.values("stars")[:1]),
            )
            .filter(base_at__isnull=False)
            .values_list("pk", "base_at", "base_stars")
        ):
            baselines[repo_id] = (base_at, base_stars)
    return {repo_id: stars_gained(samples, baselines.get(repo_id), cut) for repo_id, samples in after.items()}


@dataclass
class ComputeResult:
    scored: int
    removed: int


def compute_trending(now: datetime, *, window_days: int = DEFAULT_WINDOW_DAYS) -> ComputeResult:
    """Recompute TrendingScore for every paper with a signal in the window; rows of the others go."""
    if window_days < 7:
        raise ValueError("the trending window must cover the 7 days of views and stars it counts")
    signals = gather_signals(candidate_papers(now, window_days), now)
    rows = []
    for paper_id, paper_signals in signals.items():
        parts = trending_score(paper_signals, now)
        rows.append(
            TrendingScore(
                paper_id=paper_id,
                score=parts.score,
                points=parts.points,
                upvotes_local=paper_signals.upvotes,
                upvotes_hf=paper_signals.hf_upvotes,
                views_week=paper_signals.views_week,
                stars_gained_week=paper_signals.stars_gained_week,
                age_hours=parts.age_hours,
                computed_at=now,
            )
        )
    with transaction.atomic():
        TrendingScore.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["paper"],
            update_fields=list(SCORE_COLUMNS),
            batch_size=500,
        )
        removed, _ = TrendingScore.objects.exclude(computed_at=now).delete()
    return ComputeResult(scored=len(rows), removed=removed)


# ---------------------------------------------------------------------------------------------
# reading


# The columns of a TrendingScore row that compute writes, and the row as TrendingEntry takes it
# (values_list order)
SCORE_COLUMNS = (
    "score",
    "points",
    "upvotes_local",
    "upvotes_hf",
    "views_week",
    "stars_gained_week",
    "age_hours",
    "computed_at",
)
SCORE_FIELDS = ("paper_id", "paper__arxiv_id", *SCORE_COLUMNS)


@dataclass(frozen=True)
class TrendingEntry:
    """A paper of the trending list with the parts of its score (`score` and `age_hours` as of `now`)."""

    paper_id: int
    arxiv_id: str
    score: float
    points: float
    upvotes: int
    hf_upvotes: int
    views_week: int
    stars_gained_week: int
    age_hours: float
    computed_at: datetime


def _trending_rows(category: str | None, has_code: bool):
    # filters as EXISTS on the few scored papers: joined, SQLite would walk all of a category's listings
    rows = TrendingScore.objects.filter(paper__is_deleted=False)
    if category:
        rows = rows.filter(
            Exists(PaperCategory.objects.filter(paper_id=OuterRef("paper_id"), category_id=category))
        )
    if has_code:
        rows = rows.filter(
            Exists(HfPaperInfo.objects.filter(paper_id=OuterRef("paper_id"), repo__missing=False))
        )
    return rows


def count_trending(*, category: str | None = None, has_code: bool = False) -> int:
    return _trending_rows(category, has_code).count()


def trending_papers(
    now: datetime, *, limit: int, offset: int = 0, category: str | None = None, has_code: bool = False
) -> list[TrendingEntry]:
    """The trending list, best first: papers in `category` (cross-lists included) and, with `has_code`,
    only those linking a GitHub repository that exists.

    Scores decay between two computations, and not equally (points / (age + 2) ** 1.8): the order is that
    of each paper's score at `now`, from the last computed points and ages. Decay only lowers a score, so
    the rows that can make the page are found through the index on the stored score: take the first
    `offset + limit` by stored score, and every row whose stored score reaches the lowest of their
    scores at `now`.
    """
    wanted = offset + limit
    # every row carries the time of the one computation that wrote them all: any row tells it
    latest = TrendingScore.objects.order_by("pk").values_list("computed_at", flat=True).first()
    if latest is None or limit <= 0:
        return []
    since_hours = max((now - latest).total_seconds(), 0.0) / 3600
    fields = SCORE_FIELDS

    def score_now(row: tuple) -> float:
        return decayed_score(row[3], row[8] + since_hours)

    rows = _trending_rows(category, has_code)
    head = list(rows.order_by("-score", "paper_id").values_list(*fields)[:wanted])
    candidates = head
    if len(head) == wanted and since_hours > 0:
        threshold = min(score_now(row) for row in head) * (1 - 1e-12)  # float rounding must not drop a tie
        candidates = list(rows.filter(score__gte=threshold).values_list(*fields))
    candidates.sort(key=lambda row: (-score_now(row), -row[3], row[0]))
    return [
        TrendingEntry(
            paper_id=row[0],
            arxiv_id=row[1],
            score=score_now(row),
            points=row[3],
            upvotes=row[4],
            hf_upvotes=row[5],
            views_week=row[6],
            stars_gained_week=row[7],
            age_hours=row[8] + since_hours,
            computed_at=row[9],
        )
        for row in candidates[offset:wanted]
    ]
