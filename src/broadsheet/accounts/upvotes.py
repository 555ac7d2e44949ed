"""Upvotes: one per reader per paper, undoable; the trending score reads them (trending/score.py).

Rule: the unique constraint is the guard against double votes, so concurrent clicks from one reader
leave one row; functions answer what the reader now sees (count and state) in plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count

from broadsheet.accounts.models import Upvote
from broadsheet.papers.models import Paper

MAX_STATES_PER_REQUEST = 200  # a list page shows 50 cards; more is not a page


@dataclass(frozen=True)
class VoteState:
    arxiv_id: str
    count: int
    voted: bool  # by the reader asking; False for anonymous readers


def add_upvote(user_id: int, paper_id: int, now: datetime) -> bool:
    """Upvote; False when the reader had already upvoted (also by a request running at the same time)."""
    try:
        with transaction.atomic():
            Upvote.objects.create(user_id=user_id, paper_id=paper_id, created_at=now)
    except IntegrityError:
        return False
    return True


def remove_upvote(user_id: int, paper_id: int) -> bool:
    """Undo; False when there was nothing to undo."""
    deleted, _ = Upvote.objects.filter(user_id=user_id, paper_id=paper_id).delete()
    return deleted > 0


def votable_paper(arxiv_id: str) -> Paper | None:
    """The paper a vote or a save may name: one we hold and arXiv has not withdrawn."""
    return Paper.objects.filter(arxiv_id=arxiv_id, is_deleted=False).only("id", "arxiv_id", "title").first()


def vote_states(arxiv_ids: Iterable[str], user_id: int | None) -> list[VoteState]:
    """Count and the reader's state for each known id, in the order asked (unknown ids are left out)."""
    wanted = list(dict.fromkeys(arxiv_ids))[:MAX_STATES_PER_REQUEST]
    papers = dict(
        Paper.objects.filter(arxiv_id__in=wanted, is_deleted=False).values_list("arxiv_id", "id")
    )
    ids = list(papers.values())
    counts = dict(
        Upvote.objects.filter(paper_id__in=ids).order_by().values("paper_id").annotate(n=Count("id"))
        .values_list("paper_id", "n")
    )
    mine: set[int] = set()
    if user_id is not None:
        mine = set(
            Upvote.objects.filter(user_id=user_id, paper_id__in=ids).values_list("paper_id", flat=True)
        )
    return [
        VoteState(arxiv_id, counts.get(papers[arxiv_id], 0), papers[arxiv_id] in mine)
        for arxiv_id in wanted
        if arxiv_id in papers
    ]


def vote_state(paper: Paper, user_id: int | None) -> VoteState:
    count = Upvote.objects.filter(paper_id=paper.pk).count()
    voted = user_id is not None and Upvote.objects.filter(user_id=user_id, paper_id=paper.pk).exists()
    return VoteState(paper.arxiv_id, count, voted)
