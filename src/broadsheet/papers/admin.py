"""Admin: papers and authors to look at (ingest is their only writer), categories and harvest
checkpoints to correct by hand.

Rule: nothing here creates or edits a paper; a wrong paper is fixed upstream and re-ingested.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from broadsheet.ingest.models import HarvestState
from broadsheet.papers.models import Author, Category, Paper, PaperAuthor, PaperCategory, PaperVersion


class ReadOnlyAdminMixin:
    """View-only: rows belong to the upsert pipeline."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AuthorshipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaperAuthor
    fields = ("position", "name", "author")
    ordering = ("position",)
    extra = 0


class ListingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaperCategory
    fields = ("position", "category", "is_primary", "announced_on")
    ordering = ("position",)
    extra = 0


class VersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaperVersion
    fields = ("version", "created_at", "size")
    ordering = ("version",)
    extra = 0


@admin.register(Paper)
class PaperAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("arxiv_id", "version", "title", "primary_category", "announced_on", "is_deleted")
    list_filter = ("is_deleted", "primary_category")
    list_select_related = ("primary_category",)
    # `=arxiv_id` is an exact match that uses the unique index; titles are searched by substring
    search_fields = ("=arxiv_id", "title")
    date_hierarchy = "announced_on"
    # a full COUNT(*) of millions of rows on every list page is not worth the number
    show_full_result_count = False
    inlines = (AuthorshipInline, ListingInline, VersionInline)


@admin.register(Author)
class AuthorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "normalized_name")
    search_fields = ("name", "normalized_name")
    show_full_result_count = False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "archive")
    list_filter = ("archive",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> tuple[str, ...]:
        # the code is the primary key that listings point at; only the names are for correcting
        return ("code",) if obj is not None else ()


@admin.register(HarvestState)
class HarvestStateAdmin(admin.ModelAdmin):
    """Checkpoints may be edited (clear a stale resumption token) or deleted (start the harvest over)."""

    list_display = ("key", "source", "pages_done", "records_done", "is_complete", "updated_at", "last_error")
    list_filter = ("source", "is_complete")
    search_fields = ("key",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
