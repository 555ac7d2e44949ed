"""Collections: save a paper (the Reading list by default), make, rename, share and delete; who sees what."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from broadsheet.accounts.models import Collection, CollectionItem

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def save(client: Client, arxiv_id: str, **data: str) -> Any:
    return client.post(f"/papers/{arxiv_id}/save/", data)


def test_saving_without_a_choice_makes_the_reading_list(
    reader_client: Client, papers: dict, reader: Any
) -> None:
    response = save(reader_client, "2503.00001", next="/papers/2503.00001/")
    assert response["Location"] == "/papers/2503.00001/"
    collection = Collection.objects.get(owner=reader)
    assert (collection.name, collection.slug, collection.is_public) == ("Reading list", "reading-list", False)
    assert list(collection.items.values_list("paper__arxiv_id", flat=True)) == ["2503.00001"]
    assert save(reader_client, "2503.00001").status_code == 302  # saving twice keeps one item
    assert CollectionItem.objects.count() == 1


def test_htmx_save_answers_the_control_with_a_message(reader_client: Client, papers: dict) -> None:
    response = reader_client.post("/papers/2503.00002/save/", {"new_name": "Graphs"}, **HTMX)
    html = response.content.decode()
    assert 'id="save-control"' in html and "Saved to Graphs." in html
    assert '<a href="/c/' in html and ">Graphs</a>" in html


def test_a_collection_can_be_made_renamed_shared_and_deleted(
    reader_client: Client, papers: dict, reader: Any
) -> None:
    made = reader_client.post("/collections/", {"name": "To read <b>soon</b>"})
    collection = Collection.objects.get(owner=reader)
    assert made["Location"] == f"/c/{collection.pk}-to-read-bsoonb/"
    save(reader_client, "2503.00001", collection=str(collection.pk))
    page = reader_client.get(made["Location"]).content.decode()
    assert "To read &lt;b&gt;soon&lt;/b&gt;" in page and "Sparse attention for very long documents" in page
    assert Client().get(made["Location"]).status_code == 404  # private

    reader_client.post(f"/c/{collection.pk}/edit/", {"name": "Shared", "public": "1"})
    collection.refresh_from_db()
    assert (collection.name, collection.slug, collection.is_public) == ("Shared", "shared", True)
    public = Client().get(f"/c/{collection.pk}-shared/")
    assert public.status_code == 200 and "Sparse attention" in public.content.decode()
    assert "Delete this collection" not in public.content.decode()
    assert Client().get(f"/c/{collection.pk}/")["Location"] == f"/c/{collection.pk}-shared/"

    reader_client.post(f"/c/{collection.pk}/remove/", {"paper": "2503.00001"})
    assert CollectionItem.objects.count() == 0
    assert reader_client.post(f"/c/{collection.pk}/delete/")["Location"] == "/collections/"
    assert not Collection.objects.exists()


def test_json_twin_of_a_public_collection(reader_client: Client, papers: dict, reader: Any) -> None:
    reader_client.post("/collections/", {"name": "Strings", "public": "1"})
    collection = Collection.objects.get()
    save(reader_client, "hep-th/9901001", collection=str(collection.pk))
    data = Client().get(f"/c/{collection.pk}-strings/", {"format": "json"}).json()
    assert {key: data[key] for key in ("id", "name", "public", "url", "paper_count")} == {
        "id": collection.pk, "name": "Strings", "public": True,
        "url": f"http://127.0.0.1:8000/c/{collection.pk}-strings/", "paper_count": 1,
    }
    assert [paper["id"] for paper in data["papers"]] == ["hep-th/9901001"]
    mine = reader_client.get("/collections/", {"format": "json"}).json()
    assert [(item["name"], item["paper_count"]) for item in mine["collections"]] == [("Strings", 1)]


def test_other_readers_cannot_see_or_change_a_private_collection(
    reader_client: Client, papers: dict, other_reader: Any
) -> None:
    save(reader_client, "2503.00001")
    collection = Collection.objects.get()
    other = Client()
    other.force_login(other_reader)
    assert other.get(f"/c/{collection.pk}/").status_code == 404
    assert other.get(f"/c/{collection.pk}/", {"format": "json"}).status_code == 404
    assert other.post(f"/c/{collection.pk}/edit/", {"name": "Mine now", "public": "1"}).status_code == 404
    assert other.post(f"/c/{collection.pk}/delete/").status_code == 404
    assert save(other, "2503.00002", collection=str(collection.pk)).status_code == 400
    collection.refresh_from_db()
    assert (collection.name, collection.is_public, collection.items.count()) == ("Reading list", False, 1)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\u0007bell"])
def test_bad_names_get_a_form_error(reader_client: Client, name: str) -> None:
    response = reader_client.post("/collections/", {"name": name})
    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()
    assert not Collection.objects.exists()


def test_duplicate_names_get_a_form_error(reader_client: Client) -> None:
    reader_client.post("/collections/", {"name": "Graphs"})
    response = reader_client.post("/collections/", {"name": "Graphs"})
    assert response.status_code == 400 and "already have a collection" in response.content.decode()


def test_hostile_collection_names_are_shown_as_text(reader_client: Client, hostile_string: str) -> None:
    response = reader_client.post("/collections/", {"name": hostile_string.replace("\x00", "")[:100]})
    if response.status_code == 302:
        html = reader_client.get(response["Location"]).content.decode()
    else:
        html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html


def test_anonymous_readers_are_sent_to_sign_in(client: Client, papers: dict) -> None:
    assert client.get("/collections/")["Location"] == "/signin/?next=%2Fcollections%2F"
    assert client.post("/papers/2503.00001/save/", {"next": "/papers/2503.00001/"})["Location"] == (
        "/signin/?next=%2Fpapers%2F2503.00001%2F"
    )
    page = client.get("/papers/2503.00001/").content.decode()
    assert 'href="/signin/?next=%2Fpapers%2F2503.00001%2F"' in page
