"""The queries behind the paper pages and their JSON twins; each returns plain dataclasses.

Rule: lists never show deleted papers and never run a query per paper: authors, author counts and
categories come in one query each for a whole page of cards.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F
from django.urls import reverse

from broadsheet.ingest.categories import ARCHIVE_NAMES, CATEGORY_NAMES, category_archive, category_name
from broadsheet.papers.models import (
    ARXIV_ABS_URL,
    ARXIV_HTML_URL,
    ARXIV_PDF_URL,
    DOI_URL,
    Author,
    Category,
    Paper,
    PaperAuthor,
    PaperCategory,
    PaperVersion,
)

PAGE_SIZE = 50
AUTHORS_PER_CARD = 8
# Counting listings per category reads every listing row; a few minutes of staleness is the price of
# the category index rendering in milliseconds at millions of papers.
CATEGORY_COUNTS_CACHE_KEY = "papers:category-counts"
CATEGORY_COUNTS_CACHE_SECONDS = 600

CARD_FIELDS = (
    "id", "arxiv_id", "version", "title", "abstract", "primary_category_id", "announced_on",
    "submitted_at", "updated_at", "doi",
)


class PageOutOfRange(Exception):
    """A page number past the last page of a list."""


PATH_PLACEHOLDER = "0000000000"


# The script prefix (SCRIPT_NAME) is fixed for a deployment, so caching it with the pattern is safe.
@lru_cache(maxsize=8)
def _path_pattern(name: str) -> tuple[str, str]:
    """(prefix, suffix) of a one-argument URL: a list page builds hundreds of links, and reverse() costs
    tens of microseconds each."""
    prefix, _, suffix = reverse(name, args=[PATH_PLACEHOLDER]).partition(PATH_PLACEHOLDER)
    return prefix, suffix


def paper_path(arxiv_id: str) -> str:
    prefix, suffix = _path_pattern("papers:paper")
    return prefix + quote(arxiv_id, safe="/") + suffix


def author_path(author_id: int) -> str:
    prefix, suffix = _path_pattern("papers:author")
    return f"{prefix}{int(author_id)}{suffix}"


def category_path(code: str) -> str | None:
    """The category page's path; None for a code no URL can carry (upstream data is not trusted)."""
    if not code or "/" in code:
        return None
    prefix, suffix = _path_pattern("papers:category")
    return prefix + quote(code, safe="") + suffix


@dataclass(frozen=True)
class AuthorRef:
    id: int
    name: str

    @property
    def path(self) -> str:
        return author_path(self.id)


@dataclass(frozen=True)
class CategoryRef:
    code: str
    name: str

    @property
    def path(self) -> str | None:
        return category_path(self.code)


@dataclass(frozen=True)
class PaperLinks:
    abs: str
    pdf: str
    html: str
    doi: str | None

    @classmethod
    def build(cls, arxiv_id: str, version: int, doi: str) -> PaperLinks:
        return cls(
            abs=ARXIV_ABS_URL.format(arxiv_id=arxiv_id, version=version),
            pdf=ARXIV_PDF_URL.format(arxiv_id=arxiv_id, version=version),
            html=ARXIV_HTML_URL.format(arxiv_id=arxiv_id, version=version),
            doi=DOI_URL.format(doi=doi) if doi else None,
        )


@dataclass(frozen=True)
class PaperCard:
    """A paper as a list shows it: the first AUTHORS_PER_CARD authors and the total count."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[AuthorRef, ...]
    author_count: int
    categories: tuple[str, ...]  # primary first, then cross-lists
    primary_category: str | None
    announced_on: date | None
    submitted_at: datetime | None
    updated_at: datetime | None
    links: PaperLinks

    @property
    def path(self) -> str:
        return paper_path(self.arxiv_id)

    @property
    def category_links(self) -> list[tuple[str, str | None]]:
        return [(code, category_path(code)) for code in self.categories]

    @property
    def more_authors(self) -> int:
        return self.author_count - len(self.authors)


@dataclass(frozen=True)
class ListPage:
    """Where a page sits in its list; `count` and `page_count` are None where counting would cost a scan."""

    number: int
    has_previous: bool
    has_next: bool
    count: int | None = None
    page_count: int | None = None

    @property
    def previous_number(self) -> int | None:
        return self.number - 1 if self.has_previous else None

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.has_next else None


@dataclass(frozen=True)
class DayListing:
    day: date | None  # None: no paper has an announcement day yet
    previous_day: date | None  # nearest older day with papers
    next_day: date | None  # nearest newer day with papers
    page: ListPage
    papers: list[PaperCard]


@dataclass(frozen=True)
class AuthorListing:
    author: AuthorRef
    page: ListPage
    papers: list[PaperCard]


@dataclass(frozen=True)
class CategoryListing:
    category: CategoryRef
    page: ListPage
    papers: list[PaperCard]


@dataclass(frozen=True)
class CategoryCount:
    code: str
    name: str
    archive: str
    archive_name: str
    paper_count: int

    @property
    def path(self) -> str | None:
        return category_path(self.code)


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: datetime | None
    size: str
    abs_url: str


@dataclass(frozen=True)
class PaperDetail:
    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[AuthorRef, ...]
    categories: tuple[CategoryRef, ...]  # primary first
    primary_category: str | None
    comments: str
    journal_ref: str
    doi: str
    report_no: str
    license: str
    license_label: str
    license_url: str | None
    submitted_at: datetime | None
    updated_at: datetime | None
    announced_on: date | None
    versions: tuple[VersionInfo, ...]
    links: PaperLinks
    is_deleted: bool
    deleted_on: date | None

    @property
    def path(self) -> str:
        return paper_path(self.arxiv_id)


def _live_papers():
    return Paper.objects.filter(is_deleted=False)


def _check_page(number: int) -> int:
    if number < 1:
        raise PageOutOfRange(number)
    return number


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _aware(value):
    """A datetime read by plain SQL as the ORM returns it: SQLite hands back naive UTC datetimes."""
    if isinstance(value, datetime) and value.tzinfo is None and settings.USE_TZ:
        return value.replace(tzinfo=UTC)
    return value


def card_rows(ids: list[int]) -> dict[int, dict]:
    """The CARD_FIELDS of the live papers among `ids`, by id, in one statement.

    Plain SQL, as build_cards': a search page is built in a few milliseconds, and compiling its ORM
    querysets cost more than running them."""
    if not ids:
        return {}
    columns = ", ".join(CARD_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM papers_paper WHERE is_deleted = %s AND id IN ({_placeholders(ids)})",
            [False, *ids],
        )
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        values = dict(zip(CARD_FIELDS, row, strict=True))
        values["submitted_at"] = _aware(values["submitted_at"])
        values["updated_at"] = _aware(values["updated_at"])
        found[row[0]] = values
    return found


def build_cards(rows: list[dict]) -> list[PaperCard]:
    """Cards for paper rows (dicts of CARD_FIELDS), in the same order, in at most three queries."""
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    authors: dict[int, list[AuthorRef]] = defaultdict(list)
    categories: dict[int, list[str]] = defaultdict(list)
    counts: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT paper_id, author_id, name FROM papers_paperauthor "
            f"WHERE paper_id IN ({_placeholders(ids)}) AND position < %s ORDER BY paper_id, position",
            [*ids, AUTHORS_PER_CARD],
        )
        for paper_id, author_id, name in cursor.fetchall():
            authors[paper_id].append(AuthorRef(author_id, name))
        # only papers showing a full card of authors can have more; most pages skip this query
        crowded = [paper_id for paper_id in ids if len(authors[paper_id]) >= AUTHORS_PER_CARD]
        if crowded:
            cursor.execute(
                "SELECT paper_id, count(*) FROM papers_paperauthor "
                f"WHERE paper_id IN ({_placeholders(crowded)}) GROUP BY paper_id",
                crowded,
            )
            counts = dict(cursor.fetchall())
        cursor.execute(
            "SELECT paper_id, category_id FROM papers_papercategory "
            f"WHERE paper_id IN ({_placeholders(ids)}) ORDER BY paper_id, position",
            ids,
        )
        for paper_id, code in cursor.fetchall():
            categories[paper_id].append(code)
    cards = []
    for row in rows:
        paper_id = row["id"]
        shown = tuple(authors[paper_id])
        cards.append(PaperCard(
            arxiv_id=row["arxiv_id"],
            version=row["version"],
            title=row["title"],
            abstract=row["abstract"],
            authors=shown,
            author_count=counts.get(paper_id, len(shown)),
            categories=tuple(categories[paper_id]),
            primary_category=row["primary_category_id"],
            announced_on=row["announced_on"],
            submitted_at=row["submitted_at"],
            updated_at=row["updated_at"],
            links=PaperLinks.build(row["arxiv_id"], row["version"], row["doi"]),
        ))
    return cards


def latest_announcement_day(now: datetime) -> date | None:
    """The newest announcement day with papers, not after `now`'s date (arrival estimates can run a
    day ahead of arXiv's listing); the newest of all when every day is in the future."""
    days = _live_papers().filter(announced_on__isnull=False).order_by("-announced_on")
    day = days.filter(announced_on__lte=now.date()).values_list("announced_on", flat=True).first()
    if day is None:
        day = days.values_list("announced_on", flat=True).first()
    return day


def day_listing(day: date | None, *, page: int = 1) -> DayListing:
    """One page of the papers announced on `day`, newest arXiv id first, with the nearest older and
    newer days that have papers (empty days are skipped)."""
    _check_page(page)
    if day is None:
        if page > 1:
            raise PageOutOfRange(page)
        return DayListing(None, None, None, ListPage(1, False, False, 0, 0), [])
    live = _live_papers()
    days = live.values_list("announced_on", flat=True)
    previous_day = days.filter(announced_on__lt=day).order_by("-announced_on").first()
    next_day = days.filter(announced_on__gt=day).order_by("announced_on").first()
    papers = live.filter(announced_on=day)
    count = papers.count()
    page_count = max(1, math.ceil(count / PAGE_SIZE))
    if page > page_count:
        raise PageOutOfRange(page)
    start = (page - 1) * PAGE_SIZE
    rows = list(papers.order_by("-arxiv_id").values(*CARD_FIELDS)[start:start + PAGE_SIZE])
    return DayListing(
        day=day,
        previous_day=previous_day,
        next_day=next_day,
        page=ListPage(page, page > 1, page < page_count, count, page_count),
        papers=build_cards(rows),
    )


def _slice_page(rows: list[dict], page: int) -> tuple[list[dict], ListPage]:
    """Rows fetched one past the page size tell whether there is a next page without a COUNT."""
    if page > 1 and not rows:
        raise PageOutOfRange(page)
    return rows[:PAGE_SIZE], ListPage(page, page > 1, len(rows) > PAGE_SIZE)


def author_listing(author_id: int, *, page: int = 1) -> AuthorListing | None:
    """An author's papers, newest first (undated last); None for an unknown author."""
    _check_page(page)
    author = Author.objects.filter(pk=author_id).values_list("id", "name").first()
    if author is None:
        return None
    papers = _live_papers().filter(authorships__author_id=author_id)
    count = papers.count()
    page_count = max(1, math.ceil(count / PAGE_SIZE))
    if page > page_count:
        raise PageOutOfRange(page)
    start = (page - 1) * PAGE_SIZE
    rows = list(
        papers.order_by(F("announced_on").desc(nulls_last=True), "-arxiv_id")
        .values(*CARD_FIELDS)[start:start + PAGE_SIZE]
    )
    return AuthorListing(
        author=AuthorRef(*author),
        page=ListPage(page, page > 1, page < page_count, count, page_count),
        papers=build_cards(rows),
    )


def find_category(code: str) -> CategoryRef | None:
    """A category known to the database or to arXiv's taxonomy; None for anything else."""
    row = Category.objects.filter(code=code).values_list("code", "name").first()
    if row is not None:
        return CategoryRef(row[0], row[1] or category_name(code))
    if code in CATEGORY_NAMES or code in ARCHIVE_NAMES:
        return CategoryRef(code, category_name(code))
    return None


def category_listing(code: str, *, page: int = 1) -> CategoryListing | None:
    """Papers listed in a category (primary or cross-listed), newest first; None for an unknown code.

    Papers without an announcement day are left out: ordering them last would stop PostgreSQL (which
    sorts NULLs first in a descending index scan) from reading the (category, announced_on) index.
    """
    _check_page(page)
    category = find_category(code)
    if category is None:
        return None
    start = (page - 1) * PAGE_SIZE
    listed = (
        PaperCategory.objects.filter(category_id=code, announced_on__isnull=False, paper__is_deleted=False)
        .order_by("-announced_on", "-paper__arxiv_id")
        .values_list("paper_id", flat=True)[start:start + PAGE_SIZE + 1]
    )
    ids = list(listed)
    by_id = {row["id"]: row for row in Paper.objects.filter(pk__in=ids).values(*CARD_FIELDS)}
    rows, list_page = _slice_page([by_id[paper_id] for paper_id in ids if paper_id in by_id], page)
    return CategoryListing(category=category, page=list_page, papers=build_cards(rows))


def category_counts() -> list[CategoryCount]:
    """Every category with papers (and every known one in the database), with its count of papers
    listed there (cross-lists included, deleted papers not); cached for CATEGORY_COUNTS_CACHE_SECONDS."""
    cached = cache.get(CATEGORY_COUNTS_CACHE_KEY)
    if cached is not None:
        return cached
    counts = dict(
        PaperCategory.objects.filter(announced_on__isnull=False, paper__is_deleted=False)
        .order_by()
        .values("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    names = dict(Category.objects.values_list("code", "name"))
    result = []
    for code in sorted(set(names) | set(counts)):
        archive = category_archive(code)
        result.append(CategoryCount(
            code=code,
            name=names.get(code) or category_name(code),
            archive=archive,
            archive_name=ARCHIVE_NAMES.get(archive, archive),
            paper_count=counts.get(code, 0),
        ))
    cache.set(CATEGORY_COUNTS_CACHE_KEY, result, CATEGORY_COUNTS_CACHE_SECONDS)
    return result


CREATIVE_COMMONS = re.compile(r"^https?://creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/([\d.]+)/?$")
LICENSE_LABELS = {
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/": "arXiv non-exclusive distribution licence",
    "http://arxiv.org/licenses/assumed-1991-2003/": "arXiv licence assumed for 1991-2003 submissions",
}


def describe_license(license: str) -> tuple[str, str | None]:
    """(a short label, a link or None) for a licence URL as arXiv gives it."""
    if not license:
        return "", None
    url = license if license.startswith(("https://", "http://")) else None
    match = CREATIVE_COMMONS.match(license)
    if match:
        kind, name, version = match.groups()
        label = "CC0" if kind == "publicdomain" and name == "zero" else "CC " + name.upper()
        return f"{label} {version}", url
    return LICENSE_LABELS.get(license, license), url


def paper_detail(arxiv_id: str) -> PaperDetail | None:
    """Everything the paper page shows (all authors, named categories, versions); deleted papers
    come back with is_deleted set; None for an id not in the corpus."""
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper is None:
        return None
    authors = tuple(
        AuthorRef(author_id, name)
        for author_id, name in PaperAuthor.objects.filter(paper=paper).order_by("position")
        .values_list("author_id", "name")
    )
    categories = tuple(
        CategoryRef(code, name or category_name(code))
        for code, name in PaperCategory.objects.filter(paper=paper).order_by("position")
        .values_list("category_id", "category__name")
    )
    versions = tuple(
        VersionInfo(number, created_at, size, ARXIV_ABS_URL.format(arxiv_id=paper.arxiv_id, version=number))
        for number, created_at, size in PaperVersion.objects.filter(paper=paper).order_by("version")
        .values_list("version", "created_at", "size")
    )
    license_label, license_url = describe_license(paper.license)
    return PaperDetail(
        arxiv_id=paper.arxiv_id,
        version=paper.version,
        title=paper.title,
        abstract=paper.abstract,
        authors=authors,
        categories=categories,
        primary_category=paper.primary_category_id,
        comments=paper.comments,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        report_no=paper.report_no,
        license=paper.license,
        license_label=license_label,
        license_url=license_url,
        submitted_at=paper.submitted_at,
        updated_at=paper.updated_at,
        announced_on=paper.announced_on,
        versions=versions,
        links=PaperLinks.build(paper.arxiv_id, paper.version, paper.doi),
        is_deleted=paper.is_deleted,
        deleted_on=paper.deleted_on,
    )

