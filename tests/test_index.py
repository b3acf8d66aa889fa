"""Indexing is incremental by content hash, across both vector stores."""

from __future__ import annotations

import pytest

from index import CorpusError, CorpusIndex, HashingEmbedder

from .conftest import write_tree


def make_index(corpus, settings, store_kind, embedder=None):
    return CorpusIndex(corpus, settings, embedder=embedder or HashingEmbedder(), store=store_kind)


def test_chunks_record_file_and_lines(tiny, settings, store_kind):
    index = make_index(tiny, settings, store_kind)
    report = index.sync()
    assert report.files_indexed == 3 and report.skipped == []
    by_file = {c.file: c for c in index.chunks}
    assert set(by_file) == {"museum.txt", "notes/crlf.txt", "no_newline.md"}
    crlf = [c for c in index.chunks if c.file == "notes/crlf.txt"]
    # "Lighthouse log" is a title line; each CRLF line is its own paragraph.
    assert [(c.first_line, c.last_line) for c in crlf] == [(1, 1), (2, 2), (3, 3)]
    last = [c for c in index.chunks if c.file == "no_newline.md"][-1]
    # Lines 3 and 4 are not a wrapped paragraph (line 4 starts a new sentence), so they chunk apart.
    assert (last.first_line, last.last_line, last.text) == (4, 4, "It spans the Wren river.")
    assert index.store.count() == len(index.chunks)


def test_unchanged_corpus_makes_no_embedding_call(tiny, settings, store_kind):
    embedder = HashingEmbedder()
    make_index(tiny, settings, store_kind, embedder).sync()
    calls = embedder.calls
    again = make_index(tiny, settings, store_kind, embedder).sync()
    assert embedder.calls == calls
    assert (again.embedding_calls, again.texts_embedded, again.files_unchanged, again.files_indexed) == (0, 0, 3, 0)


def test_changed_file_is_reembedded_and_deleted_file_removed(tiny, settings, store_kind):
    embedder = HashingEmbedder()
    index = make_index(tiny, settings, store_kind, embedder)
    index.sync()
    (tiny / "museum.txt").write_bytes(b"The Harbor Museum closed in 2001.\n")
    (tiny / "notes" / "crlf.txt").unlink()
    before = embedder.texts_embedded
    report = index.sync()
    assert (report.files_indexed, report.files_removed, report.files_unchanged) == (1, 1, 1)
    assert embedder.texts_embedded - before == 2  # only the changed file's one chunk, and its one sentence
    assert (report.texts_embedded, report.embedding_calls) == (2, 1)  # the report counts what the model saw
    assert {c.file for c in index.chunks} == {"museum.txt", "no_newline.md"}
    assert index.store.count() == len(index.chunks)
    assert index.store.ids() == {c.id for c in index.chunks}


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(tmp_path, settings, store_kind):
    corpus = write_tree(tmp_path / "mixed", {"good.txt": b"Fine text here.\n", "bin.txt": b"\x00\x01\x02" * 50, "empty.md": b""})
    report = make_index(corpus, settings, store_kind).sync()
    reasons = {s.file: s.reason for s in report.skipped}
    assert "binary" in reasons["bin.txt"] and "empty" in reasons["empty.md"]
    assert report.files_indexed == 1


def test_symlink_outside_corpus_is_not_followed(tmp_path, settings):
    corpus = write_tree(tmp_path / "c", {"a.txt": b"Inside.\n"})
    write_tree(tmp_path / "secret", {"s.txt": b"Secret.\n"})
    (corpus / "link.txt").symlink_to(tmp_path / "secret" / "s.txt")
    report = make_index(corpus, settings, "numpy").sync()
    assert [s.file for s in report.skipped] == ["link.txt"] and "outside" in report.skipped[0].reason


def test_orphaned_vectors_from_an_interrupted_run_are_removed(tiny, settings, store_kind):
    index = make_index(tiny, settings, store_kind)
    index.sync()
    stray = index.chunks[0].model_copy(update={"id": "corphan", "file": "gone.txt"})
    index.store.upsert([stray], HashingEmbedder().embed([stray.text]))
    assert index.store.count() == len(index.chunks) + 1
    index.catalog.set_meta({"sync_running": "2026-12-03T09:00:00+00:00"})  # the mark a killed run leaves
    index.sync()
    assert index.store.ids() == {c.id for c in index.chunks}
    assert index.catalog.get_meta("sync_running") is None


def test_a_sync_with_nothing_to_do_does_not_scan_the_store(tiny, settings, monkeypatch):
    index = make_index(tiny, settings, "numpy")
    index.sync()
    monkeypatch.setattr(index.store, "count", lambda: pytest.fail("scanned the store"))
    monkeypatch.setattr(index.store, "ids", lambda: pytest.fail("scanned the store"))
    report = index.sync()
    assert (report.files_unchanged, report.embedding_calls, report.chunks_total) == (3, 0, len(index.chunks))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "no indexable"),
        (lambda p: (p.parent.mkdir(exist_ok=True), p.write_text("x"), p)[2], "is a file, not a folder"),
    ],
    ids=["missing", "empty", "file"],
)
def test_bad_corpus_folders_raise_clear_errors(tmp_path, settings, setup, message):
    corpus = setup(tmp_path / "corpus")
    with pytest.raises(CorpusError, match=message):
        make_index(corpus, settings, "numpy").sync()


def test_chroma_collections_get_the_measured_search_ef(tmp_path):
    """New collections are created with SEARCH_EF; one made by an older docqa (Chroma's default 100) is raised."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.store import SEARCH_EF, ChromaStore

    fresh = ChromaStore(tmp_path / "fresh", "docqa-fresh")
    assert fresh._collection.configuration_json["hnsw"]["ef_search"] == SEARCH_EF

    old_path = tmp_path / "old"
    client = chromadb.PersistentClient(path=str(old_path), settings=ChromaSettings(anonymized_telemetry=False))
    client.create_collection("docqa-old", metadata={"hnsw:space": "cosine"})
    assert client.get_collection("docqa-old").configuration_json["hnsw"]["ef_search"] == 100
    reopened = ChromaStore(old_path, "docqa-old")
    assert reopened._collection.configuration_json["hnsw"]["ef_search"] == SEARCH_EF
    assert reopened._collection.configuration_json["hnsw"]["space"] == "cosine"


def test_a_sync_by_another_process_is_seen_at_once(tiny, settings):
    mine = make_index(tiny, settings, "numpy")
    mine.sync()
    (tiny / "extra.txt").write_text("The ferry timetable changes in May.\n", encoding="utf-8")
    mine.sync()
    assert "extra.txt" in mine.manifest.files
    other = make_index(tiny, settings, "numpy")  # another process, as far as the files are concerned
    (tiny / "extra.txt").unlink()
    other.sync()
    assert "extra.txt" not in mine.manifest.files  # read from the catalog, not from memory
    report = mine.sync()
    assert (report.files_indexed, report.files_removed) == (0, 0)


def test_after_a_failed_sync_the_next_one_does_the_whole_job(tiny, settings, monkeypatch):
    embedder = HashingEmbedder()
    mine = make_index(tiny, settings, "numpy", embedder)
    mine.sync()
    (tiny / "museum.txt").unlink()
    (tiny / "extra.txt").write_text("The ferry timetable changes in May.\n", encoding="utf-8")
    monkeypatch.setattr(embedder, "embed", lambda texts: (_ for _ in ()).throw(RuntimeError("model crashed")))
    with pytest.raises(RuntimeError):
        mine.sync()
    monkeypatch.undo()
    assert set(mine.manifest.files) == {"museum.txt", "notes/crlf.txt", "no_newline.md"}  # nothing half-done
    report = mine.sync()
    assert (report.files_removed, report.files_indexed) == (1, 1)
    assert set(mine.manifest.files) == {"extra.txt", "notes/crlf.txt", "no_newline.md"}
    assert mine.store.ids() == {c.id for c in mine.chunks} == mine.catalog.current_ids()
    assert mine.catalog.stored_chunk_rows() == len(mine.chunks)  # the removed file's rows are gone too
