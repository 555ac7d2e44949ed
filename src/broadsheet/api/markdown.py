"""`/papers/{arxiv_id}.md`: a paper as Markdown (title, authors, metadata, abstract, links), the page
`huggingface_hub.HfApi.read_paper` and `hf papers read` fetch.

Rule: upstream text never becomes Markdown or HTML markup: whitespace is collapsed to one line, and the
characters that open raw HTML, links or entities, or a block at the start of a line, are escaped, so a
Markdown renderer shows the text exactly as written. Every link is absolute, from settings.BASE_URL.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from broadsheet.api.hf import find_paper
from broadsheet.api.signals import NO_SIGNALS, PaperSignals, paper_signals
from broadsheet.papers.services import PaperDetail

CONTENT_TYPE = "text/markdown; charset=utf-8"
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# what can make a line a heading, quote, list item, rule, fence or table row in CommonMark and GFM
_BLOCK_START = re.compile(r"^([#>+*=_~|`-]|\d+[.)](\s|$))")
_URL = re.compile(r"^https?://[^\s<>()\[\]]+$", re.IGNORECASE)


def markdown_text(text: str, *, line_start: bool = False) -> str:
    """`text` on one line as literal Markdown text: `<` (raw HTML, autolinks), `[` (links, images) and
    `&` before an entity are written as entities, which renderers show as the characters themselves.
    With `line_start` (a paragraph of its own), a character that would open a block is escaped too."""
    line = " ".join(text.split())
    line = _ENTITY.sub("&amp;", line).replace("<", "&lt;").replace("[", "&#91;")
    if line_start and _BLOCK_START.match(line):
        line = "\\" + line
    return line


def markdown_link(label: str, url: str) -> str:
    """A link only to an http(s) URL with no character that could end it early; else the bare text."""
    if not _URL.match(url):
        return markdown_text(f"{label}: {url}")
    return f"[{markdown_text(label)}]({url})"


def render_paper_markdown(paper: PaperDetail, signals: PaperSignals) -> str:
    page_url = settings.BASE_URL + paper.path
    lines = [f"# {markdown_text(paper.title)}", ""]
    facts = [
        ("arXiv", f"{paper.arxiv_id}v{paper.version}"),
        ("Authors", ", ".join(author.name for author in paper.authors)),
        ("Categories", ", ".join(category.code for category in paper.categories)),
        ("Submitted", paper.submitted_at.date().isoformat() if paper.submitted_at else ""),
        ("Announced", paper.announced_on.isoformat() if paper.announced_on else ""),
        ("Upvotes", str(signals.upvotes)),
        ("Comments", paper.comments),
        ("Journal reference", paper.journal_ref),
        ("DOI", paper.doi),
        ("License", paper.license_label),
    ]
    lines += [f"- **{label}:** {markdown_text(value)}" for label, value in facts if value]
    lines += ["", "## Abstract", "", markdown_text(paper.abstract, line_start=True) or "(no abstract)", ""]
    if signals.ai_summary:
        lines += ["## AI summary", "", markdown_text(signals.ai_summary, line_start=True), ""]
    links = [
        ("Broadsheet", page_url),
        ("arXiv", paper.links.abs),
        ("PDF", paper.links.pdf),
        ("HTML", paper.links.html),
    ]
    if paper.links.doi:
        links.append(("DOI", paper.links.doi))
    if signals.github_repo:
        links.append(("Code", signals.github_repo))
    if signals.project_page:
        links.append(("Project page", signals.project_page))
    lines += ["## Links", ""] + [f"- {markdown_link(label, url)}" for label, url in links]
    return "\n".join(lines) + "\n"


def paper_markdown(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    found = find_paper(arxiv_id)
    if not isinstance(found, PaperDetail):
        return HttpResponse(
            found.value["error"] + "\n", status=found.status_code, content_type="text/plain; charset=utf-8"
        )
    signals = paper_signals([found.arxiv_id]).get(found.arxiv_id, NO_SIGNALS)
    return HttpResponse(render_paper_markdown(found, signals), content_type=CONTENT_TYPE)
