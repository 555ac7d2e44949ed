"""The arXiv API (Atom): entries parsed to literal records, fetches by id and by query against the fake."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from broadsheet.ingest.arxiv_api import ApiRecords, fetch_by_ids, fetch_by_query, parse_feed
from broadsheet.ingest.http import UpstreamError
from broadsheet.ingest.records import IngestError, PaperRecord, VersionRecord

SOURCE = "http://export.arxiv.org/api/query?id_list=2401.00001,hep-th/9901001"
ENGINE_V1 = datetime(2023, 12, 29, 18, 0, tzinfo=UTC)
ENGINE_V2 = datetime(2024, 1, 5, 9, 30, 12, tzinfo=UTC)
STRINGS_V1 = datetime(1999, 1, 4, 10, 0, tzinfo=UTC)


def test_feed_entries_parse_into_literal_records(read_fixture):
    feed = parse_feed(read_fixture("api_feed.xml"), source=SOURCE)
    assert list(feed) == [
        PaperRecord(
            arxiv_id="2401.00001",
            version=2,
            title="Notes on the Analytical Engine: a Retrospective",
            abstract="We revisit the Analytical Engine and its notes & tables <in full>.",
            authors=["Ada Lovelace", "Charles Babbage", "Mary Somerville"],
            categories=["cs.CL", "cs.LG"],  # the ACM class I.2.7 is not an arXiv category
            comments="12 pages, 3 figures; v2: typos fixed",
            doi="10.1000/example.2024.001",
            versions=[VersionRecord(1, ENGINE_V1), VersionRecord(2, ENGINE_V2)],
            submitted_at=ENGINE_V1,
            updated_at=ENGINE_V2,
            announced_on=date(2024, 1, 1),
            datestamp=date(2024, 1, 5),
        ),
        PaperRecord(
            arxiv_id="hep-th/9901001",
            version=1,
            title="Strings at Low Energy",
            abstract="A short abstract.",
            authors=["J. Smith", "A. N. Other"],
            categories=["hep-th"],
            journal_ref="Phys.Lett. B450 (1999) 1-10",
            versions=[VersionRecord(1, STRINGS_V1)],
            submitted_at=STRINGS_V1,
            updated_at=STRINGS_V1,
            announced_on=date(1999, 1, 5),
            datestamp=date(1999, 1, 4),
        ),
    ]
    assert (feed.not_found, feed.total_results) == ([], 2)


def test_error_entries_are_reported_as_not_found(read_fixture):
    feed = parse_feed(read_fixture("api_unknown_id.xml"), source=SOURCE)
    assert (list(feed), feed.not_found) == ([], ["2401.99999", "1234.5"])


@pytest.mark.parametrize("fixture", ["billion_laughs.xml", "malformed.xml", "oai_no_records_match.xml"])
def test_what_is_not_an_atom_feed_is_rejected_naming_the_source(read_fixture, fixture):
    with pytest.raises(
        IngestError,
        match=r"^http://export\.arxiv\.org/api/query\?id_list=2401\.00001,hep-th/"
        r"9901001: (malformed XML at line|forbidden XML construct|not an Atom)",
    ):
        parse_feed(read_fixture(fixture), source=SOURCE)


def test_fetch_by_ids_returns_records_and_the_ids_not_found(fake_arxiv, make_client):
    found = fetch_by_ids(
        make_client(),
        ["arXiv:2401.00001v1", "hep-th/9901001", "2401.99999", "not-an-id", "2401.00001"],
        base_url=fake_arxiv.api_url,
    )
    assert isinstance(found, ApiRecords)
    assert [(record.arxiv_id, record.version) for record in found] == [
        ("2401.00001", 2),
        ("hep-th/9901001", 1),
    ]
    assert found.not_found == ["not-an-id", "2401.99999"]
    engine = found[0]
    assert (engine.versions, engine.datestamp, engine.announced_on) == (
        [VersionRecord(1, ENGINE_V1), VersionRecord(2, ENGINE_V2)],
        date(2024, 1, 5),
        date(2024, 1, 1),
    )
    assert [request.params["id_list"] for request in fake_arxiv.requests] == [
        "2401.00001,hep-th/9901001,2401.99999"
    ]


def test_fetch_by_ids_asks_at_most_a_hundred_ids_per_request(fake_arxiv, make_client):
    unknown = [f"2402.{number:05d}" for number in range(150)]
    found = fetch_by_ids(make_client(), ["2401.00004", *unknown], base_url=fake_arxiv.api_url)
    assert [record.arxiv_id for record in found] == ["2401.00004"]
    assert found.not_found == unknown
    assert [len(request.params["id_list"].split(",")) for request in fake_arxiv.requests] == [100, 51]


def test_fetch_by_query_pages_with_start_and_max_results(start_fake, make_items, make_client):
    fake = start_fake(make_items(30))
    found = fetch_by_query(
        make_client(), "ti:language AND cat:cs.LG", base_url=fake.api_url, max_results=7, page_size=3
    )
    expected = [item["id"] for item in make_items(30) if "cs.LG" in item["categories"]]
    assert [record.arxiv_id for record in found] == expected[:7]
    assert found.total_results == len(expected) == 12
    assert [(request.params["start"], request.params["max_results"]) for request in fake.requests] == [
        ("0", "3"),
        ("3", "3"),
        ("6", "1"),
    ]


def test_fetch_by_query_stops_at_the_last_result(fake_arxiv, make_client):
    found = fetch_by_query(
        make_client(), "all:retrieval", base_url=fake_arxiv.api_url, max_results=50, page_size=1
    )
    assert [record.arxiv_id for record in found] == ["2401.00011"]
    assert len(fake_arxiv.requests) == 1


def test_empty_feed_with_results_due_is_retried(fake_arxiv, make_client, fake_clock):
    fake_arxiv.set_fault("empty_page", count=2)
    found = fetch_by_ids(make_client(backoff_seconds=1.0), ["2401.00014"], base_url=fake_arxiv.api_url)
    assert [record.title for record in found] == ["Ideals in Rings of Curves"]
    assert fake_clock.sleeps == [1.0, 2.0]


def test_endless_empty_feeds_end_in_upstream_error(fake_arxiv, make_client):
    fake_arxiv.set_fault("empty_page", count=100)
    with pytest.raises(
        UpstreamError, match=r"empty feed although 1 results are due; gave up after 4 attempts"
    ):
        fetch_by_ids(make_client(max_retries=3), ["2401.00014"], base_url=fake_arxiv.api_url)
