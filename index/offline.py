"""Guards that keep docqa from reaching the network: no hub downloads, no telemetry."""

from __future__ import annotations

import os
from pathlib import Path

_GUARDS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
    # The model loads from a local folder in well under a second: no progress bar for it.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def enable_offline_mode() -> None:
    """Set the offline/telemetry environment variables (without overriding explicit user values)."""
    for key, value in _GUARDS.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        # llama-index ships tiktoken's files; point tiktoken there so it never downloads.
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec is not None and spec.origin is not None:
            cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
            if cache.is_dir():
                os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
