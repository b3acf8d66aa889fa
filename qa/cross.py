"""The answer checker: a small cross-encoder that reads a question and a candidate sentence together.

An opt-in alternative (``DOCQA_EVIDENCE=checked``), not shipped: it was measured and lost to the default scorer
on held-out questions (README, "Evidence scorers"). ``python -m evals.train_cross`` trains it into
``checker_path(home)`` (see there for the data). It is the first ``LAYERS`` layers
of the evidence encoder, fine-tuned on (question, sentence) pairs, mean-pooled into one logit: "this
sentence answers this question". The word, position and type embeddings are the evidence encoder's
own (frozen in training), so ``evidence-cross.safetensors`` holds only the layers, as int8 per output
row, and the head. The forward pass is numpy (``index.bert_numpy``): the ask path stays free of torch.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from index.bert_numpy import embed_tokens, transformer_layers
from index.errors import ModelError
from index.settings import EVIDENCE_ENCODER_DIR

#: Transformer layers of the checker (of the evidence encoder's six).
LAYERS = 3
#: Question and sentence together are cut to this many tokens.
MAX_TOKENS = 96
#: The checker reads the ranker's best this many candidates.
TOP_K = 6

_EMBEDDINGS = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
               "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias")


class AnswerChecker:
    """``logits(question, sentences)``: how strongly each sentence answers the question (higher: more)."""

    def __init__(self, path: Path, encoder_dir: Path = EVIDENCE_ENCODER_DIR) -> None:
        from safetensors import safe_open
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
            stored = load_file(str(path))
            self.layers = int(meta["layers"])
            config = json.loads(meta["config"])
            self.heads, self.eps = int(config["heads"]), float(config["eps"])
            w: dict[str, np.ndarray] = {}
            for key, value in stored.items():
                if key.endswith(".q"):
                    name = key[:-2]
                    w[name] = np.ascontiguousarray((value.astype(np.float32) * stored[name + ".scale"][:, None]).T)
                elif not key.endswith(".scale"):
                    w[key] = value.astype(np.float32)
            self.head_w = w.pop("head.weight")
            self.head_b = float(w.pop("head.bias")[0])
            with safe_open(str(encoder_dir / "model.safetensors"), framework="numpy") as f:
                names = {k.removeprefix("bert."): k for k in f.keys()}
                for name in _EMBEDDINGS:
                    w[name] = f.get_tensor(names[name]).astype(np.float32)
            tokenizer = Tokenizer.from_file(str(encoder_dir / "tokenizer.json"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"the answer checker {path} (or its encoder {encoder_dir}) is missing or unreadable ({exc}); rebuild it "
                "with `python -m evals.train_cross` (same DOCQA_HOME), or set DOCQA_EVIDENCE=hybrid"
            ) from exc
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._w = w
        self.path = path

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        """One logit per sentence (a batch padded to the longest pair; padding does not change the result)."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        enc = self._tokenizer.encode_batch([(question, s) for s in sentences])
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = e.ids
            types[i, : len(e.ids)] = e.type_ids
            mask[i, : len(e.ids)] = 1
        x = embed_tokens(self._w, ids, types, self.eps)
        x = transformer_layers(self._w, x, mask, self.layers, self.heads, self.eps)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / m.sum(axis=1)
        return (pooled @ self.head_w + self.head_b).astype(np.float32)


_checkers: dict[Path, AnswerChecker] = {}
_lock = threading.Lock()


def checker_path(home: Path) -> Path:
    """Where ``python -m evals.train_cross`` writes the checker for the settings' ``home`` (its threshold beside it)."""
    return home.expanduser().resolve() / "models" / "evidence-cross.safetensors"


def save_checker(layers: dict[str, np.ndarray], head_weight: np.ndarray, head_bias: float, heads: int, eps: float,
                 path: Path) -> None:
    """Write a checker: ``layers`` are BertModel ``encoder.layer.N...`` tensors (matrices as torch stores them,
    output rows first), kept as int8 per output row with a float scale; the rest as float32. Atomic."""
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    for name, raw in layers.items():
        value = np.asarray(raw, dtype=np.float32)
        if value.ndim == 2:  # W ~= q * scale[:, None]
            scale = np.maximum(np.abs(value).max(axis=1), 1e-12) / 127.0
            tensors[name + ".q"] = np.round(value / scale[:, None]).astype(np.int8)
            tensors[name + ".scale"] = scale.astype(np.float32)
        else:
            tensors[name] = value.astype(np.float32)
    tensors["head.weight"] = np.asarray(head_weight, dtype=np.float32).reshape(-1)
    tensors["head.bias"] = np.asarray([head_bias], dtype=np.float32)
    count = len({n.split(".")[2] for n in layers if n.startswith("encoder.layer.")})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"layers": str(count), "encoder": EVIDENCE_ENCODER_DIR.name,
                                           "config": json.dumps({"heads": heads, "eps": eps})})
    tmp.replace(path)


def load_checker(path: Path) -> AnswerChecker:
    """The checker at ``path``, loaded once per process."""
    with _lock:
        checker = _checkers.get(path)
        if checker is None:
            checker = _checkers[path] = AnswerChecker(path)
        return checker
