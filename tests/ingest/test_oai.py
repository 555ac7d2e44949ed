"""OAI-PMH: both metadata formats parsed to literal records, and harvests against a real fake arXiv."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from broadsheet.ingest.http import UpstreamError
from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.oai import (
    OaiError,
    harvest_oai,
    parse_list_records,
    split_author_list,
)
from broadsheet.ingest.records import IngestError, PaperRecord, VersionRecord
from broadsheet.ingest.snapshot import parse_snapshot_line
from broadsheet.papers.models import Paper

NOW = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
SOURCE = "http://export.arxiv.org/oai2?verb=ListRecords"

ENGINE_V1 = datetime(2023, 12, 29, 18, 0, tzinfo=UTC)
ENGINE_V2 = datetime(2024, 1, 5, 9, 30, 12, tzinfo=UTC)
GRADED_V1 = datetime(2024, 1, 8, 20, 1, tzinfo=UTC)
STRINGS_V1 = datetime(1999, 1, 4, 10, 0, tzinfo=UTC)


def test_arxiv_raw_page_parses_into_literal_records(read_fixture):
    page = parse_list_records(read_fixture("oai_arxivraw_page.xml"), source=SOURCE)
    assert page.records == [
        PaperRecord(
            arxiv_id="2401.00001",
            version=2,
            title="Notes on the Analytical Engine: a Retrospective",
            abstract="We revisit the Analytical Engine and its notes & tables <in full>.",
            authors=["Ada Lovelace", "Charles Babbage", "Mary Somerville"],
            categories=["cs.CL", "cs.LG"],
            submitter="Ada Lovelace",
            comments="12 pages, 3 figures; v2: typos fixed",
            doi="10.1000/example.2024.001",
            license="http://creativecommons.org/licenses/by/4.0/",
            versions=[VersionRecord(1, ENGINE_V1, "523kb"), VersionRecord(2, ENGINE_V2, "530kb")],
            submitted_at=ENGINE_V1,
            updated_at=ENGINE_V2,
            announced_on=date(2024, 1, 1),  # the weekday after a Friday-evening v1
            datestamp=date(2024, 1, 8),
        ),
        PaperRecord(
            arxiv_id="hep-th/9901001",
            version=1,
            title="Strings at Low Energy",
            abstract="A short abstract.",
            authors=["J. Smith", "A. N. Other"],
            categories=["hep-th"],
            submitter="Jan Smith",
            journal_ref="Phys.Lett. B450 (1999) 1-10",
            report_no="MIT-CTP-2800",
            versions=[VersionRecord(1, STRINGS_V1, "20kb")],
            submitted_at=STRINGS_V1,
            updated_at=STRINGS_V1,
            announced_on=date(1999, 1, 5),  # re-stamped in 2024: the datestamp is not its listing day
            datestamp=date(2024, 1, 9),
        ),
        PaperRecord(arxiv_id="2401.00003", deleted=True, datestamp=date(2024, 1, 9)),
        PaperRecord(
            arxiv_id="2401.00004",
            version=1,
            title="On $\\mathbb{Z}$-graded Lie Algebras",
            abstract="Graded algebras, $x^2 < y$.",
            authors=["John Doe Jr.", "C. Bal\\'azs", "Jane Roe"],
            categories=["math.RA", "cs.SC"],
            submitter="Jane Roe",
            versions=[VersionRecord(1, GRADED_V1, "1.2mb")],
            submitted_at=GRADED_V1,
            updated_at=GRADED_V1,
            announced_on=date(2024, 1, 9),
            datestamp=date(2024, 1, 9),
        ),
    ]
    assert (page.resumption_token, page.cursor, page.complete_list_size) == ("6960524|1001", 0, 7)


def test_arxiv_format_page_parses_into_literal_records(read_fixture):
    page = parse_list_records(read_fixture("oai_arxiv_page.xml"), source=SOURCE, page_number=2, cursor=4)
    assert page.records == [
        PaperRecord(
            arxiv_id="2401.00001",
            version=2,
            title="Notes on the Analytical Engine: a Retrospective",
            abstract="We revisit the Analytical Engine and its notes & tables <in full>.",
            authors=["Ada Lovelace", "Charles Babbage", "Mary Somerville"],
            categories=["cs.CL", "cs.LG"],
            comments="12 pages, 3 figures; v2: typos fixed",
            doi="10.1000/example.2024.001",
            license="http://creativecommons.org/licenses/by/4.0/",
            submitted_at=datetime(2023, 12, 29, tzinfo=UTC),
            updated_at=datetime(2024, 1, 5, tzinfo=UTC),
            announced_on=date(2024, 1, 1),
            datestamp=date(2024, 1, 8),
        ),
        PaperRecord(
            arxiv_id="2401.00004",
            version=1,
            title="On $\\mathbb{Z}$-graded Lie Algebras",
            abstract="Graded algebras, $x^2 < y$.",
            authors=["John Doe Jr", "C. Balázs", "Jane Roe"],
            categories=["math.RA", "cs.SC"],
            submitted_at=datetime(2024, 1, 8, tzinfo=UTC),
            updated_at=datetime(2024, 1, 8, tzinfo=UTC),
            announced_on=date(2024, 1, 9),
            datestamp=date(2024, 1, 9),
        ),
        PaperRecord(arxiv_id="2401.00003", deleted=True, datestamp=date(2024, 1, 9)),
    ]
    # an empty token on the last page: the list is complete
    assert (page.resumption_token, page.cursor, page.complete_list_size) == ("", 4, 7)


def test_no_records_match_is_an_empty_complete_page(read_fixture):
    page = parse_list_records(read_fixture("oai_no_records_match.xml"), source=SOURCE)
    assert (page.records, page.resumption_token) == ([], "")


def test_other_oai_errors_raise_with_their_code(read_fixture):
    with pytest.raises(OaiError) as caught:
        parse_list_records(read_fixture("oai_bad_argument.xml"), source=SOURCE, page_number=2, cursor=3)
    assert caught.value.code == "badArgument"
    assert (
        str(caught.value)
        == f"{SOURCE} (page 2, cursor 3): OAI-PMH error badArgument: Illegal argument: froom"
    )


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        ("malformed.xml", "malformed XML at line 6, column 95: mismatched tag"),
        ("truncated.xml", "malformed XML at line 34, column 20: no element found"),
        ("billion_laughs.xml", "forbidden XML construct at line 2, column 18: DTDForbidden"),
        ("external_entity.xml", "forbidden XML construct at line 2, column 18: DTDForbidden"),
    ],
)
def test_bad_xml_is_rejected_naming_source_page_and_position(read_fixture, fixture, problem):
    with pytest.raises(IngestError) as caught:
        parse_list_records(read_fixture(fixture), source=SOURCE, page_number=2, cursor=3)
    assert str(caught.value).startswith(f"{SOURCE} (page 2, cursor 3): {problem}")


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (
            "Ada Lovelace, Charles Babbage and Mary Somerville",
            ["Ada Lovelace", "Charles Babbage", "Mary Somerville"],
        ),
        ("A. Author, B. Author, and C. Author", ["A. Author", "B. Author", "C. Author"]),
        ("John Doe, Jr., Jane Roe", ["John Doe Jr.", "Jane Roe"]),
        ("Sam Smith III and Jo Jones", ["Sam Smith III", "Jo Jones"]),
        ("J. Smith (1), A. N. Other (2) ((1) MIT, (2) CERN)", ["J. Smith", "A. N. Other"]),
        ("Ferdinand Anderson and Sandra Andrews", ["Ferdinand Anderson", "Sandra Andrews"]),
        ("{The ATLAS Collaboration, CERN}, G. Aad", ["{The ATLAS Collaboration, CERN}", "G. Aad"]),
        ("C. Bal\\'azs,\n  E. L. Berger", ["C. Bal\\'azs", "E. L. Berger"]),
        ("", []),
    ],
)
def test_arxiv_raw_author_lists_split_into_names(raw, names):
    assert split_author_list(raw) == names


# ---------------------------------------------------------------------------------------------
# harvesting against the fake arXiv


def harvest(client, fake, **options):
    arguments = {
        "base_url": fake.oai_url,
        "metadata_prefix": "arXivRaw",
        "set_spec": "cs",
        "from_date": date(2024, 1, 1),
        "until_date": None,
        "now": NOW,
    }
    arguments.update(options)
    return harvest_oai(client, **arguments)


def checkpoint(key_filter=None):
    state = HarvestState.objects.get()
    return (
        state.resumption_token,
        state.cursor,
        state.last_datestamp,
        state.pages_done,
        state.records_done,
        state.is_complete,
    )


def paper_ids():
    return sorted(Paper.objects.values_list("arxiv_id", flat=True))


def list_requests(fake):
    return [request.params for request in fake.requests if request.params.get("verb") == "ListRecords"]


@pytest.mark.django_db
def test_harvest_pages_through_resumption_tokens(start_fake, make_items, make_client):
    fake = start_fake(make_items(25), page_size=4)
    expected = fake.store.selected_ids("cs", "2024-01-01", "")
    assert len(expected) == 15
    pages = []
    result = harvest(
        make_client(),
        fake,
        on_page=lambda page, totals: pages.append((page.number, page.cursor, len(page.records))),
    )
    assert (result.created, result.updated, result.unchanged) == (15, 0, 0)
    assert paper_ids() == sorted(expected)
    assert pages == [(1, 0, 4), (2, 4, 4), (3, 8, 4), (4, 12, 3)]
    assert checkpoint() == ("", 15, date(2024, 1, 4), 4, 15, True)
    requests = list_requests(fake)
    assert requests[0] == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2024-01-01",
        "set": "cs",
    }
    assert [sorted(params) for params in requests[1:]] == [["resumptionToken", "verb"]] * 3


@pytest.mark.django_db
def test_harvest_resumes_from_the_stored_token_after_a_crash(start_fake, make_items, make_client):
    fake = start_fake(make_items(25), page_size=4)

    def crash_after_second_page(page, totals):
        if page.number == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        harvest(make_client(), fake, on_page=crash_after_second_page)
    token, cursor, _, pages_done, records_done, complete = checkpoint()
    assert (cursor, pages_done, records_done, complete) == (8, 2, 8, False)
    assert Paper.objects.count() == 8
    fake.clear_log()
    result = harvest(make_client(), fake)
    assert list_requests(fake)[0] == {"verb": "ListRecords", "resumptionToken": token}
    assert result.created == 7
    assert paper_ids() == sorted(fake.store.selected_ids("cs", "2024-01-01", ""))
    assert checkpoint()[3:] == (4, 15, True)


@pytest.mark.django_db
def test_finished_harvest_starts_over_and_changes_nothing(fake_arxiv, make_client):
    first = harvest(make_client(), fake_arxiv)
    second = harvest(make_client(), fake_arxiv)
    assert (first.created, second.created, second.updated, second.unchanged) == (6, 0, 0, 6)
    assert "metadataPrefix" in list_requests(fake_arxiv)[2]


@pytest.mark.django_db
def test_harvest_of_the_fixture_sets(fake_arxiv, make_client):
    harvest(make_client(), fake_arxiv)
    assert paper_ids() == ["2401.00001", "2401.00004", "2401.00011", "2401.00012", "2401.00013", "2401.00015"]
    paper = Paper.objects.get(arxiv_id="2401.00001")
    assert (paper.version, paper.primary_category_id, paper.announced_on) == (2, "cs.CL", date(2024, 1, 1))
    assert list(paper.authorships.values_list("name", flat=True)) == [
        "Ada Lovelace",
        "Charles Babbage",
        "Mary Somerville",
    ]


@pytest.mark.django_db
def test_deleted_records_mark_papers_deleted(fake_arxiv, start_fake, make_client, snapshot_fixture):
    harvest(make_client(), fake_arxiv)
    after_deletion = start_fake(snapshot_fixture, page_size=3, deleted=["2401.00012@2024-01-20"])
    result = harvest(make_client(), after_deletion)
    assert (result.deleted, result.unchanged) == (1, 5)
    paper = Paper.objects.get(arxiv_id="2401.00012")
    assert (paper.is_deleted, paper.deleted_on, paper.title) == (
        True,
        date(2024, 1, 20),
        "Random Forests for Language Data",
    )
    assert list(Paper.objects.filter(is_deleted=True).values_list("arxiv_id", flat=True)) == ["2401.00012"]


@pytest.mark.django_db
def test_no_records_match_completes_an_empty_harvest(fake_arxiv, make_client):
    result = harvest(make_client(), fake_arxiv, from_date=date(2030, 1, 1))
    assert result.seen == 0
    assert checkpoint() == ("", 0, None, 1, 0, True)


@pytest.mark.django_db
def test_keep_categories_skips_papers_outside_them(fake_arxiv, make_client):
    result = harvest(make_client(), fake_arxiv, keep_categories=frozenset({"cs.CL"}))
    assert (result.created, result.skipped) == (2, 4)
    assert paper_ids() == ["2401.00001", "2401.00011"]


@pytest.mark.django_db
def test_arxiv_format_harvest(fake_arxiv, make_client):
    result = harvest(make_client(), fake_arxiv, metadata_prefix="arXiv", set_spec="math")
    assert result.created == 2
    graded = Paper.objects.get(arxiv_id="2401.00004")
    assert list(graded.authorships.values_list("name", flat=True)) == [
        "John Doe Jr.",
        "C. Bal\\'azs",
        "Jane Roe",
    ]
    assert list(graded.listings.values_list("category_id", flat=True)) == ["math.RA", "cs.SC"]


BAD_PAGES = {
    "truncated": {"kind": "truncated"},
    "malformed": {
        "kind": "body",
        "body": "<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'>\n<ListRecords><record></ListRecords>",
    },
    "billion laughs": {"kind": "body", "body": "FIXTURE:billion_laughs.xml"},
    "external entity": {"kind": "body", "body": "FIXTURE:external_entity.xml"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("bad_page", list(BAD_PAGES), ids=list(BAD_PAGES))
def test_a_bad_page_is_rejected_whole_and_nothing_of_it_committed(
    start_fake, make_items, make_client, read_fixture, bad_page
):
    fake = start_fake(make_items(25), page_size=4)
    fault = dict(BAD_PAGES[bad_page])
    if fault.get("body", "").startswith("FIXTURE:"):
        fault["body"] = read_fixture(fault["body"].removeprefix("FIXTURE:")).decode()
    fake.set_fault(after=1, **fault)
    after_first_page = []
    with pytest.raises(IngestError) as caught:
        harvest(
            make_client(),
            fake,
            on_page=lambda page, totals: after_first_page.append((checkpoint(), paper_ids())),
        )
    message = str(caught.value)
    assert message.startswith(f"{fake.oai_url}?verb=ListRecords&resumptionToken=")
    assert re.search(
        r" \(page 2, cursor 4\): (malformed XML|forbidden XML construct) at line \d+, column \d+", message
    )
    assert after_first_page == [(checkpoint(), paper_ids())]
    assert Paper.objects.count() == 4
    assert HarvestState.objects.get().last_error == message
    # the harvest goes on from the page that failed once upstream mends it
    harvest(make_client(), fake)
    assert paper_ids() == sorted(fake.store.selected_ids("cs", "2024-01-01", ""))


@pytest.mark.django_db
def test_empty_page_with_a_token_is_retried_not_taken_as_the_end(
    start_fake, make_items, make_client, fake_clock
):
    fake = start_fake(make_items(25), page_size=4)
    fake.set_fault("empty_page", after=1, count=2)
    harvest(make_client(max_retries=3, backoff_seconds=1.0), fake)
    assert fake_clock.sleeps == [1.0, 2.0]
    assert Paper.objects.count() == 15
    second_page = list_requests(fake)[1]
    assert list_requests(fake)[1:4] == [second_page] * 3


@pytest.mark.django_db
def test_endless_empty_pages_end_in_upstream_error(start_fake, make_items, make_client):
    fake = start_fake(make_items(25), page_size=4)
    fake.set_fault("empty_page", after=1, count=100)
    with pytest.raises(UpstreamError, match="empty page with a resumptionToken; gave up after 3 attempts"):
        harvest(make_client(max_retries=2), fake)
    assert Paper.objects.count() == 4
    assert checkpoint()[3:] == (1, 4, False)


@pytest.mark.django_db
def test_bad_resumption_token_restarts_a_day_before_the_last_datestamp(start_fake, make_items, make_client):
    fake = start_fake(make_items(40, per_day=7), page_size=10)
    fake.set_fault("bad_token", after=1)  # the second token sent (for page 3) is refused
    result = harvest(make_client(), fake, set_spec=None, until_date=date(2024, 1, 31))
    requests = list_requests(fake)
    # pages 1-2 hold items 0-19, the newest stamped 2024-01-03: the list restarts on 2024-01-02
    assert requests[3] == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2024-01-02",
        "until": "2024-01-31",
    }
    assert paper_ids() == sorted(fake.store.selected_ids("", "2024-01-01", "2024-01-31"))
    assert result.created == 40
    assert result.unchanged == 13  # the overlap (2024-01-02 and -03) came twice
    assert checkpoint()[5] is True


@pytest.mark.django_db
def test_other_oai_errors_stop_the_harvest_with_the_code(fake_arxiv, make_client):
    with pytest.raises(OaiError, match="badArgument") as caught:
        harvest(make_client(), fake_arxiv, set_spec="a:b:c:d")
    assert HarvestState.objects.get().last_error == str(caught.value)
    assert Paper.objects.count() == 0


def test_fake_arxiv_raw_pages_parse_to_the_snapshot_records(start_fake, make_items, make_client):
    items = make_items(12)
    fake = start_fake(items, page_size=100)
    response = make_client().get(fake.oai_url, params={"verb": "ListRecords", "metadataPrefix": "arXivRaw"})
    page = parse_list_records(response.content, source=fake.oai_url)
    expected = sorted(
        (parse_snapshot_line(json.dumps(item), "x") for item in items),
        key=lambda record: (record.datestamp, record.arxiv_id),
    )
    assert page.records == expected
