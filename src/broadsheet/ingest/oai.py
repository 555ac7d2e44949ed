"""arXiv OAI-PMH harvesting: ListRecords pages (arXivRaw or arXiv format) parsed into PaperRecords.

Rule: a page is taken whole or not at all. Each page's records and the checkpoint that follows
them (resumption token, cursor, newest datestamp) are committed in one transaction, so a harvest
killed at any moment resumes exactly after its last committed page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pyexpat import ErrorString
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.db import transaction

from broadsheet.ingest.http import PoliteClient, UpstreamError
from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import (
    IngestError,
    PaperRecord,
    VersionRecord,
    clean_text,
    estimate_announced_on,
    split_arxiv_id,
)
from broadsheet.ingest.upsert import UpsertResult, upsert_papers

logger = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_RAW_NS = "http://arxiv.org/OAI/arXivRaw/"
ARXIV_NS = "http://arxiv.org/OAI/arXiv/"
METADATA_PREFIXES = ("arXivRaw", "arXiv")
# a badResumptionToken restarts the list this far before the newest committed datestamp, so that
# records sharing that day (or re-stamped while we paged) are not skipped
RESTART_OVERLAP = timedelta(days=1)

_O = "{" + OAI_NS + "}"


class OaiError(IngestError):
    """An OAI-PMH `<error code=...>` answer (other than noRecordsMatch, which is an empty list)."""

    def __init__(self, where: str, code: str, message: str) -> None:
        super().__init__(
            f"{where}: OAI-PMH error {code}: {message}" if message else f"{where}: OAI-PMH error {code}"
        )
        self.code = code


def parse_upstream_xml(body: bytes, *, where: str) -> Element:
    """The root element of `body`, parsed by defusedxml with DTDs and entities forbidden.

    Any failure is an IngestError naming `where` and the parser's line and column.
    """
    parser = DefusedXMLParser(
        target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(body)
        return parser.close()
    except ParseError as exc:
        line, column = exc.position
        raise IngestError(
            f"{where}: malformed XML at line {line}, column {column}: {ErrorString(exc.code)}"
        ) from exc
    except DefusedXmlException as exc:
        expat = parser.parser
        raise IngestError(
            f"{where}: forbidden XML construct at line {expat.CurrentLineNumber}, column "
            f"{expat.CurrentColumnNumber}: {type(exc).__name__} (DTDs and entities are refused)"
        ) from exc


# ---------------------------------------------------------------------------------------------
# field parsing


AUTHOR_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_AND = re.compile(r"(?:^|\s+)and\s+")


def split_author_list(raw: str | None) -> list[str]:
    """arXivRaw's one-string author list as names.

    Commas and the word "and" separate names; parenthesised affiliations are dropped; commas inside
    TeX braces do not split; a lone suffix ("Jr.") joins the name before it, as in "first last suffix".
    """
    text = clean_text(raw)
    pieces: list[str] = []
    current: list[str] = []
    parens = braces = 0
    for ch in text:
        if ch == "(":
            parens += 1
            continue
        if parens:
            if ch == ")":
                parens -= 1
            continue
        if ch == "{":
            braces += 1
        elif ch == "}" and braces:
            braces -= 1
        if ch == "," and not braces:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    names: list[str] = []
    for piece in pieces:
        for part in _AND.split(piece.strip()):
            name = clean_text(part)
            if not name:
                continue
            if names and name.casefold() in AUTHOR_SUFFIXES:
                names[-1] = f"{names[-1]} {name}"
            else:
                names.append(name)
    return names


def _rfc2822(raw: str, where: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError) as exc:
        raise IngestError(f"{where}: bad date {raw.strip()[:60]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _iso_date(raw: str | None, where: str) -> date:
    text = (raw or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise IngestError(f"{where}: bad date {text[:60]!r}") from exc


def _text(parent: Element, tag: str) -> str:
    child = parent.find(tag)
    return clean_text(child.text) if child is not None else ""


def _arxiv_id(raw: str, where: str) -> tuple[str, int | None]:
    try:
        return split_arxiv_id(raw)
    except ValueError as exc:
        raise IngestError(f"{where}: {exc}") from exc


def parse_arxiv_raw(metadata: Element, *, datestamp: date, where: str) -> PaperRecord:
    """An `<arXivRaw>` element (full version history, authors as one string) as a PaperRecord."""
    ns = "{" + ARXIV_RAW_NS + "}"
    arxiv_id, id_version = _arxiv_id(_text(metadata, ns + "id"), where)
    versions: list[VersionRecord] = []
    for element in metadata.findall(ns + "version"):
        label = (element.get("version") or "").strip().lstrip("v")
        if not label.isdigit():
            raise IngestError(f"{where}: paper {arxiv_id} has a bad version label {element.get('version')!r}")
        date_text = _text(element, ns + "date")
        created_at = _rfc2822(date_text, where) if date_text else None
        versions.append(VersionRecord(int(label), created_at, _text(element, ns + "size")))
    versions.sort(key=lambda item: item.version)
    version = max([item.version for item in versions] + [id_version or 1])
    submitted_at = versions[0].created_at if versions and versions[0].version == 1 else None
    title = _text(metadata, ns + "title")
    if not title:
        raise IngestError(f"{where}: paper {arxiv_id} has no title")
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=_text(metadata, ns + "abstract"),
        authors=split_author_list(_text(metadata, ns + "authors")),
        categories=_text(metadata, ns + "categories").split(),
        submitter=_text(metadata, ns + "submitter"),
        comments=_text(metadata, ns + "comments"),
        journal_ref=_text(metadata, ns + "journal-ref"),
        doi=_text(metadata, ns + "doi"),
        report_no=_text(metadata, ns + "report-no"),
        license=_text(metadata, ns + "license"),
        versions=versions,
        submitted_at=submitted_at,
        updated_at=versions[-1].created_at if versions else None,
        announced_on=estimate_announced_on(version, datestamp, submitted_at),
        datestamp=datestamp,
    )


def parse_arxiv_format(metadata: Element, *, datestamp: date, where: str) -> PaperRecord:
    """An `<arXiv>` element (structured authors, `created`/`updated` days) as a PaperRecord.

    This format names no version: a paper with `<updated>` is recorded as v2, the least it can be,
    and carries no version rows, so any source that knows the real history wins the merge.
    """
    ns = "{" + ARXIV_NS + "}"
    arxiv_id, id_version = _arxiv_id(_text(metadata, ns + "id"), where)
    created = _text(metadata, ns + "created")
    updated = _text(metadata, ns + "updated")
    submitted_at = datetime.combine(_iso_date(created, where), datetime.min.time(), UTC) if created else None
    updated_at = (
        datetime.combine(_iso_date(updated, where), datetime.min.time(), UTC) if updated else submitted_at
    )
    version = max(id_version or 1, 2 if updated else 1)
    authors: list[str] = []
    for author in metadata.findall(f"{ns}authors/{ns}author"):
        name = clean_text(
            " ".join(
                part
                for part in (
                    _text(author, ns + "forenames"),
                    _text(author, ns + "keyname"),
                    _text(author, ns + "suffix"),
                )
                if part
            )
        )
        if name:
            authors.append(name)
    title = _text(metadata, ns + "title")
    if not title:
        raise IngestError(f"{where}: paper {arxiv_id} has no title")
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=_text(metadata, ns + "abstract"),
        authors=authors,
        categories=_text(metadata, ns + "categories").split(),
        comments=_text(metadata, ns + "comments"),
        journal_ref=_text(metadata, ns + "journal-ref"),
        doi=_text(metadata, ns + "doi"),
        report_no=_text(metadata, ns + "report-no"),
        license=_text(metadata, ns + "license"),
        submitted_at=submitted_at,
        updated_at=updated_at,
        announced_on=estimate_announced_on(version, datestamp, submitted_at),
        datestamp=datestamp,
    )


METADATA_PARSERS: dict[str, Callable[..., PaperRecord]] = {
    "{" + ARXIV_RAW_NS + "}arXivRaw": parse_arxiv_raw,
    "{" + ARXIV_NS + "}arXiv": parse_arxiv_format,
}


@dataclass
class OaiPage:
    """One ListRecords response: its records and where the list goes on."""

    records: list[PaperRecord] = field(default_factory=list)
    resumption_token: str = ""  # empty: the list is complete
    cursor: int | None = None
    complete_list_size: int | None = None
    number: int = 0
    source: str = ""


def parse_record(record: Element, *, where: str) -> PaperRecord:
    header = record.find(_O + "header")
    if header is None:
        raise IngestError(f"{where}: record without a header")
    identifier = _text(header, _O + "identifier")
    where = f"{where}, record {identifier or '?'}"
    datestamp = _iso_date(_text(header, _O + "datestamp"), where)
    if header.get("status") == "deleted":
        arxiv_id, _ = _arxiv_id(identifier, where)
        return PaperRecord(arxiv_id, deleted=True, datestamp=datestamp)
    metadata = record.find(_O + "metadata")
    if metadata is None or len(metadata) == 0:
        raise IngestError(f"{where}: record without metadata")
    element = metadata[0]
    parse = METADATA_PARSERS.get(element.tag)
    if parse is None:
        raise IngestError(f"{where}: unsupported metadata format {element.tag}")
    return parse(element, datestamp=datestamp, where=where)


def _int_attribute(element: Element, name: str, where: str) -> int | None:
    raw = element.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise IngestError(f"{where}: resumptionToken {name}={raw[:40]!r} is not a number") from exc


def parse_list_records(
    body: bytes, *, source: str, page_number: int = 1, cursor: int | None = None
) -> OaiPage:
    """A ListRecords response as an OaiPage; `noRecordsMatch` is an empty, complete page.

    Raises OaiError for any other OAI-PMH error and IngestError for anything malformed, naming the
    source, page number and cursor.
    """
    where = f"{source} (page {page_number}, cursor {cursor if cursor is not None else '?'})"
    root = parse_upstream_xml(body, where=where)
    if root.tag != _O + "OAI-PMH":
        raise IngestError(f"{where}: not an OAI-PMH response (root element {root.tag[:80]})")
    errors = root.findall(_O + "error")
    if errors:
        codes = [error.get("code", "") for error in errors]
        if codes == ["noRecordsMatch"]:
            return OaiPage(number=page_number, source=source, cursor=cursor)
        first = errors[0]
        raise OaiError(where, first.get("code", "unknown"), clean_text(first.text))
    listing = root.find(_O + "ListRecords")
    if listing is None:
        raise IngestError(f"{where}: response has neither ListRecords nor an error")
    page = OaiPage(number=page_number, source=source, cursor=cursor)
    for record in listing.findall(_O + "record"):
        page.records.append(parse_record(record, where=where))
    token = listing.find(_O + "resumptionToken")
    if token is not None:
        page.resumption_token = (token.text or "").strip()
        page.cursor = _int_attribute(token, "cursor", where)
        if page.cursor is None:
            page.cursor = cursor
        page.complete_list_size = _int_attribute(token, "completeListSize", where)
    return page


# ---------------------------------------------------------------------------------------------
# harvesting


def oai_harvest_key(
    metadata_prefix: str, set_spec: str | None, from_date: date | None, until_date: date | None
) -> str:
    parts = [
        metadata_prefix,
        set_spec or "*",
        from_date.isoformat() if from_date else "",
        until_date.isoformat() if until_date else "",
    ]
    return "oai:" + "|".join(parts)


def list_records_params(
    metadata_prefix: str, set_spec: str | None, from_date: date | None, until_date: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if from_date is not None:
        params["from"] = from_date.isoformat()
    if until_date is not None:
        params["until"] = until_date.isoformat()
    if set_spec:
        params["set"] = set_spec
    return params


OnPage = Callable[[OaiPage, UpsertResult], None]


def _newest(datestamps: Iterable[date | None], start: date | None) -> date | None:
    newest = start
    for stamp in datestamps:
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest


def harvest_oai(
    client: PoliteClient,
    *,
    base_url: str,
    metadata_prefix: str,
    set_spec: str | None,
    from_date: date | None,
    until_date: date | None,
    now: datetime,
    keep_categories: frozenset[str] = frozenset(),
    on_page: OnPage | None = None,
    restart: bool = False,
) -> UpsertResult:
    """Harvest one ListRecords list into the database, resuming from its stored checkpoint.

    The checkpoint is keyed by (prefix, set, from, until). A finished list, or `restart`, starts
    over from the first page. A rejected token (badResumptionToken) restarts the list at the newest
    committed datestamp minus RESTART_OVERLAP, keeping `until` and the set.
    """
    if metadata_prefix not in METADATA_PREFIXES:
        raise IngestError(f"unsupported OAI-PMH metadata prefix {metadata_prefix!r} (use arXivRaw or arXiv)")
    key = oai_harvest_key(metadata_prefix, set_spec, from_date, until_date)
    state, _ = HarvestState.objects.get_or_create(
        key=key,
        defaults={"source": "oai", "from_date": from_date, "until_date": until_date, "started_at": now},
    )
    if restart or state.is_complete:
        state.resumption_token = ""
        state.cursor = 0
        state.last_datestamp = None
        state.pages_done = 0
        state.records_done = 0
        state.is_complete = False
        state.started_at = now
        state.completed_at = None
        state.last_error = ""
        state.save()
    totals = UpsertResult()
    list_from = from_date
    page_number = state.pages_done
    empty_retries = 0
    token_restarts = 0
    while True:
        token = state.resumption_token
        if token:
            params = {"verb": "ListRecords", "resumptionToken": token}
        else:
            params = list_records_params(metadata_prefix, set_spec, list_from, until_date)
        page_number += 1
        try:
            response = client.get(base_url, params=params)
            source = str(response.request.url)
            page = parse_list_records(
                response.content, source=source, page_number=page_number, cursor=state.cursor
            )
        except OaiError as exc:
            if exc.code != "badResumptionToken" or not token or token_restarts >= client.max_retries:
                _record_error(state, exc)
                raise
            token_restarts += 1
            list_from = _restart_from(from_date, state.last_datestamp)
            logger.warning("%s; restarting the list from %s", exc, list_from)
            state.resumption_token = ""
            page_number -= 1
            continue
        except IngestError as exc:
            _record_error(state, exc)
            raise
        if not page.records and page.resumption_token:
            # an empty page that says there is more is an upstream hiccup, not the end of the list
            empty_retries += 1
            if empty_retries > client.max_retries:
                error = UpstreamError(
                    source, f"empty page with a resumptionToken; gave up after {empty_retries} attempts"
                )
                _record_error(state, error)
                raise error
            logger.warning("%s: empty page with a resumptionToken; retry %d", source, empty_retries)
            client.sleep(min(client.backoff_wait(empty_retries), client.retry_after_cap_seconds))
            page_number -= 1
            continue
        empty_retries = 0
        with transaction.atomic():
            result = upsert_papers(page.records, now=now, keep_categories=keep_categories)
            state.resumption_token = page.resumption_token
            state.cursor = (page.cursor if page.cursor is not None else state.cursor) + len(page.records)
            state.last_datestamp = _newest(
                (record.datestamp for record in page.records), state.last_datestamp
            )
            state.pages_done = page_number
            state.records_done += len(page.records)
            state.updated_at = now
            state.last_error = ""
            if not page.resumption_token:
                state.is_complete = True
                state.completed_at = now
            state.save()
        totals.add(result)
        if on_page is not None:
            on_page(page, totals)
        if state.is_complete:
            return totals


def _restart_from(from_date: date | None, last_datestamp: date | None) -> date | None:
    if last_datestamp is None:
        return from_date
    restart = last_datestamp - RESTART_OVERLAP
    return restart if from_date is None or restart > from_date else from_date


def _record_error(state: HarvestState, error: Exception) -> None:
    """Keep the last error on the checkpoint for status pages; the resume point is left as it was."""
    HarvestState.objects.filter(pk=state.pk).update(last_error=str(error)[:2000])
