"""The CLI turns every bad input into one clear stderr line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ui.cli import main

from .conftest import REPO, write_tree


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: None, ["index", "{p}/nope"], "does not exist"),
        (lambda p: (p / "empty").mkdir(), ["index", "{p}/empty"], "no indexable"),
        (lambda p: write_tree(p / "bin", {"x.txt": b"\x00\xff" * 100}), ["index", "{p}/bin"], "looks binary"),
        (lambda p: None, ["ask", ""], "empty"),
        (lambda p: None, ["ask", "   "], "empty"),
        (lambda p: None, ["ask", "x" * 5000], "over the limit"),
        (lambda p: None, ["ask", "Who?", "--corpus", "{p}/nope"], "does not exist"),
    ],
    ids=["missing-folder", "empty-folder", "binary-file", "empty-question", "whitespace-question", "long-question", "ask-missing-corpus"],
)
def test_bad_input_gives_one_clear_line_and_exit_2(tmp_path, capsys, make, args, message):
    make(tmp_path)
    code, out, err = run_cli([a.replace("{p}", str(tmp_path)) for a in args], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("docqa: error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_invalid_setting_is_reported_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DOCQA_TOP_K", "zero")
    code, _, err = run_cli(["ask", "Who?"], capsys)
    assert code == 2 and "top_k" in err


def test_real_process_prints_no_traceback(tmp_path):
    env = {**os.environ, "DOCQA_HOME": str(tmp_path / "h")}
    proc = subprocess.run(
        [sys.executable, "-m", "ui", "index", str(tmp_path / "missing")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "does not exist" in proc.stderr


@pytest.mark.slow
def test_ask_json_over_a_folder(tmp_path, capsys, tiny):
    code, out, _ = run_cli(["ask", "Who was the lighthouse keeper?", "--corpus", str(tiny), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["short_answer"] == "Tomas Berg"
    assert data["citations"][0]["file"] == "notes/crlf.txt" and data["citations"][0]["line"] == 2


@pytest.mark.slow
def test_chat_resolves_a_follow_up_from_stdin(tmp_path):
    env = {**os.environ, "DOCQA_HOME": str(tmp_path / "h"), "DOCQA_CORPUS": str(REPO / "seeds")}
    proc = subprocess.run(
        [sys.executable, "-m", "ui", "chat"],
        input="Who claimed responsibility for the attack?\nWhere is that group based?\n",
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().split("\n\n", 1)[0], proc.stdout
    assert first.startswith("IS-K")
    assert "Afghanistan" in second and "(searched: Where is IS-K based?)" in second


@pytest.mark.slow
def test_closed_pipe_is_not_a_traceback(tmp_path, tiny):
    env = {**os.environ, "DOCQA_HOME": str(tmp_path / "h")}
    # `true` exits at once, so docqa writes its report into a closed pipe seconds later.
    script = f"{sys.executable} -m ui index {tiny} --json | true"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
