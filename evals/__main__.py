"""python -m evals [SUITE...] [--sample N --seed S] [--json PATH] [--report DIR] [--systems a,b] [--no-gate]

Runs each suite (seeds, squad, or a path to a JSONL suite with --corpus) against the full
pipeline and the baselines, prints a comparison table and the failing cases, writes JSON
and a report, and exits 1 when a threshold in evals/thresholds.yaml is missed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from index import DocqaError, load_settings
from index.offline import enable_offline_mode

from .gate import check, load_gates
from .report import failures, table, write_json, write_report
from .runner import DEFAULT_SQUAD, load_named, run_suite
from .suite import halves
from .systems import SYSTEMS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", default=["seeds"], help="suite names (seeds, squad, natural, nearmiss, nearmiss-squad; NAME:dev or NAME:test for one half) "
                        "or JSONL paths; a suite with halves runs as two tables; default: seeds")
    parser.add_argument("--sample", type=int, help="seeded random sample of N cases per suite")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--systems", help=f"comma-separated, from {', '.join(SYSTEMS)} (default: all but generative; "
                        "generative too when DOCQA_LLM is set)")
    parser.add_argument("--squad-root", type=Path, default=DEFAULT_SQUAD, help="folder with questions.jsonl and docs/")
    parser.add_argument("--corpus", type=Path, help="corpus for a suite given by path")
    parser.add_argument("--json", type=Path, help="write all results as JSON here")
    parser.add_argument("--report", type=Path, help="write report.md and report.html into this folder")
    parser.add_argument("--no-gate", action="store_true", help="do not fail on thresholds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    enable_offline_mode()
    try:
        if args.sample is not None and args.sample < 1:
            raise DocqaError(f"--sample {args.sample} must be at least 1")
        settings = load_settings()
        default = [s for s in SYSTEMS if s != "generative" or settings.llm != "none"]
        systems = [s.strip() for s in args.systems.split(",") if s.strip()] if args.systems else default
        reports = []
        for name in [h for n in args.suites for h in halves(n)]:
            cases, corpus = load_named(name, args.squad_root, args.corpus)
            report = run_suite(name, cases, corpus, settings, systems, args.sample, args.seed)
            reports.append(report)
            print(table(report))
            print()
            print(failures(report, limit=40 if name != "squad" else 15))
            print()
        if args.json:
            write_json(reports, args.json)
        if args.report:
            md, html_path = write_report(reports, args.report)
            print(f"report: {md} and {html_path}", file=sys.stderr)
        misses = [] if args.no_gate else check(reports, load_gates())
    except DocqaError as exc:
        print(f"evals: error: {exc}", file=sys.stderr)
        return 2
    if misses:
        print("GATE FAILED:\n  " + "\n  ".join(misses))
        return 1
    print("gate passed" if not args.no_gate else "gate not checked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
