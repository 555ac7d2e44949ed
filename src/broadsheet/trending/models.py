"""Popularity signals, each kept with its time so that change over time is known, and the published
trending score computed from them (see docs/trending.md).

Rule: signals are append-only observations (an upvote count seen at a moment, a star count sampled at a
moment, views counted per day); the score is derived and can always be recomputed.
"""

from __future__ import annotations

from django.db import models

from broadsheet.papers.models import Paper


class HfPaperInfo(models.Model):
    """What Hugging Face daily papers says about a paper beyond arXiv's metadata (latest observation)."""

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="hf")
    github_repo = models.URLField(max_length=500, blank=True, default="")
    # the repository behind github_repo, whose star samples feed the score (None: no GitHub link)
    repo = models.ForeignKey(
        "GitHubRepo", null=True, blank=True, on_delete=models.SET_NULL, related_name="hf_papers"
    )
    project_page = models.URLField(max_length=500, blank=True, default="")
    ai_summary = models.TextField(blank=True, default="")
    ai_keywords = models.JSONField(default=list, blank=True)
    organization = models.CharField(max_length=200, blank=True, default="")
    submitted_by = models.CharField(max_length=200, blank=True, default="")
    submitted_on_daily_at = models.DateTimeField(null=True, blank=True)
    first_daily_on = models.DateField(null=True, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField()

    class Meta:
        verbose_name = "Hugging Face paper info"


class HfObservation(models.Model):
    """One sighting of a paper on a Hugging Face daily-papers page: its counts at `observed_at`."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="hf_observations", db_index=False)
    daily_on = models.DateField()
    observed_at = models.DateTimeField()
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    github_stars = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "daily_on", "observed_at"], name="hfobservation_uniq"),
        ]
        indexes = [models.Index(fields=["daily_on"], name="hfobservation_day_idx")]


class GitHubRepo(models.Model):
    """A GitHub repository linked from a paper, with its latest star count."""

    full_name = models.CharField(max_length=200, unique=True)  # owner/name, lower case
    stars = models.PositiveIntegerField(null=True, blank=True)
    last_sampled_at = models.DateTimeField(null=True, blank=True)
    # the last answer from GitHub's API (samples may also come from Hugging Face, which caches them)
    checked_at = models.DateTimeField(null=True, blank=True)
    missing = models.BooleanField(default=False)  # 404 from GitHub: renamed, private or deleted

    def __str__(self) -> str:
        return self.full_name

    @property
    def url(self) -> str:
        return f"https://github.com/{self.full_name}"


class StarSample(models.Model):
    """The star count of a repository at one moment; "stars gained this week" is a difference of two."""

    repo = models.ForeignKey(GitHubRepo, on_delete=models.CASCADE, related_name="samples", db_index=False)
    sampled_at = models.DateTimeField()
    stars = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repo", "sampled_at"], name="starsample_uniq")]


class PageViewDay(models.Model):
    """Human page views of a paper on one day; no personal data is kept."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="view_days", db_index=False)
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "day"], name="pageviewday_uniq")]
        indexes = [models.Index(fields=["day"], name="pageviewday_day_idx")]


class TrendingScore(models.Model):
    """The published score of a paper and its components, as computed at `computed_at`."""

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="trending")
    score = models.FloatField(db_index=True)
    points = models.FloatField()
    upvotes_local = models.PositiveIntegerField(default=0)
    upvotes_hf = models.PositiveIntegerField(default=0)
    views_week = models.PositiveIntegerField(default=0)
    stars_gained_week = models.IntegerField(default=0)
    age_hours = models.FloatField()
    computed_at = models.DateTimeField()
