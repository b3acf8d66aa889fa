#!/usr/bin/env python3
"""Convert a folder of .txt files into PDF, DOCX or HTML test documents.

Each source line (split as index/reader.py splits them: ``\\r\\n``, lone ``\\r`` and ``\\n``;
a UTF-8 BOM is dropped) becomes:

* PDF  -- one paragraph that fpdf2 wraps onto one or more lines, left-aligned, in a Unicode
          TTF font (``--font``, else DejaVuSans or another font found on the machine); an empty
          source line becomes an empty line of the same height.
* DOCX -- one paragraph (python-docx), empty lines included, so paragraph N is line N.
* HTML -- one ``<p>`` (HTML-escaped), empty lines included, so the Nth ``<p>`` is line N,
          inside ``<main>``, plus a ``<title>``, a ``<nav>``, a ``<style>`` and a ``<script>``
          whose text a reader must drop (it contains the marker ``DOCQA-BOILERPLATE``).

Characters that XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/FFFF)
are replaced by U+FFFD in DOCX and HTML. In PDF, characters the font has no glyph for are dropped
from the text layer by fpdf2; their count is reported per file (use ``--fallback-font`` to add
fonts that cover them).

Needs only the standard library plus fpdf2 (for --to pdf) and python-docx (for --to docx).

    python scripts/convert_corpus.py --to pdf  --src seeds --out /tmp/conv/seeds-pdf
    python scripts/convert_corpus.py --to docx --src seeds --out /tmp/conv/seeds-docx
    python scripts/convert_corpus.py --to html --src seeds --out /tmp/conv/seeds-html
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import logging
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BOILERPLATE_MARKER = "DOCQA-BOILERPLATE"
# Fixed timestamps make the output byte-for-byte reproducible (same input, same files).
_FIXED_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Fonts tried in order when --font is not given (Debian/Ubuntu, Fedora, Arch, macOS paths).
_FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
]


def split_lines(text: str) -> list[str]:
    """Lines as docqa's reader sees them; a trailing newline does not add an empty line."""
    if text == "":
        return []
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return split_lines(text)


def need(module: str, package: str):
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"this format needs {package}: pip install {package}")


def xml_safe(s: str) -> str:
    return _XML_INVALID.sub("\ufffd", s)


def find_font(explicit: str | None) -> Path:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            sys.exit(f"--font {explicit}: no such file")
        return p
    for cand in _FONT_CANDIDATES:
        if Path(cand).is_file():
            return Path(cand)
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}", "sans:fontformat=TrueType"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
            if out.lower().endswith(".ttf") and Path(out).is_file():
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    for root in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts")):
        for p in sorted(Path(root).rglob("*.ttf")) if Path(root).is_dir() else []:
            return p
    sys.exit("no TrueType font found: pass --font /path/to/Font.ttf (e.g. apt-get install fonts-dejavu-core)")


def font_cmap(path: Path) -> set[int]:
    need("fontTools", "fpdf2")  # fontTools is a dependency of fpdf2
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as f:
        return set(f.getBestCmap() or {})


# --------------------------------------------------------------------------- PDF


def to_pdf(src: Path, lines: list[str], out: Path, fonts: list[Path], size: float, covered: set[int]) -> int:
    need("fpdf", "fpdf2")
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(src.stem)
    pdf.set_creator("docqa scripts/convert_corpus.py")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(20, 20, 20)
    names = []
    for i, f in enumerate(fonts):
        name = f"F{i}"
        pdf.add_font(name, "", str(f))
        names.append(name)
    pdf.set_font(names[0], size=size)
    if len(names) > 1:
        pdf.set_fallback_fonts(names[1:], exact_match=False)
    line_h = size * 0.3528 * 1.35  # pt -> mm, 135 % leading
    pdf.add_page()
    missing = 0
    for line in lines:
        missing += sum(1 for ch in line if ord(ch) not in covered and not ch.isspace() and ord(ch) >= 32)
        if line.strip() == "":
            pdf.ln(line_h)
            continue
        pdf.multi_cell(0, line_h, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.output(str(out))
    return missing


# --------------------------------------------------------------------------- DOCX


def to_docx(src: Path, lines: list[str], out: Path) -> int:
    docx = need("docx", "python-docx")

    d = docx.Document()
    d.core_properties.title = src.stem
    d.core_properties.created = d.core_properties.modified = _FIXED_DATE.replace(tzinfo=None)
    for line in lines:
        d.add_paragraph(xml_safe(line))
    buf = io.BytesIO()
    d.save(buf)
    # python-docx stamps zip members with the current time; rewrite them with a fixed one.
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE), zin.read(info.filename), zipfile.ZIP_DEFLATED)
    return 0


# --------------------------------------------------------------------------- HTML

_HTML_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>/* {marker} style: a reader must drop this */ body {{ font-family: sans-serif; max-width: 48em; }}</style>
<script>
  // {marker} script: a reader must drop this text
  var docqaBoilerplate = "{marker} script text <p>not a paragraph</p>";
  document.addEventListener("DOMContentLoaded", function () {{ console.log(docqaBoilerplate); }});
</script>
</head>
<body>
<nav><a href="index.html">{marker} Home</a> | <a href="#">{marker} Previous</a> | <a href="#">{marker} Next</a></nav>
<main>
"""
_HTML_TAIL = """</main>
<footer><nav><a href="index.html">{marker} Back to index</a></nav></footer>
<script src="analytics.js">/* {marker} */</script>
</body>
</html>
"""


def to_html(src: Path, lines: list[str], out: Path) -> int:
    parts = [_HTML_HEAD.format(title=html.escape(xml_safe(src.stem)), marker=BOILERPLATE_MARKER)]
    for line in lines:
        parts.append(f"<p>{html.escape(xml_safe(line), quote=False)}</p>\n")
    parts.append(_HTML_TAIL.format(marker=BOILERPLATE_MARKER))
    out.write_text("".join(parts), encoding="utf-8", newline="\n")
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--to", required=True, choices=["pdf", "docx", "html"], help="output format")
    ap.add_argument("--src", required=True, type=Path, help="folder of .txt files")
    ap.add_argument("--out", required=True, type=Path, help="output folder (created)")
    ap.add_argument("--font", help="Unicode TrueType font for PDF (default: DejaVuSans or one found on the machine)")
    ap.add_argument("--fallback-font", action="append", default=[], help="extra TTF used for glyphs --font lacks (repeatable)")
    ap.add_argument("--font-size", type=float, default=11.0, help="PDF font size in points (default 11)")
    ap.add_argument("--glob", default="*.txt", help="which files to convert (default *.txt)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    args = ap.parse_args(argv)

    if not args.src.is_dir():
        ap.error(f"--src {args.src}: not a folder")
    files = sorted(p for p in args.src.glob(args.glob) if p.is_file())
    if not files:
        ap.error(f"--src {args.src}: no files match {args.glob}")
    args.out.mkdir(parents=True, exist_ok=True)

    fonts: list[Path] = []
    covered: set[int] = set()
    if args.to == "pdf":
        logging.getLogger("fpdf").setLevel(logging.ERROR)  # missing glyphs are counted below instead
        fonts = [find_font(args.font)] + [Path(f) for f in args.fallback_font]
        for f in fonts:
            if not f.is_file():
                ap.error(f"font {f}: no such file")
            covered |= font_cmap(f)
        if not args.quiet:
            print(f"font: {', '.join(map(str, fonts))}")

    t0 = time.perf_counter()
    total_in = total_out = total_missing = 0
    for src in files:
        lines = read_lines(src)
        out = args.out / (src.stem + "." + args.to)
        t = time.perf_counter()
        if args.to == "pdf":
            missing = to_pdf(src, lines, out, fonts, args.font_size, covered)
        elif args.to == "docx":
            missing = to_docx(src, lines, out)
        else:
            missing = to_html(src, lines, out)
        total_in += src.stat().st_size
        total_out += out.stat().st_size
        total_missing += missing
        if not args.quiet:
            note = f", {missing} chars without a glyph (dropped from the PDF text)" if missing else ""
            print(
                f"{src.name} -> {out.name}: {len(lines)} lines, {out.stat().st_size} bytes, {time.perf_counter() - t:.2f}s{note}"
            )
    dt = time.perf_counter() - t0
    print(
        f"converted {len(files)} files to {args.to} in {dt:.1f}s: {total_in} bytes in, {total_out} bytes out"
        + (f", {total_missing} chars without a glyph" if total_missing else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
