"""Digest subscriptions, their preferences, and the outbox: one Delivery row per (subscriber, digest date).

The outbox is the record of truth for sending: a row is claimed before the SMTP conversation and marked
sent only after the server accepted the message, so a killed sender leaves at most one row `sending`,
which a restart marks `uncertain` instead of sending it again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from broadsheet.papers.models import Paper


class Subscriber(models.Model):
    """One email address and what it wants. Preferences live here: one row to read per digest."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for confirmation"
        ACTIVE = "active", "active"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed"
        SUPPRESSED = "suppressed", "suppressed (bounce or complaint)"

    class Frequency(models.TextChoices):
        DAILY = "daily", "daily"
        WEEKLY = "weekly", "weekly"
        PAUSED = "paused", "paused"

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased and stripped
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # A confirmation link carries this nonce; confirming clears it, so each link works once.
    confirm_nonce = models.CharField(max_length=64, blank=True, default="")
    # Bumped to invalidate every preferences/unsubscribe token issued so far.
    token_version = models.PositiveIntegerField(default=1)

    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekly_day = models.PositiveSmallIntegerField(default=0)  # 0 = Monday ... 6 = Sunday
    delivery_hour = models.PositiveSmallIntegerField(default=7)  # 0-23, local to time_zone
    time_zone = models.CharField(max_length=64, default="UTC")  # IANA name
    size = models.PositiveSmallIntegerField(default=10)  # papers per digest, 5-50
    include_trending = models.BooleanField(default=True)
    trending_categories = models.JSONField(default=list, blank=True)  # [] = trending in every category
    categories = models.JSONField(default=list, blank=True)  # "for you": category codes
    include_keywords = models.JSONField(default=list, blank=True)  # hard filter: one must match
    exclude_keywords = models.JSONField(default=list, blank=True)  # hard filter: none may match
    followed_authors = models.JSONField(default=list, blank=True)  # Author ids
    seed_papers = models.JSONField(default=list, blank=True)  # arXiv ids: "more like these"
    seeds_from_collections = models.BooleanField(default=True)  # the user's saved papers are seeds too
    skip_when_empty = models.BooleanField(default=True)

    last_digest_on = models.DateField(null=True, blank=True)  # digest date of the last row sent
    last_digest_at = models.DateTimeField(null=True, blank=True)  # when it was sent

    class Meta:
        indexes = [models.Index(fields=["status", "frequency"], name="subscriber_due_idx")]

    def __str__(self) -> str:
        return self.email


class ConfirmationEmail(models.Model):
    """Each confirmation email sent: at most 3 per address per day, counted from here."""

    email = models.EmailField(max_length=254)
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["email", "sent_at"], name="confirmation_email_idx")]


class DigestRun(models.Model):
    """One pass that found due subscribers and created their outbox rows (hourly job or a manual run)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=16, default="schedule")  # schedule | manual
    digest_date = models.DateField(null=True, blank=True)  # set for a manual `--date` run
    note = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"run {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """The outbox row for one (subscriber, digest date)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENDING = "sending", "sending"  # claimed by a sender; the SMTP outcome not yet recorded
        SENT = "sent", "sent"
        FAILED = "failed", "failed"  # 5xx, or retries exhausted
        UNCERTAIN = "uncertain", "uncertain"  # the sender died mid-send: may or may not have arrived
        ABANDONED = "abandoned", "abandoned"  # not sent by its cutoff
        SKIPPED = "skipped", "skipped"  # nothing new (skip_when_empty), or unsubscribed/suppressed

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    digest_date = models.DateField()  # the subscriber's local date of delivery
    run = models.ForeignKey(DigestRun, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField()  # the delivery hour, in UTC
    cutoff_at = models.DateTimeField()  # abandoned if not sent by then
    since_at = models.DateTimeField(null=True, blank=True)  # papers announced after this are new
    claimed_by = models.CharField(max_length=64, blank=True, default="")  # sender id: host:pid:start
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True, default="")
    subject = models.CharField(max_length=400, blank=True, default="")
    paper_ids = models.JSONField(default=list, blank=True)  # what the message carries, in order
    error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "digest_date"], name="delivery_one_per_day_uniq")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_claim_idx"),
            models.Index(fields=["run", "status"], name="delivery_run_idx"),
        ]


class DeliveredPaper(models.Model):
    """A paper a subscriber has received: never sent to them again. Written with the `sent` mark."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="delivered_papers")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+", db_index=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="delivered_paper_once_uniq")
        ]


class SuppressedAddress(models.Model):
    """An address that bounced hard or complained: nothing is sent to it again."""

    email = models.EmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=32)  # bounce | complaint | manual
    created_at = models.DateTimeField()


class WebhookEvent(models.Model):
    """A bounce/complaint webhook event, kept by its provider id so a retried delivery is applied once."""

    event_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    email = models.EmailField(max_length=254)
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)


class SenderState(models.Model):
    """Shared sending state that outlives a process: the rate limiter's window (one row, key 'rate')."""

    key = models.CharField(max_length=32, unique=True)
    window_started_at = models.DateTimeField()
    sent_in_window = models.PositiveIntegerField(default=0)
