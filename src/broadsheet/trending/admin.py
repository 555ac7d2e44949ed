"""Admin: signals and scores to look at. Rule: they are observations and derived rows, written only by
the importers and `compute_trending`; a repository wrongly marked missing may be corrected by hand."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from broadsheet.papers.admin import ReadOnlyAdminMixin
from broadsheet.trending.models import (
    GitHubRepo,
    HfObservation,
    HfPaperInfo,
    PageViewDay,
    StarSample,
    TrendingScore,
)
from broadsheet.trending.score import SCORE_COLUMNS


@admin.register(TrendingScore)
class TrendingScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("paper", *SCORE_COLUMNS)
    list_select_related = ("paper",)
    ordering = ("-score",)
    search_fields = ("=paper__arxiv_id",)


@admin.register(HfPaperInfo)
class HfPaperInfoAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("paper", "upvotes", "num_comments", "github_repo", "first_daily_on", "observed_at")
    list_select_related = ("paper",)
    search_fields = ("=paper__arxiv_id", "github_repo", "organization", "submitted_by")
    date_hierarchy = "first_daily_on"


@admin.register(HfObservation)
class HfObservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("paper", "daily_on", "observed_at", "upvotes", "num_comments", "github_stars")
    list_select_related = ("paper",)
    search_fields = ("=paper__arxiv_id",)
    date_hierarchy = "daily_on"


class StarSampleInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StarSample
    fields = ("sampled_at", "stars")
    ordering = ("-sampled_at",)
    extra = 0


@admin.register(GitHubRepo)
class GitHubRepoAdmin(admin.ModelAdmin):
    list_display = ("full_name", "stars", "last_sampled_at", "checked_at", "missing")
    list_filter = ("missing",)
    search_fields = ("full_name",)
    fields = ("full_name", "stars", "last_sampled_at", "checked_at", "missing")
    readonly_fields = ("full_name", "stars", "last_sampled_at", "checked_at")
    inlines = (StarSampleInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PageViewDay)
class PageViewDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("paper", "day", "views")
    list_select_related = ("paper",)
    search_fields = ("=paper__arxiv_id",)
    date_hierarchy = "day"
