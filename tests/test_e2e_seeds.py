"""End to end over seeds/ with the real packaged model and real Chroma (slow)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from index import CorpusIndex, load_settings
from qa import QAEngine, answer

from .conftest import REPO, SEEDS, assert_verbatim

pytestmark = pytest.mark.slow

GOLD = {"000_a6e0bd50d51ad334.txt:5", "001_d06dacb7cc9745ca.txt:4"}


def test_who_claimed_responsibility(tmp_path):
    a = answer("Who claimed responsibility?", corpus=SEEDS)
    assert "IS-K" in a.text and a.short_answer == "IS-K"
    assert not a.abstained
    assert_verbatim(SEEDS, a.citations)
    assert GOLD & {c.location for c in a.citations}


def test_follow_up_and_abstention_over_seeds():
    first = answer("Who claimed responsibility for the attack?", corpus=SEEDS)
    follow = answer("Where is that group based?", history=[first], corpus=SEEDS)
    assert follow.standalone_question == "Where is IS-K based?"
    assert follow.short_answer == "Afghanistan"
    assert_verbatim(SEEDS, follow.citations)
    off = answer("What is the capital of France?", corpus=SEEDS)
    assert off.abstained and off.citations == []


def test_seeds_files_are_untouched_by_indexing(tmp_path):
    import hashlib

    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SEEDS.iterdir()}
    index = CorpusIndex(SEEDS, load_settings(home=tmp_path / "h"))
    index.sync()
    QAEngine(index).answer("Who claimed responsibility?")
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SEEDS.iterdir()}
    assert before == after


def test_docqa_ask_command(tmp_path):
    env = {**os.environ, "DOCQA_HOME": str(tmp_path / "h")}
    proc = subprocess.run(
        [sys.executable, "-m", "ui", "ask", "Who claimed responsibility for the Moscow attack?"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("IS-K")
    assert "000_a6e0bd50d51ad334.txt:5  \u201cIS-K has claimed responsibility" in proc.stdout
