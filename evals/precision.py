"""Does the int8 encoder keep answer quality? Same run, same questions, an index per precision (issue 17).

    python -m evals.precision --sample 1000 --seed 0
    python -m evals.precision --sample 0 --only int8   # every held-out question, the shipped setup only

Indexes the SQuAD articles twice under ``DOCQA_HOME``: with both models in float32 (sentence-transformers to index,
the numpy forward pass for questions) and in int8 (ONNX Runtime to index, the numpy int8 copy for questions). Then
asks both the same seeded sample of the 24 held-out articles' questions and prints each system's metrics, the
difference, and how long each index took to build. The issue's bar: first citation on gold and hit@5 within 0.5
point of float32.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from index import CorpusIndex, load_settings
from qa import Answer, QAEngine

from .metrics import score_turn, summarize
from .runner import DEFAULT_SQUAD, squad_cases
from .squad import held_out_cases

METRICS = ("first_citation_on_gold", "hit_at_1", "hit_at_5", "mrr_at_10", "answer_accuracy", "citation_precision", "evidence_recall")


def evaluate(engine: QAEngine, cases: list, corpus: Path) -> dict[str, float]:  # type: ignore[type-arg]
    """The metrics of ``engine`` over ``cases`` (each case's turns asked in order, as the eval runner does)."""
    results = []
    for case in cases:
        history: list[Answer] = []
        for i, turn in enumerate(case.turns):
            t = time.perf_counter()
            answer = engine.answer(turn.question, history)
            history.append(answer)
            results.append(score_turn(case, i, turn, answer, corpus, (time.perf_counter() - t) * 1000))
    summary = summarize(results)
    out = {k: float(getattr(summary, k)) for k in METRICS}
    out["latency_p50_ms"] = float(summary.latency_p50_ms)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_SQUAD, help="the SQuAD benchmark folder")
    parser.add_argument("--sample", type=int, default=1000, help="held-out questions asked (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("float32", "int8"),
                        help="ask one index only (e.g. int8, the shipped setup: the held-out figures without the comparison)")
    args = parser.parse_args(argv)
    docs = args.root / "docs"
    cases = held_out_cases(squad_cases(args.root), args.root)
    if args.sample:
        cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
    rows: dict[str, dict[str, float]] = {}
    for precision in (args.only,) if args.only else ("float32", "int8"):
        settings = load_settings(embed_precision=precision)
        index = CorpusIndex(docs, settings)
        t0 = time.perf_counter()
        report = index.sync(progress=False)
        built = time.perf_counter() - t0
        rows[precision] = {**evaluate(QAEngine(index), cases, docs), "index_build_s": round(built, 1)}
        print(f"{precision}: {index.embedder.name} + {index.sentence_embedder.name}, {report.chunks_total} chunks, "
              f"index built in {built:.1f} s (0 if it was already built)", flush=True)
    print(f"\n{len(cases)} held-out SQuAD questions (seed {args.seed})\n")
    if args.only:
        print(f"| measure | {args.only} |\n| --- | --- |")
        for key, value in rows[args.only].items():
            print(f"| {key} | {value:.4g} |")
        return 0
    print("| measure | float32 | int8 | int8 - float32 |\n| --- | --- | --- | --- |")
    for key in rows["float32"]:
        a, b = rows["float32"][key], rows["int8"].get(key, float("nan"))
        print(f"| {key} | {a:.4g} | {b:.4g} | {b - a:+.4f} |")
    worst = min(rows["int8"][k] - rows["float32"][k] for k in ("first_citation_on_gold", "hit_at_5"))
    print(f"\nissue 17 bar (first citation and hit@5 within 0.5 point): {'met' if worst >= -0.005 else 'NOT met'} "
          f"(worst difference {worst:+.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
