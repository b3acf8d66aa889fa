"""Trial (issue 17): all-MiniLM-L6-v2 through ONNX Runtime, fp32 and dynamic int8, against sentence-transformers.

Same 1,200 SQuAD chunk texts, same process, 2 threads. Needs the SQuAD index under DOCQA_HOME (for the texts) and
the `onnx` and `ml_dtypes` packages, which are not in the lock (the exporter and the quantiser need them):

    pip install --no-deps --target /tmp/onnxpkg onnx ml_dtypes
    PYTHONPATH=/tmp/onnxpkg python scripts/onnx_trial.py

Prints texts/s for each route, the ratio to sentence-transformers, the cosine of each vector to the reference,
and how much of each text's top 5 (reference vectors as queries) survives with the route's vectors.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from sentence_transformers import SentenceTransformer

from index import PACKAGED_MODEL, load_settings
from index.catalog import Catalog
from index.embedder import resolve_model_path

TEXTS = 1200
BATCH = 32


class _Hidden(torch.nn.Module):
    """BertModel with keyword inputs and the last hidden state as its one output (what the exporter traces)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state


def squad_chunks() -> list[str]:
    found = sorted(load_settings().index_root().glob("docs-*/index.sqlite"))
    if not found:
        raise SystemExit("no SQuAD index under DOCQA_HOME: run `python -m evals squad --sample 10` first")
    return [c.text for c in Catalog(found[0]).all_chunks()][:TEXTS]


def encoder(session: ort.InferenceSession, st: SentenceTransformer):  # type: ignore[no-untyped-def]
    """Mean-pooled, normalised vectors from an ONNX session, batches sorted by length as sentence-transformers does."""

    def encode(texts: list[str]) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts])
        out = np.zeros((len(texts), 384), np.float32)
        for at in range(0, len(texts), BATCH):
            idx = order[at : at + BATCH]
            e = st.tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=st.max_seq_length, return_tensors="np")
            feed = {k: e[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = session.run(None, feed)[0]
            mask = e["attention_mask"][..., None].astype(np.float32)
            v = (hidden * mask).sum(1) / mask.sum(1)
            out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    return encode


def timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    fn(texts[:64])  # warm up
    t = time.perf_counter()
    vectors = fn(texts)
    return vectors, time.perf_counter() - t


def main() -> None:
    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="onnx-trial-"))
    texts = squad_chunks()
    st = SentenceTransformer(str(resolve_model_path(PACKAGED_MODEL)), device="cpu")
    ref, t_st = timed(lambda ts: st.encode(ts, batch_size=BATCH, normalize_embeddings=True), texts)
    print(f"sentence-transformers: {len(texts)} texts {t_st:.1f}s ({len(texts) / t_st:.1f}/s)", flush=True)

    fp32 = str(work / "minilm.onnx")
    sample = st.tokenizer(["hello world", "a longer example sentence here"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(_Hidden(st[0].auto_model.eval()), tuple(sample[k] for k in names), fp32, input_names=names,
                      output_names=["last_hidden_state"], dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]},
                      opset_version=17, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    queries = ref[:300]
    nearest = (queries @ ref.T).argsort(1)[:, -5:]
    routes = [("fp32", fp32, None), ("int8", str(work / "int8.onnx"), {}), ("int8 per-channel", str(work / "int8pc.onnx"), {"per_channel": True})]
    for name, path, quantise in routes:
        if quantise is not None:
            quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, **quantise)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        got, seconds = timed(encoder(session, st), texts)
        cos = (got * ref).sum(1)
        kept = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(nearest, (queries @ got.T).argsort(1)[:, -5:], strict=True)])
        print(f"onnxruntime {name}: {seconds:.1f}s ({len(texts) / seconds:.1f}/s), ratio {t_st / seconds:.2f}x; cosine to "
              f"sentence-transformers min {cos.min():.6f} mean {cos.mean():.6f}; top-5 kept {kept:.3f}", flush=True)


if __name__ == "__main__":
    main()
