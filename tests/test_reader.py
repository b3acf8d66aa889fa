"""Files are read into exactly the lines an editor shows."""

import codecs

import pytest

from index import DocumentError, read_text_file, split_lines
from index.reader import decode


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb\n", ["a", "b"]),
        ("a\nb", ["a", "b"]),  # no trailing newline
        ("a\r\nb\r\n", ["a", "b"]),  # CRLF
        ("a\rb", ["a", "b"]),  # lone CR
        ("a\n\nb", ["a", "", "b"]),
        ("", []),
        ("\n", [""]),
    ],
)
def test_split_lines_matches_editor(text, lines):
    assert split_lines(text) == lines


def test_utf8_bom_is_stripped(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(codecs.BOM_UTF8 + "Zoë said hi.\n".encode())
    tf = read_text_file(p)
    assert tf.lines == ["Zoë said hi."]
    assert tf.encoding == "utf-8"


def test_latin1_falls_back_and_keeps_lines(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("Caf\xe9 one.\nSecond line.\n".encode("latin-1"))
    tf = read_text_file(p)
    assert tf.lines == ["Café one.", "Second line."]
    assert tf.encoding == "cp1252"


def test_binary_is_refused_with_the_file_named(tmp_path):
    p = tmp_path / "image.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    with pytest.raises(DocumentError, match="image.txt.*binary"):
        read_text_file(p, "image.txt")


def test_too_large_file_names_the_setting(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("x" * 100)
    with pytest.raises(DocumentError, match="DOCQA_MAX_FILE_BYTES"):
        read_text_file(p, "big.txt", max_bytes=10)


def test_utf16_with_bom(tmp_path):
    assert decode("hi\nthere".encode("utf-16"))[0] == "hi\nthere"
