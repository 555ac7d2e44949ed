"""The search query language: free text, "quoted phrases", -exclusions, author:, cat:, from:/to: dates.

Rule: free text never fails to parse (stray quotes, FTS operators, control characters and lone
surrogates are text or dropped); only an over-long query or a malformed operator value is a QueryError,
whose message is shown to the user as it is. Nothing here knows a backend's syntax: backends quote
every token they pass on.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from broadsheet.ingest.records import normalize_author_name

# A query is typed by a person; abstracts pasted whole are the longest honest input. Callers that search
# with whole documents (evaluation on query-by-example collections) pass larger limits.
MAX_QUERY_CHARS = 1000
MAX_TERMS = 64  # distinct free words kept (in the order typed); each costs the keyword backend a lookup
MAX_OPERATOR_VALUE_CHARS = 200
FIELD_ALIASES = {
    "author": "author",
    "au": "author",
    "cat": "category",
    "category": "category",
    "from": "from",
    "since": "from",
    "to": "to",
    "until": "to",
}
CATEGORY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]{0,39}$")
DATE_PATTERN = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
WORD_RUN = re.compile(r"[^\s\"]+")
# tokens as SQLite's unicode61 tokenizer sees them: runs of letters and digits (underscore separates)
TOKEN = re.compile(r"[^\W_]+")
SURROGATE = re.compile(r"[\ud800-\udfff]")


class QueryError(ValueError):
    """A query that cannot be run as written; the message says what to change."""


class SortOrder(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    TRENDING = "trending"


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    KEYWORD = "keyword"
    VECTOR = "vector"


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on which papers may be returned; dates are announcement days, inclusive.

    Several authors must all be on a paper; several categories are alternatives (any of them).
    """

    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.authors or self.categories or self.date_from or self.date_to)

    def merge(self, other: SearchFilters) -> SearchFilters:
        """Both sets of restrictions at once (the narrower date range)."""
        date_from = max((d for d in (self.date_from, other.date_from) if d), default=None)
        date_to = min((d for d in (self.date_to, other.date_to) if d), default=None)
        if date_from and date_to and date_from > date_to:
            raise QueryError(f"the date range is empty: from {date_from} is after to {date_to}")
        return SearchFilters(
            authors=_unique(self.authors + other.authors),
            categories=_unique(self.categories + other.categories),
            date_from=date_from,
            date_to=date_to,
        )


@dataclass(frozen=True)
class ParsedQuery:
    """A query as the backends take it. `terms` may match in part (ranked), `phrases` must all match,
    `excluded` words and phrases must not; `text` is the positive words in the order typed, for
    embedding."""

    text: str = ""
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    filters: SearchFilters = field(default_factory=SearchFilters)
    ignored_terms: tuple[str, ...] = ()  # free words past MAX_TERMS, left out

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def is_empty(self) -> bool:
        return not self.has_text and not self.excluded and self.filters.is_empty

    @property
    def highlight_words(self) -> tuple[str, ...]:
        """The tokens a result may be highlighted for."""
        return _unique(tuple(token for item in self.terms + self.phrases for token in tokenize(item)))


def tokenize(text: str) -> list[str]:
    """Lower-case tokens with accents removed, as the keyword index splits text (letters and digits)."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return TOKEN.findall(text.casefold())


def clean_text(text: str) -> str:
    """NFKC text with lone surrogates as U+FFFD and control characters (NUL included) as spaces: what
    every database driver accepts."""
    text = SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text)
    return "".join(" " if unicodedata.category(ch) in {"Cc", "Cs"} else ch for ch in text)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return tuple(kept)


def _strip_word(word: str) -> str:
    """A free word without the punctuation around it (`(graphene),` -> `graphene`); empty when it has
    no letter or digit at all (`*`, `^`, `NEAR(` keeps `NEAR`)."""
    if not TOKEN.search(word):
        return ""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def parse_date(value: str, *, end: bool) -> date:
    """`2025`, `2025-06` or `2025-06-30`; a year or month stands for its first day (`end`: its last)."""
    match = DATE_PATTERN.match(value)
    if not match:
        raise QueryError(f"not a date: {value[:40]!r}; write it as YYYY-MM-DD (or YYYY-MM, or YYYY)")
    year = int(match.group(1))
    month = int(match.group(2) or (12 if end else 1))
    if match.group(3):
        day = int(match.group(3))
    else:
        day = calendar.monthrange(year, month)[1] if end and 1 <= month <= 12 and year >= 1 else 1
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise QueryError(f"not a date: {value[:40]!r} ({exc})") from exc


def parse_category(value: str) -> str:
    if not CATEGORY_PATTERN.match(value):
        raise QueryError(f"not an arXiv category: {value[:40]!r}; write it like cs.CL, or an archive like cs")
    return value


def parse_author(value: str) -> str:
    name = " ".join(value.split())
    if not TOKEN.search(normalize_author_name(name)):
        raise QueryError(f"author: needs a name, got {value[:40]!r}")
    return name


def parse_query(text: str, *, max_chars: int = MAX_QUERY_CHARS, max_terms: int = MAX_TERMS) -> ParsedQuery:
    """Parse what a person typed into a search box (QueryError past `max_chars`; free words past
    `max_terms` distinct ones are left out and listed in `ignored_terms`).

    `author:NAME` (also `author:"Ada Lovelace"`), `cat:cs.CL` (or an archive: `cat:cs`), `from:2025-01-01`
    and `to:2025-06-30` (also YYYY-MM or YYYY) are filters; `"a phrase"` must appear as written;
    `-word` and `-"a phrase"` must not appear; everything else is ranked free text. An operator
    name nobody knows (`col:x`) is text. A quote left open runs to the end.
    """
    if len(text) > max_chars:
        raise QueryError(f"the query is too long ({len(text)} characters); the limit is {max_chars}")
    text = clean_text(text)
    positives: list[str] = []
    terms: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    authors: list[str] = []
    categories: list[str] = []
    date_from: date | None = None
    date_to: date | None = None

    position, length = 0, len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        negated = char == "-" and position + 1 < length and not text[position + 1].isspace()
        if negated:
            position += 1
        if text[position] == '"':
            closing = text.find('"', position + 1)
            end = length if closing < 0 else closing
            phrase = " ".join(text[position + 1 : end].split())
            position = end + 1
            if TOKEN.search(phrase):
                (excluded if negated else phrases).append(phrase)
                if not negated:
                    positives.append(phrase)
            continue
        match = WORD_RUN.match(text, position)
        assert match is not None  # position is at a non-space, non-quote character
        word = match.group()
        position = match.end()
        name, colon, value = word.partition(":")
        field_name = FIELD_ALIASES.get(name.casefold()) if colon else None
        if field_name is not None:
            if not value and position < length and text[position] == '"':
                closing = text.find('"', position + 1)
                end = length if closing < 0 else closing
                value = text[position + 1 : end]
                position = end + 1
            value = value.strip()
            if value:
                if negated:
                    raise QueryError(f"-{name}: is not supported; filters cannot be negated")
                if len(value) > MAX_OPERATOR_VALUE_CHARS:
                    raise QueryError(
                        f"{name}: value is too long (limit {MAX_OPERATOR_VALUE_CHARS} characters)"
                    )
                if field_name == "author":
                    authors.append(parse_author(value))
                elif field_name == "category":
                    categories.append(parse_category(value))
                elif field_name == "from":
                    date_from = parse_date(value, end=False)
                else:
                    date_to = parse_date(value, end=True)
                continue
        stripped = _strip_word(word)
        if not stripped:
            continue
        if negated:
            excluded.append(stripped)
        else:
            terms.append(stripped)
            positives.append(stripped)

    filters = SearchFilters(_unique(tuple(authors)), _unique(tuple(categories)))
    filters = filters.merge(SearchFilters(date_from=date_from, date_to=date_to))
    all_terms = _unique(tuple(terms))
    kept_phrases = _unique(tuple(phrases))
    kept_excluded = _unique(tuple(excluded))
    if len(kept_phrases) + len(kept_excluded) > max_terms:
        raise QueryError(f"the query has too many phrases and exclusions; the limit is {max_terms}")
    return ParsedQuery(
        text=" ".join(positives),
        terms=all_terms[:max_terms],
        phrases=kept_phrases,
        excluded=kept_excluded,
        filters=filters,
        ignored_terms=all_terms[max_terms:],
    )


def plain_query(text: str) -> ParsedQuery:
    """`text` taken literally: every word a free word, no operators, quotes or limits. For searching with
    a question or a document (evaluation collections, "more like this"), where `"` and `-` are prose."""
    text = clean_text(text)
    words = (_strip_word(word) for word in text.split())
    return ParsedQuery(text=" ".join(text.split()), terms=_unique(tuple(word for word in words if word)))
