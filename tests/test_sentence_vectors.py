"""Sentence vectors for the evidence scorer: made at index time, kept in step with the chunks, rebuilt when stale."""

from __future__ import annotations

import numpy as np

from index import CorpusIndex, HashingEmbedder

from .conftest import write_tree


def build(corpus, settings, sentences=None, embedder=None):
    return CorpusIndex(corpus, settings, embedder=embedder or HashingEmbedder(), store="numpy", sentence_embedder=sentences)


def test_every_sentence_of_every_chunk_gets_the_vector_of_its_text(tiny, settings):
    index = build(tiny, settings)
    index.sync()
    embedder = HashingEmbedder()
    for chunk in index.chunks:
        got = index.sentence_vectors.get(chunk.id)
        assert got is not None and got.shape == (len(chunk.sentences), embedder.dim)
        want = embedder.embed([s.text for s in chunk.sentences])
        assert np.allclose(got, want, atol=1e-3)  # stored as float16


def test_vectors_survive_a_restart_and_cost_no_embedding_call(tiny, settings):
    build(tiny, settings).sync()
    sentences = HashingEmbedder()
    again = build(tiny, settings, sentences=sentences)
    assert len(again.sentence_vectors) == len(again.chunks)
    again.sync()
    assert sentences.calls == 0


def test_a_separate_sentence_encoder_embeds_only_sentences(tiny, settings):
    chunks, sentences = HashingEmbedder(), HashingEmbedder(dim=64)
    index = build(tiny, settings, sentences=sentences, embedder=chunks)
    index.sync()
    assert chunks.texts_embedded == len(index.chunks)
    assert sentences.texts_embedded == sum(len(c.sentences) for c in index.chunks)
    assert index.sentence_vectors.get(index.chunks[0].id).shape[1] == 64


def test_vectors_made_by_another_encoder_are_made_again(tiny, settings):
    build(tiny, settings).sync()
    other = HashingEmbedder(dim=32)  # another name: hashing-32
    index = build(tiny, settings, sentences=other)
    assert len(index.sentence_vectors) == 0
    report = index.sync()
    assert report.files_unchanged == 3 and other.calls == 1
    assert len(index.sentence_vectors) == len(index.chunks)


def test_missing_vectors_are_backfilled_and_removed_files_dropped(tiny, settings):
    index = build(tiny, settings)
    index.sync()
    index.catalog.clear_sentence_vectors()  # as an index made before sentence vectors existed
    index = build(tiny, settings)
    report = index.sync()
    assert report.texts_embedded == sum(len(c.sentences) for c in index.chunks)
    assert len(index.sentence_vectors) == len(index.chunks)
    (tiny / "museum.txt").unlink()
    index.sync()
    stored = build(tiny, settings).sentence_vectors
    assert len(stored) == len(index.chunks) and all(c.id in stored for c in index.chunks)


def test_a_damaged_index_database_is_moved_aside_and_rebuilt_not_fatal(tiny, settings, caplog):
    index = build(tiny, settings)
    index.sync()
    chunks = index.chunks
    index.catalog.close()
    (index.dir / "index.sqlite").write_bytes(b"not a database" * 100)
    for side in ("index.sqlite-wal", "index.sqlite-shm"):
        (index.dir / side).unlink(missing_ok=True)
    index = build(tiny, settings)
    assert "moved it to index.sqlite.damaged-" in caplog.text
    report = index.sync()
    assert report.files_indexed == 3 and index.chunks == chunks
    assert len(index.sentence_vectors) == len(index.chunks)
    assert [p.name for p in index.dir.glob("index.sqlite.damaged-*")]


def test_the_engine_ranks_with_sentence_cosines(tmp_path, settings):
    """A question whose words are in no sentence still finds the sentence closest in meaning (fake: same words)."""
    from qa import QAEngine
    from qa.scorer import RulesScorer

    class ReadsCosines(RulesScorer):
        uses_sentence_vectors = True

    corpus = write_tree(tmp_path / "c", {"a.txt": b"The lamp is lit at dusk.\nThe keeper was Tomas Berg.\n"})
    engine = QAEngine(build(corpus, settings))
    engine.index.sync()
    engine.refresh()
    engine.scorer = ReadsCosines()
    trace = engine.trace("Who was the keeper?")
    from qa.features import FEATURES

    cos = {e.quote: e.features[FEATURES.index("sent_cos")] for e in trace.candidates}
    assert cos["The keeper was Tomas Berg."] > cos["The lamp is lit at dusk."]
