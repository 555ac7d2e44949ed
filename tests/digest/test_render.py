"""Digest rendering: subject, plain text, HTML, the message headers (through a real SMTP server), escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from broadsheet.digest.compose import Digest, compose_digest
from broadsheet.digest.render import (
    build_message,
    clean_text,
    message_id_for,
    preview_digest,
    render_digest,
    view_in_browser_url,
)

from .composing import NOW, TODAY, add_hf_upvotes, add_papers, add_subscriber, author_id, record

pytestmark = pytest.mark.django_db

BASE_URL = "https://papers.example.org"
SIGNATURE_SEPARATOR = "-- "  # with its space: mail readers fold away what follows
DIFFUSION_TITLE = r"$\alpha$-Diffusion on $\mathbb{R}^n$ for Text"
DIFFUSION_ABSTRACT = (
    r"We propose $\alpha$-diffusion, a family of discrete diffusion models whose noise schedule is learned "
    r"jointly with the denoiser. On five language modelling benchmarks it matches autoregressive perplexity "
    r"within 3\% while decoding $4\times$ faster, and it scales to contexts of $2^{16}$ tokens without "
    r"changes to the architecture. Code and weights are released."
)
AUTHORS = [
    "Yann LeCun", "Ada Lovelace", "Grace Hopper", "Alan Turing", "Emmy Noether", "Kurt Gödel",
    "John von Neumann", "Claude Shannon",
]


@pytest.fixture(autouse=True)
def base_url(settings) -> None:
    settings.BASE_URL = BASE_URL


@pytest.fixture
def reader():
    add_papers(
        record("2509.00001", title=DIFFUSION_TITLE, abstract=DIFFUSION_ABSTRACT, authors=AUTHORS,
               categories=["cs.CL", "cs.LG"]),
        record("2509.00002", title="Sparse Attention at Scale", authors=["Grace Hopper"],
               categories=["cs.CL"]),
    )
    add_hf_upvotes({"2509.00002": 163})
    return add_subscriber(categories=["cs.CL"], followed_authors=[author_id("Yann LeCun")])


def rendered_for(subscriber):
    return render_digest(compose_digest(subscriber, since_at=None, now=NOW), subscriber, digest_date=TODAY)


def delivery_for(subscriber, paper_ids: list[int] | None = None):
    from broadsheet.digest.models import Delivery, DigestRun

    run = DigestRun.objects.create(started_at=NOW)
    return Delivery.objects.create(
        subscriber=subscriber, digest_date=TODAY, run=run, due_at=NOW, cutoff_at=NOW + timedelta(hours=6),
        updated_at=NOW, paper_ids=paper_ids or [],
    )


def test_subject_has_the_date_the_top_title_as_text_and_the_count(reader) -> None:
    assert rendered_for(reader).subject == "Broadsheet — 23 Sep: α-Diffusion on ℝ^n for Text and 1 more"


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        ([], "Broadsheet — 23 Sep: no new papers for you"),
        (["One paper"], "Broadsheet — 23 Sep: One paper"),
        (
            ["b", "Injected\r\nBcc: victim@example.com"],
            "Broadsheet — 23 Sep: Injected Bcc: victim@example.com and 1 more",
        ),
        (["\u202egnp.exe\u202c zero\u200bwidth"], "Broadsheet — 23 Sep: gnp.exe zerowidth"),
        (["word " * 30], "Broadsheet — 23 Sep: " + "word " * 17 + "word…"),
        (["x" * 200], "Broadsheet — 23 Sep: " + "x" * 89 + "…"),
    ],
)
def test_subject_is_one_clean_line(titles: list[str], expected: str) -> None:
    add_papers(*[record(f"2509.{n:05d}", title=title) for n, title in enumerate(titles, start=1)])
    subscriber = add_subscriber(categories=["cs.LG"])

    subject = rendered_for(subscriber).subject

    assert subject == expected


def test_plain_text_part_reads_well(reader) -> None:
    from broadsheet.digest.tokens import preferences_url, unsubscribe_url

    text = rendered_for(reader).text

    assert text == f"""BROADSHEET · Your daily papers
Tuesday 23 September 2025

2 papers picked for you from 2 new since your last digest, each with the
reason it is here.

1. α-Diffusion on ℝ^n for Text
   Yann LeCun, Ada Lovelace, Grace Hopper, Alan Turing, Emmy Noether,
   Kurt Gödel and 2 more
   Why: By Yann LeCun, whom you follow
   Why: New in cs.CL, one of your categories

   We propose α-diffusion, a family of discrete diffusion models whose
   noise schedule is learned jointly with the denoiser. On five language
   modelling benchmarks it matches autoregressive perplexity within 3%
   while decoding 4× faster, and it scales to contexts of 2^16 tokens
   without changes to the architecture. Code and…

   {BASE_URL}/papers/2509.00001/

2. Sparse Attention at Scale
   Grace Hopper
   Why: Trending in cs.CL (▲ 163)
   Why: New in cs.CL, one of your categories

   We study things.

   {BASE_URL}/papers/2509.00002/

{SIGNATURE_SEPARATOR}
You get this because reader@example.org subscribed to the Broadsheet
digest at papers.example.org.

Preferences (what, when, how many):
{preferences_url(reader)}

Unsubscribe:
{unsubscribe_url(reader)}

View in a browser:
{view_in_browser_url(reader, TODAY)}
"""
    assert all(len(line) <= 72 for line in text.splitlines() if "://" not in line)


def test_html_part_is_a_dark_mode_safe_table_layout_with_inline_styles(reader) -> None:
    html = rendered_for(reader).html

    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert html.count('role="presentation"') >= 4
    # no external stylesheet, script or image: mail clients strip them, and they would track the reader
    assert re.findall(r"<(?:link|script|img)\b", html) == []
    assert "α-Diffusion on ℝ^n for Text" in html  # math as readable text, no MathML
    assert "<math" not in html
    assert "Why it is here" in html
    assert "By Yann LeCun, whom you follow" in html
    assert "&#9650;&nbsp;163" in html


def test_every_link_in_the_html_is_absolute_from_base_url_or_arxiv(reader) -> None:
    from broadsheet.digest.tokens import preferences_url, unsubscribe_url

    links = re.findall(r'href="([^"]*)"', rendered_for(reader).html)

    assert links == [
        f"{BASE_URL}/",
        f"{BASE_URL}/papers/2509.00001/", f"{BASE_URL}/papers/2509.00001/",
        "https://arxiv.org/abs/2509.00001v1", "https://arxiv.org/pdf/2509.00001v1",
        f"{BASE_URL}/papers/2509.00002/", f"{BASE_URL}/papers/2509.00002/",
        "https://arxiv.org/abs/2509.00002v1", "https://arxiv.org/pdf/2509.00002v1",
        preferences_url(reader), unsubscribe_url(reader), view_in_browser_url(reader, TODAY),
    ]


def test_page_in_the_browser_does_not_link_to_itself(reader) -> None:
    digest = compose_digest(reader, since_at=None, now=NOW)

    rendered = render_digest(digest, reader, digest_date=TODAY, in_browser=True)

    assert "View in browser" not in rendered.html
    assert "View in a browser" not in rendered.text


def test_weekly_digest_says_weekly_and_empty_one_says_so() -> None:
    subscriber = add_subscriber(frequency="weekly")
    empty = Digest(subscriber.pk, NOW - timedelta(days=7), NOW, [], 0)

    rendered = render_digest(empty, subscriber, digest_date=TODAY)

    assert "Your weekly papers" in rendered.html
    assert "Nothing new matched your preferences this time." in rendered.text


def test_hostile_titles_abstracts_and_names_are_escaped_everywhere(hostile_strings: list[str]) -> None:
    # PostgreSQL refuses NUL in text, so no stored paper holds one; the other control characters remain
    texts = [text.replace("\x00", "") for text in hostile_strings]
    add_papers(*[
        record(f"2509.{n:05d}", title=text, abstract=text, authors=[text])
        for n, text in enumerate(texts, start=1)
    ])
    subscriber = add_subscriber(categories=["cs.LG"], size=50, include_keywords=[], exclude_keywords=[])

    rendered = rendered_for(subscriber)
    message = build_message(delivery_for(subscriber), rendered).message()

    assert len(compose_digest(subscriber, since_at=None, now=NOW).items) == len(hostile_strings)
    for markup in ("<script", "<img", "<h1>injected", "</title></head>"):
        assert markup not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "{{ request.META }}" in rendered.text  # template syntax in data is shown, never run
    for part in (rendered.subject, rendered.text, rendered.html):
        assert re.findall(r"[\x00-\x08\x0b-\x1f\x7f\u202e\u200b]", part) == []
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert message["Bcc"] is None
    assert message["To"] == "reader@example.org"


def test_message_headers_and_structure_survive_a_real_smtp_server(reader, smtp_settings) -> None:
    from broadsheet.digest.tokens import one_click_unsubscribe_url

    delivery = delivery_for(reader)
    build_message(delivery, rendered_for(reader)).send()

    [received] = smtp_settings.handler.received
    raw = received.data.decode("utf-8")
    message = message_from_bytes(received.data, policy=policy.default)
    assert received.recipients == ["reader@example.org"]
    # Python's encoder folds a long encoded subject before its first word; readers drop that space
    assert message["Subject"].strip() == "Broadsheet — 23 Sep: α-Diffusion on ℝ^n for Text and 1 more"
    subject_lines = re.search(r"\r\nSubject:((?:.*\r\n)(?:[ \t].*\r\n)*)", raw)
    assert subject_lines is not None
    assert "=?utf-8?q?Broadsheet_=E2=80=94_23_Sep" in subject_lines.group(1)  # RFC 2047 encoded words
    assert message["Message-ID"] == f"<digest.{delivery.pk}.20250923@papers.example.org>"
    assert message["Message-ID"] == message_id_for(delivery)
    # a long value is folded at its one space (after the colon), never inside the URL
    assert message["List-Unsubscribe"].strip() == f"<{one_click_unsubscribe_url(reader)}>"
    assert message["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/digest/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["From"] == "Broadsheet <broadsheet@localhost>"
    # Django writes UTC as "-0000" (RFC 5322: UTC, local zone not said), which parses to a naive datetime
    sent_at = parsedate_to_datetime(message["Date"]).replace(tzinfo=UTC)
    assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert message.get_content_type() == "multipart/alternative"
    parts = [(part.get_content_type(), part.get_content_charset()) for part in message.iter_parts()]
    assert parts == [("text/plain", "utf-8"), ("text/html", "utf-8")]
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "α-Diffusion on ℝ^n for Text" in plain.get_content()


def test_message_id_is_the_same_for_every_attempt(reader) -> None:
    delivery = delivery_for(reader)
    first = build_message(delivery, rendered_for(reader)).message()
    second = build_message(delivery, rendered_for(reader)).message()

    assert first["Message-ID"] == second["Message-ID"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\r\nb", "a b"),
        ("tab\tand\x0bvertical", "tab and vertical"),
        ("\u202eevil\u202c", "evil"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("  many   spaces  ", "many spaces"),
        ("naïve café 中文 𝔸 🙂", "naïve café 中文 𝔸 🙂"),
    ],
)
def test_clean_text_leaves_one_displayable_line(value: str, expected: str) -> None:
    assert clean_text(value) == expected


def test_preview_renders_what_the_subscriber_would_get_without_recording_anything(reader) -> None:
    from broadsheet.digest.models import DeliveredPaper, Delivery

    rendered = preview_digest("  Reader@Example.org ", now=NOW)

    assert rendered.subject == "Broadsheet — 23 Sep: α-Diffusion on ℝ^n for Text and 1 more"
    assert (Delivery.objects.count(), DeliveredPaper.objects.count()) == (0, 0)


def test_preview_uses_the_subscribers_local_date() -> None:
    add_papers(record("2509.00001", title="Late paper"))
    add_subscriber(categories=["cs.LG"], time_zone="Pacific/Auckland")

    # 07:00 UTC on 23 September is 19:00 in Auckland, same day; 13:00 UTC is already the 24th there
    assert preview_digest("reader@example.org", now=NOW).subject == "Broadsheet — 23 Sep: Late paper"
    later = NOW + timedelta(hours=6)
    assert preview_digest("reader@example.org", now=later).subject == "Broadsheet — 24 Sep: Late paper"


def test_preview_of_an_unknown_address_raises() -> None:
    from broadsheet.digest.models import Subscriber

    with pytest.raises(Subscriber.DoesNotExist):
        preview_digest("nobody@example.org", now=NOW)


def test_digest_date_label_is_the_local_date_given() -> None:
    subscriber = add_subscriber()
    rendered = render_digest(Digest(subscriber.pk, NOW, NOW, [], 0), subscriber, digest_date=date(2026, 2, 1))

    assert rendered.subject == "Broadsheet — 1 Feb: no new papers for you"
    assert "Sunday 1 February 2026" in rendered.html


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "A1"),
        (7, "A1, A2, A3, A4, A5, A6, A7"),
        (8, "A1, A2, A3, A4, A5, A6 and 2 more"),
        (250, "A1, A2, A3, A4, A5, A6 and 244 more"),
    ],
)
def test_authors_line_names_six_then_counts(count: int, expected: str) -> None:
    from broadsheet.digest.render import authors_line

    assert authors_line([f"A{number}" for number in range(1, count + 1)]) == expected
