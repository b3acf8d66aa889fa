"""Named exceptions. Each message says what was wrong and how to fix it."""

from __future__ import annotations


class DocqaError(Exception):
    """Base class of every error docqa raises on purpose; the CLI prints its message and exits non-zero."""

    exit_code = 2


class ConfigError(DocqaError):
    """A setting has an invalid value."""


class CorpusError(DocqaError):
    """The corpus folder is missing, not a folder, or holds no indexable document."""


class DocumentError(DocqaError):
    """One file cannot be read as text (binary, undecodable, unreadable). Indexing skips it and goes on."""


class QuestionError(DocqaError):
    """The question is empty, too long, or otherwise unusable."""


class IndexStateError(DocqaError):
    """The on-disk index is unusable (corrupt or made by another model); re-index to fix it."""


class ModelError(DocqaError):
    """The embedding model cannot be loaded from the configured local path."""


class UploadError(DocqaError):
    """A file offered for upload is refused (bad name, type, size or content); nothing was written."""


class SourceError(DocqaError):
    """A requested source document is not an indexed file of the corpus (or escapes it)."""


class SuiteError(DocqaError):
    """A user's eval suite file is malformed (the message names the file, the case and the field), or cannot be saved."""
