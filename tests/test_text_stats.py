"""The retriever's text statistics (qa.text_stats): stored beside the index, read back only for the same snapshot,
rebuilt (never trusted) when stale, damaged or unwritable."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from index import CorpusIndex, HashingEmbedder
from qa import QAEngine
from qa import text_stats as ts
from qa.lexical import lexical_tokens

QUERIES = ["Who was the lighthouse keeper?", "4,000 model ships", "bridge 1887 Calder", "nothing here at all"]


@pytest.fixture
def index(tiny, settings) -> CorpusIndex:  # type: ignore[no-untyped-def]
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    return index


def same(a: ts.TextStats, b: ts.TextStats) -> None:
    assert a.lexical.vocab == b.lexical.vocab and a.df == b.df and a.lower_vocab == b.lower_vocab
    assert a.n_chunks == b.n_chunks and a.lexical.n_docs == b.lexical.n_docs
    for q in QUERIES:
        assert np.array_equal(a.lexical.scores(lexical_tokens(q)), b.lexical.scores(lexical_tokens(q)))


def test_statistics_read_back_are_those_built(index: CorpusIndex, tmp_path: Path) -> None:
    built = ts.build(index.chunks)
    key = ts.snapshot_key(index.chunks)
    ts.save(built, key, tmp_path / "s.npz")
    loaded = ts.load(tmp_path / "s.npz", key)
    assert loaded is not None
    same(built, loaded)
    assert built.df["lighthous"] == sum("lighthouse" in c.text.lower() for c in index.chunks) >= 1
    assert "keeper" in built.lower_vocab and "Tomas" not in built.lower_vocab


def test_an_empty_corpus_round_trips(tmp_path: Path) -> None:
    ts.save(ts.build([]), "k", tmp_path / "s.npz")
    loaded = ts.load(tmp_path / "s.npz", "k")
    assert loaded is not None and loaded.n_chunks == 0 and loaded.df == {} and loaded.lexical.top(["x"], 5) == []


def test_a_build_in_batches_equals_one_in_one_go(index: CorpusIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ts, "BATCH", 2)
    chunks = index.chunks
    assert len(chunks) > 4
    same(ts.statistics(ts.update(ts.empty(), index.snapshot())), ts.build(chunks))


def test_the_key_follows_the_chunks(index: CorpusIndex) -> None:
    chunks = index.chunks
    key = ts.snapshot_key(chunks)
    assert ts.snapshot_key(list(chunks)) == key
    assert ts.snapshot_key(chunks[::-1]) != key
    assert ts.snapshot_key(chunks[:-1]) != key
    edited = chunks[0].model_copy(update={"text": chunks[0].text + " More."})
    assert ts.snapshot_key([edited, *chunks[1:]]) != key


def test_an_engine_reads_what_the_first_one_stored(index: CorpusIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    first = QAEngine(index).answer("Who was the lighthouse keeper?")
    assert (index.dir / "text-stats.npz").is_file()

    def no_build(chunks):  # type: ignore[no-untyped-def]
        raise AssertionError("the stored statistics should have been read")

    monkeypatch.setattr(ts, "build", no_build)
    again = QAEngine(index).answer("Who was the lighthouse keeper?")
    assert again.citations == first.citations and again.short_answer == "Tomas Berg"


def test_a_changed_folder_rebuilds_them(index: CorpusIndex, tiny: Path) -> None:
    engine = QAEngine(index)
    assert engine.answer("Who painted the harbour mural?").abstained
    before = (index.dir / "text-stats.npz").read_bytes()
    (tiny / "mural.txt").write_text("The harbour mural was painted by Ines Alvarez in 1952.\n", encoding="utf-8")
    engine.reindex(progress=False)
    answer = engine.answer("Who painted the harbour mural?")
    assert not answer.abstained and answer.citations[0].file == "mural.txt"
    assert (index.dir / "text-stats.npz").read_bytes() != before


def equivalent(a: ts.TextStats, b: ts.TextStats) -> None:
    """The same statistics, whatever order the vocabulary is numbered in."""
    assert set(a.lexical.vocab) == set(b.lexical.vocab) and a.df == b.df and a.lower_vocab == b.lower_vocab
    assert a.n_chunks == b.n_chunks and a.lexical.n_docs == b.lexical.n_docs
    for term, j in a.lexical.vocab.items():
        assert a.lexical.idf[j] == pytest.approx(b.lexical.idf[b.lexical.vocab[term]], abs=1e-12)
    for q in [*QUERIES, "harbour mural painted 1952", "ferry timetable May", "Ines Alvarez"]:
        toks = lexical_tokens(q)
        assert np.allclose(a.lexical.scores(toks), b.lexical.scores(toks), atol=1e-12)
        assert [d for d, _ in a.lexical.top(toks, 5)] == [d for d, _ in b.lexical.top(toks, 5)]


def test_after_a_change_only_new_chunks_are_tokenised_and_the_result_equals_a_rebuild(
    index: CorpusIndex, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = index.dir / "text-stats.npz"
    QAEngine(index)
    tokenised: list[int] = []
    real = ts.bag
    real_batches = ts.bag_batches

    def counting(batches):  # type: ignore[no-untyped-def]
        batches = list(batches)
        tokenised.append(sum(len(b) for b in batches))
        return real_batches(batches)

    monkeypatch.setattr(ts, "bag_batches", counting)
    rounds = [
        lambda: (tiny / "mural.txt").write_text("The harbour mural was painted by Ines Alvarez in 1952.\n", encoding="utf-8"),
        lambda: (tiny / "museum.txt").write_text("The ferry timetable changes in May.\nThe museum closed in 1999.\n", encoding="utf-8"),
        lambda: (tiny / "notes" / "crlf.txt").unlink(),
        lambda: (tiny / "mural.txt").unlink(),
    ]
    for change in rounds:
        change()
        stored = ts.load_bags(path)
        assert stored is not None
        before = set(stored.ids)
        index.sync()
        tokenised.clear()
        stats = ts.load_or_build(index.snapshot(), path)
        new = [c for c in index.chunks if c.id not in before]
        assert tokenised == [len(new)]  # only the new chunks, never all of them
        equivalent(stats, ts.statistics(real(index.chunks)))
        assert ts.load(path, ts.snapshot_key(index.snapshot())) is not None  # stored for the next start


@pytest.mark.parametrize("damage", [b"", b"not a zip at all", "truncate"])
def test_a_damaged_file_is_rebuilt_with_a_warning(index: CorpusIndex, tmp_path: Path, damage: bytes | str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.npz"
    key = ts.snapshot_key(index.chunks)
    ts.save(ts.build(index.chunks), key, path)
    path.write_bytes(path.read_bytes()[:200] if damage == "truncate" else damage)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="qa.text_stats"):
        stats = ts.load_or_build(index.chunks, path)
    assert "unreadable" in caplog.text and "rebuilding" in caplog.text
    same(stats, ts.build(index.chunks))
    assert ts.load(path, key) is not None  # rewritten whole


def test_a_stale_file_is_not_used(index: CorpusIndex, tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    ts.save(ts.build(index.chunks[:1]), ts.snapshot_key(index.chunks[:1]), path)
    assert ts.load(path, ts.snapshot_key(index.chunks)) is None
    same(ts.load_or_build(index.chunks, path), ts.build(index.chunks))


def test_an_unwritable_place_costs_only_time(index: CorpusIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "missing-folder" / "s.npz"
    with caplog.at_level(logging.WARNING, logger="qa.text_stats"):
        stats = ts.load_or_build(index.chunks, path)
    same(stats, ts.build(index.chunks))
    assert "could not store" in caplog.text and not path.exists()
    assert not list(tmp_path.glob("**/*.tmp"))
