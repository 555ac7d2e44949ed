"""Digest composition: the window, never-repeat, hard keyword filters, the ranking blend and the reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from broadsheet.digest.compose import ComposeContext, compose_digest, digest_of_papers

from .composing import (
    LAST_WEEK,
    NOW,
    TODAY,
    YESTERDAY,
    add_embeddings,
    add_hf_upvotes,
    add_papers,
    add_subscriber,
    author_id,
    record,
    unit,
)

pytestmark = pytest.mark.django_db


def arxiv_ids(digest) -> list[str]:
    return [item.arxiv_id for item in digest.items]


@pytest.fixture
def blend_corpus() -> None:
    """Today: a paper by a followed author, two trending ones, one near the seed paper, one with no reason
    to be sent; yesterday and last week: one paper each; 2017: the seed paper."""
    add_papers(
        record("1706.03762", title="Attention Is All You Need", announced_on=date(2017, 6, 13)),
        record("2509.00001", authors=["Yann LeCun", "Ada Lovelace"], categories=["cs.CL", "cs.LG"]),
        record("2509.00002", authors=["Grace Hopper"], categories=["cs.CL"]),
        record("2509.00003", categories=["astro-ph.GA"]),
        record("2509.00004", categories=["cs.LG"]),
        record("2509.00005", categories=["cs.RO"]),
        record("2509.00009", categories=["cs.CL"], announced_on=YESTERDAY),
        record("2509.00019", categories=["cs.CL"], announced_on=LAST_WEEK),
    )
    add_hf_upvotes({"2509.00002": 163, "2509.00003": 40})
    add_embeddings({
        "1706.03762": unit(1, 0, 0),
        "2509.00001": unit(0, 1, 0),
        "2509.00004": unit(0.625, 0.78062475, 0),  # cosine 0.625 with the seed
        "2509.00005": unit(0, 0, 1),
    })


@pytest.fixture
def reader(blend_corpus: None):
    return add_subscriber(
        categories=["cs.CL"], followed_authors=[author_id("Yann LeCun")], seed_papers=["1706.03762v7"]
    )


def test_digest_ranks_by_the_published_blend_and_says_why(reader) -> None:
    digest = compose_digest(reader, since_at=None, now=NOW)

    assert [(item.arxiv_id, item.score, item.reasons) for item in digest.items] == [
        ("2509.00001", 1.3, ["By Yann LeCun, whom you follow", "New in cs.CL, one of your categories"]),
        ("2509.00002", 0.9, ["Trending in cs.CL (▲ 163)", "New in cs.CL, one of your categories"]),
        ("2509.00004", 0.514286, ["Similar to your seed paper “Attention Is All You Need”"]),
        ("2509.00003", 0.297226, ["Trending in astro-ph.GA (▲ 40)"]),
    ]
    assert digest.new_papers == 5
    assert not digest.is_empty


def test_digest_item_carries_absolute_url_authors_and_trending_components(reader, settings) -> None:
    settings.BASE_URL = "https://papers.example.org"

    item = compose_digest(reader, since_at=None, now=NOW).items[1]

    assert item.url == "https://papers.example.org/papers/2509.00002/"
    assert (item.title, item.authors, item.categories, item.announced_on) == (
        "Paper 2509.00002", ["Grace Hopper"], ["cs.CL"], TODAY,
    )
    assert item.trending is not None
    assert (item.trending.hf_upvotes, item.trending.upvotes, item.trending.points) == (163, 0, 163.0)


@pytest.mark.parametrize(
    ("frequency", "since_at", "expected"),
    [
        ("daily", None, ["2509.00002", "2509.00001"]),
        ("weekly", None, ["2509.00002", "2509.00001", "2509.00009", "2509.00019"]),
        ("daily", datetime(2025, 9, 21, 23, 59, tzinfo=UTC), ["2509.00002", "2509.00001", "2509.00009"]),
        # a digest sent at midnight UTC already held that day's papers
        ("daily", datetime(2025, 9, 22, 0, 0, tzinfo=UTC), ["2509.00002", "2509.00001"]),
        # back from a long pause: two weeks, not two months
        ("daily", datetime(2025, 7, 1, tzinfo=UTC), ["2509.00002", "2509.00001", "2509.00009", "2509.00019"]),
        ("daily", NOW, []),
    ],
)
def test_digest_holds_papers_announced_after_since_at(
    blend_corpus: None, frequency: str, since_at: datetime | None, expected: list[str]
) -> None:
    subscriber = add_subscriber(frequency=frequency, categories=["cs.CL"], include_trending=False)

    digest = compose_digest(subscriber, since_at=since_at, now=NOW)

    assert sorted(arxiv_ids(digest)) == sorted(expected)
    assert digest.is_empty is (expected == [])


def test_digest_never_repeats_a_paper_already_sent(reader) -> None:
    from broadsheet.digest.models import DeliveredPaper, Delivery, DigestRun
    from broadsheet.papers.models import Paper

    run = DigestRun.objects.create(started_at=NOW - timedelta(days=1))
    delivery = Delivery.objects.create(
        subscriber=reader, digest_date=YESTERDAY, run=run, status=Delivery.Status.SENT,
        due_at=NOW - timedelta(days=1), cutoff_at=NOW, updated_at=NOW,
    )
    for arxiv_id in ("2509.00002", "2509.00009"):
        DeliveredPaper.objects.create(
            subscriber=reader, paper=Paper.objects.get(arxiv_id=arxiv_id), delivery=delivery
        )
    other = add_subscriber("other@example.org", categories=["cs.CL"], include_trending=False)

    since = datetime(2025, 9, 21, tzinfo=UTC)
    assert arxiv_ids(compose_digest(reader, since_at=since, now=NOW)) == [
        "2509.00001", "2509.00004", "2509.00003",
    ]
    fanout = ComposeContext.build(NOW)
    fanout.prefetch([reader, other])
    assert arxiv_ids(compose_digest(reader, since_at=since, now=NOW, context=fanout)) == [
        "2509.00001", "2509.00004", "2509.00003",
    ]
    # what one subscriber received says nothing about another
    assert sorted(arxiv_ids(compose_digest(other, since_at=since, now=NOW))) == [
        "2509.00001", "2509.00002", "2509.00009",
    ]


@pytest.fixture
def keyword_corpus() -> None:
    add_papers(
        record("2509.00101", title="Diffusion models for video", categories=["cs.CV"]),
        record("2509.00102", title="Large LLMs reason badly", abstract="A study of language  models."),
        record("2509.00103", title="Graphics pipelines", abstract="Rendering diffusion-based textures."),
        record("2509.00104", title="Graph neural networks", abstract="Message passing on graphs."),
    )


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ([], [], ["2509.00101", "2509.00102", "2509.00103", "2509.00104"]),
        (["diffusion"], [], ["2509.00101", "2509.00103"]),
        (["DIFFUSION"], ["video"], ["2509.00103"]),
        (["LLM"], [], ["2509.00102"]),  # plurals match
        (["graph"], [], ["2509.00104"]),  # whole words: "graphics" does not
        (["language model"], [], ["2509.00102"]),  # a phrase, across any spacing
        ([], ["graph", "LLM"], ["2509.00101", "2509.00103"]),
        (["graph", "video"], ["passing"], ["2509.00101"]),
        (["  "], [""], ["2509.00101", "2509.00102", "2509.00103", "2509.00104"]),  # blank keywords ignored
    ],
)
def test_keywords_are_hard_filters(
    keyword_corpus: None, include: list[str], exclude: list[str], expected: list[str]
) -> None:
    subscriber = add_subscriber(
        categories=["cs.LG", "cs.CV"], include_keywords=include, exclude_keywords=exclude
    )

    assert sorted(arxiv_ids(compose_digest(subscriber, since_at=None, now=NOW))) == expected


def test_keyword_reason_names_every_matching_keyword(keyword_corpus: None) -> None:
    subscriber = add_subscriber(include_keywords=["diffusion", "video", "graph"], include_trending=False)

    digest = compose_digest(subscriber, since_at=None, now=NOW)

    assert [(item.arxiv_id, item.reasons) for item in digest.items] == [
        ("2509.00104", ["Matches your keyword “graph”"]),
        ("2509.00103", ["Matches your keyword “diffusion”"]),
        ("2509.00101", ["Matches your keywords “diffusion” and “video”"]),
    ]


def test_paper_with_no_reason_is_left_out(blend_corpus: None) -> None:
    nothing = add_subscriber(include_trending=False)
    only_trending = add_subscriber("t@example.org", trending_categories=["astro-ph.GA"])

    assert compose_digest(nothing, since_at=None, now=NOW).is_empty
    digest = compose_digest(only_trending, since_at=None, now=NOW)
    assert [(item.arxiv_id, item.reasons) for item in digest.items] == [
        ("2509.00003", ["Trending in astro-ph.GA (▲ 40)"]),
    ]


@pytest.mark.parametrize(("size", "expected"), [(1, 5), (6, 6), (50, 50), (80, 50)])
def test_digest_size_is_between_5_and_50(size: int, expected: int) -> None:
    add_papers(*[record(f"2509.{number:05d}", categories=["math.CO"]) for number in range(1, 56)])
    subscriber = add_subscriber(size=size, categories=["math.CO"])

    digest = compose_digest(subscriber, since_at=None, now=NOW)

    assert len(digest.items) == expected
    # equal scores: the newest arXiv id first
    assert digest.items[0].arxiv_id == "2509.00055"


def test_one_context_composes_what_a_fresh_one_would(reader) -> None:
    context = ComposeContext.build(NOW)
    others = [
        add_subscriber("a@example.org", categories=["astro-ph.GA"]),
        add_subscriber("b@example.org", include_keywords=["paper"], exclude_keywords=["2509.00002"]),
    ]

    context.prefetch([reader, others[0]])  # the second one is not prefetched
    for subscriber in [reader, *others]:
        shared = compose_digest(subscriber, since_at=None, now=NOW, context=context)
        alone = compose_digest(subscriber, since_at=None, now=NOW)
        assert [(i.arxiv_id, i.score, i.reasons) for i in shared.items] == [
            (i.arxiv_id, i.score, i.reasons) for i in alone.items
        ]


def test_digest_of_papers_keeps_the_sent_order_with_reasons(reader) -> None:
    from broadsheet.papers.models import Paper

    ids = [Paper.objects.get(arxiv_id=a).pk for a in ("2509.00003", "2509.00001", "2509.00009")]

    digest = digest_of_papers(reader, ids, now=NOW)

    assert [(item.arxiv_id, item.reasons) for item in digest.items] == [
        ("2509.00003", ["Trending in astro-ph.GA (▲ 40)"]),
        ("2509.00001", ["By Yann LeCun, whom you follow", "New in cs.CL, one of your categories"]),
        ("2509.00009", ["New in cs.CL, one of your categories"]),
    ]


def test_papers_saved_in_collections_are_seeds_unless_switched_off(blend_corpus: None) -> None:
    from django.contrib.auth.models import User

    from broadsheet.accounts.models import Collection, CollectionItem
    from broadsheet.papers.models import Paper

    user = User.objects.create_user("reader")
    collection = Collection.objects.create(
        owner=user, name="Reading list", slug="reading-list", created_at=NOW, updated_at=NOW
    )
    CollectionItem.objects.create(
        collection=collection, paper=Paper.objects.get(arxiv_id="1706.03762"), added_at=NOW
    )
    saving = add_subscriber(user=user, include_trending=False)
    not_saving = add_subscriber(
        "b@example.org", user=user, include_trending=False, seeds_from_collections=False
    )

    digest = compose_digest(saving, since_at=None, now=NOW)

    assert [(item.arxiv_id, item.reasons) for item in digest.items] == [
        ("2509.00004", ["Similar to your saved paper “Attention Is All You Need”"]),
    ]
    assert compose_digest(not_saving, since_at=None, now=NOW).is_empty
    fanout = ComposeContext.build(NOW)
    fanout.prefetch([saving, not_saving])
    assert compose_digest(saving, since_at=None, now=NOW, context=fanout).items[0].reasons == [
        "Similar to your saved paper “Attention Is All You Need”"
    ]
    assert compose_digest(not_saving, since_at=None, now=NOW, context=fanout).is_empty
