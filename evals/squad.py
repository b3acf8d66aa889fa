"""SQuAD-open benchmark: every question asked against all 48 articles at once.

    python -m evals.squad [--root DIR] [--sample N --seed S | --all] [--held-out] [--systems full,...] [--json PATH]

A thin front end over the eval runner (``python -m evals squad`` runs the same cases with
the report and the gate). Metrics: first citation on the gold line; hit@1, hit@5 and
MRR@10 of the gold line among retrieved lines; answer text contains a gold answer string
(answer accuracy); abstention rate; latency p50/p95 of warm ``answer()``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from index import DocqaError, load_settings
from index.offline import enable_offline_mode

from .runner import DEFAULT_SQUAD, run_suite, squad_cases
from .suite import Case

SHOWN = ["first_citation_on_gold", "hit_at_1", "hit_at_5", "mrr_at_10", "answer_accuracy", "latency_p50_ms", "latency_p95_ms"]


def held_out_cases(cases: list[Case], root: Path) -> list[Case]:
    """The questions of the evaluation-only articles: the 24 files whose names sort last."""
    docs = sorted(p.name for p in (root / "docs").iterdir() if p.suffix == ".txt")
    evaluation = set(docs[len(docs) // 2 :])
    return [c for c in cases if c.turns[0].evidence[0].rsplit(":", 1)[0] in evaluation]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_SQUAD, help="folder with questions.jsonl and docs/")
    parser.add_argument("--sample", type=int, default=500, help="seeded random sample size (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="ask every question")
    parser.add_argument("--training", action="store_true", help="only the questions of the 24 training articles")
    parser.add_argument("--held-out", action="store_true",
                        help="only the questions of the 24 articles whose names sort last (never trained or tuned on)")
    parser.add_argument("--systems", default="full", help="comma-separated systems (full, bm25, dense, llamaindex)")
    parser.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    args = parser.parse_args(argv)
    enable_offline_mode()
    try:
        if not args.all and args.sample < 1:
            raise DocqaError(f"--sample {args.sample} must be at least 1")
        cases = squad_cases(args.root)
        if args.held_out:
            cases = held_out_cases(cases, args.root)
        elif args.training:
            held = {c.id for c in held_out_cases(cases, args.root)}
            cases = [c for c in cases if c.id not in held]
        t0 = time.perf_counter()
        report = run_suite("squad", cases, args.root / "docs", load_settings(), [s for s in args.systems.split(",") if s],
                           None if args.all else args.sample, args.seed)
    except DocqaError as exc:
        print(f"evals.squad: error: {exc}", file=sys.stderr)
        return 2
    print(f"{report.cases} questions, {time.perf_counter() - t0:.1f}s including index open/build")
    print(f"{'metric':24}" + "".join(f"{s:>12}" for s in report.metrics))
    for key in SHOWN:
        print(f"{key:24}" + "".join(f"{getattr(m, key):>12}" for m in report.metrics.values()))
    abstained = {s: sum(r.abstained for r in rs) / max(len(rs), 1) for s, rs in report.results.items()}
    print(f"{'abstained':24}" + "".join(f"{abstained[s]:>12.3f}" for s in report.metrics))
    if args.json:
        args.json.write_text(report.model_dump_json(indent=1, exclude={"results"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
