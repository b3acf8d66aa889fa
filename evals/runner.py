"""Run suites against systems and collect scored turns."""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from index import SEEDS_DIR, DocqaError, Settings
from qa import Answer

from .metrics import Metrics, TurnResult, score_turn, summarize
from .suite import Case, Turn, load_suite, split_name
from .systems import build_systems

DEFAULT_SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "squad-dev-v1.1"
#: Suites written from the seeds are asked of the seeds; those in SQUAD_SUITES of the SQuAD articles.
SUITE_CORPORA: dict[str, Path] = {"seeds": SEEDS_DIR, "natural": SEEDS_DIR, "natural2": SEEDS_DIR, "nearmiss": SEEDS_DIR}
SQUAD_SUITES = frozenset({"nearmiss-squad", "squad-paraphrased"})


class SuiteReport(BaseModel):
    """One suite's results for every system."""

    suite: str = Field(description="Suite name.")
    corpus: str = Field(description="Corpus folder the suite was asked of.")
    sample: int | None = Field(description="Sample size asked for (None: all cases).")
    seed: int = Field(description="Sampling seed.")
    cases: int = Field(description="Cases run.")
    metrics: dict[str, Metrics] = Field(description="System name -> metrics.")
    results: dict[str, list[TurnResult]] = Field(description="System name -> scored turns.")


def squad_cases(root: Path) -> list[Case]:
    """The SQuAD questions as single-turn factoid cases (answers are literal strings)."""
    path = root / "questions.jsonl"
    if not path.is_file():
        raise DocqaError(f"{path} not found; --squad-root must hold questions.jsonl and docs/")
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        cases.append(Case(id=row["id"], kind="factoid", turns=[Turn(
            question=row["question"], expect=[re.escape(a) for a in row["answers"]], evidence=[f"{row['file']}:{row['line']}"],
        )]))
    return cases


def load_named(name: str, squad_root: Path, corpus: Path | None) -> tuple[list[Case], Path]:
    """Cases and corpus of a suite given by name (seeds, squad) or by path (with --corpus)."""
    if name == "squad":
        return squad_cases(squad_root), squad_root / "docs"
    cases = load_suite(name)
    stem = Path(split_name(name)[0]).stem
    folder = corpus or SUITE_CORPORA.get(stem) or (squad_root / "docs" if stem in SQUAD_SUITES else None)
    if folder is None:
        raise DocqaError(f"suite {name!r} has no default corpus; pass --corpus FOLDER")
    return cases, folder


def run_suite(name: str, cases: list[Case], corpus: Path, settings: Settings, systems: list[str],
              sample: int | None, seed: int, progress: bool = True) -> SuiteReport:
    if sample is not None and sample < len(cases):
        cases = random.Random(seed).sample(cases, sample)
    built = build_systems(corpus, settings, systems)
    results: dict[str, list[TurnResult]] = {}
    for system in built:
        out: list[TurnResult] = []
        for n, case in enumerate(cases, 1):
            history: list[Answer] = []
            for i, turn in enumerate(case.turns):
                t = time.perf_counter()
                answer = system.answer(turn.question, history)
                ms = (time.perf_counter() - t) * 1000
                history.append(answer)
                out.append(score_turn(case, i, turn, answer, corpus, ms))
            if progress and n % 100 == 0:
                print(f"  {name}/{system.name}: {n}/{len(cases)}", file=sys.stderr)
        results[system.name] = out
    return SuiteReport(
        suite=name, corpus=str(corpus.resolve()), sample=sample, seed=seed, cases=len(cases),
        metrics={k: summarize(v) for k, v in results.items()}, results=results,
    )
