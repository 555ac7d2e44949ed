"""A real `broadsheet ingest oai` process killed mid-harvest and restarted loses and doubles nothing.

The child runs against the fake arXiv and this test's own database (SQLite file or PostgreSQL); its
final rows must equal those of one uninterrupted harvest.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from broadsheet.ingest.models import HarvestState
from broadsheet.papers.models import Author, Category, Paper

PAGE_SIZE = 10
ITEMS = 150  # 90 of them in the cs set: 9 pages
CHILD_TIMEOUT_SECONDS = 60


def paper_rows() -> list[tuple]:
    """Every paper with its authors, categories and versions, minus the ingest timestamps."""
    rows = []
    for paper in Paper.objects.order_by("arxiv_id").prefetch_related("authorships", "listings", "versions"):
        rows.append(
            (
                paper.arxiv_id,
                paper.version,
                paper.title,
                paper.abstract,
                paper.submitter,
                paper.comments,
                paper.journal_ref,
                paper.doi,
                paper.report_no,
                paper.license,
                paper.primary_category_id,
                paper.submitted_at,
                paper.updated_at,
                paper.announced_on,
                paper.source_datestamp,
                paper.is_deleted,
                paper.content_hash,
                [(a.position, a.name) for a in sorted(paper.authorships.all(), key=lambda a: a.position)],
                [
                    (c.position, c.category_id, c.is_primary, c.announced_on)
                    for c in sorted(paper.listings.all(), key=lambda c: c.position)
                ],
                sorted((v.version, v.created_at, v.size) for v in paper.versions.all()),
            )
        )
    return rows


def wipe_database() -> None:
    Paper.objects.all().delete()
    Author.objects.all().delete()
    Category.objects.all().delete()
    HarvestState.objects.all().delete()


def list_requests(fake) -> list[dict[str, str]]:
    return [request.params for request in fake.requests if request.params.get("verb") == "ListRecords"]


def wait_for_requests(fake, count: int, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
    while len(list_requests(fake)) < count:
        if child.poll() is not None:
            raise AssertionError(
                f"the harvester ended (status {child.returncode}) before request {count}: "
                f"{child.stderr.read() if child.stderr else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"no request {count} within {CHILD_TIMEOUT_SECONDS} s")
        time.sleep(0.005)


@pytest.fixture
def harvester(child_process, start_fake, make_items):
    """(fake arXiv, start()) where start() launches `broadsheet ingest oai` against it as a child."""
    fake = start_fake(make_items(ITEMS), page_size=PAGE_SIZE)
    env = child_process["env"](
        BROADSHEET_ARXIV_OAI_URL=fake.oai_url,
        BROADSHEET_REQUEST_DELAY_SECONDS="0.02",
        BROADSHEET_HTTP_MAX_RETRIES="3",
        BROADSHEET_OAI_SETS="cs",
        BROADSHEET_CATEGORIES="",
        BROADSHEET_LOG_LEVEL="WARNING",
    )
    command = [
        *child_process["command"],
        "ingest",
        "oai",
        "--from",
        "2024-01-01",
        "--set",
        "cs",
        "--prefix",
        "arXivRaw",
    ]
    children: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        children.append(child)
        return child

    yield fake, start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def run_to_end(start) -> str:
    child = start()
    out, err = child.communicate(timeout=CHILD_TIMEOUT_SECONDS)
    assert child.returncode == 0, err
    return out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["waiting for a page", "at full speed"])
def test_killed_harvest_resumes_to_exactly_the_uninterrupted_rows(harvester, moment):
    fake, start = harvester
    expected_ids = fake.store.selected_ids("cs", "2024-01-01", "")
    assert len(expected_ids) == 90

    summary = run_to_end(start)
    assert "90 papers (created 90, updated 0, unchanged 0, deleted 0, skipped 0)" in summary
    uninterrupted = paper_rows()
    assert [row[0] for row in uninterrupted] == expected_ids
    wipe_database()
    fake.clear_log()

    if moment == "waiting for a page":
        # the fifth request hangs: pages 1-4 are committed and the child waits on the network
        fake.set_fault("stall", after=4, seconds=CHILD_TIMEOUT_SECONDS)
    child = start()
    wait_for_requests(fake, 5, child)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    fake.clear_faults()

    state = HarvestState.objects.get()
    killed_at = (state.pages_done, state.records_done, Paper.objects.count())
    if moment == "waiting for a page":
        assert killed_at == (4, 40, 40)
    else:
        # wherever the kill landed, the rows are exactly the committed pages
        assert 4 <= state.pages_done < 9 and killed_at[1] == killed_at[2] == state.cursor
    assert not state.is_complete and state.resumption_token

    fake.clear_log()
    summary = run_to_end(start)
    assert list_requests(fake)[0] == {"verb": "ListRecords", "resumptionToken": state.resumption_token}
    assert f"created {90 - killed_at[2]}," in summary
    assert paper_rows() == uninterrupted
    state.refresh_from_db()
    assert (state.is_complete, state.pages_done, state.records_done) == (True, 9, 90)
