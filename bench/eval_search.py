"""Benchmark: search quality of keyword-only, vector-only and hybrid search on BEIR-layout test collections.

Every collection under --data (a folder with corpus.jsonl.gz, queries.jsonl, qrels/test.tsv) is loaded into a
fresh Broadsheet database as papers (through upsert_papers), embedded with the configured embedder (through
embed_papers, vectors cached outside the repository), indexed (rebuild_vector_index) and searched through
Broadsheet's own search code, with bm25s as an outside baseline. Prints nDCG@10 and Recall@100 per collection
and mode, and a one-line summary. CSFCube is evaluated as its official task: re-ranking each query's judged
candidate pool, NDCG@20, mean of the two test folds.

    .venv/bin/python bench/eval_search.py [--data DIR] [--collections scifact,cisi] [--cache DIR]

Needs the `bench` extra (`pip install -e '.[bench]'`) for bm25s and PyStemmer.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data" / "ir"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "broadsheet-bench"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RETRIEVE_DEPTH = 100
POOL_DEPTH = 300  # results read (3 pages) before re-ranking a judged pool (about 125 papers in 4,205)
PAGE_SIZE = 100
MAX_QUERY_CHARS = 1000  # what the search box accepts
MODES = ("keyword", "vector", "hybrid")


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
    return f"{cores} cores, {model}, load average {os.getloadavg()[0]:.2f}"


# -- collections -------------------------------------------------------------------------------------------


@dataclass
class Collection:
    name: str
    docs: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text (only queries with at least one relevant document)
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> relevance (0 = judged not relevant)
    # CSFCube: re-rank each query's judged pool; metric NDCG@20 averaged per test fold
    pools: dict[str, list[str]] | None = None
    folds: list[list[str]] = field(default_factory=list)

    def corpus_hash(self) -> str:
        digest = hashlib.sha256()
        for doc_id in sorted(self.docs):
            title, text = self.docs[doc_id]
            digest.update(f"{doc_id}\t{title}\t{text}\n".encode())
        return digest.hexdigest()[:16]


def read_collection(folder: Path) -> Collection:
    docs: dict[str, tuple[str, str]] = {}
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            docs[str(item["_id"])] = (item.get("title") or "", item.get("text") or "")
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as handle:
        next(handle)  # header
        for line in handle:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            if doc_id in docs:
                qrels.setdefault(query_id, {})[doc_id] = int(score)
    queries: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            query_id = str(item["_id"])
            if any(score > 0 for score in qrels.get(query_id, {}).values()):
                queries[query_id] = item["text"]
    collection = Collection(folder.name, docs, queries, {q: qrels[q] for q in queries})
    splits = folder / "evaluation_splits.json"
    if splits.exists():  # CSFCube: the candidate pool of a query is every document judged for it
        collection.pools = {query_id: sorted(judged) for query_id, judged in collection.qrels.items()}
        by_facet = json.loads(splits.read_text())["all"]
        collection.folds = [
            [query_id.replace("_", "-") for query_id in by_facet[fold]]
            for fold in ("fold1_test", "fold2_test")
        ]
    return collection


# -- metrics -----------------------------------------------------------------------------------------------


def ndcg_at(ranking: Sequence[str], judged: dict[str, int], k: int) -> float:
    """nDCG with linear gains and log2(rank + 1) discounts, as trec_eval and BEIR compute it."""
    dcg = sum(judged.get(doc_id, 0) / math.log2(rank + 2) for rank, doc_id in enumerate(ranking[:k]))
    ideal = sorted((score for score in judged.values() if score > 0), reverse=True)[:k]
    idcg = sum(score / math.log2(rank + 2) for rank, score in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: Sequence[str], judged: dict[str, int], k: int) -> float:
    relevant = {doc_id for doc_id, score in judged.items() if score > 0}
    return len(relevant.intersection(ranking[:k])) / len(relevant) if relevant else 0.0


@dataclass
class Scores:
    ndcg: float
    recall: float


def score_runs(collection: Collection, runs: dict[str, list[str]]) -> Scores:
    """Mean nDCG@10 and Recall@100; for a pooled collection, NDCG@20 of the re-ranked pool per fold."""
    if collection.pools is None:
        ndcgs = [ndcg_at(runs[q], collection.qrels[q], 10) for q in collection.queries]
        recalls = [recall_at(runs[q], collection.qrels[q], 100) for q in collection.queries]
        return Scores(float(np.mean(ndcgs)), float(np.mean(recalls)))
    reranked = {q: rerank_pool(runs[q], collection.pools[q]) for q in collection.queries}
    fold_ndcgs = [
        np.mean([ndcg_at(reranked[q], collection.qrels[q], 20) for q in fold if q in reranked])
        for fold in collection.folds
    ]
    recalls = [recall_at(runs[q], collection.qrels[q], 100) for q in collection.queries]
    return Scores(float(np.mean(fold_ndcgs)), float(np.mean(recalls)))


def rerank_pool(ranking: Sequence[str], pool: Sequence[str]) -> list[str]:
    """The pool in the order the system ranked it; pool documents it did not return follow, by id."""
    members = set(pool)
    ranked = [doc_id for doc_id in ranking if doc_id in members]
    seen = set(ranked)
    return ranked + [doc_id for doc_id in pool if doc_id not in seen]


# -- query text --------------------------------------------------------------------------------------------

_OPERATORS = re.compile(r'["()*^]|(?<!\S)[-+]|\b\w+:(?=\S)')


def prose_query(text: str) -> str:
    """The collections' queries are prose: operator characters of the query language become spaces.

    Quotes, parentheses, a leading minus or plus, and `word:` prefixes would otherwise be read as phrases,
    exclusions and field filters; a query is cut to the 1,000 characters the search box takes. The same
    rule applies to every collection (only CSFCube's queries, whole abstracts, are that long).
    """
    words = _OPERATORS.sub(" ", text).split()
    query = ""
    for word in words:  # a query longer than the search box accepts is cut at a word boundary
        if len(query) + len(word) + 1 > MAX_QUERY_CHARS:
            break
        query = f"{query} {word}" if query else word
    return query


# -- the outside baseline ----------------------------------------------------------------------------------


def bm25s_runs(collection: Collection, depth: int) -> dict[str, list[str]]:
    import bm25s

    try:
        import Stemmer

        stemmer: Any = Stemmer.Stemmer("english")
    except ImportError:  # bm25s works without it, a little worse
        stemmer = None
    doc_ids = list(collection.docs)
    texts = [f"{title} {text}" for title, text in collection.docs.values()]
    retriever = bm25s.BM25()
    corpus_tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever.index(corpus_tokens, show_progress=False)
    query_ids = list(collection.queries)
    tokens = bm25s.tokenize(
        [collection.queries[q] for q in query_ids], stopwords="en", stemmer=stemmer, show_progress=False
    )
    results, _ = retriever.retrieve(tokens, k=min(depth, len(doc_ids)), show_progress=False)
    return {q: [doc_ids[i] for i in row] for q, row in zip(query_ids, results, strict=True)}


# -- Broadsheet --------------------------------------------------------------------------------------------


class CachedEmbedder:
    """The configured embedder with a per-text vector cache on disk (embedding a corpus takes minutes).

    Misses go to the real embedder; the cache file is keyed by model name and corpus hash.
    """

    def __init__(self, embedder: Any, cache_file: Path) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.cache_file = cache_file
        self.vectors: dict[bytes, np.ndarray] = {}
        self.misses = 0
        if cache_file.exists():
            with np.load(cache_file) as stored:
                for key, row in zip(stored["keys"], stored["vectors"], strict=True):
                    self.vectors[bytes(key)] = row

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self.key(text) for text in texts]
        wanted = dict(zip(keys, texts, strict=True))
        missing = [(key, text) for key, text in wanted.items() if key not in self.vectors]
        if missing:
            self.misses += len(missing)
            computed = self.inner.embed([text for _, text in missing])
            for (key, _), row in zip(missing, computed, strict=True):
                self.vectors[key] = np.asarray(row, dtype=np.float32)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[key] for key in keys]).astype(np.float32)

    def save(self) -> None:
        if not self.misses:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors), dtype="S20")
        vectors = np.stack(list(self.vectors.values())).astype(np.float32)
        temp = self.cache_file.with_suffix(".tmp.npz")
        np.savez(temp, keys=keys, vectors=vectors)
        os.replace(temp, self.cache_file)


def synthetic_arxiv_id(number: int) -> str:
    """`0001.00001`, `0001.00002`, ...: valid new-style identifiers that no real paper has."""
    return f"{number // 100_000 + 1:04d}.{number % 100_000:05d}"


def load_papers(collection: Collection) -> dict[str, str]:
    """Replace every paper in the database by the collection's documents; returns arxiv id -> doc id."""
    from django.db import transaction

    from broadsheet.ingest.records import PaperRecord
    from broadsheet.ingest.upsert import upsert_papers
    from broadsheet.papers.models import Paper

    Paper.objects.all().delete()
    by_arxiv_id: dict[str, str] = {}
    records = []
    for number, (doc_id, (title, text)) in enumerate(collection.docs.items()):
        arxiv_id = synthetic_arxiv_id(number)
        by_arxiv_id[arxiv_id] = doc_id
        records.append(
            PaperRecord(
                arxiv_id=arxiv_id,
                title=title,
                abstract=text,
                authors=["Anonymous"],
                categories=["cs.IR"],
                announced_on=date(2025, 1, 1),
                datestamp=date(2025, 1, 1),
            )
        )
    with transaction.atomic():
        for start in range(0, len(records), 2_000):
            upsert_papers(records[start : start + 2_000], now=NOW)
    return by_arxiv_id


@dataclass
class Searcher:
    """Broadsheet's search for one mode, as a function text -> ranked arXiv ids."""

    label: str
    search: Callable[[str, str, int], list[tuple[str, float]]]  # (arxiv id, score), best first


def service_searcher() -> Searcher:
    """search_papers, the function behind the search page and API."""
    from broadsheet.search.service import search_papers

    def search(text: str, mode: str, limit: int) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []
        while len(found) < limit:  # pages of at most PAGE_SIZE, as a reader would turn them
            results = search_papers(
                text, mode=mode, sort="relevance", limit=min(PAGE_SIZE, limit - len(found)), offset=len(found)
            )
            found.extend((hit.card.arxiv_id, hit.score) for hit in results.hits)
            if not results.has_more:
                break
        return found

    return Searcher("broadsheet.search.service.search_papers", search)


def composed_searcher(embedder: Any) -> Searcher:
    """keyword_search, the embedder + vector index, and reciprocal rank fusion, called one by one."""
    from broadsheet.papers.models import Paper
    from broadsheet.search.fusion import reciprocal_rank_fusion
    from broadsheet.search.keyword import keyword_search
    from broadsheet.search.query import parse_query
    from broadsheet.search.vector_index import get_vector_index

    arxiv_ids: dict[int, str] = dict(Paper.objects.values_list("id", "arxiv_id"))

    def ranked(text: str, mode: str, limit: int) -> list[tuple[int, float]]:
        if mode == "keyword":
            return keyword_search(parse_query(text), limit=limit, filters=None)
        if mode == "vector":
            return get_vector_index(embedder.name).search(embedder.embed([text])[0], limit)
        return reciprocal_rank_fusion([ranked(text, "keyword", limit), ranked(text, "vector", limit)])[:limit]

    def search(text: str, mode: str, limit: int) -> list[tuple[str, float]]:
        return [(arxiv_ids[paper_id], score) for paper_id, score in ranked(text, mode, limit)]

    return Searcher("keyword_search + VectorIndex + reciprocal_rank_fusion", search)


@dataclass
class CollectionResult:
    collection: Collection
    scores: dict[str, Scores]
    seconds: dict[str, float]


def evaluate(
    collection: Collection, embedder: Any, path: str, cache_dir: Path, save_runs: Path | None = None
) -> CollectionResult:
    from broadsheet.search.embedding import embed_papers
    from broadsheet.search.fusion import fuse_rankings
    from broadsheet.search.vector_index import rebuild_vector_index

    seconds: dict[str, float] = {}
    scores: dict[str, Scores] = {}
    depth = POOL_DEPTH if collection.pools is not None else RETRIEVE_DEPTH

    started = time.perf_counter()
    scores["bm25s"] = score_runs(collection, bm25s_runs(collection, depth))
    seconds["bm25s"] = time.perf_counter() - started

    started = time.perf_counter()
    by_arxiv_id = load_papers(collection)
    seconds["load"] = time.perf_counter() - started

    cached = CachedEmbedder(
        embedder,
        cache_dir / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder.name)}-{collection.name}-"
        f"{collection.corpus_hash()}.npz",
    )
    started = time.perf_counter()

    def progress(done: Any) -> None:
        rate = done.embedded / (time.perf_counter() - started)
        print(f"  {collection.name}: embedded {done.embedded:,}/{done.pending:,} ({rate:.1f}/s)", flush=True)

    embed_papers(embedder=cached, now=NOW, batch_size=256, on_progress=progress)
    cached.save()
    rebuild_vector_index(embedder.name)
    seconds["embed"] = time.perf_counter() - started

    searcher = service_searcher() if path == "service" else composed_searcher(cached)
    # queries are embedded by the real embedder inside search; warm the per-process caches first
    searcher.search("warm up", "hybrid", 10)
    by_mode: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for mode in MODES:
        started = time.perf_counter()
        runs: dict[str, list[str]] = {}
        scored: dict[str, list[tuple[str, float]]] = by_mode.setdefault(mode, {})
        for query_id, text in collection.queries.items():
            found = searcher.search(prose_query(text), mode, depth)
            scored[query_id] = [(by_arxiv_id[a], score) for a, score in found if a in by_arxiv_id]
            runs[query_id] = [doc_id for doc_id, _ in scored[query_id]]
        seconds[mode] = time.perf_counter() - started
        scores[mode] = score_runs(collection, runs)
        if save_runs is not None:
            save_runs.mkdir(parents=True, exist_ok=True)
            (save_runs / f"{collection.name}-{mode}.json").write_text(json.dumps(scored))
    # fuse_rankings over the very keyword and vector lists the service returned: what the hybrid mode
    # gives once the service fuses with it (the two agree when the service already does)
    fused = {
        query_id: [
            doc_id for doc_id, _ in fuse_rankings([by_mode["keyword"][query_id], by_mode["vector"][query_id]])
        ]
        for query_id in collection.queries
    }
    scores["fused"] = score_runs(collection, fused)
    return CollectionResult(collection, scores, seconds)


def configure_django(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadsheet.settings"
    os.environ["BROADSHEET_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of BEIR-layout collections")
    parser.add_argument("--collections", default="", help="comma-separated names (default: every one found)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding cache folder")
    parser.add_argument("--embedder", default="", help="embedder name (default: BROADSHEET_EMBEDDER)")
    parser.add_argument(
        "--path",
        choices=("auto", "service", "composed"),
        default="auto",
        help="search through search_papers (service) or its parts (composed); auto prefers the service",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (and print it)")
    parser.add_argument("--save-runs", type=Path, default=None, help="write each ranking as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {name for name in args.collections.split(",") if name}
    folders = sorted(
        folder
        for folder in args.data.iterdir()
        if (folder / "corpus.jsonl.gz").exists() and (not wanted or folder.name in wanted)
    )
    if not folders:
        print(f"no BEIR-layout collections in {args.data}", file=sys.stderr)
        return 2
    data_dir = Path(tempfile.mkdtemp(prefix="broadsheet-eval-"))
    configure_django(data_dir)
    from django.core.management import call_command

    from broadsheet.search.embedders import get_embedder

    path = args.path
    if path == "auto":
        try:
            import broadsheet.search.service  # noqa: F401

            path = "service"
        except ImportError:
            path = "composed"
    started = time.perf_counter()
    try:
        call_command("migrate", verbosity=0)
        embedder = get_embedder(args.embedder or None)
        results = [
            evaluate(read_collection(folder), embedder, path, args.cache, args.save_runs)
            for folder in folders
        ]
    finally:
        if args.keep:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_table(results, embedder.name, path, time.perf_counter() - started)
    return 0


def print_table(results: list[CollectionResult], model: str, path: str, seconds: float) -> None:
    columns = ("bm25s", *MODES, "fused")
    header = f"{'collection':<10} {'docs':>6} {'queries':>7} {'metric':<11} " + " ".join(
        f"{column:>8}" for column in columns
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for result in results:
        collection = result.collection
        metric = "NDCG@20pool" if collection.pools is not None else "nDCG@10"
        for label, values in (
            (metric, {c: result.scores[c].ndcg for c in columns}),
            ("Recall@100", {c: result.scores[c].recall for c in columns}),
        ):
            print(
                f"{collection.name:<10} {len(collection.docs):>6} {len(collection.queries):>7} {label:<11} "
                + " ".join(f"{values[c]:>8.3f}" for c in columns)
            )
        best_single = max(result.scores["keyword"].ndcg, result.scores["vector"].ndcg)
        verdicts.append(
            (collection.name, result.scores["hybrid"].ndcg, result.scores["fused"].ndcg, best_single)
        )
    print("-" * len(header))
    print(
        "hybrid: search_papers(mode='hybrid') as it is; fused: fuse_rankings over the keyword and vector "
        "results above"
    )
    for label, column in (("hybrid", 1), ("fused", 2)):
        wins = [row for row in verdicts if row[column] >= row[3]]
        scifact = next((row[column] for row in verdicts if row[0] == "scifact"), None)
        print(
            f"search quality ({label}): >= best of keyword and vector on {len(wins)}/{len(verdicts)} "
            f"collections ({', '.join(f'{row[0]} {row[column]:.3f} vs {row[3]:.3f}' for row in verdicts)})"
            + (f"; SciFact nDCG@10 {scifact:.3f}" if scifact is not None else "")
        )
    print(f"model {model}; through {path}; {seconds:.0f} s; machine: {describe_machine()}")


if __name__ == "__main__":
    sys.exit(main())
