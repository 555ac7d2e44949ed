"""Hugging Face daily papers: responses parse into literal items, saved folders and the live API (a fake
on 127.0.0.1) load into papers, observations, infos and star samples, order-independently; malformed
responses name their file or URL and item and commit nothing."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from broadsheet.ingest.http import PoliteClient, UpstreamError
from broadsheet.ingest.records import IngestError, PaperRecord
from broadsheet.trending.fake_upstreams import FakeHfDaily
from broadsheet.trending.hf_daily import (
    HfItem,
    estimate_dates,
    fetch_daily_papers,
    import_daily_pages,
    import_saved_responses,
    listing_day,
    parse_daily_papers,
    saved_observed_at,
)

from .conftest import FIXTURES, HF_DAILY, arxiv_record, client_options

NOW = datetime(2026, 8, 22, 6, 0, tzinfo=UTC)
END_OF_20 = datetime(2026, 8, 21, 0, 0, tzinfo=UTC)
END_OF_21 = datetime(2026, 8, 22, 0, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_saved_response_items_parse_into_literal_items():
    body = (HF_DAILY / "2026-08-21.json.gz").read_bytes()
    items = parse_daily_papers(body, source="2026-08-21.json.gz", daily_on=date(2026, 8, 21))
    assert items == [
        HfItem(
            record=PaperRecord(
                arxiv_id="2608.10001",
                title="Tiny Engines: Learning to Compute with Cards",
                abstract="We teach a mechanical engine to compute tables from punched cards.",
                authors=["Ada Lovelace", "Grace Hopper"],
                announced_on=date(2026, 8, 20),  # a bare publishedAt date: listed the next weekday
            ),
            upvotes=30,
            num_comments=5,
            github_url="https://github.com/Analytical-Engine/Tiny-Engines",
            github_full_name="analytical-engine/tiny-engines",
            github_stars=55,
            project_page="https://tiny-engines.example.org/",
            ai_summary="A card-driven engine computes tables.",
            ai_keywords=["punched cards", "difference engine"],
            organization="Engine Works",
            submitted_by="cbabbage",
            submitted_on_daily_at=utc(2026, 8, 20),
        ),
        HfItem(
            record=PaperRecord(
                arxiv_id="2607.20003",
                title="Computable Numbers, Revisited",
                abstract="A second look at computable numbers.",
                authors=["Alan Turing"],  # the hidden author without a name is left out
                # submitted Thursday 15:34 Eastern, after the cutoff: announced Friday, listed Monday
                submitted_at=utc(2026, 7, 30, 19, 34, 15),
                announced_on=date(2026, 8, 3),
            ),
            upvotes=7,
            num_comments=1,
            submitted_on_daily_at=utc(2026, 8, 21),  # older responses have no submittedOnDailyAt
        ),
        HfItem(
            record=PaperRecord(
                arxiv_id="2502.30004",
                title="Invariants of an Old Paper",
                abstract="Featured again long after its announcement.",
                authors=["Emmy Noether"],
                announced_on=None,  # a February 2025 id on an August 2026 page: no estimate
            ),
            upvotes=4,
            num_comments=0,
            github_url="https://github.com/orgs/noether",  # an organisation page, not a repository
            github_stars=9,
            submitted_on_daily_at=utc(2026, 8, 21),
        ),
    ]


@pytest.mark.parametrize(
    ("arxiv_id", "published_at", "daily_on", "expected"),
    [
        # a full timestamp in the id's month: arXiv's listing day after the 14:00 Eastern cutoff
        (
            "2405.15738",
            utc(2024, 5, 24, 17, 34),
            date(2024, 5, 27),
            (date(2024, 5, 27), utc(2024, 5, 24, 17, 34)),
        ),
        # ... but never after the daily page that showed the paper
        (
            "2405.15738",
            utc(2024, 5, 24, 17, 34),
            date(2024, 5, 25),
            (date(2024, 5, 25), utc(2024, 5, 24, 17, 34)),
        ),
        # submitted on the last day of a month, numbered in the next
        (
            "2604.00001",
            utc(2026, 3, 31, 12, 0),
            date(2026, 4, 2),
            (date(2026, 4, 1), utc(2026, 3, 31, 12, 0)),
        ),
        # a bare date (April 2026 on): the submission day, listed the next weekday at the earliest
        ("2608.10001", utc(2026, 8, 21), date(2026, 8, 24), (date(2026, 8, 24), None)),
        # a bare date that contradicts the id: the daily page's date, as it lies in the id's month
        ("2604.06182", utc(2026, 2, 6), date(2026, 4, 9), (date(2026, 4, 9), None)),
        # or in the month after
        ("2603.99999", utc(2025, 1, 1), date(2026, 4, 1), (date(2026, 4, 1), None)),
        # an old paper on a recent page: no estimate at all
        ("2502.07408", utc(2026, 4, 16), date(2026, 4, 20), (None, None)),
        ("2502.07408", None, date(2026, 4, 20), (None, None)),
        # old-style ids carry no month: a full timestamp is believed
        (
            "hep-th/9901001",
            utc(1999, 1, 4, 10, 0),
            date(2026, 4, 20),
            (date(1999, 1, 5), utc(1999, 1, 4, 10, 0)),
        ),
    ],
)
def test_announcement_is_estimated_from_published_at_or_the_daily_date(
    arxiv_id, published_at, daily_on, expected
):
    assert estimate_dates(arxiv_id, published_at, daily_on) == expected


@pytest.mark.parametrize(
    ("submitted_at", "listed_on"),
    [
        (utc(2026, 8, 17, 17, 59), date(2026, 8, 18)),  # Monday 13:59 EDT: announced Monday evening
        (utc(2026, 8, 17, 18, 0), date(2026, 8, 19)),  # Monday 14:00 EDT: waits a day
        (utc(2026, 8, 21, 19, 0), date(2026, 8, 25)),  # Friday after the cutoff: Monday's announcement
        (utc(2026, 8, 22, 12, 0), date(2026, 8, 25)),  # Saturday
        (utc(2026, 1, 12, 18, 30), date(2026, 1, 13)),  # Monday 13:30 EST (UTC-5 in winter)
    ],
)
def test_listing_day_follows_the_arxiv_cutoff(submitted_at, listed_on):
    assert listing_day(submitted_at) == listed_on


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"paper": {}}', "expected a JSON list of daily papers, got dict"),
        (b"[1]", "item 0: expected a JSON object, got int"),
        (b'[{"title": "x"}]', "item 0: no `paper` object"),
        (b'[{"paper": {"title": "x"}}]', "item 0: paper.id is missing"),
        (b'[{"paper": {"id": "abc", "title": "x"}}]', "item 0: paper.id: not an arXiv identifier: 'abc'"),
        (b'[{"paper": {"id": "2608.00001", "title": " "}}]', "item 0: paper 2608.00001 has no title"),
        (
            b'[{"paper": {"id": "2608.00001", "title": "x", "authors": "A, B"}}]',
            "item 0: paper.authors is not a list",
        ),
        (
            b'[{"paper": {"id": "2608.00001", "title": "x", "upvotes": "5"}}]',
            "item 0: paper.upvotes is not a non-negative integer: '5'",
        ),
        (
            b'[{"paper": {"id": "2608.00001", "title": "x"}, "numComments": true}]',
            "item 0: numComments is not a non-negative integer: True",
        ),
        (
            b'[{"paper": {"id": "2608.00001", "title": "x", "publishedAt": "yesterday"}}]',
            "item 0: paper.publishedAt is not a date-time: 'yesterday'",
        ),
        (
            b'[{"paper": {"id": "2608.00001", "title": "x", "githubRepo": 7}}]',
            "item 0: paper.githubRepo is not a string: 7",
        ),
        (b"[", "malformed JSON at line 1 column 2: Expecting value"),
        (b'["\xff"]', "not UTF-8 text"),
        (b"\x1f\x8b\x08\x00garbage", "not a valid gzip file"),
    ],
)
def test_malformed_responses_name_the_source_and_item(body, problem):
    with pytest.raises(IngestError) as caught:
        parse_daily_papers(
            body, source="https://hf.example/api/daily_papers?date=2026-08-21", daily_on=date(2026, 8, 21)
        )
    assert str(caught.value).startswith(f"https://hf.example/api/daily_papers?date=2026-08-21: {problem}")


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("projectPage", "javascript:alert(1)", ""),
        ("projectPage", "https://ok.example/" + "x" * 600, ""),
        ("projectPage", "http://ok.example/page", "http://ok.example/page"),
        ("githubRepo", "https://gitlab.com/a/b", "https://gitlab.com/a/b"),
        ("githubRepo", "https://github.com/Org/Repo.git", "https://github.com/Org/Repo"),
        (
            "githubRepo",
            "https://github.com/Alibaba-NLP/DeepResearch///",
            "https://github.com/Alibaba-NLP/DeepResearch",
        ),
        ("githubRepo", "https://github.com/DFIR-Metric", "https://github.com/DFIR-Metric"),
    ],
)
def test_links_are_kept_only_as_web_urls(field, value, kept):
    body = json.dumps([{"paper": {"id": "2608.00001", "title": "x", field: value}}]).encode()
    item = parse_daily_papers(body, source="s", daily_on=date(2026, 8, 21))[0]
    assert (item.project_page if field == "projectPage" else item.github_url) == kept


def test_control_characters_are_dropped_from_text():
    body = json.dumps(
        [
            {
                "paper": {
                    "id": "2608.00001",
                    "title": "nul\u0000byte and \u001b[31mescape",
                    "authors": [{"name": "A\u0000B"}],
                }
            }
        ]
    ).encode()
    record = parse_daily_papers(body, source="s", daily_on=date(2026, 8, 21))[0].record
    assert (record.title, record.authors) == ("nulbyte and [31mescape", ["AB"])


def test_saved_response_counts_as_seen_at_the_end_of_its_day_or_now():
    assert saved_observed_at(date(2026, 8, 20), NOW) == END_OF_20
    assert saved_observed_at(date(2026, 8, 22), NOW) == NOW


# ---------------------------------------------------------------------------------------------
# storing


def table_rows():
    """Every row the import writes, as literal tuples."""
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import GitHubRepo, HfObservation, HfPaperInfo, StarSample

    return {
        "papers": list(
            Paper.objects.order_by("arxiv_id").values_list(
                "arxiv_id", "title", "abstract", "announced_on", "submitted_at", "primary_category_id"
            )
        ),
        "observations": list(
            HfObservation.objects.order_by("paper__arxiv_id", "daily_on").values_list(
                "paper__arxiv_id", "daily_on", "observed_at", "upvotes", "num_comments", "github_stars"
            )
        ),
        "infos": list(
            HfPaperInfo.objects.order_by("paper__arxiv_id").values_list(
                "paper__arxiv_id",
                "upvotes",
                "num_comments",
                "github_repo",
                "repo__full_name",
                "project_page",
                "organization",
                "submitted_by",
                "submitted_on_daily_at",
                "first_daily_on",
                "observed_at",
            )
        ),
        "repos": list(
            GitHubRepo.objects.values_list("full_name", "stars", "last_sampled_at", "checked_at", "missing")
        ),
        "samples": list(
            StarSample.objects.order_by("sampled_at").values_list("repo__full_name", "sampled_at", "stars")
        ),
    }


EXPECTED_ROWS = {
    "papers": [
        (
            "2502.30004",
            "Invariants of an Old Paper",
            "Featured again long after its announcement.",
            None,
            None,
            None,
        ),
        (
            "2607.20003",
            "Computable Numbers, Revisited",
            "A second look at computable numbers.",
            date(2026, 8, 3),
            utc(2026, 7, 30, 19, 34, 15),
            None,
        ),
        (
            "2608.10001",
            "Tiny Engines: Learning to Compute with Cards",
            "We teach a mechanical engine to compute tables from punched cards.",
            date(2026, 8, 20),
            None,
            None,
        ),
        (
            "2608.10002",
            "On the Connexion of the Physical Sciences (HF title)",
            "The abstract as Hugging Face shows it.",
            date(2026, 8, 20),
            None,
            None,
        ),
    ],
    "observations": [
        ("2502.30004", date(2026, 8, 21), END_OF_21, 4, 0, 9),
        ("2607.20003", date(2026, 8, 21), END_OF_21, 7, 1, None),
        ("2608.10001", date(2026, 8, 20), END_OF_20, 12, 2, 40),
        ("2608.10001", date(2026, 8, 21), END_OF_21, 30, 5, 55),
        ("2608.10002", date(2026, 8, 20), END_OF_20, 3, 0, None),
    ],
    "infos": [
        (
            "2502.30004",
            4,
            0,
            "https://github.com/orgs/noether",
            None,
            "",
            "",
            "",
            utc(2026, 8, 21),
            date(2026, 8, 21),
            END_OF_21,
        ),
        ("2607.20003", 7, 1, "", None, "", "", "", utc(2026, 8, 21), date(2026, 8, 21), END_OF_21),
        (
            "2608.10001",
            30,  # the latest observation wins
            5,
            "https://github.com/Analytical-Engine/Tiny-Engines",
            "analytical-engine/tiny-engines",
            "https://tiny-engines.example.org/",
            "Engine Works",
            "cbabbage",
            utc(2026, 8, 20),
            date(2026, 8, 20),  # the first daily page it was on
            END_OF_21,
        ),
        ("2608.10002", 3, 0, "", None, "", "", "msomerville", utc(2026, 8, 20), date(2026, 8, 20), END_OF_20),
    ],
    "repos": [("analytical-engine/tiny-engines", 55, END_OF_21, None, False)],
    "samples": [
        ("analytical-engine/tiny-engines", END_OF_20, 40),
        ("analytical-engine/tiny-engines", END_OF_21, 55),
    ],
}


@pytest.mark.django_db
def test_saved_folder_loads_papers_observations_infos_repos_and_star_samples():
    result = import_saved_responses(HF_DAILY, now=NOW)
    assert (result.responses, result.items, result.observations, result.star_samples) == (2, 5, 5, 2)
    assert (result.papers.created, result.papers.updated, result.papers.unchanged) == (4, 0, 1)
    assert table_rows() == EXPECTED_ROWS


def split_folder(tmp_path: Path) -> list[Path]:
    folders = []
    for path in sorted(HF_DAILY.iterdir()):
        folder = tmp_path / path.name.split(".")[0]
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        folders.append(folder)
    return folders


@pytest.mark.django_db
def test_import_order_does_not_change_the_rows(tmp_path):
    """The newer page first, then the older one: the same rows as the other way round."""
    for folder in reversed(split_folder(tmp_path)):
        import_saved_responses(folder, now=NOW)
    assert table_rows() == EXPECTED_ROWS


@pytest.mark.django_db
def test_reimport_writes_nothing_new():
    import_saved_responses(HF_DAILY, now=NOW)
    again = import_saved_responses(HF_DAILY, now=NOW)
    assert (again.papers.created, again.papers.updated, again.papers.unchanged) == (0, 0, 5)
    assert table_rows() == EXPECTED_ROWS


@pytest.mark.django_db
@pytest.mark.parametrize("arxiv_first", [True, False])
def test_arxiv_metadata_wins_the_content_and_keeps_its_categories(arxiv_first, add_papers):
    arxiv = arxiv_record(
        "2608.10002", title="On the Connexion of the Physical Sciences", announced_on=date(2026, 8, 21)
    )
    if arxiv_first:
        add_papers(arxiv)
    import_saved_responses(HF_DAILY, now=NOW)
    if not arxiv_first:
        add_papers(arxiv)
    from broadsheet.papers.models import Paper

    assert Paper.objects.filter(arxiv_id="2608.10002").values_list(
        "title", "abstract", "primary_category_id", "announced_on"
    ).get() == (
        "On the Connexion of the Physical Sciences",
        "arXiv abstract of 2608.10002.",
        "cs.LG",
        date(2026, 8, 20),  # the earliest estimate: Hugging Face's
    )


@pytest.mark.django_db
def test_malformed_file_names_itself_and_commits_nothing_from_it():
    from broadsheet.papers.models import Paper

    with pytest.raises(IngestError) as caught:
        import_saved_responses(FIXTURES / "hf_bad_json", now=NOW)
    bad_file = FIXTURES / "hf_bad_json" / "2026-08-22.json"
    assert (
        str(caught.value)
        == f"{bad_file}: malformed JSON at line 3 column 22: Unterminated string starting at"
    )
    # the good file before it is in, nothing of the bad one
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2608.10001", "2608.10002"]


@pytest.mark.django_db
def test_malformed_item_names_file_and_index_and_commits_nothing_from_the_file():
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import HfObservation

    with pytest.raises(IngestError) as caught:
        import_saved_responses(FIXTURES / "hf_bad_item", now=NOW)
    bad_file = FIXTURES / "hf_bad_item" / "2026-08-22.json"
    assert str(caught.value) == f"{bad_file}: item 1: paper.upvotes is not a non-negative integer: -3"
    assert (Paper.objects.count(), HfObservation.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_skip_invalid_reports_the_bad_file_and_goes_on():
    reported: list[str] = []
    result = import_saved_responses(
        FIXTURES / "hf_bad_json", now=NOW, skip_invalid=True, on_invalid=reported.append
    )
    assert (result.responses, result.items, len(result.skipped)) == (1, 2, 1)
    assert reported == result.skipped
    assert reported[0].startswith(f"{FIXTURES / 'hf_bad_json' / '2026-08-22.json'}: malformed JSON at line ")


@pytest.mark.django_db
def test_folder_without_saved_responses_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a response")
    with pytest.raises(IngestError, match="no YYYY-MM-DD.json or YYYY-MM-DD.json.gz files"):
        import_saved_responses(tmp_path, now=NOW)


@pytest.mark.django_db
def test_with_a_category_filter_hf_only_adds_signals_to_papers_already_kept(add_papers):
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import HfObservation

    add_papers(arxiv_record("2608.10002", categories=["cs.CL"]))
    result = import_saved_responses(HF_DAILY, now=NOW, keep_categories=frozenset({"cs.CL"}))
    assert (result.papers.created, result.papers.skipped) == (0, 4)
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2608.10002"]
    assert list(HfObservation.objects.values_list("paper__arxiv_id", "upvotes")) == [("2608.10002", 3)]


# ---------------------------------------------------------------------------------------------
# the live API


def synthetic_page(count: int) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": f"2608.{20000 + number}",
                    "authors": [{"_id": str(number), "name": f"Author {number}", "hidden": False}],
                    "publishedAt": "2026-08-20T00:00:00.000Z",
                    "submittedOnDailyAt": "2026-08-21T00:00:00.000Z",
                    "title": f"Paper {number}",
                    "summary": "Text.",
                    "upvotes": number,
                },
                "numComments": 0,
            }
            for number in range(count)
        ]
    ).encode()


@pytest.fixture
def fake_hf(start_server):
    responses = {date(2026, 8, 21): synthetic_page(150)}
    responses.update({date(2026, 8, 20): (HF_DAILY / "2026-08-20.json").read_bytes()})
    return start_server(FakeHfDaily(responses))


def test_fetch_pages_through_a_long_daily_page(fake_hf, fake_clock):
    with PoliteClient(**client_options(fake_clock)) as client:
        items = fetch_daily_papers(client, date(2026, 8, 21), base_url=fake_hf.url)
    assert [item.record.arxiv_id for item in items] == [f"2608.{20000 + n}" for n in range(150)]
    assert [request.params for request in fake_hf.requests] == [
        {"date": "2026-08-21", "limit": "100", "p": "0"},
        {"date": "2026-08-21", "limit": "100", "p": "1"},
    ]
    assert fake_hf.requests[0].headers["user-agent"].startswith("Broadsheet/")


def test_a_day_without_papers_is_an_empty_list(fake_hf, fake_clock):
    with PoliteClient(**client_options(fake_clock)) as client:
        assert fetch_daily_papers(client, date(2026, 8, 22), base_url=fake_hf.url) == []


def test_fetch_waits_out_a_503_with_retry_after(fake_hf, fake_clock):
    fake_hf.add_fault(status=503, retry_after="7")
    with PoliteClient(**client_options(fake_clock)) as client:
        items = fetch_daily_papers(client, date(2026, 8, 20), base_url=fake_hf.url)
    assert [item.record.arxiv_id for item in items] == ["2608.10001", "2608.10002"]
    assert fake_clock.sleeps == [7.0]
    assert [request.status for request in fake_hf.requests] == [503, 200]


def test_fetch_gives_up_after_its_retries(fake_hf, fake_clock):
    fake_hf.add_fault(status=503, count=10)
    with (
        PoliteClient(**client_options(fake_clock)) as client,
        pytest.raises(UpstreamError, match="HTTP 503; gave up"),
    ):
        fetch_daily_papers(client, date(2026, 8, 20), base_url=fake_hf.url)


@pytest.mark.django_db
def test_malformed_json_from_the_api_names_the_url_and_commits_nothing(fake_hf, fake_clock):
    from broadsheet.papers.models import Paper

    fake_hf.add_fault(status=200, body='[{"paper": {"id": "2608.1', match="date=2026-08-21")
    with PoliteClient(**client_options(fake_clock)) as client, pytest.raises(IngestError) as caught:
        import_daily_pages(client, [date(2026, 8, 20), date(2026, 8, 21)], base_url=fake_hf.url, now=NOW)
    assert str(caught.value).startswith(
        f"{fake_hf.url}/api/daily_papers?date=2026-08-21&limit=100&p=0: malformed JSON at line 1 column "
    )
    # the day before was committed in its own transaction; nothing from the bad answer
    assert Paper.objects.count() == 2


@pytest.mark.django_db
def test_live_pages_are_observed_at_now(fake_hf, fake_clock):
    from broadsheet.trending.models import HfObservation

    with PoliteClient(**client_options(fake_clock)) as client:
        result = import_daily_pages(client, [date(2026, 8, 20)], base_url=fake_hf.url, now=NOW)
    assert (result.responses, result.observations) == (1, 2)
    assert list(
        HfObservation.objects.order_by("upvotes").values_list("daily_on", "observed_at", "upvotes")
    ) == [
        (date(2026, 8, 20), NOW, 3),
        (date(2026, 8, 20), NOW, 12),
    ]


def test_saved_gzip_and_plain_files_are_served_alike(start_server, fake_clock):
    fake = start_server(FakeHfDaily.from_folder(HF_DAILY))
    with PoliteClient(**client_options(fake_clock)) as client:
        plain = fetch_daily_papers(client, date(2026, 8, 20), base_url=fake.url)
        zipped = fetch_daily_papers(client, date(2026, 8, 21), base_url=fake.url)
    expected = parse_daily_papers(
        gzip.decompress((HF_DAILY / "2026-08-21.json.gz").read_bytes()),
        source="s",
        daily_on=date(2026, 8, 21),
    )
    assert (len(plain), zipped) == (2, expected)
