"""Load test of the web UI's HTTP API: N concurrent requests on loopback, with the real model and Chroma.

    python -m evals.http_load --concurrency 32 --requests 320

Starts `docqa ui`'s server in-process over the seeds (or --corpus), asks each question once
sequentially for reference, then fires the requests from a thread pool and checks every
concurrent answer equals the sequential one. Prints p50 / p95 / max latency and throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

QUESTIONS = [
    "Who claimed responsibility for the attack?",
    "Where is IS-K based?",
    "How many people were killed in the attack?",
    "When did the attack happen?",
    "What is the capital of Australia?",
    "Who is Vladimir Putin?",
    "Where did the attack take place?",
    "What did the United States warn about?",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.http_load", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: the seeds)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    import httpx

    from index import load_settings
    from ui.client import call_api
    from ui.server import free_port, serve

    settings = load_settings()
    ui = serve(args.corpus, settings, port=free_port(), block=False)
    try:
        ui.service.ensure_index()
        keys = ("text", "citations", "abstained")
        reference = {q: {k: call_api(ui.url, "ask", q)[k] for k in keys} for q in QUESTIONS}
        latencies: list[float] = []

        def one(i: int) -> bool:
            q = QUESTIONS[i % len(QUESTIONS)]
            with httpx.Client(timeout=300) as c:
                t0 = time.perf_counter()
                got = call_api(ui.url, "ask", q, c)
                latencies.append(time.perf_counter() - t0)
            return {k: got[k] for k in keys} == reference[q]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            same = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
    finally:
        ui.close()
    ms = sorted(x * 1000 for x in latencies)
    figures = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "identical_to_sequential": sum(same),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(statistics.quantiles(ms, n=20)[-1], 1),
        "max_ms": round(ms[-1], 1),
        "throughput_rps": round(args.requests / wall, 1),
    }
    print("| " + " | ".join(figures) + " |")
    print("|" + "---|" * len(figures))
    print("| " + " | ".join(str(v) for v in figures.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if sum(same) == args.requests else 1


if __name__ == "__main__":
    sys.exit(main())
