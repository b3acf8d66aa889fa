"""python -m evals.formats: the same answers from every format.

The seeds and the SQuAD articles are converted to PDF, Word and HTML by ``scripts/convert_corpus.py`` (into
``DOCQA_HOME/formats/``, reused when present), then the seeds suite and a fixed SQuAD sample are asked of every
version with the full pipeline. Gold lines move with the format: a gold ``a.txt:5`` becomes every line of the
converted file's text view whose text is part of line 5 of ``a.txt`` (a PDF wraps a long line over several), so
"first citation on gold" means the same thing in every format.

Besides the suite metrics, each PDF citation is checked against the page itself: the quote must be on the page
the citation names, in the text pdfium reports for that page (whitespace ignored), independently of docqa's
line mapping.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from index import SEEDS_DIR, DocqaError, load_settings, read_text_file
from index.offline import enable_offline_mode

from .metrics import Metrics, TurnResult
from .runner import DEFAULT_SQUAD, run_suite, squad_cases
from .suite import Case, Turn, load_suite

logger = logging.getLogger(__name__)

FORMATS = ("txt", "pdf", "docx", "html")
CONVERT = Path(__file__).resolve().parent.parent / "scripts" / "convert_corpus.py"
_SPACE = re.compile(r"\s+")


class FormatRow(BaseModel):
    """One suite asked of one format."""

    suite: str = Field(description="seeds or squad.")
    format: str = Field(description="txt, pdf, docx or html.")
    metrics: Metrics = Field(description="The full pipeline's metrics.")
    pdf_citations: int = Field(default=0, description="PDF citations checked against their page.")
    pdf_on_page: int = Field(default=0, description="Of those, quotes found in the text of the page they name.")
    seconds: float = Field(description="Wall time: indexing and answering.")


def _norm(text: str) -> str:
    return _SPACE.sub("", text)


def convert(src: Path, out: Path, fmt: str) -> Path:
    """``src``'s .txt files converted to ``fmt`` in ``out`` (done once; an existing non-empty folder is reused)."""
    if out.is_dir() and any(out.iterdir()):
        return out
    out.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, str(CONVERT), "--to", fmt, "--src", str(src), "--out", str(out), "-q"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise DocqaError(f"converting {src} to {fmt} failed: {run.stderr.strip()[-500:]}")
    return out


def map_evidence(cases: list[Case], src: Path, corpus: Path, fmt: str) -> list[Case]:
    """The cases with each gold ``file.txt:N`` replaced by the converted file's text-view lines inside source line N."""
    if fmt == "txt":
        return cases
    views: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}

    def lines_for(gold: str) -> list[str]:
        file, _, number = gold.rpartition(":")
        stem = file.rsplit(".", 1)[0]
        target = f"{stem}.{fmt}"
        if target not in views:
            views[target] = read_text_file(corpus / target).lines
            sources[file] = read_text_file(src / file).lines
        gold_text = _norm(sources[file][int(number) - 1])
        return [f"{target}:{n}" for n, line in enumerate(views[target], 1)
                if _norm(line) and _norm(line.lstrip("# ")) in gold_text]

    out = []
    for case in cases:
        turns = [Turn(question=t.question, expect=t.expect, abstain=t.abstain,
                      evidence=[loc for g in t.evidence for loc in lines_for(g)]) for t in case.turns]
        out.append(case.model_copy(update={"turns": turns}))
    return out


def check_pages(corpus: Path, results: list[TurnResult]) -> tuple[int, int]:
    """(PDF citations, those whose quote is in pdfium's text of the page the citation names)."""
    texts: dict[tuple[str, int], str] = {}
    checked = found = 0
    for r in results:
        for ref, quote in zip(r.refs, r.quotes, strict=True):
            match = re.match(r"^(?P<file>.+\.pdf):p(?P<page>\d+):\d+(?:-(?:p(?P<last>\d+):)?\d+)?$", ref)
            if match is None:
                continue
            first = int(match["page"])
            last = int(match["last"]) if match["last"] else first
            for number in range(first, last + 1):
                key = (match["file"], number)
                if key not in texts:
                    texts[key] = _norm(_page_text(corpus / key[0], number))
            checked += 1
            found += _norm(quote) in "".join(texts[(match["file"], n)] for n in range(first, last + 1))
    return checked, found


def _page_text(path: Path, page: int) -> str:
    """pdfium's text of one page, read directly (not through docqa's reader); hyphenation marks dropped."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        doc_page = pdf[page - 1]
        textpage = doc_page.get_textpage()
        text = textpage.get_text_range().replace("\ufffe", "")
        textpage.close()
        doc_page.close()
        return str(text)
    finally:
        pdf.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.formats", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated, from txt,pdf,docx,html")
    parser.add_argument("--sample", type=int, default=300, help="SQuAD questions asked (seeded sample; default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--squad-root", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--suites", default="seeds,squad", help="seeds, squad or both")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    enable_offline_mode()
    settings = load_settings()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        print(f"error: unknown format(s) {bad}; choose from {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    squad = squad_cases(args.squad_root)
    squad = random.Random(args.seed).sample(squad, min(args.sample, len(squad)))
    suites = {"seeds": (load_suite("seeds"), SEEDS_DIR), "squad": (squad, args.squad_root / "docs")}
    rows: list[FormatRow] = []
    for name in [s.strip() for s in args.suites.split(",") if s.strip()]:
        cases, src = suites[name]
        for fmt in formats:
            corpus = src if fmt == "txt" else convert(src, settings.home / "formats" / f"{name}-{fmt}", fmt)
            start = time.perf_counter()
            mapped = map_evidence(cases, src, corpus, fmt)
            report = run_suite(f"{name}-{fmt}", mapped, corpus, settings, ["full"], None, args.seed, progress=False)
            results = report.results["full"]
            row = FormatRow(suite=name, format=fmt, metrics=report.metrics["full"], seconds=round(time.perf_counter() - start, 1))
            if fmt == "pdf":
                row.pdf_citations, row.pdf_on_page = check_pages(corpus, results)
            rows.append(row)
            print(render_row(row), flush=True)
    print()
    print(render_table(rows))
    return 0


def render_row(row: FormatRow) -> str:
    m = row.metrics
    return (f"{row.suite:6} {row.format:5} accuracy {m.answer_accuracy:.3f}  first-on-gold {m.first_citation_on_gold:.3f}  "
            f"hit@5 {m.hit_at_5:.3f}  validity {m.citation_validity:.3f}  ({row.seconds:.0f} s)")


def render_table(rows: list[FormatRow]) -> str:
    out = ["| suite | format | turns | answer accuracy | first citation on gold | hit@5 | citation validity | PDF quotes on the named page | time |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        m = r.metrics
        pages = f"{r.pdf_on_page}/{r.pdf_citations}" if r.format == "pdf" else ""
        out.append(f"| {r.suite} | {r.format} | {m.turns} | {m.answer_accuracy:.3f} | {m.first_citation_on_gold:.3f} | "
                   f"{m.hit_at_5:.3f} | {m.citation_validity:.3f} | {pages} | {r.seconds:.0f} s |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
