"""Users' suite files: the format, one clear line per mistake, judging answers, and saving conversations safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.usersuite import append_case, check_turn, load_user_suite, parse_suite
from index import SuiteError
from qa.models import Answer, Citation, SourceValue


def answer(question: str, short: str | None = None, cites: tuple[str, ...] = (), text: str | None = None,
           abstained: bool = False, disagreement: list[SourceValue] | None = None) -> Answer:
    citations = []
    for ref in cites:
        file, line = ref.rsplit(":", 1)
        page = None
        if ":p" in file:  # "report.pdf:p2:3" stands for text-view line 10 + 3 of a PDF whose page 2 starts at line 11
            file, page = file.rsplit(":p", 1)
        citations.append(Citation(file=file, line=int(line) + (10 if page else 0), quote="q", start=0, end=1, score=1.0,
                                  page=int(page) if page else None, page_line=int(line) if page else None))
    body = text if text is not None else "\n".join(filter(None, [short, *(f"{c} \u201cq\u201d" for c in cites)]))
    return Answer(question=question, standalone_question=question, text=body, short_answer=short, citations=citations,
                  abstained=abstained, evidence_score=0.9 if not abstained else 0.1, threshold=0.3, corpus="/c",
                  disagreement=disagreement or [])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FULL = """\
corpus: docs
description: what the support team relies on
cases:
  - id: founder
    tags: [smoke]
    question: Who founded the museum?
    contains: Maria Lopez
    cites: museum.txt:2
  - id: keeper
    turns:
      - question: Who was the lighthouse keeper?
        matches: "Tomas|Berg"
        cites: [notes/crlf.txt]
      - question: What did he light?
        contains: [lamp]
        excludes: [candle]
  - question: What is the recipe for sourdough?
    abstain: true
"""


def test_yaml_suite_with_header_single_questions_conversations_and_abstention(tmp_path):
    (tmp_path / "docs").mkdir()
    suite = load_user_suite(write(tmp_path, "team.docqa.yaml", FULL))
    assert suite.corpus == (tmp_path / "docs").resolve()
    assert [c.id for c in suite.cases] == ["founder", "keeper", "what-is-the-recipe-for-sourdough"]
    founder, keeper, sourdough = suite.cases
    assert founder.tags == ["smoke"] and founder.turns[0].contains == ["Maria Lopez"] and founder.turns[0].cites == ["museum.txt:2"]
    assert [t.question for t in keeper.turns] == ["Who was the lighthouse keeper?", "What did he light?"]
    assert keeper.turns[1].excludes == ["candle"]
    assert sourdough.turns[0].abstain
    assert suite.corpus_for(None) == (tmp_path / "docs").resolve()


def test_jsonl_suite_with_header_line(tmp_path):
    (tmp_path / "docs").mkdir()
    path = write(tmp_path, "gen.docqa.jsonl", "\n".join([
        json.dumps({"corpus": "docs"}),
        json.dumps({"id": "a", "question": "Who?", "contains": "x"}),
        "",
        json.dumps({"turns": [{"question": "When?", "matches": "19\\d\\d"}]}),
    ]))
    suite = load_user_suite(path)
    assert [c.id for c in suite.cases] == ["a", "when"]
    assert suite.corpus == (tmp_path / "docs").resolve()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    contians: x\n",
         "s.docqa.yaml: case #1, field 'contians': unknown field 'contians'; a case has: id, tags, turns, question"),
        ("s.docqa.yaml", "cases:\n  - id: a\n    turns:\n      - question: Who?\n        contains: x\n      - contains: y\n",
         "s.docqa.yaml: case #1 'a', turn 2: missing 'question'"),
        ("s.docqa.yaml", "cases:\n  - id: a\n    contains: x\n", "s.docqa.yaml: case #1 'a': missing 'question'"),
        ("s.docqa.yaml", "cases:\n  - id: r\n    question: Who?\n    matches: '(unclosed'\n",
         "s.docqa.yaml: case #1 'r', turn 1, field 'matches': '(unclosed' is not a valid regular expression"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n", "case #1, turn 1: the turn expects nothing"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    abstain: true\n    contains: x\n", "cannot also expect"),
        ("s.docqa.yaml", "cases:\n  - question: '  '\n    contains: x\n", "field 'question': the question is empty"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    cites: report.pdf:p3\n", "names a page but no line"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    cites: ../secret.txt:1\n", "without '..'"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    cites: a.txt:0\n", "lines count from 1"),
        ("s.docqa.yaml", "cases:\n  - question: Who?\n    cites: a.pdf:p0:3\n", "pages and lines count from 1"),
        ("s.docqa.yaml", "cases:\n  - id: x\n    question: A?\n    contains: a\n  - id: x\n    question: B?\n    contains: b\n",
         "case #2 'x': id 'x' is used by an earlier case"),
        ("s.docqa.yaml", "cases:\n  - id: 'has space'\n    question: A?\n    contains: a\n", "field 'id': 'has space': use letters"),
        ("s.docqa.yaml", "corpus: docs\ncorpsu: x\ncases: []\n", "unknown header field 'corpsu'"),
        ("s.docqa.yaml", "cases:\n\t- question: Who?\n", "s.docqa.yaml:2: not valid YAML"),
        ("s.docqa.yaml", "corpus: docs\n", "no 'cases' list"),
        ("s.docqa.yaml", "cases:\n", "holds no cases"),
        ("s.docqa.yaml", "cases:\n  - just a string\n", "a case is a mapping"),
        ("s.docqa.jsonl", '{"question": "Who?", "contains": "x"}\n{"question": \n', "s.docqa.jsonl:2: not valid JSON"),
        ("s.docqa.jsonl", '{"question": "Who?", "contains": "x"}\n{"corpus": "docs"}\n', "s.docqa.jsonl:2: a header line"),
        ("s.txt", "cases: []\n", "name it NAME.docqa.yaml"),
    ],
    ids=["unknown-field", "turn-without-question", "case-without-question", "bad-regex", "expects-nothing", "abstain-and-expect",
         "empty-question", "page-without-line", "escaping-citation", "line-zero", "page-zero", "duplicate-id", "bad-id", "unknown-header",
         "yaml-syntax", "no-cases", "empty-cases", "case-not-mapping", "jsonl-syntax", "late-header", "wrong-name"],
)
def test_every_mistake_is_one_message_naming_file_case_and_field(tmp_path, name, text, message):
    with pytest.raises(SuiteError) as err:
        load_user_suite(write(tmp_path, name, text))
    assert message in str(err.value)
    assert str(tmp_path / name) in str(err.value)


def test_missing_corpus_is_named_with_both_ways_to_give_one(tmp_path):
    suite = load_user_suite(write(tmp_path, "s.docqa.yaml", "cases:\n  - question: A?\n    contains: a\n"))
    with pytest.raises(SuiteError, match="add 'corpus: FOLDER'.*--corpus FOLDER"):
        suite.corpus_for(None)
    with pytest.raises(SuiteError, match="'/nope' \\(given on the command line\\) does not exist"):
        suite.corpus_for("/nope")
    named = load_user_suite(write(tmp_path, "t.docqa.yaml", "corpus: gone\ncases:\n  - question: A?\n    contains: a\n"))
    with pytest.raises(SuiteError, match="named in .*t.docqa.yaml"):
        named.corpus_for(None)
    assert named.corpus_for(tmp_path) == tmp_path.resolve()  # the command line wins


def turn(**fields):
    return parse_suite(Path("x.docqa.yaml"), json.dumps({"cases": [{"question": "Q?", **fields}]})).cases[0].turns[0]


@pytest.mark.parametrize(
    ("fields", "got", "failures"),
    [
        ({"contains": "maria  LOPEZ"}, answer("Q?", "Maria Lopez", ("museum.txt:2",)), []),
        ({"contains": "it's"}, answer("Q?", text="It\u2019s here"), []),
        ({"contains": ["Maria", "1931"]}, answer("Q?", "Maria Lopez"), ["the answer does not contain '1931'"]),
        ({"matches": "Tomas|Berg"}, answer("Q?", "Tomas Berg"), []),
        ({"matches": "^1887$"}, answer("Q?", "In 1887"), ["the answer does not match /^1887$/"]),
        ({"excludes": "Berg"}, answer("Q?", "Tomas Berg"), ["the answer contains 'Berg'"]),
        ({"cites": "museum.txt"}, answer("Q?", "x", ("museum.txt:4",)), []),
        ({"cites": ["a.txt:1", "museum.txt:2"]}, answer("Q?", "x", ("b.txt:9", "museum.txt:2")), []),
        ({"cites": "museum.txt:2"}, answer("Q?", "x", ("museum.txt:4",)),
         ["no citation of museum.txt:2 (cited: museum.txt:4)"]),
        ({"cites": "report.pdf:p2:3"}, answer("Q?", "x", ("report.pdf:p2:3",)), []),
        ({"cites": "report.pdf:p2:3"}, answer("Q?", "x", ("report.pdf:p1:3",)),
         ["no citation of report.pdf:p2:3 (cited: report.pdf:p1:3)"]),
        ({"cites": "report.pdf:13"}, answer("Q?", "x", ("report.pdf:p2:3",)),
         ["no citation of report.pdf:13 (cited: report.pdf:p2:3)"]),
        ({"cites": "report.pdf"}, answer("Q?", "x", ("report.pdf:p2:3",)), []),
        ({"cites": "report.pdf:p2:3-4"}, answer("Q?", "x", ("report.pdf:p2:3",)), []),
        ({"contains": "x"}, answer("Q?", abstained=True, text="The documents don't say."),
         ["docqa said the documents do not hold the answer (evidence 0.10 < threshold 0.30)"]),
        ({"abstain": True}, answer("Q?", abstained=True, text="The documents don't say."), []),
        ({"abstain": True}, answer("Q?", "Over 140", ("a.txt:1",)),
         ["expected docqa to say the documents do not hold the answer, but it answered 'Over 140'"]),
    ],
    ids=["contains-normalised", "curly-quote", "contains-all", "regex", "regex-miss", "excludes", "cites-file",
         "cites-any", "cites-miss", "cites-page", "cites-page-miss", "pdf-needs-page", "cites-pdf-file", "cites-range-first-line", "abstained-wrongly", "abstained-rightly", "answered-wrongly"],
)
def test_check_turn(fields, got, failures):
    assert check_turn(turn(**fields), got) == failures


def test_saved_conversation_keeps_short_answers_and_first_citations(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    path = tmp_path / "team.docqa.yaml"
    convo = [
        answer("Who founded the museum?", "Maria Lopez", ("museum.txt:2", "museum.txt:1")),
        answer("What was her trade?", None, ("museum.txt:2",)),
        answer("What did the tickets cost?", abstained=True, text="The documents don't say."),
    ]
    case = append_case(path, convo, corpus)
    assert case.id == "who-founded-the-museum"
    suite = load_user_suite(path)
    assert suite.corpus == corpus.resolve()
    assert [t.model_dump(exclude_defaults=True) for t in suite.cases[0].turns] == [
        {"question": "Who founded the museum?", "contains": ["Maria Lopez"], "cites": ["museum.txt:2"]},
        {"question": "What was her trade?", "cites": ["museum.txt:2"]},
        {"question": "What did the tickets cost?", "abstain": True},
    ]
    for a, t in zip(convo, suite.cases[0].turns, strict=True):
        assert check_turn(t, a) == []  # what was saved passes against what was answered
    again = append_case(path, convo[:1], corpus)  # appending: same question, a new unique id
    assert again.id == "who-founded-the-museum-2"
    assert [c.id for c in load_user_suite(path).cases] == ["who-founded-the-museum", "who-founded-the-museum-2"]


def test_disagreeing_sources_save_every_value(tmp_path):
    values = [SourceValue(value="139", locations=["a.txt:1"]), SourceValue(value="over 140", locations=["b.txt:2"])]
    append_case(tmp_path / "s.docqa.jsonl", [answer("How many died?", "139 or over 140", ("a.txt:1",), disagreement=values)], tmp_path)
    lines = (tmp_path / "s.docqa.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"corpus": "."}
    assert json.loads(lines[1])["turns"][0]["contains"] == ["139", "over 140"]


def test_appending_to_a_hand_written_file_keeps_its_comments_and_indentation(tmp_path):
    (tmp_path / "docs").mkdir()
    path = write(tmp_path, "team.docqa.yaml", "# our questions\ncorpus: docs\ncases:\n  # the founder\n  - id: a\n    question: A?\n    contains: a\n")
    append_case(path, [answer("Who?", "B")], tmp_path / "docs")
    text = path.read_text()
    assert text.startswith("# our questions\ncorpus: docs\ncases:\n  # the founder\n  - id: a\n")
    assert "\n  - id: who\n" in text
    assert [c.id for c in load_user_suite(path).cases] == ["a", "who"]


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        ("just some notes\n", "is not a docqa suite, so it was left as it is"),
        ("cases:\n  - question: A?\n    contains: a\ncorpus: docs\n", "cannot append to .* safely"),
        ("corpus: elsewhere\ncases:\n  - question: A?\n    contains: a\n", "is a suite over .*elsewhere, not"),
    ],
    ids=["not-a-suite", "cases-not-last", "other-corpus"],
)
def test_saving_never_damages_an_existing_file(tmp_path, existing, message):
    (tmp_path / "docs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    path = write(tmp_path, "team.docqa.yaml", existing)
    with pytest.raises(SuiteError, match=message):
        append_case(path, [answer("Who?", "B")], tmp_path / "docs")
    assert path.read_text() == existing
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "home")  # home: DOCQA_HOME (conftest)
    assert left == ["docs", "elsewhere", "team.docqa.yaml"]  # no temp file left


@pytest.mark.parametrize(
    ("name", "message"),
    [("notes.txt", "must end in|ends in"), ("missing/s.docqa.yaml", "does not exist")],
)
def test_saving_refuses_bad_targets(tmp_path, name, message):
    with pytest.raises(SuiteError, match=message):
        append_case(tmp_path / name, [answer("Who?", "B")], tmp_path)


def test_nothing_to_save_is_a_clear_error(tmp_path):
    with pytest.raises(SuiteError, match="ask a question first"):
        append_case(tmp_path / "s.docqa.yaml", [], tmp_path)
    assert not (tmp_path / "s.docqa.yaml").exists()


def test_a_line_range_citation_is_saved_as_its_first_line_and_matches_any_line_of_it():
    from evals.usersuite import turn_from_answer

    cite = Citation(file="cli.md", line=3, last_line=4, quote="a b", start=0, end=5, score=1.0)
    got = Answer(question="Q?", standalone_question="Q?", text="9229 (cli.md:3-4)", short_answer="9229", citations=[cite],
                 abstained=False, evidence_score=0.9, threshold=0.3, corpus="/c")
    saved = turn_from_answer(got)
    assert saved.cites == ["cli.md:3"]
    assert check_turn(saved, got) == []
    assert check_turn(turn(cites="cli.md:4"), got) == [] and check_turn(turn(cites="cli.md:3-4"), got) == []
    assert check_turn(turn(cites="cli.md:5"), got) == ["no citation of cli.md:5 (cited: cli.md:3-4)"]
