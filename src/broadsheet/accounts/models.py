"""What signed-in readers do and what signing in needs: upvotes (one per reader per paper, can be undone),
collections of papers, one-time sign-in tokens, and the counters of the database-backed rate limiter."""

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


class SignInToken(models.Model):
    """A one-time sign-in link: only the SHA-256 of its token is kept, so a leaked table signs no one in."""

    email = models.CharField(max_length=254)  # normalised (see accounts.signin.normalize_email)
    token_hash = models.CharField(max_length=64, unique=True)
    next_path = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="signin_token_expires_idx")]


class RateCounter(models.Model):
    """Requests counted for one rate-limit key in one fixed window; shared by every web process.

    `key_hash` is the SHA-256 of the key, so addresses and IPs are not stored as such.
    """

    key_hash = models.CharField(max_length=64)
    window_start = models.BigIntegerField()  # Unix seconds, a multiple of the window length
    window_seconds = models.PositiveIntegerField()
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key_hash", "window_seconds", "window_start"], name="rate_counter_window_uniq"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="rate_counter_expires_idx")]


class Collection(models.Model):
    """A reader's named list of papers; private unless made public. Every reader has a "Reading list"."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, allow_unicode=False)
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="collection_name_per_owner_uniq")
        ]


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "paper"], name="collection_item_once_uniq")
        ]
        indexes = [models.Index(fields=["collection", "added_at"], name="collection_item_added_idx")]
