"""Benchmark and check: the fast path for inline formulas against pylatexenc, on every abstract of the corpus.

`broadsheet.papers.math.latex_to_text` (search snippets, emails, feeds) converts simple inline formulas
itself and hands the rest to pylatexenc. This runs both over every distinct formula of the real papers in
--data: it counts the formulas the fast path takes, the ones where the two disagree (the fast path must
give pylatexenc's text exactly, spaces collapsed as latex_to_text does), and times each converter over
the formulas the fast path takes, side by side in the same run.

    .venv/bin/python bench/latex_fast_path.py            # the 91,828 papers in ../shared/data/arxiv
    .venv/bin/python bench/latex_fast_path.py --limit 20000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY_ROOT.parent / "shared" / "data" / "arxiv"
SPACES = re.compile(r"\s+")


def formulas_of(folder: Path, limit: int | None) -> tuple[int, list[str]]:
    from broadsheet.papers.math import TOKEN

    papers = 0
    found: dict[str, None] = {}
    for path in sorted(folder.glob("papers-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                papers += 1
                for match in TOKEN.finditer(json.loads(line).get("abstract") or ""):
                    if match.lastgroup in ("display", "display_bracket", "inline_paren", "inline"):
                        found.setdefault(match.group(0))
                if limit and papers >= limit:
                    return papers, list(found)
    return papers, list(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of papers-*.jsonl.gz")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N papers")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no corpus at {args.data}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPOSITORY_ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    from broadsheet.papers.math import _fast_formula_text, _macro_call_text, _pylatexenc_text, _symbol_text

    papers, formulas = formulas_of(args.data, args.limit)
    taken = [(source, fast) for source in formulas if (fast := _fast_formula_text(source)) is not None]
    disagree = []
    for source, fast in taken:
        reference = _pylatexenc_text(source)
        if SPACES.sub(" ", fast).strip() != SPACES.sub(" ", reference).strip():
            disagree.append((source, reference, fast))
    sources = [source for source, _ in taken]
    began = time.perf_counter()
    for source in sources:
        _pylatexenc_text(source)
    slow_seconds = time.perf_counter() - began
    # the fast path asks pylatexenc once per symbol and per macro call: those answers are forgotten first,
    # so its time includes them
    _symbol_text.cache_clear()
    _macro_call_text.cache_clear()
    began = time.perf_counter()
    for source in sources:
        _fast_formula_text(source)
    fast_seconds = time.perf_counter() - began
    print(f"{papers:,} papers, {len(formulas):,} distinct formulas")
    share = len(taken) / max(1, len(formulas))
    print(f"fast path takes {len(taken):,} ({share:.0%}); disagrees on {len(disagree):,}")
    for source, reference, fast in disagree[:20]:
        print(f"  {source!r}: pylatexenc {reference!r}, fast path {fast!r}")
    if sources:
        print(
            f"on those: pylatexenc {slow_seconds / len(sources) * 1e6:,.0f} us a formula, fast path "
            f"{fast_seconds / len(sources) * 1e6:,.1f} us ({slow_seconds / max(fast_seconds, 1e-9):,.0f}x)"
        )
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
