"""`/papers/{arxiv_id}.md`: the paper as Markdown with absolute links, and upstream text that a Markdown
renderer shows as written (no HTML, no links, no blocks smuggled in)."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.test import Client
from markdown_it import MarkdownIt

from broadsheet.api.markdown import markdown_link, markdown_text

from .conftest import NOW, arxiv_record

pytestmark = pytest.mark.django_db


def test_markdown_page_has_title_facts_abstract_and_links(client: Client, broadsheet: None) -> None:
    response = client.get("/papers/2609.00001.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode() == (
        "# Analytical engines\n"
        "\n"
        "- **arXiv:** 2609.00001v2\n"
        "- **Authors:** Ada Lovelace, Grace Hopper\n"
        "- **Categories:** cs.LG\n"
        "- **Submitted:** 2026-09-04\n"
        "- **Announced:** 2026-09-07\n"
        "- **Upvotes:** 22\n"
        "- **Comments:** 12 pages\n"
        "- **DOI:** 10.1000/engines\n"
        "\n"
        "## Abstract\n"
        "\n"
        "The abstract of analytical engines.\n"
        "\n"
        "## AI summary\n"
        "\n"
        "Engines, summarised.\n"
        "\n"
        "## Links\n"
        "\n"
        f"- [Broadsheet]({settings.BASE_URL}/papers/2609.00001/)\n"
        "- [arXiv](https://arxiv.org/abs/2609.00001v2)\n"
        "- [PDF](https://arxiv.org/pdf/2609.00001v2)\n"
        "- [HTML](https://arxiv.org/html/2609.00001v2)\n"
        "- [DOI](https://doi.org/10.1000/engines)\n"
        "- [Code](https://github.com/ada/engine)\n"
        "- [Project page](https://engine.example/)\n"
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/papers/hep-th/9901001.md", 200),
        ("/papers/2609.00001v1.md", 200),
        ("/papers/2609.99999.md", 404),
        ("/papers/nonsense.md", 404),
    ],
)
def test_markdown_page_for_each_kind_of_id(client: Client, broadsheet: None, path: str, status: int) -> None:
    assert client.get(path).status_code == status


def test_markdown_page_does_not_shadow_the_paper_page(client: Client, broadsheet: None) -> None:
    response = client.get("/papers/2609.00001/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("text", "line_start", "expected"),
    [
        ("p < 0.05 & [1]", False, "p &lt; 0.05 & &#91;1]"),
        ("R&amp;D", False, "R&amp;amp;D"),
        ("two\n\nlines\tjoined", False, "two lines joined"),
        ("# not a heading", True, "\\# not a heading"),
        ("- not a list", True, "\\- not a list"),
        ("1. not a list", True, "\\1. not a list"),
        ("2609.00001 is an id", True, "2609.00001 is an id"),
        ("# fine mid-line", False, "# fine mid-line"),
    ],
)
def test_markdown_text_escapes_only_what_would_become_markup(
    text: str, line_start: bool, expected: str
) -> None:
    assert markdown_text(text, line_start=line_start) == expected


def test_markdown_link_links_only_plain_web_urls() -> None:
    assert markdown_link("Code", "https://github.com/a/b") == "[Code](https://github.com/a/b)"
    assert markdown_link("Code", "javascript:alert(1)") == "Code: javascript:alert(1)"
    assert markdown_link("Code", "https://x.example/a)(b") == "Code: https://x.example/a)(b"


def test_hostile_text_renders_as_text(client: Client, hostile_strings: list[str]) -> None:
    from broadsheet.ingest.upsert import upsert_papers

    hostile = " ".join(hostile_strings) + " [click](javascript:alert(1)) <https://evil.example> ![x](y)"
    upsert_papers([arxiv_record(
        "2609.00009", date(2026, 9, 7), title=hostile.replace("\x00", ""), authors=("<b>Mallory</b>",),
    )], now=NOW)
    text = client.get("/papers/2609.00009.md").content.decode()
    html = MarkdownIt("commonmark").render(text)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'href="javascript:' not in html and "evil.example\"" not in html
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert all(href.startswith(("https://", settings.BASE_URL)) for href in hrefs)
    assert len(hrefs) == 4  # the page, arXiv, PDF, HTML
