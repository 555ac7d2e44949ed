"""Hugging Face daily papers (`/api/daily_papers?date=YYYY-MM-DD`), from the live API or saved responses.

Each item becomes a PaperRecord for the one upsert (no datestamp, so arXiv's own records win the content
merge), an HfObservation of its counts at the moment it was seen, HfPaperInfo (the latest observation by
time wins, whatever the import order) and a GitHub star sample. Rule: a response is parsed whole before
anything is written and stored in one transaction, so a malformed one commits nothing.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.records import IngestError, PaperRecord, clean_text, split_arxiv_id
from broadsheet.ingest.upsert import UpsertResult, upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.trending.github import ensure_repos, parse_github_repo, store_star_samples
from broadsheet.trending.models import HfObservation, HfPaperInfo

QUERY_CHUNK = 500
PAGE_SIZE = 100  # the API's largest page
MAX_PAGES = 20  # a daily page has tens of papers; more pages than this means the server ignores `p`
SAVED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json(\.gz)?$")
URL_MAX_LENGTH = 500
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEW_STYLE_MONTH = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}$")
ARXIV_TIME_ZONE = ZoneInfo("America/New_York")
ARXIV_CUTOFF_HOUR = 14  # submissions after 14:00 Eastern wait for the next day's announcement


def _text(value: Any) -> str:
    """Whitespace collapsed and control characters dropped (PostgreSQL refuses NUL in text)."""
    return clean_text(_CONTROL.sub("", value)) if isinstance(value, str) else ""


def _web_url(value: Any) -> str:
    """An http(s) URL short enough to keep, else "" (the value ends up in an href)."""
    text = _text(value)
    if len(text) > URL_MAX_LENGTH or not re.match(r"^https?://[^\s/]+", text, re.IGNORECASE):
        return ""
    return text


class _Problem(ValueError):
    """What is wrong with one item; the caller adds the response and the item's index."""


def _count(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Problem(f"{name} is not a non-negative integer: {value!r}"[:200])
    return value


def _moment(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Problem(f"{name} is not a date-time: {value!r}"[:200])
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Problem(f"{name} is not a date-time: {value!r}"[:200]) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _name_of(value: Any, *keys: str) -> str:
    if isinstance(value, dict):
        for key in keys:
            text = _text(value.get(key))
            if text:
                return text
    return ""


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def listing_day(submitted_at: datetime) -> date:
    """The day arXiv lists a new submission: it is announced on the evening of the first weekday whose
    14:00 Eastern cutoff it made, and listed under the next weekday. Checked on the 3,126 papers of the
    corpus whose v1 time and first listing are both known: exact for 93%, never later than the listing
    (holidays shift the rest); "the next weekday" alone was exact for 79%.
    """
    local = submitted_at.astimezone(ARXIV_TIME_ZONE)
    announced = local.date()
    if local.weekday() >= 5 or local.hour >= ARXIV_CUTOFF_HOUR:
        announced = _next_weekday(announced)
    return _next_weekday(announced)


def _months_after_id(arxiv_id: str, moment: date) -> int | None:
    """Whole months from the month of a new-style id (`2604.01234`: April 2026) to `moment`; None for
    old-style ids, which carry no month we trust here."""
    match = _NEW_STYLE_MONTH.match(arxiv_id)
    if not match:
        return None
    year, month = 2000 + int(match.group(1)), int(match.group(2))
    return (moment.year - year) * 12 + (moment.month - month)


def estimate_dates(
    arxiv_id: str, published_at: datetime | None, daily_on: date
) -> tuple[date | None, datetime | None]:
    """(announced_on, submitted_at) of a paper as Hugging Face shows it.

    `paper.publishedAt` is arXiv's v1 submission time when it is a full timestamp; from about April 2026 it
    is a bare date that sometimes contradicts the id (a conference date, a revision). It is believed only
    in the id's month or the month before (a paper submitted on the 31st gets next month's id); then the
    paper was listed as `listing_day` says, and by the daily page's date at the latest. Otherwise the
    daily date is the estimate when it lies in the id's month or the month after, and there is none for
    an old paper put on a daily page later (the arXiv record, when it comes, knows).
    """
    if published_at is not None:
        months = _months_after_id(arxiv_id, published_at.date())
        if months is None or -1 <= months <= 0:
            if published_at.time() != time(0):
                return min(listing_day(published_at), daily_on), published_at
            # a bare date is the submission day in Eastern time; listed on the next weekday at the earliest
            return min(_next_weekday(published_at.date()), daily_on), None
    months = _months_after_id(arxiv_id, daily_on)
    if months is not None and 0 <= months <= 1:
        return daily_on, None
    return None, None


@dataclass
class HfItem:
    """One item of a daily-papers response: the paper and what Hugging Face adds to it."""

    record: PaperRecord
    upvotes: int
    num_comments: int
    github_url: str = ""  # https://github.com/Owner/Name for a GitHub repository, else the URL as given
    github_full_name: str = ""  # owner/name, lower case; "" when the link is not a GitHub repository
    github_stars: int | None = None
    project_page: str = ""
    ai_summary: str = ""
    ai_keywords: list[str] = field(default_factory=list)
    organization: str = ""
    submitted_by: str = ""
    submitted_on_daily_at: datetime | None = None


def parse_item(item: Any, daily_on: date) -> HfItem:
    """One `/api/daily_papers` item; _Problem says what is wrong with it."""
    if not isinstance(item, dict):
        raise _Problem(f"expected a JSON object, got {type(item).__name__}")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise _Problem("no `paper` object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise _Problem("paper.id is missing")
    try:
        arxiv_id, _version = split_arxiv_id(raw_id)
    except ValueError as exc:
        raise _Problem(f"paper.id: {exc}") from exc
    title = _text(paper.get("title")) or _text(item.get("title"))
    if not title:
        raise _Problem(f"paper {arxiv_id} has no title")
    raw_authors = paper.get("authors", [])
    if not isinstance(raw_authors, list):
        raise _Problem("paper.authors is not a list")
    authors = []
    for author in raw_authors:
        name = _name_of(author, "name") if isinstance(author, dict) else _text(author)
        if name:
            authors.append(name)
    published_at = _moment(paper.get("publishedAt"), "paper.publishedAt")
    submitted_on_daily_at = _moment(paper.get("submittedOnDailyAt"), "paper.submittedOnDailyAt")
    announced_on, submitted_at = estimate_dates(arxiv_id, published_at, daily_on)
    record = PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=_text(paper.get("summary")) or _text(item.get("summary")),
        authors=authors,
        submitted_at=submitted_at,
        announced_on=announced_on,
    )
    github_raw = paper.get("githubRepo")
    if github_raw is not None and not isinstance(github_raw, str):
        raise _Problem(f"paper.githubRepo is not a string: {github_raw!r}"[:200])
    github_url, github_full_name = _web_url(github_raw), ""
    parsed = parse_github_repo(github_url) if github_url else None
    if parsed is not None:
        github_full_name, github_url = parsed
    stars = paper.get("githubStars")
    keywords = paper.get("ai_keywords")
    return HfItem(
        record=record,
        upvotes=_count(paper.get("upvotes"), "paper.upvotes"),
        num_comments=_count(item.get("numComments"), "numComments"),
        github_url=github_url,
        github_full_name=github_full_name,
        github_stars=None if stars is None else _count(stars, "paper.githubStars"),
        project_page=_web_url(paper.get("projectPage")),
        ai_summary=_text(paper.get("ai_summary")),
        ai_keywords=[_text(k) for k in keywords if _text(k)] if isinstance(keywords, list) else [],
        organization=_name_of(item.get("organization") or paper.get("organization"), "fullname", "name")[
            :200
        ],
        submitted_by=(
            _name_of(item.get("submittedBy"), "name", "user")
            or _name_of(paper.get("submittedOnDailyBy"), "user", "name")
        )[:200],
        submitted_on_daily_at=submitted_on_daily_at or midnight(daily_on),
    )


def parse_daily_papers(body: bytes, *, source: str, daily_on: date) -> list[HfItem]:
    """A whole `/api/daily_papers` response (gzipped or not); IngestError naming `source` (and the item's
    index) when any part of it cannot be taken."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"{source}: not a valid gzip file ({exc})") from exc
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as exc:
        raise IngestError(f"{source}: not UTF-8 text ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{source}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(payload, list):
        raise IngestError(f"{source}: expected a JSON list of daily papers, got {type(payload).__name__}")
    items = []
    for index, raw in enumerate(payload):
        try:
            items.append(parse_item(raw, daily_on))
        except _Problem as exc:
            raise IngestError(f"{source}: item {index}: {exc}") from exc
    return items


# ---------------------------------------------------------------------------------------------
# storing


@dataclass
class HfImportResult:
    responses: int = 0
    items: int = 0
    observations: int = 0
    star_samples: int = 0
    papers: UpsertResult = field(default_factory=UpsertResult)
    skipped: list[str] = field(default_factory=list)  # problems of responses left out

    def add(self, other: HfImportResult) -> None:
        self.responses += other.responses
        self.items += other.items
        self.observations += other.observations
        self.star_samples += other.star_samples
        self.papers.add(other.papers)
        self.skipped += other.skipped

    def summary(self, label: str, seconds: float) -> str:
        papers = self.papers
        text = (
            f"{label}: {self.responses:,} responses, {self.items:,} items (papers created "
            f"{papers.created:,}, updated {papers.updated:,}, unchanged {papers.unchanged:,}, "
            f"skipped {papers.skipped:,}), "
            f"{self.observations:,} observations, {self.star_samples:,} star samples in {seconds:.1f} s"
        )
        if self.skipped:
            text += f", {len(self.skipped):,} responses skipped"
        return text


def _info_rank(observed_at: datetime, submitted_at: datetime | None, upvotes: int, comments: int) -> tuple:
    """Which observation HfPaperInfo shows: the latest, then (same moment) the latest daily submission
    and the larger counts, so the outcome does not depend on the order responses are imported in."""
    return (observed_at, submitted_at or datetime.min.replace(tzinfo=UTC), upvotes, comments)


def _merge_duplicates(items: Sequence[HfItem]) -> dict[str, HfItem]:
    """One item per paper: a paper listed twice in one response keeps its larger counts."""
    merged: dict[str, HfItem] = {}
    for item in items:
        known = merged.get(item.record.arxiv_id)
        if known is None or (item.upvotes, item.num_comments) > (known.upvotes, known.num_comments):
            merged[item.record.arxiv_id] = item
    return merged


def store_daily_papers(
    items: Sequence[HfItem],
    *,
    daily_on: date,
    observed_at: datetime,
    now: datetime,
    keep_categories: frozenset[str] | set[str] = frozenset(),
) -> HfImportResult:
    """Write one response's items in one transaction. With `keep_categories` set, Hugging Face (which
    gives no categories) only adds signals to papers already in the corpus; it creates none."""
    result = HfImportResult(responses=1, items=len(items))
    by_id = _merge_duplicates(items)
    with transaction.atomic():
        if keep_categories:
            known: set[str] = set()
            ids = sorted(by_id)
            for start in range(0, len(ids), QUERY_CHUNK):
                known.update(
                    Paper.objects.filter(arxiv_id__in=ids[start : start + QUERY_CHUNK]).values_list(
                        "arxiv_id", flat=True
                    )
                )
            result.papers.skipped = len(by_id) - len(known)
            by_id = {arxiv_id: item for arxiv_id, item in by_id.items() if arxiv_id in known}
        result.papers.add(upsert_papers([item.record for item in by_id.values()], now=now))
        pk_by_id: dict[str, int] = {}
        ids = sorted(by_id)
        for start in range(0, len(ids), QUERY_CHUNK):
            pk_by_id.update(
                Paper.objects.filter(arxiv_id__in=ids[start : start + QUERY_CHUNK]).values_list(
                    "arxiv_id", "pk"
                )
            )
        repo_ids = ensure_repos(item.github_full_name for item in by_id.values() if item.github_full_name)

        HfObservation.objects.bulk_create(
            [
                HfObservation(
                    paper_id=pk_by_id[arxiv_id],
                    daily_on=daily_on,
                    observed_at=observed_at,
                    upvotes=item.upvotes,
                    num_comments=item.num_comments,
                    github_stars=item.github_stars,
                )
                for arxiv_id, item in by_id.items()
            ],
            update_conflicts=True,
            unique_fields=["paper", "daily_on", "observed_at"],
            update_fields=["upvotes", "num_comments", "github_stars"],
            batch_size=500,
        )
        result.observations = len(by_id)
        _store_infos(by_id, pk_by_id, repo_ids, daily_on=daily_on, observed_at=observed_at)
        result.star_samples = store_star_samples(
            (repo_ids[item.github_full_name], observed_at, item.github_stars)
            for item in by_id.values()
            if item.github_full_name and item.github_stars is not None
        )
    return result


def _store_infos(
    by_id: dict[str, HfItem],
    pk_by_id: dict[str, int],
    repo_ids: dict[str, int],
    *,
    daily_on: date,
    observed_at: datetime,
) -> None:
    pks = sorted(pk_by_id.values())
    existing: dict[int, HfPaperInfo] = {}
    for start in range(0, len(pks), QUERY_CHUNK):
        for info in HfPaperInfo.objects.filter(paper_id__in=pks[start : start + QUERY_CHUNK]):
            existing[info.paper_id] = info
    new: list[HfPaperInfo] = []
    changed: list[HfPaperInfo] = []
    for arxiv_id, item in by_id.items():
        paper_pk = pk_by_id[arxiv_id]
        known = existing.get(paper_pk)
        rank = _info_rank(observed_at, item.submitted_on_daily_at, item.upvotes, item.num_comments)
        if known is not None:
            info = known
            first_daily_on = min(info.first_daily_on or daily_on, daily_on)
            known_rank = _info_rank(
                info.observed_at, info.submitted_on_daily_at, info.upvotes, info.num_comments
            )
            if rank <= known_rank:
                if first_daily_on != info.first_daily_on:
                    info.first_daily_on = first_daily_on
                    changed.append(info)
                continue
        else:
            info = HfPaperInfo(paper_id=paper_pk)
            first_daily_on = daily_on
        info.github_repo = item.github_url
        info.repo_id = repo_ids.get(item.github_full_name) if item.github_full_name else None
        info.project_page = item.project_page
        info.ai_summary = item.ai_summary
        info.ai_keywords = item.ai_keywords
        info.organization = item.organization
        info.submitted_by = item.submitted_by
        info.submitted_on_daily_at = item.submitted_on_daily_at
        info.first_daily_on = first_daily_on
        info.upvotes = item.upvotes
        info.num_comments = item.num_comments
        info.observed_at = observed_at
        (changed if info.pk else new).append(info)
    HfPaperInfo.objects.bulk_create(new, batch_size=500)
    HfPaperInfo.objects.bulk_update(
        changed,
        [
            "github_repo",
            "repo",
            "project_page",
            "ai_summary",
            "ai_keywords",
            "organization",
            "submitted_by",
            "submitted_on_daily_at",
            "first_daily_on",
            "upvotes",
            "num_comments",
            "observed_at",
        ],
        batch_size=200,
    )


# ---------------------------------------------------------------------------------------------
# saved responses


def saved_observed_at(daily_on: date, now: datetime) -> datetime:
    """When a saved response counts as seen: the end of its day (its counts are those of that day's page,
    saved by a daily job on or soon after the day), or `now` for today's page, so that a re-import gives
    the same observation and nothing is ever seen in the future."""
    return min(midnight(daily_on + timedelta(days=1)), now)


def saved_responses(folder: Path) -> list[tuple[date, Path]]:
    """The `YYYY-MM-DD.json[.gz]` files of `folder`, oldest first; IngestError when there are none."""
    if not folder.is_dir():
        raise IngestError(f"{folder}: not a folder")
    found = []
    for path in sorted(folder.iterdir()):
        match = SAVED_NAME.match(path.name)
        if not match or not path.is_file():
            continue
        try:
            found.append((date.fromisoformat(match.group(1)), path))
        except ValueError as exc:
            raise IngestError(f"{path}: the name is not a date ({exc})") from exc
    if not found:
        raise IngestError(f"{folder}: no YYYY-MM-DD.json or YYYY-MM-DD.json.gz files")
    return sorted(found)


def import_saved_responses(
    folder: Path,
    *,
    now: datetime,
    keep_categories: frozenset[str] | set[str] = frozenset(),
    skip_invalid: bool = False,
    on_response: Callable[[date, HfImportResult], None] | None = None,
    on_invalid: Callable[[str], None] | None = None,
) -> HfImportResult:
    """Import every saved response in `folder`, one transaction each (see saved_observed_at for their
    time). A bad file stops the import with IngestError, or is reported and left out with skip_invalid."""
    totals = HfImportResult()
    for daily_on, path in saved_responses(folder):
        try:
            items = parse_daily_papers(path.read_bytes(), source=str(path), daily_on=daily_on)
        except IngestError as exc:
            if not skip_invalid:
                raise
            totals.skipped.append(str(exc))
            if on_invalid is not None:
                on_invalid(str(exc))
            continue
        stored = store_daily_papers(
            items,
            daily_on=daily_on,
            observed_at=saved_observed_at(daily_on, now),
            now=now,
            keep_categories=keep_categories,
        )
        totals.add(stored)
        if on_response is not None:
            on_response(daily_on, totals)
    return totals


# ---------------------------------------------------------------------------------------------
# the live API


def fetch_daily_papers(client: PoliteClient, daily_on: date, *, base_url: str) -> list[HfItem]:
    """Every item of the daily page of `daily_on`, page by page (`p`, `limit`)."""
    url = f"{base_url.rstrip('/')}/api/daily_papers"
    items: list[HfItem] = []
    seen: set[str] = set()
    for page in range(MAX_PAGES):
        params = {"date": daily_on.isoformat(), "limit": str(PAGE_SIZE), "p": str(page)}
        response = client.get(url, params=params)
        parsed = parse_daily_papers(response.content, source=str(response.request.url), daily_on=daily_on)
        fresh = [item for item in parsed if item.record.arxiv_id not in seen]
        seen.update(item.record.arxiv_id for item in fresh)
        items += fresh
        if len(parsed) < PAGE_SIZE or not fresh:
            break
    return items


def import_daily_pages(
    client: PoliteClient,
    days: Iterable[date],
    *,
    base_url: str,
    now: datetime,
    keep_categories: frozenset[str] | set[str] = frozenset(),
    on_response: Callable[[date, HfImportResult], None] | None = None,
) -> HfImportResult:
    """Fetch and store the daily page of each day (observed at `now`), one transaction per day."""
    totals = HfImportResult()
    for daily_on in days:
        items = fetch_daily_papers(client, daily_on, base_url=base_url)
        totals.add(
            store_daily_papers(
                items, daily_on=daily_on, observed_at=now, now=now, keep_categories=keep_categories
            )
        )
        if on_response is not None:
            on_response(daily_on, totals)
    return totals
