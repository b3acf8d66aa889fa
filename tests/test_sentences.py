"""Sentences keep which line, and which characters of it, hold their words."""

from index import chunk_lines, split_sentences


def texts(lines):
    return [s.text for block in split_sentences(lines) for s in block]


def test_each_sentence_records_line_and_offsets():
    lines = ["The museum opened in 1931. Its founder was Maria Lopez."]
    (block,) = split_sentences(lines)
    first, second = block
    assert (first.spans[0].line, first.spans[0].start, first.spans[0].end) == (1, 0, 26)
    assert (second.spans[0].line, second.spans[0].start, second.spans[0].end) == (1, 27, 55)
    assert lines[0][27:55] == "Its founder was Maria Lopez."


def test_abbreviations_and_initials_do_not_end_sentences():
    assert texts(["The U.S. had warned Gen. Smith early. J. R. Tolkien agreed."]) == [
        "The U.S. had warned Gen. Smith early.",
        "J. R. Tolkien agreed.",
    ]


def test_acronym_with_hyphen_ends_a_sentence():
    assert texts(["Suspicion fell on ISIS-K. While ISIS claimed it, doubts stayed."]) == [
        "Suspicion fell on ISIS-K.",
        "While ISIS claimed it, doubts stayed.",
    ]


def test_missing_space_after_full_stop_is_split():
    assert texts(["They backed rivals.Furthermore, others fought."]) == ["They backed rivals.", "Furthermore, others fought."]


def test_long_lines_are_paragraphs_so_titles_stay_apart():
    assert texts(["Moscow carnage", "THE monstrous attack shocked all."]) == ["Moscow carnage", "THE monstrous attack shocked all."]


def test_wrapped_sentence_keeps_one_span_per_line():
    lines = ["# Title", "", "The bridge was built", "in 1887 by Calder. It spans", "the river."]
    blocks = split_sentences(lines)
    assert [s.text for s in blocks[0]] == ["# Title"]
    built, spans = blocks[1]
    assert built.text == "The bridge was built in 1887 by Calder."
    assert [(sp.line, sp.start, sp.end) for sp in built.spans] == [(3, 0, 20), (4, 0, 18)]
    assert [(sp.line, sp.start, sp.end) for sp in spans.spans] == [(4, 19, 27), (5, 0, 10)]


def test_chunks_never_split_sentences_and_know_their_lines():
    lines = ["Sentence one is here. Sentence two is here. Sentence three is here.", "", "Next paragraph."]
    chunks = chunk_lines(lines, "f.txt", "h", max_chars=100)
    assert [(c.first_line, c.last_line, len(c.sentences)) for c in chunks] == [(1, 1, 3), (3, 3, 1)]
    small = chunk_lines(lines, "f.txt", "h", max_chars=100)
    tiny = chunk_lines(lines, "f.txt", "h", max_chars=10)  # each sentence alone, never cut
    assert [c.text for c in tiny] == [s.text for c in small for s in c.sentences]


def test_a_wrapped_file_with_a_few_long_table_rows_and_links_is_still_wrapped():
    from index.sentences import is_wrapped

    prose = ["The inspector listens on the host and port given by the flag, and its", "default port is 9229."] * 30
    extras = ["| option | meaning |", "| " + "x" * 150 + " |", "[`fs.existsSync()`]: " + "https://nodejs.org/" + "y" * 120]
    assert is_wrapped(prose + extras)
    assert not is_wrapped(prose + ["A single paragraph line that is far longer than any wrapped line. " * 3] * 3)
