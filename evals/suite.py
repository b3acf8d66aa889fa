"""Question suites as data: JSONL files of cases, validated by pydantic."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from index import DocqaError

SUITES_DIR = Path(__file__).resolve().parent / "suites"
Kind = Literal["factoid", "follow-up", "conflict", "near-duplicate", "unanswerable"]


class Turn(BaseModel):
    """One question of a case and what a right answer looks like."""

    question: str = Field(description="The question as a user would type it.")
    expect: list[str] = Field(default_factory=list, description="Regexes (case-insensitive); the answer is right if its text matches any.")
    evidence: list[str] = Field(default_factory=list, description="Gold 'file:line' entries; citing any one of them counts.")
    abstain: bool = Field(default=False, description="True when the documents do not hold the answer.")

    @model_validator(mode="after")
    def _consistent(self) -> Turn:
        if self.abstain and (self.expect or self.evidence):
            raise ValueError("an abstain turn has no expected answer or evidence")
        if not self.abstain and not self.expect:
            raise ValueError("an answerable turn needs at least one expected pattern")
        for p in self.expect:
            re.compile(p)
        for ev in self.evidence:
            if not re.fullmatch(r".+:\d+", ev):
                raise ValueError(f"evidence {ev!r} is not 'file:line'")
        return self


class Case(BaseModel):
    """One eval case: a single question or a conversation."""

    id: str = Field(description="Unique id of the case.")
    kind: Kind = Field(description="What the case tests.")
    turns: list[Turn] = Field(min_length=1, description="The questions, in conversation order.")
    tags: list[str] = Field(default_factory=list, description="Free labels, e.g. the kind of unanswerable question (off-topic, uncovered, false-premise).")
    split: Literal["dev", "test"] | None = Field(
        default=None, description="Half of the suite: 'dev' may be tuned on; 'test' is frozen and only ever evaluated."
    )
    pair: str | None = Field(default=None, description="Id shared by a near-miss question and its answerable sibling.")


def split_name(name: str) -> tuple[str, str | None]:
    """'natural:test' -> ('natural', 'test'); 'natural' -> ('natural', None). Errors name the bad half."""
    base, sep, half = str(name).rpartition(":")
    if not sep or "/" in half:
        return str(name), None
    if half not in ("dev", "test"):
        raise DocqaError(f"suite {name!r}: half {half!r} is not 'dev' or 'test'")
    return base, half


def load_suite(name_or_path: str | Path) -> list[Case]:
    """Load a suite by name (evals/suites/NAME.jsonl) or path, optionally one half ('natural:test'); errors name the file and line."""
    name_or_path, half = split_name(str(name_or_path))
    path = Path(name_or_path)
    if not path.suffix:
        path = SUITES_DIR / f"{name_or_path}.jsonl"
    if not path.is_file():
        raise DocqaError(f"suite {str(name_or_path)!r} not found (looked for {path}); available: "
                         + ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.jsonl"))))
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(Case.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            raise DocqaError(f"{path}:{number}: invalid case ({exc})") from exc
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise DocqaError(f"{path}: duplicate case ids {sorted(dupes)}")
    if half is not None:
        cases = [c for c in cases if c.split == half]
        if not cases:
            raise DocqaError(f"{path}: no cases in the {half!r} half (cases need \"split\": \"{half}\")")
    return cases


def halves(name: str) -> list[str]:
    """A suite's names to run: 'natural' with dev/test halves -> ['natural:dev', 'natural:test']; else [name]."""
    if split_name(name)[1] is not None:
        return [name]
    try:
        splits = {c.split for c in load_suite(name)}
    except DocqaError:
        return [name]
    return [f"{name}:dev", f"{name}:test"] if splits == {"dev", "test"} else [name]
