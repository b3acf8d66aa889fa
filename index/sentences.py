"""Split a file's lines into sentences that remember which line holds which words.

Files come in two shapes. "Long-line" files (news scraped to text, SQuAD) put a whole
paragraph on one line: there, every line break ends a sentence. "Wrapped" files
(hand-written Markdown) break paragraphs over short lines: there, a sentence may run
across lines, and keeps one span per line. Blank lines, Markdown headings, list items
and quotes always start a new sentence.
"""

from __future__ import annotations

import re

from .models import LineSpan, Sentence

# Sentence end: terminal punctuation (plus closing quotes/brackets), whitespace, then
# something that can start a sentence.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
# "rivals.Furthermore": a missing space after a full stop between two words.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_ABBREV = re.compile(
    r"(?:(?:^|(?<=[\s(\"“]))(?:[A-Z]\.)+|\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|St|Jr|Sr|Inc|Ltd|Co|Corp|vs|etc|e\.g|i\.e|No|Vol|Fig|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>|```|\|)")
_WRAP_WIDTH = 120
_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S")
#: Characters before a sentence end that can hold an abbreviation ("U.S.", "Gen.", "e.g.").
_ABBREV_WINDOW = 64


def is_wrapped(lines: list[str]) -> bool:
    """True when the file hard-wraps paragraphs: its prose lines are short and some prose line runs on to the next.

    Prose lines are the non-blank lines outside fenced code that are not headings, list items, quotes, table rows or
    link definitions (``[name]: https://...``): a documentation file wrapped at 80 columns still has a few long
    table rows and links, so up to 2 % of its prose lines may be longer than the wrap width.
    """
    prose: list[str] = []
    in_code = False
    for ln in lines:
        if _FENCE.match(ln):
            in_code = not in_code
            continue
        if in_code or not ln.strip() or _BLOCK_START.match(ln) or _LINK_DEF.match(ln):
            continue
        prose.append(ln)
    if len(prose) < 2 or sum(len(ln) > _WRAP_WIDTH for ln in prose) > 0.02 * len(prose):
        return False
    runs_on = sum(
        1
        for a, b in zip(lines, lines[1:], strict=False)
        if a.strip() and b.strip() and not _BLOCK_START.match(b) and not a.rstrip().endswith((".", "!", "?", ":"))
        and b.lstrip()[:1].islower()
    )
    return runs_on >= 1


def _split_points(text: str) -> list[int]:
    """Offsets in ``text`` where a new sentence starts (excluding 0)."""
    points: set[int] = set()
    for m in _END.finditer(text):
        # Look only at the text just before the full stop (endpos makes `$` match there): linear time on 10 MB lines.
        if _ABBREV.search(text, max(0, m.end() - _ABBREV_WINDOW), m.end()):
            continue
        points.add(m.end())
    for m in _GLUED.finditer(text):
        points.add(m.start())
    return sorted(points)


def _sentences_of_block(block: list[tuple[int, str]]) -> list[Sentence]:
    """Split one block of (line number, line text) into sentences, mapping offsets back to lines."""
    # Join the block's lines with "\n" and remember where each line starts in the joined text.
    starts: list[int] = []
    pos = 0
    for _, text in block:
        starts.append(pos)
        pos += len(text) + 1
    joined = "\n".join(text for _, text in block)
    bounds = [0, *_split_points(joined), len(joined)]
    out: list[Sentence] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        spans: list[LineSpan] = []
        for (lineno, text), base in zip(block, starts, strict=True):
            lo, hi = max(a, base), min(b, base + len(text))
            if lo >= hi:
                continue
            s, e = lo - base, hi - base
            piece = text[s:e]
            stripped = piece.strip()
            if not stripped:
                continue
            s += len(piece) - len(piece.lstrip())
            e = s + len(stripped)
            spans.append(LineSpan(line=lineno, start=s, end=e))
        if spans:
            words = " ".join(block_text(block, sp) for sp in spans)
            out.append(Sentence(text=words, spans=spans))
    return out


def block_text(block: list[tuple[int, str]], span: LineSpan) -> str:
    """The text of ``span`` within a block of (line number, text) pairs."""
    for lineno, text in block:
        if lineno == span.line:
            return text[span.start : span.end]
    raise KeyError(span.line)


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s)")


def _ends_block(previous: str, line: str) -> bool:
    """Whether ``previous`` (a block-start line) keeps ``line`` out of its block: a list item or quote takes an
    indented continuation line; a heading, fence or table row takes nothing."""
    if not _BLOCK_START.match(previous):
        return False
    if (_LIST_ITEM.match(previous) or previous.lstrip().startswith(">")) and line[:1].isspace():
        return False
    return True


def _is_title(previous: str, line: str, width: int) -> bool:
    """In a wrapped file without blank lines between blocks (a PDF page's text), a short line without closing
    punctuation followed by a capitalised line is a title or heading, not the start of the next line's sentence:
    a wrapped paragraph's lines run nearly full width, and only its last line, which ends a sentence, is short."""
    head = previous.strip()
    return (
        len(head) < 0.6 * width
        and not head.endswith((".", "!", "?", ":", ";", ",", "-", "–", "—", "(", "\"", "“"))
        and line.lstrip()[:1].isupper()
    )


_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def hidden_lines(lines: list[str]) -> set[int]:
    """1-based lines that are never answers: YAML front matter at the top of the file (``---`` ... ``---``) and
    HTML comments (``<!-- ... -->``, e.g. the Node.js docs' ``<!-- YAML added: v0.1 -->`` blocks) outside code."""
    hidden: set[int] = set()
    if lines and lines[0].strip() == "---":
        for n in range(2, min(len(lines), 200) + 1):
            if lines[n - 1].strip() in ("---", "..."):
                hidden.update(range(1, n + 1))
                break
    in_comment = in_code = False
    for n, text in enumerate(lines, start=1):
        if n in hidden:
            continue
        if not in_comment and _FENCE.match(text):
            in_code = not in_code
            continue
        if in_code:
            continue
        stripped = text.strip()
        if in_comment or stripped.startswith("<!--"):
            hidden.add(n)
            in_comment = "-->" not in stripped
    return hidden


def section_paths(lines: list[str]) -> list[str | None]:
    """For each line, the path of the Markdown headings it sits under ("Options > --inspect"), or None.

    ATX (``## Title``) and setext (a line underlined with ``===`` or ``---``) headings count; lines in fenced code do
    not. Backticks are dropped from heading text, so ``### `fs.existsSync(path)` `` reads ``fs.existsSync(path)``.
    """
    stack: list[tuple[int, str]] = []
    out: list[str | None] = []
    in_code = False
    for n, text in enumerate(lines):
        if _FENCE.match(text):
            in_code = not in_code
        heading: tuple[int, str] | None = None
        if not in_code:
            atx = _ATX.match(text)
            nxt = lines[n + 1] if n + 1 < len(lines) else ""
            if atx:
                heading = (len(atx.group(1)), atx.group(2))
            elif text.strip() and not _BLOCK_START.match(text) and _SETEXT.match(nxt) and not _SETEXT.match(text):
                heading = (1 if nxt.strip().startswith("=") else 2, text.strip())
        if heading is not None:
            level, title = heading[0], heading[1].replace("`", "").strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            if title:
                stack.append((level, title))
        out.append(" > ".join(t for _, t in stack) if stack else None)
    return out


def split_sentences(lines: list[str]) -> list[list[Sentence]]:
    """Split a file's lines into blocks (paragraphs) of sentences; line numbers are 1-based. Front matter and HTML
    comments (``hidden_lines``) are left out, like blank lines."""
    hidden = hidden_lines(lines)
    if hidden:
        lines = ["" if n in hidden else text for n, text in enumerate(lines, start=1)]
    wrapped = is_wrapped(lines)
    width = max((len(ln.rstrip()) for ln in lines), default=0)
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    in_code = False
    for number, text in enumerate(lines, start=1):
        fence = bool(_FENCE.match(text))
        if in_code or fence:
            # Code stays code: each line of a fenced block is a block of its own, never joined into prose.
            if current:
                blocks.append(current)
                current = []
            if text.strip():
                blocks.append([(number, text)])
            in_code = in_code != fence
            continue
        if not text.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        # In long-line files each line is its own paragraph. In wrapped files a heading, list item or quote line
        # starts a block, and only an indented continuation line joins a list item (so a wrapped list item stays
        # whole); a heading or table row never joins the next line, nor does a title line (see _is_title).
        if current and (not wrapped or _BLOCK_START.match(text) or _ends_block(current[-1][1], text)
                        or _is_title(current[-1][1], text, width)):
            blocks.append(current)
            current = []
        current.append((number, text))
    if current:
        blocks.append(current)
    return [sentences for sentences in map(_sentences_of_block, blocks) if sentences]
