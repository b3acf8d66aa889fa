"""Rebuild the short-answer span model (``qa/weights/short-answer-lr.json``) from SQuAD training articles.

    python -m evals.train_short [--squad DIR] [--out PATH] [--no-write]

The short answer ("Who claimed it?" -> "IS-K") is a span of the first quote. ``qa.short_answer`` finds the
candidate spans of the asked kind with patterns; this fits, per kind (who / where / when / how many), a logistic
regression over ``SPAN_FEATURES`` that picks among them (the hand rules' pick is one of the features).

Data, never a test half: for each question of the 24 SQuAD article files whose names sort first, the candidate
sentences the engine reads that hold a gold answer; a candidate span is positive when it
is a gold answer (or holds / is held by one of at least half its length). Articles 1-18 fit, 19-24 validate:
the table compares the rules' pick with the model's on the validation sentences. The shipped model is then refitted
on all 24 articles. A pick whose probability is under the floor is not shown as a short answer: the floor is chosen on the
first quotes of the engine's answers to the validation articles' questions (gold or not), the highest that keeps 99 %
of the right picks. Prints the run time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import SEEDS_DIR, load_settings
from qa import Answer, get_engine
from qa.short_answer import SPAN_FEATURES, SPAN_WEIGHTS, agent_of_the_verb, question_kind, set_span_model, span_table

from .runner import DEFAULT_SQUAD
from .suite import load_suite

TRAIN_ARTICLES = 24
FIT_ARTICLES = 18
KINDS = ("who", "where", "when", "how many")
#: Tuning suites over the seeds, fitted on with this weight per row (few turns, but the product's own domain).
SUITES = ("seeds", "natural:dev", "nearmiss:dev")
SEEDS_WEIGHT = 5.0
#: How many of the best-scored candidate sentences of a question are searched for gold ones.
SENTENCES = 24


def _norm(text: str) -> str:
    t = re.sub(r"^(?:the|a|an)\s+", "", text.lower().strip(" .,;:'\"“”‘’()"))
    return re.sub(r"\s+", " ", t)


def is_gold(span: str, answers: list[str]) -> bool:
    """``span`` is a gold answer, or holds / is held by one at least half as long."""
    s = _norm(span)
    for a in answers:
        g = _norm(a)
        if not s or not g:
            continue
        if s == g or (s in g and len(s) >= len(g) / 2) or (g in s and len(g) >= len(s) / 2):
            return True
    return False


@dataclass
class Group:
    """The candidate spans of one sentence, labelled."""

    kind: str
    article: int
    rows: list[list[float]]
    labels: list[int]
    rules: int  # index of the rules' pick
    on_gold: bool = True  # the sentence lies on the gold line (validation counts only these)
    first_quote: bool = False  # the answer's first quote, gold or not (only for choosing the floor)
    weight: float = 1.0


def _group(question: str, sentence: str, vocab: frozenset[str], gold: Callable[[str], bool], **extra: Any) -> Group | None:
    """``sentence``'s candidate spans for ``question`` labelled by ``gold``; None when it holds no candidate."""
    table = span_table(question, sentence, vocab)
    if table is None:
        return None
    kind = question_kind(question)
    assert kind is not None
    return Group(kind=kind, rows=table.rows, labels=[int(gold(c.text)) for c in table.candidates], rules=table.rules, **extra)


def collect(root: Path) -> list[Group]:
    docs = sorted(p.name for p in (root / "docs").iterdir() if p.suffix == ".txt")
    article = {name: i for i, name in enumerate(docs[:TRAIN_ARTICLES])}
    engine = get_engine(root / "docs", load_settings())
    vocab = engine.lower_vocab
    groups: list[Group] = []
    rows = [json.loads(line) for line in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["file"] in article]
    for n, row in enumerate(rows):
        if n % 500 == 0:
            print(f"  {n}/{len(rows)} questions", file=sys.stderr)
        question = row["question"]
        if question_kind(question) not in KINDS:
            continue

        def gold(text: str, answers: list[str] = row["answers"]) -> bool:
            return is_gold(text, answers)

        answer, evidence = engine.answer_with_evidence(question)
        if answer.citations and not answer.disagreement:
            first = _group(question, answer.citations[0].quote, vocab, gold, article=article[row["file"]], first_quote=True)
            if first is not None:
                groups.append(first)
        for e in evidence[:SENTENCES]:
            if e.chunk.file != row["file"] or not any(a.lower() in e.quote.lower() for a in row["answers"]):
                continue
            g = _group(question, e.quote, vocab, gold, article=article[row["file"]], on_gold=e.span.line == row["line"])
            if g is not None and any(g.labels):
                groups.append(g)
    return groups


def collect_suites() -> list[Group]:
    """The seeds suites' tuning turns (the old seeds suite, natural and nearmiss dev halves), asked in conversation:
    sentences on a gold line whose candidate spans match an expected answer."""
    engine = get_engine(SEEDS_DIR, load_settings())
    vocab = engine.lower_vocab
    groups: list[Group] = []
    for name in SUITES:
        for case in load_suite(name):
            history: list[Answer] = []
            for turn in case.turns:
                answer, evidence = engine.answer_with_evidence(turn.question, history)
                history.append(answer)
                question = answer.standalone_question
                if turn.abstain or question_kind(question) not in KINDS:
                    continue

                def gold(text: str, expect: list[str] = turn.expect) -> bool:
                    return any(re.search(p, text, re.IGNORECASE) for p in expect)

                for e in evidence[:SENTENCES]:
                    if f"{e.chunk.file}:{e.span.line}" not in set(turn.evidence):
                        continue
                    g = _group(question, e.quote, vocab, gold, article=-1, weight=SEEDS_WEIGHT)
                    if g is not None and any(g.labels):
                        groups.append(g)
    return groups


def fit(groups: list[Group]) -> dict[str, tuple[np.ndarray, float]]:
    from sklearn.linear_model import LogisticRegression

    out = {}
    for kind in KINDS:
        mine = [g for g in groups if g.kind == kind]
        x = np.array([r for g in mine for r in g.rows], dtype=np.float64)
        y = np.array([lab for g in mine for lab in g.labels])
        w = np.array([g.weight for g in mine for _ in g.labels])
        if len(mine) < 20 or y.min() == y.max():
            continue
        model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y, sample_weight=w)
        out[kind] = (model.coef_[0], float(model.intercept_[0]))
    return out


def _model_pick(g: Group, model: tuple[np.ndarray, float]) -> int:
    """What ``qa.short_answer.rank_spans`` picks: the model's best, unless the rules' pick is the verb's agent."""
    if agent_of_the_verb(g.rows[g.rules]):
        return g.rules
    z = np.array(g.rows) @ model[0] + model[1]
    return int(np.argmax(z))


def top1(groups: list[Group], models: dict[str, tuple[np.ndarray, float]] | None) -> dict[str, tuple[int, float]]:
    """Per kind: (sentences, share whose pick is gold) for the rules (models None) or the model."""
    out: dict[str, tuple[int, float]] = {}
    for kind in KINDS:
        mine = [g for g in groups if g.kind == kind]
        if not mine:
            continue
        right = 0
        for g in mine:
            if models is None or kind not in models:
                pick = g.rules
            else:
                pick = _model_pick(g, models[kind])
            right += g.labels[pick]
        out[kind] = (len(mine), right / len(mine))
    return out


#: The floor keeps at least this share of the validation sentences whose model pick is gold.
GOOD_KEPT = 0.99


def choose_floor(groups: list[Group], models: dict[str, tuple[np.ndarray, float]]) -> tuple[float, int, int]:
    """The highest probability floor under which a pick is not shown, keeping ``GOOD_KEPT`` of the gold picks:
    (floor, gold picks hidden, wrong picks hidden)."""
    picks: list[tuple[float, int]] = []
    for g in groups:
        if g.kind not in models:
            continue
        coef, b = models[g.kind]
        z = np.array(g.rows) @ coef + b
        i = _model_pick(g, models[g.kind])
        picks.append((float(1 / (1 + np.exp(-z.max()))), g.labels[i]))
    good = sum(lab for _, lab in picks)
    best = (0.0, 0, 0)
    for floor in np.arange(0.05, 0.95, 0.05):
        hidden_good = sum(1 for p, lab in picks if p < floor and lab)
        hidden_bad = sum(1 for p, lab in picks if p < floor and not lab)
        if hidden_good <= (1 - GOOD_KEPT) * good:
            best = (round(float(floor), 2), hidden_good, hidden_bad)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="folder with questions.jsonl and docs/")
    parser.add_argument("--out", type=Path, default=SPAN_WEIGHTS)
    parser.add_argument("--no-write", action="store_true", help="report only")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    set_span_model(None)  # candidates and the rules' pick, whatever is shipped
    groups = collect(args.squad)
    answers = [g for g in groups if g.first_quote and g.article >= FIT_ARTICLES]
    groups = [g for g in groups if not g.first_quote]
    suites = collect_suites()
    groups += suites
    fit_groups = [g for g in groups if g.article < FIT_ARTICLES]
    val_groups = [g for g in groups if g.article >= FIT_ARTICLES and g.on_gold]
    rules = top1(val_groups, None)
    fitted = fit(fit_groups)
    model = top1(val_groups, fitted)
    floor, hidden_good, hidden_bad = choose_floor(answers, fitted)
    print("| kind | validation sentences | rules' pick is gold | model's pick is gold |")
    print("| --- | --- | --- | --- |")
    for kind in KINDS:
        if kind in rules:
            print(f"| {kind} | {rules[kind][0]} | {rules[kind][1]:.3f} | {model[kind][1]:.3f} |")
    shown_good = sum(1 for g in answers if g.kind in fitted and g.labels[_model_pick(g, fitted[g.kind])])
    print(f"validation answers' first quotes: {len(answers)}, the model's pick is gold in {shown_good}; floor {floor} hides "
          f"{hidden_bad} wrong and {hidden_good} right picks")
    final = fit(groups)
    seconds = time.perf_counter() - t0
    if not args.no_write:
        args.out.write_text(json.dumps({
            "features": list(SPAN_FEATURES),
            "kinds": {k: {"coef": [round(float(c), 6) for c in coef], "intercept": round(b, 6)} for k, (coef, b) in final.items()},
            "floor": floor,
            "validation": {k: {"sentences": rules[k][0], "rules": round(rules[k][1], 4), "model": round(model[k][1], 4)} for k in rules},
            "training_sentences": len(groups),
        }, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    print(f"{len(groups)} gold sentences ({len(fit_groups)} fit, {len(suites)} of them from the seeds suites; "
          f"{len(val_groups)} validation); took {seconds:.0f} s")
    suite_rules = sum(g.labels[g.rules] for g in suites)
    print(f"seeds suites' sentences: rules' pick is gold in {suite_rules} of {len(suites)} (fitted on, so not a measure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
