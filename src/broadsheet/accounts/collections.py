"""Collections: a reader's named lists of papers ("Reading list" by default), private unless made public.

Rule: a collection is addressed as `/c/<id>-<slug>/` (or `/c/<id>/`); the id decides, the slug is for
people. Another reader asking for a private collection gets the same 404 as for one that does not exist.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils.text import slugify

from broadsheet.accounts.models import Collection, CollectionItem
from broadsheet.papers.models import Paper
from broadsheet.papers.services import CARD_FIELDS, PaperCard, build_cards

DEFAULT_COLLECTION_NAME = "Reading list"
MAX_NAME_LENGTH = 100
MAX_PAPERS_SHOWN = 500
COLLECTION_REF = re.compile(r"^(\d{1,18})(?:-[a-z0-9-]*)?$")


class CollectionError(ValueError):
    """A change that cannot be made; the message is for the reader."""


@dataclass(frozen=True)
class CollectionSummary:
    id: int
    name: str
    is_public: bool
    paper_count: int
    path: str


def collection_path(collection: Collection) -> str:
    ref = f"{collection.pk}-{collection.slug}" if collection.slug else str(collection.pk)
    return reverse("accounts:collection", args=[ref])


def clean_name(raw: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not name:
        raise CollectionError("Give the collection a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise CollectionError(f"A collection name has at most {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(char)[0] == "C" for char in name):
        raise CollectionError("A collection name cannot contain control characters.")
    return name


def _slug(name: str) -> str:
    return slugify(name)[:MAX_NAME_LENGTH].strip("-")


def create_collection(owner_id: int, name: str, is_public: bool, now: datetime) -> Collection:
    cleaned = clean_name(name)
    try:
        with transaction.atomic():
            return Collection.objects.create(
                owner_id=owner_id, name=cleaned, slug=_slug(cleaned), is_public=is_public,
                created_at=now, updated_at=now,
            )
    except IntegrityError as exc:
        raise CollectionError(f"You already have a collection named “{cleaned}”.") from exc


def default_collection(owner_id: int, now: datetime) -> Collection:
    """The reader's "Reading list", made when first needed."""
    found = Collection.objects.filter(owner_id=owner_id, name=DEFAULT_COLLECTION_NAME).first()
    if found is not None:
        return found
    try:
        return create_collection(owner_id, DEFAULT_COLLECTION_NAME, False, now)
    except CollectionError:  # made by a request running at the same time
        return Collection.objects.get(owner_id=owner_id, name=DEFAULT_COLLECTION_NAME)


def update_collection(collection: Collection, name: str, is_public: bool, now: datetime) -> Collection:
    cleaned = clean_name(name)
    collection.name, collection.slug = cleaned, _slug(cleaned)
    collection.is_public, collection.updated_at = is_public, now
    try:
        with transaction.atomic():
            collection.save(update_fields=["name", "slug", "is_public", "updated_at"])
    except IntegrityError as exc:
        raise CollectionError(f"You already have a collection named “{cleaned}”.") from exc
    return collection


def delete_collection(collection: Collection) -> None:
    collection.delete()


def owned_collection(owner_id: int, collection_id: int) -> Collection | None:
    return Collection.objects.filter(owner_id=owner_id, pk=collection_id).first()


def visible_collection(ref: str, viewer_id: int | None) -> Collection | None:
    """The collection `ref` names when `viewer_id` may see it: public, or theirs."""
    match = COLLECTION_REF.match(ref)
    if not match:
        return None
    collection = Collection.objects.filter(pk=int(match.group(1))).first()
    if collection is None or not (collection.is_public or collection.owner_id == viewer_id):
        return None
    return collection


def user_collections(owner_id: int) -> list[CollectionSummary]:
    """The reader's collections, the default first, then by name."""
    rows = (
        Collection.objects.filter(owner_id=owner_id).annotate(n=Count("items")).order_by("name")
    )
    summaries = [
        CollectionSummary(row.pk, row.name, row.is_public, row.n, collection_path(row)) for row in rows
    ]
    summaries.sort(key=lambda item: item.name != DEFAULT_COLLECTION_NAME)
    return summaries


def save_paper(collection: Collection, paper: Paper, now: datetime) -> bool:
    """Add `paper`; False when it was already there."""
    try:
        with transaction.atomic():
            CollectionItem.objects.create(collection=collection, paper=paper, added_at=now)
    except IntegrityError:
        return False
    Collection.objects.filter(pk=collection.pk).update(updated_at=now)
    return True


def remove_paper(collection: Collection, paper: Paper, now: datetime) -> bool:
    deleted, _ = CollectionItem.objects.filter(collection=collection, paper=paper).delete()
    if deleted:
        Collection.objects.filter(pk=collection.pk).update(updated_at=now)
    return deleted > 0


def collections_holding(owner_id: int, paper: Paper) -> set[int]:
    """Ids of the reader's collections that hold `paper`."""
    return set(
        CollectionItem.objects.filter(collection__owner_id=owner_id, paper=paper)
        .values_list("collection_id", flat=True)
    )


def collection_papers(collection: Collection) -> list[PaperCard]:
    """The papers of `collection`, most recently added first (at most MAX_PAPERS_SHOWN)."""
    paper_ids = list(
        CollectionItem.objects.filter(collection=collection)
        .order_by("-added_at", "-id")
        .values_list("paper_id", flat=True)[:MAX_PAPERS_SHOWN]
    )
    rows = {row["id"]: row for row in Paper.objects.filter(pk__in=paper_ids).values(*CARD_FIELDS)}
    return build_cards([rows[paper_id] for paper_id in paper_ids if paper_id in rows])
