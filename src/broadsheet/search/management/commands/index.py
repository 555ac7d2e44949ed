"""`broadsheet index rebuild|status`: rebuild the vector index files from stored embeddings, or describe them.

Rule: the command parses arguments and reports; the work is done by broadsheet.search.vector_index.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

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
    kind = "exact scan" if index.is_exact else "HNSW int8 graph"
    modified_at = datetime.fromtimestamp(index.signature[3] / 1e9, tz=UTC)
    in_step = "in step with" if len(index) == stored else "OUT OF STEP with"
    return (
        f"{model_name}: {len(index):,} vectors of dimension {index.dim} ({kind}), "
        f"{index.size_bytes() / 1e6:,.1f} MB, written {modified_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"{in_step} {stored:,} stored embeddings; file {path}"
    )


class Command(BaseCommand):
    help = "Rebuild the vector index files from the stored paper embeddings, or show their state."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{rebuild,status}")
        rebuild = actions.add_parser("rebuild", help="rebuild index files from the PaperEmbedding rows")
        rebuild.add_argument(
            "--model",
            action="append",
            dest="models",
            metavar="NAME",
            help="embedding model name (repeatable; default: every model with stored embeddings)",
        )
        status = actions.add_parser("status", help="show each index file and its stored embeddings")
        status.add_argument("--model", action="append", dest="models", metavar="NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        models = options["models"] or stored_model_names()
        if not models:
            self.stdout.write("no stored embeddings: run `broadsheet embed` first")
            return
        if options["action"] == "status":
            for model_name in models:
                self.stdout.write(describe_index(model_name))
            return
        for model_name in models:
            started = time.perf_counter()
            index = rebuild_vector_index(model_name)
            seconds = time.perf_counter() - started
            kind = "exact scan" if index.is_exact else "HNSW int8 graph"
            self.stdout.write(
                f"{model_name}: {len(index):,} vectors ({kind}) in {seconds:.1f} s -> {index.path}"
            )
