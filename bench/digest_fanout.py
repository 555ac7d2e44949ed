"""Benchmark: compose (and render) 10,000 personalised digests over the real arXiv papers.

Imports the real papers announced in the two months before --now from the corpus in --data (through
import_snapshot, into a fresh SQLite database in a temp data dir), their Hugging Face upvote observations
(then compute_trending), embeds the papers of the last --embed-days days plus a pool of older papers used as
seeds with the configured embedder (cached on disk by text hash), and creates --subscribers subscribers with
varied preferences: daily or weekly, sizes 5-50, categories, trending on or off (some within categories),
include/exclude keywords, followed authors, seed papers, and for some, yesterday's digest already sent
(DeliveredPaper rows, so never-repeat has work to do). Then it times ComposeContext.build + compose_digest
for every subscriber (the target: <= 60 s for 10,000) and, separately, render_digest for each digest.

    .venv/bin/python bench/digest_fanout.py [--data ../shared/data] [--subscribers 10000]
    .venv/bin/python bench/digest_fanout.py --screenshot docs/images/digest-email.png
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import json
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

# The fan-out's matrix products are small (a window of papers by a few seeds): OpenBLAS's thread hand-off
# costs more than it gains, several times more on a busy machine. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "broadsheet-bench"
DEFAULT_NOW = datetime(2026, 6, 30, 7, 0, tzinfo=UTC)  # a Tuesday with a full listing
IMPORT_DAYS = 60
SEED_POOL = 400
KEYWORDS = [
    "diffusion", "language model", "LLM", "reinforcement learning", "graph", "transformer", "benchmark",
    "agent", "retrieval", "quantum", "galaxy", "segmentation", "robot", "video", "reasoning", "multimodal",
    "federated", "privacy", "dark matter", "speech", "3D", "medical", "protein", "exoplanet", "attention",
    "sparse", "quantization", "alignment", "safety", "code generation",
]
SIZES = [5, 10, 10, 10, 10, 15, 20, 30, 50]
TARGET_SECONDS = 60.0
FANOUT_CHUNK = 500
LIGHT: Literal["light"] = "light"
DARK: Literal["dark"] = "dark"


def describe_machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {model}"


def configure_django(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadsheet.settings"
    os.environ["BROADSHEET_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("BROADSHEET_BASE_URL", "https://broadsheet.example.org")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


# -- the corpus ------------------------------------------------------------------------------------------


def write_snapshot(arxiv_folder: Path, now: datetime, out: Path) -> int:
    """The papers first seen in the IMPORT_DAYS before `now`, as one snapshot file; returns the count."""
    first = (now - timedelta(days=IMPORT_DAYS)).date().isoformat()
    last = now.date().isoformat()
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for path in sorted(arxiv_folder.glob("papers-*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    item = json.loads(line)
                    if item.get("title") and first <= (item.get("update_date") or "") <= last:
                        handle.write(line if line.endswith("\n") else line + "\n")
                        count += 1
    return count


def add_hf_observations(arxiv_folder: Path, now: datetime) -> int:
    from broadsheet.papers.models import Paper
    from broadsheet.trending.models import HfObservation

    ids = dict(Paper.objects.values_list("arxiv_id", "id"))
    rows = {}
    with gzip.open(arxiv_folder / "hf_daily_observations.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            paper_id = ids.get(item["id"])
            day = date.fromisoformat(item["date"])
            observed_at = datetime(day.year, day.month, day.day, 7, 45, tzinfo=UTC)
            if paper_id is None or observed_at > now:
                continue
            rows[(paper_id, day, observed_at)] = HfObservation(
                paper_id=paper_id, daily_on=day, observed_at=observed_at,
                upvotes=int(item.get("upvotes") or 0), num_comments=int(item.get("numComments") or 0),
            )
    HfObservation.objects.bulk_create(rows.values(), batch_size=2000)
    return len(rows)


def embed_papers_cached(paper_rows: list[tuple[int, str, str, str]], cache_dir: Path) -> int:
    """Store an embedding of the configured model for each (id, title, abstract, content hash), computing
    the vectors once per distinct set of texts (cached under `cache_dir`)."""
    from broadsheet.search.embedders import get_embedder, paper_text
    from broadsheet.search.embedding import encode_vector
    from broadsheet.search.models import PaperEmbedding
    from broadsheet.search.service import embedder_name

    texts = [paper_text(title, abstract) for _, title, abstract, _ in paper_rows]
    name = embedder_name()
    digest = hashlib.sha256("\n".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = cache_dir / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}-digest-{len(texts)}-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        embedder = get_embedder(name)
        vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        started = time.perf_counter()
        for start in range(0, len(texts), 256):
            vectors[start : start + 256] = embedder.embed(texts[start : start + 256])
            done = min(start + 256, len(texts))
            print(f"  embedded {done:,}/{len(texts):,} ({done / (time.perf_counter() - started):.1f}/s)",
                  flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    now = datetime.now(UTC)
    PaperEmbedding.objects.bulk_create(
        [
            PaperEmbedding(
                paper_id=paper_id, model_name=name, content_hash=content_hash, dim=vectors.shape[1],
                vector=encode_vector(vectors[row]), embedded_at=now,
            )
            for row, (paper_id, _, _, content_hash) in enumerate(paper_rows)
        ],
        batch_size=2000,
    )
    return len(paper_rows)


# -- subscribers -----------------------------------------------------------------------------------------


def make_subscribers(count: int, now: datetime, seed: int = 7) -> list[Any]:
    """`count` active subscribers with varied preferences drawn from the corpus itself."""
    from django.db import transaction

    from broadsheet.digest.models import DeliveredPaper, Delivery, DigestRun, Subscriber
    from broadsheet.papers.models import Paper, PaperAuthor, PaperCategory
    from broadsheet.search.models import PaperEmbedding

    rng = random.Random(seed)
    recent = now.date() - timedelta(days=30)
    category_counts = Counter(
        PaperCategory.objects.filter(announced_on__gte=recent).values_list("category_id", flat=True)
    )
    categories, category_weights = zip(*category_counts.most_common(60), strict=True)
    author_counts = Counter(
        PaperAuthor.objects.filter(paper__announced_on__gte=recent).values_list("author_id", flat=True)
    )
    authors = [author_id for author_id, _ in author_counts.most_common(3000)]
    window_start = now.date() - timedelta(days=7)
    seeds = list(
        Paper.objects.filter(announced_on__lt=window_start, embeddings__isnull=False)
        .values_list("arxiv_id", flat=True)
    )
    assert PaperEmbedding.objects.exists() or not seeds
    yesterday = list(
        Paper.objects.filter(announced_on=now.date() - timedelta(days=1)).values_list("id", flat=True)
    ) or list(Paper.objects.order_by("-announced_on").values_list("id", flat=True)[:300])

    subscribers = []
    for number in range(count):
        weekly = rng.random() < 0.2
        trending_on = rng.random() < 0.85
        subscribers.append(Subscriber(
            email=f"reader{number:05d}@example.org",
            status=Subscriber.Status.ACTIVE,
            created_at=now - timedelta(days=60),
            confirmed_at=now - timedelta(days=60),
            frequency=Subscriber.Frequency.WEEKLY if weekly else Subscriber.Frequency.DAILY,
            size=rng.choice(SIZES),
            include_trending=trending_on,
            trending_categories=(
                rng.choices(categories, category_weights, k=rng.randint(1, 3))
                if trending_on and rng.random() < 0.3 else []
            ),
            categories=sorted(set(rng.choices(categories, category_weights, k=rng.randint(0, 3)))),
            include_keywords=rng.sample(KEYWORDS, rng.randint(1, 2)) if rng.random() < 0.15 else [],
            exclude_keywords=rng.sample(KEYWORDS, 1) if rng.random() < 0.1 else [],
            followed_authors=rng.sample(authors, rng.randint(1, 5)) if rng.random() < 0.4 else [],
            seed_papers=rng.sample(seeds, min(len(seeds), rng.randint(1, 5))) if rng.random() < 0.5 else [],
            seeds_from_collections=False,
        ))
    with transaction.atomic():
        Subscriber.objects.bulk_create(subscribers, batch_size=2000)
        subscribers = list(Subscriber.objects.order_by("pk"))
        # three in ten got yesterday's digest: its papers must not come again
        run = DigestRun.objects.create(started_at=now - timedelta(days=1), trigger="manual")
        sent = [subscriber for subscriber in subscribers if rng.random() < 0.3]
        deliveries = Delivery.objects.bulk_create([
            Delivery(
                subscriber=subscriber, digest_date=now.date() - timedelta(days=1), run=run,
                status=Delivery.Status.SENT, due_at=now - timedelta(days=1), cutoff_at=now,
                sent_at=now - timedelta(days=1), updated_at=now - timedelta(days=1),
                paper_ids=rng.sample(yesterday, min(len(yesterday), 10)),
            )
            for subscriber in sent
        ], batch_size=2000)
        deliveries = list(Delivery.objects.filter(run=run))
        DeliveredPaper.objects.bulk_create(
            [
                DeliveredPaper(subscriber_id=delivery.subscriber_id, paper_id=paper_id, delivery=delivery)
                for delivery in deliveries
                for paper_id in delivery.paper_ids
            ],
            batch_size=5000,
        )
    by_subscriber = {delivery.subscriber_id: delivery for delivery in deliveries}
    for subscriber in subscribers:
        if subscriber.pk in by_subscriber:
            subscriber.last_digest_at = by_subscriber[subscriber.pk].sent_at
    return subscribers


# -- the screenshot --------------------------------------------------------------------------------------


def take_screenshots(html: str, path: Path) -> list[Path]:
    """The HTML part in headless Chromium, light and dark, as PNG files."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            dark = path.with_name(f"{path.stem}-dark{path.suffix}")
            for scheme, target in ((LIGHT, path), (DARK, dark)):
                page = browser.new_page(viewport={"width": 720, "height": 900}, color_scheme=scheme)
                page.set_content(html, wait_until="load")
                page.screenshot(path=str(target), full_page=True)
                page.close()
                written.append(target)
        finally:
            browser.close()
    return written


def showcase_subscriber(subscribers: list[Any], digests: list[Any]) -> int:
    """The subscriber whose digest shows the most kinds of reasons (for the screenshot)."""
    def variety(index: int) -> tuple[int, int]:
        kinds = {reason.split(" ", 1)[0] for item in digests[index].items for reason in item.reasons}
        return (len(kinds), -abs(len(digests[index].items) - 6))

    candidates = [index for index, digest in enumerate(digests) if 5 <= len(digest.items) <= 8]
    return max(candidates or range(len(digests)), key=variety)


# -- main ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (with arxiv/)")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--now", type=datetime.fromisoformat, default=DEFAULT_NOW)
    parser.add_argument("--embed-days", type=int, default=7, help="embed the papers of this many last days")
    parser.add_argument("--render", type=int, default=None, help="render this many digests (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--screenshot", type=Path, default=None, help="write the showcase digest as PNG here")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")
    parser.add_argument("--profile", action="store_true", help="profile compose and render (cProfile)")
    args = parser.parse_args()
    now = args.now if args.now.tzinfo else args.now.replace(tzinfo=UTC)
    arxiv_folder = args.data / "arxiv"
    if not arxiv_folder.is_dir():
        print(f"no arXiv corpus at {arxiv_folder} (pass --data)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="broadsheet-digest-bench-"))
    configure_django(work)
    from django.core.management import call_command

    from broadsheet.digest.compose import ComposeContext, compose_digest
    from broadsheet.digest.render import render_digest, subscriber_local_date
    from broadsheet.ingest.snapshot import import_snapshot
    from broadsheet.papers.models import Paper
    from broadsheet.trending.score import compute_trending

    setup: list[tuple[str, float, str]] = []

    def step(name: str, began: float, note: str = "") -> None:
        setup.append((name, time.perf_counter() - began, note))
        print(f"  {name}: {setup[-1][1]:.1f} s {note}", flush=True)

    try:
        began = time.perf_counter()
        call_command("migrate", verbosity=0)
        step("migrate", began)
        began = time.perf_counter()
        snapshot = work / "papers.jsonl"
        written = write_snapshot(arxiv_folder, now, snapshot)
        result = import_snapshot(snapshot, now=now)
        step("import_snapshot", began, f"({written:,} papers of the {IMPORT_DAYS} days before --now)")
        began = time.perf_counter()
        observations = add_hf_observations(arxiv_folder, now)
        trending = compute_trending(now)
        note = f"({observations:,} rows, {trending.scored:,} scored)"
        step("HF observations + compute_trending", began, note)
        began = time.perf_counter()
        window = now.date() - timedelta(days=args.embed_days)
        fields = ("id", "title", "abstract", "content_hash")
        rows = list(Paper.objects.filter(announced_on__gt=window).order_by("id").values_list(*fields))
        older = list(Paper.objects.filter(announced_on__lte=window).order_by("id").values_list(*fields))
        rows += random.Random(3).sample(older, min(SEED_POOL, len(older)))
        embedded = embed_papers_cached(rows, args.cache)
        step("embeddings (cached by text)", began, f"({embedded:,} papers)")
        began = time.perf_counter()
        subscribers = make_subscribers(args.subscribers, now)
        step("subscribers", began, f"({len(subscribers):,})")

        # -- the timed part ------------------------------------------------------------------------------
        began = time.perf_counter()
        context = ComposeContext.build(now)
        build_seconds = time.perf_counter() - began
        per_digest: list[float] = []
        digests = []
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        began = time.perf_counter()
        for start in range(0, len(subscribers), FANOUT_CHUNK):
            chunk = subscribers[start : start + FANOUT_CHUNK]
            # what the chunk already received, in one query per 500 (counted in the first digest's time)
            one = time.perf_counter()
            context.prefetch(chunk)
            for subscriber in chunk:
                digests.append(
                    compose_digest(subscriber, since_at=subscriber.last_digest_at, now=now, context=context)
                )
                per_digest.append(time.perf_counter() - one)
                one = time.perf_counter()
        compose_seconds = time.perf_counter() - began
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        to_render = list(range(len(digests) if args.render is None else min(args.render, len(digests))))
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        began = time.perf_counter()
        for index in to_render:
            subscriber = subscribers[index]
            render_digest(digests[index], subscriber, digest_date=subscriber_local_date(subscriber, now))
        render_seconds = time.perf_counter() - began
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        shots: list[Path] = []
        if args.screenshot is not None:
            index = showcase_subscriber(subscribers, digests)
            subscriber = subscribers[index]
            rendered = render_digest(
                digests[index], subscriber, digest_date=subscriber_local_date(subscriber, now)
            )
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            shots = take_screenshots(rendered.html, args.screenshot)
            (work / "showcase.txt").write_text(rendered.text, encoding="utf-8")
            print(f"\nshowcase: {subscriber.email}: {rendered.subject}\n{rendered.text}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    sizes = [len(digest.items) for digest in digests]
    reasons = Counter(
        reason.split(" ", 1)[0] for digest in digests for item in digest.items for reason in item.reasons
    )
    total = build_seconds + compose_seconds
    per_ms = sorted(seconds * 1000 for seconds in per_digest)
    print()
    print(f"machine: {describe_machine()}, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    vectors = "none" if context.vectors is None else "x".join(map(str, context.vectors.shape))
    print(f"corpus: {result.seen:,} papers imported, {len(context.papers):,} in the 14-day context, "
          f"{len(context.trending):,} trending, vectors {vectors}")
    print()
    print(f"| {'step':<38} | {'seconds':>8} | note")
    print(f"|{'-' * 40}|{'-' * 10}|------")
    for name, seconds, note in setup:
        print(f"| {name:<38} | {seconds:>8.2f} | {note}")
    print(f"| {'ComposeContext.build':<38} | {build_seconds:>8.2f} |")
    print(f"| {f'compose_digest x {len(digests):,}':<38} | {compose_seconds:>8.2f} | "
          f"per digest p50 {statistics.median(per_ms):.2f} ms, "
          f"p95 {per_ms[int(0.95 * (len(per_ms) - 1))]:.2f} ms, "
          f"max {per_ms[-1]:.1f} ms")
    print(f"| {f'render_digest x {len(to_render):,}':<38} | {render_seconds:>8.2f} | "
          f"{1000 * render_seconds / max(len(to_render), 1):.2f} ms each (separate from the target)")
    print()
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in reasons.most_common())
    print(f"digests: {sum(sizes) / len(sizes):.1f} papers on average, {sizes.count(0):,} empty, "
          f"{sum(sizes):,} items; reasons by first word: {kinds}")
    for shot in shots:
        print(f"screenshot: {shot}")
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(f"\nsummary: {len(digests):,} digests composed in {total:.1f} s (context {build_seconds:.1f} s + "
          f"compose {compose_seconds:.1f} s), {verdict} the {TARGET_SECONDS:.0f} s target; "
          f"rendering them took {render_seconds:.1f} s more")
    return 0 if total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
