"""Grounded generation: the prompt, the citation parser, and the check that keeps only supported sentences.

The model sees passages labelled ``[file:line]`` (the evidence sentences retrieval
found) and is asked for a short answer that cites labels. What it writes is never trusted:

1. ``parse`` splits the output into sentences and pulls out ``[file:line]`` labels; labels that were
   not among the passages are discarded (a model can invent a plausible file name).
2. ``ground`` keeps a sentence only if its cited passages support it: every number and name in it,
   and every other content word that is not from the question, occurs in them; a negation must
   occur there too. A sentence citing nothing valid is matched against all passages instead.
3. The passages that support a kept sentence become its citations, re-anchored to the exact text of
   their line (``Passage.start``/``end``) and then verified against the file like every quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import content_terms, words

#: The instruction and one worked example; completion-style so a base model (no chat template) follows it.
PROMPT_HEAD = (
    "Answer the question in one short sentence using only the passages, and cite the label of the passage "
    "you used in brackets. If the passages do not answer it, write: unknown.\n\n"
    "[guide.txt:3] The Harbor Museum was founded by Maria Lopez in 1931.\n"
    "[guide.txt:7] The museum holds 4,000 model ships.\n"
    "Question: Who founded the Harbor Museum?\n"
    "Answer: Maria Lopez founded it [guide.txt:3].\n\n"
)

LABEL = re.compile(r"\[\s*([^\[\]\n]+?)\s*:\s*(\d+)\s*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")
_NEGATION = frozenset({"not", "no", "never", "none", "nobody", "neither", "nor", "without"})
_UNKNOWN = re.compile(r"^\s*(unknown|i don'?t know|not (stated|mentioned|given)|the passages do not)", re.IGNORECASE)


@dataclass(frozen=True)
class Passage:
    """One evidence sentence shown to the model: the verbatim piece of one line."""

    file: str
    line: int
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Claim:
    """One sentence of the model's answer with the labels it cited (valid or not)."""

    text: str
    labels: list[str] = field(default_factory=list)


@dataclass
class Grounding:
    """Which sentences survived, with their supporting passages, and which were dropped and why."""

    kept: list[tuple[str, list[Passage]]]
    dropped: list[tuple[str, str]]
    invalid_labels: list[str]
    unknown: bool


def build_prompt(question: str, passages: list[Passage]) -> str:
    """The completion prompt: instruction, example, then the labelled passages and the question."""
    body = "\n".join(f"[{p.label}] {p.text}" for p in passages)
    return f"{PROMPT_HEAD}{body}\nQuestion: {question.strip()}\nAnswer:"


def parse(output: str) -> list[Claim]:
    """The answer's sentences, each with the labels cited in it (a label after the last full stop
    belongs to the sentence before it)."""
    text = output.strip()
    if not text:
        return []
    pieces = [p for p in _SENTENCE_END.split(text) if p.strip()]
    claims: list[Claim] = []
    for piece in pieces:
        labels = [f"{m.group(1).strip()}:{int(m.group(2))}" for m in LABEL.finditer(piece)]
        bare = LABEL.sub("", piece)
        bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
        bare = re.sub(r"\s{2,}", " ", bare).strip()
        if not re.search(r"\w", bare):  # a label on its own: it cites for the sentence before
            if claims:
                claims[-1].labels.extend(labels)
            continue
        claims.append(Claim(bare, labels))
    return claims


def _key_tokens(text: str) -> set[str]:
    """Numbers and capitalised words (names) of a sentence, lower-cased; its first word only if it is a number."""
    out = set()
    for i, w in enumerate(words(text)):
        if any(ch.isdigit() for ch in w):
            out.add(re.sub(r"[,’']", "", w.lower()))
        elif w[:1].isupper() and i > 0:
            out.add(w.lower())
    return out


def _passage_tokens(passages: list[Passage]) -> tuple[set[str], set[str], set[str]]:
    text = " ".join(p.text for p in passages)
    raw = {re.sub(r"[,’']", "", w.lower()) for w in words(text)}
    return set(content_terms(text)), raw, {w.lower() for w in words(text)}


def supports(claim: str, passages: list[Passage], question: str) -> str | None:
    """``None`` when ``passages`` support ``claim``; otherwise the reason they do not."""
    if not passages:
        return "cites no passage"
    terms, raw, lowered = _passage_tokens(passages)
    asked = set(content_terms(question)) | {w.lower() for w in words(question)}
    keys = _key_tokens(claim)
    missing: list[str] = []
    for w in words(claim):
        key = re.sub(r"[,’']", "", w.lower())
        if key in keys:
            bad = key not in raw and w.lower() not in lowered
        else:
            t = content_terms(w)
            bad = bool(t) and t[0] not in terms and t[0] not in asked
        if bad and w not in missing:
            missing.append(w)
    if missing:
        return f"{', '.join(missing)} not in the cited passages"
    mine = content_terms(claim)
    if not any(t not in asked for t in mine) and not keys - asked:
        return "only repeats the question"  # it must add a word of the passages that the question did not have
    neg = {w.lower() for w in words(claim)} & _NEGATION
    if neg and not neg & lowered and not any(w.lower().endswith("n't") for w in words(" ".join(p.text for p in passages))):
        return f"negation ({', '.join(sorted(neg))}) not in the cited passages"
    return None


def cite(text: str, labels: list[str]) -> str:
    """``text`` with its ``[file:line]`` labels, placed before the closing full stop."""
    tag = f" [{', '.join(labels)}]"
    return f"{text[:-1]}{tag}{text[-1]}" if text[-1:] in ".!?" else f"{text}{tag}"


def ground(output: str, passages: list[Passage], question: str) -> Grounding:
    """Check every sentence of ``output`` against the passages (see module docstring)."""
    by_label: dict[str, list[Passage]] = {}
    for p in passages:
        by_label.setdefault(p.label, []).append(p)
    kept: list[tuple[str, list[Passage]]] = []
    dropped: list[tuple[str, str]] = []
    invalid: list[str] = []
    claims = parse(output)
    unknown = bool(claims) and all(_UNKNOWN.match(c.text) for c in claims)
    if unknown:
        return Grounding([], [], [], True)
    for claim in claims:
        valid = [label for label in dict.fromkeys(claim.labels) if label in by_label]
        invalid += [label for label in claim.labels if label not in by_label]
        cited = [p for label in valid for p in by_label[label]]
        reason = supports(claim.text, cited, question) if cited else "cites no passage"
        if reason is not None:
            # Re-anchor: the first single passage, in retrieval order, that supports it on its own.
            alone = next((p for p in passages if supports(claim.text, [p], question) is None), None)
            if alone is not None:
                cited, reason = [alone], None
            elif not cited and supports(claim.text, passages, question) is None:
                reason = "needs several passages and cites none"
        if reason is None:
            # Cite only the passages that add a word of the claim (a label on an unrelated passage is not support).
            useful = [p for p in cited if set(content_terms(p.text)) & set(content_terms(claim.text))
                      or _key_tokens(claim.text) & {w.lower() for w in words(p.text)}]
            kept.append((claim.text, useful or cited))
        else:
            dropped.append((claim.text, reason))
    return Grounding(kept, dropped, sorted(set(invalid)), False)
