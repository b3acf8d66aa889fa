"""User interfaces: the ``docqa`` command line and the Gradio web UI (``docqa ui``)."""

from .cli import main, render
from .service import CorpusStatus, DocqaService, SourceView, parse_ref
from .uploads import SavedUpload, check_name, save_upload, save_uploads

__all__ = [
    "CorpusStatus",
    "DocqaService",
    "SavedUpload",
    "SourceView",
    "check_name",
    "main",
    "parse_ref",
    "render",
    "save_upload",
    "save_uploads",
]
