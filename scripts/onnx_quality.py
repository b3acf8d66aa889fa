"""Trial (issue 17): does an int8 chunk encoder keep SQuAD quality? Same run, same questions, two indexes.

The chunk encoder (all-MiniLM-L6-v2) exported to ONNX and quantised to int8 with per-channel weights is used both
to index the chunks and to embed the questions (so query and index vectors come from the same graph); the
sentence vectors and everything else stay as shipped. Against it, the shipped encoder (sentence-transformers to
index, the numpy forward pass for questions). Embeddings of the shipped encoders come from the bench caches when
present (``--cache``, as ``python -m evals.bench --cache`` writes them). Asks a seeded sample of the questions of
the 24 held-out SQuAD articles. Needs ``onnx`` and ``ml_dtypes`` (not in the lock):

    pip install --no-deps --target /tmp/onnxpkg onnx ml_dtypes
    PYTHONPATH=/tmp/onnxpkg:. python scripts/onnx_quality.py --sample 1000 --cache /tmp/cache.npz

Prints the indexing speed of both chunk encoders on the SQuAD chunk texts and each system's metrics.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from sentence_transformers import SentenceTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_trial import BATCH, _Hidden, encoder  # noqa: E402

from evals.bench import _caching_embedder  # noqa: E402
from evals.metrics import score_turn, summarize  # noqa: E402
from evals.runner import DEFAULT_SQUAD, squad_cases  # noqa: E402
from evals.squad import held_out_cases  # noqa: E402
from index import PACKAGED_MODEL, CorpusIndex, load_settings  # noqa: E402
from index.embedder import resolve_model_path  # noqa: E402
from qa import QAEngine  # noqa: E402


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through an ONNX Runtime session (int8 per-channel), mean-pooled and normalised."""

    def __init__(self, path: Path, st: SentenceTransformer, name: str = "all-MiniLM-L6-v2") -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._encode = encoder(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), st)
        self.name = f"onnx-int8-per-channel:{name}"
        self.dim = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts) if texts else np.zeros((0, self.dim), np.float32)


def export_int8(st: SentenceTransformer, work: Path, stem: str = "minilm") -> Path:
    fp32, int8 = work / f"{stem}.onnx", work / f"{stem}-int8-per-channel.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = st.tokenizer(["hello world", "a longer example sentence here"], padding=True, return_tensors="pt")
    torch.onnx.export(_Hidden(st[0].auto_model.eval()), tuple(sample[k] for k in names), str(fp32), input_names=names,
                      output_names=["last_hidden_state"], dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]},
                      opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return int8


def evaluate(engine: QAEngine, cases: list, corpus: Path) -> dict[str, float]:  # type: ignore[type-arg]
    results = []
    for case in cases:
        history = []
        for i, turn in enumerate(case.turns):
            t = time.perf_counter()
            answer = engine.answer(turn.question, history)
            history.append(answer)
            results.append(score_turn(case, i, turn, answer, corpus, (time.perf_counter() - t) * 1000))
    m = summarize(results)
    return {k: getattr(m, k) for k in ("first_citation_on_gold", "hit_at_1", "hit_at_5", "mrr_at_10", "answer_accuracy", "latency_p50_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "docqa-onnx-cache.npz")
    args = parser.parse_args()
    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="onnx-quality-"))
    docs = args.root / "docs"
    settings = load_settings()
    st = SentenceTransformer(str(resolve_model_path(PACKAGED_MODEL)), device="cpu")
    onnx = OnnxEmbedder(export_int8(st, work), st)
    st_evidence = SentenceTransformer(str(resolve_model_path(settings.evidence_encoder)), device="cpu")
    onnx_evidence = OnnxEmbedder(export_int8(st_evidence, work, "evidence"), st_evidence, "minilm-qa")
    # The evidence scorer checks the encoder's name (its features are that encoder's cosines): the int8 graph of the
    # same model stands in under the shipped name, in this trial's own index folder only.
    onnx_evidence.name = settings.evidence_encoder
    sentences = _caching_embedder(str(args.cache), settings.evidence_encoder)
    chunks = _caching_embedder(str(args.cache))

    reference = CorpusIndex(docs, load_settings(home=work / "ref"), embedder=chunks, sentence_embedder=sentences)
    reference.sync(progress=False)
    texts = [c.text for c in reference.chunks]
    t0 = time.perf_counter()
    st.encode(texts, batch_size=BATCH, normalize_embeddings=True)
    st_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    onnx.embed(texts)
    onnx_s = time.perf_counter() - t0
    print(f"chunk texts {len(texts)}: sentence-transformers {st_s:.1f}s, onnx int8 per-channel {onnx_s:.1f}s: {st_s / onnx_s:.2f}x", flush=True)
    sentence_texts = [s.text for c in reference.chunks for s in c.sentences]
    t0 = time.perf_counter()
    ref_vectors = st_evidence.encode(sentence_texts, batch_size=BATCH, normalize_embeddings=True)
    st_e = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = onnx_evidence.embed(sentence_texts)
    onnx_e = time.perf_counter() - t0
    cos = (got * ref_vectors).sum(1)
    print(f"sentence texts {len(sentence_texts)} (evidence encoder): sentence-transformers {st_e:.1f}s, onnx int8 per-channel "
          f"{onnx_e:.1f}s: {st_e / onnx_e:.2f}x; cosine min {cos.min():.4f} mean {cos.mean():.4f}; both encoders together "
          f"{(st_s + st_e) / (onnx_s + onnx_e):.2f}x", flush=True)
    reference.embedder = chunks.inner  # questions embedded as in use (numpy forward pass)
    quantised = CorpusIndex(docs, load_settings(home=work / "int8"), embedder=onnx, sentence_embedder=sentences)
    quantised.sync(progress=False)
    both = CorpusIndex(docs, load_settings(home=work / "both"), embedder=onnx, sentence_embedder=onnx_evidence)
    both.sync(progress=False)
    sentences.save()
    chunks.save()

    cases = held_out_cases(squad_cases(args.root), args.root)
    cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
    print(f"{len(cases)} held-out questions (seed {args.seed})", flush=True)
    for name, index in (("shipped", reference), ("int8 per-channel chunks", quantised), ("int8 per-channel both", both)):
        print(name, evaluate(QAEngine(index), cases, docs), flush=True)


if __name__ == "__main__":
    main()
