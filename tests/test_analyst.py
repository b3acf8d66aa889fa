"""Disagreeing sources and near-duplicate documents, on tiny hand-made corpora (both stores)."""

from __future__ import annotations

import pytest

from index import CorpusIndex, HashingEmbedder
from qa import QAEngine

from .conftest import assert_verbatim, write_tree

DISAGREE = {
    "a.txt": b"The storm hit the coast on Monday.\nThe storm killed 12 people in the port town.\n",
    "b.txt": b"Officials said the storm killed at least 15 people in the port town.\n",
    "c.txt": b"Ferries stopped running for two days.\n",
}


@pytest.fixture
def disagree_engine(tmp_path, settings, store_kind):
    index = CorpusIndex(write_tree(tmp_path / "d", DISAGREE), settings, embedder=HashingEmbedder(), store=store_kind)
    index.sync()
    return QAEngine(index)


def test_disagreeing_numbers_are_each_cited(disagree_engine, tmp_path):
    a = disagree_engine.answer("How many people did the storm kill in the port town?")
    assert not a.abstained
    assert [(v.value, v.locations) for v in a.disagreement] == [("12", ["a.txt:2"]), ("at least 15", ["b.txt:1"])]
    assert a.short_answer_is_summary and a.short_answer == "12 / at least 15"
    assert a.text.startswith("The sources disagree: 12 (a.txt:2); at least 15 (b.txt:1).")
    assert {c.location for c in a.citations} == {"a.txt:2", "b.txt:1"}
    assert_verbatim(tmp_path / "d", a.citations)


def test_agreeing_sources_are_not_a_disagreement(disagree_engine):
    a = disagree_engine.answer("How many days did ferries stop running?")
    assert a.disagreement == [] and not a.short_answer_is_summary


NAMES = {
    "x.txt": b"The bridge was designed by Maria Lopez in 1887.\n",
    "y.txt": b"Records show the bridge was designed by Tomas Berg in 1887.\n",
}


def test_different_full_names_for_the_same_role_are_a_disagreement(tmp_path, settings):
    index = CorpusIndex(write_tree(tmp_path / "names", NAMES), settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    a = QAEngine(index).answer("Who designed the bridge?")
    assert sorted(v.value for v in a.disagreement) == ["Maria Lopez", "Tomas Berg"]


DUPES = {
    "original.txt": b"The council approved the new harbour budget on Tuesday.\nThe budget adds two ferry routes and a repair dock.\n",
    "copy.txt": b"On Tuesday the council approved the new harbour budget.\nThe budget adds a repair dock and two ferry routes.\n",
    "other.txt": b"The library will open a reading room for children in June.\nVolunteers will run weekend story hours.\n",
}


@pytest.fixture
def dupe_index(tmp_path, settings, store_kind):
    index = CorpusIndex(write_tree(tmp_path / "n", DUPES), settings, embedder=HashingEmbedder(), store=store_kind)
    index.sync()
    return index


def test_near_duplicate_pair_is_recorded(dupe_index):
    pairs = dupe_index.manifest.duplicates
    assert [(p.first, p.second) for p in pairs] == [("copy.txt", "original.txt")]
    assert pairs[0].similarity > 0.9


def test_near_duplicate_is_not_independent_corroboration(dupe_index):
    a = QAEngine(dupe_index).answer("What does the harbour budget add?")
    files = {c.file for c in a.citations}
    assert len(files & {"copy.txt", "original.txt"}) == 1  # only one of the pair is ever cited ...
    (adds,) = [c for c in a.citations if "adds" in c.quote]
    other = "original.txt" if adds.file == "copy.txt" else "copy.txt"
    assert adds.restated_in == [f"{other}:2"]  # ... and its repeat of the same sentence is named as such
    assert "restated by near-duplicate" in a.text


def test_removing_a_duplicate_clears_the_pair(dupe_index, tmp_path):
    (tmp_path / "n" / "copy.txt").unlink()
    dupe_index.sync()
    assert dupe_index.manifest.duplicates == []
