"""Upload validation: type, size, file name; nothing outside the corpus is ever written."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import UploadError, load_settings
from ui.uploads import check_name, save_upload, save_uploads


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "existing.txt").write_bytes(b"Old content.\n")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root's parent (catches writes outside the corpus too)."""
    base = root.parent
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file() and "home" not in p.parts}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "contains a path"),
        ("..\\evil.txt", "contains a path"),
        ("sub/evil.txt", "contains a path"),
        ("/etc/evil.txt", "contains a path"),
        ("%2e%2e%2fevil.txt", "contains a path"),
        ("..%252fevil.txt", "contains a path"),
        ("a..txt", "contains '..'"),
        ("..", "contains '..'"),
        (".hidden.txt", "starts with a dot"),
        (" spaced.txt", "leading/trailing spaces"),
        ("bad\x00name.txt", "control or invisible"),
        ("rtl\u202etxt.exe", "control or invisible"),
        ("", "empty file name"),
        ("x" * 300 + ".txt", "over 200 characters"),
        ("report.epub", "type '.epub'"),
        ("script.py", "type '.py'"),
        ("noextension", "type '(none)'"),
    ],
)
def test_bad_names_are_refused_with_the_reason(corpus: Path, name: str, reason: str) -> None:
    settings = load_settings()
    before = _tree(corpus)
    with pytest.raises(UploadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        save_upload(corpus, name, b"Some text.\n", settings)
    assert _tree(corpus) == before


@pytest.mark.parametrize("name", ["report.txt", "Notes 2024.md", "REPORT.TXT", "café-notes.txt"])
def test_good_names_pass(name: str) -> None:
    assert check_name(name, load_settings()) == name


def test_too_large_is_refused_naming_size_and_limit(corpus: Path) -> None:
    settings = load_settings(max_upload_bytes=100)
    with pytest.raises(UploadError, match=r"'big.txt' is 101 bytes, over the 100-byte limit.*DOCQA_MAX_UPLOAD_BYTES"):
        save_upload(corpus, "big.txt", b"a" * 101, settings)
    assert not (corpus / "big.txt").exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "looks binary"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
    ],
)
def test_binary_or_empty_content_is_refused(corpus: Path, data: bytes, reason: str) -> None:
    with pytest.raises(UploadError, match=reason):
        save_upload(corpus, "fake.txt", data, load_settings())
    assert not (corpus / "fake.txt").exists()


def test_documents_are_accepted_and_unreadable_ones_refused_with_the_reason(corpus: Path) -> None:
    from .docfixtures import REPORT_PAGES, docx_bytes, pdf_bytes

    settings = load_settings()
    assert save_upload(corpus, "report.pdf", pdf_bytes(REPORT_PAGES), settings).file == "report.pdf"
    assert save_upload(corpus, "memo.docx", docx_bytes(["A memo."]), settings).file == "memo.docx"
    assert save_upload(corpus, "page.html", b"<p>Hello there.</p>", settings).file == "page.html"
    with pytest.raises(UploadError, match="locked.pdf: encrypted PDF"):
        save_upload(corpus, "locked.pdf", pdf_bytes(REPORT_PAGES, encrypt="pw"), settings)
    with pytest.raises(UploadError, match="fake.docx: not a Word .docx file"):
        save_upload(corpus, "fake.docx", b"plain text\n", settings)
    assert not (corpus / "locked.pdf").exists() and not (corpus / "fake.docx").exists()


def test_saves_inside_the_corpus_exactly(corpus: Path) -> None:
    saved = save_upload(corpus, "new.md", b"# Title\r\nBody line.\r\n", load_settings())
    assert saved.file == "new.md" and saved.bytes == 21 and not saved.already_present
    assert (corpus / "new.md").read_bytes() == b"# Title\r\nBody line.\r\n"
    assert not [p for p in corpus.iterdir() if p.name.endswith(".upload-tmp")]


def test_never_overwrites_a_different_existing_file(corpus: Path) -> None:
    with pytest.raises(UploadError, match="already exists.*never overwritten"):
        save_upload(corpus, "existing.txt", b"New content.\n", load_settings())
    assert (corpus / "existing.txt").read_bytes() == b"Old content.\n"
    same = save_upload(corpus, "existing.txt", b"Old content.\n", load_settings())
    assert same.already_present


def test_symlink_target_name_is_refused(corpus: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret\n")
    (corpus / "link.txt").symlink_to(outside)
    with pytest.raises(UploadError, match="link or folder"):
        save_upload(corpus, "link.txt", b"replacement\n", load_settings())
    assert outside.read_bytes() == b"secret\n"


def test_one_bad_file_means_none_is_written(corpus: Path, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.exe"
    good.write_bytes(b"Fine.\n")
    bad.write_bytes(b"MZ\x00\x00")
    with pytest.raises(UploadError, match="bad.exe"):
        save_uploads(corpus, [good, bad], load_settings())
    assert not (corpus / "good.txt").exists()


def test_uploaded_name_not_temp_path_is_used(corpus: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "gradio-tmp-123"
    tmp.write_bytes(b"Content.\n")
    with pytest.raises(UploadError, match="contains a path"):
        save_uploads(corpus, [tmp], load_settings(), names=["../../escape.txt"])
    [ok] = save_uploads(corpus, [tmp], load_settings(), names=["kept.txt"])
    assert ok.file == "kept.txt" and (corpus / "kept.txt").read_bytes() == b"Content.\n"
