"""What Broadsheet knows about papers beyond arXiv's metadata, as the API shows it: Hugging Face daily-papers
information (upvotes there, comments, code, project page, AI summary, submitter) and local upvotes.

Rule: lists take these from the entries of broadsheet.trending.lists; papers found otherwise (a search,
one paper) are looked up here by arXiv id, one query per kind of signal for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from broadsheet.accounts.models import Upvote
from broadsheet.trending.lists import ListEntry
from broadsheet.trending.models import HfPaperInfo


@dataclass(frozen=True)
class PaperSignals:
    local_upvotes: int = 0  # readers of this Broadsheet
    hf_upvotes: int = 0  # the latest count seen on Hugging Face daily papers
    num_comments: int = 0  # comments on Hugging Face
    github_repo: str | None = None
    github_stars: int | None = None  # the latest sample of the linked repository's stars
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    organization: str | None = None
    submitted_by: str | None = None  # the Hugging Face user who put it on a daily page
    submitted_on_daily_at: datetime | None = None

    @property
    def upvotes(self) -> int:
        """Upvotes as the API reports them: both audiences, as the trending score counts them."""
        return self.local_upvotes + self.hf_upvotes


NO_SIGNALS = PaperSignals()


def entry_signals(entry: ListEntry) -> PaperSignals:
    """The signals a list entry of broadsheet.trending.lists already carries."""
    hf = entry.hf
    if hf is None:
        return PaperSignals(local_upvotes=entry.upvotes)
    return PaperSignals(
        local_upvotes=entry.upvotes,
        hf_upvotes=hf.upvotes,
        num_comments=hf.num_comments,
        github_repo=hf.github_repo or None,
        github_stars=hf.github_stars,
        project_page=hf.project_page or None,
        ai_summary=hf.ai_summary or None,
        ai_keywords=hf.ai_keywords,
        organization=hf.organization or None,
        submitted_by=hf.submitted_by or None,
        submitted_on_daily_at=hf.submitted_on_daily_at,
    )


def paper_signals(arxiv_ids: Iterable[str]) -> dict[str, PaperSignals]:
    """The signals of each paper in `arxiv_ids` (two queries), NO_SIGNALS for papers without any."""
    ids = sorted(set(arxiv_ids))
    if not ids:
        return {}
    local = dict(
        Upvote.objects.filter(paper__arxiv_id__in=ids)
        .order_by()
        .values("paper__arxiv_id")
        .annotate(n=Count("id"))
        .values_list("paper__arxiv_id", "n")
    )
    signals = {arxiv_id: PaperSignals(local_upvotes=local.get(arxiv_id, 0)) for arxiv_id in ids}
    for info in HfPaperInfo.objects.filter(paper__arxiv_id__in=ids).select_related("repo", "paper").only(
        "paper__arxiv_id", "github_repo", "repo__stars", "project_page", "ai_summary", "ai_keywords",
        "organization", "submitted_by", "submitted_on_daily_at", "upvotes", "num_comments",
    ):
        arxiv_id = info.paper.arxiv_id
        keywords = info.ai_keywords if isinstance(info.ai_keywords, list) else []
        signals[arxiv_id] = PaperSignals(
            local_upvotes=local.get(arxiv_id, 0),
            hf_upvotes=info.upvotes,
            num_comments=info.num_comments,
            github_repo=info.github_repo or None,
            github_stars=info.repo.stars if info.repo is not None else None,
            project_page=info.project_page or None,
            ai_summary=info.ai_summary or None,
            ai_keywords=tuple(str(keyword) for keyword in keywords),
            organization=info.organization or None,
            submitted_by=info.submitted_by or None,
            submitted_on_daily_at=info.submitted_on_daily_at,
        )
    return signals
