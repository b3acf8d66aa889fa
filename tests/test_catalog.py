"""The index catalog (``index.sqlite``): rows per file and chunk, read lazily, versions switched in one transaction,
and indexes of earlier versions (one JSON manifest) imported without embedding again."""

from __future__ import annotations

import numpy as np
import pytest

from index import Catalog, ChunkSnapshot, CorpusIndex, HashingEmbedder
from index.catalog import FileEntry
from index.chunker import chunk_lines
from index.manifest import MANIFEST_VERSION, LegacyManifest
from index.reader import split_lines

from .conftest import write_tree


def entry(rel: str, text: str) -> FileEntry:
    import hashlib

    sha = hashlib.sha256(text.encode()).hexdigest()
    lines = split_lines(text)
    return FileEntry(sha256=sha, encoding="utf-8", lines=len(lines), chunks=chunk_lines(lines, rel, sha, 80))


def test_a_new_version_switches_in_one_step_and_old_rows_stay_until_dropped(tmp_path):
    catalog = Catalog(tmp_path / "index.sqlite")
    old = entry("a.txt", "The lamp is lit at dusk.\nThe keeper was Tomas Berg.\n")
    catalog.put_files({"a.txt": old, "b.txt": entry("b.txt", "Ferries run twice a day.\n")})
    assert [r.file for r in catalog.chunk_rows()] == ["a.txt"] * len(old.chunks) + ["b.txt"]
    new = entry("a.txt", "The lamp is lit at dawn.\n")
    catalog.put_files({"a.txt": new})
    assert catalog.entry("a.txt") == new
    assert catalog.current_ids() == {c.id for c in new.chunks} | set(catalog.chunk_ids_of(["b.txt"])["b.txt"])
    # A reader still on the old snapshot can read the old chunks until the rows are dropped.
    assert set(catalog.chunks([c.id for c in old.chunks])) == {c.id for c in old.chunks}
    assert catalog.drop_unowned() == len(old.chunks)
    assert catalog.chunks([c.id for c in old.chunks]) == {}
    catalog.remove_files(["b.txt"])
    assert catalog.chunk_count() == len(new.chunks) and list(catalog.infos()) == ["a.txt"]


def test_a_failed_transaction_leaves_nothing(tmp_path):
    catalog = Catalog(tmp_path / "index.sqlite")
    with pytest.raises(RuntimeError), catalog.transaction() as db:
        catalog.put_files({"a.txt": entry("a.txt", "One line.\n")}, db)
        raise RuntimeError("crash")
    assert catalog.infos() == {} and catalog.stored_chunk_rows() == 0


def test_reads_by_id_work_past_the_parameter_limit_and_keep_order(tmp_path):
    catalog = Catalog(tmp_path / "index.sqlite")
    text = "".join(f"Sentence number {i} is here.\n" for i in range(2500))
    e = entry("big.txt", text)
    catalog.put_files({"big.txt": e})
    ids = [c.id for c in e.chunks]
    assert len(ids) > 900
    assert set(catalog.chunks(ids)) == set(ids)
    assert catalog.chunk_ids_of(["big.txt"])["big.txt"] == ids
    rows = {i: np.full((2, 4), n, dtype=np.float32) for n, i in enumerate(ids)}
    catalog.put_sentence_vectors(rows)
    got = catalog.sentence_vectors(ids)
    assert len(got) == len(ids) and got[ids[7]].shape == (2, 4) and float(got[ids[7]][0, 0]) == 7.0


def test_a_snapshot_reads_only_the_chunks_asked_for(tmp_path):
    catalog = Catalog(tmp_path / "index.sqlite")
    e = entry("a.txt", "".join(f"Line {i} about the harbour.\n" for i in range(40)))
    catalog.put_files({"a.txt": e})
    asked: list[list[str]] = []
    snap = ChunkSnapshot(catalog.chunk_rows(), lambda ids: asked.append(list(ids)) or catalog.chunks(ids), catalog.all_chunks)
    assert list(snap) == [c.id for c in e.chunks] and len(snap) == len(e.chunks)
    assert snap[e.chunks[3].id] == e.chunks[3] and asked == [[e.chunks[3].id]]
    assert snap.get_many([e.chunks[3].id, e.chunks[4].id, "unknown"]) == {c.id: c for c in e.chunks[3:5]}
    assert asked[-1] == [e.chunks[4].id]  # the cached chunk is not read again, the unknown id not at all
    assert snap.all_chunks() == e.chunks
    assert snap.ids_of_files(["a.txt"]) == snap.ids and snap.file_of(snap.ids[0]) == "a.txt"


def test_opening_a_big_index_reads_no_chunk_text(tmp_path, settings, monkeypatch):
    """The engine opens from the catalog's columns and the stored text statistics; an answer reads only what it
    retrieved."""
    from qa import QAEngine

    corpus = write_tree(tmp_path / "c", {f"doc{i}.txt": "".join(
        f"Station {i}-{p} was built in {1800 + p} by the engineer Ada{i}.\n\n" for p in range(30)).encode() for i in range(10)})
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    QAEngine(index)  # stores the text statistics
    read: list[int] = []
    real = Catalog.chunks
    monkeypatch.setattr(Catalog, "all_chunks", lambda self: pytest.fail("read every chunk"))
    monkeypatch.setattr(Catalog, "chunks", lambda self, ids: read.append(len(ids)) or real(self, ids))
    again = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    engine = QAEngine(again)
    answer = engine.answer("Who built station 3-7?")
    assert answer.citations and answer.citations[0].file == "doc3.txt"
    assert 0 < sum(read) <= 2 * settings.top_k < again.manifest.chunk_count()


def test_an_index_of_an_earlier_version_is_imported_without_embedding_again(tiny, settings):
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    chunks, infos, pairs = index.chunks, index.manifest.infos(), index.manifest.duplicates
    vectors = {c.id: index.sentence_vectors.get(c.id) for c in chunks}
    # Write what an earlier docqa left: one JSON manifest and sentences.npz, and no catalog.
    legacy = LegacyManifest(version=MANIFEST_VERSION, corpus=str(index.corpus), embedder="hashing-256",
                            indexed_at=index.manifest.indexed_at, duplicates=pairs,
                            files={rel: index.catalog.entry(rel) for rel in infos})
    (index.dir / "manifest.json").write_text(legacy.model_dump_json())
    ids = [c.id for c in chunks]
    np.savez(index.dir / "sentences.npz", ids=np.array(ids), counts=np.array([len(vectors[i]) for i in ids]),
             vectors=np.concatenate([vectors[i] for i in ids]).astype(np.float16), encoder=np.array("hashing-256"))
    index.catalog.close()
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (index.dir / name).unlink(missing_ok=True)

    embedder = HashingEmbedder()
    again = CorpusIndex(tiny, settings, embedder=embedder, store="numpy")
    assert again.chunks == chunks and again.manifest.infos() == infos and again.manifest.duplicates == pairs
    assert all(np.allclose(again.sentence_vectors.get(i), vectors[i], atol=1e-3) for i in ids)
    report = again.sync()
    assert embedder.calls == 0 and report.files_unchanged == 3
    assert not (again.dir / "manifest.json").exists() and not (again.dir / "sentences.npz").exists()


def test_an_index_made_for_another_model_is_rebuilt(tiny, settings, caplog):
    CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy").sync()
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(dim=64), store="numpy")
    # Another model gets its own folder; the same folder with another model in its records is emptied.
    index.catalog.set_meta({"embedder": "someone-else"})
    reopened = CorpusIndex(tiny, settings, embedder=HashingEmbedder(dim=64), store="numpy")
    assert "was made with another model (someone-else)" in caplog.text
    assert reopened.manifest.chunk_count() == 0
    assert reopened.sync().files_indexed == 3


def test_a_database_that_cannot_be_written_gives_a_clear_error_and_loses_nothing(tiny, settings):
    from index import IndexStateError

    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    before = (index.manifest.infos(), index.chunks)
    (tiny / "extra.txt").write_text("The ferry timetable changes in May.\n", encoding="utf-8")
    index.catalog._db.execute("PRAGMA query_only = ON")  # as a read-only or full disk refuses writes
    with pytest.raises(IndexStateError, match=r"could not write the index database .*index\.sqlite .*make DOCQA_HOME writable"):
        index.sync()
    assert (index.manifest.infos(), index.chunks) == before  # nothing half-written
    index.catalog._db.execute("PRAGMA query_only = OFF")
    report = index.sync()
    assert report.files_indexed == 1 and "extra.txt" in index.manifest.files
    assert index.store.ids() == index.catalog.current_ids()


def test_the_cli_reports_a_full_disk_in_one_line(tiny, capsys, monkeypatch):
    import sqlite3

    from ui.cli import main

    def full(self, entries, db=None):  # type: ignore[no-untyped-def]
        with self.transaction():
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "put_files", full)
    code = main(["index", str(tiny)])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert "database or disk is full" in err and "free disk space" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
