"""Rebuild the learned evidence model (``qa/weights/evidence-lr.json``) from data in the repository and ``../shared``.

    python -m evals.train_encoder   # first, only to rebuild the evidence encoder (index/encoders/minilm-qa, ~20 min)
    python -m evals.train [--squad DIR] [--out PATH] [--seed 0] [--compare] [--features-cache PATH] [--no-reworded] [--more-reworded]

The features include cosines from the evidence encoder (``DOCQA_EVIDENCE_ENCODER``), so the
weights belong to the encoder they were fitted with: rebuild them after rebuilding it.

Training data, never any test half:
- SQuAD: the questions of the 24 article files whose names sort first (the other 24 are only
  ever evaluated). A candidate sentence is positive when it lies on the gold line and holds a
  gold answer; other sentences of the gold line, and sentences elsewhere that happen to hold
  the answer string, are left out (neither clearly right nor wrong).
- Everyday rewordings (shipped since 2026-12-04's seventh session; ``--no-reworded`` leaves them out) of
  390 of those questions (``evals/suites/squad-paraphrased.jsonl``: 300 of articles 1-18 fit, 90 of
  articles 19-24 validate), written by helpers who saw only the question and its paragraph and
  avoided the paragraph's words: the same gold line and answers. The file holds 900 more (tag
  ``set2``: 720 fit, 180 validate, written in the eighth session); ``--more-reworded`` adds them. Measured
  (2026-12-04, eighth session): they do not move the ranker (validation top-1 0.7975 -> 0.7857-0.7955 for
  weights 3-1, reworded validation 0.629 -> 0.629-0.634) nor the dev suites, so the shipped file leaves them out.
- The seeds suites' dev halves (natural, nearmiss, nearmiss-squad) and the old seeds suite
  (written together with the rules, so it is tuning data anyway): positive sentences lie on a
  gold evidence line and match an expected answer; every candidate of a turn that must
  abstain is negative.

Model selection (``--compare`` prints the alternatives): articles 1-18 fit, 19-24 validate.
The shipped model is then refitted on all training data. The abstention threshold is chosen
on dev data only: answerable dev turns against unanswerable ones (the dev halves' abstain
turns, and validation-article SQuAD questions whose answering sentences were removed from the
candidates), maximising balanced accuracy. The classifier's probability is then calibrated: a
strictly increasing map (``qa.scorer.Calibration``) fitted on the SQuAD training rows as answer
time computes their features, stored with the weights, and the threshold and LLM bar are stored
through it (so the decisions are the raw probability's). Prints the reliability table and the
expected calibration error (map fitted on articles 1-18, measured on 19-24, raw and calibrated),
writes a reliability plot of the calibrated probability next to the weights, and the run time.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import SEEDS_DIR, Settings, load_settings
from index.errors import ModelError
from qa import Answer, QAEngine
from qa.engine import Trace
from qa.evidence import Evidence
from qa.features import FEATURES, finish
from qa.scorer import LEARNED_WEIGHTS, Calibration, LearnedScorer, RulesScorer, answer_features

from .runner import DEFAULT_SQUAD, squad_cases
from .suite import Case, load_suite

TRAIN_ARTICLES = 24
FIT_ARTICLES = 18
#: Seeds-suite rows weigh this much more than SQuAD rows (few turns, but the product's own domain).
SEEDS_WEIGHT = 5.0
#: Rows of the reworded SQuAD questions weigh this much (300 fitted against 4,500 SQuAD questions in the articles' words).
PARA_WEIGHT = 3.0
#: The reworded training questions, and the tag that marks the fitted ones (the rest validate).
PARAPHRASED = "squad-paraphrased"
#: The tag of the reworded questions that ``--more-reworded`` adds (measured, not in the shipped fit).
MORE_REWORDED = "set2"
#: The threshold keeps answering at least this share of answerable dev turns (mean over sources).
ANSWERED_FLOOR = 0.9
#: The LLM bar lets at least this share of answerable dev turns reach the LLM in generative mode.
LLM_REACH = 0.975


@dataclass
class Group:
    """The candidates of one asked turn, with labels (1, 0, or -1 for left out)."""

    source: str  # squad-fit, squad-val, seeds, natural, nearmiss, nearmiss-squad
    answerable: bool
    x: np.ndarray
    y: np.ndarray
    synthetic_unanswerable: np.ndarray | None = field(default=None)  # mask of candidates kept when the answer is removed
    more: bool = field(default=False)  # a reworded question tagged MORE_REWORDED (fitted only with --more-reworded)


def _label(e: Evidence, gold: set[tuple[str, int]], patterns: list[re.Pattern[str]]) -> int:
    lines = {(e.chunk.file, sp.line) for sp in e.sentence.spans}
    holds = any(p.search(e.sentence.text) for p in patterns)
    if lines & gold:
        return 1 if holds else -1
    return -1 if holds else 0


@dataclass
class TracedQuestion:
    """One SQuAD question of the training articles, traced through an engine."""

    split: str  # fit: the first FIT_ARTICLES articles; val: the rest of the TRAIN_ARTICLES
    question: str
    file: str
    trace: Trace
    gold: set[tuple[str, int]]
    patterns: list[re.Pattern[str]]

    def label(self, e: Evidence) -> int:
        """1: ``e`` holds the answer on the gold line, 0: it does not, -1: left out (see ``_label``)."""
        return _label(e, self.gold, self.patterns)


def traced_training_questions(squad: Path, engine: QAEngine) -> Iterator[TracedQuestion]:
    """Every question about the training articles (never the other 24), asked of ``engine``."""
    docs = sorted(p.name for p in (squad / "docs").iterdir() if p.suffix == ".txt")
    fit, val = set(docs[:FIT_ARTICLES]), set(docs[FIT_ARTICLES:TRAIN_ARTICLES])
    for case in squad_cases(squad):
        turn = case.turns[0]
        file, line = turn.evidence[0].rsplit(":", 1)
        if file in fit or file in val:
            patterns = [re.compile(p, re.IGNORECASE) for p in turn.expect]
            yield TracedQuestion("fit" if file in fit else "val", turn.question, file, engine.trace(turn.question),
                                 {(file, int(line))}, patterns)


def _groups_of_cases(engine: QAEngine, cases: list[Case], source: str) -> list[Group]:
    out = []
    for case in cases:
        history: list[Answer] = []
        for turn in case.turns:
            tr = engine.trace(turn.question, history)
            history.append(engine.answer(turn.question, history))
            if not tr.candidates:
                continue
            x = np.asarray([e.features for e in tr.candidates])
            if turn.abstain:
                y = np.zeros(len(x), dtype=np.int64)
            else:
                gold = {(f, int(n)) for f, n in (ev.rsplit(":", 1) for ev in turn.evidence)}
                pats = [re.compile(p, re.IGNORECASE) for p in turn.expect]
                y = np.asarray([_label(e, gold, pats) for e in tr.candidates])
            out.append(Group(source, not turn.abstain, x, y))
    return out


def _squad_groups(engine: QAEngine, cases: list[Case], split_of: dict[str, str]) -> list[Group]:
    out = []
    for n, case in enumerate(cases, 1):
        turn = case.turns[0]
        tr = engine.trace(turn.question)
        if not tr.candidates:
            continue
        gold = {(f, int(line)) for f, line in (ev.rsplit(":", 1) for ev in turn.evidence)}
        pats = [re.compile(p, re.IGNORECASE) for p in turn.expect]
        y = np.asarray([_label(e, gold, pats) for e in tr.candidates])
        holds = np.asarray([any(p.search(e.sentence.text) for p in pats) or bool({(e.chunk.file, sp.line) for sp in e.sentence.spans} & gold) for e in tr.candidates])
        file = next(iter(gold))[0]
        out.append(Group(split_of[file], True, np.asarray([e.features for e in tr.candidates]), y, ~holds))
        if n % 500 == 0:
            print(f"  squad: {n}/{len(cases)} questions", file=sys.stderr)
    return out


def reworded_cases(more: bool = False) -> list[Case]:
    """The reworded training questions the shipped fit uses; ``more``: with those tagged ``MORE_REWORDED`` too."""
    return [c for c in load_suite(PARAPHRASED) if more or MORE_REWORDED not in c.tags]


def _paraphrased_groups(engine: QAEngine, split_of: dict[str, str], more: bool = False) -> list[Group]:
    """The reworded training questions (sources ``para-fit`` / ``para-val``, by their article); ``more``: with the
    ``set2`` ones too."""
    base = reworded_cases()
    extra = [c for c in reworded_cases(more=True) if MORE_REWORDED in c.tags] if more else []
    for case in base + extra:
        article = case.turns[0].evidence[0].rsplit(":", 1)[0]
        if article not in split_of:
            raise ValueError(f"{PARAPHRASED}: case {case.id} is about {article}, not a training article")
    groups = _squad_groups(engine, base, split_of)
    for g in _squad_groups(engine, extra, split_of):
        g.more = True
        groups.append(g)
    for g in groups:
        g.source = g.source.replace("squad-", "para-")
    print(f"{len(groups)} reworded training questions", file=sys.stderr)
    return groups


def _rows(groups: list[Group]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, ws = [], [], []
    for g in groups:
        keep = g.y >= 0
        xs.append(g.x[keep])
        ys.append(g.y[keep])
        ws.append(np.full(int(keep.sum()), _weight(g)))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


class _LR:
    """Standardised logistic regression (what ships: numpy at answer time)."""

    def __init__(self, c: float) -> None:
        self.c = c

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _LR:
        from sklearn.linear_model import LogisticRegression

        self.mean = x.mean(axis=0)
        self.scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
        self.model = LogisticRegression(C=self.c, max_iter=2000).fit((x - self.mean) / self.scale, y, sample_weight=w)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba((x - self.mean) / self.scale)[:, 1]


class _GBT:
    """Gradient-boosted trees (an alternative measured, not shipped unless clearly better)."""

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _GBT:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=0).fit(x, y, sample_weight=w)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]


def _top1(model: _LR | _GBT, groups: list[Group]) -> float:
    """Share of answerable groups with a positive candidate whose best-scored candidate is positive."""
    hits = total = 0
    for g in groups:
        if not g.answerable or not (g.y == 1).any():
            continue
        total += 1
        hits += int(g.y[int(np.argmax(model.predict(g.x)))] == 1)
    return hits / max(total, 1)


def _balanced(pos: list[tuple[str, float]], neg: list[tuple[str, float]], th: float) -> tuple[float, float, float]:
    """Mean over sources of the answered share (answerable) and of the abstained share (unanswerable)."""
    def rate(items: list[tuple[str, float]], ok: bool) -> float:
        by: dict[str, list[bool]] = {}
        for src, s in items:
            by.setdefault(src, []).append((s >= th) == ok)
        return float(np.mean([np.mean(v) for v in by.values()])) if by else 1.0
    answered, abstained = rate(pos, True), rate(neg, False)
    return answered, abstained, (answered + abstained) / 2


def _reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[float, list[tuple[float, float, float, int]]]:
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for a, b in zip(edges, edges[1:], strict=False):
        m = (p >= a) & ((p < b) if b < 1 else (p <= b))
        if m.any():
            conf, acc = float(p[m].mean()), float(y[m].mean())
            ece += m.sum() / len(p) * abs(conf - acc)
            rows.append((a, conf, acc, int(m.sum())))
    return ece, rows


#: Equal-count bins of the raw probability whose observed rates become the calibration map's knots.
CALIBRATION_BINS = 20


def _calibration(p: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> Calibration:
    """The calibration map: knots at the mean raw probability of equal-count bins and their observed rate, pooled
    until non-decreasing (pool adjacent violators), then nudged strictly increasing (so no two probabilities swap
    or tie), with the ends pinned at (0, 0) and (1, 1)."""
    order = np.argsort(p, kind="stable")
    blocks = [[float(p[i].mean()), float(y[i].mean()), float(len(i))] for i in np.array_split(order, bins) if len(i)]
    pooled: list[list[float]] = []
    for x, r, n in blocks:
        pooled.append([x * n, r * n, n])
        while len(pooled) > 1 and pooled[-2][1] / pooled[-2][2] > pooled[-1][1] / pooled[-1][2]:
            last = pooled.pop()
            pooled[-1] = [a + b for a, b in zip(pooled[-1], last, strict=True)]
    raw, observed = [0.0], [0.0]
    for sx, sr, n in pooled:
        x, r = round(sx / n, 6), round(min(max(sr / n, observed[-1] + 1e-4), 1 - 1e-4), 6)
        if raw[-1] < x < 1.0 and observed[-1] < r:
            raw.append(x)
            observed.append(r)
    return Calibration((*raw, 1.0), (*observed, 1.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD folder (questions.jsonl + docs/)")
    parser.add_argument("--out", type=Path, default=LEARNED_WEIGHTS, help="where to write the model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true", help="also fit and report the alternative models")
    parser.add_argument("--features-cache", type=Path, help="reuse (or write) the collected features here (for iterating)")
    parser.add_argument("--no-reworded", dest="reworded", action="store_false",
                        help="leave out the reworded training questions (what shipped before 2026-12-04's seventh session)")
    parser.add_argument("--more-reworded", action="store_true",
                        help=f"also fit and validate on the reworded questions tagged {MORE_REWORDED!r} (measured, not shipped)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    random.seed(args.seed)
    np.random.seed(args.seed)
    settings = load_settings(evidence="rules")  # candidates and features do not depend on the scorer

    docs = sorted(p.name for p in (args.squad / "docs").iterdir() if p.suffix == ".txt")
    train = docs[:TRAIN_ARTICLES]
    split_of = {f: ("squad-fit" if i < FIT_ARTICLES else "squad-val") for i, f in enumerate(train)}

    if args.features_cache is not None and args.features_cache.is_file():
        with open(args.features_cache, "rb") as fh:
            groups, dev = pickle.load(fh)
    else:
        groups, dev = _collect(args, settings, split_of)
        if args.features_cache is not None:
            with open(args.features_cache, "wb") as fh:
                pickle.dump((groups, dev), fh)
    if not args.reworded:
        groups = [g for g in groups if not g.source.startswith("para")]  # a cache may hold them
    if not args.more_reworded:
        groups = [g for g in groups if not g.more]  # a cache collected with --more-reworded holds them
    dev += _offtopic_groups(args, settings, split_of)
    collected = time.perf_counter() - started
    print(f"features ready in {collected:.0f} s: {len(groups)} SQuAD groups, {len(dev)} seeds-suite dev turns", file=sys.stderr)
    return _fit_and_write(args, groups, dev, train, started)


class _TracingRules(RulesScorer):
    """The rules (for the conversation history while collecting), with every feature computed."""

    uses_sentence_vectors = True


def _tracing(engine: QAEngine) -> QAEngine:
    """The engine with a scorer that makes it compute the sentence cosines (features must match answer time)."""
    engine.scorer = _TracingRules()
    return engine


#: Training SQuAD questions asked of the seeds (and seeds questions of SQuAD): answers that cannot be there.
OFFTOPIC_QUESTIONS = 400


def _offtopic_groups(args: argparse.Namespace, settings: Settings, split_of: dict[str, str]) -> list[Group]:
    """Questions asked of a corpus that cannot answer them: every candidate is wrong (answer classifier only)."""
    from qa import get_engine

    squad = _tracing(get_engine(args.squad / "docs", settings))
    seeds = _tracing(get_engine(SEEDS_DIR, settings))
    pool = [c for c in squad_cases(args.squad) if c.turns[0].evidence[0].rsplit(":", 1)[0] in split_of]
    asked = [c.turns[0].question for c in random.Random(args.seed).sample(pool, min(OFFTOPIC_QUESTIONS, len(pool)))]
    out = []
    for engine, questions in ((seeds, asked), (squad, [c.turns[0].question for c in load_suite("seeds") if not c.turns[0].abstain])):
        for q in questions:
            tr = engine.trace(q)
            if tr.candidates:
                x = np.asarray([e.features for e in tr.candidates])
                out.append(Group("offtopic", False, x, np.zeros(len(x), dtype=np.int64)))
    return out


def _collect(args: argparse.Namespace, settings: Settings, split_of: dict[str, str]) -> tuple[list[Group], list[Group]]:
    """Candidates and labels of every training question and dev turn."""
    from qa import get_engine

    print(f"indexing {args.squad / 'docs'} and {SEEDS_DIR} (cached after the first run)...", file=sys.stderr)
    squad = _tracing(get_engine(args.squad / "docs", settings))
    seeds = _tracing(get_engine(SEEDS_DIR, settings))
    cases = [c for c in squad_cases(args.squad) if c.turns[0].evidence[0].rsplit(":", 1)[0] in split_of]
    print(f"{len(cases)} training SQuAD questions from {len(set(split_of))} articles", file=sys.stderr)
    groups = _squad_groups(squad, cases, split_of)
    if args.reworded:
        groups += _paraphrased_groups(squad, split_of, args.more_reworded)
    dev: list[Group] = []
    dev += _groups_of_cases(seeds, load_suite("seeds"), "seeds")
    for name in ("natural:dev", "nearmiss:dev"):
        dev += _groups_of_cases(seeds, load_suite(name), name.split(":")[0])
    dev += _groups_of_cases(squad, load_suite("nearmiss-squad:dev"), "nearmiss-squad")
    return groups, dev


class _Ranker:
    """Softmax over one question's candidates (conditional logit): what ships as the sentence ranker."""

    def __init__(self, l2: float = 1.0) -> None:
        self.l2 = l2

    def fit(self, groups: list[Group]) -> _Ranker:
        from scipy.optimize import minimize

        allx = np.concatenate([g.x for g in groups])
        self.mean = allx.mean(axis=0)
        self.scale = np.where(allx.std(axis=0) > 1e-9, allx.std(axis=0), 1.0)
        data = []
        for g in groups:
            keep = g.y >= 0
            if (g.y == 1).any():
                data.append(((g.x[keep] - self.mean) / self.scale, g.y[keep] == 1, _weight(g)))

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            total, grad = 0.0, np.zeros_like(w)
            for xs, pos, wt in data:
                z = xs @ w
                e = np.exp(z - z.max())
                p = e / e.sum()
                pp = p[pos].sum()
                total -= wt * np.log(pp + 1e-12)
                grad -= wt * ((p[pos] @ xs[pos]) / (pp + 1e-12) - p @ xs)
            return total + self.l2 * float(w @ w), grad + 2 * self.l2 * w

        self.coef = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B").x
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef


def _weight(g: Group) -> float:
    if g.source.startswith("para"):
        return PARA_WEIGHT
    return 1.0 if g.source.startswith("squad") else SEEDS_WEIGHT


class _Rules:
    """The rules scorer's sentence score, for comparison."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        c, f, t = (FEATURES.index(n) for n in ("coverage", "fused_rel", "type_match"))
        return 0.6 * x[:, c] + 0.4 * x[:, f] + 0.05 * ((x[:, t] > 0) & (x[:, c] > 0))


class _ShippedRanker:
    """The ranker of the weights file that ships, read by the scorer itself, for comparison with a refit."""

    def __init__(self) -> None:
        self.predict = LearnedScorer().rank_scores  # ModelError when the file is missing or for other features


def _answer_rows(
    ranker: _Ranker, groups: list[Group], as_answered: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """One row per asked turn (answerable: 1) plus one per SQuAD question with its answering sentences removed (0).

    An answer-removed row keeps the features as collected, where the cosine gap and rank were computed with the
    answer present (what the shipped fit was trained on); ``as_answered`` recomputes them over the remaining
    candidates, as answer time would, for measuring. Refitting on recomputed rows cost natural2 dev four turns
    (README "Evals", ninth session), so the fit keeps them as collected.
    """
    rows, labels, weights, sources = [], [], [], []
    for g in groups:
        rows.append(answer_features(g.x, ranker.predict(g.x)))
        labels.append(int(g.answerable))
        weights.append(_weight(g))
        sources.append(g.source)
        m = g.synthetic_unanswerable
        if m is not None and m.sum() >= 2:
            x = finish(g.x[m].tolist()) if as_answered else g.x[m]
            rows.append(answer_features(x, ranker.predict(x)))
            labels.append(0)
            weights.append(1.0)
            sources.append(g.source + "-answer-removed")
    return np.asarray(rows), np.asarray(labels), np.asarray(weights), sources


def _fit_and_write(args: argparse.Namespace, groups: list[Group], dev: list[Group], train: list[str], started: float) -> int:
    """Select, fit, choose the threshold, report calibration, write the weights."""
    fit = [g for g in groups if g.source in ("squad-fit", "para-fit")]
    val = [g for g in groups if g.source == "squad-val"]
    reworded = [g for g in groups if g.source == "para-val"]
    print("\nsentence ranking (fit: SQuAD articles 1-18, their reworded questions, seeds dev; validate: SQuAD articles 19-24)")
    print("top-1: share of questions whose best-scored candidate holds the answer on the gold line")
    print(f"{'model':<34} {'val top-1':>9} {'reworded':>9}")
    rankers: dict[str, object] = {"rules (shipped before)": _Rules()}
    try:
        rankers["shipped file (fit on 1-24)"] = _ShippedRanker()
    except ModelError:
        pass  # no shipped file for these features: nothing to compare
    for l2 in (0.1, 1.0, 10.0):
        rankers[f"softmax ranker, L2 {l2}"] = _Ranker(l2).fit(fit + dev)
    if args.compare:
        x, y, w = _rows(fit + dev)
        rankers["pointwise logistic regression"] = _LR(1.0).fit(x, y, w)
        rankers["pointwise gradient-boosted trees"] = _GBT().fit(x, y, w)
    top1, top1_reworded = {}, {}
    for name, model in rankers.items():
        top1[name] = _top1(model, val)  # type: ignore[arg-type]
        top1_reworded[name] = _top1(model, reworded) if reworded else 0.0  # type: ignore[arg-type]
        print(f"{name:<34} {top1[name]:9.3f} {top1_reworded[name]:9.3f}")
    # The L2 that ranks best on both validation sets (the articles' words and reworded), on average.
    l2 = max((0.1, 1.0, 10.0), key=lambda v: top1[f"softmax ranker, L2 {v}"] + top1_reworded[f"softmax ranker, L2 {v}"])

    ranker = _Ranker(l2).fit(groups + dev)
    from sklearn.linear_model import LogisticRegression

    # Answer classifier, validated first on articles 19-24, then fitted on everything. Its calibration map is fitted
    # on SQuAD rows as answer time sees them (the answer-removed ones with their relative features recomputed):
    # the classifier itself is fitted on those rows as collected, which reads more answers into them than there are.
    # The calibration population: SQuAD questions (not their rewordings) and their answer-removed copies.
    def on_squad(gs: list[Group]) -> list[Group]:
        return [g for g in gs if g.source.startswith("squad-")]

    val_ranker = _Ranker(l2).fit(fit + dev)
    ax, ay, aw, _ = _answer_rows(val_ranker, fit + dev)
    cx, cy, _, _ = _answer_rows(val_ranker, on_squad(fit), as_answered=True)
    vx, vy, _, _ = _answer_rows(val_ranker, val, as_answered=True)
    a_mean, a_scale = ax.mean(axis=0), np.where(ax.std(axis=0) > 1e-9, ax.std(axis=0), 1.0)
    clf = LogisticRegression(C=1.0, max_iter=3000).fit((ax - a_mean) / a_scale, ay, sample_weight=aw)
    cal = _calibration(clf.predict_proba((cx - a_mean) / a_scale)[:, 1], cy)
    raw_val = clf.predict_proba((vx - a_mean) / a_scale)[:, 1]
    ece_raw, _ = _reliability(raw_val, vy)
    ece, table = _reliability(np.asarray([cal(v) for v in raw_val]), vy)

    ax, ay, aw, sources = _answer_rows(ranker, groups + dev)
    a_mean, a_scale = ax.mean(axis=0), np.where(ax.std(axis=0) > 1e-9, ax.std(axis=0), 1.0)
    clf = LogisticRegression(C=1.0, max_iter=3000).fit((ax - a_mean) / a_scale, ay, sample_weight=aw)
    p = clf.predict_proba((ax - a_mean) / a_scale)[:, 1]
    cx, cy, _, _ = _answer_rows(ranker, on_squad(groups), as_answered=True)
    calibration = _calibration(clf.predict_proba((cx - a_mean) / a_scale)[:, 1], cy)

    # Threshold on the dev turns (every suite's dev half, SQuAD validation articles): keep answering at least
    # ANSWERED_FLOOR of the answerable ones (mean over sources), and abstain on as many unanswerable ones as possible.
    dev_sources = {"seeds", "natural", "nearmiss", "nearmiss-squad", "squad-val", "squad-val-answer-removed", "para-val", "offtopic"}
    pos = [(s, float(v)) for s, v, y in zip(sources, p, ay, strict=True) if s in dev_sources and y == 1]
    neg = [(s, float(v)) for s, v, y in zip(sources, p, ay, strict=True) if s in dev_sources and y == 0]
    print(f"\nthreshold on dev (answered: answerable turns; abstained: unanswerable; mean over sources; floor {ANSWERED_FLOOR})")
    print(f"{'thresh':>6} {'answered':>8} {'abstained':>9} {'bal.acc':>7}")
    best_t, best_key = 0.05, (-1.0, -1.0)
    for t in range(5, 96):
        answered, abstained, bal = _balanced(pos, neg, t / 100)
        key = (abstained if answered >= ANSWERED_FLOOR else -1.0, bal)
        if key > best_key:
            best_t, best_key = t / 100, key
        if t % 5 == 0:
            print(f"{t / 100:6.2f} {answered:8.3f} {abstained:9.3f} {bal:7.3f}")
    print(f"chosen threshold {best_t:.2f} (stored calibrated: {calibration(best_t):.4f})")
    # The generative mode's bar: the highest threshold that still lets LLM_REACH of the answerable dev turns through.
    llm_t = max((t / 100 for t in range(1, int(best_t * 100) + 1) if _balanced(pos, neg, t / 100)[0] >= LLM_REACH), default=0.01)
    print(f"LLM bar {llm_t:.2f}, calibrated {calibration(llm_t):.4f} (answerable dev turns reaching the LLM: {_balanced(pos, neg, llm_t)[0]:.3f})")
    for src in sorted({s for s, _ in pos + neg}):
        a = [v for k, v in pos if k == src]
        u = [v for k, v in neg if k == src]
        if a:
            print(f"  answerable {src}: n={len(a)} answered {np.mean([v >= best_t for v in a]):.3f}")
        if u:
            print(f"  unanswerable {src}: n={len(u)} abstained {np.mean([v < best_t for v in u]):.3f}")

    print(f"\nreliability of the answer probability on SQuAD validation articles (n={len(vy)}), calibrated on articles "
          f"1-{FIT_ARTICLES}: ECE {ece:.4f} (the classifier's raw probability: {ece_raw:.4f})")
    print(f"{'bin':>5} {'mean p':>7} {'observed':>8} {'n':>7}")
    for lo, conf, acc, n in table:
        print(f"{lo:5.1f} {conf:7.3f} {acc:8.3f} {n:7d}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _plot(table, ece, args.out.with_suffix(".reliability.svg"))
    rank_coef = [round(float(v), 6) for v in ranker.coef]

    payload = {
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in ranker.mean],
        "scale": [round(float(v), 6) for v in ranker.scale],
        "rank_coef": rank_coef,
        "answer": {
            "mean": [round(float(v), 6) for v in a_mean],
            "scale": [round(float(v), 6) for v in a_scale],
            "coef": [round(float(v), 6) for v in clf.coef_[0]],
            "intercept": round(float(clf.intercept_[0]), 6),
            "calibration": {"raw": list(calibration.raw), "observed": list(calibration.observed)},
        },
        # Chosen on the raw probability, stored through the calibration map: the same decisions.
        "threshold": round(calibration(best_t), 6),
        "llm_threshold": round(calibration(llm_t), 6),
        "encoder": load_settings().evidence_encoder,
        "trained": {
            "command": "python -m evals.train",
            "seed": args.seed,
            "ranker_l2": l2,
            "squad_articles": train,
            "questions": len(groups),
            "dev_turns": len(dev),
            "validation_top1": round(top1[f"softmax ranker, L2 {l2}"], 4),
            "validation_ece": round(ece, 4),
            "validation_ece_raw": round(ece_raw, 4),
            "threshold_raw": best_t,
            "llm_threshold_raw": llm_t,
        },
    }
    if reworded:
        payload["trained"]["validation_top1_reworded"] = round(top1_reworded[f"softmax ranker, L2 {l2}"], 4)  # type: ignore[index]
    args.out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print("\nranker weights (standardised features):")
    for name, coef in sorted(zip(FEATURES, rank_coef, strict=True), key=lambda kv: -abs(kv[1])):
        print(f"  {name:<16} {coef:+.3f}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.perf_counter() - started:.0f} s")
    return 0


def _plot(table: list[tuple[float, float, float, int]], ece: float, path: Path) -> None:
    """A reliability diagram as a small hand-written SVG (no plotting library needed)."""
    size, pad = 240, 30

    def xy(px: float, py: float) -> str:
        return f"{pad + px * size:.1f},{pad + (1 - py) * size:.1f}"

    points = " ".join(xy(conf, acc) for _, conf, acc, _ in table)
    dots = "".join(f'<circle cx="{xy(c, a).split(",")[0]}" cy="{xy(c, a).split(",")[1]}" r="3"/>' for _, c, a, _ in table)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad}" height="{size + 2 * pad}" font-size="10">'
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>'
        f'<line x1="{pad}" y1="{pad + size}" x2="{pad + size}" y2="{pad}" stroke="#bbb" stroke-dasharray="4"/>'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/><g fill="#1f77b4">{dots}</g>'
        f'<text x="{pad}" y="{pad - 8}">answer probability: reliability (ECE {ece:.3f})</text>'
        f'<text x="{pad + size / 2 - 40}" y="{size + 2 * pad - 6}">predicted</text>'
        f'<text x="4" y="{pad + size / 2}" transform="rotate(-90 8,{pad + size / 2})">observed</text></svg>'
    )
    path.write_text(svg, encoding="utf-8")
    print(f"reliability plot: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
