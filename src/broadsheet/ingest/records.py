"""Plain records that every ingest source produces and the upsert pipeline consumes.

A source never touches the database: it parses upstream bytes into PaperRecord values, and
`broadsheet.ingest.upsert.upsert_papers` is the only writer.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

NEW_STYLE_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
OLD_STYLE_ID = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")
ID_PREFIXES = ("arxiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/", "oai:arxiv.org:")


class IngestError(Exception):
    """An upstream response or file that cannot be taken; the message names the source and position."""


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """`arXiv:2501.01234v3` -> ('2501.01234', 3); old-style ids (`hep-th/9901001`) too.

    Raises ValueError for anything that is not an arXiv identifier.
    """
    text = raw.strip()
    lowered = text.lower()
    for prefix in ID_PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    match = NEW_STYLE_ID.match(text) or OLD_STYLE_ID.match(text)
    if not match:
        raise ValueError(f"not an arXiv identifier: {raw[:80]!r}")
    version = int(match.group(2)) if match.group(2) else None
    return match.group(1), version


_NAME_PUNCTUATION = re.compile(r"[^\w\s-]")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1 << 17)  # names repeat across papers; the fold is the costly part of an import
def normalize_author_name(name: str) -> str:
    """A key under which spellings of one name meet: accents folded, case and punctuation dropped."""
    if name.isascii():  # most names: nothing to decompose
        folded = name.casefold()
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    folded = _NAME_PUNCTUATION.sub(" ", folded).replace("-", " ")
    return _SPACES.sub(" ", folded).strip()


def clean_text(text: str | None) -> str:
    """Whitespace runs (including upstream hard line breaks) collapsed to one space."""
    if not text:
        return ""
    return " ".join(text.split())


# a v1 datestamp this long after the submission is a re-stamp (metadata changed), not the listing day
FRESH_DATESTAMP = timedelta(days=7)


def next_announcement_day(submitted: datetime) -> date:
    """Estimate of the listing day of a submission: the next weekday after it."""
    day = submitted.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def estimate_announced_on(version: int, datestamp: date | None, submitted_at: datetime | None) -> date | None:
    """The listing day of a paper as one source sees it (arXiv's metadata does not carry it).

    The datestamp of a v1 record is its listing day; a revised paper was first listed the weekday after
    its v1 was submitted. arXiv re-stamps old records when their metadata changes, so a v1 datestamp long
    after the submission is not taken as its listing day.
    """
    if submitted_at is None:
        return datestamp
    if (
        version <= 1
        and datestamp is not None
        and timedelta(0) <= datestamp - submitted_at.date() <= FRESH_DATESTAMP
    ):
        return datestamp
    return next_announcement_day(submitted_at)


@dataclass(frozen=True)
class VersionRecord:
    version: int
    created_at: datetime | None = None
    size: str = ""


@dataclass
class PaperRecord:
    """One paper as one upstream saw it at one moment."""

    arxiv_id: str
    version: int = 1
    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # primary first, then cross-lists
    submitter: str = ""
    comments: str = ""
    journal_ref: str = ""
    doi: str = ""
    report_no: str = ""
    license: str = ""
    versions: list[VersionRecord] = field(default_factory=list)
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    announced_on: date | None = None
    datestamp: date | None = None
    deleted: bool = False
    # computed once; the snapshot reader computes them so that the writer does not have to
    _content_hash: str = field(default="", init=False, repr=False, compare=False)
    _author_keys: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def author_keys(self) -> list[str]:
        """normalize_author_name of each author, in order."""
        if self._author_keys is None:
            self._author_keys = [normalize_author_name(name) for name in self.authors]
        return self._author_keys

    def content_hash(self) -> str:
        """Stable hash of what a reader sees; equal records from any source hash equal."""
        if self._content_hash:
            return self._content_hash
        payload = json.dumps(
            [
                self.title,
                self.abstract,
                self.authors,
                self.categories,
                self.submitter,
                self.comments,
                self.journal_ref,
                self.doi,
                self.report_no,
                self.license,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self._content_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        return self._content_hash

    def precedence(self) -> tuple[int, date, str]:
        """Total order deciding which record's content wins: highest version, then newest datestamp,
        then content hash (an arbitrary but fixed tie-break), so the outcome never depends on order."""
        if self.deleted:
            return (0, date.min, "")
        return (self.version, self.datestamp or date.min, self.content_hash())
