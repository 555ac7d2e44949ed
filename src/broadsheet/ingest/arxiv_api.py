"""The arXiv API (Atom feed): papers fetched by id or by query, parsed into PaperRecords.

Rule: the API is for a few papers at a time (ids a user asks for, a query); bulk harvesting goes
through OAI-PMH. Ids the API does not know are reported back, never silently dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from broadsheet.ingest.http import PoliteClient, UpstreamError
from broadsheet.ingest.oai import parse_upstream_xml
from broadsheet.ingest.records import (
    IngestError,
    PaperRecord,
    VersionRecord,
    clean_text,
    next_announcement_day,
    split_arxiv_id,
)

logger = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
ARXIV_ATOM_NS = "http://arxiv.org/schemas/atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
IDS_PER_REQUEST = 100
QUERY_PAGE_SIZE = 100
ERROR_ID_MARKER = "/api/errors"
# category terms in the feed also carry ACM and MSC classes ("I.2.7", "68T50"): only arXiv codes are kept
ARXIV_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")

_A = "{" + ATOM_NS + "}"
_X = "{" + ARXIV_ATOM_NS + "}"
_S = "{" + OPENSEARCH_NS + "}"


class ApiRecords(list[PaperRecord]):
    """The records of an API fetch, with the requested ids the API did not know."""

    def __init__(
        self, records: Iterable[PaperRecord] = (), not_found: Sequence[str] = (), total_results: int = 0
    ):
        super().__init__(records)
        self.not_found = list(not_found)
        self.total_results = total_results


def _timestamp(raw: str, where: str) -> datetime:
    text = raw.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IngestError(f"{where}: bad timestamp {text[:60]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(parent: Element, tag: str) -> str:
    child = parent.find(tag)
    return clean_text(child.text) if child is not None else ""


def _error_entry_id(entry: Element) -> str | None:
    """The id the API complained about when `entry` is an error entry, else None."""
    entry_id = _text(entry, _A + "id")
    if ERROR_ID_MARKER not in entry_id and _text(entry, _A + "title") != "Error":
        return None
    summary = _text(entry, _A + "summary")
    # "incorrect id format for 1234.5678" / "id not found: 2501.99999": the id is the last word
    words = summary.replace(":", " ").split()
    return words[-1] if words else entry_id


def parse_entry(entry: Element, *, where: str) -> PaperRecord:
    """An Atom `<entry>` of a paper as a PaperRecord (version from the id, v1 at `published`)."""
    raw_id = _text(entry, _A + "id")
    try:
        arxiv_id, version = split_arxiv_id(raw_id)
    except ValueError as exc:
        raise IngestError(f"{where}: {exc}") from exc
    where = f"{where}, entry {arxiv_id}"
    version = version or 1
    published_at = _timestamp(_text(entry, _A + "published"), where)
    updated_text = _text(entry, _A + "updated")
    updated_at = _timestamp(updated_text, where) if updated_text else published_at
    versions = [VersionRecord(1, published_at)]
    if version > 1:
        versions.append(VersionRecord(version, updated_at))
    title = _text(entry, _A + "title")
    if not title:
        raise IngestError(f"{where}: entry has no title")
    categories: list[str] = []
    primary = entry.find(_X + "primary_category")
    if primary is not None and primary.get("term"):
        categories.append(primary.get("term", "").strip())
    for element in entry.findall(_A + "category"):
        term = (element.get("term") or "").strip()
        if term and term not in categories and ARXIV_CATEGORY.match(term):
            categories.append(term)
    doi = _text(entry, _X + "doi")
    if not doi:
        for link in entry.findall(_A + "link"):
            if link.get("title") == "doi" and link.get("href"):
                doi = link.get("href", "").split("doi.org/", 1)[-1]
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=_text(entry, _A + "summary"),
        authors=[
            name for name in (_text(author, _A + "name") for author in entry.findall(_A + "author")) if name
        ],
        categories=categories,
        comments=_text(entry, _X + "comment"),
        journal_ref=_text(entry, _X + "journal_ref"),
        doi=doi,
        versions=versions,
        submitted_at=published_at,
        updated_at=updated_at,
        announced_on=next_announcement_day(published_at),
        datestamp=updated_at.date(),
    )


def parse_feed(body: bytes, *, source: str) -> ApiRecords:
    """An API Atom feed as ApiRecords; error entries become `not_found` ids."""
    root = parse_upstream_xml(body, where=source)
    if root.tag != _A + "feed":
        raise IngestError(f"{source}: not an Atom feed (root element {root.tag[:80]})")
    records: list[PaperRecord] = []
    not_found: list[str] = []
    for entry in root.findall(_A + "entry"):
        missing = _error_entry_id(entry)
        if missing is not None:
            not_found.append(missing)
        else:
            records.append(parse_entry(entry, where=source))
    total_text = _text(root, _S + "totalResults")
    try:
        total = int(total_text) if total_text else len(records)
    except ValueError as exc:
        raise IngestError(f"{source}: opensearch:totalResults {total_text[:40]!r} is not a number") from exc
    return ApiRecords(records, not_found, total)


def _fetch_feed(client: PoliteClient, base_url: str, params: dict[str, str]) -> ApiRecords:
    """One feed page. A page without entries whose totalResults says entries are due is retried:
    the API is known to return such empty feeds under load."""
    start = int(params.get("start", "0"))
    attempt = 0
    while True:
        response = client.get(base_url, params=params)
        source = str(response.request.url)
        feed = parse_feed(response.content, source=source)
        if feed or feed.not_found or feed.total_results <= start:
            return feed
        attempt += 1
        if attempt > client.max_retries:
            raise UpstreamError(
                source,
                f"empty feed although {feed.total_results} results are due; gave up after {attempt} attempts",
            )
        logger.warning("%s: empty feed although results are due; retry %d", source, attempt)
        client.sleep(min(client.backoff_wait(attempt), client.retry_after_cap_seconds))


def fetch_by_ids(client: PoliteClient, ids: Iterable[str], *, base_url: str) -> ApiRecords:
    """The latest version of each paper in `ids` (versions in the ids are ignored), in batches of
    IDS_PER_REQUEST; ids the API does not know, or that are not arXiv ids at all, are in `not_found`."""
    wanted: list[str] = []
    not_found: list[str] = []
    for raw in ids:
        try:
            arxiv_id, _ = split_arxiv_id(raw)
        except ValueError:
            not_found.append(raw.strip())
            continue
        if arxiv_id not in wanted:
            wanted.append(arxiv_id)
    records: list[PaperRecord] = []
    for start in range(0, len(wanted), IDS_PER_REQUEST):
        batch = wanted[start : start + IDS_PER_REQUEST]
        params = {"id_list": ",".join(batch), "start": "0", "max_results": str(len(batch))}
        feed = _fetch_feed(client, base_url, params)
        records.extend(feed)
        found = {record.arxiv_id for record in feed}
        for arxiv_id in batch:
            if arxiv_id not in found and arxiv_id not in not_found:
                not_found.append(arxiv_id)
    return ApiRecords(records, not_found, len(records))


def fetch_by_query(
    client: PoliteClient,
    query: str,
    *,
    base_url: str,
    max_results: int,
    start: int = 0,
    page_size: int = QUERY_PAGE_SIZE,
) -> ApiRecords:
    """Up to `max_results` papers matching `query` (arXiv `search_query` syntax), from `start`."""
    records: list[PaperRecord] = []
    total: int | None = None
    position = start
    while len(records) < max_results and (total is None or position < total):
        count = min(page_size, max_results - len(records))
        params = {"search_query": query, "start": str(position), "max_results": str(count)}
        feed = _fetch_feed(client, base_url, params)
        total = feed.total_results
        records.extend(feed)
        if not feed:
            break
        position += len(feed)
    return ApiRecords(records, (), total or 0)
