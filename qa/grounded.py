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
from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Citation
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
    #: The citation this passage came from (line range and page included), when it came from one.
    cite: Citation | None = field(default=None, compare=False, hash=False)

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


#: Passages shown per prompt style: a small base model reads three best (measured on the seeds).
PASSAGES_PER_STYLE = {"base": 3, "instruct": 6}


def build_prompt(question: str, passages: list[Passage], style: str = "instruct") -> str:
    """The completion prompt for ``passages`` (best first) and ``question``.

    ``instruct``: the instruction to answer from the passages and cite labels, one worked example,
    then the labelled passages. ``base``: only the labelled passages and "Question: ... Answer:", for
    base models that do not follow instructions: with the packaged Gemma 3 270M the instruction and
    example made answers worse ("Russia" for who claimed responsibility, where the bare prompt gave
    "IS-K"), and took twice as long.
    """
    shown = passages[: PASSAGES_PER_STYLE.get(style, len(passages))]
    body = "\n".join(f"[{p.label}] {p.text}" for p in shown)
    if style == "base":
        return f"{body}\n\nQuestion: {question.strip()}\nAnswer:"
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


#: Reads the answer a passage gives to the question (the extractive short-answer span), or None.
Reader = Callable[[str], "str | None"]


def _shares_words(claim: str, span: str) -> bool:
    mine = set(content_terms(claim)) | {w.lower() for w in words(claim)}
    return any(t in mine for t in content_terms(span)) or bool(_key_tokens(" " + span) & _key_tokens(" " + claim))


def supports(claim: str, passages: list[Passage], question: str, reader: Reader | None = None) -> str | None:
    """``None`` when ``passages`` support ``claim``; otherwise the reason they do not.

    ``reader``: when given, a passage whose own answer to the question (its short-answer span) shares
    no word with the claim does not support it: "Russia" is in "ISIS claimed ... attacks in Russia",
    but that sentence answers "Who claimed responsibility?" with ISIS.
    """
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
    if reader is not None:
        spans = [span for p in passages if (span := reader(p.text))]
        if spans and not any(_shares_words(claim, span) for span in spans):
            return f"the cited passage answers \u201c{spans[0]}\u201d"
    return None


def cite(text: str, labels: list[str]) -> str:
    """``text`` with its ``[file:line]`` labels, placed before the closing full stop."""
    tag = f" [{', '.join(labels)}]"
    return f"{text[:-1]}{tag}{text[-1]}" if text[-1:] in ".!?" else f"{text}{tag}"


def ground(output: str, passages: list[Passage], question: str, reader: Reader | None = None) -> Grounding:
    """Check every sentence of ``output`` against the passages (see module docstring and ``supports``)."""
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
        reason = supports(claim.text, cited, question, reader) if cited else "cites no passage"
        if reason is not None:
            # Re-anchor: the first single passage, in retrieval order, that supports it on its own.
            alone = next((p for p in passages if supports(claim.text, [p], question, reader) is None), None)
            if alone is not None:
                cited, reason = [alone], None
            elif not cited:
                overall = supports(claim.text, passages, question, reader)
                reason = "needs several passages and cites none" if overall is None else f"cites no passage; {overall}"
        if reason is None:
            # Cite only the passages that add a word of the claim (a label on an unrelated passage is not support).
            useful = [p for p in cited if set(content_terms(p.text)) & set(content_terms(claim.text))
                      or _key_tokens(claim.text) & {w.lower() for w in words(p.text)}]
            kept.append((claim.text, useful or cited))
        else:
            dropped.append((claim.text, reason))
    return Grounding(kept, dropped, sorted(set(invalid)), False)
