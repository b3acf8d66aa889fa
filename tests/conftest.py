"""Shared fixtures. Every test runs offline with all state in its own temp directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[_k] = _v

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

#: Tiny corpus, byte for byte. Expected citations below are worked out by hand from these bytes.
TINY = {
    "museum.txt": b"The Harbor Museum opened in 1931.\nIts founder was Maria Lopez, a shipbuilder.\n\nThe museum holds 4,000 model ships.\n",
    "notes/crlf.txt": b"Lighthouse log\r\nThe lighthouse keeper was Tomas Berg.\r\nThe lamp was lit every night at dusk.\r\n",
    "no_newline.md": b"# Bridge\n\nThe old bridge was built in 1887 by the Calder company.\nIt spans the Wren river.",
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def engine_over(root: Path, settings, files: dict[str, str]):  # type: ignore[no-untyped-def]
    """A QAEngine over a corpus of these text files (relative path -> text), indexed with the hashing embedder."""
    from index import CorpusIndex, HashingEmbedder
    from qa import QAEngine

    write_tree(root, {rel: text.encode("utf-8") for rel, text in files.items()})
    index = CorpusIndex(root, settings, embedder=HashingEmbedder())
    index.sync()
    return QAEngine(index)


def editor_lines(path: Path) -> list[str]:
    """Lines as an editor shows them, computed independently of docqa's reader."""
    text = path.read_bytes().decode("utf-8-sig")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def assert_verbatim(corpus: Path, citations) -> None:  # type: ignore[no-untyped-def]
    """Every citation's quote is exactly the text at [start:end] of its line (for a line range: the first line from
    start, the lines between and the last line up to end, stripped and joined by spaces)."""
    for c in citations:
        lines = editor_lines(corpus / c.file)
        if c.last_line is None:
            assert lines[c.line - 1][c.start : c.end] == c.quote, f"{c.file}:{c.line} does not hold {c.quote!r}"
        else:
            pieces = [lines[c.line - 1][c.start :], *lines[c.line : c.last_line - 1], lines[c.last_line - 1][: c.end]]
            assert " ".join(p.strip() for p in pieces) == c.quote, f"{c.file}:{c.line}-{c.last_line} does not hold {c.quote!r}"


@pytest.fixture(scope="session")
def _shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of built int8 encoder graphs for the whole session (each takes a few seconds to build)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _shared_models: Path):
    """Point DOCQA_HOME at the test's temp dir and forget cached engines/Chroma clients afterwards. Its ``models``
    folder (derived int8 graphs, keyed by model) links to the session's, so each graph is built once."""
    monkeypatch.setenv("DOCQA_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "models").symlink_to(_shared_models, target_is_directory=True)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    yield
    from qa import reset_engines

    reset_engines()
    try:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def settings(tmp_path: Path):
    from index import load_settings

    return load_settings(home=tmp_path / "home")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "tiny", TINY)


@pytest.fixture(params=["numpy", "chroma"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def write_checker(path: Path, threshold: float = 0.5) -> Path:
    """An answer checker file (``qa.cross``) without training: the evidence encoder's first three layers and a
    seeded random head, written as ``python -m evals.train_cross`` writes one, with its threshold file."""
    import json

    import numpy as np
    from safetensors import safe_open

    from index.settings import EVIDENCE_ENCODER_DIR
    from qa.cross import save_checker

    with safe_open(str(EVIDENCE_ENCODER_DIR / "model.safetensors"), framework="numpy") as f:
        layers = {k: f.get_tensor(k) for k in f.keys() if k.startswith(("encoder.layer.0.", "encoder.layer.1.", "encoder.layer.2."))}
    head = np.random.default_rng(0).normal(0.0, 0.2, 384)
    save_checker(layers, head, 0.1, heads=12, eps=1e-12, path=path)
    path.with_suffix(".json").write_text(json.dumps({"threshold": threshold, "llm_threshold": threshold / 2}), encoding="utf-8")
    return path
