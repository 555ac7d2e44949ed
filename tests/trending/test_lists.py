"""The list services: periods (parse, label, slug, neighbours) and the papers of a period or of trending,
ordered, filtered and paged, with literal expected rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from broadsheet.ingest.records import PaperRecord
from broadsheet.trending.github import ensure_repos, parse_github_repo, store_star_samples
from broadsheet.trending.hf_daily import HfItem, midnight, store_daily_papers
from broadsheet.trending.lists import (
    Period,
    neighbour_periods,
    parse_period,
    period_containing,
    period_papers,
    trending_entries,
)
from broadsheet.trending.score import compute_trending

from .conftest import arxiv_record

NOW = datetime(2026, 8, 22, 0, 0, tzinfo=UTC)
WEEK_34 = Period("week", date(2026, 8, 17), date(2026, 8, 24))


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "label"),
    [
        ("day", "2025-09-22", date(2025, 9, 22), date(2025, 9, 23), "22 September 2025"),
        ("day", "2024-02-29", date(2024, 2, 29), date(2024, 3, 1), "29 February 2024"),
        ("week", "2025-W39", date(2025, 9, 22), date(2025, 9, 29), "Week 39 of 2025"),
        ("week", "2025-W01", date(2024, 12, 30), date(2025, 1, 6), "Week 1 of 2025"),
        ("week", "2020-W53", date(2020, 12, 28), date(2021, 1, 4), "Week 53 of 2020"),
        ("month", "2025-09", date(2025, 9, 1), date(2025, 10, 1), "September 2025"),
        ("month", "2025-12", date(2025, 12, 1), date(2026, 1, 1), "December 2025"),
        ("month", "2024-02", date(2024, 2, 1), date(2024, 3, 1), "February 2024"),
    ],
)
def test_parse_period_reads_days_iso_weeks_and_months(kind, value, start, end, label):
    period = parse_period(kind, value)
    assert (period.kind, period.start, period.end, period.label, period.slug) == (
        kind,
        start,
        end,
        label,
        value,
    )


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("day", "2025-02-30", "'2025-02-30' is not a date in the calendar (day is out of range for month)"),
        ("day", "2025-9-22", "'2025-9-22' is not a day: expected YYYY-MM-DD, e.g. 2025-09-22"),
        ("day", "22/09/2025", "'22/09/2025' is not a day: expected YYYY-MM-DD, e.g. 2025-09-22"),
        ("week", "2025-W54", "'2025-W54' is not a week: 2025 has no ISO week 54"),
        ("week", "2025-W53", "'2025-W53' is not a week: 2025 has no ISO week 53"),
        ("week", "2025-W00", "'2025-W00' is not a week: 2025 has no ISO week 0"),
        ("week", "2025-39", "'2025-39' is not a week: expected YYYY-Www, e.g. 2025-W39"),
        ("month", "2025-13", "'2025-13' is not a month: months run from 01 to 12"),
        ("month", "2025-00", "'2025-00' is not a month: months run from 01 to 12"),
        ("month", "0000-01", "'0000-01' is not a month: years start at 0001"),
        ("month", "2025-09-01", "'2025-09-01' is not a month: expected YYYY-MM, e.g. 2025-09"),
        ("year", "2025", "unknown period kind 'year': expected day, week or month"),
    ],
)
def test_parse_period_says_what_is_wrong_with_a_bad_value(kind, value, message):
    with pytest.raises(ValueError) as raised:
        parse_period(kind, value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("kind", "value", "previous", "following"),
    [
        ("day", "2025-03-01", "2025-02-28", "2025-03-02"),
        ("day", "2025-12-31", "2025-12-30", "2026-01-01"),
        ("week", "2025-W01", "2024-W52", "2025-W02"),
        ("week", "2020-W53", "2020-W52", "2021-W01"),
        ("month", "2025-01", "2024-12", "2025-02"),
        ("month", "2025-12", "2025-11", "2026-01"),
    ],
)
def test_previous_and_next_periods_cross_month_and_year_ends(kind, value, previous, following):
    period = parse_period(kind, value)
    assert (period.previous().slug, period.next().slug) == (previous, following)


def test_period_containing_a_sunday_is_its_iso_week():
    assert period_containing("week", date(2025, 9, 28)).slug == "2025-W39"


# ---------------------------------------------------------------------------------------------
# a week of papers


def hf_item(arxiv_id: str, daily_on: date, upvotes: int, *, repo: str = "", **fields) -> HfItem:
    full_name, url = parse_github_repo(f"https://github.com/{repo}") if repo else ("", "")  # type: ignore[misc]
    return HfItem(
        record=PaperRecord(arxiv_id=arxiv_id, title=f"HF title of {arxiv_id}"),
        upvotes=upvotes,
        num_comments=1,
        github_url=url,
        github_full_name=full_name,
        submitted_on_daily_at=midnight(daily_on),
        **fields,
    )


def hf_observe(item: HfItem, daily_on: date) -> None:
    store_daily_papers([item], daily_on=daily_on, observed_at=midnight(daily_on + timedelta(days=1)), now=NOW)


def upvote(paper_id: int, *users: str, at: datetime) -> None:
    from django.contrib.auth import get_user_model

    from broadsheet.accounts.models import Upvote

    for name in users:
        user, _ = get_user_model().objects.get_or_create(username=name)
        Upvote.objects.create(user=user, paper_id=paper_id, created_at=at)


@pytest.fixture
def week(db, add_papers):
    return build_week(add_papers)


def build_week(add_papers):
    """Week 34 of 2026 (17-23 August) as of NOW (22 August 00:00 UTC):

    2608.00001  21 Aug  cs.LG  2 upvotes here, 20 on Hugging Face, a repository (scored)
    2608.00002  20 Aug  cs.CL  40 views (scored)
    2608.00003  19 Aug  cs.CL  3 upvotes on Hugging Face, seen after the score was computed (not scored)
    2608.00004  21 Aug  cs.LG  nothing
    2608.00005  18 Aug  cs.LG  nothing
    2607.00009  31 Jul  cs.LG  an upvote on 1 August (scored, previous month and week)
    2608.00007  21 Aug  cs.LG  viewed, then withdrawn
    """
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.trending.models import PageViewDay

    ids = add_papers(
        arxiv_record("2608.00001", announced_on=date(2026, 8, 21), title="Engines of $\\alpha$"),
        arxiv_record("2608.00002", announced_on=date(2026, 8, 20), categories=["cs.CL"]),
        arxiv_record("2608.00003", announced_on=date(2026, 8, 19), categories=["cs.CL", "cs.LG"]),
        arxiv_record("2608.00004", announced_on=date(2026, 8, 21)),
        arxiv_record("2608.00005", announced_on=date(2026, 8, 18)),
        arxiv_record("2607.00009", announced_on=date(2026, 7, 31)),
        arxiv_record("2608.00007", announced_on=date(2026, 8, 21)),
    )
    pk = dict(zip(["1", "2", "3", "4", "5", "9", "7"], ids, strict=True))
    upvote(pk["1"], "ada", "grace", at=datetime(2026, 8, 21, 10, 0, tzinfo=UTC))
    hf_observe(
        hf_item(
            "2608.00001",
            date(2026, 8, 21),
            20,
            repo="ada/engine",
            project_page="https://engine.example/",
            ai_summary="Engines, summarised.",
            ai_keywords=["engines", "alpha"],
            submitted_by="ada",
        ),
        date(2026, 8, 21),
    )
    repo_id = ensure_repos(["ada/engine"])["ada/engine"]
    store_star_samples([(repo_id, datetime(2026, 8, 21, 12, 0, tzinfo=UTC), 1234)])
    PageViewDay.objects.create(paper_id=pk["2"], day=date(2026, 8, 20), views=40)
    upvote(pk["9"], "ada", at=datetime(2026, 8, 1, tzinfo=UTC))
    PageViewDay.objects.create(paper_id=pk["7"], day=date(2026, 8, 21), views=500)
    upsert_papers([PaperRecord("2608.00007", deleted=True, datestamp=date(2026, 8, 21))], now=NOW)
    compute_trending(NOW)
    hf_observe(hf_item("2608.00003", date(2026, 8, 22), 3, submitted_by="grace"), date(2026, 8, 22))
    return pk


def ids_of(entries) -> list[str]:
    return [entry.card.arxiv_id for entry in entries]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # scored best first, then known to Hugging Face by upvotes, then the rest newest first
        ({}, ["2608.00001", "2608.00002", "2608.00003", "2608.00004", "2608.00005"]),
        ({"sort": "published"}, ["2608.00004", "2608.00001", "2608.00002", "2608.00003", "2608.00005"]),
        ({"has_code": True}, ["2608.00001"]),
        ({"has_code": True, "sort": "published"}, ["2608.00001"]),
        ({"category": "cs.CL"}, ["2608.00002", "2608.00003"]),
        (
            {"category": "cs.LG", "sort": "published"},
            ["2608.00004", "2608.00001", "2608.00003", "2608.00005"],
        ),
        ({"category": "math.AG"}, []),
        ({"submitter": "grace"}, ["2608.00003"]),
        ({"submitter": "nobody"}, []),
    ],
)
def test_period_papers_order_and_filters(week, options, expected):
    entries, page = period_papers(WEEK_34, **options)
    assert ids_of(entries) == expected
    assert (page.number, page.count, page.page_count, page.has_next) == (1, len(expected), 1, False)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (Period("day", date(2026, 8, 21), date(2026, 8, 22)), ["2608.00001", "2608.00004"]),
        (Period("month", date(2026, 7, 1), date(2026, 8, 1)), ["2607.00009"]),
        (Period("day", date(2026, 8, 22), date(2026, 8, 23)), []),
    ],
)
def test_period_papers_hold_what_was_announced_in_the_period_and_not_withdrawn(week, period, expected):
    assert ids_of(period_papers(period)[0]) == expected


@pytest.mark.parametrize(
    ("page", "expected", "has_next"),
    [
        (1, ["2608.00001", "2608.00002"], True),
        (2, ["2608.00003", "2608.00004"], True),  # the head ends and the tail begins on one page
        (3, ["2608.00005"], False),
        (4, [], False),
    ],
)
def test_period_pages_run_through_the_ranked_papers_into_the_rest(week, page, expected, has_next):
    entries, list_page = period_papers(WEEK_34, page=page, per_page=2)
    assert ids_of(entries) == expected
    assert (list_page.count, list_page.page_count, list_page.has_next) == (5, 3, has_next)


def test_an_entry_carries_its_score_components_hf_info_and_upvotes(week):
    from broadsheet.trending.models import GitHubRepo

    entry = period_papers(WEEK_34)[0][0]
    assert entry.card.title == "Engines of $\\alpha$"
    assert entry.upvotes == 2
    assert (entry.trending.upvotes, entry.trending.hf_upvotes, entry.trending.views_week) == (2, 20, 0)
    assert entry.trending.points == 22.0
    assert entry.score == pytest.approx(22.0 / (24 + 2) ** 1.8)  # released at 00:00 on 21 August
    hf = entry.hf
    assert (hf.upvotes, hf.github_repo, hf.github_stars, hf.has_code) == (
        20,
        "https://github.com/ada/engine",
        1234,
        True,
    )
    assert (hf.project_page, hf.ai_summary, hf.ai_keywords, hf.submitted_by) == (
        "https://engine.example/",
        "Engines, summarised.",
        ("engines", "alpha"),
        "ada",
    )
    assert hf.submitted_on_daily_at == datetime(2026, 8, 21, tzinfo=UTC)
    assert entry.has_code
    GitHubRepo.objects.filter(full_name="ada/engine").update(missing=True)
    assert period_papers(WEEK_34, has_code=True)[0] == []


def test_scores_decay_to_now_when_asked(week):
    later = NOW + timedelta(hours=24)
    entry = period_papers(WEEK_34, now=later)[0][0]
    assert (entry.trending.age_hours, entry.score) == (48.0, pytest.approx(22.0 / 50**1.8))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sort": "votes"}, "unknown sort 'votes': expected one of trending, published"),
        ({"page": 0}, "page 0: pages start at 1"),
        ({"per_page": 0}, "per_page 0: between 1 and 100"),
        ({"per_page": 101}, "per_page 101: between 1 and 100"),
    ],
)
def test_period_papers_refuse_bad_arguments(options, message):
    with pytest.raises(ValueError) as raised:
        period_papers(WEEK_34, **options)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("options", "expected", "count"),
    [
        ({}, ["2608.00001", "2608.00002", "2607.00009"], 3),
        ({"has_code": True}, ["2608.00001"], 1),
        ({"category": "cs.CL"}, ["2608.00002"], 1),
        ({"page": 2, "per_page": 2}, ["2607.00009"], 3),
    ],
)
def test_trending_entries_wrap_the_trending_list(week, options, expected, count):
    entries, page = trending_entries(NOW, **options)
    assert ids_of(entries) == expected
    assert page.count == count
    assert entries[0].trending is not None


def test_trending_entries_use_a_bounded_number_of_queries(week, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        trending_entries(NOW)


def test_period_papers_use_a_bounded_number_of_queries(week, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        period_papers(WEEK_34, page=2, per_page=2)


def test_neighbour_periods_skip_empty_ones(week):
    assert neighbour_periods(parse_period("week", "2026-W34")) == (
        parse_period("week", "2026-W31"),
        None,
    )
    assert neighbour_periods(parse_period("month", "2026-07")) == (None, parse_period("month", "2026-08"))
    assert neighbour_periods(parse_period("day", "2026-08-20")) == (
        parse_period("day", "2026-08-19"),
        parse_period("day", "2026-08-21"),
    )
