"""Harvest checkpoints: where each resumable harvest stands, committed with the page it follows."""

from __future__ import annotations

from django.db import models


class HarvestState(models.Model):
    """One resumable harvest (an OAI-PMH set and metadata format, or a snapshot file).

    `resumption_token` and `cursor` are written in the same transaction as the page they follow, so
    after a kill the harvest resumes exactly after the last committed page.
    """

    key = models.CharField(max_length=300, unique=True)
    source = models.CharField(max_length=40)
    from_date = models.DateField(null=True, blank=True)
    until_date = models.DateField(null=True, blank=True)
    resumption_token = models.TextField(blank=True, default="")
    cursor = models.BigIntegerField(default=0)
    # newest record datestamp committed so far: the restart point after a badResumptionToken
    last_datestamp = models.DateField(null=True, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    records_done = models.BigIntegerField(default=0)
    is_complete = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        state = "complete" if self.is_complete else f"page {self.pages_done}"
        return f"{self.key} ({state})"
