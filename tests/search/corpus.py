"""A small paper corpus for the search tests, written through upsert_papers as in production.

Each paper exists to make one ranking or filter visible; the tests state their expected order as
literal arXiv ids.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from broadsheet.ingest.records import PaperRecord, VersionRecord

INGESTED_AT = datetime(2025, 9, 30, 12, 0, tzinfo=UTC)


def record(
    arxiv_id: str,
    title: str,
    abstract: str,
    *,
    authors: tuple[str, ...] = ("Ada Lovelace",),
    categories: tuple[str, ...] = ("cs.LG",),
    announced_on: date = date(2025, 9, 22),
    version: int = 1,
) -> PaperRecord:
    submitted = datetime(announced_on.year, announced_on.month, announced_on.day, tzinfo=UTC)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=list(authors),
        categories=list(categories),
        versions=[VersionRecord(number, submitted, "100kb") for number in range(1, version + 1)],
        submitted_at=submitted,
        updated_at=submitted,
        announced_on=announced_on,
        datestamp=announced_on,
    )


CORPUS = (
    # the query word in the title beats the query word in the abstract
    record(
        "2501.00001",
        "Graphene transistors",
        "Devices built from carbon sheets switch at room temperature.",
        authors=("Ada Lovelace", "Grace Hopper"),
        categories=("cond-mat.mes-hall", "cs.ET"),
        announced_on=date(2025, 1, 6),
    ),
    record(
        "2501.00002",
        "Carbon devices",
        "We study graphene ribbons and their electronic structure under strain.",
        authors=("Grace Hopper",),
        categories=("cond-mat.mtrl-sci",),
        announced_on=date(2025, 3, 3),
    ),
    # a phrase in order, and the same words apart
    record(
        "2502.00003",
        "Pruning a neural network",
        "Sparse neural network weights keep accuracy while cutting compute.",
        authors=("Alan Turing",),
        categories=("cs.LG",),
        announced_on=date(2025, 5, 5),
    ),
    record(
        "2502.00004",
        "Cells in a signalling network",
        "A neural crest network of cells guides migration in embryos.",
        authors=("Rosalind Franklin",),
        categories=("q-bio.CB",),
        announced_on=date(2025, 7, 7),
    ),
    # accents fold: the query "esperance" finds "espérance"
    record(
        "2503.00005",
        "Espérance conditionnelle et martingales",
        "Nous étudions les martingales à temps discret.",
        authors=("Émile Borel",),
        categories=("math.PR",),
        announced_on=date(2025, 9, 1),
    ),
)
