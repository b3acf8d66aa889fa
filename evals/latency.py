"""Warm ``answer()`` latency over a corpus, with the query-embedding time (the floor) alongside.

    python -m evals.latency [--corpus DIR] [--suite seeds] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from index import SEEDS_DIR, load_settings
from qa import get_engine

from .metrics import percentile
from .suite import load_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SEEDS_DIR)
    parser.add_argument("--suite", default="seeds", help="suite whose questions are asked")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    engine = get_engine(args.corpus, load_settings())
    questions = [t.question for c in load_suite(args.suite) for t in c.turns]
    engine.answer(questions[0])  # warm-up: model loaded, caches filled
    total, embed = [], []
    for _ in range(args.repeat):
        for q in questions:
            t = time.perf_counter()
            a = engine.answer(q)
            total.append((time.perf_counter() - t) * 1000)
            embed.append(a.timings.embed_ms)
    print(f"corpus {engine.index.corpus}: {engine.index.manifest.chunk_count()} chunks, {len(total)} calls")
    print(f"answer() p50 {statistics.median(total):.2f} ms  p95 {percentile(total, 0.95):.2f} ms")
    print(f"query embedding alone p50 {statistics.median(embed):.2f} ms  p95 {percentile(embed, 0.95):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
