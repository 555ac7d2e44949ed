"""Benchmark: search latency, index build time, memory and disk at N papers (100k, 1M).

The corpus is the real arXiv papers in --data (91,828 in the shared corpus) replicated with perturbation
up to N: copy c of a paper gets a synthetic identifier, its sentences rotated and about one word in ten
replaced by a word of another real paper (so that word frequencies, and the cost of common-word queries,
stay realistic). It is written as a metadata snapshot and imported with import_snapshot, the real import path.

Vectors: --base real papers are embedded with the configured embedder (cached on disk); every other paper gets
normalise(a v_i + (1 - a) v_j + 0.3 g): v_i a random real vector, v_j one of its 20 nearest real neighbours,
a uniform in [0, 1], g Gaussian of norm ~1 (a new paper between two related real ones: a title query's best
similarity is then about what it is among real papers). The vectors are stored as PaperEmbedding rows, and
the index is built by `broadsheet index rebuild`. A fresh process then opens the database and the index like
a web worker and times search_papers for a fixed query mix in each mode (query embedding included), and
reports its resident memory. Recall@10 of the index is measured against an exact
float32 scan of all N vectors, for the embedded queries of the mix.

    .venv/bin/python bench/search_latency.py --papers 100000
    .venv/bin/python bench/search_latency.py --papers 1000000 --work /var/tmp/bs-latency  # several GB
    .venv/bin/python bench/search_latency.py --papers 1000000 --index-only   # the vector index alone
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data" / "arxiv"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "broadsheet-bench"
NOW = datetime(2026, 9, 1, tzinfo=UTC)
VECTOR_NOISE = 0.3
NEIGHBOURS = 20
WORD_SWAP_RATE = 0.1
RESULTS_PER_PAGE = 20
RECALL_QUERIES = 200

# Queries of every kind a reader types. Common-word queries are the worst case of an OR-matching keyword
# engine: nearly every row matches them.
COMMON_WORD_QUERIES = [
    "the model",
    "a new method for learning",
    "we propose a novel approach",
    "results show that the",
    "in this paper we",
    "learning",
    "data",
    "neural network",
    "deep learning model",
    "a study of the",
]
TOPICAL_QUERIES = [
    "diffusion models for video generation",
    "large language model reasoning",
    "retrieval augmented generation",
    "graph neural networks",
    "gravitational wave detection",
    "exoplanet atmosphere spectroscopy",
    "vision transformer token pruning",
    "reinforcement learning from human feedback",
    "low resource speech recognition",
    "3D gaussian splatting",
    "medical image segmentation",
    "dark matter halo",
    "protein structure prediction",
    "autonomous driving perception",
    "federated learning privacy",
    '"neural radiance fields"',
    "transformer -vision",
    "cat:cs.CL language model evaluation",
    "cat:astro-ph.GA star formation",
    "quantum error correction codes",
]
TITLE_QUERIES_PER_MODE = 150


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


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def configure_django(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadsheet.settings"
    os.environ["BROADSHEET_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    status = Path("/proc/self/status").read_text()
    current = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return current, peak


def percentiles(samples_ms: list[float]) -> tuple[float, float, float]:
    values = np.asarray(samples_ms)
    return (
        float(np.percentile(values, 50)),
        float(np.percentile(values, 95)),
        float(np.percentile(values, 99)),
    )


# -- the corpus --------------------------------------------------------------------------------------------

KEPT_FIELDS = (
    "id",
    "title",
    "abstract",
    "authors",
    "authors_parsed",
    "categories",
    "versions",
    "update_date",
)


def read_real_papers(folder: Path) -> list[dict[str, Any]]:
    papers = []
    for path in sorted(folder.glob("papers-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                item = json.loads(line)
                if item.get("title"):
                    papers.append({key: item.get(key) for key in KEPT_FIELDS})
    return papers


def synthetic_id(number: int) -> str:
    """Identifiers no real paper has (`7000.00000` ...), valid for the arXiv id parser."""
    return f"{7000 + number // 100_000:04d}.{number % 100_000:05d}"


def perturbed_copy(paper: dict[str, Any], number: int, donor: dict[str, Any], rng: random.Random) -> dict:
    """Another paper like `paper`: rotated sentences, about one word in ten taken from `donor`."""
    donor_words = (donor["abstract"] or donor["title"]).split()

    def swap(text: str) -> str:
        words = text.split()
        for i in range(len(words)):
            if rng.random() < WORD_SWAP_RATE:
                words[i] = rng.choice(donor_words)
        return " ".join(words)

    sentences = re.split(r"(?<=\.) ", paper["abstract"] or "")
    turn = rng.randrange(len(sentences)) if sentences else 0
    copy = dict(paper)
    copy["id"] = synthetic_id(number)
    copy["title"] = swap(paper["title"])
    copy["abstract"] = swap(" ".join(sentences[turn:] + sentences[:turn]))
    return copy


def corpus_lines(real: list[dict[str, Any]], count: int, seed: int = 1) -> Iterator[str]:
    """The N papers of the corpus: every real paper once, then perturbed copies."""
    rng = random.Random(seed)
    for number in range(count):
        if number < len(real):
            yield json.dumps(real[number])
        else:
            yield json.dumps(perturbed_copy(real[number % len(real)], number, rng.choice(real), rng))


# -- vectors -----------------------------------------------------------------------------------------------


def embed_base(embedder: Any, texts: list[str], cache_dir: Path) -> np.ndarray:
    """Real embeddings of `texts`, cached on disk by model name and a hash of the texts."""
    digest = hashlib.sha256("\n".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)
    path = cache_dir / f"{name}-arxiv-base-{len(texts)}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, len(texts), 512):
        vectors[start : start + 512] = embedder.embed(texts[start : start + 512])
        done = min(start + 512, len(texts))
        print(
            f"  embedded {done:,}/{len(texts):,} ({done / (time.perf_counter() - started):.1f}/s)", flush=True
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def corpus_vectors(
    base: np.ndarray, base_rows: dict[str, int], arxiv_ids: list[str], seed: int = 2
) -> np.ndarray:
    """One unit vector per paper: its own real embedding when it has one, else a new point between a real
    vector and one of its 20 nearest real neighbours, plus a little noise (see the module docstring)."""
    rng = np.random.default_rng(seed)
    similarity = base @ base.T
    np.fill_diagonal(similarity, -np.inf)
    near = np.argsort(-similarity, axis=1)[:, :NEIGHBOURS]
    del similarity
    vectors = np.empty((len(arxiv_ids), base.shape[1]), dtype=np.float32)
    for start in range(0, len(arxiv_ids), 50_000):
        chunk = arxiv_ids[start : start + 50_000]
        rows = np.array([base_rows.get(a, -1) for a in chunk])
        first = rng.integers(0, len(base), len(chunk))
        second = near[first, rng.integers(0, NEIGHBOURS, len(chunk))]
        share = rng.random((len(chunk), 1)).astype(np.float32)
        noise = rng.standard_normal((len(chunk), base.shape[1])).astype(np.float32) / np.sqrt(base.shape[1])
        mixed = share * base[first] + (1 - share) * base[second] + VECTOR_NOISE * noise
        block = np.where(rows[:, None] >= 0, base[np.maximum(rows, 0)], mixed)
        vectors[start : start + len(chunk)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def store_embeddings(model_name: str, paper_ids: list[int], hashes: list[str], vectors: np.ndarray) -> None:
    from django.db import transaction

    from broadsheet.search.models import PaperEmbedding

    dim = vectors.shape[1]
    PaperEmbedding.objects.filter(model_name=model_name).delete()
    for start in range(0, len(paper_ids), 5_000):
        with transaction.atomic():
            PaperEmbedding.objects.bulk_create(
                PaperEmbedding(
                    paper_id=paper_id,
                    model_name=model_name,
                    content_hash=content_hash,
                    dim=dim,
                    vector=vector.astype("<f2").tobytes(),
                    embedded_at=NOW,
                )
                for paper_id, content_hash, vector in zip(
                    paper_ids[start : start + 5_000],
                    hashes[start : start + 5_000],
                    vectors[start : start + 5_000],
                    strict=True,
                )
            )


def index_recall(index: Any, vectors: np.ndarray, paper_ids: np.ndarray, queries: np.ndarray) -> float:
    """Mean overlap of the index's top 10 with an exact float32 scan of every vector."""
    hits = []
    for query in queries:
        scores = np.empty(len(vectors), dtype=np.float32)
        for start in range(0, len(vectors), 200_000):
            scores[start : start + 200_000] = vectors[start : start + 200_000] @ query
        exact = set(paper_ids[np.argpartition(-scores, 10)[:10]].tolist())
        found = {paper_id for paper_id, _ in index.search(query, 10)}
        hits.append(len(exact & found) / 10)
    return float(np.mean(hits))


# -- serving -----------------------------------------------------------------------------------------------


def search_function() -> tuple[str, Callable[[str, str], Any]]:
    """search_papers when it exists, else its parts (keyword_search, the embedder + index, fusion)."""
    try:
        from broadsheet.search.service import search_papers
    except ImportError:
        search_papers = None
    if search_papers is not None:

        def through_service(text: str, mode: str) -> Any:
            return search_papers(text, mode=mode, sort="relevance", limit=RESULTS_PER_PAGE, offset=0, now=NOW)

        return "search_papers", through_service

    from broadsheet.search.embedders import get_embedder
    from broadsheet.search.fusion import reciprocal_rank_fusion
    from broadsheet.search.keyword import keyword_search
    from broadsheet.search.query import parse_query
    from broadsheet.search.vector_index import get_vector_index

    embedder = get_embedder()

    def through_parts(text: str, mode: str) -> Any:
        keyword = keyword_search(parse_query(text), limit=100, filters=None) if mode != "vector" else []
        vector = (
            get_vector_index(embedder.name).search(embedder.embed([text])[0], 100)
            if mode != "keyword"
            else []
        )
        return reciprocal_rank_fusion([keyword, vector])[:RESULTS_PER_PAGE]

    return "keyword_search + VectorIndex + reciprocal_rank_fusion", through_parts


def index_only_search() -> tuple[str, Callable[[str, str], Any]]:
    """Query embedding + the vector index alone (--index-only: no database rows)."""
    from broadsheet.search.embedders import get_embedder
    from broadsheet.search.vector_index import get_vector_index

    embedder = get_embedder()

    def through_index(text: str, mode: str) -> Any:
        return get_vector_index(embedder.name).search(embedder.embed([text])[0], 100)

    return "get_embedder().embed + VectorIndex.search (no database)", through_index


def warm_page_cache(data_dir: Path) -> None:
    """Read the database and index files once, as a server that has been up a while has them in the OS page
    cache (this machine's memory reclaimer evicts files not read for a few minutes)."""
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and (path.name.startswith("broadsheet.sqlite3") or path.suffix == ".index"):
            with open(path, "rb") as handle:
                while handle.read(1 << 24):
                    pass


def serve(data_dir: Path, queries_file: Path, index_only: bool) -> int:
    """The measuring process: opens the database and index like a web worker, times the query mix."""
    warm_page_cache(data_dir)
    started = time.perf_counter()
    configure_django(data_dir)
    from broadsheet.search.embedders import get_embedder

    plan = json.loads(queries_file.read_text())
    label, search = index_only_search() if index_only else search_function()
    modes = ("vector",) if index_only else ("hybrid", "vector", "keyword")
    embedder = get_embedder()
    for text in plan["warmup"]:  # loads the model, opens the index, fills Django's caches
        for mode in modes:
            search(text, mode)
    startup_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {}
    # hybrid first: if the service caches query embeddings, the fixed queries are cold there
    for mode in modes:
        for kind, texts in plan[mode].items():
            samples = timings.setdefault(f"{mode}:{kind}", [])
            for text in texts:
                began = time.perf_counter()
                search(text, mode)
                samples.append((time.perf_counter() - began) * 1000)
    embed_ms = []
    for text in plan["embed"]:
        began = time.perf_counter()
        embedder.embed([text])
        embed_ms.append((time.perf_counter() - began) * 1000)
    timings["query embedding"] = embed_ms
    current, peak = rss_mb()
    print(
        json.dumps(
            {
                "path": label,
                "timings": timings,
                "rss_mb": current,
                "peak_rss_mb": peak,
                "startup_seconds": startup_seconds,
            }
        )
    )
    return 0


# -- the run -----------------------------------------------------------------------------------------------


def write_plan(real: list[dict[str, Any]], base: int, work: Path) -> tuple[list[str], Path]:
    """The query mix: fixed lists plus titles of real papers outside the base (disjoint samples per mode)."""
    titles = [p["title"] for p in real[base : base + 4 * TITLE_QUERIES_PER_MODE]]
    plan: dict[str, Any] = {"warmup": titles[-5:], "embed": titles[:100]}
    for n, mode in enumerate(("keyword", "vector", "hybrid")):
        plan[mode] = {
            "common words": COMMON_WORD_QUERIES,
            "topical": TOPICAL_QUERIES,
            "titles": titles[n * TITLE_QUERIES_PER_MODE : (n + 1) * TITLE_QUERIES_PER_MODE],
        }
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan))
    return titles, plan_file


def serve_in_fresh_process(data_dir: Path, plan_file: Path, index_only: bool) -> dict[str, Any] | None:
    command = [sys.executable, __file__, "--serve", str(data_dir), "--plan", str(plan_file)]
    extra = ["--index-only"] if index_only else []
    served = subprocess.run(command + extra, capture_output=True, text=True, check=False)
    if served.returncode != 0:
        print(served.stdout, served.stderr, file=sys.stderr)
        return None
    return json.loads(served.stdout.strip().splitlines()[-1])


def run_index_only(args: argparse.Namespace, work: Path, real: list[dict[str, Any]], step, steps) -> int:
    """N vectors straight into VectorIndex.build (the code `broadsheet index rebuild` ends in), recall, and
    query embedding + index search timed in a fresh process."""
    from broadsheet.search.embedders import get_embedder, paper_text
    from broadsheet.search.vector_index import VectorIndex, index_path

    data_dir = work / "data"
    embedder = get_embedder()
    base_papers = real[: args.base]
    began = time.perf_counter()
    base = embed_base(
        embedder, [paper_text(p["title"], p["abstract"] or "") for p in base_papers], args.cache
    )
    step("embed base papers (cached after the first run)", began, f"({len(base_papers):,}, {embedder.name})")
    began = time.perf_counter()
    arxiv_ids = [p["id"] for p in real] + [synthetic_id(n) for n in range(len(real), args.papers)]
    vectors = corpus_vectors(base, {p["id"]: i for i, p in enumerate(base_papers)}, arxiv_ids[: args.papers])
    paper_ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    step("make vectors", began, f"({len(vectors):,})")
    began = time.perf_counter()
    index = VectorIndex.build(paper_ids, vectors, index_path(embedder.name))
    step("VectorIndex.build", began)
    titles, plan_file = write_plan(real, args.base, work)
    began = time.perf_counter()
    recall_texts = (COMMON_WORD_QUERIES + TOPICAL_QUERIES + titles)[:RECALL_QUERIES]
    recall = index_recall(index, vectors, paper_ids, embedder.embed(recall_texts))
    step("recall@10 against exact scan", began, f"({len(recall_texts)} queries)")
    del vectors
    began = time.perf_counter()
    report = serve_in_fresh_process(data_dir, plan_file, index_only=True)
    if report is None:
        return 1
    step("timed queries (fresh process)", began)
    print()
    print(
        f"N = {args.papers:,} vectors (index only, no database): {args.base:,} real embeddings "
        f"({embedder.name}), the rest made from them; index: "
        f"{'exact scan' if index.is_exact else 'IVF-SQ8'}; searched through {report['path']}"
    )
    vector = print_timings(report)["vector"]
    for label, seconds, note in steps:
        print(f"{label:<48} {seconds:>9.1f} s {note}")
    print(
        f"measuring process: RSS {report['rss_mb']:,.0f} MB (peak {report['peak_rss_mb']:,.0f} MB); "
        f"vector index {index.size_bytes() / 1e6:,.0f} MB"
    )
    print(
        f"vector search at N={args.papers:,}: p50 {vector[0]:.1f} ms, p95 {vector[1]:.1f} ms, "
        f"p99 {vector[2]:.1f} ms (query embedding included), recall@10 {recall:.3f}, "
        f"RSS {report['rss_mb']:,.0f} MB; machine: "
        f"{describe_machine()}, load average {load_average()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000, help="corpus size N")
    parser.add_argument("--base", type=int, default=5_000, help="real papers embedded for the vectors")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of arXiv snapshot files")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding cache folder")
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the database (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--index-only",
        action="store_true",
        help="only the vector index: N vectors built with VectorIndex.build, no database rows; times query "
        "embedding + index search (for sizes whose import does not fit the time at hand)",
    )
    parser.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve is not None:
        return serve(args.serve, args.plan, args.index_only)
    work = args.work or Path(tempfile.mkdtemp(prefix="broadsheet-latency-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir()
    configure_django(data_dir)
    from django.core.management import call_command

    from broadsheet.ingest.snapshot import import_snapshot
    from broadsheet.papers.models import Paper
    from broadsheet.search.embedders import get_embedder, paper_text
    from broadsheet.search.vector_index import get_vector_index, index_path

    steps: list[tuple[str, float, str]] = []

    def step(label: str, began: float, note: str = "") -> None:
        seconds = time.perf_counter() - began
        steps.append((label, seconds, note))
        print(f"{label}: {seconds:.1f} s {note}", flush=True)

    try:
        began = time.perf_counter()
        real = read_real_papers(args.data)
        rng = random.Random(3)
        rng.shuffle(real)
        step("read real papers", began, f"({len(real):,})")

        if args.index_only:
            return run_index_only(args, work, real, step, steps)
        began = time.perf_counter()
        snapshot = work / "corpus.jsonl"
        with open(snapshot, "w", encoding="utf-8") as handle:
            for line in corpus_lines(real, args.papers):
                handle.write(line + "\n")
        step(
            "write corpus snapshot",
            began,
            f"({args.papers:,} papers, {snapshot.stat().st_size / 1e6:,.0f} MB)",
        )

        call_command("migrate", verbosity=0)
        began = time.perf_counter()
        result = import_snapshot(snapshot, now=NOW)
        step("import_snapshot (rows + keyword index)", began, f"({result.seen:,} records)")
        snapshot.unlink()

        embedder = get_embedder()
        base_papers = real[: args.base]
        began = time.perf_counter()
        base = embed_base(
            embedder, [paper_text(p["title"], p["abstract"] or "") for p in base_papers], args.cache
        )
        step(
            "embed base papers (cached after the first run)",
            began,
            f"({len(base_papers):,}, {embedder.name})",
        )

        began = time.perf_counter()
        rows = list(Paper.objects.order_by("id").values_list("id", "arxiv_id", "content_hash"))
        paper_ids = [row[0] for row in rows]
        vectors = corpus_vectors(
            base, {p["id"]: i for i, p in enumerate(base_papers)}, [row[1] for row in rows]
        )
        store_embeddings(embedder.name, paper_ids, [row[2] for row in rows], vectors)
        step("store PaperEmbedding rows", began, f"({len(rows):,} vectors)")

        began = time.perf_counter()
        call_command("index", "rebuild", "--model", embedder.name, verbosity=0)
        step("broadsheet index rebuild", began)

        titles, plan_file = write_plan(real, args.base, work)

        began = time.perf_counter()
        recall_texts = (COMMON_WORD_QUERIES + TOPICAL_QUERIES + titles)[:RECALL_QUERIES]
        query_vectors = embedder.embed(recall_texts)
        index = get_vector_index(embedder.name)
        recall = index_recall(index, vectors, np.asarray(paper_ids), query_vectors)
        step("recall@10 against exact scan", began, f"({len(recall_texts)} queries)")
        del vectors

        began = time.perf_counter()
        report = serve_in_fresh_process(data_dir, plan_file, index_only=False)
        if report is None:
            return 1
        step("timed queries (fresh process)", began)
        database = data_dir / "broadsheet.sqlite3"
        database_mb = sum(p.stat().st_size for p in data_dir.glob("broadsheet.sqlite3*")) / 1e6
        index_mb = index_path(embedder.name).stat().st_size / 1e6
        print_report(args, steps, report, recall, index, database_mb, index_mb, embedder.name, database)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def print_timings(report: dict[str, Any]) -> dict[str, tuple[float, float, float]]:
    """The latency table; returns (p50, p95, p99) per mode over all its queries."""
    header = f"{'query kind':<28} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    summary: dict[str, tuple[float, float, float]] = {}
    grouped: dict[str, list[float]] = {}
    for label, samples in report["timings"].items():
        grouped.setdefault(label.split(":")[0], []).extend(samples)
        p50, p95, p99 = percentiles(samples)
        print(f"{label:<28} {len(samples):>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {max(samples):>8.1f}")
    print("-" * len(header))
    for mode in ("keyword", "vector", "hybrid"):
        if mode not in grouped:
            continue
        summary[mode] = percentiles(grouped[mode])
        p50, p95, p99 = summary[mode]
        print(
            f"{mode + ' (all kinds)':<28} {len(grouped[mode]):>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} "
            f"{max(grouped[mode]):>8.1f}"
        )
    return summary


def print_report(args, steps, report, recall, index, database_mb, index_mb, model, database) -> None:
    print()
    print(
        f"N = {args.papers:,} papers: {min(args.papers, 91_828):,} real + perturbed copies; vectors: "
        f"{args.base:,} real embeddings ({model}), the rest perturbed copies of them; "
        f"index: {'exact scan' if index.is_exact else 'IVF-SQ8'}; searched through {report['path']}"
    )
    summary = print_timings(report)
    print()
    for label, seconds, note in steps:
        print(f"{label:<48} {seconds:>9.1f} s {note}")
    print(
        f"measuring process: RSS {report['rss_mb']:,.0f} MB (peak {report['peak_rss_mb']:,.0f} MB), "
        f"start-up and warm-up {report['startup_seconds']:.1f} s"
    )
    print(f"disk: database {database_mb:,.0f} MB ({database.name} + WAL), vector index {index_mb:,.0f} MB")
    print()
    print(
        f"search latency at N={args.papers:,}: hybrid p95 {summary['hybrid'][1]:.1f} ms, keyword p95 "
        f"{summary['keyword'][1]:.1f} ms, vector p95 {summary['vector'][1]:.1f} ms (query embedding "
        f"included), recall@10 {recall:.3f}, RSS {report['rss_mb']:,.0f} MB; machine: {describe_machine()}, "
        f"load average {load_average()}, {datetime.now(UTC):%Y-%m-%d}"
    )


if __name__ == "__main__":
    sys.exit(main())
