"""The one writer of papers: merges PaperRecords into the database, idempotent and order-independent.

Rule: every field is a commutative merge of all records ever seen for an arXiv id. Content (title,
abstract, authors, categories, ...) comes from the record of highest precedence (version, then
datestamp, then content hash); `announced_on` is the earliest estimate, datestamps the newest,
versions the union. Re-ingesting any window, in any order, therefore gives the same rows, and a
re-ingest that brings nothing new writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, models, transaction

from broadsheet.ingest.categories import category_archive, category_name
from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.papers.models import Author, Category, Paper, PaperAuthor, PaperCategory, PaperVersion

QUERY_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

CONTENT_FIELDS = (
    "version",
    "title",
    "abstract",
    "submitter",
    "comments",
    "journal_ref",
    "doi",
    "report_no",
    "license",
    "content_hash",
)
MERGED_FIELDS = (
    "content_datestamp",
    "primary_category_id",
    "submitted_at",
    "updated_at",
    "announced_on",
    "source_datestamp",
    "deleted_on",
    "is_deleted",
)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.deleted += other.deleted

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped


def _min_date(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max_date(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _merge_versions(a: Sequence[VersionRecord], b: Sequence[VersionRecord]) -> list[VersionRecord]:
    by_number: dict[int, VersionRecord] = {}
    for item in (*a, *b):
        known = by_number.get(item.version)
        if known is None:
            by_number[item.version] = item
        else:
            by_number[item.version] = VersionRecord(
                item.version,
                _min_date(known.created_at, item.created_at),
                max(known.size, item.size),
            )
    return [by_number[number] for number in sorted(by_number)]


@dataclass
class _State:
    """The merged values of one paper, as they are or are about to be in the database."""

    content: PaperRecord | None  # None: the row's content is kept as it is
    version: int
    content_hash: str
    content_datestamp: date | None
    primary_category_id: str | None
    submitted_at: datetime | None
    updated_at: datetime | None
    announced_on: date | None
    source_datestamp: date | None
    deleted_on: date | None
    versions: dict[int, VersionRecord]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_on is not None and (
            self.source_datestamp is None or self.deleted_on >= self.source_datestamp
        )

    def precedence(self) -> tuple[int, date, str]:
        if not self.content_hash:
            return (0, date.min, "")
        return (self.version, self.content_datestamp or date.min, self.content_hash)


EMPTY_STATE = _State(None, 0, "", None, None, None, None, None, None, None, {})


def _record_state(record: PaperRecord) -> _State:
    if record.deleted:
        return _State(None, 0, "", None, None, None, None, record.announced_on, None, record.datestamp, {})
    return _State(
        content=record,
        version=record.version,
        content_hash=record.content_hash(),
        content_datestamp=record.datestamp,
        primary_category_id=record.categories[0] if record.categories else None,
        submitted_at=record.submitted_at,
        updated_at=record.updated_at,
        announced_on=record.announced_on,
        source_datestamp=record.datestamp,
        deleted_on=None,
        versions={v.version: v for v in record.versions},
    )


def _row_state(paper: Paper, versions: dict[int, VersionRecord]) -> _State:
    return _State(
        content=None,
        version=paper.version,
        content_hash=paper.content_hash,
        content_datestamp=paper.content_datestamp,
        primary_category_id=paper.primary_category_id,
        submitted_at=paper.submitted_at,
        updated_at=paper.updated_at,
        announced_on=paper.announced_on,
        source_datestamp=paper.source_datestamp,
        deleted_on=paper.deleted_on,
        versions=versions,
    )


def _merge_state(row: _State, incoming: _State) -> _State:
    winner = incoming if incoming.precedence() > row.precedence() else row
    versions = {
        v.version: v for v in _merge_versions(list(row.versions.values()), list(incoming.versions.values()))
    }
    submitted_at = _min_date(row.submitted_at, incoming.submitted_at)
    updated_at = _max_date(row.updated_at, incoming.updated_at)
    if versions:
        first, last = versions[min(versions)], versions[max(versions)]
        submitted_at = first.created_at or submitted_at
        updated_at = last.created_at or updated_at
    return _State(
        content=winner.content,
        version=winner.version,
        content_hash=winner.content_hash,
        content_datestamp=winner.content_datestamp,
        primary_category_id=winner.primary_category_id,
        submitted_at=submitted_at,
        updated_at=updated_at,
        announced_on=_min_date(row.announced_on, incoming.announced_on),
        source_datestamp=_max_date(row.source_datestamp, incoming.source_datestamp),
        deleted_on=_max_date(row.deleted_on, incoming.deleted_on),
        versions=versions,
    )


class _BulkInserter:
    """`INSERT ... ON CONFLICT DO NOTHING` through executemany, columns taken from the model's meta.

    The ORM's bulk_create spent over 90% of a snapshot import building and compiling model instances
    (measured: 890 papers/s vs the 2,000/s target); this writes the same rows with parameterised
    statements, so migrations stay the one source of the schema (see docs/decisions.md).
    """

    def __init__(
        self,
        model: type[models.Model],
        field_names: Sequence[str],
        *,
        update_on_conflict: tuple[str, Sequence[str]] | None = None,
    ) -> None:
        meta = model._meta
        self.fields: list[models.Field] = [meta.get_field(name) for name in field_names]  # type: ignore[misc]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(field.column)) for field in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        if update_on_conflict is None:
            conflict = "ON CONFLICT DO NOTHING"
        else:
            # an upsert on a unique column: one statement per row instead of bulk_update's CASE chains
            target, updated = update_on_conflict
            target_column = quote(str(meta.get_field(target).column))  # type: ignore[union-attr]
            assignments = ", ".join(
                f"{column} = excluded.{column}"
                for column in (quote(str(meta.get_field(name).column)) for name in updated)  # type: ignore[union-attr]
            )
            conflict = f"ON CONFLICT ({target_column}) DO UPDATE SET {assignments}"
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) {conflict}"
        # only dates and times need the backend's adaptation (SQLite stores them as text in the ORM's
        # format); other values go to the driver as they are
        adapters = {
            "DateTimeField": connection.ops.adapt_datetimefield_value,
            "DateField": connection.ops.adapt_datefield_value,
        }
        self.adapt = [
            (index, adapters[field.get_internal_type()])  # type: ignore[union-attr]
            for index, field in enumerate(self.fields)
            if field.get_internal_type() in adapters  # type: ignore[union-attr]
        ]

    def insert(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        if self.adapt:
            prepared: list[tuple] = []
            for row in rows:
                values = list(row)
                for index, adapt in self.adapt:
                    if values[index] is not None:
                        values[index] = adapt(values[index])
                prepared.append(tuple(values))
            rows = prepared
        with connection.cursor() as cursor:
            for chunk in _chunks(rows, 5000):
                cursor.executemany(self.sql, chunk)


PAPER_COLUMNS = (
    "arxiv_id",
    "version",
    "title",
    "abstract",
    "primary_category",
    "submitter",
    "comments",
    "journal_ref",
    "doi",
    "report_no",
    "license",
    "submitted_at",
    "updated_at",
    "announced_on",
    "source_datestamp",
    "content_datestamp",
    "deleted_on",
    "is_deleted",
    "content_hash",
    "first_ingested_at",
    "last_ingested_at",
)


def _existing_paper_row(paper: Paper) -> tuple:
    return tuple(
        getattr(paper, "primary_category_id" if c == "primary_category" else c) for c in PAPER_COLUMNS
    )


def _new_paper_row(arxiv_id: str, state: _State, now: datetime) -> tuple:
    """The PAPER_COLUMNS of a paper not yet in the database (a tombstone when it has no content)."""
    content = state.content or PaperRecord(arxiv_id)
    return (
        arxiv_id,
        state.version,
        content.title,
        content.abstract,
        state.primary_category_id,
        content.submitter[:300],
        content.comments,
        content.journal_ref,
        content.doi[:300],
        content.report_no[:300],
        content.license[:300],
        state.submitted_at,
        state.updated_at,
        state.announced_on,
        state.source_datestamp,
        state.content_datestamp,
        state.deleted_on,
        state.is_deleted,
        state.content_hash,
        now,
        now,
    )


def _chunks(items: Sequence, size: int = QUERY_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ensure_categories(codes: set[str]) -> None:
    if not codes:
        return
    known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = codes - known
    if missing:
        Category.objects.bulk_create(
            [
                Category(code=code, name=category_name(code), archive=category_archive(code))
                for code in missing
            ],
            ignore_conflicts=True,
        )


AuthorCache = dict[str, tuple[int, str]]


def _ensure_authors(names: Iterable[tuple[str, str]], cache: AuthorCache) -> dict[str, int]:
    """Author ids by normalised name, creating the authors not yet known.

    `cache` (normalised name -> id, display name) spares the database the authors that an earlier
    batch of the same import already wrote; it is only valid while no batch of that import failed.
    """
    display_by_key: dict[str, str] = {}
    for name, key in names:
        if key:
            # the smallest spelling is the display name, whichever paper brought it first
            display_by_key[key] = min(display_by_key.get(key, name), name)
    ids: dict[str, int] = {}
    keys = []
    for key in sorted(display_by_key):
        cached = cache.get(key)
        if cached is not None and cached[1] <= display_by_key[key][:300]:
            ids[key] = cached[0]
        else:
            keys.append(key)
    # insert-or-ignore first: one pass for known and new names alike, then one lookup
    _BulkInserter(Author, ("name", "normalized_name")).insert(
        [(display_by_key[key][:300], key[:300]) for key in keys]
    )
    renamed: list[Author] = []
    for key, author_id, name in _select_authors(keys):
        ids[key] = author_id
        candidate = display_by_key[key][:300]
        if candidate < name:
            renamed.append(Author(id=author_id, name=candidate))
            name = candidate
        cache[key] = (author_id, name)
    if renamed:
        Author.objects.bulk_update(renamed, fields=["name"], batch_size=200)
    return ids


def _select_authors(keys: Sequence[str]) -> Iterable[tuple[str, int, str]]:
    """(normalised name, id, name) of the authors with these keys, through the cursor: the ORM's `__in`
    resolves every value as an expression, which cost more than the query on a bulk import."""
    quote = connection.ops.quote_name
    meta = Author._meta
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {quote('normalized_name')}, {quote('id')}, {quote('name')} FROM {table} "
                f"WHERE {quote('normalized_name')} IN ({placeholders})",
                list(chunk),
            )
            yield from cursor.fetchall()


def _tidy_authors(author_ids: set[int]) -> None:
    """After a paper's author list was replaced: drop authors left with no paper, and give the others
    the smallest spelling still in use, so rows depend only on the papers, not on their history."""
    ids = sorted(author_ids)
    for chunk in _chunks(ids):
        Author.objects.filter(id__in=chunk, authorships__isnull=True).delete()
        smallest = dict(
            PaperAuthor.objects.filter(author_id__in=chunk)
            .values("author_id")
            .annotate(smallest=models.Min("name"))
            .values_list("author_id", "smallest")
        )
        renamed = [
            Author(id=author_id, name=name)
            for author_id, name in Author.objects.filter(id__in=chunk).values_list("id", "name")
            if smallest.get(author_id) not in (None, name)
        ]
        for author in renamed:
            author.name = smallest[author.id]
        Author.objects.bulk_update(renamed, fields=["name"], batch_size=200)


def _apply_content(paper: Paper, record: PaperRecord) -> None:
    paper.title = record.title
    paper.abstract = record.abstract
    paper.submitter = record.submitter[:300]
    paper.comments = record.comments
    paper.journal_ref = record.journal_ref
    paper.doi = record.doi[:300]
    paper.report_no = record.report_no[:300]
    paper.license = record.license[:300]


def _apply_state(paper: Paper, state: _State) -> None:
    paper.version = state.version
    paper.content_hash = state.content_hash
    paper.content_datestamp = state.content_datestamp
    paper.primary_category_id = state.primary_category_id
    paper.submitted_at = state.submitted_at
    paper.updated_at = state.updated_at
    paper.announced_on = state.announced_on
    paper.source_datestamp = state.source_datestamp
    paper.deleted_on = state.deleted_on
    paper.is_deleted = state.is_deleted


def _snapshot(paper: Paper) -> tuple:
    return tuple(getattr(paper, name) for name in CONTENT_FIELDS + MERGED_FIELDS)


def upsert_papers(
    records: Iterable[PaperRecord],
    *,
    now: datetime,
    keep_categories: set[str] | frozenset[str] = frozenset(),
    author_cache: AuthorCache | None = None,
) -> UpsertResult:
    """Merge `records` into the database in one transaction (a savepoint inside a caller's).

    A bulk import may pass one `author_cache` dict to all its batches, and must drop it when a batch fails.
    """
    result = UpsertResult()
    batch: dict[str, _State] = {}
    for record in records:
        if keep_categories and not record.deleted and not keep_categories.intersection(record.categories):
            result.skipped += 1
            continue
        incoming = _record_state(record)
        known = batch.get(record.arxiv_id)
        batch[record.arxiv_id] = incoming if known is None else _merge_state(known, incoming)
    if not batch:
        return result
    with transaction.atomic():
        _upsert_batch(batch, now, result, {} if author_cache is None else author_cache)
    return result


def _upsert_batch(
    batch: dict[str, _State], now: datetime, result: UpsertResult, author_cache: AuthorCache
) -> None:
    ids = sorted(batch)
    existing: dict[str, Paper] = {}
    for chunk in _chunks(ids):
        for paper in Paper.objects.filter(arxiv_id__in=chunk):
            existing[paper.arxiv_id] = paper
    stored_versions: dict[int, dict[int, VersionRecord]] = {}
    existing_pks = [paper.pk for paper in existing.values()]
    for chunk in _chunks(existing_pks):
        for paper_id, number, created_at, size in PaperVersion.objects.filter(paper_id__in=chunk).values_list(
            "paper_id", "version", "created_at", "size"
        ):
            stored_versions.setdefault(paper_id, {})[number] = VersionRecord(number, created_at, size)

    # new papers go straight to row tuples: model instances cost more than the insert itself
    new_rows: list[tuple] = []
    changed_papers: list[Paper] = []
    states: dict[str, _State] = {}
    content_changed: list[str] = []  # papers whose authors/categories are to be (re)written
    announced_changed: list[Paper] = []
    for arxiv_id in ids:
        incoming = batch[arxiv_id]
        known = existing.get(arxiv_id)
        if known is None:
            state = _merge_state(EMPTY_STATE, incoming)
            if state.content is not None:
                content_changed.append(arxiv_id)
            new_rows.append(_new_paper_row(arxiv_id, state, now))
            result.created += 1
            if state.is_deleted:
                result.deleted += 1
        else:
            paper = known
            before = _snapshot(paper)
            was_deleted = paper.is_deleted
            old_announced = paper.announced_on
            state = _merge_state(_row_state(paper, stored_versions.get(paper.pk, {})), incoming)
            if state.content is not None:
                _apply_content(paper, state.content)
            _apply_state(paper, state)
            if _snapshot(paper) != before:
                paper.last_ingested_at = now
                changed_papers.append(paper)
                result.updated += 1
                if state.content_hash != before[CONTENT_FIELDS.index("content_hash")]:
                    content_changed.append(arxiv_id)
                elif paper.announced_on != old_announced:
                    announced_changed.append(paper)
                if paper.is_deleted and not was_deleted:
                    result.deleted += 1
            else:
                result.unchanged += 1
        states[arxiv_id] = state

    codes: set[str] = set()
    author_names: list[tuple[str, str]] = []
    for arxiv_id in content_changed:
        content = states[arxiv_id].content
        assert content is not None
        codes.update(content.categories)
        author_names.extend(zip(content.authors, content.author_keys(), strict=True))
    for state in states.values():
        if state.primary_category_id:
            codes.add(state.primary_category_id)
    _ensure_categories(codes)
    author_ids = _ensure_authors(author_names, author_cache)

    pk_by_id = {arxiv_id: paper.pk for arxiv_id, paper in existing.items()}
    if new_rows:
        _BulkInserter(Paper, PAPER_COLUMNS).insert(new_rows)
        for chunk in _chunks([row[0] for row in new_rows]):
            pk_by_id.update(Paper.objects.filter(arxiv_id__in=chunk).values_list("arxiv_id", "id"))
    if changed_papers:
        _BulkInserter(
            Paper,
            PAPER_COLUMNS,
            update_on_conflict=("arxiv_id", [c for c in PAPER_COLUMNS if c != "arxiv_id"]),
        ).insert([_existing_paper_row(paper) for paper in changed_papers])

    rewritten = [pk_by_id[arxiv_id] for arxiv_id in content_changed if arxiv_id in existing]
    dropped_author_ids: set[int] = set()
    for chunk in _chunks(rewritten):
        dropped_author_ids.update(
            PaperAuthor.objects.filter(paper_id__in=chunk).values_list("author_id", flat=True)
        )
        PaperAuthor.objects.filter(paper_id__in=chunk).delete()
        PaperCategory.objects.filter(paper_id__in=chunk).delete()
    authorships: list[tuple] = []
    listings: list[tuple] = []
    for arxiv_id in content_changed:
        state = states[arxiv_id]
        content = state.content
        assert content is not None
        paper_pk = pk_by_id[arxiv_id]
        position = 0
        for name, key in zip(content.authors, content.author_keys(), strict=True):
            author_id = author_ids.get(key)
            if author_id is None:
                continue
            authorships.append((paper_pk, author_id, position, name[:300]))
            position += 1
        seen_codes: set[str] = set()
        for position, code in enumerate(content.categories):
            if code in seen_codes:
                continue
            seen_codes.add(code)
            listings.append((paper_pk, code, position, position == 0, state.announced_on))
    _BulkInserter(PaperAuthor, ("paper", "author", "position", "name")).insert(authorships)
    _BulkInserter(PaperCategory, ("paper", "category", "position", "is_primary", "announced_on")).insert(
        listings
    )
    if dropped_author_ids:
        _tidy_authors(dropped_author_ids)
        author_cache.clear()  # tidying may delete or rename cached authors
    for paper in announced_changed:
        PaperCategory.objects.filter(paper_id=paper.pk).update(announced_on=paper.announced_on)

    # version rows last: new papers have their primary keys by now
    version_rows: list[tuple] = []
    for arxiv_id, state in states.items():
        paper_pk = pk_by_id[arxiv_id]
        stored = stored_versions.get(paper_pk, {}) if arxiv_id in existing else {}
        for number, item in state.versions.items():
            stored_version = stored.get(number)
            if stored_version is None:
                version_rows.append((paper_pk, number, item.created_at, item.size[:40]))
            elif (stored_version.created_at, stored_version.size) != (item.created_at, item.size):
                PaperVersion.objects.filter(paper_id=paper_pk, version=number).update(
                    created_at=item.created_at, size=item.size[:40]
                )
    _BulkInserter(PaperVersion, ("paper", "version", "created_at", "size")).insert(version_rows)
