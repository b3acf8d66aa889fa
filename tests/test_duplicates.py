"""Near-duplicate documents after a change: only pairs with a changed document are scored again, and the result is
the pairs a comparison of every document gives (index.duplicates, CorpusIndex)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from index import CorpusIndex, HashingEmbedder, duplicates, load_settings
from index.duplicates import PREFILTER, centroid, close_pairs, find_near_duplicates, load_centroids, update_near_duplicates

from .conftest import write_tree


def documents(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` random documents of 2-6 unit chunk vectors; every third one is a noisy copy of the one before."""
    docs: dict[str, np.ndarray] = {}
    for i in range(n):
        if i % 3 == 2:
            base = docs[f"d{i - 1:02d}"]
            v = base + rng.normal(0, 0.08, base.shape)
        else:
            v = rng.normal(0, 1, (int(rng.integers(2, 7)), 24))
        docs[f"d{i:02d}"] = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return docs


def test_updating_after_changes_gives_the_pairs_of_a_full_comparison() -> None:
    rng = np.random.default_rng(0)
    docs = documents(rng, 30)
    pairs = find_near_duplicates(docs, 0.85)
    assert len(pairs) == 10  # the planted copies
    # Edit two documents (one into a copy of another), remove one, add two (one a copy of an existing one).
    docs["d04"] = docs["d10"] + np.float32(0.01)
    docs["d05"] = documents(rng, 1)["d00"]
    del docs["d07"]
    docs["new-a"] = documents(rng, 1)["d00"]
    docs["new-b"] = docs["d13"][::-1].copy()
    changed = {"d04", "d05", "d07", "new-a", "new-b"}
    asked: list[str] = []

    def vectors_of(names: list[str]) -> dict[str, np.ndarray]:
        asked.extend(names)
        return {n: docs[n] for n in names}

    updated = update_near_duplicates(pairs, {f: centroid(v) for f, v in docs.items()}, changed, vectors_of, 0.85)
    assert updated == find_near_duplicates(docs, 0.85)
    assert ("d13", "new-b") in {(p.first, p.second) for p in updated}
    assert not any("d07" in (p.first, p.second) for p in updated)
    # Only changed documents and those close to them were read.
    assert set(asked) <= changed | {"d10", "d11", "d13", "d14"} and len(set(asked)) < len(docs) // 2


def test_nothing_changed_keeps_the_pairs_and_reads_nothing() -> None:
    docs = documents(np.random.default_rng(1), 9)
    pairs = find_near_duplicates(docs, 0.85)

    def vectors_of(names: list[str]) -> dict[str, np.ndarray]:
        raise AssertionError(f"read {names}")

    assert update_near_duplicates(pairs, {f: centroid(v) for f, v in docs.items()}, set(), vectors_of, 0.85) == pairs


BASE = {
    "original.txt": b"The council approved the new harbour budget on Tuesday.\nThe budget adds two ferry routes and a repair dock.\n",
    "other.txt": b"The library will open a reading room for children in June.\nVolunteers will run weekend story hours.\n",
    "third.txt": b"The rail line to the north coast reopens after the winter repairs.\n",
}
COPY = b"On Tuesday the council approved the new harbour budget.\nThe budget adds a repair dock and two ferry routes.\n"


def pairs_of(index: CorpusIndex) -> list[tuple[str, str, float]]:
    return [(p.first, p.second, p.similarity) for p in index.manifest.duplicates or []]


@pytest.fixture
def index(tmp_path: Path, settings) -> CorpusIndex:  # type: ignore[no-untyped-def]
    index = CorpusIndex(write_tree(tmp_path / "c", BASE), settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    assert index.manifest.duplicates == [] and (index.dir / "centroids.npz").is_file()
    return index


def fresh_pairs(corpus: Path, tmp_path: Path) -> list[tuple[str, str, float]]:
    other = CorpusIndex(corpus, load_settings(home=tmp_path / "other-home"), embedder=HashingEmbedder(), store="numpy")
    other.sync()
    return pairs_of(other)


def test_adding_a_copy_reads_only_the_new_file_and_its_neighbours(index: CorpusIndex, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = index.store.vectors

    def spy(ids: list[str]) -> np.ndarray:
        read.extend(ids)
        return real(ids)

    monkeypatch.setattr(index.store, "vectors", spy)
    (index.corpus / "copy.txt").write_bytes(COPY)
    index.sync()
    assert [p[:2] for p in pairs_of(index)] == [("copy.txt", "original.txt")]
    assert pairs_of(index) == fresh_pairs(index.corpus, tmp_path)
    read_files = {c.file for c in index.chunks if c.id in set(read)}
    assert read_files == {"copy.txt", "original.txt"}  # not other.txt or third.txt


def test_editing_and_removing_keep_the_pairs_a_fresh_index_finds(index: CorpusIndex, tmp_path: Path) -> None:
    (index.corpus / "copy.txt").write_bytes(COPY)
    index.sync()
    (index.corpus / "third.txt").write_bytes(BASE["other.txt"].replace(b"June", b"July"))
    index.sync()
    assert pairs_of(index) == fresh_pairs(index.corpus, tmp_path) and len(pairs_of(index)) == 2
    (index.corpus / "original.txt").unlink()
    index.sync()
    assert pairs_of(index) == fresh_pairs(index.corpus, tmp_path) == [("other.txt", "third.txt", pairs_of(index)[0][2])]


@pytest.mark.parametrize("damage", ["garbage", "threshold"])
def test_unusable_centroids_mean_comparing_everything(index: CorpusIndex, tmp_path: Path, damage: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    path = index.dir / "centroids.npz"
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    else:  # the same index opened with another duplicate threshold: stored pairs were filtered by the old one
        index = CorpusIndex(index.corpus, index.settings.model_copy(update={"duplicate_threshold": 0.5}),
                            embedder=HashingEmbedder(), store="numpy")
    (index.corpus / "copy.txt").write_bytes(COPY)
    with caplog.at_level(logging.WARNING, logger="index.duplicates"):
        index.sync()
    if damage == "garbage":
        assert "unreadable" in caplog.text
    expected = find_near_duplicates({f: index.store.vectors([c.id for c in e.chunks]) for f, e in index.manifest.files.items()},
                                    index.settings.duplicate_threshold)
    assert index.manifest.duplicates == expected and ("copy.txt", "original.txt") in [p[:2] for p in pairs_of(index)]
    assert load_centroids(path, "anything") is None and path.is_file()  # rewritten whole, under its own key


@pytest.mark.parametrize("block", [1, 7, 1024])
def test_close_pairs_by_blocks_are_the_full_matrix_pairs(monkeypatch, block):
    """Centroid candidates computed a block of rows at a time are exactly the upper triangle of the full matrix."""
    rng = np.random.default_rng(5)
    docs = documents(rng, 40)
    matrix = np.stack([centroid(docs[f]) for f in sorted(docs)])
    full = sorted(zip(*np.nonzero(np.triu(matrix @ matrix.T >= PREFILTER, k=1)), strict=True))
    monkeypatch.setattr(duplicates, "BLOCK", block)
    assert sorted(close_pairs(matrix)) == [(int(i), int(j)) for i, j in full]
    assert full, "the fixture must hold close pairs"
