"""SQuAD-open benchmark: every question asked against all 48 articles at once.

    python -m evals.squad [--root DIR] [--sample N --seed S | --all] [--json PATH]

Metrics: first citation on the gold line; hit@1, hit@5 and MRR@10 of the gold line among
retrieved lines (fused chunk order, each chunk's lines in order); answer text contains a
gold answer string; abstention rate; latency p50/p95 of warm ``answer()``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from index import DocqaError, load_settings
from qa import get_engine

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "squad-dev-v1.1"


class SquadQuestion(BaseModel):
    id: str
    question: str
    answers: list[str]
    file: str
    line: int


class SquadResult(BaseModel):
    """Scores of one run."""

    questions: int = Field(description="Questions asked.")
    first_citation_on_gold: float = Field(description="Share whose first citation is on the gold file:line.")
    hit_at_1: float = Field(description="Gold line is the first retrieved line.")
    hit_at_5: float = Field(description="Gold line is among the first 5 distinct retrieved lines.")
    mrr_at_10: float = Field(description="Mean reciprocal rank of the gold line in the first 10 retrieved lines.")
    answer_contains_gold: float = Field(description="Answer text contains a gold answer string (case-insensitive).")
    abstained: float = Field(description="Share of questions the system abstained on.")
    latency_p50_ms: float = Field(description="Median answer() latency.")
    latency_p95_ms: float = Field(description="95th percentile answer() latency.")
    index_seconds: float = Field(description="Time to open (and if needed build) the index before asking.")


def load_questions(root: Path) -> list[SquadQuestion]:
    path = root / "questions.jsonl"
    if not path.is_file():
        raise DocqaError(f"{path} not found; --root must be a folder with questions.jsonl and docs/")
    return [SquadQuestion.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def retrieved_lines(answer) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Distinct (file, line) in retrieval order."""
    seen: list[tuple[str, int]] = []
    for r in answer.retrieved:
        for line in range(r.first_line, r.last_line + 1):
            key = (r.file, line)
            if key not in seen:
                seen.append(key)
    return seen


def run(root: Path, questions: list[SquadQuestion], progress: bool = True) -> SquadResult:
    t0 = time.perf_counter()
    engine = get_engine(root / "docs", load_settings())
    index_seconds = time.perf_counter() - t0
    first = h1 = h5 = rr = contains = abstained = 0.0
    latencies = []
    for i, q in enumerate(questions, 1):
        t = time.perf_counter()
        a = engine.answer(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        gold = (q.file, q.line)
        lines = retrieved_lines(a)
        first += bool(a.citations) and (a.citations[0].file, a.citations[0].line) == gold
        h1 += lines[:1] == [gold]
        h5 += gold in lines[:5]
        rr += next((1 / (k + 1) for k, g in enumerate(lines[:10]) if g == gold), 0.0)
        contains += any(ans.lower() in a.text.lower() for ans in q.answers)
        abstained += a.abstained
        if progress and i % 100 == 0:
            print(f"  {i}/{len(questions)}", file=sys.stderr)
    n = max(len(questions), 1)
    latencies.sort()
    return SquadResult(
        questions=len(questions),
        first_citation_on_gold=round(first / n, 4),
        hit_at_1=round(h1 / n, 4),
        hit_at_5=round(h5 / n, 4),
        mrr_at_10=round(rr / n, 4),
        answer_contains_gold=round(contains / n, 4),
        abstained=round(abstained / n, 4),
        latency_p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0,
        latency_p95_ms=round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2) if latencies else 0.0,
        index_seconds=round(index_seconds, 2),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder with questions.jsonl and docs/")
    parser.add_argument("--sample", type=int, default=500, help="seeded random sample size (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="ask every question")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    try:
        questions = load_questions(args.root)
        if not args.all:
            if args.sample < 1:
                raise DocqaError(f"--sample {args.sample} must be at least 1")
            questions = random.Random(args.seed).sample(questions, min(args.sample, len(questions)))
        result = run(args.root, questions)
    except DocqaError as exc:
        print(f"evals.squad: error: {exc}", file=sys.stderr)
        return 2
    for key, value in result.model_dump().items():
        print(f"{key:24} {value}")
    if args.json:
        args.json.write_text(result.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
