"""Find the indexable files under a corpus folder, safely."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .errors import CorpusError
from .models import SkippedFile

logger = logging.getLogger(__name__)


def check_corpus(corpus: Path) -> Path:
    """Resolve a corpus folder, or raise CorpusError saying what is wrong with it."""
    path = Path(corpus).expanduser()
    if not path.exists():
        raise CorpusError(f"corpus folder {str(path)!r} does not exist; pass an existing folder of .txt/.md files")
    if not path.is_dir():
        raise CorpusError(f"corpus {str(path)!r} is a file, not a folder; pass the folder that holds your documents")
    return path.resolve()


def discover(corpus: Path, extensions: frozenset[str], exclude: Path | None = None) -> tuple[dict[str, Path], list[SkippedFile]]:
    """Map relative path (with '/') -> absolute path for every file to index, plus the files skipped and why.

    Hidden files and folders are ignored. A symlink is followed only when its target lies
    inside the corpus, so nothing outside the corpus is ever read.
    """
    root = check_corpus(corpus)
    found: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    excluded = exclude.resolve() if exclude is not None else None

    def onerror(err: OSError) -> None:
        rel = os.path.relpath(err.filename, root) if err.filename else "?"
        skipped.append(SkippedFile(file=rel, reason=f"folder cannot be read ({err.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            full = here / d
            if d.startswith(".") or (excluded is not None and full.resolve() == excluded):
                continue
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(root):
                    skipped.append(SkippedFile(file=full.relative_to(root).as_posix(), reason="symlink to a folder outside the corpus"))
                    continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = here / name
            rel = full.relative_to(root).as_posix()
            if full.suffix.lower() not in extensions:
                continue
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(root):
                    skipped.append(SkippedFile(file=rel, reason="symlink to a file outside the corpus (not followed)"))
                    continue
                if not target.exists():
                    skipped.append(SkippedFile(file=rel, reason="broken symlink"))
                    continue
            found[rel] = full
    for s in skipped:
        logger.warning("skipped %s: %s", s.file, s.reason)
    return found, skipped


def resolve_inside(corpus: Path, relative: str) -> Path:
    """The absolute path of ``relative`` inside ``corpus``; raises CorpusError if it escapes the corpus."""
    root = Path(corpus).resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise CorpusError(f"path {relative!r} points outside the corpus {str(root)!r}; only corpus files can be read")
    return candidate
