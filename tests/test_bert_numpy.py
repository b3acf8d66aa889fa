"""The numpy query encoder computes the same vectors as sentence-transformers, without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.bert_numpy import BertNumpyEncoder, _erf
from index.embedder import LIGHT_MAX_TEXTS, SentenceTransformerEmbedder, resolve_model_path
from index.settings import PACKAGED_MODEL

QUERIES = [
    "Who claimed responsibility for the attack?",
    "Where is that group based?",
    "x",
    "",
    "Ünïcödé café naïve 東京 emoji 🎉",
    "Crocus City Hall " * 200,  # past max_seq_length: truncated the same way
]


def test_erf_matches_math_erf_to_float32_precision():
    import math

    xs = np.linspace(-6, 6, 2001)
    want = np.array([math.erf(x) for x in xs])
    assert np.abs(_erf(xs) - want).max() < 2e-7


@pytest.mark.slow
def test_numpy_encoder_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(PACKAGED_MODEL)
    encoder = BertNumpyEncoder.load(path)
    assert encoder is not None and encoder.dim == 384 and encoder.max_seq_length == 256
    ours = encoder.encode(QUERIES)
    theirs = SentenceTransformer(str(path), device="cpu").encode(QUERIES, normalize_embeddings=True, batch_size=1)
    assert ours.dtype == np.float32 and ours.shape == (len(QUERIES), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_embedder_answers_queries_without_importing_torch():
    """A query through SentenceTransformerEmbedder uses the numpy path: torch is never imported."""
    code = (
        "import sys, json\n"
        "from index.embedder import SentenceTransformerEmbedder\n"
        "v = SentenceTransformerEmbedder().embed(['Who claimed responsibility?'])\n"
        "print(json.dumps({'shape': list(v.shape), 'torch': 'torch' in sys.modules,"
        " 'st': 'sentence_transformers' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"shape": [1, 384], "torch": False, "st": False}


@pytest.mark.slow
def test_small_and_large_calls_agree():
    """Queries (numpy path) and indexing batches (torch path) embed a text to the same vector."""
    embedder = SentenceTransformerEmbedder()
    texts = QUERIES[:2] + [f"filler sentence number {i}." for i in range(LIGHT_MAX_TEXTS)]
    small = embedder.embed(texts[:1])
    large = embedder.embed(texts)
    assert np.abs(small[0] - large[0]).max() < 1e-5


@pytest.mark.parametrize("damage", ["no_config", "cls_pooling", "not_bert"])
def test_unsupported_or_damaged_folders_fall_back(tmp_path, damage):
    """A folder the numpy path cannot reproduce exactly yields None, so sentence-transformers is used."""
    src = resolve_model_path(PACKAGED_MODEL)
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        (folder / name).write_text((src / name).read_text())
    (folder / "1_Pooling" / "config.json").write_text((src / "1_Pooling" / "config.json").read_text())
    if damage == "no_config":
        (folder / "config.json").unlink()
    elif damage == "cls_pooling":
        cfg = json.loads((src / "1_Pooling" / "config.json").read_text())
        cfg.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    else:
        cfg = json.loads((src / "config.json").read_text())
        cfg["model_type"] = "roberta"
        (folder / "config.json").write_text(json.dumps(cfg))
    assert BertNumpyEncoder.load(folder) is None
