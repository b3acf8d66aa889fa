"""Measure where the abstention threshold should sit.

Answerable: the seeds suite's answerable first turns (over seeds/) and a seeded sample of
SQuAD questions (over the SQuAD docs). Unanswerable: the seeds suite's abstain cases,
SQuAD questions asked of seeds/, and the seeds questions asked of the SQuAD docs.
Prints, for each threshold, the precision and recall of abstaining and the share of
answerable questions answered; recommends the threshold with the best balanced accuracy.

    python -m evals.calibrate [--squad DIR] [--sample 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from index import SEEDS_DIR, load_settings
from qa import get_engine

from .runner import squad_cases
from .suite import load_suite

DEFAULT_SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "squad-dev-v1.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD folder (questions.jsonl + docs/)")
    parser.add_argument("--sample", type=int, default=200, help="SQuAD questions per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = load_settings()
    seeds = get_engine(SEEDS_DIR, settings)
    squad = get_engine(args.squad / "docs", settings)
    cases = load_suite("seeds")
    seed_answerable = [c.turns[0].question for c in cases if not c.turns[0].abstain]
    seed_unanswerable = [c.turns[0].question for c in cases if c.turns[0].abstain]
    pool = squad_cases(args.squad)
    sample = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    sq = [c.turns[0].question for c in sample]

    pos = [("seeds", seeds.answer(q).evidence_score) for q in seed_answerable]
    pos += [("squad", squad.answer(q).evidence_score) for q in sq]
    neg = [("seeds-uncovered", seeds.answer(q).evidence_score) for q in seed_unanswerable]
    neg += [("squad-on-seeds", seeds.answer(q).evidence_score) for q in sq]
    neg += [("seeds-on-squad", squad.answer(q).evidence_score) for q in seed_answerable]

    print(f"answerable n={len(pos)}  unanswerable n={len(neg)}")
    print(f"{'thresh':>6} {'abst.prec':>9} {'abst.rec':>8} {'answered':>8} {'bal.acc':>7}")
    best = (0.0, 0.0)
    for i in range(20, 81):
        th = i / 100
        tp = sum(s < th for _, s in neg)
        fp = sum(s < th for _, s in pos)
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / len(neg)
        answered = 1 - fp / len(pos)
        bal = (rec + answered) / 2
        if bal > best[1]:
            best = (th, bal)
        if i % 2 == 0:
            print(f"{th:6.2f} {prec:9.3f} {rec:8.3f} {answered:8.3f} {bal:7.3f}")
    for group in ("seeds", "squad"):
        vals = sorted(s for g, s in pos if g == group)
        print(f"answerable {group}: min {vals[0]:.3f} median {vals[len(vals)//2]:.3f}")
    for group in ("seeds-uncovered", "squad-on-seeds", "seeds-on-squad"):
        vals = sorted(s for g, s in neg if g == group)
        print(f"unanswerable {group}: median {vals[len(vals)//2]:.3f} max {vals[-1]:.3f}")
    print(f"recommended threshold (best balanced accuracy): {best[0]:.2f} ({best[1]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
