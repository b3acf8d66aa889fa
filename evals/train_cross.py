"""Train the answer checker: a small cross-encoder that reads (question, sentence) together.

    python -m evals.train_cross [--squad DIR] [--out PATH] [--epochs 2] [--seed 0] [--pairs-cache PATH]

Why: the learned scorer's features (cosines, word coverage, ranks) cannot tell "How many children died?"
from "How many people died?", nor a paraphrase that shares no word with its answer from an off-topic
sentence. A cross-encoder attends across the question and the sentence at once.

Model: the first ``LAYERS`` transformer layers of the evidence encoder (``index/encoders/minilm-qa``,
itself MiniLM fine-tuned on the training articles), mean pooling, one linear output; the word,
position and type embeddings stay frozen and are read from the evidence encoder at answer time, so
the file holds only the layers (int8 per output row) and the head: about 5 MB. It is not shipped: measured
on held-out questions it lost to the default scorer (README, "Evidence scorers"), so it is an opt-in
``DOCQA_EVIDENCE=checked``, written to ``DOCQA_HOME/models/`` where that scorer reads it.

Data, never a test half:
- SQuAD, the 24 article files whose names sort first: articles 1-18 fit, 19-24 validate. Per
  question: the candidate on the gold line that holds the answer (positive); the two best-ranked
  candidates that do not hold it (negatives); and, with probability 0.7, a synthetic near-miss of the
  question paired with its answer sentence (negative): one name, number or content word that the
  sentence contains swapped for another of the same kind from the same article, or a "not" inserted.
- The dev halves of the seeds suites (natural, nearmiss) and the old seeds suite, asked with their
  conversation history: positives on gold lines that match an expected answer; for a turn that must
  abstain, its three best-ranked candidates are negatives. Repeated ``SEEDS_REPEAT`` times.

Validation prints, on articles 19-24: top-1 among the ranker's top ``TOP_K`` (checker against the
learned ranker alone) and the AUC of answer sentences against synthetic near-misses.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import load_settings
from index.settings import EVIDENCE_ENCODER_DIR
from qa import Answer, QAEngine, get_engine
from qa.cross import LAYERS, MAX_TOKENS, TOP_K, checker_path, save_checker
from qa.text import STOPWORDS

from .runner import DEFAULT_SQUAD
from .suite import load_suite
from .train import _label, traced_training_questions

SEEDS_REPEAT = 3
SYNTHETIC_SHARE = 0.7
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][\w'-]+")
_WORD = re.compile(r"\b[a-z][a-z'-]{3,}\b")
_AUX = re.compile(r"\b(did|does|do|was|were|is|are|has|have|had|could|would|can|will)\b")


@dataclass
class Item:
    """One asked turn: its (standalone) question, its ranked candidate sentences and their labels."""

    source: str  # squad-fit, squad-val, seeds
    question: str
    texts: list[str]
    labels: list[int]  # 1 answers, 0 does not, -1 left out
    answerable: bool
    article_words: list[str]


def near_miss(question: str, sentence: str, article_words: list[str], rng: random.Random) -> str | None:
    """``question`` changed so that ``sentence`` no longer answers it (None when no change applies)."""
    in_sentence = sentence.lower()
    options: list[tuple[str, re.Match[str]]] = []
    for m in _NAME.finditer(question):
        if m.start() > 0 and m.group().lower() in in_sentence:
            options.append(("name", m))
    for m in _NUMBER.finditer(question):
        options.append(("number", m))
    for m in _WORD.finditer(question):
        if m.group() not in STOPWORDS and m.group() in in_sentence:
            options.append(("word", m))
    if _AUX.search(question) and " not " not in question and "n't" not in question:
        options.append(("not", _AUX.search(question)))  # type: ignore[arg-type]
    rng.shuffle(options)
    for kind, m in options:
        if kind == "not":
            return question[: m.end()] + " not" + question[m.end():]
        if kind == "number":
            pool = [w for w in article_words if _NUMBER.fullmatch(w) and w not in in_sentence] or [
                str(int(re.sub(r"\D", "", m.group()) or "1") + rng.choice([2, 3, 7, 11, 40]))]
        elif kind == "name":
            pool = [w for w in article_words if _NAME.fullmatch(w) and w.lower() not in in_sentence and w.lower() not in question.lower()]
        else:
            pool = [w for w in article_words if _WORD.fullmatch(w) and w not in STOPWORDS and w not in in_sentence and w not in question]
        if pool:
            return question[: m.start()] + rng.choice(pool) + question[m.end():]
    return None


def _article_words(folder: Path) -> dict[str, list[str]]:
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_file():
            out[p.name] = sorted(set(re.findall(r"[\w'-]+", p.read_text(encoding="utf-8", errors="replace"))))
    return out


def _squad_items(squad: Path) -> list[Item]:
    vocab = _article_words(squad / "docs")
    items = []
    for n, tq in enumerate(traced_training_questions(squad, get_engine(squad / "docs", load_settings())), 1):
        texts = [e.sentence.text for e in tq.trace.evidence]
        labels = [tq.label(e) for e in tq.trace.evidence]
        items.append(Item(f"squad-{tq.split}", tq.question, texts, labels, True, vocab[tq.file]))
        if n % 1000 == 0:
            print(f"  squad: {n} training questions", file=sys.stderr)
    return items


def _suite_items(engine: QAEngine, name: str, words: list[str]) -> list[Item]:
    items = []
    for case in load_suite(name):
        if case.split == "test":
            continue
        history: list[Answer] = []
        for turn in case.turns:
            tr = engine.trace(turn.question, history)
            history.append(engine.answer(turn.question, history))
            texts = [e.sentence.text for e in tr.evidence]
            if turn.abstain:
                labels = [0 if i < 3 else -1 for i in range(len(texts))]
            else:
                gold = {(f, int(n)) for f, n in (ev.rsplit(":", 1) for ev in turn.evidence)}
                pats = [re.compile(p, re.IGNORECASE) for p in turn.expect]
                labels = [_label(e, gold, pats) for e in tr.evidence]
            items.append(Item("seeds", tr.standalone, texts, labels, not turn.abstain, words))
    return items


def collect(squad: Path) -> list[Item]:
    from index import SEEDS_DIR

    items = _squad_items(squad)
    engine = get_engine(SEEDS_DIR, load_settings())
    words = sorted({w for ws in _article_words(SEEDS_DIR).values() for w in ws})
    for name in ("seeds", "natural", "nearmiss"):
        items += _suite_items(engine, name, words)
    return items


def examples(items: list[Item], rng: random.Random) -> list[tuple[str, str, float]]:
    """(question, sentence, label) training pairs."""
    out: list[tuple[str, str, float]] = []
    for it in items:
        pos = [t for t, y in zip(it.texts, it.labels, strict=True) if y == 1]
        neg = [t for t, y in zip(it.texts, it.labels, strict=True) if y == 0]
        rows = [(it.question, pos[0], 1.0)] if pos else []
        rows += [(it.question, t, 0.0) for t in neg[: 3 if not it.answerable else 2]]
        if pos and rng.random() < SYNTHETIC_SHARE:
            q = near_miss(it.question, pos[0], it.article_words, rng)
            if q is not None:
                rows.append((q, pos[0], 0.0))
        out += rows * (SEEDS_REPEAT if it.source == "seeds" else 1)
    return out


def choose_threshold(items: list[Item], path: Path) -> None:
    """Pick the abstention threshold on dev data with the shipped (int8, numpy) checker; write it beside the weights.

    Answerable: the seeds suites' dev turns and the validation articles' questions. Unanswerable: the dev abstain
    turns, the validation questions with their answering sentences removed, and a near-miss of each validation
    question asked of its own candidates. The confidence is the best checked candidate's probability, as in
    ``qa.scorer.CheckedScorer``; the threshold maximises balanced accuracy (mean over sources).
    """
    from qa.cross import AnswerChecker

    checker = AnswerChecker(path)
    rng = random.Random(2)

    def best(question: str, texts: list[str]) -> float:
        top = texts[:TOP_K]
        return float(1 / (1 + np.exp(-checker.logits(question, top).max()))) if top else 0.0

    pos: list[tuple[str, float]] = []
    neg: list[tuple[str, float]] = []
    for it in items:
        if it.source == "squad-fit":
            continue
        if not it.answerable:
            neg.append(("seeds-abstain", best(it.question, it.texts)))
            continue
        if 1 not in it.labels:
            continue
        pos.append((it.source, best(it.question, it.texts)))
        if it.source == "squad-val":
            neg.append(("squad-removed", best(it.question, [t for t, y in zip(it.texts, it.labels, strict=True) if y == 0])))
            gold = it.texts[it.labels.index(1)]
            q = near_miss(it.question, gold, it.article_words, rng)
            if q is not None:
                neg.append(("squad-near-miss", best(q, it.texts)))

    def rate(rows: list[tuple[str, float]], th: float, answered: bool) -> float:
        by: dict[str, list[bool]] = {}
        for src, p in rows:
            by.setdefault(src, []).append((p >= th) == answered)
        return float(np.mean([np.mean(v) for v in by.values()]))

    grid = np.round(np.arange(0.02, 0.98, 0.01), 2)
    scores = [(rate(pos, t, True) + rate(neg, t, False)) / 2 for t in grid]
    th = float(grid[int(np.argmax(scores))])
    llm = max((float(t) for t in grid if rate(pos, t, True) >= 0.975), default=0.02)
    by_source = {src: round(float(np.mean([(p >= th) == (src in {s for s, _ in pos}) for s2, p in pos + neg if s2 == src])), 3)
                 for src in sorted({s for s, _ in pos + neg})}
    meta = {"threshold": th, "llm_threshold": min(llm, th), "balanced_accuracy": round(max(scores), 4),
            "right_share_by_source": by_source, "answerable": len(pos), "unanswerable": len(neg)}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"threshold {th} (balanced accuracy {max(scores):.3f} on dev data; right share by source {by_source}); "
          f"LLM bar {meta['llm_threshold']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD folder (questions.jsonl + docs/)")
    parser.add_argument("--out", type=Path, help="where to write the checker (default: where DOCQA_EVIDENCE=checked "
                        "reads it, DOCQA_HOME/models/evidence-cross.safetensors)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs-cache", type=Path, help="reuse (or write) the collected candidates here (for iterating)")
    args = parser.parse_args(argv)
    out: Path = args.out or checker_path(load_settings().home)
    started = time.perf_counter()
    rng = random.Random(args.seed)
    if args.pairs_cache and args.pairs_cache.exists():
        items = pickle.loads(args.pairs_cache.read_bytes())
    else:
        items = collect(args.squad)
        if args.pairs_cache:
            args.pairs_cache.write_bytes(pickle.dumps(items))
    print(f"{len(items)} asked turns collected ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    tokenizer = Tokenizer.from_file(str(EVIDENCE_ENCODER_DIR / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    bert = BertModel.from_pretrained(str(EVIDENCE_ENCODER_DIR), num_hidden_layers=LAYERS, add_pooling_layer=False,
                                     torch_dtype=torch.float32)
    for p in bert.embeddings.parameters():
        p.requires_grad = False
    head = torch.nn.Linear(bert.config.hidden_size, 1)

    def logits(pairs: list[tuple[str, str]]) -> torch.Tensor:
        enc = tokenizer.encode_batch(pairs)
        width = max(len(e.ids) for e in enc)
        ids = torch.zeros(len(enc), width, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            types[i, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[i, : len(e.ids)] = 1
        hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return head((hidden * m).sum(1) / m.sum(1)).squeeze(-1)

    fit = [it for it in items if it.source != "squad-val"]
    val = [it for it in items if it.source == "squad-val"]

    def validate() -> tuple[float, float, float]:
        bert.eval()
        hits = ranker_hits = total = 0
        pos_s: list[float] = []
        neg_s: list[float] = []
        vrng = random.Random(1)
        with torch.no_grad():
            for it in val:
                top = it.texts[:TOP_K]
                labels = it.labels[:TOP_K]
                if 1 not in labels:
                    continue
                s = logits([(it.question, t) for t in top]).tolist()
                total += 1
                hits += int(labels[int(np.argmax(s))] == 1)
                ranker_hits += int(labels[0] == 1)
                gold = top[labels.index(1)]
                q = near_miss(it.question, gold, it.article_words, vrng)
                if q is not None:
                    pos_s.append(s[labels.index(1)])
                    neg_s.append(float(logits([(q, gold)])[0]))
        p, n = np.asarray(pos_s), np.asarray(neg_s)
        auc = float((p[:, None] > n[None, :]).mean() + 0.5 * (p[:, None] == n[None, :]).mean())
        bert.train()
        return hits / max(total, 1), ranker_hits / max(total, 1), auc

    params = [p for p in bert.parameters() if p.requires_grad] + list(head.parameters())
    optimiser = torch.optim.AdamW(params, lr=5e-5)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    bert.train()
    for epoch in range(args.epochs):
        rows = examples(fit, rng)
        rng.shuffle(rows)
        t0 = time.perf_counter()
        for i in range(0, len(rows), 32):
            batch = rows[i : i + 32]
            loss = loss_fn(logits([(q, s) for q, s, _ in batch]), torch.tensor([y for _, _, y in batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if (i // 32) % 100 == 0:
                print(f"  epoch {epoch + 1} step {i // 32}/{len(rows) // 32}: loss {loss.item():.3f}", file=sys.stderr)
        top1, ranker, auc = validate()
        print(f"epoch {epoch + 1}: {len(rows)} pairs, {time.perf_counter() - t0:.0f} s; validation top-1 among the ranker's "
              f"top {TOP_K}: checker {top1:.3f} vs ranker {ranker:.3f}; AUC answer vs near-miss {auc:.3f}")
    state = {k: v.detach().numpy() for k, v in bert.state_dict().items() if k.startswith("encoder.")}
    save_checker(state, head.weight.detach().numpy(), float(head.bias.detach()[0]), bert.config.num_attention_heads,
                 bert.config.layer_norm_eps, out)
    choose_threshold(items, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and its threshold in {time.perf_counter() - started:.0f} s; "
          "use it with DOCQA_EVIDENCE=checked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
