"""The int8 encoder that indexing uses: a sentence-transformers BERT folder exported to ONNX and run by ONNX Runtime.

Why (issue 17): indexing is the model's forward pass, and on these 2 cores sentence-transformers' float32 pass was
the ceiling (0.9x of raw ``encode`` at best). ONNX Runtime with the dense layers' weights in int8, one scale per
output column, and their inputs quantised per call (``onnxruntime.quantization.quantize_dynamic``) encodes about
2x faster. Measured on 1,000 held-out SQuAD questions, first citation on gold and hit@5 stay within 0.5 point of
the float32 encoder (README, "A faster encoder for indexing").

The graph is built once per model folder, on first use, into ``DOCQA_HOME/models`` (about 5 s, and it needs torch
and ``onnx``, which indexing has anyway). Questions are embedded by ``BertNumpyEncoder.load(path, int8=True)``,
a numpy copy of the same int8 computation, so ``docqa ask`` still imports neither torch nor ONNX Runtime; the
two agree to about 1e-5 cosine (``tests/test_onnx_encoder.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from .bert_numpy import load_tokenizer
from .errors import ModelError

logger = logging.getLogger(__name__)

#: Bump when the exported graph changes (export arguments, quantisation options): old files are then rebuilt.
FORMAT = 1
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_key(model_dir: Path) -> str:
    """Names the built graph of ``model_dir``: its path and its files' sizes and times, the format and onnxruntime's
    version. A changed model folder, or a new onnxruntime, gets a new graph."""
    import onnxruntime

    parts: list[object] = [str(model_dir.resolve()), FORMAT, onnxruntime.__version__]
    for name in ("model.safetensors", "config.json", "tokenizer.json", "sentence_bert_config.json"):
        path = model_dir / name
        stat = path.stat() if path.is_file() else None
        parts.append([name, stat.st_size if stat else None, stat.st_mtime_ns if stat else None])
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    return f"{model_dir.name}-int8-{digest}"


def build_int8_graph(model_dir: Path, target: Path) -> None:
    """Export ``model_dir``'s transformer to ONNX (float32) and quantise its MatMul weights to int8 per column into
    ``target``; written beside it first and moved into place, so a crash never leaves a torn file."""
    from .offline import enable_offline_mode

    enable_offline_mode()
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError(
            f"building the int8 encoder needs torch, sentence-transformers and onnx ({exc}); reinstall docqa "
            "(scripts/install.sh), or set DOCQA_EMBED_PRECISION=float32"
        ) from exc

    class _Hidden(torch.nn.Module):
        """The transformer with positional inputs and its last hidden state as the one output (what is traced)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        transformer = model[0].auto_model.eval()  # type: ignore[union-attr]
        sample = model.tokenizer(["a short text", "a somewhat longer text to trace"], padding=True, return_tensors="pt")
        float_path, int8_path = work / "float32.onnx", work / "int8.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(transformer), tuple(sample[k] for k in _INPUTS), str(float_path), input_names=list(_INPUTS),
                output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*_INPUTS, "last_hidden_state"]},
            )
        logging.disable(logging.WARNING)  # the quantiser logs a generic "consider pre-processing" warning on the root logger
        try:
            quantize_dynamic(str(float_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        finally:
            logging.disable(logging.NOTSET)
        with open(int8_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(int8_path, target)
    except ModelError:
        raise
    except Exception as exc:  # the exporter and quantiser raise many types; report them all the same way
        raise ModelError(
            f"cannot build the int8 encoder of {model_dir} ({type(exc).__name__}: {exc}); set DOCQA_EMBED_PRECISION=float32 "
            "to index with sentence-transformers instead"
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


class OnnxInt8Encoder:
    """Texts through the int8 graph, each alone, mean-pooled and normalised; one worker thread per core.

    The graph quantises each layer's input with one scale for the whole batch, padding included, so in a batch a
    text's vector would depend on the texts beside it (cosine 0.985-0.99 to its vector alone): adding one file would
    give other vectors than indexing the folder at once. Run alone, a text gets the same vector however the folder is
    indexed, and the one the numpy query encoder computes. Alone is not slower here: with one ONNX Runtime thread per
    text and one text per core, chunks ran at 104 texts/s and sentences at 365/s, against 52/s and 384/s in padded
    batches of 64 and 16 on two threads (2 cores).
    """

    def __init__(self, model_dir: Path, models_home: Path, workers: int | None = None) -> None:
        self.model_dir = model_dir
        self.path = models_home / f"{model_key(model_dir)}.onnx"
        self.workers = workers or max(1, min(len(os.sched_getaffinity(0)), 8))
        self._session: object | None = None
        self._lock = threading.Lock()
        self._tokenizer, self.max_seq_length = load_tokenizer(model_dir)

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._session is None:
                if not self.path.is_file():
                    logger.info("building the int8 encoder of %s (once, a few seconds) into %s", self.model_dir, self.path)
                    build_int8_graph(self.model_dir, self.path)
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # parallel over texts instead (see the class docstring)
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                try:
                    self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # a damaged file: say where it is and how to rebuild it
                    raise ModelError(
                        f"cannot load the int8 encoder {self.path} ({exc}); delete that file to rebuild it"
                    ) from exc
            return self._session

    def encode(self, texts: list[str]) -> np.ndarray:
        session = self._load()
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)

        def one(ids_list: list[int]) -> np.ndarray:
            ids = np.asarray([ids_list], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feed)[0][0]  # type: ignore[attr-defined]
            pooled = hidden.mean(axis=0)
            return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

        ids = [e.ids for e in encodings]
        if self.workers == 1 or len(ids) == 1:
            rows = [one(i) for i in ids]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.workers, thread_name_prefix="docqa-int8") as pool:  # onnxruntime releases the GIL
                rows = list(pool.map(one, ids))
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
