"""The page queries: which papers, in which order, with which neighbours, and never the deleted ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from broadsheet.ingest.records import PaperRecord
from broadsheet.papers import services
from broadsheet.papers.services import AuthorRef, CategoryRef, PaperLinks

pytestmark = pytest.mark.django_db

SUBMITTED_AT = datetime(2025, 9, 19, 17, 30, tzinfo=UTC)  # the factory's default
Record = Callable[..., PaperRecord]

THU, FRI, MON, TUE = date(2025, 9, 18), date(2025, 9, 19), date(2025, 9, 22), date(2025, 9, 23)


@pytest.fixture
def week(paper_record: Record, deleted_record: Record, add_papers: Callable[..., None]) -> None:
    """Thursday: 2 papers; Friday: 1 paper, deleted; the weekend: none; Monday: 3; Tuesday: 1."""
    add_papers(
        paper_record("2509.10001", announced_on=THU),
        paper_record("2509.10002", announced_on=THU),
        paper_record("2509.10500", announced_on=FRI),
        paper_record("2509.20001", announced_on=MON),
        paper_record("2509.20002", announced_on=MON),
        paper_record("2509.20003", announced_on=MON),
        paper_record("2509.30001", announced_on=TUE),
    )
    add_papers(deleted_record("2509.10500"))


def ids(cards: list[services.PaperCard]) -> list[str]:
    return [card.arxiv_id for card in cards]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 9, 23, 21, 0, tzinfo=UTC), TUE),
        (datetime(2025, 9, 22, 23, 0, tzinfo=UTC), MON),
        # a day after every paper's day: still the newest day with papers
        (datetime(2026, 1, 1, tzinfo=UTC), TUE),
        # every paper in the future (clock skew, estimates): the newest day anyway
        (datetime(2025, 1, 1, tzinfo=UTC), TUE),
        # Saturday: Friday's only paper is deleted, so Thursday
        (datetime(2025, 9, 20, 12, 0, tzinfo=UTC), THU),
    ],
)
def test_latest_announcement_day_is_the_newest_day_with_papers_not_in_the_future(
    week: None, now: datetime, expected: date
) -> None:
    assert services.latest_announcement_day(now) == expected


def test_latest_announcement_day_is_none_without_papers(db: None) -> None:
    assert services.latest_announcement_day(datetime(2025, 9, 23, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("day", "previous_day", "next_day", "papers"),
    [
        (MON, THU, TUE, ["2509.20003", "2509.20002", "2509.20001"]),
        (THU, None, MON, ["2509.10002", "2509.10001"]),
        (TUE, MON, None, ["2509.30001"]),
        # an empty day (Saturday) and a day whose only paper is deleted (Friday) still navigate
        (date(2025, 9, 20), THU, MON, []),
        (FRI, THU, MON, []),
    ],
)
def test_day_listing_skips_empty_days_and_deleted_papers(
    week: None, day: date, previous_day: date | None, next_day: date | None, papers: list[str]
) -> None:
    listing = services.day_listing(day)
    assert (listing.day, listing.previous_day, listing.next_day) == (day, previous_day, next_day)
    assert ids(listing.papers) == papers
    assert listing.page.count == len(papers)


def test_day_listing_pages_by_fifty(paper_record: Record, add_papers: Callable[..., None]) -> None:
    add_papers(*[paper_record(f"2509.{n:05d}") for n in range(1, 52)])
    first = services.day_listing(MON, page=1)
    second = services.day_listing(MON, page=2)
    assert len(first.papers) == 50
    assert ids(second.papers) == ["2509.00001"]
    assert first.papers[0].arxiv_id == "2509.00051"
    assert first.page == services.ListPage(1, False, True, 51, 2)
    assert second.page == services.ListPage(2, True, False, 51, 2)
    with pytest.raises(services.PageOutOfRange):
        services.day_listing(MON, page=3)
    with pytest.raises(services.PageOutOfRange):
        services.day_listing(MON, page=0)


def test_day_listing_without_any_day_is_empty(db: None) -> None:
    listing = services.day_listing(None)
    assert (listing.day, listing.papers, listing.page.count) == (None, [], 0)


def test_cards_show_eight_authors_and_count_the_rest(
    paper_record: Record, add_papers: Callable[..., None]
) -> None:
    names = [f"Author Number{n}" for n in range(1, 13)]
    add_papers(
        paper_record("2509.00001", authors=names, categories=["hep-th", "gr-qc", "math-ph"]),
        paper_record("2509.00002", authors=names[:8]),
        paper_record("2509.00003", authors=[]),
    )
    nobody, exact, crowded = services.day_listing(MON).papers  # newest id first
    assert [author.name for author in crowded.authors] == names[:8]
    assert (crowded.author_count, crowded.more_authors) == (12, 4)
    assert (exact.author_count, exact.more_authors) == (8, 0)
    assert (nobody.authors, nobody.author_count) == ((), 0)
    assert crowded.categories == ("hep-th", "gr-qc", "math-ph")
    assert crowded.primary_category == "hep-th"
    assert crowded.category_links == [
        ("hep-th", "/categories/hep-th/"),
        ("gr-qc", "/categories/gr-qc/"),
        ("math-ph", "/categories/math-ph/"),
    ]


def test_card_carries_links_and_dates(paper_record: Record, add_papers: Callable[..., None]) -> None:
    updated = datetime(2025, 9, 21, 8, 0, tzinfo=UTC)
    add_papers(paper_record("2509.00001", version=2, updated_at=updated, doi="10.1000/xyz"))
    (card,) = services.day_listing(MON).papers
    assert card.links == PaperLinks(
        abs="https://arxiv.org/abs/2509.00001v2",
        pdf="https://arxiv.org/pdf/2509.00001v2",
        html="https://arxiv.org/html/2509.00001v2",
        doi="https://doi.org/10.1000/xyz",
    )
    assert (card.version, card.submitted_at, card.updated_at) == (2, SUBMITTED_AT, updated)
    assert card.path == "/papers/2509.00001/"


def test_author_listing_is_newest_first_with_undated_last(
    paper_record: Record, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(
        paper_record("2509.00001", authors=["Emmy Noether"], announced_on=THU),
        paper_record("2509.00002", authors=["Emmy Noether", "Ada Lovelace"], announced_on=MON),
        paper_record("2509.00003", authors=["Emmy Noether"], announced_on=None),
        paper_record("2509.00004", authors=["Emmy Noether"], announced_on=TUE),
        paper_record("2509.00005", authors=["Ada Lovelace"], announced_on=TUE),
    )
    add_papers(deleted_record("2509.00004"))
    author_id = services.day_listing(THU).papers[0].authors[0].id
    listing = services.author_listing(author_id)
    assert listing is not None
    assert listing.author == AuthorRef(author_id, "Emmy Noether")
    assert ids(listing.papers) == ["2509.00002", "2509.00001", "2509.00003"]
    assert listing.page == services.ListPage(1, False, False, 3, 1)


def test_author_listing_of_unknown_author_is_none(db: None) -> None:
    assert services.author_listing(123456) is None


def test_category_listing_includes_cross_lists_newest_first(
    paper_record: Record, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(
        paper_record("2509.00001", categories=["cs.LG"], announced_on=THU),
        paper_record("2509.00002", categories=["stat.ML", "cs.LG"], announced_on=MON),
        paper_record("2509.00003", categories=["cs.CL"], announced_on=TUE),
        paper_record("2509.00004", categories=["cs.LG"], announced_on=TUE),
        paper_record("2509.00005", categories=["cs.LG"], announced_on=TUE),
    )
    add_papers(deleted_record("2509.00005"))
    listing = services.category_listing("cs.LG")
    assert listing is not None
    assert listing.category == CategoryRef("cs.LG", "Machine Learning")
    assert ids(listing.papers) == ["2509.00004", "2509.00002", "2509.00001"]
    assert listing.page == services.ListPage(1, False, False)


def test_category_listing_pages_without_counting(
    paper_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(*[paper_record(f"2509.{n:05d}", categories=["math.AG"]) for n in range(1, 52)])
    first = services.category_listing("math.AG", page=1)
    second = services.category_listing("math.AG", page=2)
    assert first is not None and second is not None
    assert (len(first.papers), first.page) == (50, services.ListPage(1, False, True))
    assert (ids(second.papers), second.page) == (["2509.00001"], services.ListPage(2, True, False))
    with pytest.raises(services.PageOutOfRange):
        services.category_listing("math.AG", page=3)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("cs.LG", CategoryRef("cs.LG", "Machine Learning")),  # in the database
        ("math.AG", CategoryRef("math.AG", "Algebraic Geometry")),  # in the taxonomy, no papers yet
        ("hep-th", CategoryRef("hep-th", "High Energy Physics - Theory")),
        ("xx.YY", None),
        ("", None),
    ],
)
def test_find_category_knows_the_database_and_the_taxonomy(
    paper_record: Record, add_papers: Callable[..., None], code: str, expected: CategoryRef | None
) -> None:
    add_papers(paper_record("2509.00001", categories=["cs.LG"]))
    assert services.find_category(code) == expected


def test_category_counts_include_cross_lists_and_skip_deleted(
    paper_record: Record, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(
        paper_record("2509.00001", categories=["cs.LG", "stat.ML"]),
        paper_record("2509.00002", categories=["stat.ML"]),
        paper_record("2509.00003", categories=["cs.LG"]),
    )
    add_papers(deleted_record("2509.00003"))
    assert services.category_counts() == [
        services.CategoryCount("cs.LG", "Machine Learning", "cs", "Computer Science", 1),
        services.CategoryCount("stat.ML", "Machine Learning", "stat", "Statistics", 2),
    ]


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        (
            "http://creativecommons.org/licenses/by/4.0/",
            ("CC BY 4.0", "http://creativecommons.org/licenses/by/4.0/"),
        ),
        (
            "http://creativecommons.org/licenses/by-nc-sa/4.0/",
            ("CC BY-NC-SA 4.0", "http://creativecommons.org/licenses/by-nc-sa/4.0/"),
        ),
        (
            "http://creativecommons.org/publicdomain/zero/1.0/",
            ("CC0 1.0", "http://creativecommons.org/publicdomain/zero/1.0/"),
        ),
        (
            "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            (
                "arXiv non-exclusive distribution licence",
                "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            ),
        ),
        # only http(s) URLs become links
        ("javascript:alert(1)", ("javascript:alert(1)", None)),
        ("", ("", None)),
    ],
)
def test_describe_license(license: str, expected: tuple[str, str | None]) -> None:
    assert services.describe_license(license) == expected


def test_paper_detail_has_all_authors_named_categories_and_versions(
    paper_record: Record, add_papers: Callable[..., None]
) -> None:
    updated = datetime(2025, 9, 21, 8, 0, tzinfo=UTC)
    names = [f"Author Number{n}" for n in range(1, 13)]
    add_papers(
        paper_record(
            "2509.00001", version=2, updated_at=updated, authors=names, categories=["cs.CL", "cs.AI"]
        )
    )
    detail = services.paper_detail("2509.00001")
    assert detail is not None
    assert [author.name for author in detail.authors] == names
    assert detail.categories == (
        CategoryRef("cs.CL", "Computation and Language"),
        CategoryRef("cs.AI", "Artificial Intelligence"),
    )
    assert detail.versions == (
        services.VersionInfo(1, SUBMITTED_AT, "100kb", "https://arxiv.org/abs/2509.00001v1"),
        services.VersionInfo(2, updated, "200kb", "https://arxiv.org/abs/2509.00001v2"),
    )
    assert (detail.is_deleted, detail.deleted_on) == (False, None)


def test_paper_detail_marks_deleted_papers_and_misses_unknown_ids(
    paper_record: Record, deleted_record: Record, add_papers: Callable[..., None]
) -> None:
    add_papers(paper_record("2509.00001"))
    add_papers(deleted_record("2509.00001", on=date(2025, 12, 1)))
    detail = services.paper_detail("2509.00001")
    assert detail is not None
    assert (detail.is_deleted, detail.deleted_on) == (True, date(2025, 12, 1))
    assert services.paper_detail("2509.99999") is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("cs.LG", "/categories/cs.LG/"),
        ("cond-mat.mes-hall", "/categories/cond-mat.mes-hall/"),
        ("a b", "/categories/a%20b/"),
        ("a/b", None),
        ("", None),
    ],
)
def test_category_path_quotes_or_refuses_odd_codes(code: str, expected: str | None) -> None:
    assert services.category_path(code) == expected


@pytest.mark.parametrize(
    ("arxiv_id", "expected"),
    [("2509.00001", "/papers/2509.00001/"), ("hep-th/9901001", "/papers/hep-th/9901001/")],
)
def test_paper_path_keeps_the_slash_of_old_style_ids(arxiv_id: str, expected: str) -> None:
    assert services.paper_path(arxiv_id) == expected
