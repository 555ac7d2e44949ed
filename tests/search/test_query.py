"""The query language: what people type becomes a ParsedQuery; only bad operator values are errors."""

from __future__ import annotations

from datetime import date

import pytest

from broadsheet.search.query import (
    MAX_QUERY_CHARS,
    ParsedQuery,
    QueryError,
    SearchFilters,
    parse_query,
    plain_query,
    tokenize,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ParsedQuery()),
        ("   ", ParsedQuery()),
        ("graphene", ParsedQuery(text="graphene", terms=("graphene",))),
        (
            "Graphene  transistors graphene",
            ParsedQuery(text="Graphene transistors graphene", terms=("Graphene", "transistors")),
        ),
        (
            '"neural network" pruning',
            ParsedQuery(text="neural network pruning", terms=("pruning",), phrases=("neural network",)),
        ),
        ('"  spaced   out  "', ParsedQuery(text="spaced out", phrases=("spaced out",))),
        ('"unbalanced quote runs to the end', ParsedQuery(
            text="unbalanced quote runs to the end", phrases=("unbalanced quote runs to the end",)
        )),
        ("graphene -carbon", ParsedQuery(text="graphene", terms=("graphene",), excluded=("carbon",))),
        (
            'graphene -"carbon sheets"',
            ParsedQuery(text="graphene", terms=("graphene",), excluded=("carbon sheets",)),
        ),
        ("state-of-the-art", ParsedQuery(text="state-of-the-art", terms=("state-of-the-art",))),
        ("- lone dash", ParsedQuery(text="lone dash", terms=("lone", "dash"))),
        ("author:Lovelace", ParsedQuery(filters=SearchFilters(authors=("Lovelace",)))),
        (
            'author:"Ada  Lovelace" engines',
            ParsedQuery(text="engines", terms=("engines",), filters=SearchFilters(authors=("Ada Lovelace",))),
        ),
        ("AU:Hopper", ParsedQuery(filters=SearchFilters(authors=("Hopper",)))),
        ("cat:cs.CL cat:math", ParsedQuery(filters=SearchFilters(categories=("cs.CL", "math")))),
        ("from:2025-01-31", ParsedQuery(filters=SearchFilters(date_from=date(2025, 1, 31)))),
        ("from:2025-02 to:2025-02", ParsedQuery(
            filters=SearchFilters(date_from=date(2025, 2, 1), date_to=date(2025, 2, 28))
        )),
        ("to:2024", ParsedQuery(filters=SearchFilters(date_to=date(2024, 12, 31)))),
        ("since:2024 until:2024-03", ParsedQuery(
            filters=SearchFilters(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31))
        )),
        # an empty operator value is a word; an unknown operator is text
        ("from: scratch", ParsedQuery(text="from scratch", terms=("from", "scratch"))),
        ("col:x", ParsedQuery(text="col:x", terms=("col:x",))),
        # FTS syntax is only text: operators and punctuation carry no meaning
        ("NEAR(a b) OR c*", ParsedQuery(text="NEAR(a b OR c", terms=("NEAR(a", "b", "OR", "c"))),
        ("* ^ ( ) : + AND", ParsedQuery(text="AND", terms=("AND",))),
        ("(graphene),", ParsedQuery(text="graphene", terms=("graphene",))),
        # control characters, NUL and lone surrogates are separators
        ("nul\x00byte", ParsedQuery(text="nul byte", terms=("nul", "byte"))),
        ("half\ud800surrogate", ParsedQuery(text="half\ufffdsurrogate", terms=("half\ufffdsurrogate",))),
        # NFKC: ligatures and full-width letters become plain ones
        ("ﬁeld ｑｕａｎｔｕｍ", ParsedQuery(text="field quantum", terms=("field", "quantum"))),
    ],
)
def test_parse_query_reads_the_query_language(text: str, expected: ParsedQuery) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * (MAX_QUERY_CHARS + 1), f"the query is too long ({MAX_QUERY_CHARS + 1} characters)"),
        ("from:yesterday", "not a date: 'yesterday'"),
        ("from:2025-02-30", "not a date: '2025-02-30'"),
        ("to:2025-13", "not a date: '2025-13'"),
        ("from:2025-06 to:2025-01", "the date range is empty"),
        ("cat:cs.CL;drop", "not an arXiv category: 'cs.CL;drop'"),
        ("cat:*", "not an arXiv category: '*'"),
        ("author:!!!", "author: needs a name"),
        ("-author:Lovelace", "-author: is not supported"),
        (f"author:{'a' * 201}", "author: value is too long"),
    ],
)
def test_parse_query_refuses_bad_operator_values_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert str(caught.value).startswith(message)


def test_parse_query_keeps_the_first_distinct_words_and_lists_the_rest() -> None:
    words = [f"w{number}" for number in range(70)]
    parsed = parse_query(" ".join(words))
    assert parsed.terms == tuple(words[:64])
    assert parsed.ignored_terms == tuple(words[64:])


def test_parse_query_takes_longer_queries_when_asked() -> None:
    text = "word " * 300
    assert parse_query(text, max_chars=2000).terms == ("word",)


def test_filters_merge_to_the_narrower_date_range() -> None:
    first = SearchFilters(authors=("Ada",), date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    second = SearchFilters(categories=("cs.CL",), date_from=date(2025, 3, 1))
    assert first.merge(second) == SearchFilters(
        authors=("Ada",), categories=("cs.CL",), date_from=date(2025, 3, 1), date_to=date(2025, 12, 31)
    )


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Graphene-Based FETs", ["graphene", "based", "fets"]),
        ("Espérance à l'été", ["esperance", "a", "l", "ete"]),
        ("snake_case x^2", ["snake", "case", "x", "2"]),
        ("中文 𝔸𝔹", ["中文", "ab"]),
    ],
)
def test_tokenize_splits_like_the_index(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_plain_query_takes_text_literally() -> None:
    assert plain_query('What is "what you see" -not author:x?') == ParsedQuery(
        text='What is "what you see" -not author:x?',
        terms=("What", "is", "you", "see", "not", "author:x"),
    )
