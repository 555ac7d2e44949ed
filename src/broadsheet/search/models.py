"""Stored embeddings: one vector per paper and model, tagged with the content hash it was computed from.

The vector index file beside the database is derived from these rows (`broadsheet index rebuild`), so it
can always be rebuilt; a paper whose content hash changed is embedded again.
"""

from __future__ import annotations

from django.db import models

from broadsheet.papers.models import Paper


class PaperEmbedding(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="embeddings", db_index=False)
    model_name = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    dim = models.PositiveIntegerField()
    # float16 little-endian, L2-normalised: half the size of float32, no measurable loss in ranking
    vector = models.BinaryField()
    embedded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "model_name"], name="paperembedding_paper_model_uniq"),
        ]
        indexes = [models.Index(fields=["model_name", "paper"], name="paperembedding_model_idx")]

    def __str__(self) -> str:
        return f"{self.paper_id} / {self.model_name}"


class TermStat(models.Model):
    """How many papers hold a word of the SQLite full-text index, for the words in many papers.

    A copy of FTS5's vocabulary (`broadsheet index keyword`, and the worker after ingest when the corpus has
    grown): a query then reads its words' document frequencies in one lookup instead of walking their
    postings. Words not here are counted live (see broadsheet.search.terms).
    """

    term = models.CharField(max_length=200, primary_key=True)
    documents = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.term}: {self.documents}"


class TermStatsRun(models.Model):
    """When TermStat was last filled, and how many papers the index held then (one row)."""

    document_count = models.PositiveIntegerField()
    min_documents = models.PositiveIntegerField()
    term_count = models.PositiveIntegerField()
    refreshed_at = models.DateTimeField()
