"""Submit a paper by arXiv id: fetched through the arXiv API source and written by upsert_papers.

Rule: one short, bounded attempt (a reader is waiting), and every outcome is named: malformed id, already
here, unknown at arXiv, arXiv unreachable, added.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from broadsheet.ingest.arxiv_api import fetch_by_ids
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.records import IngestError, split_arxiv_id
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Paper
from broadsheet.papers.services import paper_path

logger = logging.getLogger(__name__)

SUBMIT_TIMEOUT_SECONDS = 15.0
SUBMIT_RETRIES = 1
SUBMIT_BACKOFF_SECONDS = 2.0
MAX_INPUT_LENGTH = 300
# arxiv.org links people paste: abs and pdf pages, with or without www/export, version and .pdf
ARXIV_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(?P<id>.+?)(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


class Outcome(enum.Enum):
    ADDED = "added"
    ALREADY_HERE = "already_here"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    arxiv_id: str = ""
    title: str = ""

    @property
    def path(self) -> str:
        return paper_path(self.arxiv_id) if self.arxiv_id else ""


def parse_submission(raw: str) -> str:
    """The canonical arXiv id in an id (`2501.01234v2`, `arXiv:2501.01234`, `hep-th/9901001`) or an
    arxiv.org abs/pdf URL; ValueError for anything else."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise ValueError("not an arXiv identifier")
    match = ARXIV_URL.match(text)
    if match:
        text = match.group("id")
    arxiv_id, _version = split_arxiv_id(text)
    return arxiv_id


def fetch_client() -> PoliteClient:
    return PoliteClient(
        timeout_seconds=min(settings.BROADSHEET["HTTP_TIMEOUT_SECONDS"], SUBMIT_TIMEOUT_SECONDS),
        max_retries=SUBMIT_RETRIES,
        retry_after_cap_seconds=SUBMIT_BACKOFF_SECONDS,
        backoff_seconds=SUBMIT_BACKOFF_SECONDS,
    )


def submit_paper(raw: str, now: datetime) -> SubmitResult:
    try:
        arxiv_id = parse_submission(raw)
    except ValueError:
        return SubmitResult(Outcome.MALFORMED)
    known = Paper.objects.filter(arxiv_id=arxiv_id).values_list("title", flat=True).first()
    if known is not None:
        return SubmitResult(Outcome.ALREADY_HERE, arxiv_id, known)
    try:
        with fetch_client() as client:
            records = fetch_by_ids(client, [arxiv_id], base_url=settings.BROADSHEET["ARXIV_API_URL"])
    except IngestError as exc:  # UpstreamError and unreadable feeds alike: arXiv did not answer usefully
        logger.warning("submit %s: %s", arxiv_id, exc)
        return SubmitResult(Outcome.UNREACHABLE, arxiv_id)
    found = [record for record in records if record.arxiv_id == arxiv_id]
    if not found:
        return SubmitResult(Outcome.UNKNOWN, arxiv_id)
    # a paper asked for by name is kept whatever BROADSHEET_CATEGORIES says, as `broadsheet ingest api` does
    upsert_papers(found, now=now)
    return SubmitResult(Outcome.ADDED, arxiv_id, found[0].title)
