"""Speed and memory benchmark: indexing throughput, unchanged re-index, warm latency, cold start, peak RSS.

    python -m evals.bench [--squad-root ../shared/bench/squad-dev-v1.1] [--json bench.json]

Every item runs in its own subprocess (fresh DOCQA_HOME under a temp dir) so its peak RSS
is its own. Speed goals are ratios to a reference measured in the same run, because
absolute times on a shared 2-core machine vary from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.store import SEARCH_EF

from .runner import DEFAULT_SQUAD

COLD_QUESTION = "Who claimed responsibility for the attack?"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- items (run in a child process)
def item_indexing(corpus: str) -> dict[str, object]:
    """Pipeline chunks/s (read, chunk, embed, store) against raw SentenceTransformer.encode of the same texts
    (the chunks with the embedding model, their sentences with the evidence encoder)."""
    from index import CorpusIndex, load_settings
    from index.embedder import SentenceTransformerEmbedder, make_embedder

    settings = load_settings()
    # The pipeline's encoders as `docqa index` makes them (int8 by default), and the float32 sentence-transformers
    # models as the raw reference.
    embedder = make_embedder(settings.embed_model, settings)
    sentence_embedder = make_embedder(settings.evidence_encoder, settings)
    raw_chunks = SentenceTransformerEmbedder(settings.embed_model, settings.embed_device, settings.embed_batch_size)._load()
    raw_sentences = SentenceTransformerEmbedder(settings.evidence_encoder, settings.embed_device, settings.embed_batch_size)._load()
    for e in (embedder, sentence_embedder):
        e.embed(["warm up the model"] * 8)  # model load (and the int8 graph's first build) is not indexing work
    index = CorpusIndex(corpus, settings, embedder=embedder, sentence_embedder=sentence_embedder)
    t0 = time.perf_counter()
    report = index.sync(progress=False)
    pipeline_s = time.perf_counter() - t0
    texts = [c.text for c in index.chunks]
    sentences = [s.text for c in index.chunks for s in c.sentences]
    t0 = time.perf_counter()
    # What the pipeline embeds: every chunk with the embedding model, every sentence with the evidence encoder.
    raw_chunks.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw_sentences.encode(sentences, batch_size=settings.embed_batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = index.sync(progress=False)
    reindex_s = time.perf_counter() - t0
    return {
        "chunks": report.chunks_total,
        "pipeline_s": round(pipeline_s, 2),
        "pipeline_chunks_per_s": round(report.chunks_total / pipeline_s, 1),
        "raw_encode_s": round(raw_s, 2),
        "raw_chunks_per_s": round(len(texts) / raw_s, 1),
        "ratio_to_raw": round(raw_s / pipeline_s, 3),
        "reindex_unchanged_s": round(reindex_s, 3),
        "reindex_embedding_calls": again.embedding_calls,
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def item_latency(corpus: str, questions_file: str) -> dict[str, object]:
    """Warm answer() p50/p95 and the query embedding alone, over the same questions."""
    from qa import get_engine

    return _latency(get_engine(corpus), json.loads(Path(questions_file).read_text()))


def _latency(engine, questions: list[str]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    for q in questions[:5]:
        engine.answer(q)
    total, embed = [], []
    for q in questions:
        t0 = time.perf_counter()
        engine.answer(q)
        total.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        engine.index.embedder.embed([q])
        embed.append((time.perf_counter() - t0) * 1000)
    return {
        "chunks": engine.index.manifest.chunk_count(),
        "questions": len(questions),
        "answer_p50_ms": round(statistics.median(total), 1),
        "answer_p95_ms": round(statistics.quantiles(total, n=20)[-1], 1),
        "embed_p50_ms": round(statistics.median(embed), 1),
        "embed_p95_ms": round(statistics.quantiles(embed, n=20)[-1], 1),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def _caching_embedder(cache: str, model: str | None = None):  # type: ignore[no-untyped-def]
    """The chunk embedder (or ``model``), with embeddings cached by text in ``cache`` (one cache file per model)."""
    from index import load_settings
    from index.embedder import make_embedder

    from .scale import CachingEmbedder

    settings = load_settings()
    name = model or settings.embed_model
    inner = make_embedder(name, settings)
    # One cache per model: the float32 chunk model's is ``cache`` itself (as before int8 existed), others get a suffix.
    path = Path(cache) if model is None and inner.name == name else Path(cache).with_name(f"{Path(cache).stem}-{re.sub(r'[^A-Za-z0-9]+', '_', inner.name)}.npz")
    return CachingEmbedder(inner, path)


def _caching_embedders(cache: str):  # type: ignore[no-untyped-def]
    """(chunk embedder, sentence embedder) as the index uses them by default, both cached by text."""
    from index import load_settings

    settings = load_settings()
    chunks = _caching_embedder(cache)
    same = settings.evidence_encoder == settings.embed_model
    return chunks, chunks if same else _caching_embedder(cache, settings.evidence_encoder)


def item_scale(squad_docs: str, copies: str, target: str, cache: str, questions_file: str) -> dict[str, object]:
    """Index SQuAD replicated ``copies`` times (embeddings cached by content), then warm latency over it."""
    from index import CorpusIndex, load_settings
    from qa import QAEngine

    from .scale import replicate

    corpus = replicate(Path(squad_docs), Path(target), int(copies))
    # The default chunk and sentence encoders, as `docqa index` uses them, with embeddings cached by text.
    embedder, sentences = _caching_embedders(cache)
    index = CorpusIndex(corpus, load_settings(), embedder=embedder, sentence_embedder=sentences)
    t0 = time.perf_counter()
    report = index.sync(progress=False)
    build_s = time.perf_counter() - t0
    for e in {id(embedder): embedder, id(sentences): sentences}.values():
        e.save()
    index.embedder = embedder.inner  # questions are embedded for real, as in use
    t0 = time.perf_counter()
    engine = QAEngine(index)
    engine.answer("warm up")
    load_s = time.perf_counter() - t0
    result = _latency(engine, json.loads(Path(questions_file).read_text()))
    # Opening again, as a restarted process does (modules already imported): the stored text statistics are read.
    t0 = time.perf_counter()
    reopened = CorpusIndex(corpus, load_settings(), embedder=embedder.inner, sentence_embedder=sentences.inner)
    index_open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reopened_engine = QAEngine(reopened)
    reopened_engine.answer("warm up")
    reopen_s = time.perf_counter() - t0
    added = add_one_file(reopened, reopened_engine)
    return {"files": len(index.manifest.files), "index_build_s": round(build_s, 1),
            "texts_embedded": embedder.misses + (sentences.misses if sentences is not embedder else 0),
            "embeddings_from_cache": embedder.hits + (sentences.hits if sentences is not embedder else 0),
            "engine_load_s": round(load_s, 1),
            "index_reopen_s": round(index_open_s, 2), "engine_reopen_s": round(reopen_s, 2), **added,
            "near_duplicate_pairs": len(index.manifest.duplicates or []), "chunks_indexed": report.chunks_total, **result}


def _new_file_text(paragraphs: int = 20) -> str:
    """``paragraphs`` paragraphs of about 600 characters (one chunk each), unlike any SQuAD text."""
    out = []
    for n in range(paragraphs):
        out.append(" ".join(
            f"The signal station number {n}-{k} on the Varn coast was rebuilt in {1820 + 7 * n + k} by the engineer "
            f"Odile Marchetti-{n}, who logged {40 + n * k} storms there before the keepers' guild took it over."
            for k in range(4)))
    return "\n\n".join(out) + "\n"


def add_one_file(index, engine=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Add one 20-paragraph file to an indexed corpus and sync (timed), then remove it and sync again. With an
    ``engine`` open on the index, also time its switch to the new snapshot (text statistics updated) and check that
    it answers from the new file."""
    path = index.corpus / "zz-added-by-bench.txt"
    path.write_text(_new_file_text(), encoding="utf-8")
    out: dict[str, object] = {}
    try:
        t0 = time.perf_counter()
        report = index.sync(progress=False)
        out["add_one_file_s"] = round(time.perf_counter() - t0, 2)
        out["add_one_file_chunks"] = index.manifest.infos()[path.relative_to(index.corpus).as_posix()].chunk_count
        out["add_one_file_texts_embedded"] = report.texts_embedded
        if engine is not None:
            t0 = time.perf_counter()
            engine.refresh()
            out["engine_refresh_s"] = round(time.perf_counter() - t0, 2)
            answer = engine.answer("Who rebuilt signal station number 7-2 on the Varn coast?")
            out["answers_from_new_file"] = bool(answer.citations) and answer.citations[0].file == path.name
    finally:
        path.unlink()
        index.sync(progress=False)
        if engine is not None:
            engine.refresh()
    return out


def item_add_one(corpus: str) -> dict[str, object]:
    """``add_one_file`` on an already indexed corpus (e.g. the scale item's), the model loaded first."""
    from index import CorpusIndex, load_settings
    from index.embedder import make_embedder

    settings = load_settings()
    # Both default encoders, loaded before timing (more texts than the numpy query path takes).
    embedder = make_embedder(settings.embed_model, settings)
    sentences = embedder
    if settings.evidence_encoder != settings.embed_model:
        sentences = make_embedder(settings.evidence_encoder, settings)
    for model in {id(embedder): embedder, id(sentences): sentences}.values():
        model.embed(["load the model before timing"] * 8)
    # The first write of a process imports llama-index (about 2.2 s, once): like the models, not part of the timing.
    import llama_index.vector_stores.chroma  # noqa: F401

    from qa import QAEngine

    t0 = time.perf_counter()
    index = CorpusIndex(Path(corpus), settings, embedder=embedder, sentence_embedder=sentences)
    opened = time.perf_counter() - t0
    return {"index_open_s": round(opened, 2), **add_one_file(index, QAEngine(index))}


def item_open(corpus: str, questions_file: str) -> dict[str, object]:
    """Open an indexed corpus as a restarted process does (index, engine, first answer), then warm latency and RSS."""
    from index import CorpusIndex, load_settings
    from qa import QAEngine

    questions = json.loads(Path(questions_file).read_text())
    t0 = time.perf_counter()
    import chromadb  # noqa: F401 - the libraries every start imports, whatever the corpus size: timed apart
    import scipy.sparse  # noqa: F401

    imports_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = CorpusIndex(Path(corpus), load_settings())
    t1 = time.perf_counter()
    engine = QAEngine(index)
    t2 = time.perf_counter()
    engine.answer(questions[0])
    t3 = time.perf_counter()
    return {"chunks": index.manifest.chunk_count(), "imports_s": round(imports_s, 2), "index_open_s": round(t1 - t0, 3),
            "engine_open_s": round(t2 - t1, 3), "open_s": round(t2 - t0, 3),
            "first_answer_s": round(t3 - t2, 2), **_latency(engine, questions)}


def item_recall(squad_docs: str, cache: str, questions_file: str, work: str, configs: str) -> dict[str, object]:
    """recall@10 of Chroma HNSW vs exact search on real chunk embeddings, replicated to 10k and 100k vectors."""
    from index import CorpusIndex, load_settings

    from .scale import hnsw_recall

    embedder = _caching_embedder(cache)
    index = CorpusIndex(Path(squad_docs), load_settings(), embedder=embedder)
    index.sync(progress=False)
    base = embedder.embed([c.text for c in index.chunks])
    embedder.save()
    queries = embedder.inner.embed(json.loads(Path(questions_file).read_text()))
    rows: list[dict[str, object]] = []
    for spec in json.loads(configs):
        vectors = np.tile(base, (-(-int(spec.pop("vectors")) // len(base)), 1))
        jitter = float(spec.pop("jitter", 0.0))
        if jitter:  # distinct vectors near the real ones (no exact duplicates), to tell duplicates' effect apart
            vectors = vectors + np.random.default_rng(0).normal(0, jitter, vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        row = hnsw_recall(vectors, queries, Path(work) / f"chroma-{len(rows)}", {k: int(v) for k, v in spec.items()})
        rows.append({**row, "jitter": jitter} if jitter else row)
    return {"rows": rows, "peak_rss_mb": round(_peak_rss_mb())}


def item_neardup(corpus: str, sizes: str = "1824,5000,10000,20000,40000") -> dict[str, object]:
    """Near-duplicate candidate generation (``close_pairs``, every centroid pair by blocks) on pseudo-documents: each
    the mean of 1-5 consecutive real chunk vectors of the indexed corpus, ``sizes`` of them. Seconds and pairs."""
    from index import CorpusIndex, load_settings
    from index.duplicates import close_pairs

    index = CorpusIndex(Path(corpus), load_settings())
    index.sync(progress=False)
    chunks = index.store.vectors([c.id for c in index.chunks])
    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []
    for n in (int(v) for v in sizes.split(",")):
        starts, widths = rng.integers(0, len(chunks) - 5, n), rng.integers(1, 6, n)
        docs = np.stack([chunks[s : s + w].mean(axis=0) for s, w in zip(starts, widths, strict=True)])
        docs = (docs / np.linalg.norm(docs, axis=1, keepdims=True)).astype(np.float32)
        t0 = time.perf_counter()
        pairs = close_pairs(docs)
        rows.append({"documents": n, "seconds": round(time.perf_counter() - t0, 3), "candidate_pairs": len(pairs)})
    return {"chunks": len(chunks), "rows": rows, "peak_rss_mb": round(_peak_rss_mb())}


def item_extraction(squad_docs: str, work: str) -> dict[str, object]:
    """PDF text extraction: pages/s reading a 300-page PDF (SQuAD text, 40 lines a page) into its text view, and
    converting SQuAD to PDF for the indexing comparison (scripts/convert_corpus.py)."""
    from fpdf import FPDF

    from index import read_text_file

    from .formats import convert

    out = Path(work)
    out.mkdir(parents=True, exist_ok=True)
    lines = [ln for f in sorted(Path(squad_docs).glob("*.txt")) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    words = " ".join(lines).encode("latin-1", "replace").decode("latin-1").split()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=10)
    cursor = 0
    for _ in range(300):
        pdf.add_page()
        for row in range(40):
            pdf.text(15, 20 + 6.5 * row, " ".join(words[cursor : cursor + 14]))
            cursor = (cursor + 14) % max(len(words) - 14, 1)
    long_pdf = out / "long-300.pdf"
    long_pdf.write_bytes(bytes(pdf.output()))
    rss0 = _peak_rss_mb()
    t0 = time.perf_counter()
    view = read_text_file(long_pdf)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    convert(Path(squad_docs), out / "squad-pdf", "pdf")
    convert_s = time.perf_counter() - t0
    pages = sum(len(read_text_file(p).pages or []) for p in (out / "squad-pdf").glob("*.pdf"))
    return {
        "pdf_pages": len(view.pages or []),
        "pdf_lines": len(view.lines),
        "read_s": round(read_s, 3),
        "pages_per_s": round(len(view.pages or []) / read_s, 1),
        "peak_rss_growth_mb": round(_peak_rss_mb() - rss0),
        "squad_pdf_pages": pages,
        "squad_convert_s": round(convert_s, 1),
    }


ITEMS: dict[str, Callable[..., dict[str, object]]] = {
    "indexing": item_indexing, "latency": item_latency, "scale": item_scale, "add_one": item_add_one, "open": item_open, "recall": item_recall,
    "extraction": item_extraction, "neardup": item_neardup,
}


# --------------------------------------------------------------------------- driver
def _child(item: str, args: list[str], home: Path) -> dict[str, object]:
    env = {**os.environ, "DOCQA_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "evals.bench", "--item", item, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench item {item} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cold_start(corpus: Path, home: Path, runs: int = 3) -> dict[str, object]:
    env = {**os.environ, "DOCQA_HOME": str(home)}
    # The console script's code path (ui.cli.main), reporting its own peak RSS on the last stderr line.
    docqa = [sys.executable, "-c", "import resource, sys; from ui.cli import main; rc = main(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)"]
    subprocess.run([*docqa, "index", str(corpus)], env=env, capture_output=True, check=True)
    walls, rss = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([*docqa, "ask", COLD_QUESTION, "--corpus", str(corpus)], env=env, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        rss.append(int(out.stderr.strip().splitlines()[-1]) / 1024)
    return {"runs": runs, "wall_s_min": round(min(walls), 2), "wall_s_median": round(statistics.median(walls), 2),
            "peak_rss_mb": round(max(rss))}


def _questions(squad_root: Path, limit: int) -> list[str]:
    rows = [json.loads(line) for line in (squad_root / "questions.jsonl").read_text().splitlines()[:limit]]
    return [r["question"] for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--squad-root", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--questions", type=int, default=200, help="questions per latency measurement")
    parser.add_argument("--json", type=Path, help="write all figures as JSON here")
    parser.add_argument("--copies", type=int, default=38, help="SQuAD copies in the large corpus (38 x 2,644 = ~100k chunks; 0 skips it)")
    parser.add_argument("--cache", type=Path, help="embedding cache (.npz) kept between runs (default: a temp file)")
    parser.add_argument("--no-formats", dest="formats", action="store_false",
                        help="skip PDF extraction and the PDF-vs-txt indexing of SQuAD")
    parser.add_argument("--item", choices=sorted(ITEMS), help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.item:
        print(json.dumps(ITEMS[args.item](*args.rest)))
        return 0

    from index import SEEDS_DIR

    squad_docs = args.squad_root / "docs"
    if not squad_docs.is_dir():
        raise SystemExit(f"SQuAD benchmark not found at {args.squad_root}; pass --squad-root")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp:
        home = Path(tmp) / "home"
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps(_questions(args.squad_root, args.questions)))
        seeds_q = Path(tmp) / "seeds-questions.json"
        from .suite import load_suite

        seeds_questions = [t.question for c in load_suite("seeds") for t in c.turns]
        seeds_q.write_text(json.dumps((seeds_questions * 5)[: args.questions]))
        results["indexing_squad"] = _child("indexing", [str(squad_docs)], home)
        if args.formats:
            formats = Path(tmp) / "formats"
            results["pdf_extraction"] = _child("extraction", [str(squad_docs), str(formats)], home)
            results["indexing_squad_pdf"] = _child("indexing", [str(formats / "squad-pdf")], home)
        results["latency_seeds"] = _child("latency", [str(SEEDS_DIR), str(seeds_q)], home)
        results["latency_squad"] = _child("latency", [str(squad_docs), str(qfile)], home)
        results["cold_start_seeds"] = _cold_start(SEEDS_DIR, home)
        results["neardup"] = _child("neardup", [str(squad_docs)], home)
        cache = str(args.cache or Path(tmp) / "embeddings.npz")
        if args.copies:
            big = Path(tmp) / "big"
            results["latency_100k"] = _child("scale", [str(squad_docs), str(args.copies), str(big), cache, str(qfile)], home)
            results["open_100k"] = _child("open", [str(big), str(qfile)], home)
            results["cold_start_100k"] = _cold_start(big, home)
        configs = [{"vectors": 10_000}, {"vectors": 10_000, "search_ef": SEARCH_EF}, {"vectors": 100_000},
                   {"vectors": 100_000, "search_ef": 400}, {"vectors": 100_000, "search_ef": SEARCH_EF},
                   {"vectors": 100_000, "M": 32, "construction_ef": 400},
                   {"vectors": 100_000, "jitter": 0.02}, {"vectors": 100_000, "jitter": 0.02, "search_ef": SEARCH_EF}]
        recall = _child("recall", [str(squad_docs), cache, str(qfile), str(Path(tmp) / "recall"), json.dumps(configs)], home)
    idx = results["indexing_squad"]
    assert isinstance(idx, dict)
    print("| item | figures |\n| --- | --- |")
    for name, figures in results.items():
        print(f"| {name} | " + ", ".join(f"{k} {v}" for k, v in figures.items()) + " |")
    rows = recall["rows"]
    assert isinstance(rows, list)
    print(f"\nHNSW recall@10 vs exact search (chromadb, cosine; unset settings are Chroma's defaults M 16, construction_ef 100, "
          f"search_ef 100; docqa uses search_ef {SEARCH_EF}); peak RSS {recall['peak_rss_mb']} MB")
    keys = ["vectors", "jitter", "M", "construction_ef", "search_ef", "build_s", "recall_at_10", "min_recall", "query_p50_ms", "query_p95_ms", "exact_numpy_p50_ms"]
    print("| " + " | ".join(keys) + " |\n|" + " --- |" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row.get(k, "-")) for k in keys) + " |")
    results["hnsw_recall"] = recall
    print(f"\nindexing: {idx['ratio_to_raw']}x raw encode (goal >= 0.9); unchanged re-index {idx['reindex_unchanged_s']} s, "
          f"{idx['reindex_embedding_calls']} embedding calls (goals <= 1 s, 0)")
    if "indexing_squad_pdf" in results:
        pdf_idx, ext = results["indexing_squad_pdf"], results["pdf_extraction"]
        print(f"PDF: reading {ext['pages_per_s']} pages/s (300-page PDF); indexing SQuAD as PDF "
              f"{pdf_idx['pipeline_chunks_per_s']} chunks/s ({pdf_idx['chunks']} chunks) against "
              f"{idx['pipeline_chunks_per_s']} chunks/s as .txt ({idx['chunks']} chunks)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
