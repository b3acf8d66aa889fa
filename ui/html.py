"""HTML for the web UI: answers with clickable citation chips, the source viewer, the corpus panel.

Every piece of document or user text goes through ``html.escape``; the HTML is built
on one line so the chat's Markdown renderer passes it through untouched.
"""

from __future__ import annotations

from html import escape

from qa.engine import ABSTAIN_TEXT
from qa.models import CLOSEST_TITLE, Answer, Citation

from .service import CorpusStatus, SourceView


def chip(location: str, start: int | None = None, end: int | None = None, label: str | None = None, kind: str = "") -> str:
    """A citation chip: a keyboard-focusable button that opens ``file:line`` in the source viewer."""
    ref = location if start is None or end is None else f"{location}#{start}-{end}"
    classes = "docqa-cite" + (f" docqa-cite-{kind}" if kind else "")
    return (
        f'<button type="button" class="{classes}" data-ref="{escape(ref)}" '
        f'title="Open {escape(location)} in the source viewer">{escape(label or location)}</button>'
    )


def _quote(c: Citation, twins: list[str]) -> str:
    restated = ""
    if twins:
        names = ", ".join(escape(t) for t in twins)
        restated = (
            f'<div class="docqa-restated"><span class="docqa-badge">near-duplicate</span> '
            f"this document largely repeats {names}: not independent confirmation</div>"
        )
    if c.restated_in:
        dups = " ".join(chip(loc, kind="dup") for loc in c.restated_in)
        restated = f'<div class="docqa-restated"><span class="docqa-badge">near-duplicate</span> same statement in {dups}</div>'
    section = f' <span class="docqa-section">{escape(c.file)} &gt; {escape(c.section)}</span>' if c.section else ""
    return (
        f'<li class="docqa-quote"><q>{escape(c.quote)}</q> {chip(c.ref, c.start, c.end)}{section}{restated}</li>'
    )


def short_html(answer: Answer) -> str:
    """First streamed step: the short answer (or the abstention) alone."""
    if answer.abstained:
        return _abstain(answer)
    if answer.disagreement:
        return '<div class="docqa-answer"><div class="docqa-disagree-title">The sources disagree.</div></div>'
    head = answer.short_answer or (answer.citations[0].quote if answer.citations else answer.text)
    return f'<div class="docqa-answer"><div class="docqa-short">{escape(head)}</div></div>'


def _abstain(answer: Answer) -> str:
    closest = ""
    if answer.closest:
        quotes = "".join(_quote(c, []) for c in answer.closest)
        closest = f'<div class="docqa-closest"><div class="docqa-note">{escape(CLOSEST_TITLE)}:</div><ul class="docqa-quotes">{quotes}</ul></div>'
    return (
        f'<div class="docqa-answer docqa-abstain" role="status"><strong>{escape(ABSTAIN_TEXT)}</strong>'
        f'<div class="docqa-note">{escape(_why(answer))}.{_HINT if answer.evidence_score < answer.threshold else ""}</div>'
        f"{closest}</div>"
    )


_HINT = " Try naming the person, place or event."


def _why(answer: Answer) -> str:
    """Why it abstained, as a sentence opening."""
    why = answer.abstain_reason or ""  # always set on an abstention (``Answer`` fills in the threshold's reason)
    return why[:1].upper() + why[1:]


def _twins(answer: Answer, partners: dict[str, set[str]]) -> list[list[str]]:
    """For each citation, the near-duplicate documents of its file cited earlier in the same answer."""
    seen: list[str] = []
    out = []
    for c in answer.citations:
        out.append(sorted({f for f in seen if f in partners.get(c.file, set()) and f != c.file}))
        seen.append(c.file)
    return out


def answer_html(answer: Answer, partners: dict[str, set[str]] | None = None) -> str:
    """The complete answer: short answer or disagreement, then quotes with their chips.

    ``partners``: file -> its near-duplicate files; a quote from a near-duplicate of an earlier cited document is labelled.
    """
    if answer.abstained:
        return _abstain(answer)
    parts = ['<div class="docqa-answer">']
    if answer.standalone_question != answer.question:
        parts.append(f'<div class="docqa-note">Searched: {escape(answer.standalone_question)}</div>')
    if answer.disagreement:
        parts.append('<div class="docqa-disagree"><div class="docqa-disagree-title">The sources disagree:</div><ul>')
        for value in answer.disagreement:
            chips = " ".join(chip(loc) for loc in value.locations)
            parts.append(f"<li><strong>{escape(value.value)}</strong> according to {chips}</li>")
        parts.append("</ul></div>")
    elif answer.mode == "generative" and answer.generation is not None:
        parts.append(_generated(answer))
    elif answer.short_answer:
        parts.append(f'<div class="docqa-short">{escape(answer.short_answer)}</div>')
    if answer.generation is not None and answer.generation.fallback:
        parts.append(f'<div class="docqa-note docqa-fallback">Extractive answer: {escape(answer.generation.fallback)}.</div>')
    parts.append('<ul class="docqa-quotes">')
    parts.extend(_quote(c, twins) for c, twins in zip(answer.citations, _twins(answer, partners or {}), strict=True))
    parts.append("</ul></div>")
    return "".join(parts)


def _generated(answer: Answer) -> str:
    """The LLM's checked sentences, each with its chips; dropped sentences listed apart, struck through."""
    assert answer.generation is not None
    quotes = {c.ref: c for c in answer.citations}
    kept = []
    for s in answer.generation.sentences:
        if s.supported:
            chips = " ".join(chip(loc, quotes[loc].start, quotes[loc].end) if loc in quotes else chip(loc) for loc in s.citations)
            kept.append(f"{escape(s.text)} {chips}")
    out = f'<div class="docqa-generated">{" ".join(kept)}</div>'
    dropped = [s for s in answer.generation.sentences if not s.supported]
    if dropped:
        items = "".join(f"<li><s>{escape(s.text)}</s> ({escape(s.reason or 'unsupported')})</li>" for s in dropped)
        out += f'<div class="docqa-note docqa-dropped">Removed, not supported by the documents:<ul>{items}</ul></div>'
    return out


def draft_html(text: str) -> str:
    """The model's answer while it is being written, marked as not yet checked."""
    return (
        '<div class="docqa-answer docqa-draft"><div class="docqa-note">Writing (not yet checked against the documents)…</div>'
        f"<div>{escape(text)}</div></div>"
    )


def source_html(view: SourceView) -> str:
    """The document with line numbers; the cited line (or the lines of a wrapped sentence) highlighted and the quote
    marked within them."""
    rows = []
    last = view.last_line or view.line
    for number, text in enumerate(view.lines, start=1):
        if view.line <= number <= last:
            s, e = view.quote_start, view.quote_end
            if s is not None and e is not None:
                a = s if number == view.line else 0
                b = e if number == last else len(text)
                body = f"{escape(text[:a])}<mark>{escape(text[a:b])}</mark>{escape(text[b:])}"
            else:
                body = escape(text)
            anchor = f' id="docqa-line-{number}" aria-current="true"' if number == view.line else ""
            rows.append(
                f'<div class="docqa-line docqa-hl"{anchor} data-line="{number}">'
                f'<span class="docqa-ln">{number}</span><span class="docqa-text">{body}</span></div>'
            )
        else:
            rows.append(
                f'<div class="docqa-line" data-line="{number}"><span class="docqa-ln">{number}</span>'
                f'<span class="docqa-text">{escape(text)}</span></div>'
            )
    warning = (
        '<div class="docqa-note docqa-warn">This file changed since it was indexed; re-index to refresh answers.</div>'
        if view.changed_since_indexing
        else ""
    )
    lines_html = f'<div class="docqa-lines" tabindex="0" aria-label="Lines of {escape(view.file)}">{"".join(rows)}</div>'
    span = f"lines {view.line}-{view.last_line}" if view.last_line else f"line {view.line}"
    if view.page is not None:
        title = f"{escape(view.file)}, page {view.page}, line {view.page_line} ({span} of the text view)"
    else:
        title = f"{escape(view.file)}, {span}"
    body = lines_html
    if view.page_image:
        body = f'<div class="docqa-paged">{page_html(view)}{lines_html}</div>'
    return (
        f'<div class="docqa-source" data-file="{escape(view.file)}" data-line="{view.line}">'
        f'<div class="docqa-source-title">{title}</div>{warning}{body}</div>'
    )


def page_html(view: SourceView) -> str:
    """The rendered PDF page with the quote's character boxes drawn over it (positions in % of the image)."""
    w, h = max(view.image_width, 1), max(view.image_height, 1)
    boxes = "".join(
        f'<div class="docqa-box" data-left="{b.left:.1f}" data-top="{b.top:.1f}" data-width="{b.width:.1f}" '
        f'data-height="{b.height:.1f}" style="left:{100 * b.left / w:.3f}%;top:{100 * b.top / h:.3f}%;'
        f'width:{100 * b.width / w:.3f}%;height:{100 * b.height / h:.3f}%"></div>'
        for b in view.boxes
    )
    return (
        f'<div class="docqa-page" data-page="{view.page}" data-width="{view.image_width}" data-height="{view.image_height}">'
        f'<img src="{view.page_image}" alt="Page {view.page} of {escape(view.file)}, the quote highlighted" '
        f'width="{view.image_width}" height="{view.image_height}">{boxes}</div>'
    )


def message_html(text: str, kind: str = "error") -> str:
    """A short notice (errors, empty states) for the chat or a panel."""
    return f'<div class="docqa-answer docqa-{kind}" role="alert">{escape(text)}</div>'


def status_html(status: CorpusStatus) -> str:
    """The corpus panel: folder, counts, last indexing time, near-duplicates and skipped files."""
    when = status.indexed_at.strftime("%Y-%m-%d %H:%M:%S UTC") if status.indexed_at else "never"
    rows = [
        ("Folder", f"<code>{escape(status.folder)}</code>"),
        ("Documents", str(status.documents)),
        ("Chunks", str(status.chunks)),
        ("Last indexed", escape(when)),
    ]
    if status.duplicates:
        pairs = "<br>".join(
            f'<code>{escape(p.first)}</code> ~ <code>{escape(p.second)}</code> ({p.similarity:.2f})' for p in status.duplicates
        )
        rows.append(("Near-duplicates", pairs))
    if status.skipped:
        rows.append(("Skipped", "<br>".join(f"<code>{escape(s.file)}</code>: {escape(s.reason)}" for s in status.skipped[:10])))
    body = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="docqa-status" id="docqa-status-table">{body}</table>'
