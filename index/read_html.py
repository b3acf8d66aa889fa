"""The text view of an HTML page: its main text, one block per line, headings on their own lines.

lxml's HTML parser (BSD) reads the page; nothing is executed or fetched (no scripts run, no network: the parser
never loads external entities, and only text nodes are read). Scripts, styles, templates, frames, forms, SVG,
navigation, headers, footers and asides (and elements with those ARIA roles) are dropped; a page that marks its main
content once (``<main>`` or ``role="main"``) is read from there. Each block element (paragraph, heading, list item, table cell,
pre line...) becomes a line with its whitespace collapsed; a heading gets a blank line before it, so that it starts
a section, and keeps its Markdown-style ``#`` level so that it is read as a heading. Data URIs and attributes are
never read, so a page full of inline images costs nothing but its bytes.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import DocumentError

_DROP = {
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "svg", "math",
    "canvas", "form", "button", "select", "nav", "header", "footer", "aside", "head", "audio", "video", "picture",
}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary"}
_BLOCK = {
    "p", "div", "section", "article", "main", "li", "dt", "dd", "tr", "td", "th", "caption", "blockquote",
    "figcaption", "address", "pre", "br", "hr", "table", "ul", "ol", "dl", "details", "summary", "body", "html",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SPACE = re.compile(r"\s+")


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def read_html(data: bytes) -> list[str]:
    """The text view of HTML bytes."""
    try:
        import lxml.etree as etree
        import lxml.html
    except ImportError as exc:  # pragma: no cover - a dependency of docqa
        raise DocumentError("reading HTML needs lxml: reinstall docqa (pip install -e .)") from exc
    if not data.strip():
        raise DocumentError("the HTML file is empty")
    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise DocumentError(f"not readable as HTML ({exc})") from None
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        tag = element.tag.lower()
        if (tag in _DROP or (element.get("role") or "").lower() in _DROP_ROLES
                or (tag == "a" and "headerlink" in (element.get("class") or "").split())):
            element.drop_tree()
    # A page that marks its main content once (<main>, role="main") is read from there: sidebars and footers that
    # are not marked as such stay out.
    mains = [e for e in root.iter() if isinstance(e.tag, str) and (e.tag.lower() == "main" or (e.get("role") or "").lower() == "main")]
    if len(mains) == 1:
        root = mains[0]
    lines: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = _collapse("".join(buffer))
        buffer.clear()
        if text:
            lines.append(text)

    def walk(node: Any) -> None:
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if tag == "pre":
            flush()
            text = node.text_content()
            lines.extend(line.rstrip() for line in text.strip("\n").splitlines() if line.strip())
            lines.append("")
            return
        if tag in _HEADINGS:
            flush()
            if lines and lines[-1]:
                lines.append("")
            text = _collapse(node.text_content())
            if text:
                lines.append("#" * _HEADINGS[tag] + " " + text)
            lines.append("")
            return
        block = tag in _BLOCK
        if block:
            flush()
        if node.text:
            buffer.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                buffer.append(child.tail)
        if block:
            flush()
            if tag in {"p", "table", "ul", "ol", "dl", "blockquote"} and lines and lines[-1]:
                lines.append("")

    walk(root)
    flush()
    while lines and not lines[-1]:
        lines.pop()
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    if not any(out):
        raise DocumentError("the HTML page holds no text (after dropping scripts, styles and navigation)")
    return out
