"""Users' suites run end to end with the real model: by pytest (the plugin), by `docqa eval`, and saved from `docqa chat`.

The tiny corpus's answers are hand-worked in test_answer.py; here they are the expectations a team would write.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from evals.usersuite import load_user_suite
from qa import reset_engines
from ui.cli import main

from .conftest import TINY, write_tree

pytestmark = pytest.mark.slow

SUITE = """\
corpus: docs
cases:
  - id: founder
    tags: [smoke]
    question: Who was the founder of the Harbor Museum?
    contains: Maria Lopez
    cites: museum.txt:2
  - id: founder-trade
    turns:
      - question: Who was the founder of the Harbor Museum?
        contains: Maria Lopez
      - question: What was her trade?
        contains: shipbuilder
        cites: museum.txt
  - id: bridge
    question: When was the old bridge built?
    contains: "1900"
  - id: sourdough
    tags: [smoke]
    question: What is the recipe for sourdough bread?
    abstain: true
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_tree(root / "docs", TINY)
    (root / "team.docqa.yaml").write_text(SUITE, encoding="utf-8")
    return root


def test_the_plugin_is_registered_for_pytest():
    assert "evals.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11") if ep.name == "docqa"}


def test_pytest_runs_each_turn_as_a_test_with_a_readable_failure_and_junit_xml(pytester, project):
    pytester.chdir()
    (pytester.path / "docs").symlink_to(project / "docs")
    (pytester.path / "team.docqa.yaml").write_text(SUITE, encoding="utf-8")
    result = pytester.runpytest_subprocess("-v", "--junitxml=report.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*team.docqa.yaml::founder::turn-1 PASSED*",
        "*team.docqa.yaml::founder-trade::turn-1 PASSED*",
        "*team.docqa.yaml::founder-trade::turn-2 PASSED*",
        "*team.docqa.yaml::bridge::turn-1 FAILED*",
        "*team.docqa.yaml::sourdough::turn-1 PASSED*",
    ])
    result.stdout.fnmatch_lines([
        "*team.docqa.yaml: case 'bridge', turn 1 of 1",
        "  question: When was the old bridge built?",
        "  expected: contains '1900'",
        "  got:      1887",
        "  cited:    no_newline.md:3  \u201cThe old bridge was built in 1887 by the Calder company.\u201d*",
        "  FAILED:   the answer does not contain '1900'",
    ])
    assert "Traceback" not in result.stdout.str()
    cases = ET.parse(pytester.path / "report.xml").getroot().iter("testcase")
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"turn-1"}
    report = (pytester.path / "report.xml").read_text()
    assert "the answer does not contain '1900'" in report


def test_pytest_selects_cases_by_tag_and_shows_the_searched_follow_up(pytester, project):
    pytester.chdir()
    (pytester.path / "team.docqa.yaml").write_text(SUITE, encoding="utf-8")
    result = pytester.runpytest_subprocess("-v", "-k", "smoke", f"--docqa-corpus={project / 'docs'}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, deselected=3)
    failing = SUITE.replace("contains: shipbuilder", "contains: sailor")
    (pytester.path / "team.docqa.yaml").write_text(failing, encoding="utf-8")
    result = pytester.runpytest_subprocess("-k", "founder-trade", f"--docqa-corpus={project / 'docs'}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*case 'founder-trade', turn 2 of 2", "  question: What was her trade?", "  searched: *Maria Lopez*"])


def test_a_bad_suite_file_is_one_collection_error_line(pytester):
    pytester.chdir()
    (pytester.path / "bad.docqa.yaml").write_text("cases:\n  - question: Who?\n    contians: x\n", encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*docqa: *bad.docqa.yaml: case #1, field 'contians': unknown field 'contians'*"])
    assert "Traceback" not in result.stdout.str()


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_docqa_eval_prints_a_table_exits_1_on_a_failure_and_writes_json_and_markdown(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    summary = project / "summary.md"
    code, out, err = run(["eval", "team.docqa.yaml", "--summary", str(summary)], capsys)
    assert code == 1, err
    assert "FAIL  bridge" in out and "ok    founder-trade  2/2" in out
    assert "  FAILED:   the answer does not contain '1900'" in out
    assert out.rstrip().splitlines()[-1].startswith("4/5 turns passed, 3/4 cases;")
    md = summary.read_text()
    assert md.startswith("## \u274c docqa eval: 4/5 turns passed") and "| **FAIL** | bridge | 1/1 |" in md
    code, out, _ = run(["eval", str(project), "--tag", "smoke", "--json"], capsys)  # a folder: its suites
    assert code == 0
    report = json.loads(out)
    assert [(o["case_id"], o["passed"]) for o in report["outcomes"]] == [("founder", True), ("sourdough", True)]
    assert report["outcomes"][0]["citations"][0]["file"] == "museum.txt"
    code, out, _ = run(["eval", "team.docqa.yaml", "--tag", "smoke", "--markdown"], capsys)
    assert code == 0 and out.startswith("## \u2705 docqa eval: 2/2 turns passed")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "nope.docqa.yaml"], "suite file 'nope.docqa.yaml' not found"),
        (["eval", "docs"], "no suite files"),
        (["eval", "team.docqa.yaml", "--corpus", "nope"], "corpus folder 'nope' (given on the command line) does not exist"),
        (["eval", "bad.docqa.yaml"], "bad.docqa.yaml: case #1 'x', turn 1, field 'matches'"),
        (["eval", "team.docqa.yaml", "--summary", "no/such/dir/s.md"], "its folder does not exist"),
    ],
    ids=["missing-file", "folder-without-suites", "missing-corpus", "bad-regex", "summary-folder"],
)
def test_docqa_eval_bad_input_is_one_line_and_exit_2(project, capsys, monkeypatch, args, message):
    monkeypatch.chdir(project)
    (project / "bad.docqa.yaml").write_text("corpus: docs\ncases:\n  - id: x\n    question: Q?\n    matches: '('\n")
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_chat_save_writes_a_suite_that_passes_then_fails_when_a_document_changes(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    script = "Who was the founder of the Harbor Museum?\nWhat was her trade?\nWhat is the recipe for sourdough bread?\n" \
             "/save saved.docqa.yaml\n/save ../outside/x.docqa.yaml\n/save notes.txt\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    code, out, err = run(["chat", "--corpus", "docs"], capsys)
    assert code == 0
    assert "saved case 'who-was-the-founder-of-the-harbor-museum' (3 turns) to saved.docqa.yaml" in err
    assert "folder '../outside' does not exist" in err
    assert "'notes.txt': a suite file's name ends in .docqa.yaml" in err
    suite = load_user_suite(project / "saved.docqa.yaml")
    assert suite.corpus == (project / "docs").resolve()
    turns = [t.model_dump(exclude_defaults=True) for t in suite.cases[0].turns]
    assert turns[0] == {"question": "Who was the founder of the Harbor Museum?", "contains": ["Maria Lopez"], "cites": ["museum.txt:2"]}
    assert turns[2] == {"question": "What is the recipe for sourdough bread?", "abstain": True}
    code, out, _ = run(["eval", "saved.docqa.yaml"], capsys)
    assert code == 0, out
    (project / "docs" / "museum.txt").write_text(
        "The Harbor Museum opened in 1931.\nIts founder was Ana Reyes, a shipbuilder.\n\nThe museum holds 4,000 model ships.\n")
    reset_engines()  # a new run, as a new `docqa eval` process would be
    code, out, _ = run(["eval", "saved.docqa.yaml"], capsys)
    assert code == 1
    assert "case 'who-was-the-founder-of-the-harbor-museum', turn 1 of 3" in out
    assert "FAILED:   the answer does not contain 'Maria Lopez'" in out
