"""Benchmark: arXiv metadata snapshot import through the real import_snapshot, into a fresh database.

Imports every snapshot file (`*.jsonl.gz`, files that are not paper snapshots are skipped) into a new
SQLite database in a temp data dir, or into a new PostgreSQL database created beside --database-url and
dropped afterwards; then re-imports everything (all unchanged). Prints a table and a one-line summary.

    .venv/bin/python bench/ingest_snapshot.py [--data DIR] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data" / "arxiv"


def describe_machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {model}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of snapshot files (default: ../shared/data/arxiv from the repository)")
    parser.add_argument("--glob", default="*.jsonl.gz", help="file name pattern inside --data")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL server to benchmark instead of SQLite: a fresh database is "
                             "created on it (test_<name>) and dropped at the end")
    parser.add_argument("--batch-size", type=int, default=None, help="records per transaction")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (and print it)")
    return parser.parse_args(argv)


def configure_django(data_dir: Path, database_url: str) -> None:
    """Settings are read at import: the environment must be complete before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadsheet.settings"
    os.environ["BROADSHEET_DATA_DIR"] = str(data_dir)
    os.environ.pop("REDIS_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = sorted(args.data.glob(args.glob))
    if not files:
        print(f"no files matching {args.glob} in {args.data}", file=sys.stderr)
        return 2

    data_dir = Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
    configure_django(data_dir, args.database_url)

    from django.core.management import call_command
    from django.db import connection

    from broadsheet.ingest.records import IngestError
    from broadsheet.ingest.snapshot import (
        SNAPSHOT_BATCH_SIZE,
        import_snapshot,
        open_snapshot,
        parse_snapshot_line,
    )
    from broadsheet.ingest.upsert import UpsertResult
    from broadsheet.papers.models import Paper

    def is_paper_snapshot(path: Path) -> bool:
        snapshot = open_snapshot(path)
        try:
            for line in snapshot.lines:
                if line.strip():
                    parse_snapshot_line(line, f"{path}:1")
                    return True
            return False
        except IngestError:
            return False
        finally:
            snapshot.close()

    batch_size = args.batch_size or SNAPSHOT_BATCH_SIZE
    test_database = args.database_url != ""
    configured_name = connection.settings_dict["NAME"]
    try:
        if test_database:
            # Django's test-database machinery: a new, migrated database beside the configured one.
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        else:
            call_command("migrate", verbosity=0)
        version = ".".join(str(part) for part in connection.get_database_version())
        backend = f"{connection.display_name} {version}"

        snapshots = [path for path in files if is_paper_snapshot(path)]
        skipped = [path.name for path in files if path not in snapshots]
        now = datetime.now(UTC)
        rows: list[tuple[str, UpsertResult, float]] = []
        for path in snapshots:
            started = time.perf_counter()
            result = import_snapshot(path, now=now, batch_size=batch_size)
            rows.append((path.name, result, time.perf_counter() - started))
        first_pass = UpsertResult()
        for _, result, _ in rows:
            first_pass.add(result)
        first_seconds = sum(seconds for _, _, seconds in rows)
        paper_count = Paper.objects.count()

        second_pass = UpsertResult()
        started = time.perf_counter()
        for path in snapshots:
            second_pass.add(import_snapshot(path, now=now, batch_size=batch_size))
        second_seconds = time.perf_counter() - started
    finally:
        if test_database:
            connection.creation.destroy_test_db(configured_name, verbosity=0)
        if args.keep:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    header = (
        f"{'file':<34} {'papers':>8} {'created':>8} {'updated':>8} {'unchanged':>9} {'seconds':>8} "
        f"{'papers/s':>9}"
    )
    print(header)
    print("-" * len(header))

    def print_row(name: str, result: UpsertResult, seconds: float) -> None:
        rate = result.seen / seconds if seconds else 0.0
        print(f"{name:<34} {result.seen:>8} {result.created:>8} {result.updated:>8} {result.unchanged:>9} "
              f"{seconds:>8.2f} {rate:>9.0f}")

    for name, result, seconds in rows:
        print_row(name, result, seconds)
    print("-" * len(header))
    print_row("first pass, all files", first_pass, first_seconds)
    print_row("second pass (re-import, unchanged)", second_pass, second_seconds)
    if skipped:
        print(f"skipped (not paper snapshots): {', '.join(skipped)}")
    print()
    print(
        f"snapshot import: {first_pass.seen} records ({paper_count} papers) in {first_seconds:.1f} s = "
        f"{first_pass.seen / first_seconds:.0f} papers/s; re-import {second_pass.seen / second_seconds:.0f} "
        f"papers/s; {backend}, batch {batch_size}; machine: {describe_machine()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
