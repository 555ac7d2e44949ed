"""Snapshot import: the Kaggle arXiv metadata layout, streamed, batched, resumable, strict on bad lines."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from broadsheet.ingest import snapshot as snapshot_module
from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import IngestError, PaperRecord, VersionRecord
from broadsheet.ingest.snapshot import (
    import_snapshot,
    parse_snapshot_line,
    read_here,
    read_in_process,
    snapshot_key,
)
from broadsheet.papers.models import Paper

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

KAGGLE_LINE = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "report-no": "ANL-HEP-PR-07-12",
    "categories": "hep-ph",
    "license": None,
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n",
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
    "authors_parsed": [
        ["Balázs", "C.", ""],
        ["Berger", "E. L.", ""],
        ["Nadolsky", "P. M.", ""],
        ["Yuan", "C. -P.", ""],
    ],
}


def paper_line(number: int, **fields) -> dict:
    line = {
        "id": f"2501.{number:05d}",
        "submitter": None,
        "authors": "Ada Lovelace, Alan Turing",
        "title": f"Paper {number}",
        "comments": None,
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": "cs.CL cs.LG",
        "license": None,
        "abstract": f"Abstract {number}.",
        "versions": [],
        "update_date": "2025-01-15",
        "authors_parsed": [["Lovelace", "Ada", ""], ["Turing", "Alan", ""]],
    }
    line.update(fields)
    return line


def write_snapshot(path: Path, lines: list, *, gzipped: bool = False) -> Path:
    text = "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in lines)
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_kaggle_line_parses_to_a_record():
    record = parse_snapshot_line(json.dumps(KAGGLE_LINE), "snap.jsonl:1")
    assert record == PaperRecord(
        arxiv_id="0704.0001",
        version=2,
        title="Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
        abstract="A fully differential calculation in perturbative quantum chromodynamics is presented.",
        authors=["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"],
        categories=["hep-ph"],
        submitter="Pavel Nadolsky",
        comments="37 pages, 15 figures; published version",
        journal_ref="Phys.Rev.D76:013009,2007",
        doi="10.1103/PhysRevD.76.013009",
        report_no="ANL-HEP-PR-07-12",
        license="",
        versions=[
            VersionRecord(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
            VersionRecord(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
        ],
        submitted_at=datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC),
        updated_at=datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC),
        announced_on=date(2007, 4, 3),
        datestamp=date(2008, 11, 13),
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "snap.jsonl:7: not valid JSON"),
        ("[1, 2]", "snap.jsonl:7: expected a JSON object"),
        (json.dumps({"title": "x"}), "snap.jsonl:7: missing arXiv id"),
        (json.dumps(paper_line(1, id="not-an-id")), "snap.jsonl:7: not an arXiv identifier"),
        (json.dumps(paper_line(1, title="  ")), "snap.jsonl:7: paper 2501.00001 has no title"),
        (json.dumps(paper_line(1, update_date="yesterday")), "snap.jsonl:7: bad update_date"),
        (
            json.dumps(paper_line(1, versions=[{"version": "v1", "created": "soon"}])),
            "snap.jsonl:7: bad version date",
        ),
    ],
)
def test_bad_lines_are_rejected_with_file_and_line(line, message):
    with pytest.raises(IngestError, match=message):
        parse_snapshot_line(line, "snap.jsonl:7")


@pytest.mark.django_db
@pytest.mark.parametrize("gzipped", [False, True])
def test_snapshot_imports_plain_and_gzipped_files(tmp_path, gzipped):
    path = write_snapshot(
        tmp_path / "snap.jsonl", [paper_line(n) for n in range(1, 6)] + [KAGGLE_LINE, ""], gzipped=gzipped
    )
    result = import_snapshot(path, now=NOW, batch_size=2)
    assert (result.created, result.seen) == (6, 6)
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == [
        "0704.0001",
        "2501.00001",
        "2501.00002",
        "2501.00003",
        "2501.00004",
        "2501.00005",
    ]
    state = HarvestState.objects.get(key=snapshot_key(path))
    assert (state.is_complete, state.cursor, state.records_done) == (True, 6, 6)


@pytest.mark.django_db
def test_malformed_line_stops_the_import_keeping_earlier_batches_only_and_resume_continues(tmp_path):
    lines = [paper_line(n) for n in range(1, 8)]
    lines[4] = '{"id": "2501.00005", "title": "truncated'
    path = write_snapshot(tmp_path / "snap.jsonl", lines)
    with pytest.raises(IngestError, match=r"snap.jsonl:5: not valid JSON"):
        import_snapshot(path, now=NOW, batch_size=2)
    # batches [1,2] and [3,4] were committed; line 5's batch left nothing behind
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == [
        "2501.00001",
        "2501.00002",
        "2501.00003",
        "2501.00004",
    ]
    assert HarvestState.objects.get(key=snapshot_key(path)).cursor == 4

    lines[4] = paper_line(5)
    write_snapshot(path, lines)
    result = import_snapshot(path, now=NOW, batch_size=2)
    assert (result.created, result.seen) == (3, 3)  # lines 5-7 only: the first four were not re-read
    assert Paper.objects.count() == 7


@pytest.mark.django_db
def test_skip_invalid_reports_bad_lines_and_imports_the_rest(tmp_path):
    path = write_snapshot(tmp_path / "snap.jsonl", [paper_line(1), "oops", paper_line(2)])
    reported: list[str] = []
    result = import_snapshot(path, now=NOW, skip_invalid=True, on_invalid=reported.append)
    assert (result.created, result.skipped) == (2, 1)
    assert len(reported) == 1 and reported[0].startswith(f"{path}:2: not valid JSON")


@pytest.mark.django_db
def test_truncated_gzip_is_an_error_naming_the_file(tmp_path):
    path = write_snapshot(tmp_path / "snap.jsonl.gz", [paper_line(n) for n in range(1, 200)], gzipped=True)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(IngestError, match=r"snap.jsonl.gz: unreadable after line"):
        import_snapshot(path, now=NOW, batch_size=1000)
    assert Paper.objects.count() == 0


@pytest.mark.django_db
def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        import_snapshot(tmp_path / "absent.jsonl", now=NOW)


@pytest.mark.django_db
def test_a_completed_snapshot_imports_again_from_the_start_without_changes(tmp_path):
    path = write_snapshot(tmp_path / "snap.jsonl", [paper_line(1), paper_line(2)])
    import_snapshot(path, now=NOW)
    again = import_snapshot(path, now=NOW)
    assert (again.created, again.unchanged) == (0, 2)


def test_reader_process_yields_the_same_batches_as_reading_here(tmp_path):
    path = write_snapshot(
        tmp_path / "snap.jsonl.gz", [paper_line(n) for n in range(1, 8)] + [KAGGLE_LINE], gzipped=True
    )
    here = list(read_here(path, skip=2, batch_size=3, skip_invalid=False))
    there = list(read_in_process(path, skip=2, batch_size=3, skip_invalid=False))
    assert [(b.last_line, [r.arxiv_id for r in b.records]) for b in there] == [
        (5, ["2501.00003", "2501.00004", "2501.00005"]),
        (8, ["2501.00006", "2501.00007", "0704.0001"]),
        (8, []),
    ]
    assert [(b.records, b.last_line, b.invalid) for b in there] == [
        (b.records, b.last_line, b.invalid) for b in here
    ]
    assert all(record.content_hash() for batch in there for record in batch.records)


def test_reader_process_reports_a_bad_line_after_the_batches_before_it(tmp_path):
    path = write_snapshot(tmp_path / "snap.jsonl", [paper_line(1), paper_line(2), "{broken", paper_line(4)])
    batches = read_in_process(path, skip=0, batch_size=2, skip_invalid=False)
    assert [r.arxiv_id for r in next(batches).records] == ["2501.00001", "2501.00002"]
    with pytest.raises(IngestError, match=r"snap.jsonl:3: not valid JSON"):
        next(batches)


@pytest.mark.django_db
def test_large_files_are_parsed_by_the_reader_process_with_the_same_result(tmp_path, monkeypatch):
    lines = [paper_line(n) for n in range(1, 30)]
    small = write_snapshot(tmp_path / "a.jsonl", lines)
    import_snapshot(small, now=NOW, batch_size=7)
    expected = sorted(Paper.objects.values_list("arxiv_id", "title", "content_hash"))
    Paper.objects.all().delete()
    monkeypatch.setattr(snapshot_module, "READER_PROCESS_MIN_BYTES", 0)
    result = import_snapshot(write_snapshot(tmp_path / "b.jsonl", lines), now=NOW, batch_size=7)
    assert result.created == 29
    assert sorted(Paper.objects.values_list("arxiv_id", "title", "content_hash")) == expected
