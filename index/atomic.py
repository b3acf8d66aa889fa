"""Atomic writes of derived index files: a crash leaves the old file or the new one, never a torn one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` (no pickles) to a temporary file beside ``path``, synced, then moved over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
