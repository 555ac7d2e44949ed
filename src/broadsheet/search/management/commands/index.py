"""`broadsheet index rebuild|keyword|status`: rebuild the vector index files from stored embeddings (and
tend the keyword index), tend the keyword index alone (merge its segments, refill its word counts), or
describe both.

Rule: the command parses arguments and reports; the work is done by broadsheet.search.vector_index.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from broadsheet.search import keyword, terms
from broadsheet.search.models import PaperEmbedding
from broadsheet.search.vector_index import VectorIndex, index_path, rebuild_vector_index


def stored_model_names() -> list[str]:
    """Every model that has stored embeddings, in name order."""
    return sorted(PaperEmbedding.objects.values_list("model_name", flat=True).distinct())


def describe_index(model_name: str) -> str:
    """One line: the index file of a model against its stored embeddings."""
    path = index_path(model_name)
    stored = PaperEmbedding.objects.filter(model_name=model_name).count()
    index = VectorIndex.open(path)
    if index.signature is None:
        return f"{model_name}: no index file ({stored:,} stored embeddings); run `broadsheet index rebuild`"
    kind = "exact scan" if index.is_exact else "faiss IVF int8 lists"
    modified_at = datetime.fromtimestamp(index.signature[3] / 1e9, tz=UTC)
    in_step = "in step with" if len(index) == stored else "OUT OF STEP with"
    return (
        f"{model_name}: {len(index):,} vectors of dimension {index.dim} ({kind}), "
        f"{index.size_bytes() / 1e6:,.1f} MB, written {modified_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"{in_step} {stored:,} stored embeddings; file {path}"
    )


def describe_terms() -> str:
    """One line: the word counts of the keyword search (SQLite only)."""
    if not terms.supported():
        return "word counts: PostgreSQL counts words with its own index; nothing to keep"
    if not terms.is_large():
        smallest = keyword.DF_CACHE_MIN_DOCS
        return f"word counts: not used under {smallest:,} papers (each query counts its words)"
    state = terms.term_stats_state()
    if state is None:
        return "word counts: never filled; words are counted per query (run `broadsheet index keyword`)"
    due = " (due for a refill)" if terms.is_stale() else ""
    return (
        f"word counts: {state.term_count:,} words held by {state.min_documents:,}+ of "
        f"{state.document_count:,} papers, filled {state.refreshed_at:%Y-%m-%d %H:%M:%S} UTC{due}"
    )


class Command(BaseCommand):
    help = (
        "Rebuild the vector index files from the stored paper embeddings (and tend the keyword index), "
        "tend the keyword index alone, or show the state of both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{rebuild,keyword,status}")
        rebuild = actions.add_parser("rebuild", help="rebuild index files from the PaperEmbedding rows")
        rebuild.add_argument(
            "--model",
            action="append",
            dest="models",
            metavar="NAME",
            help="embedding model name (repeatable; default: every model with stored embeddings)",
        )
        actions.add_parser(
            "keyword",
            help="merge the full-text index and refill the word counts keyword search reads "
            "(SQLite; also done by rebuild)",
        )
        status = actions.add_parser("status", help="show each index file and its stored embeddings")
        status.add_argument("--model", action="append", dest="models", metavar="NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action in ("keyword", "rebuild"):
            self.keyword_upkeep()
        if action == "keyword":
            return
        models = options.get("models") or stored_model_names()
        if action == "status":
            self.stdout.write(describe_terms())
        if not models:
            self.stdout.write("no stored embeddings: run `broadsheet embed` first")
            return
        if action == "status":
            for model_name in models:
                self.stdout.write(describe_index(model_name))
            return
        for model_name in models:
            started = time.perf_counter()
            index = rebuild_vector_index(model_name)
            seconds = time.perf_counter() - started
            kind = "exact scan" if index.is_exact else "faiss IVF int8 lists"
            self.stdout.write(
                f"{model_name}: {len(index):,} vectors ({kind}) in {seconds:.1f} s -> {index.path}"
            )

    def keyword_upkeep(self) -> None:
        started = time.perf_counter()
        steps = terms.merge_fulltext_index()
        merged = time.perf_counter() - started
        state = terms.refresh_term_stats()
        if state is None:
            self.stdout.write("keyword index: PostgreSQL tends its own index; nothing to do")
            return
        self.stdout.write(
            f"keyword index: merged into one segment in {merged:.1f} s ({steps} steps); word counts: "
            f"{state.term_count:,} words held by {state.min_documents:,}+ of {state.document_count:,} papers "
            f"in {time.perf_counter() - started - merged:.1f} s"
        )
