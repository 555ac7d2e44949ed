"""Import of the public arXiv metadata snapshot: parsed batches upserted, each with its checkpoint.

Each batch is one transaction with its checkpoint (lines done), so a killed import resumes where it
stopped; a malformed line stops the import with the file and line number, nothing from its batch kept.
A large file is parsed in a reader process while this one writes: parsing is a third of the work, and
a thread would share one core with the writer.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from django.db import transaction

from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import IngestError, PaperRecord
from broadsheet.ingest.snapshot_format import (  # noqa: F401 - parse_snapshot_line is part of this API
    ParsedBatch,
    ReaderDone,
    open_snapshot,
    parse_snapshot_line,
    parsed_batches,
)
from broadsheet.ingest.upsert import AuthorCache, UpsertResult, upsert_papers
from broadsheet.search.bulk import deferred_fulltext_inserts

SNAPSHOT_BATCH_SIZE = 2000
# a bulk import from this many bytes on: a reader process, and full-text indexing deferred to the end
# (below it, starting a process costs more than it saves)
READER_PROCESS_MIN_BYTES = 1 << 20


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
    size = path.stat().st_size
    bulk = size >= READER_PROCESS_MIN_BYTES
    reader = read_in_process if bulk else read_here
    with deferred_fulltext_inserts() if bulk else nullcontext():
        for parsed in reader(path, skip=state.cursor, batch_size=batch_size, skip_invalid=skip_invalid):
            totals.skipped += len(parsed.invalid)
            if on_invalid is not None:
                for message in parsed.invalid:
                    on_invalid(message)
            _commit_batch(state, parsed.records, parsed.last_line, now, keep_categories, totals, author_cache)
            if on_progress is not None:
                on_progress(parsed.position, size, totals)
    state.is_complete = True
    state.completed_at = now
    state.save(update_fields=["is_complete", "completed_at"])
    if on_progress is not None:
        on_progress(size, size, totals)
    return totals


def read_here(path: Path, *, skip: int, batch_size: int, skip_invalid: bool) -> Iterator[ParsedBatch]:
    snapshot = open_snapshot(path)
    try:
        yield from parsed_batches(snapshot, skip=skip, batch_size=batch_size, skip_invalid=skip_invalid)
    finally:
        snapshot.close()


def read_in_process(path: Path, *, skip: int, batch_size: int, skip_invalid: bool) -> Iterator[ParsedBatch]:
    """The batches of `path`, parsed by a reader process (`python -m broadsheet.ingest.snapshot_format`,
    which imports no Django) that streams them as pickles through a pipe, a batch or so ahead."""
    command = [
        sys.executable,
        "-m",
        "broadsheet.ingest.snapshot_format",
        str(path),
        str(skip),
        str(batch_size),
        "1" if skip_invalid else "0",
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, env=environment)
    assert reader.stdout is not None
    try:
        while True:
            try:
                # our own child's output, written by the same code: not untrusted input
                item = pickle.load(reader.stdout)
            except EOFError:
                raise IngestError(
                    f"{path}: the snapshot reader stopped (exit code {reader.wait()})"
                ) from None
            if isinstance(item, ReaderDone):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if reader.poll() is None:
            reader.kill()
        reader.wait()
        reader.stdout.close()


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
