"""A numpy forward pass of a BERT sentence-transformers model, for embedding queries without torch.

Importing sentence-transformers (and with it transformers, torch and scikit-learn) takes about 6 s
here, which dominated ``docqa ask``'s cold start. A query is a handful of tokens, and for that a plain
numpy forward pass over the same ``model.safetensors`` is as fast as torch and needs only ``numpy``,
``safetensors`` and ``tokenizers`` (together about 0.4 s to import). It computes the same function as
``SentenceTransformer.encode(..., normalize_embeddings=True)`` for models whose modules are
Transformer (BertModel) -> mean pooling -> Normalize; ``tests/test_bert_numpy.py`` checks the vectors
agree with sentence-transformers to within 1e-5. Anything else returns ``None`` from ``load`` and the
caller uses sentence-transformers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_MEAN_POOLING = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}
_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"]


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to about 1.2e-7 relative error (Numerical Recipes' erfc Chebyshev fit); numpy has no erf."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (
        1.00002368
        + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (
            -1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def embed_tokens(w: dict[str, np.ndarray], ids: np.ndarray, type_ids: np.ndarray, eps: float) -> np.ndarray:
    """BERT's input embeddings (word + position + token type, layer-normed) of a padded id batch."""
    seq = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:seq][None]
    x = x + w["embeddings.token_type_embeddings.weight"][type_ids]
    return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)


def quantise_int8(weight_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column symmetric int8 of a transposed dense weight (in, out), exactly as onnxruntime's ``quantize_dynamic``
    (``per_channel=True``, ``QInt8``) stores it: ``(q, scale)``, ``q`` as float32 integers in [-127, 127]."""
    absmax = np.maximum(np.abs(weight_t.min(axis=0)), np.abs(weight_t.max(axis=0))).astype(np.float32)
    scale = (absmax.astype(np.float64) * 2 / 254).astype(np.float32)
    scale = np.where(scale < np.finfo(np.float32).tiny, np.float32(1.0), scale)
    return np.clip(np.rint(weight_t / scale), -127, 127).astype(np.float32), scale


def _dense_int8(h: np.ndarray, q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``h @ W`` as ONNX Runtime's dynamic int8 graph computes it: DynamicQuantizeLinear of ``h`` (uint8, one scale and
    zero point for the whole tensor), MatMulInteger with the int8 weight ``q``, then both scales. The integer product is
    summed in float32 (exact to about 1e-7 relative, far below the quantisation step)."""
    lo = np.float32(min(float(h.min()), 0.0))
    hi = np.float32(max(float(h.max()), 0.0))
    step = np.float32((hi - lo) / np.float32(255))
    if step == 0:
        return np.zeros((h.shape[0], q.shape[1]), dtype=np.float32)
    zero = np.float32(np.clip(np.rint(-lo / step), 0, 255))
    hq = np.clip(np.rint(h / step) + zero, 0, 255) - zero
    return (hq.astype(np.float32) @ q) * (step * scale)


def transformer_layers(w: dict[str, np.ndarray], x: np.ndarray, mask: np.ndarray, layers: int, heads: int, eps: float) -> np.ndarray:
    """The first ``layers`` BERT encoder layers over ``x`` (batch, seq, dim); ``mask`` is 1 on real tokens.

    Dense weights in ``w`` are stored transposed (``x @ W``), as ``BertNumpyEncoder.load`` and ``qa.cross`` keep them.
    A dense layer with a ``.scale`` entry beside its weight is int8 (``quantise_int8``) and runs as ``_dense_int8``.
    """
    batch, seq, dim = x.shape
    width = dim // heads
    neg = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(width))
    for i in range(layers):
        p = f"encoder.layer.{i}."

        def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
            flat, weight = h.reshape(-1, h.shape[-1]), w[p + name + ".weight"]
            scale = w.get(p + name + ".scale")
            out = (flat @ weight if scale is None else _dense_int8(flat, weight, scale)) + w[p + name + ".bias"]
            return out.reshape(batch, seq, -1)

        def split(h: np.ndarray) -> np.ndarray:
            return h.reshape(batch, seq, heads, width).transpose(0, 2, 1, 3)

        if p + "attention.self.qkv.weight" in w:  # fused at load: one quantisation and one product for all three
            q, k, v = (split(part) for part in np.split(dense(x, "attention.self.qkv"), 3, axis=-1))
        else:
            q, k, v = (split(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + neg
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, dim)
        x = _layer_norm(dense(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        h = dense(x, "intermediate.dense")
        h = (0.5 * h * (1.0 + _erf(h / np.float32(np.sqrt(2.0))))).astype(np.float32)
        x = _layer_norm(dense(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def load_tokenizer(path: Path):  # type: ignore[no-untyped-def]
    """The folder's fast tokenizer, truncating at the model's ``max_seq_length`` as sentence-transformers does, and
    that length."""
    from tokenizers import Tokenizer

    config = json.loads((path / "config.json").read_text())
    st_config = json.loads((path / "sentence_bert_config.json").read_text())
    max_len = min(int(st_config.get("max_seq_length", 512)), int(config.get("max_position_embeddings", 512)))
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_len)
    tokenizer.no_padding()
    return tokenizer, max_len


class BertNumpyEncoder:
    """Mean-pooled, normalised BERT sentence embeddings computed with numpy from a model folder."""

    def __init__(self, path: Path, weights: dict[str, np.ndarray], config: dict, max_seq_length: int, tokenizer) -> None:  # type: ignore[no-untyped-def]
        self.path = path
        self._w = weights
        self._layers = int(config["num_hidden_layers"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.dim = int(config["hidden_size"])

    @classmethod
    def load(cls, path: Path, int8: bool = False) -> BertNumpyEncoder | None:
        """The encoder for a sentence-transformers folder, or ``None`` if the folder is not a plain mean-pooled BERT.

        ``int8``: the encoder layers' dense weights quantised as ``index/onnx_encoder.py``'s graph has them, and their
        inputs quantised per call as ONNX Runtime does, so that a query gets the vector the int8 index encoder gives."""
        try:
            config = json.loads((path / "config.json").read_text())
            modules = [m["type"] for m in json.loads((path / "modules.json").read_text())]
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
            json.loads((path / "sentence_bert_config.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None
        supported = (
            config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and modules[:2] == _MODULES
            and modules[2:] == ["sentence_transformers.models.Normalize"]
            and all(pooling.get(k, False) == v for k, v in _MEAN_POOLING.items())
            and not pooling.get("pooling_mode_mean_sqrt_len_tokens", False)
            and (path / "model.safetensors").is_file()
            and (path / "tokenizer.json").is_file()
        )
        if not supported:
            return None
        from safetensors.numpy import load_file

        weights = load_file(str(path / "model.safetensors"))
        # Weights may be stored as float16 (the shipped evidence encoder): compute in float32 as torch does.
        weights = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in weights.items()}
        # Dense layers are applied as ``x @ W.T``: store W.T contiguous once so each product is one BLAS call.
        dense = [k for k in weights if k.startswith("encoder.") and k.endswith(("dense.weight", "query.weight", "key.weight",
                                                                            "value.weight"))]
        for key in dense:
            weights[key] = np.ascontiguousarray(weights[key].T)
            if int8:
                weights[key], weights[key.removesuffix(".weight") + ".scale"] = quantise_int8(weights[key])
        # Query, key and value read the same input: one product with their weights side by side. In int8 this is
        # also what ONNX Runtime does, one input quantisation shared by the three; the per-column scales are unchanged.
        for layer in {k.split(".attention.self.")[0] for k in dense if ".attention.self." in k}:
            names = [f"{layer}.attention.self.{n}" for n in ("query", "key", "value")]
            fused = f"{layer}.attention.self.qkv"
            for part in ("weight", "bias", "scale"):
                if all(f"{n}.{part}" in weights for n in names):
                    weights[f"{fused}.{part}"] = np.ascontiguousarray(np.concatenate([weights.pop(f"{n}.{part}") for n in names], axis=-1))
        tokenizer, max_len = load_tokenizer(path)
        return cls(path, weights, config, max_len, tokenizer)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = embed_tokens(self._w, ids, np.zeros_like(ids), self._eps)
        x = transformer_layers(self._w, x, mask, self._layers, self._heads, self._eps)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, one row each (each text is run on its own: no padding effects)."""
        rows = []
        for text in texts:
            ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
            rows.append(self._forward(ids, np.ones_like(ids)))
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)
