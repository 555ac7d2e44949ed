"""What signed-in readers do: upvotes (one per reader per paper, can be undone)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from broadsheet.papers.models import Paper


class Upvote(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upvotes", db_index=False
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="upvotes", db_index=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="upvote_one_per_user_uniq")]
        indexes = [models.Index(fields=["paper", "created_at"], name="upvote_paper_idx")]
