"""The public arXiv metadata snapshot (JSON Lines, gzipped or not): streamed, parsed, upserted in batches.

Each batch is one transaction with its checkpoint (lines done), so a killed import resumes where it
stopped; a malformed line stops the import with the file and line number, nothing from its batch kept.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from django.db import transaction

from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import (
    IngestError,
    PaperRecord,
    VersionRecord,
    clean_text,
    estimate_announced_on,
    split_arxiv_id,
)
from broadsheet.ingest.upsert import AuthorCache, UpsertResult, upsert_papers

SNAPSHOT_BATCH_SIZE = 2000


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

    return PaperRecord(
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


def snapshot_key(path: Path) -> str:
    return f"snapshot:{path.resolve()}"


ProgressCallback = Callable[[int, int, UpsertResult], None]


def import_snapshot(
    path: Path,
    *,
    now: datetime,
    batch_size: int = SNAPSHOT_BATCH_SIZE,
    keep_categories: frozenset[str] = frozenset(),
    restart: bool = False,
    skip_invalid: bool = False,
    on_progress: ProgressCallback | None = None,
    on_invalid: Callable[[str], None] | None = None,
) -> UpsertResult:
    """Import a snapshot file, resuming after the last committed batch unless `restart`.

    on_progress(bytes_read, bytes_total, totals) is called after each committed batch.
    """
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    state, _ = HarvestState.objects.get_or_create(
        key=snapshot_key(path), defaults={"source": "snapshot", "started_at": now}
    )
    if restart or state.is_complete:
        state.cursor = 0
        state.is_complete = False
        state.records_done = 0
        state.pages_done = 0
        state.started_at = now
        state.save()
    totals = UpsertResult()
    author_cache: AuthorCache = {}
    snapshot = open_snapshot(path)
    try:
        batch: list[PaperRecord] = []
        last_line = state.cursor
        for number, line in iter_snapshot_lines(snapshot, skip=state.cursor):
            where = f"{path}:{number}"
            try:
                batch.append(parse_snapshot_line(line, where))
            except IngestError as exc:
                if not skip_invalid:
                    raise
                totals.skipped += 1
                if on_invalid is not None:
                    on_invalid(str(exc))
            last_line = number
            if len(batch) >= batch_size:
                _commit_batch(state, batch, last_line, now, keep_categories, totals, author_cache)
                batch = []
                if on_progress is not None:
                    on_progress(snapshot.position(), snapshot.size(), totals)
        _commit_batch(state, batch, last_line, now, keep_categories, totals, author_cache)
        state.is_complete = True
        state.completed_at = now
        state.save(update_fields=["is_complete", "completed_at"])
        if on_progress is not None:
            on_progress(snapshot.size(), snapshot.size(), totals)
    finally:
        snapshot.close()
    return totals


def _commit_batch(
    state: HarvestState,
    batch: list[PaperRecord],
    last_line: int,
    now: datetime,
    keep_categories: frozenset[str],
    totals: UpsertResult,
    author_cache: AuthorCache,
) -> None:
    with transaction.atomic():
        result = upsert_papers(batch, now=now, keep_categories=keep_categories, author_cache=author_cache)
        state.cursor = last_line
        state.pages_done += 1
        state.records_done += len(batch)
        state.updated_at = now
        state.save(update_fields=["cursor", "pages_done", "records_done", "updated_at"])
    totals.add(result)
