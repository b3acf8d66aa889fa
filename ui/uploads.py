"""Checking and saving files uploaded through the web UI into the corpus folder.

An upload is refused (``UploadError``, nothing written) unless its name is a plain file
name with an indexed extension, its size is within ``max_upload_bytes`` and its bytes
decode as text. Files are written only directly inside the corpus folder, never over an
existing file with other content, and atomically: a crash leaves the old state or the
new file, never half a file.
"""

from __future__ import annotations

import logging
import os
import unicodedata
import uuid
from pathlib import Path
from urllib.parse import unquote

from pydantic import BaseModel, Field

from index.errors import DocumentError, UploadError
from index.reader import text_view
from index.settings import Settings

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 200


class SavedUpload(BaseModel):
    """One upload written to (or already present in) the corpus."""

    file: str = Field(description="File name inside the corpus folder.")
    bytes: int = Field(description="Size of the file in bytes.")
    already_present: bool = Field(description="True when an identical file was already there, so nothing was written.")


def check_name(name: str, settings: Settings) -> str:
    """The upload's file name if it is safe to create inside the corpus; else UploadError saying why."""
    shown = repr(name)
    if not name or not name.strip():
        raise UploadError("upload has an empty file name; name the file, e.g. report.txt")
    if len(name) > MAX_NAME_CHARS:
        raise UploadError(f"upload name {name[:40]!r}... is over {MAX_NAME_CHARS} characters; rename the file shorter")
    decoded = unquote(unquote(name))
    if any(sep in form for form in (name, decoded) for sep in ("/", "\\")):
        raise UploadError(f"upload name {shown} contains a path; give a plain file name such as report.txt")
    if ".." in decoded:
        raise UploadError(f"upload name {shown} contains '..'; rename the file without it")
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in name):
        raise UploadError(f"upload name {shown} contains control or invisible characters; rename the file")
    if name.startswith(".") or name != name.strip():
        raise UploadError(f"upload name {shown} starts with a dot or has leading/trailing spaces; rename the file")
    suffix = Path(name).suffix.lower()
    if suffix not in settings.extension_set:
        allowed = ", ".join(sorted(settings.extension_set))
        raise UploadError(f"upload {shown} has type {suffix or '(none)'!r}; only {allowed} files can be added")
    return name


def check_content(name: str, data: bytes, settings: Settings) -> None:
    """UploadError unless ``data`` is non-empty within the upload size limit and readable: text, or a PDF, Word
    or HTML file its reader can read (the whole file is read once, so a file that would be skipped is refused)."""
    if len(data) > settings.max_upload_bytes:
        raise UploadError(
            f"upload {name!r} is {len(data):,} bytes, over the {settings.max_upload_bytes:,}-byte limit; "
            "split the file or raise DOCQA_MAX_UPLOAD_BYTES"
        )
    if not data.strip():
        raise UploadError(f"upload {name!r} is empty; nothing to index")
    try:
        text_view(data, name, Path(name).suffix.lower())
    except DocumentError as exc:
        raise UploadError(f"upload {exc}") from exc


def save_upload(corpus: Path, name: str, data: bytes, settings: Settings) -> SavedUpload:
    """Validate one upload and write it directly inside ``corpus``; never overwrites different content."""
    check_name(name, settings)
    check_content(name, data, settings)
    return _write(corpus, name, data)


def _write(corpus: Path, name: str, data: bytes) -> SavedUpload:
    """Write a validated upload atomically inside ``corpus``; never over a link, a folder or different content."""
    root = Path(corpus).resolve()
    target = root / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UploadError(f"{name!r} already exists in the corpus as a link or folder; rename the upload")
    if target.parent != root or not target.resolve().parent == root:
        raise UploadError(f"upload name {name!r} would be written outside the corpus {str(root)!r}; rename it")
    if target.exists():
        if target.read_bytes() == data:
            return SavedUpload(file=name, bytes=len(data), already_present=True)
        raise UploadError(
            f"a different {name!r} already exists in the corpus; rename the upload (existing files are never overwritten)"
        )
    tmp = root / f".{uuid.uuid4().hex}.upload-tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # fails if the name appeared meanwhile: no overwrite, no half file
        except FileExistsError as exc:
            raise UploadError(f"{name!r} appeared in the corpus meanwhile; rename the upload") from exc
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("saved upload %s (%d bytes) into %s", name, len(data), root)
    return SavedUpload(file=name, bytes=len(data), already_present=False)


def save_uploads(corpus: Path, paths: list[Path], settings: Settings, names: list[str] | None = None) -> list[SavedUpload]:
    """Validate every upload first, then save them; one bad file means none is written."""
    names = names or [p.name for p in paths]
    payloads: list[tuple[str, bytes]] = []
    for path, name in zip(paths, names, strict=True):
        check_name(name, settings)
        size = path.stat().st_size
        if size > settings.max_upload_bytes:
            raise UploadError(
                f"upload {name!r} is {size:,} bytes, over the {settings.max_upload_bytes:,}-byte limit; "
                "split the file or raise DOCQA_MAX_UPLOAD_BYTES"
            )
        data = path.read_bytes()
        check_content(name, data, settings)
        payloads.append((name, data))
    if len({n for n, _ in payloads}) != len(payloads):
        raise UploadError("two uploads have the same name; upload them one at a time or rename one")
    return [_write(corpus, name, data) for name, data in payloads]
