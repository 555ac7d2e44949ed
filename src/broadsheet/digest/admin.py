"""Admin: digest runs with their outbox counts, deliveries and subscribers.

Rule: runs and deliveries are the sender's record and are read-only here; an `uncertain` row is for a
person to look at, never to resend with a click. Subscribers may be corrected by hand.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from broadsheet.digest.models import Delivery, DigestRun, Subscriber, SuppressedAddress
from broadsheet.papers.admin import ReadOnlyAdminMixin

Status = Delivery.Status
COUNTED = [Status.QUEUED, Status.SENT, Status.FAILED, Status.UNCERTAIN, Status.ABANDONED, Status.SKIPPED]


def count_column(status: str):
    def column(run: DigestRun) -> int:
        return getattr(run, f"{status}_count", 0)

    column.__name__ = status  # the admin names the column's cells after it
    column.short_description = status  # type: ignore[attr-defined]
    column.admin_order_field = f"{status}_count"  # type: ignore[attr-defined]
    return column


@admin.register(DigestRun)
class DigestRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "started_at",
        "trigger",
        "digest_date",
        *[count_column(status) for status in COUNTED],
    )
    list_filter = ("trigger",)
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DigestRun]:
        counts = {
            f"{status}_count": Count("deliveries", filter=Q(deliveries__status=status)) for status in COUNTED
        }
        return super().get_queryset(request).annotate(**counts)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "subscriber",
        "digest_date",
        "status",
        "attempts",
        "sent_at",
        "next_attempt_at",
        "claimed_by",
        "error",
    )
    list_filter = ("status", "digest_date")
    list_select_related = ("subscriber",)
    search_fields = ("subscriber__email", "=message_id")
    ordering = ("-id",)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "status",
        "frequency",
        "delivery_hour",
        "time_zone",
        "size",
        "last_digest_on",
        "created_at",
    )
    list_filter = ("status", "frequency")
    search_fields = ("email",)
    readonly_fields = ("created_at", "confirmed_at", "unsubscribed_at", "last_digest_on", "last_digest_at")
    exclude = ("confirm_nonce",)


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "created_at")
    search_fields = ("email",)
