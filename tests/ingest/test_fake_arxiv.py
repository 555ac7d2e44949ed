"""The fake arXiv speaks OAI-PMH and the Atom API like arXiv does, and its faults switch on and off."""

from __future__ import annotations

import gzip
import signal
import subprocess
from datetime import date

import httpx
import pytest
from defusedxml.ElementTree import fromstring

from broadsheet.ingest.arxiv_api import fetch_by_ids, fetch_by_query
from broadsheet.ingest.fake_arxiv import Fault, parse_fault_spec
from broadsheet.ingest.oai import OaiError, parse_list_records

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def list_all(client, fake, **params):
    """(records, requests made) of a whole ListRecords list, following resumption tokens."""
    query = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", **params}
    records, number = [], 0
    while True:
        number += 1
        response = client.get(fake.oai_url, params=query)
        page = parse_list_records(response.content, source=fake.oai_url, page_number=number)
        records += page.records
        if not page.resumption_token:
            return records, number
        query = {"verb": "ListRecords", "resumptionToken": page.resumption_token}


def oai_error_code(client, fake, **params):
    root = fromstring(client.get(fake.oai_url, params=params).content)
    return root.find(OAI + "error").get("code")


@pytest.mark.parametrize(
    ("set_spec", "ids"),
    [
        ("cs", ["2401.00011", "2401.00012", "2401.00013", "2401.00015", "2401.00001", "2401.00004"]),
        ("physics", ["2401.00010", "2401.00013", "hep-th/9901001"]),
        ("physics:astro-ph", ["2401.00010"]),
        ("physics:hep-th", ["hep-th/9901001"]),
        ("cs:cs:CL", ["2401.00011", "2401.00001"]),
        ("math", ["2401.00014", "2401.00004"]),
        ("stat", ["2401.00012"]),
    ],
)
def test_sets_select_papers_by_category_archive(fake_arxiv, make_client, set_spec, ids):
    records, _ = list_all(make_client(), fake_arxiv, set=set_spec)
    assert [record.arxiv_id for record in records] == ids


def test_from_and_until_select_by_update_date_inclusive(fake_arxiv, make_client):
    records, requests = list_all(make_client(), fake_arxiv, **{"from": "2024-01-03", "until": "2024-01-05"})
    assert [(record.arxiv_id, record.datestamp) for record in records] == [
        ("2401.00011", date(2024, 1, 3)),
        ("2401.00012", date(2024, 1, 3)),
        ("2401.00013", date(2024, 1, 4)),
        ("2401.00014", date(2024, 1, 5)),
        ("2401.00016", date(2024, 1, 5)),
    ]
    assert requests == 2  # pages of 3


def test_a_paper_without_update_date_is_listed_on_its_latest_version_day(fake_arxiv, make_client):
    records, _ = list_all(make_client(), fake_arxiv, set="cs:cs:CV")
    assert [(record.arxiv_id, record.datestamp) for record in records] == [("2401.00015", date(2024, 1, 6))]


def test_both_formats_list_the_same_papers(fake_arxiv, make_client):
    raw, _ = list_all(make_client(), fake_arxiv)
    plain, _ = list_all(make_client(), fake_arxiv, metadataPrefix="arXiv")
    assert [(r.arxiv_id, r.title, r.categories, r.version) for r in raw] == [
        (r.arxiv_id, r.title, r.categories, r.version) for r in plain
    ]


def test_deleted_ids_are_served_as_deleted_headers(start_fake, snapshot_fixture, make_client):
    fake = start_fake(snapshot_fixture, page_size=50, deleted=["2401.00014", "2312.99999@2024-01-07"])
    records, _ = list_all(make_client(), fake, set="math")
    assert [(r.arxiv_id, r.deleted, r.datestamp) for r in records] == [
        ("2401.00014", True, date(2024, 1, 5)),
        ("2312.99999", True, date(2024, 1, 7)),  # an id the file never had is in every set
        ("2401.00004", False, date(2024, 1, 9)),
    ]


def test_gzipped_snapshots_serve_the_same_records(
    tmp_path, snapshot_fixture, start_fake, fake_arxiv, make_client
):
    packed = tmp_path / "snapshot.jsonl.gz"
    packed.write_bytes(gzip.compress(snapshot_fixture.read_bytes()))
    assert (
        list_all(make_client(), start_fake(packed, page_size=3))[0] == list_all(make_client(), fake_arxiv)[0]
    )


def test_identify_describes_the_repository(fake_arxiv, make_client):
    root = fromstring(make_client().get(fake_arxiv.oai_url, params={"verb": "Identify"}).content)
    identify = root.find(OAI + "Identify")
    assert {child.tag.removeprefix(OAI): child.text for child in identify} == {
        "repositoryName": "arXiv (fake)",
        "baseURL": fake_arxiv.oai_url,
        "protocolVersion": "2.0",
        "adminEmail": "nobody@localhost",
        "earliestDatestamp": "2024-01-02",
        "deletedRecord": "persistent",
        "granularity": "YYYY-MM-DD",
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "yesterday"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "arXiv", "resumptionToken": "abc"}, "badArgument"),
        ({"verb": "ListRecords", "resumptionToken": "not a token"}, "badResumptionToken"),
        ({"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2031-01-01"}, "noRecordsMatch"),
        ({"verb": "ListSomething"}, "badVerb"),
    ],
)
def test_bad_requests_get_oai_errors(fake_arxiv, make_client, params, code):
    assert oai_error_code(make_client(), fake_arxiv, **params) == code


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("au:Noether", ["2401.00014"]),
        ('ti:"rotation curves"', ["2401.00010"]),
        ("cat:astro-ph", ["2401.00010"]),
        ("cat:cs.CL AND all:retrieval", ["2401.00011"]),
        ("all:language ANDNOT cat:cs.IR", ["2401.00012"]),
        ("au:Shor OR au:Rubin", ["2401.00010", "2401.00013"]),
        ("all:nothing-matches-this", []),
    ],
)
def test_api_search_query_subset(fake_arxiv, make_client, query, ids):
    found = fetch_by_query(make_client(), query, base_url=fake_arxiv.api_url, max_results=20)
    assert [record.arxiv_id for record in found] == ids


def test_api_serves_an_asked_for_version(fake_arxiv, make_client):
    response = make_client().get(fake_arxiv.api_url, params={"id_list": "2401.00001v1"})
    entry_id = fromstring(response.content).find(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id"
    )
    assert entry_id.text == "http://arxiv.org/abs/2401.00001v1"
    [record] = fetch_by_ids(make_client(), ["2401.00001"], base_url=fake_arxiv.api_url)
    assert record.version == 2


def test_control_endpoint_sets_lists_and_clears_faults(fake_arxiv):
    with httpx.Client(base_url=fake_arxiv.url) as http:
        created = http.post("/_fault", json={"kind": "503", "count": 2, "retry_after": 9})
        assert created.status_code == 201
        assert [fault["kind"] for fault in http.get("/_fault").json()] == ["status"]
        first = http.get("/oai", params={"verb": "Identify"})
        assert (first.status_code, first.headers["Retry-After"]) == (503, "9")
        assert http.delete("/_fault").status_code == 204
        assert http.get("/oai", params={"verb": "Identify"}).status_code == 200
        assert http.post("/_fault", json={"kind": "meteor"}).status_code == 400
        assert [entry["status"] for entry in http.get("/_log").json()] == [503, 200]


def test_bad_token_fault_hits_only_resumed_requests(fake_arxiv, make_client):
    fake_arxiv.set_fault("bad_token")
    with pytest.raises(OaiError, match="badResumptionToken"):
        list_all(make_client(), fake_arxiv)
    assert [request.fault for request in fake_arxiv.requests] == ["", "bad_token"]


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("503:count=2,retry_after=5", Fault(kind="status", status=503, count=2, retry_after="5")),
        ("truncated:after=3", Fault(kind="truncated", after=3)),
        ("stall:seconds=1.5,path=oai", Fault(kind="stall", seconds=1.5, path="oai")),
        ("drop", Fault(kind="drop")),
    ],
)
def test_fault_specs_parse(spec, fault):
    assert parse_fault_spec(spec) == fault


@pytest.mark.parametrize("spec", ["meteor", "503:count", "503:colour=red"])
def test_bad_fault_specs_are_refused(spec):
    with pytest.raises((ValueError, TypeError)):
        parse_fault_spec(spec)


def test_fake_arxiv_command_prints_the_settings_and_serves(child_process, snapshot_fixture):
    command = [
        *child_process["command"],
        "fake_arxiv",
        str(snapshot_fixture),
        "--page-size",
        "2",
        "--fault",
        "503:count=1,retry_after=0",
        "--deleted",
        "2401.00014",
    ]
    child = subprocess.Popen(
        command, env=child_process["env"](), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        line = child.stdout.readline().strip()
        oai_part, api_part = line.split(" ")
        assert oai_part.startswith("BROADSHEET_ARXIV_OAI_URL=http://127.0.0.1:") and oai_part.endswith("/oai")
        assert (
            api_part
            == "BROADSHEET_ARXIV_API_URL=" + oai_part.split("=", 1)[1].removesuffix("/oai") + "/api/query"
        )
        oai_url = oai_part.split("=", 1)[1]
        params = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "math"}
        assert httpx.get(oai_url, params=params).status_code == 503
        page = parse_list_records(httpx.get(oai_url, params=params).content, source=oai_url)
        assert [(record.arxiv_id, record.deleted) for record in page.records] == [
            ("2401.00014", True),
            ("2401.00004", False),
        ]
    finally:
        child.send_signal(signal.SIGTERM)
        _, errors = child.communicate(timeout=10)
    assert child.returncode == 0
    assert "indexed 10 records" in errors
