"""Crash-safe indexing (SIGKILL part-way through) and concurrent answering (32 threads, with and without a re-index)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index import CorpusIndex, HashingEmbedder, load_settings
from qa import QAEngine

from .conftest import REPO, TINY, write_tree

NAMES = ["Ada", "Bram", "Cleo", "Dara", "Emil", "Fern", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lena"]


def article(i: int, version: int) -> bytes:
    """A synthetic article: a distinctive fact on line 1, then filler paragraphs (about 20 chunks)."""
    who = f"{NAMES[i % len(NAMES)]} Vasquez{i}"
    lines = [f"The station number {i} was founded by {who} in {1800 + i + version * 100}."]
    for p in range(40):
        lines += ["", f"Paragraph {p} of report {i} version {version} describes the weather, the harvest and the roads "
                      f"near station {i} in detail. It mentions section {p * 7 + i} and nothing else of note."]
    return ("\n".join(lines) + "\n").encode()


def corpus_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from index import CorpusIndex, HashingEmbedder, load_settings
    import index.corpus_index as ci
    ci.EMBED_GROUP_BATCHES = 2  # small groups (8 chunks): many catalog commits, so the kill lands between two

    class Slow(HashingEmbedder):
        def embed(self, texts):
            time.sleep(0.15)
            return super().embed(texts)

    def progress(done, total):
        print(f"progress {{done}} {{total}}", flush=True)

    settings = load_settings(home={home!r}, embed_batch_size=4)
    CorpusIndex({corpus!r}, settings, embedder=Slow(), store="chroma").sync(progress=False, on_progress=progress)
    print("finished", flush=True)
    """
)


def fresh_chroma() -> None:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def test_sigkill_during_indexing_loses_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_tree(corpus, {f"doc{i:02d}.txt": article(i, 1) for i in range(30)})
    home = tmp_path / "home"
    settings = load_settings(home=home)
    first = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="chroma")
    first.sync()
    before_q = "Who founded station number 3?"
    before = QAEngine(first).answer(before_q)
    assert before.citations[0].location == "doc03.txt:1" and before.short_answer == "Dara Vasquez3"
    del first
    fresh_chroma()

    # Change half the corpus, add and delete files; then start re-indexing and kill it part-way.
    for i in range(0, 30, 2):
        (corpus / f"doc{i:02d}.txt").write_bytes(article(i, 2))
    for i in range(30, 36):
        (corpus / f"doc{i:02d}.txt").write_bytes(article(i, 2))
    for i in (29, 27):
        (corpus / f"doc{i:02d}.txt").unlink()
    hashes = corpus_hashes(corpus)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(repo=str(REPO), home=str(home), corpus=str(corpus))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    done = total = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("progress "):
            done, total = map(int, line.split()[1:])
            if total and done >= total * 0.4:
                break
        elif not line:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 0 < done < total, f"the kill should land part-way (done {done} of {total})"

    # The interrupted index still answers correctly, from verified lines only.
    fresh_chroma()
    interrupted = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="chroma")
    engine = QAEngine(interrupted)
    kept = engine.answer("Who founded station number 3?")  # doc03 did not change
    assert (kept.citations[0].location, kept.short_answer) == ("doc03.txt:1", "Dara Vasquez3")
    for q in ("Who founded station number 4?", "Who founded station number 31?"):
        a = engine.answer(q)
        for c in a.citations:
            assert (corpus / c.file).read_text().splitlines()[c.line - 1][c.start : c.end] == c.quote
    stored_after_kill = interrupted.store.count()
    manifest_after_kill = interrupted.manifest.chunk_count()

    # The next run completes and matches a clean build exactly: no duplicate, no orphan.
    report = interrupted.sync()
    fresh_chroma()
    clean = CorpusIndex(corpus, load_settings(home=tmp_path / "clean-home"), embedder=HashingEmbedder(), store="chroma")
    clean.sync()
    resumed_ids = {c.id for c in interrupted.chunks}
    assert resumed_ids == {c.id for c in clean.chunks}
    assert interrupted.store.count() == clean.store.count() == len(resumed_ids)
    assert interrupted.store.ids() == resumed_ids
    assert set(interrupted.manifest.files) == set(clean.manifest.files)
    # The catalog holds exactly the current chunks, their sentence vectors, and the same records as a clean build.
    assert interrupted.catalog.stored_chunk_rows() == interrupted.catalog.sentence_vector_count() == len(resumed_ids)
    assert interrupted.manifest.infos() == clean.manifest.infos() and interrupted.chunks == clean.chunks
    a = QAEngine(interrupted).answer("Who founded station number 4?")
    assert (a.citations[0].location, a.short_answer) == ("doc04.txt:1", "Emil Vasquez4")
    assert "1904" not in a.citations[0].quote and "2004" in a.citations[0].quote

    # The corpus itself was never written.
    assert corpus_hashes(corpus) == hashes
    print(
        f"crash test: killed at {done}/{total} chunks embedded; after the kill the store held {stored_after_kill} vectors "
        f"and the manifest {manifest_after_kill} chunks; the next run embedded {report.files_indexed} files and left "
        f"{interrupted.store.count()} vectors = {clean.store.count()} in a clean build"
    )


# --------------------------------------------------------------------------- concurrency
QUESTIONS = [
    "Who was the founder of the Harbor Museum?",
    "Who was the lighthouse keeper?",
    "When was the old bridge built?",
    "How many model ships does the museum hold?",
    "Which river does the bridge span?",
    "What is the boiling point of mercury on Venus?",
    "When did the Harbor Museum open?",
    "What was lit every night at dusk?",
]


def _key(a):  # type: ignore[no-untyped-def]
    return (a.text, a.short_answer, a.abstained, [(c.location, c.quote) for c in a.citations])


@pytest.fixture
def engine(tiny: Path, settings, store_kind: str) -> QAEngine:
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store=store_kind)
    index.sync()
    return QAEngine(index)


def test_32_threads_get_the_sequential_answers(engine: QAEngine) -> None:
    expected = {q: _key(engine.answer(q)) for q in QUESTIONS}
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(256)]
    barrier = threading.Barrier(32)

    def ask(q: str):  # type: ignore[no-untyped-def]
        if threading.current_thread().name not in started:
            started.add(threading.current_thread().name)
            barrier.wait(timeout=30)
        return _key(engine.answer(q))

    started: set[str] = set()
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(ask, questions))
    assert results == [expected[q] for q in questions]


def test_32_threads_while_a_reindex_runs(tmp_path: Path, settings, store_kind: str) -> None:
    corpus = write_tree(tmp_path / "c", {**TINY, **{f"extra/doc{i}.txt": article(i, 1) for i in range(6)}})
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store=store_kind)
    index.sync()
    engine = QAEngine(index)
    tiny_questions = QUESTIONS[:5]
    expected = {q: _key(engine.answer(q)) for q in tiny_questions}
    added = {f"more/new{i}.txt": article(100 + i, 1) for i in range(12)}

    # The re-index loop adds 12 documents (about 250 chunks to embed), then removes them, over and over.
    # Sequentially, the tiny corpus's answers are the same with or without them: check that first, or the test proves nothing.
    write_tree(corpus, added)
    engine.reindex()
    assert {q: _key(engine.answer(q)) for q in tiny_questions} == expected
    shutil.rmtree(corpus / "more")
    engine.reindex()

    stop = threading.Event()
    reindexes = 0
    errors: list[BaseException] = []

    def reindex_loop() -> None:
        nonlocal reindexes
        while not stop.is_set():
            try:
                if reindexes % 2 == 0:
                    write_tree(corpus, added)
                else:
                    shutil.rmtree(corpus / "more")
                engine.reindex()
                reindexes += 1
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return

    worker = threading.Thread(target=reindex_loop)
    worker.start()
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda q: _key(engine.answer(q)), [tiny_questions[i % 5] for i in range(640)]))
    finally:
        stop.set()
        worker.join(timeout=120)
    assert not errors, errors
    assert reindexes >= 1
    assert results == [expected[tiny_questions[i % 5]] for i in range(640)]
    assert index.store.count() == index.manifest.chunk_count()
