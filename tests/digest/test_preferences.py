"""The preferences page behind a signed link: every preference saved as typed, everything typed validated
against the database or the time zone list, nothing saved when any field is wrong, CSRF on POST."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client

from broadsheet.digest.models import Subscriber
from broadsheet.digest.tokens import make_token, revoke_tokens
from broadsheet.ingest.records import PaperRecord, VersionRecord
from broadsheet.ingest.upsert import upsert_papers
from broadsheet.papers.models import Author

BASE_URL = "https://papers.example.org"
SUBMITTED_AT = datetime(2026, 2, 26, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def record(arxiv_id: str, authors: list[str], categories: list[str]) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=f"Paper {arxiv_id}",
        abstract="We study things.",
        authors=authors,
        categories=categories,
        versions=[VersionRecord(1, SUBMITTED_AT, "100kb")],
        submitted_at=SUBMITTED_AT,
        updated_at=SUBMITTED_AT,
        announced_on=date(2026, 2, 27),
        datestamp=date(2026, 2, 27),
    )


@pytest.fixture
def corpus(db: None) -> dict[str, int]:
    """Three papers; two different people are both called "J. Smith" (a name that must be disambiguated)."""
    upsert_papers(
        [
            record("2602.00001", ["Ada Lovelace", "J. Smith"], ["cs.LG", "stat.ML"]),
            record("2602.00002", ["Grace Hopper"], ["cs.CL"]),
            record("2602.00003", ["Émilie du Châtelet"], ["physics.class-ph"]),
        ],
        now=SUBMITTED_AT,
    )
    return {author.name: author.pk for author in Author.objects.all()}


@pytest.fixture
def subscriber(make_subscriber: Callable[..., Any], settings: Any, corpus: dict[str, int]) -> Any:
    settings.BASE_URL = BASE_URL
    return make_subscriber("reader@example.org")


@pytest.fixture
def page_path(subscriber: Any) -> str:
    return f"/digest/preferences/{make_token(subscriber, 'preferences')}/"


VALID = {
    "frequency": "weekly",
    "weekly_day": "4",
    "delivery_hour": "18",
    "time_zone": "Europe/Paris",
    "size": "25",
    "include_trending": "on",
    "trending_categories": "cs.LG cs.cl",
    "categories": "stat.ML, cs.CL",
    "include_keywords": "diffusion\nlarge language models, RLHF",
    "exclude_keywords": "survey",
    "followed_authors": "Grace Hopper\nÉmilie du Châtelet",
    "seed_papers": "arXiv:2602.00001v1 2602.00002",
    "skip_when_empty": "on",
}

SAVED_FIELDS = ["frequency", "weekly_day", "delivery_hour", "time_zone", "size", "include_trending",
                "trending_categories", "categories", "include_keywords", "exclude_keywords",
                "followed_authors", "seed_papers", "seeds_from_collections", "skip_when_empty"]


def saved(subscriber: Any) -> dict[str, Any]:
    subscriber.refresh_from_db()
    return {name: getattr(subscriber, name) for name in SAVED_FIELDS}


def test_preferences_page_shows_the_current_preferences(client: Client, page_path: str, subscriber: Any,
                                                        corpus: dict[str, int]) -> None:
    subscriber.categories = ["cs.CL"]
    subscriber.followed_authors = [corpus["Grace Hopper"]]
    subscriber.save()
    response = client.get(page_path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "reader@example.org" in page
    assert 'name="time_zone" value="UTC"' in page
    assert 'name="categories" value="cs.CL"' in page
    assert f"Grace Hopper [{corpus['Grace Hopper']}]</textarea>" in page
    assert '<option value="Europe/Paris">' in page  # time zone suggestions
    assert f'href="{BASE_URL}/digest/unsubscribe/' in page


def test_saving_stores_every_preference(client: Client, page_path: str, subscriber: Any,
                                        corpus: dict[str, int]) -> None:
    response = client.post(page_path, VALID)
    assert response.status_code == 303
    assert response["Location"] == page_path + "?saved=1"
    assert saved(subscriber) == {
        "frequency": "weekly",
        "weekly_day": 4,
        "delivery_hour": 18,
        "time_zone": "Europe/Paris",
        "size": 25,
        "include_trending": True,
        "trending_categories": ["cs.LG", "cs.CL"],
        "categories": ["stat.ML", "cs.CL"],
        "include_keywords": ["diffusion", "large language models", "RLHF"],
        "exclude_keywords": ["survey"],
        "followed_authors": [corpus["Grace Hopper"], corpus["Émilie du Châtelet"]],
        "seed_papers": ["2602.00001", "2602.00002"],
        "seeds_from_collections": False,
        "skip_when_empty": True,
    }
    assert "Preferences saved." in client.get(response["Location"]).content.decode()


def test_authors_are_followed_by_name_by_listed_line_or_by_id(client: Client, page_path: str, subscriber: Any,
                                                              corpus: dict[str, int]) -> None:
    smith, hopper, ada = corpus["J. Smith"], corpus["Grace Hopper"], corpus["Ada Lovelace"]
    lines = f"j smith\nGrace Hopper [{hopper}]\n{ada}\nADA LOVELACE"
    assert client.post(page_path, {**VALID, "followed_authors": lines}).status_code == 303
    assert saved(subscriber)["followed_authors"] == [smith, hopper, ada]


def test_author_search_lists_names_with_ids(client: Client, page_path: str, corpus: dict[str, int]) -> None:
    page = client.get(page_path, {"author": "hopper"}).content.decode()
    assert f"<code>Grace Hopper [{corpus['Grace Hopper']}]</code>" in page
    assert "Ada Lovelace [" not in page
    assert "No author matches" in client.get(page_path, {"author": "nobody at all"}).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus_Mons", "Unknown time zone"),
        ("time_zone", "", "This field is required"),
        ("size", "4", "greater than or equal to 5"),
        ("size", "51", "less than or equal to 50"),
        ("size", "ten", "Enter a whole number"),
        ("frequency", "hourly", "Select a valid choice"),
        ("delivery_hour", "24", "Select a valid choice"),
        ("weekly_day", "7", "Select a valid choice"),
        ("categories", "cs.LG nope.XX", "Unknown categories: nope.XX."),
        ("trending_categories", "math.AG", "Unknown categories: math.AG."),
        ("seed_papers", "2602.00001 banana", "Not arXiv identifiers: banana."),
        ("seed_papers", "2602.99999", "Not in this collection: 2602.99999."),
        ("followed_authors", "Nobody Known", "no author named “Nobody Known”"),
        ("followed_authors", "999999", "no author has id 999999"),
        ("include_keywords", "x" * 101, "each at most 100 characters"),
        ("exclude_keywords", "nul\x00byte", "Null characters are not allowed"),
        ("include_keywords", "bell\x07", "control characters are not allowed"),
        ("include_keywords", ",".join(f"k{n}" for n in range(51)), "at most 50 entries"),
    ],
)
def test_invalid_preferences_are_refused_with_a_clear_error_and_nothing_saved(
    client: Client, page_path: str, subscriber: Any, field: str, value: str, message: str
) -> None:
    before = saved(subscriber)
    response = client.post(page_path, {**VALID, field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page
    errors = re.findall(r'<span class="field-error" role="alert">(.*?)</span>', page, re.S)
    assert len(errors) == 1
    assert message in errors[0].replace("&quot;", '"').replace("&#x27;", "'")
    assert saved(subscriber) == before


def test_hostile_keywords_are_stored_as_text_and_shown_escaped(
    client: Client, page_path: str, subscriber: Any, hostile_string: str
) -> None:
    response = client.post(page_path, {**VALID, "include_keywords": hostile_string})
    shown = client.get(page_path) if response.status_code == 303 else response
    page = shown.content.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<h1>injected</h1>" not in page


def test_saving_needs_a_csrf_token(page_path: str, subscriber: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    before = saved(subscriber)
    assert strict.post(page_path, VALID).status_code == 403
    assert saved(subscriber) == before
    page = strict.get(page_path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert strict.post(page_path, {**VALID, "csrfmiddlewaretoken": token}).status_code == 303
    assert saved(subscriber)["frequency"] == "weekly"


def test_tampered_and_revoked_links_show_an_error_page(
    client: Client, page_path: str, subscriber: Any
) -> None:
    tampered = client.get(page_path[:-3] + "x/")
    assert tampered.status_code == 400
    assert "This link is not valid" in tampered.content.decode()
    revoke_tokens(subscriber)
    revoked = client.post(page_path, VALID)
    assert revoked.status_code == 410
    assert "no longer valid" in revoked.content.decode()
    assert saved(subscriber)["frequency"] == "daily"


def test_an_unsubscribed_reader_can_subscribe_again_from_the_page(client: Client, page_path: str,
                                                                  subscriber: Any) -> None:
    subscriber.status = Subscriber.Status.UNSUBSCRIBED
    subscriber.unsubscribed_at = SUBMITTED_AT
    subscriber.save()
    assert "Subscribe again" in client.get(page_path).content.decode()
    assert client.post(page_path, {"action": "resubscribe"}).status_code == 303
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.unsubscribed_at) == ("active", None)
