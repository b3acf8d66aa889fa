"""Print the comparison table, list failing cases, write JSON and a self-contained HTML/Markdown report."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .runner import SuiteReport

ROWS = [
    ("answer_accuracy", "answer accuracy"),
    ("citation_validity", "citation validity"),
    ("citation_precision", "citation precision"),
    ("evidence_recall", "evidence recall"),
    ("first_citation_on_gold", "first citation on gold"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("closest_recall", "abstained, yet gold among closest"),
    ("hit_at_1", "hit@1"),
    ("hit_at_5", "hit@5"),
    ("mrr_at_10", "MRR@10"),
    ("short_answer_share", "short answer given"),
    ("short_answer_precision", "short answer precision"),
    ("generative_share", "generative share"),
    ("generated_accuracy", "generated-sentence accuracy"),
    ("latency_p50_ms", "latency p50 ms"),
    ("latency_p95_ms", "latency p95 ms"),
]


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def table(report: SuiteReport) -> str:
    """Markdown table: metrics as rows, systems as columns."""
    systems = list(report.metrics)
    head = f"| {report.suite} ({report.cases} cases) | " + " | ".join(systems) + " |"
    lines = [head, "|---|" + "---|" * len(systems)]
    for key, label in ROWS:
        lines.append(f"| {label} | " + " | ".join(_fmt(getattr(report.metrics[s], key)) for s in systems) + " |")
    kinds = sorted({k for m in report.metrics.values() for k in m.accuracy_by_kind})
    for kind in kinds:
        lines.append(f"| accuracy: {kind} | " + " | ".join(_fmt(report.metrics[s].accuracy_by_kind.get(kind)) for s in systems) + " |")
    for tag in sorted({t for m in report.metrics.values() for t in m.accuracy_by_tag}):
        lines.append(f"| accuracy: tag {tag} | " + " | ".join(_fmt(report.metrics[s].accuracy_by_tag.get(tag)) for s in systems) + " |")
    tags = sorted({t for m in report.metrics.values() for t in m.abstention_recall_by_tag})
    for tag in tags:
        lines.append(f"| abstention recall: {tag} | " + " | ".join(_fmt(report.metrics[s].abstention_recall_by_tag.get(tag)) for s in systems) + " |")
    return "\n".join(lines)


def failures(report: SuiteReport, system: str = "full", limit: int = 25) -> str:
    """The failing turns of one system, with what was expected and what came back."""
    bad = [r for r in report.results.get(system, []) if not r.correct or r.invalid_citations]
    out = [f"{len(bad)} failing turn(s) in {report.suite} for {system}" + (f" (first {limit} shown; all in the JSON)" if len(bad) > limit else "")]
    for r in bad[:limit]:
        expected = "abstain" if r.abstain_expected else f"{' | '.join(r.expected)} at {', '.join(r.evidence) or '-'}"
        got = "ABSTAINED" if r.abstained else r.text.replace("\n", " ")[:240]
        out.append(f"- [{r.case_id} turn {r.turn}] {r.question}")
        if r.standalone != r.question:
            out.append(f"    searched: {r.standalone}")
        out.append(f"    expected: {expected}")
        out.append(f"    got:      {got}")
        out.append(f"    cited:    {', '.join(r.citations) or '-'}" + (f"  INVALID: {', '.join(r.invalid_citations)}" if r.invalid_citations else ""))
    return "\n".join(out)


def _bars(title: str, series: dict[str, dict[str, float]]) -> str:
    """Grouped bar chart (values 0..1) as inline SVG: groups = categories, bars = systems, with a 0-1 axis."""
    colours = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#718096"]
    cats = sorted({c for v in series.values() for c in v})
    systems = list(series)
    bw, gap, h, left, top = 16, 40, 160, 44, 24
    group = len(systems) * bw
    width = left + len(cats) * (group + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 80}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="4" y="14" font-size="12">{html.escape(title)}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + h - tick * h
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 8}" y="{y + 3:.1f}" font-size="9" text-anchor="end">{tick:.2f}</text>')
    for i, cat in enumerate(cats):
        x0 = left + i * (group + gap)
        for j, s in enumerate(systems):
            v = series[s].get(cat, 0.0)
            bh = v * h
            parts.append(f'<rect x="{x0 + j * bw}" y="{top + h - bh:.1f}" width="{bw - 2}" height="{bh:.1f}" fill="{colours[j % 5]}"><title>{html.escape(s)} {html.escape(cat)}: {v:.3f}</title></rect>')
        parts.append(f'<text x="{x0 + group / 2:.1f}" y="{top + h + 14}" font-size="10" text-anchor="middle">{html.escape(cat)}</text>')
    for j, s in enumerate(systems):
        parts.append(f'<rect x="{left + j * 100}" y="{top + h + 34}" width="10" height="10" fill="{colours[j % 5]}"/>'
                     f'<text x="{left + 14 + j * 100}" y="{top + h + 43}" font-size="10">{html.escape(s)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(title: str, values: list[float], bins: int = 20) -> str:
    """Latency histogram as inline SVG, with the count scale and the ms range on the axes."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    peak = max(counts)
    h, bw, left, top = 140, 18, 40, 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{bins * bw + left + 20}" height="{h + 56}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="4" y="14" font-size="12">{html.escape(title)}</text>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="9" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + h}" font-size="9" text-anchor="end">0</text>',
             f'<line x1="{left - 2}" y1="{top}" x2="{left - 2}" y2="{top + h}" stroke="#999"/>']
    for i, c in enumerate(counts):
        bh = c / peak * h
        parts.append(f'<rect x="{left + i * bw}" y="{top + h - bh:.1f}" width="{bw - 2}" height="{bh:.1f}" fill="#2b6cb0"><title>{lo + i * step:.1f}-{lo + (i + 1) * step:.1f} ms: {c}</title></rect>')
    parts.append(f'<text x="{left}" y="{top + h + 16}" font-size="10">{lo:.1f} ms</text>'
                 f'<text x="{left + bins * bw}" y="{top + h + 16}" font-size="10" text-anchor="end">{hi:.1f} ms</text>'
                 f'<text x="{left + bins * bw / 2:.0f}" y="{top + h + 30}" font-size="10" text-anchor="middle">answer() latency; bar height = calls</text></svg>')
    return "".join(parts)


def write_report(reports: list[SuiteReport], folder: Path) -> tuple[Path, Path]:
    """Write report.md and a self-contained report.html (inline SVG plots) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md, body = ["# docqa eval report", ""], ["<h1>docqa eval report</h1>"]
    for r in reports:
        md += [f"## {r.suite}", "", table(r), "", "```", failures(r), "```", ""]
        kinds = {s: m.accuracy_by_kind for s, m in r.metrics.items()}
        body.append(f"<h2>{html.escape(r.suite)} ({r.cases} cases, corpus {html.escape(r.corpus)})</h2>")
        body.append(f"<pre>{html.escape(table(r))}</pre>")
        body.append(_bars(f"{r.suite}: answer accuracy per kind", kinds))
        for system, results in r.results.items():
            body.append(_histogram(f"{r.suite}/{system}: answer() latency", [t.latency_ms for t in results]))
        body.append(f"<pre>{html.escape(failures(r))}</pre>")
    md_path, html_path = folder / "report.md", folder / "report.html"
    md_path.write_text("\n".join(md), encoding="utf-8")
    html_path.write_text("<!doctype html><meta charset='utf-8'><title>docqa eval report</title>"
                         "<body style='font-family:sans-serif'>" + "\n".join(body) + "</body>", encoding="utf-8")
    return md_path, html_path


def write_json(reports: list[SuiteReport], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.model_dump() for r in reports], indent=1), encoding="utf-8")
