"""A small, real arXiv look-alike HTTP server on loopback, for tests and offline demos.

It serves OAI-PMH (`/oai`, arXivRaw and arXiv formats) and the Atom API (`/api/query`) from any
arXiv-snapshot JSON Lines file, indexed once at start. Faults (503 with Retry-After, empty or
truncated pages, bad tokens, dropped connections, stalls) are switched at start or at run time
through `POST /_fault`, which answers loopback clients only.
"""

from __future__ import annotations

import base64
import binascii
import gc
import gzip
import json
import re
import threading
import time
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

DEFAULT_PAGE_SIZE = 1000
MAX_API_RESULTS = 2000
API_SELF_URL = "http://arxiv.org/api/query?"
API_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")
PHYSICS_ARCHIVES = frozenset(
    {
        "astro-ph",
        "cond-mat",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "physics",
        "quant-ph",
    }
)
KEPT_FIELDS = (
    "id",
    "submitter",
    "authors",
    "title",
    "comments",
    "journal-ref",
    "doi",
    "report-no",
    "categories",
    "license",
    "abstract",
    "versions",
    "update_date",
    "authors_parsed",
)
FAULT_KINDS = frozenset(
    {
        "status",
        "empty_body",
        "empty_page",
        "truncated",
        "bad_token",
        "drop",
        "drop_mid_body",
        "stall",
        "body",
    }
)
# characters XML 1.0 cannot carry at all, even escaped
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
ARXIV_RAW_OPEN = (
    '<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://arxiv.org/OAI/arXivRaw/ http://arxiv.org/OAI/arXivRaw.xsd">'
)
ARXIV_OPEN = (
    '<arXiv xmlns="http://arxiv.org/OAI/arXiv/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">'
)
ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
)


def _x(text: Any) -> str:
    return escape(_XML_INVALID.sub("", str(text)))


def _attr(text: Any) -> str:
    return quoteattr(_XML_INVALID.sub("", str(text)))


def _rfc2822_to_datetime(raw: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# the indexed file


@dataclass(slots=True)
class FakeRecord:
    arxiv_id: str
    datestamp: str  # YYYY-MM-DD
    categories: tuple[str, ...]
    item: dict[str, Any] | None  # None for a deleted id the file does not have
    deleted: bool = False

    def versions(self) -> list[tuple[int, str, str]]:
        """(number, RFC 2822 date, size) of each version, oldest first."""
        result = []
        for entry in (self.item or {}).get("versions") or []:
            label = str(entry.get("version", "")).lstrip("v")
            if label.isdigit():
                result.append((int(label), entry.get("created") or "", entry.get("size") or ""))
        return sorted(result)

    def author_parts(self) -> list[tuple[str, str, str]]:
        """(keyname, forenames, suffix) of each author."""
        item = self.item or {}
        parsed = item.get("authors_parsed")
        if isinstance(parsed, list) and parsed:
            return [
                (
                    str(p[0] if len(p) > 0 else ""),
                    str(p[1] if len(p) > 1 else ""),
                    str(p[2] if len(p) > 2 else ""),
                )
                for p in parsed
                if isinstance(p, list)
            ]
        parts = []
        for name in (item.get("authors") or "").replace(" and ", ", ").split(","):
            words = name.split()
            if words:
                parts.append((words[-1], " ".join(words[:-1]), ""))
        return parts

    def author_names(self) -> list[str]:
        return [
            " ".join(p for p in (first, last, suffix) if p) for last, first, suffix in self.author_parts()
        ]


def set_specs_of(categories: Iterable[str]) -> list[str]:
    """OAI setSpecs a paper belongs to: `cs`, `math`, `physics:hep-th`, ..."""
    specs: list[str] = []
    for code in categories:
        archive = code.split(".", 1)[0]
        spec = f"physics:{archive}" if archive in PHYSICS_ARCHIVES else archive
        if spec not in specs:
            specs.append(spec)
    return specs


def set_matches(set_spec: str, categories: Sequence[str]) -> bool:
    """Whether a paper with `categories` is in `set_spec`: `cs`, `physics`, `physics:astro-ph`, `cs:cs:CL`."""
    parts = set_spec.split(":")
    archives = {code.split(".", 1)[0] for code in categories}
    if len(parts) == 1:
        if parts[0] == "physics":
            return bool(archives & PHYSICS_ARCHIVES)
        return parts[0] in archives
    if len(parts) == 2:
        return parts[1] in archives
    return f"{parts[1]}.{parts[2]}" in categories


def _valid_set_spec(set_spec: str) -> bool:
    return 1 <= len(set_spec.split(":")) <= 3 and all(set_spec.split(":"))


class FakeStore:
    """Every record of a snapshot file in memory, sorted by (datestamp, id), with cached selections."""

    def __init__(self, records: list[FakeRecord]) -> None:
        records.sort(key=lambda record: (record.datestamp, record.arxiv_id))
        self.records = records
        self.datestamps = [record.datestamp for record in records]
        self.by_id = {record.arxiv_id: record for record in records}
        self._selections: dict[tuple[str, str, str], list[int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path | str, deleted: Iterable[str] = ()) -> FakeStore:
        # the cyclic collector would rescan the growing heap of parsed dicts again and again while
        # loading and sorting (measured: 3x slower for 90k lines); nothing here makes cycles
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._load(Path(path), deleted)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _load(cls, path: Path, deleted: Iterable[str]) -> FakeStore:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        records = cls._read_records(path, gzip.open if gzipped else open)
        newest = max((record.datestamp for record in records), default=date.today().isoformat())
        by_id = {record.arxiv_id: record for record in records}
        for entry in deleted:
            arxiv_id, _, stamp = entry.partition("@")
            record = by_id.get(arxiv_id)
            if record is None:
                record = FakeRecord(arxiv_id, stamp or newest, (), None)
                records.append(record)
                by_id[arxiv_id] = record
            record.deleted = True
            if stamp:
                record.datestamp = stamp
        return cls(records)

    @staticmethod
    def _read_records(path: Path, opener: Any) -> list[FakeRecord]:
        records: list[FakeRecord] = []
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    arxiv_id = str(item["id"]).strip()
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}:{number}: not a snapshot line ({exc})") from exc
                kept = {name: item.get(name) for name in KEPT_FIELDS}
                datestamp = item.get("update_date") or ""
                if not datestamp:
                    # no datestamp to list it under: the latest version's day, else unlisted
                    dates = [_rfc2822_to_datetime(v.get("created") or "") for v in item.get("versions") or []]
                    known = [moment for moment in dates if moment is not None]
                    if not known:
                        continue
                    datestamp = max(known).date().isoformat()
                categories = tuple((item.get("categories") or "").split())
                records.append(FakeRecord(arxiv_id, datestamp[:10], categories, kept))
        return records

    def select(self, set_spec: str, from_date: str, until_date: str) -> list[int]:
        """Indexes of the records in the set (all when empty) with from <= datestamp <= until."""
        key = (set_spec, from_date, until_date)
        with self._lock:
            cached = self._selections.get(key)
        if cached is not None:
            return cached
        low = bisect_left(self.datestamps, from_date) if from_date else 0
        high = bisect_right(self.datestamps, until_date) if until_date else len(self.records)
        if set_spec:
            # a deleted id the file never had is in every set: a harvester must see its deletion
            chosen = [
                index
                for index in range(low, high)
                if self.records[index].item is None or set_matches(set_spec, self.records[index].categories)
            ]
        else:
            chosen = list(range(low, high))
        with self._lock:
            if len(self._selections) > 64:
                self._selections.clear()
            self._selections[key] = chosen
        return chosen

    def selected_ids(self, set_spec: str = "", from_date: str = "", until_date: str = "") -> list[str]:
        return [self.records[index].arxiv_id for index in self.select(set_spec, from_date, until_date)]


# ---------------------------------------------------------------------------------------------
# rendering


def render_header(record: FakeRecord) -> str:
    status = ' status="deleted"' if record.deleted else ""
    specs = "".join(f"<setSpec>{_x(spec)}</setSpec>" for spec in set_specs_of(record.categories))
    return (
        f"<header{status}><identifier>oai:arXiv.org:{_x(record.arxiv_id)}</identifier>"
        f"<datestamp>{record.datestamp}</datestamp>{specs}</header>"
    )


def _optional(tag: str, value: Any) -> str:
    return f"<{tag}>{_x(value)}</{tag}>" if value else ""


def render_arxiv_raw(record: FakeRecord) -> str:
    item = record.item or {}
    versions = "".join(
        f'<version version="v{number}"><date>{_x(created)}</date><size>{_x(size)}</size>'
        f"<source_type>D</source_type></version>"
        for number, created, size in record.versions()
    )
    return (
        ARXIV_RAW_OPEN
        + f"<id>{_x(record.arxiv_id)}</id>"
        + _optional("submitter", item.get("submitter"))
        + versions
        + f"<title>{_x(item.get('title') or '')}</title>"
        + f"<authors>{_x(item.get('authors') or '')}</authors>"
        + f"<categories>{_x(' '.join(record.categories))}</categories>"
        + _optional("comments", item.get("comments"))
        + _optional("report-no", item.get("report-no"))
        + _optional("journal-ref", item.get("journal-ref"))
        + _optional("doi", item.get("doi"))
        + _optional("license", item.get("license"))
        + f"<abstract>{_x(item.get('abstract') or '')}</abstract></arXivRaw>"
    )


def render_arxiv(record: FakeRecord) -> str:
    item = record.item or {}
    versions = record.versions()
    first = _rfc2822_to_datetime(versions[0][1]) if versions else None
    created = first.date().isoformat() if first else record.datestamp
    updated = ""
    if len(versions) > 1:
        last = _rfc2822_to_datetime(versions[-1][1])
        updated = f"<updated>{last.date().isoformat()}</updated>" if last else ""
    authors = "".join(
        "<author>"
        + _optional("keyname", last)
        + _optional("forenames", first_names)
        + _optional("suffix", suffix)
        + "</author>"
        for last, first_names, suffix in record.author_parts()
    )
    return (
        ARXIV_OPEN
        + f"<id>{_x(record.arxiv_id)}</id><created>{created}</created>{updated}"
        + f"<authors>{authors}</authors><title>{_x(item.get('title') or '')}</title>"
        + f"<categories>{_x(' '.join(record.categories))}</categories>"
        + _optional("comments", item.get("comments"))
        + _optional("report-no", item.get("report-no"))
        + _optional("journal-ref", item.get("journal-ref"))
        + _optional("doi", item.get("doi"))
        + _optional("license", item.get("license"))
        + f"<abstract>{_x(item.get('abstract') or '')}</abstract></arXiv>"
    )


METADATA_RENDERERS = {"arXivRaw": render_arxiv_raw, "arXiv": render_arxiv}


def render_record(record: FakeRecord, prefix: str) -> str:
    if record.deleted:
        return f"<record>{render_header(record)}</record>\n"
    return (
        f"<record>{render_header(record)}<metadata>{METADATA_RENDERERS[prefix](record)}</metadata></record>\n"
    )


def render_oai(base_url: str, request_attrs: dict[str, str], body: str) -> bytes:
    attrs = "".join(f" {name}={_attr(value)}" for name, value in request_attrs.items())
    return (
        OAI_HEAD
        + f"<responseDate>{_iso_z(datetime.now(UTC))}</responseDate>\n"
        + f"<request{attrs}>{_x(base_url)}</request>\n"
        + body
        + "\n</OAI-PMH>\n"
    ).encode("utf-8")


def render_oai_error(base_url: str, request_attrs: dict[str, str], code: str, message: str) -> bytes:
    return render_oai(base_url, request_attrs, f'<error code="{code}">{_x(message)}</error>')


def api_dates(record: FakeRecord, version: int | None = None) -> tuple[int, datetime, datetime] | None:
    """(version, published, updated) as the API shows them; None when the record has no date at all."""
    versions = [(number, _rfc2822_to_datetime(created)) for number, created, _ in record.versions()]
    known = [(number, moment) for number, moment in versions if moment is not None]
    if known:
        if version is not None:
            known = [(number, moment) for number, moment in known if number <= version] or known[:1]
        return known[-1][0], known[0][1], known[-1][1]
    try:
        day = datetime.fromisoformat(record.datestamp).replace(tzinfo=UTC)
    except ValueError:
        return None
    return 1, day, day


def render_entry(record: FakeRecord, version: int | None = None) -> str:
    item = record.item or {}
    dates = api_dates(record, version)
    assert dates is not None
    number, published, updated = dates
    abs_url = f"http://arxiv.org/abs/{record.arxiv_id}v{number}"
    parts = [
        f"<entry>\n<id>{_x(abs_url)}</id>\n<updated>{_iso_z(updated)}</updated>\n"
        f"<published>{_iso_z(published)}</published>\n<title>{_x(item.get('title') or '')}</title>\n"
        f"<summary>{_x(item.get('abstract') or '')}</summary>\n"
    ]
    parts += [f"<author>\n<name>{_x(name)}</name>\n</author>\n" for name in record.author_names()]
    if item.get("doi"):
        parts.append(f"<arxiv:doi>{_x(item['doi'])}</arxiv:doi>\n")
        parts.append(f'<link title="doi" href={_attr("http://dx.doi.org/" + item["doi"])} rel="related"/>\n')
    if item.get("comments"):
        parts.append(f"<arxiv:comment>{_x(item['comments'])}</arxiv:comment>\n")
    if item.get("journal-ref"):
        parts.append(f"<arxiv:journal_ref>{_x(item['journal-ref'])}</arxiv:journal_ref>\n")
    parts.append(f'<link href={_attr(abs_url)} rel="alternate" type="text/html"/>\n')
    pdf_url = abs_url.replace("/abs/", "/pdf/")
    parts.append(f'<link title="pdf" href={_attr(pdf_url)} rel="related" type="application/pdf"/>\n')
    if record.categories:
        parts.append(
            f'<arxiv:primary_category term={_attr(record.categories[0])} scheme="http://arxiv.org/schemas/atom"/>\n'
        )
    parts += [
        f'<category term={_attr(code)} scheme="http://arxiv.org/schemas/atom"/>\n'
        for code in record.categories
    ]
    parts.append("</entry>\n")
    return "".join(parts)


def render_error_entry(problem: str) -> str:
    anchor = "http://arxiv.org/api/errors#" + re.sub(r"[^\w.]+", "_", problem)
    return (
        f"<entry>\n<id>{_x(anchor)}</id>\n<title>Error</title>\n<summary>{_x(problem)}</summary>\n"
        f"<updated>{_iso_z(datetime.now(UTC))}</updated>\n"
        f'<link href={_attr(anchor)} rel="alternate" type="text/html"/>\n'
        f"<author>\n<name>arXiv api core</name>\n</author>\n</entry>\n"
    )


def render_feed(query: str, entries: list[str], total: int, start: int, per_page: int) -> bytes:
    return (
        ATOM_HEAD
        + f'<link href={_attr(API_SELF_URL + query)} rel="self" type="application/atom+xml"/>\n'
        + f'<title type="html">ArXiv Query: {_x(query)}</title>\n'
        + f"<id>http://arxiv.org/api/{zlib.crc32(query.encode()):08x}</id>\n"
        + f"<updated>{_iso_z(datetime.now(UTC))}</updated>\n"
        + f"<opensearch:totalResults>{total}</opensearch:totalResults>\n"
        + f"<opensearch:startIndex>{start}</opensearch:startIndex>\n"
        + f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
        + "".join(entries)
        + "</feed>\n"
    ).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# search_query: the subset `all:`, `ti:`, `au:`, `abs:`, `cat:`, `id:` joined by AND / OR / ANDNOT

_TERM = re.compile(r'(\w+):("[^"]*"|\S+)')


SEARCH_FIELDS = {
    "ti": ("title",),
    "au": ("authors",),
    "abs": ("abstract",),
    "co": ("comments",),
    "jr": ("journal-ref",),
    "all": ("title", "abstract", "authors", "comments"),
}
Term = tuple[str, str]  # (field prefix, casefolded value)
ParsedQuery = list[tuple[list[Term], list[list[Term]]]]  # OR of (AND of terms, ANDNOT groups)


def parse_search_query(query: str) -> ParsedQuery:
    """`a AND b ANDNOT c OR d` as [([a, b], [[c]]), ([d], [])]; AND binds tighter than OR."""
    parsed: ParsedQuery = []
    for disjunct in re.split(r"\s+OR\s+", query.strip()):
        positive, *negatives = re.split(r"\s+ANDNOT\s+", disjunct)
        terms: list[Term] = []
        for part in re.split(r"\s+AND\s+", positive):
            found = _TERM.findall(part)
            if not found:
                terms.append(("all", part.strip('" ').casefold()))
            terms += [(name, value.strip('"').casefold()) for name, value in found]
        excluded = [
            [(name, value.strip('"').casefold()) for name, value in _TERM.findall(part)] for part in negatives
        ]
        parsed.append((terms, [group for group in excluded if group]))
    return parsed


def _term_matches(record: FakeRecord, term: Term) -> bool:
    name, needle = term
    if name == "cat":
        return any(
            code.casefold() == needle or code.casefold().startswith(needle + ".")
            for code in record.categories
        )
    if name == "id":
        return record.arxiv_id.casefold() == needle
    item = record.item or {}
    haystack = " ".join(
        item.get(key) or "" for key in SEARCH_FIELDS.get(name, SEARCH_FIELDS["all"])
    ).casefold()
    if name == "au":
        haystack += " " + " ".join(record.author_names()).casefold()
    return all(word in haystack for word in needle.split())


def query_matches(query: ParsedQuery, record: FakeRecord) -> bool:
    if record.deleted or record.item is None:
        return False
    return any(
        all(_term_matches(record, term) for term in terms)
        and not any(all(_term_matches(record, term) for term in group) for group in excluded)
        for terms, excluded in query
    )


# ---------------------------------------------------------------------------------------------
# faults and the request log


@dataclass
class Fault:
    """`count` requests (after letting `after` matching ones through) get this fault."""

    kind: str
    count: int = 1
    after: int = 0
    status: int = 503
    retry_after: str = ""
    body: str = ""
    content_type: str = "text/xml; charset=utf-8"
    seconds: float = 0.0
    path: str = ""  # "oai", "api" or "" for both

    def __post_init__(self) -> None:
        if self.kind.isdigit():
            self.status = int(self.kind)
            self.kind = "status"
        if self.kind not in FAULT_KINDS:
            kinds = ", ".join(sorted(FAULT_KINDS))
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {kinds} or an HTTP status)")
        self.retry_after = str(self.retry_after) if self.retry_after not in (None, "") else ""
        self.count = int(self.count)
        self.after = int(self.after)
        self.status = int(self.status)
        self.seconds = float(self.seconds)

    def applies(self, endpoint: str, params: dict[str, str]) -> bool:
        if self.path and self.path != endpoint:
            return False
        if self.kind == "bad_token":
            return endpoint == "oai" and bool(params.get("resumptionToken"))
        if self.kind == "empty_page":
            return endpoint == "api" or params.get("verb") == "ListRecords"
        return True


def parse_fault_spec(spec: str) -> Fault:
    """`KIND[:key=value,...]`, e.g. `503:count=2,retry_after=5` or `truncated:after=3`."""
    kind, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"fault option {pair!r} is not key=value")
        options[name.strip()] = value.strip()
    return Fault(kind=kind.strip(), **options)


@dataclass
class LoggedRequest:
    at: float  # time.monotonic() when the request arrived
    method: str
    endpoint: str
    params: dict[str, str]
    status: int = 0
    fault: str = ""
    user_agent: str = ""


# ---------------------------------------------------------------------------------------------
# the server


class _Handler(BaseHTTPRequestHandler):
    server: _FakeHTTPServer
    server_version = "FakeArxiv/1.0"
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self.server.fake.handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.server.fake.handle(self, "POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self.server.fake.handle(self, "DELETE")


class _FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeArxiv


@dataclass
class _Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class FakeArxiv:
    """A running fake arXiv; `start_fake_arxiv` makes one."""

    def __init__(
        self,
        store: FakeStore,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        faults: Iterable[Fault] = (),
    ) -> None:
        self.store = store
        self.page_size = page_size
        self._faults: list[Fault] = list(faults)
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _FakeHTTPServer((host, port), _Handler)
        self._server.fake = self
        bound_host, bound_port = str(self._server.server_address[0]), int(self._server.server_address[1])
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown_host}:{bound_port}"
        self.oai_url = self.url + "/oai"
        self.api_url = self.url + "/api/query"
        # a short poll interval makes stop() quick: shutdown() waits for the loop's next poll
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-arxiv", daemon=True
        )

    def start(self) -> FakeArxiv:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeArxiv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the management command uses this)."""
        try:
            self._server.serve_forever()
        finally:
            self._stopping.set()
            self._server.server_close()

    # faults and log -------------------------------------------------------------------------

    def set_fault(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _take_fault(self, endpoint: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            chosen = None
            for fault in self._faults:
                if not fault.applies(endpoint, params):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                chosen = fault
                break
            if chosen is not None:
                chosen.count -= 1
                if chosen.count <= 0:
                    self._faults.remove(chosen)
            return chosen

    # request handling -----------------------------------------------------------------------

    def handle(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        query = parts.query
        payload = b""
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            payload = handler.rfile.read(length) if length else b""
            content_type = handler.headers.get("Content-Type", "")
            if path in ("/oai", "/api/query") and content_type.startswith(
                "application/x-www-form-urlencoded"
            ):
                query = payload.decode("utf-8", "replace")  # OAI-PMH and the API accept POSTed forms
        params = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
        endpoint = {"/oai": "oai", "/api/query": "api"}.get(path, "control")
        entry = LoggedRequest(
            time.monotonic(),
            method,
            endpoint if endpoint != "control" else path,
            params,
            user_agent=handler.headers.get("User-Agent", ""),
        )
        if endpoint == "control":
            reply = self._control(handler, method, path, payload)
            self._send(handler, reply)
            return
        with self._lock:
            self._log.append(entry)
        fault = self._take_fault(endpoint, params)
        entry.fault = fault.kind if fault else ""
        if fault is not None and fault.kind == "stall":
            self._stopping.wait(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            return  # the server closes the socket without a byte of response
        if fault is not None and fault.kind in ("status", "empty_body", "body"):
            reply = _Reply(
                status=fault.status if fault.kind == "status" else 200, content_type=fault.content_type
            )
            if fault.kind == "status":
                reply.body = f"{fault.status} fake arXiv fault\n".encode()
                reply.content_type = "text/plain; charset=utf-8"
                if fault.retry_after:
                    reply.headers["Retry-After"] = fault.retry_after
            elif fault.kind == "body":
                reply.body = fault.body.encode("utf-8")
        elif method not in ("GET", "POST"):
            reply = _Reply(405, b"method not allowed\n", "text/plain; charset=utf-8")
        elif endpoint == "oai":
            reply = self._oai(params, fault)
        else:
            reply = self._api(query, params, fault)
        entry.status = reply.status
        if fault is not None and fault.kind == "truncated":
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        if fault is not None and fault.kind == "drop_mid_body":
            self._send(handler, reply, cut=True)
            return
        self._send(handler, reply)

    def _send(self, handler: _Handler, reply: _Reply, cut: bool = False) -> None:
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body[: len(reply.body) // 2] if cut else reply.body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a killed harvester): nothing to answer
        if cut:
            handler.close_connection = True

    def _control(self, handler: _Handler, method: str, path: str, payload: bytes) -> _Reply:
        client_host = handler.client_address[0]
        if client_host not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return _Reply(403, b"the control endpoint answers loopback clients only\n", "text/plain")
        if path == "/_fault" and method == "POST":
            try:
                options = json.loads(payload or b"{}")
                if not isinstance(options, dict):
                    raise ValueError("expected a JSON object")
                fault = self.set_fault(**options)
            except (TypeError, ValueError) as exc:
                return _Reply(400, f"bad fault: {exc}\n".encode(), "text/plain; charset=utf-8")
            return _Reply(201, json.dumps(asdict(fault)).encode(), "application/json")
        if path == "/_fault" and method == "DELETE":
            self.clear_faults()
            return _Reply(204)
        if path == "/_fault" and method == "GET":
            return _Reply(200, json.dumps([asdict(f) for f in self.faults]).encode(), "application/json")
        if path == "/_log" and method == "GET":
            return _Reply(200, json.dumps([asdict(r) for r in self.requests]).encode(), "application/json")
        return _Reply(404, b"not found\n", "text/plain")

    # OAI-PMH --------------------------------------------------------------------------------

    def _token(self, prefix: str, set_spec: str, from_date: str, until_date: str, offset: int) -> str:
        raw = json.dumps([prefix, set_spec, from_date, until_date, offset], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def _read_token(token: str) -> tuple[str, str, str, str, int]:
        padded = token + "=" * (-len(token) % 4)
        prefix, set_spec, from_date, until_date, offset = json.loads(base64.urlsafe_b64decode(padded))
        if prefix not in METADATA_RENDERERS or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad token contents")
        return prefix, set_spec, from_date, until_date, offset

    def _oai(self, params: dict[str, str], fault: Fault | None) -> _Reply:
        verb = params.get("verb", "")
        if verb == "Identify":
            earliest = self.store.datestamps[0] if self.store.datestamps else date.today().isoformat()
            body = (
                "<Identify><repositoryName>arXiv (fake)</repositoryName>"
                f"<baseURL>{_x(self.oai_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
                "<adminEmail>nobody@localhost</adminEmail>"
                f"<earliestDatestamp>{earliest}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
                "<granularity>YYYY-MM-DD</granularity></Identify>"
            )
            return _Reply(body=render_oai(self.oai_url, {"verb": "Identify"}, body))
        if verb == "GetRecord":
            return self._get_record(params)
        if verb != "ListRecords":
            return _Reply(body=render_oai_error(self.oai_url, {}, "badVerb", f"Illegal verb {verb!r}"))
        return self._list_records(params, fault)

    def _get_record(self, params: dict[str, str]) -> _Reply:
        prefix = params.get("metadataPrefix", "")
        identifier = params.get("identifier", "")
        if prefix not in METADATA_RENDERERS:
            return _Reply(
                body=render_oai_error(self.oai_url, {}, "cannotDisseminateFormat", f"unknown {prefix!r}")
            )
        record = self.store.by_id.get(identifier.removeprefix("oai:arXiv.org:"))
        if record is None:
            return _Reply(body=render_oai_error(self.oai_url, params, "idDoesNotExist", identifier))
        body = f"<GetRecord>{render_record(record, prefix)}</GetRecord>"
        return _Reply(body=render_oai(self.oai_url, params, body))

    def _list_records(self, params: dict[str, str], fault: Fault | None) -> _Reply:
        token = params.get("resumptionToken")
        if token is not None:
            if set(params) - {"verb", "resumptionToken"}:
                return _Reply(
                    body=render_oai_error(
                        self.oai_url, {}, "badArgument", "resumptionToken is an exclusive argument"
                    )
                )
            if fault is not None and fault.kind == "bad_token":
                return _Reply(
                    body=render_oai_error(self.oai_url, params, "badResumptionToken", "expired token")
                )
            try:
                prefix, set_spec, from_date, until_date, offset = self._read_token(token)
            except (ValueError, TypeError, binascii.Error):
                return _Reply(
                    body=render_oai_error(self.oai_url, params, "badResumptionToken", "unknown token")
                )
        else:
            prefix = params.get("metadataPrefix", "")
            set_spec = params.get("set", "")
            from_date = params.get("from", "")
            until_date = params.get("until", "")
            offset = 0
            unknown = set(params) - {"verb", "metadataPrefix", "set", "from", "until"}
            if unknown or not prefix:
                problem = f"illegal arguments {sorted(unknown)}" if unknown else "metadataPrefix is required"
                return _Reply(body=render_oai_error(self.oai_url, {}, "badArgument", problem))
            if prefix not in METADATA_RENDERERS:
                return _Reply(
                    body=render_oai_error(
                        self.oai_url, params, "cannotDisseminateFormat", f"{prefix!r} is not supported"
                    )
                )
            for value in (from_date, until_date):
                try:
                    if value:
                        date.fromisoformat(value)
                except ValueError:
                    return _Reply(
                        body=render_oai_error(self.oai_url, {}, "badArgument", f"bad date {value!r}")
                    )
            if from_date and until_date and from_date > until_date:
                return _Reply(body=render_oai_error(self.oai_url, {}, "badArgument", "from is after until"))
            if set_spec and not _valid_set_spec(set_spec):
                return _Reply(body=render_oai_error(self.oai_url, {}, "badArgument", f"bad set {set_spec!r}"))
        chosen = self.store.select(set_spec, from_date, until_date)
        if not chosen:
            return _Reply(body=render_oai_error(self.oai_url, params, "noRecordsMatch", "no records match"))
        if fault is not None and fault.kind == "empty_page":
            same = self._token(prefix, set_spec, from_date, until_date, offset)
            body = (
                f'<ListRecords><resumptionToken cursor="{offset}" completeListSize="{len(chosen)}">'
                f"{same}</resumptionToken></ListRecords>"
            )
            return _Reply(body=render_oai(self.oai_url, params, body))
        page = chosen[offset : offset + self.page_size]
        records = "".join(render_record(self.store.records[index], prefix) for index in page)
        next_offset = offset + len(page)
        next_token = (
            self._token(prefix, set_spec, from_date, until_date, next_offset)
            if next_offset < len(chosen)
            else ""
        )
        token_element = ""
        if token is not None or next_token:
            # the last page of a resumed list carries an empty token, as the protocol asks
            attributes = f'cursor="{offset}" completeListSize="{len(chosen)}"'
            token_element = f"<resumptionToken {attributes}>{next_token}</resumptionToken>"
        body = f"<ListRecords>\n{records}{token_element}\n</ListRecords>"
        return _Reply(body=render_oai(self.oai_url, params, body))

    # API ------------------------------------------------------------------------------------

    def _api(self, query: str, params: dict[str, str], fault: Fault | None) -> _Reply:
        try:
            start = int(params.get("start", "0") or 0)
            max_results = int(params.get("max_results", "10") or 10)
            if start < 0 or max_results < 0:
                raise ValueError("negative")
        except ValueError:
            feed = render_feed(
                query, [render_error_entry("start and max_results must be non-negative integers")], 1, 0, 1
            )
            return _Reply(400, feed, "application/atom+xml; charset=utf-8")
        max_results = min(max_results, MAX_API_RESULTS)
        search = params.get("search_query", "").strip()
        parsed = parse_search_query(search) if search else []
        id_list = [item.strip() for item in params.get("id_list", "").split(",") if item.strip()]
        entries: list[str] = []
        if id_list:
            matches: list[str] = []
            for raw in id_list:
                well_formed = API_ID.match(raw)
                if not well_formed:
                    matches.append(render_error_entry(f"incorrect id format for {raw}"))
                    continue
                base, label = well_formed.group(1), well_formed.group(2)
                record = self.store.by_id.get(base)
                if record is None or record.item is None or record.deleted or api_dates(record) is None:
                    matches.append(render_error_entry(f"id not found: {raw}"))
                    continue
                if search and not query_matches(parsed, record):
                    continue
                matches.append(render_entry(record, int(label) if label else None))
            total = len(matches)
            entries = matches[start : start + max_results]
        elif search:
            found = [
                record
                for record in self.store.records
                if query_matches(parsed, record) and api_dates(record) is not None
            ]
            sort_by = params.get("sortBy", "relevance")
            if sort_by in ("submittedDate", "lastUpdatedDate"):
                position = 1 if sort_by == "submittedDate" else 2
                found.sort(
                    key=lambda record: api_dates(record)[position],  # type: ignore[index]
                    reverse=params.get("sortOrder", "descending") == "descending",
                )
            total = len(found)
            entries = [render_entry(record) for record in found[start : start + max_results]]
        else:
            total = 0
        if fault is not None and fault.kind == "empty_page":
            entries = []
        feed = render_feed(query, entries, total, start, len(entries))
        return _Reply(200, feed, "application/atom+xml; charset=utf-8")


def start_fake_arxiv(
    path: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
    deleted: Iterable[str] = (),
    faults: Iterable[Fault | str] = (),
) -> FakeArxiv:
    """Index the snapshot file at `path` and serve it on a background thread (port 0: any free port).

    `deleted` ids (`ID` or `ID@YYYY-MM-DD`) are served as deleted records; `faults` are Fault values
    or `KIND[:key=value,...]` specs.
    """
    store = FakeStore.from_file(path, deleted)
    chosen = [fault if isinstance(fault, Fault) else parse_fault_spec(fault) for fault in faults]
    return FakeArxiv(store, host=host, port=port, page_size=page_size, faults=chosen).start()
