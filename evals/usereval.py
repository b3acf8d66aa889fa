"""Run users' suites (``evals.usersuite``) against the configured answerer: per-turn outcomes, a table, Markdown, JSON.

``docqa eval`` and the pytest plugin share this: a conversation's turns are asked in order with their history, each
answer is judged by ``check_turn``, and a failure reads the same in both (``failure_text``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from index import DocqaError, Settings, load_settings
from qa.answerer import Answerer, get_answerer
from qa.models import Answer, Citation

from .usersuite import SuiteCase, UserSuite, check_turn, load_user_suite


class TurnOutcome(BaseModel):
    """One turn of one case, as docqa answered it, and the verdict."""

    suite: str = Field(description="The suite file.")
    case_id: str = Field(description="Id of the case.")
    tags: list[str] = Field(default_factory=list, description="The case's tags.")
    turn: int = Field(description="1-based turn number within the case.")
    turns: int = Field(description="Turns in the case.")
    question: str = Field(description="The question as written in the suite.")
    searched: str = Field(description="The question docqa searched (a follow-up rewritten with its context).")
    expected: str = Field(description="What a right answer looks like, in words.")
    passed: bool = Field(description="True when every expectation held.")
    failures: list[str] = Field(default_factory=list, description="Why it failed, one reason each.")
    short_answer: str | None = Field(default=None, description="docqa's short answer, if any.")
    abstained: bool = Field(default=False, description="True when docqa said the documents do not hold the answer.")
    text: str = Field(default="", description="docqa's whole answer text.")
    citations: list[Citation] = Field(default_factory=list, description="docqa's citations, best first.")
    latency_ms: float = Field(default=0.0, description="Time to answer.")


class EvalReport(BaseModel):
    """Every turn of every suite run."""

    corpus: dict[str, str] = Field(description="Suite file -> corpus folder it was asked of.")
    outcomes: list[TurnOutcome] = Field(description="One per turn, in file and case order.")
    seconds: float = Field(description="Wall time of the run, indexing included.")

    @property
    def failed(self) -> list[TurnOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> int:
        return len(self.outcomes) - len(self.failed)


class Conversation:
    """A case's turns answered in order, each once, with the earlier answers as history."""

    def __init__(self, answerer: Answerer, suite: UserSuite, case: SuiteCase) -> None:
        self.answerer = answerer
        self.suite = suite
        self.case = case
        self._done: list[tuple[Answer | None, str | None, float]] = []

    def outcome(self, turn: int) -> TurnOutcome:
        """The outcome of 0-based ``turn``, answering the turns before it first if they have not been."""
        while len(self._done) <= turn:
            history = [a for a, _, _ in self._done if a is not None]
            question = self.case.turns[len(self._done)].question
            start = time.perf_counter()
            try:
                self._done.append((self.answerer.answer(question, history), None, (time.perf_counter() - start) * 1000))
            except DocqaError as exc:
                self._done.append((None, f"docqa refused the question: {exc}", (time.perf_counter() - start) * 1000))
        answer, error, ms = self._done[turn]
        spec = self.case.turns[turn]
        common: dict[str, Any] = dict(
            suite=str(self.suite.path), case_id=self.case.id, tags=self.case.tags, turn=turn + 1, turns=len(self.case.turns),
            question=spec.question, expected=spec.expectation(), latency_ms=round(ms, 1),
        )
        if answer is None:
            return TurnOutcome(**common, searched=spec.question, passed=False, failures=[str(error)])
        failures = check_turn(spec, answer)
        return TurnOutcome(
            **common, searched=answer.standalone_question, passed=not failures, failures=failures,
            short_answer=answer.short_answer, abstained=answer.abstained, text=answer.text, citations=answer.citations,
        )


def select(suite: UserSuite, tags: Sequence[str] = ()) -> list[SuiteCase]:
    """The suite's cases carrying any of ``tags`` (all cases when none given)."""
    return [c for c in suite.cases if not tags or set(tags) & set(c.tags)]


def run_suites(
    paths: Sequence[Path | str], corpus: Path | str | None = None, settings: Settings | None = None, tags: Sequence[str] = (),
) -> EvalReport:
    """Load every suite first (so a bad file fails before any indexing), then run their cases."""
    settings = settings or load_settings()
    suites = [load_user_suite(p) for p in paths]
    folders = {str(s.path): s.corpus_for(corpus) for s in suites}
    start = time.perf_counter()
    outcomes: list[TurnOutcome] = []
    for suite in suites:
        answerer = get_answerer(folders[str(suite.path)], settings)
        for case in select(suite, tags):
            convo = Conversation(answerer, suite, case)
            outcomes += [convo.outcome(i) for i in range(len(case.turns))]
    return EvalReport(corpus={k: str(v) for k, v in folders.items()}, outcomes=outcomes, seconds=round(time.perf_counter() - start, 2))


def got_text(o: TurnOutcome) -> str:
    if o.abstained:
        return "(abstained: the documents don't say)"
    if o.short_answer:
        return o.short_answer
    return o.citations[0].quote if o.citations else o.text.split("\n", 1)[0]


def failure_text(o: TurnOutcome) -> str:
    """A failed turn as pytest and ``docqa eval`` print it."""
    lines = [f"{o.suite}: case {o.case_id!r}, turn {o.turn} of {o.turns}", f"  question: {o.question}"]
    if o.searched != o.question:
        lines.append(f"  searched: {o.searched}")
    lines += [f"  expected: {o.expected}", f"  got:      {got_text(o)}"]
    lines += [f"  cited:    {c.ref}  \u201c{c.quote}\u201d" for c in o.citations]
    lines += [f"  FAILED:   {reason}" for reason in o.failures]
    return "\n".join(lines)


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def render_table(report: EvalReport) -> str:
    """A plain-text table, one row per turn, then the failures in full and a one-line total."""
    rows = [("", "case", "turn", "question", "got")]
    for o in report.outcomes:
        rows.append(("ok" if o.passed else "FAIL", o.case_id, f"{o.turn}/{o.turns}", _cell(o.question, 50), _cell(got_text(o), 40)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    for o in report.failed:
        out += ["", failure_text(o)]
    out += ["", summary_line(report)]
    return "\n".join(out)


def summary_line(report: EvalReport) -> str:
    cases = {(o.suite, o.case_id) for o in report.outcomes}
    failed_cases = {(o.suite, o.case_id) for o in report.failed}
    return (f"{report.passed}/{len(report.outcomes)} turns passed, {len(cases) - len(failed_cases)}/{len(cases)} cases; "
            f"{report.seconds:.1f} s")


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(report: EvalReport) -> str:
    """A Markdown summary for a CI job page (e.g. ``>> $GITHUB_STEP_SUMMARY``)."""
    mark = "\u2705" if not report.failed else "\u274c"
    out = [f"## {mark} docqa eval: {summary_line(report)}", ""]
    for suite, folder in report.corpus.items():
        out.append(f"- `{suite}` asked of `{folder}`")
    out += ["", "| | case | turn | question | got | first citation |", "| --- | --- | --- | --- | --- | --- |"]
    for o in report.outcomes:
        first = f"`{o.citations[0].ref}`" if o.citations else ""
        out.append(f"| {'pass' if o.passed else '**FAIL**'} | {_md(o.case_id)} | {o.turn}/{o.turns} | {_md(o.question)} | "
                   f"{_md(got_text(o))} | {first} |")
    if report.failed:
        out += ["", "### Failures", ""]
        for o in report.failed:
            out += ["```text", failure_text(o), "```", ""]
    return "\n".join(out).rstrip() + "\n"
