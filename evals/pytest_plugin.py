"""pytest plugin (entry point ``pytest11: docqa``): collect ``*.docqa.yaml`` / ``*.docqa.jsonl`` suites, one test per turn.

``pytest`` then runs a team's questions like any other tests: ``suite.docqa.yaml::case-id::turn-2``, a readable failure
(question, searched question, expected, got, citations), ``-k TAG`` to select by a case's tags, and ``--junitxml`` for
CI servers. Each corpus is indexed once per session (the engine cache of ``qa.get_engine``). Nothing heavy is imported
until a suite file is collected, so the plugin costs nothing in projects without suites.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .usereval import Conversation, TurnOutcome
    from .usersuite import SuiteCase, UserSuite

DEFAULT_PATTERNS = ["*.docqa.yaml", "*.docqa.yml", "*.docqa.jsonl"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docqa", "docqa eval suites (*.docqa.yaml, *.docqa.jsonl)")
    group.addoption("--docqa-corpus", metavar="FOLDER", default=None,
                    help="corpus folder to ask every suite's questions of (overrides the suites' 'corpus:' header)")
    parser.addini("docqa_suite_patterns", type="args", default=DEFAULT_PATTERNS,
                  help="file name patterns of docqa suites (default: *.docqa.yaml *.docqa.yml *.docqa.jsonl)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("docqa_suite_patterns") or DEFAULT_PATTERNS
    if any(fnmatch(file_path.name, p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class TurnFailed(AssertionError):
    """A turn's answer did not meet its expectations."""

    def __init__(self, outcome: TurnOutcome) -> None:
        super().__init__(outcome.failures[0] if outcome.failures else "failed")
        self.outcome = outcome


class SuiteFile(pytest.File):
    """A suite file: its cases, after the whole file validated (a bad file is one clear collection error)."""

    def collect(self) -> Iterator[pytest.Collector]:
        from index import DocqaError, load_settings

        from .usersuite import load_user_suite

        try:
            suite = load_user_suite(self.path)
            corpus = suite.corpus_for(self.config.getoption("docqa_corpus"))
            settings = load_settings()
        except DocqaError as exc:
            raise self.CollectError(f"docqa: {exc}") from None
        for case in suite.cases:
            yield CaseCollector.from_parent(self, name=case.id, suite=suite, case=case, corpus=corpus, settings=settings)


class CaseCollector(pytest.Collector):
    """One case: a test per turn, sharing one conversation (earlier turns are answered once, in order)."""

    def __init__(self, *, suite: UserSuite, case: SuiteCase, corpus: Path, settings: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.case, self.corpus, self.settings = suite, case, corpus, settings
        self._conversation: Conversation | None = None
        self.extra_keyword_matches.update(case.tags)  # `pytest -k TAG` selects the case's turns

    def conversation(self) -> Conversation:
        if self._conversation is None:
            from qa.answerer import get_answerer

            from .usereval import Conversation

            self._conversation = Conversation(get_answerer(self.corpus, self.settings), self.suite, self.case)
        return self._conversation

    def collect(self) -> Iterator[pytest.Item]:
        for i in range(len(self.case.turns)):
            yield TurnItem.from_parent(self, name=f"turn-{i + 1}", index=i)


class TurnItem(pytest.Item):
    """One question of a case."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    @property
    def case_collector(self) -> CaseCollector:
        assert isinstance(self.parent, CaseCollector)
        return self.parent

    def runtest(self) -> None:
        outcome = self.case_collector.conversation().outcome(self.index)
        if not outcome.passed:
            raise TurnFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        from index import DocqaError

        from .usereval import failure_text

        if isinstance(excinfo.value, TurnFailed):
            return failure_text(excinfo.value.outcome)
        if isinstance(excinfo.value, DocqaError):
            return f"docqa: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        case = self.case_collector.case
        return self.path, None, f"{case.id} turn {self.index + 1}: {case.turns[self.index].question}"
