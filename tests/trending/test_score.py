"""The published trending score: the pure formula on literal signals, `compute_trending` on a frozen clock
(literal rows), and `trending_papers` order, decay between computations, filters and paging."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from broadsheet.ingest.records import PaperRecord
from broadsheet.trending.github import ensure_repos, parse_github_repo, store_star_samples
from broadsheet.trending.hf_daily import HfItem, midnight, store_daily_papers
from broadsheet.trending.score import (
    ScoreParts,
    Signals,
    compute_trending,
    count_trending,
    release_time,
    stars_gained,
    trending_papers,
    trending_score,
)

from .conftest import arxiv_record

NOW = datetime(2026, 8, 22, 0, 0, tzinfo=UTC)
CUT = NOW - timedelta(days=7)


def hours(count: float) -> timedelta:
    return timedelta(hours=count)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        # 3 + 10 + 25 / 10 + 40 / 10 = 19.5 points, 22 hours old: 19.5 / 24 ** 1.8
        (
            Signals(
                upvotes=3, hf_upvotes=10, views_week=25, stars_gained_week=40, released_at=NOW - hours(22)
            ),
            ScoreParts(0.06392259191059231, 19.5, 22.0),
        ),
        # stars lost add nothing
        (Signals(stars_gained_week=-50, released_at=NOW - hours(5)), ScoreParts(0.0, 0.0, 5.0)),
        # a release time after `now` counts as now: 10 / 2 ** 1.8
        (Signals(hf_upvotes=10, released_at=NOW + hours(5)), ScoreParts(2.8717458874925876, 10.0, 0.0)),
        # no release time: as old as the week the signals cover
        (Signals(upvotes=1), ScoreParts(9.664779308231797e-05, 1.0, 168.0)),
        (Signals(hf_upvotes=100, released_at=NOW - hours(34)), ScoreParts(0.15799942215117432, 100.0, 34.0)),
    ],
)
def test_score_is_points_over_age_plus_two_to_the_1_8(signals, expected):
    parts = trending_score(signals, NOW)
    assert (parts.score, parts.points, parts.age_hours) == (
        pytest.approx(expected.score, rel=1e-12),
        expected.points,
        expected.age_hours,
    )


def test_a_two_day_old_paper_needs_about_three_times_the_points_of_a_day_old_one():
    day_old = trending_score(Signals(hf_upvotes=10, released_at=NOW - hours(24)), NOW)
    two_days_old = trending_score(Signals(hf_upvotes=10, released_at=NOW - hours(48)), NOW)
    assert day_old.score / two_days_old.score == pytest.approx(3.245, rel=1e-3)


@pytest.mark.parametrize(
    ("samples", "baseline", "gained"),
    [
        ([], (CUT - timedelta(days=1), 10), 0),
        # first seen inside the week: only the gain seen since
        ([(CUT + timedelta(days=1), 100), (CUT + timedelta(days=6), 130)], None, 30),
        # a sample exactly a week ago is the baseline as it is
        ([(NOW, 180)], (CUT, 150), 30),
        # interpolated between the samples either side of a week ago: 100 + (200 - 100) * 5 / 10 = 150
        ([(CUT + timedelta(days=5), 200), (NOW - hours(12), 260)], (CUT - timedelta(days=5), 100), 110),
        # losing stars is a negative gain
        ([(CUT + timedelta(days=1), 400)], (CUT - timedelta(days=1), 500), -50),
    ],
)
def test_stars_gained_this_week(samples, baseline, gained):
    assert stars_gained(samples, baseline, CUT) == gained


@pytest.mark.parametrize(
    ("announced_on", "hf_daily_on", "submitted_at", "released_at"),
    [
        (date(2026, 8, 21), None, None, datetime(2026, 8, 21, tzinfo=UTC)),
        (date(2026, 7, 1), date(2026, 8, 20), None, datetime(2026, 8, 20, tzinfo=UTC)),
        (date(2026, 8, 21), date(2026, 8, 20), None, datetime(2026, 8, 21, tzinfo=UTC)),
        (None, None, datetime(2026, 8, 1, 15, 0, tzinfo=UTC), datetime(2026, 8, 1, 15, 0, tzinfo=UTC)),
        (None, None, None, None),
    ],
)
def test_release_time_is_the_later_of_announcement_and_hf_daily_page(
    announced_on, hf_daily_on, submitted_at, released_at
):
    assert release_time(announced_on, hf_daily_on, submitted_at) == released_at


# ---------------------------------------------------------------------------------------------
# computing rows


def hf_observe(
    arxiv_id: str, daily_on: date, upvotes: int, *, repo: str = "", observed_at: datetime | None = None
):
    """A sighting on a Hugging Face daily page, through the importer."""
    full_name, url = parse_github_repo(f"https://github.com/{repo}") if repo else ("", "")  # type: ignore[misc]
    item = HfItem(
        record=PaperRecord(arxiv_id=arxiv_id, title=f"HF title of {arxiv_id}"),
        upvotes=upvotes,
        num_comments=0,
        github_url=url,
        github_full_name=full_name,
        submitted_on_daily_at=midnight(daily_on),
    )
    store_daily_papers(
        [item], daily_on=daily_on, observed_at=observed_at or midnight(daily_on + timedelta(days=1)), now=NOW
    )


def upvote(paper_id: int, *users: str, at: datetime) -> None:
    from django.contrib.auth import get_user_model

    from broadsheet.accounts.models import Upvote

    for name in users:
        user, _ = get_user_model().objects.get_or_create(username=name)
        Upvote.objects.create(user=user, paper_id=paper_id, created_at=at)


def views(paper_id: int, day: date, count: int) -> None:
    from broadsheet.trending.models import PageViewDay

    PageViewDay.objects.create(paper_id=paper_id, day=day, views=count)


@pytest.fixture
def signals(add_papers):
    """Papers with literal signals as of NOW (2026-08-22 00:00 UTC); returns their primary keys by id."""
    from broadsheet.ingest.upsert import upsert_papers

    ids = add_papers(
        arxiv_record("2608.00001", announced_on=date(2026, 8, 21)),
        arxiv_record("2608.00002", announced_on=date(2026, 8, 20), categories=["cs.CL"]),
        arxiv_record("2607.00003", announced_on=date(2026, 7, 1), categories=["cs.CL", "cs.LG"]),
        arxiv_record("2606.00004", announced_on=date(2026, 6, 1)),
        arxiv_record("2608.00006", announced_on=date(2026, 8, 21)),
    )
    pk = dict(zip(["2608.00001", "2608.00002", "2607.00003", "2606.00004", "2608.00006"], ids, strict=True))
    # 2608.00001: 2 upvotes here, 20 on Hugging Face, 30 views this week (100 the week before), a repository
    # that went from 100 stars (12 days ago) to 200 (2 days ago) to 260 (12 hours ago)
    upvote(pk["2608.00001"], "ada", "grace", at=datetime(2026, 8, 21, 10, 0, tzinfo=UTC))
    hf_observe("2608.00001", date(2026, 8, 21), 20, repo="ada/engine")
    views(pk["2608.00001"], date(2026, 8, 21), 30)
    views(pk["2608.00001"], date(2026, 8, 15), 100)
    repo_id = ensure_repos(["ada/engine"])["ada/engine"]
    store_star_samples(
        [
            (repo_id, datetime(2026, 8, 10, tzinfo=UTC), 100),
            (repo_id, datetime(2026, 8, 20, tzinfo=UTC), 200),
            (repo_id, datetime(2026, 8, 21, 12, 0, tzinfo=UTC), 260),
        ]
    )
    # 2608.00002: views only
    views(pk["2608.00002"], date(2026, 8, 20), 50)
    # 2607.00003: announced in July, on Hugging Face's page of 20 August
    hf_observe("2607.00003", date(2026, 8, 20), 10)
    # 2606.00004: an upvote in June, long out of the window
    upvote(pk["2606.00004"], "ada", at=datetime(2026, 6, 2, tzinfo=UTC))
    # 2608.00005: seen on Hugging Face only after NOW
    hf_observe("2608.00005", date(2026, 8, 22), 99, observed_at=datetime(2026, 8, 22, 9, 0, tzinfo=UTC))
    # 2608.00006: viewed, then withdrawn
    views(pk["2608.00006"], date(2026, 8, 21), 500)
    upsert_papers([PaperRecord("2608.00006", deleted=True, datestamp=date(2026, 8, 21))], now=NOW)
    return pk


def score_rows():
    from broadsheet.trending.models import TrendingScore

    rows = TrendingScore.objects.order_by("-score")
    return [
        (arxiv_id, points, upvotes, hf_upvotes, views_week, stars, age, pytest.approx(score, rel=1e-9), at)
        for arxiv_id, points, upvotes, hf_upvotes, views_week, stars, age, score, at in rows.values_list(
            "paper__arxiv_id",
            "points",
            "upvotes_local",
            "upvotes_hf",
            "views_week",
            "stars_gained_week",
            "age_hours",
            "score",
            "computed_at",
        )
    ]


@pytest.mark.django_db
def test_compute_trending_writes_the_components_of_every_paper_with_a_signal(signals):
    result = compute_trending(NOW, window_days=30)
    assert (result.scored, result.removed) == (3, 0)
    assert score_rows() == [
        # 2 + 20 + 30 / 10 + (260 - 150) / 10 = 36 points, 24 hours old: 36 / 26 ** 1.8
        ("2608.00001", 36.0, 2, 20, 30, 110, 24.0, 0.10217637115164352, NOW),
        # 10 points from its daily page of 20 August: 48 hours old
        ("2607.00003", 10.0, 0, 10, 0, 0, 48.0, 0.008746896591546222, NOW),
        ("2608.00002", 5.0, 0, 0, 50, 0, 48.0, 0.004373448295773111, NOW),
    ]


@pytest.mark.django_db
def test_recomputing_later_drops_papers_whose_signals_left_the_window(signals):
    compute_trending(NOW, window_days=30)
    later = compute_trending(NOW + timedelta(days=31), window_days=30)
    assert (later.scored, later.removed) == (0, 3)
    assert score_rows() == []


@pytest.mark.django_db
def test_recomputing_is_idempotent(signals):
    compute_trending(NOW, window_days=30)
    first = score_rows()
    assert compute_trending(NOW, window_days=30).removed == 0
    assert score_rows() == first


def test_a_window_shorter_than_a_week_is_refused():
    with pytest.raises(ValueError, match="must cover the 7 days"):
        compute_trending(NOW, window_days=6)


# ---------------------------------------------------------------------------------------------
# reading


@pytest.mark.django_db
def test_trending_papers_are_best_first_with_their_components(signals):
    compute_trending(NOW, window_days=30)
    entries = trending_papers(NOW, limit=10)
    assert [(e.arxiv_id, e.upvotes, e.hf_upvotes, e.views_week, e.stars_gained_week) for e in entries] == [
        ("2608.00001", 2, 20, 30, 110),
        ("2607.00003", 0, 10, 0, 0),
        ("2608.00002", 0, 0, 50, 0),
    ]
    assert [e.paper_id for e in entries] == [
        signals["2608.00001"],
        signals["2607.00003"],
        signals["2608.00002"],
    ]
    assert (entries[0].score, entries[0].points, entries[0].age_hours, entries[0].computed_at) == (
        pytest.approx(0.10217637115164352, rel=1e-9),
        36.0,
        24.0,
        NOW,
    )
    assert [e.arxiv_id for e in trending_papers(NOW, limit=1, offset=1)] == ["2607.00003"]
    assert trending_papers(NOW, limit=10, offset=3) == []
    assert count_trending() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("category", "has_code", "expected"),
    [
        ("cs.LG", False, ["2608.00001", "2607.00003"]),  # cross-lists count
        ("cs.CL", False, ["2607.00003", "2608.00002"]),
        ("math.AG", False, []),
        (None, True, ["2608.00001"]),
        ("cs.CL", True, []),
    ],
)
def test_trending_papers_by_category_and_with_code(signals, category, has_code, expected):
    compute_trending(NOW, window_days=30)
    assert [
        e.arxiv_id for e in trending_papers(NOW, limit=10, category=category, has_code=has_code)
    ] == expected
    assert count_trending(category=category, has_code=has_code) == len(expected)


@pytest.mark.django_db
def test_a_repository_gone_missing_is_not_code(signals):
    from broadsheet.trending.models import GitHubRepo

    GitHubRepo.objects.update(missing=True)
    compute_trending(NOW, window_days=30)
    assert trending_papers(NOW, limit=10, has_code=True) == []


@pytest.mark.django_db
def test_the_order_follows_decay_between_two_computations(add_papers):
    """Fresh with 10 points beats a day-old paper with 100 now; two days later the 100 points win."""
    add_papers(arxiv_record("2608.00010", announced_on=date(2026, 8, 22)))
    add_papers(arxiv_record("2608.00011", announced_on=date(2026, 8, 21)))
    hf_observe("2608.00010", date(2026, 8, 22), 10, observed_at=NOW)
    hf_observe("2608.00011", date(2026, 8, 21), 100)
    compute_trending(NOW, window_days=30)
    assert [e.arxiv_id for e in trending_papers(NOW, limit=10)] == ["2608.00010", "2608.00011"]
    later = trending_papers(NOW + timedelta(days=2), limit=10)
    assert [(e.arxiv_id, e.age_hours) for e in later] == [("2608.00011", 72.0), ("2608.00010", 48.0)]
    assert later[0].score == pytest.approx(100 / 74**1.8, rel=1e-9)
    # one at a time: the page is found through the stored scores, which no longer give the order
    assert [e.arxiv_id for e in trending_papers(NOW + timedelta(days=2), limit=1)] == ["2608.00011"]
    assert [e.arxiv_id for e in trending_papers(NOW + timedelta(days=2), limit=1, offset=1)] == ["2608.00010"]


@pytest.mark.django_db
def test_nothing_computed_is_an_empty_list():
    assert trending_papers(NOW, limit=10) == []


@pytest.mark.django_db
def test_every_page_at_any_later_moment_matches_sorting_all_scores(add_papers):
    import random

    chance = random.Random(7)
    for number in range(40):
        daily_on = date(2026, 8, 22) - timedelta(days=chance.randrange(0, 6))
        hf_observe(f"2608.{number:05d}", daily_on, chance.randrange(0, 200), observed_at=NOW)
    compute_trending(NOW, window_days=30)
    entries = trending_papers(NOW, limit=100)
    for later in (hours(0), hours(0.25), hours(7), hours(30), hours(200)):
        moment = NOW + later
        expected = sorted(
            entries,
            key=lambda e: (
                -e.points / (e.age_hours + later.total_seconds() / 3600 + 2) ** 1.8,
                -e.points,
                e.paper_id,
            ),
        )
        for offset, limit in ((0, 1), (0, 7), (3, 5), (35, 10)):
            page = trending_papers(moment, limit=limit, offset=offset)
            assert [e.paper_id for e in page] == [e.paper_id for e in expected[offset : offset + limit]]
