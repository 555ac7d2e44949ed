"""The arXiv metadata snapshot format (Kaggle `arxiv-metadata-oai-snapshot`: JSON Lines, gzipped or not),
read into PaperRecords in batches.

Rule: no Django here, so a reader process can parse a large file while the importer writes to the
database; a line that is not a paper is an IngestError naming the file and line number.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from broadsheet.ingest.records import (
    IngestError,
    PaperRecord,
    VersionRecord,
    clean_text,
    estimate_announced_on,
    split_arxiv_id,
)


def _parse_version_date(raw: str, where: str) -> datetime:
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError) as exc:
        raise IngestError(f"{where}: bad version date {raw!r}") from exc


def _author_names(item: dict[str, Any]) -> list[str]:
    parsed = item.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if not isinstance(parts, list):
                continue
            last = parts[0] if len(parts) > 0 else ""
            first = parts[1] if len(parts) > 1 else ""
            suffix = parts[2] if len(parts) > 2 else ""
            name = clean_text(" ".join(p for p in (first, last, suffix) if p))
            if name:
                names.append(name)
        if names:
            return names
    raw = clean_text(item.get("authors") or "")
    if not raw:
        return []
    raw = raw.replace(" and ", ", ")
    return [name.strip() for name in raw.split(",") if name.strip()]


def parse_snapshot_line(line: str | bytes, where: str) -> PaperRecord:
    """One snapshot line as a PaperRecord; IngestError naming `where` when it is not one."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise IngestError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(item, dict):
        raise IngestError(f"{where}: expected a JSON object")
    raw_id = item.get("id")
    if not isinstance(raw_id, str):
        raise IngestError(f"{where}: missing arXiv id")
    try:
        arxiv_id, id_version = split_arxiv_id(raw_id)
    except ValueError as exc:
        raise IngestError(f"{where}: {exc}") from exc
    title = clean_text(item.get("title"))
    if not title:
        raise IngestError(f"{where}: paper {arxiv_id} has no title")

    versions: list[VersionRecord] = []
    for entry in item.get("versions") or []:
        if not isinstance(entry, dict):
            continue
        label = str(entry.get("version", "")).lstrip("v")
        if not label.isdigit():
            continue
        created = _parse_version_date(entry["created"], where) if entry.get("created") else None
        versions.append(VersionRecord(int(label), created, str(entry.get("size") or "")))
    versions.sort(key=lambda v: v.version)
    version = max([v.version for v in versions] + [id_version or 1])

    update_date = None
    if item.get("update_date"):
        try:
            update_date = date.fromisoformat(item["update_date"])
        except ValueError as exc:
            raise IngestError(f"{where}: bad update_date {item['update_date']!r}") from exc
    first_created = versions[0].created_at if versions and versions[0].version == 1 else None

    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=clean_text(item.get("abstract")),
        authors=_author_names(item),
        categories=(item.get("categories") or "").split(),
        submitter=clean_text(item.get("submitter")),
        comments=clean_text(item.get("comments")),
        journal_ref=clean_text(item.get("journal-ref")),
        doi=clean_text(item.get("doi")),
        report_no=clean_text(item.get("report-no")),
        license=clean_text(item.get("license")),
        versions=versions,
        submitted_at=first_created,
        updated_at=versions[-1].created_at if versions else None,
        announced_on=estimate_announced_on(version, update_date, first_created),
        datestamp=update_date,
    )
    # computed by the reader, and carried with the record to the writer
    record.content_hash()
    record.author_keys()
    return record


@dataclass
class SnapshotFile:
    """A snapshot file opened for streaming; `position()` is the compressed bytes read (for progress)."""

    path: Path
    raw: IO[bytes]
    lines: IO[bytes]

    def position(self) -> int:
        return self.raw.tell()

    def size(self) -> int:
        return self.path.stat().st_size

    def close(self) -> None:
        self.lines.close()
        self.raw.close()


def open_snapshot(path: Path) -> SnapshotFile:
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    lines: IO[bytes]
    if magic == b"\x1f\x8b":
        lines = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20)  # type: ignore[arg-type]
    else:
        lines = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
    return SnapshotFile(path, raw, lines)


def iter_snapshot_lines(snapshot: SnapshotFile, skip: int = 0) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each non-blank line after the first `skip` lines."""
    number = 0
    try:
        for line in snapshot.lines:
            number += 1
            if number <= skip or not line.strip():
                continue
            yield number, line
    except (EOFError, OSError) as exc:  # truncated or corrupt gzip stream
        raise IngestError(f"{snapshot.path}: unreadable after line {number}: {exc}") from exc


@dataclass
class ParsedBatch:
    records: list[PaperRecord]
    last_line: int
    invalid: list[str]
    position: int  # compressed bytes read when the batch was complete


def parsed_batches(
    snapshot: SnapshotFile, *, skip: int, batch_size: int, skip_invalid: bool
) -> Iterator[ParsedBatch]:
    batch = ParsedBatch([], skip, [], 0)
    for number, line in iter_snapshot_lines(snapshot, skip=skip):
        try:
            batch.records.append(parse_snapshot_line(line, f"{snapshot.path}:{number}"))
        except IngestError as exc:
            if not skip_invalid:
                raise
            batch.invalid.append(str(exc))
        batch.last_line = number
        if len(batch.records) >= batch_size:
            batch.position = snapshot.position()
            yield batch
            batch = ParsedBatch([], number, [], 0)
    batch.position = snapshot.position()
    yield batch


@dataclass
class ReaderDone:
    """The reader process's last message: the file was read to its end."""


def stream_batches(path: Path, skip: int, batch_size: int, skip_invalid: bool, out: IO[bytes]) -> None:
    """The reader process: each parsed batch as a pickle on `out`, then ReaderDone, or the IngestError
    that stopped it (the importer raises it after committing the batches before it)."""
    snapshot = open_snapshot(path)
    try:
        for batch in parsed_batches(snapshot, skip=skip, batch_size=batch_size, skip_invalid=skip_invalid):
            pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(ReaderDone(), out)
    except IngestError as exc:
        pickle.dump(exc, out)
    finally:
        snapshot.close()
        out.flush()


if __name__ == "__main__":
    # through the imported module, so that pickles name `broadsheet.ingest.snapshot_format`, not `__main__`
    from broadsheet.ingest import snapshot_format

    file_name, skip_lines, batch_records, skip_bad = sys.argv[1:5]
    snapshot_format.stream_batches(
        Path(file_name), int(skip_lines), int(batch_records), skip_bad == "1", sys.stdout.buffer
    )
