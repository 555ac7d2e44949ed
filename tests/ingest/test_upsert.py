"""upsert_papers: highest version wins, history kept, idempotent and order-independent."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Author, Category, Paper, PaperAuthor, PaperCategory, PaperVersion

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def make_record(arxiv_id: str = "2501.00001", version: int = 1, **fields) -> PaperRecord:
    defaults = dict(
        title=f"Title v{version}",
        abstract=f"Abstract v{version}",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.CL", "cs.LG"],
        versions=[
            VersionRecord(n, datetime(2025, 1, n, 10, 0, tzinfo=UTC), f"{n}kb") for n in range(1, version + 1)
        ],
        announced_on=date(2025, 1, 2),
        datestamp=date(2025, 1, version + 1),
    )
    defaults.update(fields)
    return PaperRecord(arxiv_id=arxiv_id, version=version, **defaults)


def dump_database() -> dict[str, list]:
    """Every row that ingest writes, without surrogate keys and ingest bookkeeping times."""
    papers = sorted(
        Paper.objects.values_list(
            "arxiv_id",
            "version",
            "title",
            "abstract",
            "primary_category_id",
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
            "deleted_on",
            "is_deleted",
            "content_hash",
        )
    )
    authorships = sorted(
        PaperAuthor.objects.values_list("paper__arxiv_id", "position", "name", "author__normalized_name")
    )
    listings = sorted(
        PaperCategory.objects.values_list(
            "paper__arxiv_id", "category_id", "position", "is_primary", "announced_on"
        )
    )
    versions = sorted(PaperVersion.objects.values_list("paper__arxiv_id", "version", "created_at", "size"))
    authors = sorted(Author.objects.values_list("normalized_name", "name"))
    return {
        "papers": papers,
        "authorships": authorships,
        "listings": listings,
        "versions": versions,
        "authors": authors,
    }


@pytest.mark.django_db
def test_ingest_keeps_latest_version_whatever_the_order():
    upsert_papers([make_record(version=2)], now=NOW)
    upsert_papers([make_record(version=1)], now=NOW)
    paper = Paper.objects.get()
    assert (paper.version, paper.title, paper.abstract) == (2, "Title v2", "Abstract v2")
    assert list(paper.versions.values_list("version", "size")) == [(1, "1kb"), (2, "2kb")]
    assert paper.submitted_at == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert paper.updated_at == datetime(2025, 1, 2, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_newer_version_replaces_content_authors_and_categories():
    upsert_papers([make_record(version=1)], now=NOW)
    upsert_papers(
        [make_record(version=3, authors=["Grace Hopper"], categories=["cs.AI"], title="Final title")], now=NOW
    )
    paper = Paper.objects.get()
    assert paper.title == "Final title"
    assert list(paper.authorships.values_list("position", "name")) == [(0, "Grace Hopper")]
    assert list(paper.listings.values_list("category_id", "is_primary")) == [("cs.AI", True)]
    assert paper.primary_category_id == "cs.AI"
    assert list(paper.versions.values_list("version", flat=True)) == [1, 2, 3]


@pytest.mark.django_db
def test_reingest_of_the_same_records_writes_nothing():
    records = [make_record("2501.00001", 1), make_record("2501.00002", 2)]
    first = upsert_papers(records, now=NOW)
    before = dump_database()
    later = datetime(2026, 11, 29, tzinfo=UTC)
    second = upsert_papers(records, now=later)
    assert (first.created, first.updated) == (2, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert dump_database() == before
    assert set(Paper.objects.values_list("last_ingested_at", flat=True)) == {NOW}


@pytest.mark.django_db
def test_deleted_record_hides_the_paper_and_a_later_record_restores_it():
    upsert_papers([make_record(datestamp=date(2025, 1, 2))], now=NOW)
    result = upsert_papers([PaperRecord("2501.00001", deleted=True, datestamp=date(2025, 2, 1))], now=NOW)
    paper = Paper.objects.get()
    assert result.deleted == 1
    assert (paper.is_deleted, paper.deleted_on, paper.title) == (True, date(2025, 2, 1), "Title v1")
    upsert_papers([make_record(version=2, datestamp=date(2025, 3, 1))], now=NOW)
    paper.refresh_from_db()
    assert (paper.is_deleted, paper.version) == (False, 2)


@pytest.mark.django_db
def test_deletion_of_an_unknown_paper_leaves_a_tombstone_that_older_records_do_not_revive():
    upsert_papers([PaperRecord("2501.00009", deleted=True, datestamp=date(2025, 5, 1))], now=NOW)
    upsert_papers([make_record("2501.00009", datestamp=date(2025, 4, 1))], now=NOW)
    paper = Paper.objects.get()
    assert (paper.is_deleted, paper.title) == (True, "Title v1")


@pytest.mark.django_db
def test_unknown_categories_are_accepted_and_known_ones_named():
    upsert_papers([make_record(categories=["cs.CL", "xx.NEW"])], now=NOW)
    assert dict(Category.objects.values_list("code", "name")) == {
        "cs.CL": "Computation and Language",
        "xx.NEW": "",
    }


@pytest.mark.django_db
def test_author_spellings_meet_under_one_normalised_name():
    upsert_papers([make_record("2501.00001", authors=["José Müller"])], now=NOW)
    upsert_papers([make_record("2501.00002", authors=["Jose Muller"])], now=NOW)
    assert list(Author.objects.values_list("normalized_name", "name")) == [("jose muller", "Jose Muller")]
    assert PaperAuthor.objects.filter(author__normalized_name="jose muller").count() == 2
    assert sorted(PaperAuthor.objects.values_list("name", flat=True)) == ["Jose Muller", "José Müller"]


@pytest.mark.django_db
def test_keep_categories_skips_papers_outside_them():
    result = upsert_papers(
        [make_record("2501.00001", categories=["astro-ph.GA"]), make_record("2501.00002")],
        now=NOW,
        keep_categories=frozenset({"cs.CL"}),
    )
    assert (result.created, result.skipped) == (1, 1)
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2501.00002"]


@pytest.mark.django_db
def test_duplicates_within_one_batch_merge_to_the_highest_version():
    upsert_papers([make_record(version=2), make_record(version=3), make_record(version=1)], now=NOW)
    paper = Paper.objects.get()
    assert (paper.version, paper.title) == (3, "Title v3")
    assert paper.versions.count() == 3


@pytest.mark.django_db
def test_announcement_day_is_the_earliest_estimate_and_follows_into_category_listings():
    upsert_papers([make_record(announced_on=date(2025, 1, 9))], now=NOW)
    upsert_papers([make_record(announced_on=date(2025, 1, 3))], now=NOW)
    upsert_papers([make_record(announced_on=date(2025, 1, 5))], now=NOW)
    assert Paper.objects.get().announced_on == date(2025, 1, 3)
    assert set(PaperCategory.objects.values_list("announced_on", flat=True)) == {date(2025, 1, 3)}


# -- order independence, driven by hypothesis ------------------------------------------------------------

IDS = ["2501.00001", "2501.00002", "2501.00003", "hep-th/9901001"]
names = st.sampled_from(["Ada Lovelace", "Alan Turing", "Grace Hopper", "Émile Borel", "Emile Borel"])
record_strategy = st.builds(
    lambda arxiv_id, version, title, authors, categories, day, announced, deleted: (
        PaperRecord(arxiv_id, deleted=True, datestamp=date(2025, 1, day))
        if deleted
        else make_record(
            arxiv_id,
            version,
            title=title,
            authors=authors,
            categories=categories,
            datestamp=date(2025, 1, day),
            announced_on=date(2025, 1, announced),
        )
    ),
    st.sampled_from(IDS),
    st.integers(1, 3),
    st.sampled_from(["A", "B", "Attention", "$x^2$"]),
    st.lists(names, min_size=0, max_size=3),
    st.lists(st.sampled_from(["cs.CL", "cs.LG", "math.AG", "new.XX"]), min_size=0, max_size=3, unique=True),
    st.integers(1, 28),
    st.integers(1, 28),
    st.just(False),
)


def clear_papers() -> None:
    Paper.objects.all().delete()
    Author.objects.all().delete()
    Category.objects.all().delete()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.one_of(
            record_strategy,
            st.builds(
                lambda arxiv_id, day: PaperRecord(arxiv_id, deleted=True, datestamp=date(2025, 1, day)),
                st.sampled_from(IDS),
                st.integers(1, 28),
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    data=st.data(),
)
def test_reingest_in_any_order_and_batching_gives_the_same_rows(records, data):
    clear_papers()
    upsert_papers(records, now=NOW)
    in_one_go = dump_database()

    clear_papers()
    shuffled = data.draw(st.permutations(records))
    cut = data.draw(st.integers(0, len(shuffled)))
    upsert_papers(shuffled[:cut], now=NOW)
    upsert_papers(shuffled[cut:], now=NOW)
    # and a window ingested twice changes nothing
    upsert_papers(shuffled[: cut // 2], now=NOW)
    assert dump_database() == in_one_go
