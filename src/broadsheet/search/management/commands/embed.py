"""`broadsheet embed [--model NAME] [--limit N] [--batch-size N] [--no-index]`: embed new and changed papers.

Rule: the command parses arguments, shows progress and reports one summary line; the work is done by
broadsheet.search.embedding (and the vector index update by broadsheet.search.vector_index).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from broadsheet.search.embedders import EmbedderUnavailable, get_embedder
from broadsheet.search.embedding import EMBED_BATCH_SIZE, EmbedResult, embed_papers, update_vector_index


def format_summary(result: EmbedResult, seconds: float) -> str:
    rate = result.embedded / seconds if seconds > 0 else 0.0
    left = result.needing - result.embedded
    tail = f"; {left:,} left" if left else ""
    return (
        f"embed {result.model_name}: {result.embedded:,} papers embedded in {seconds:.1f} s, "
        f"{rate:,.1f} papers/s{tail}"
    )


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(f"expected a positive number, got {raw}")
    return value


class Command(BaseCommand):
    help = "Embed the title and abstract of papers that are new or changed, and update the vector index."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            default=None,
            help="embedder name (default: BROADSHEET_EMBEDDER), e.g. st:all-MiniLM-L6-v2",
        )
        parser.add_argument("--limit", type=positive_int, default=None, help="embed at most N papers")
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=EMBED_BATCH_SIZE,
            help=f"papers embedded and committed together (default {EMBED_BATCH_SIZE})",
        )
        parser.add_argument(
            "--no-index", action="store_true", help="store the vectors only; leave the vector index alone"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(stderr=True)
        try:
            embedder = get_embedder(options["model"])
        except EmbedderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        started = time.monotonic()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:,.1f} papers/s"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        ) as progress:
            task = progress.add_task(f"embed {embedder.name}", total=None, rate=0.0)

            def on_progress(totals: EmbedResult) -> None:
                elapsed = time.monotonic() - started
                progress.update(
                    task,
                    completed=totals.embedded,
                    total=totals.pending,
                    rate=totals.embedded / elapsed if elapsed > 0 else 0.0,
                )

            result = embed_papers(
                embedder=embedder,
                now=timezone.now(),
                batch_size=options["batch_size"],
                on_progress=on_progress,
                limit=options["limit"],
            )
        self.stdout.write(format_summary(result, time.monotonic() - started))
        if not options["no_index"]:
            self.stdout.write(update_vector_index(embedder.name, result.paper_ids))
