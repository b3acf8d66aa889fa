"""Generative answers: citation parsing, re-anchoring, dropping unsupported sentences, fallbacks, streaming.

A deterministic fake LLM (tests/fakes.py) is registered with ``register_llm`` and selected with
``DOCQA_LLM`` like the real backends. Expected citations are worked out by hand from the tiny corpus.
"""

from __future__ import annotations

import pytest

from index import ConfigError, HashingEmbedder, load_settings
from qa import (
    GenerativeEngine,
    Passage,
    QAEngine,
    StreamDone,
    StreamToken,
    build_prompt,
    get_answerer,
    ground,
    make_llm,
    parse,
    register_llm,
    reset_llms,
)

from .conftest import assert_verbatim
from .fakes import ScriptedLLM, careful_reader, generative_engine

FOUNDER = Passage("museum.txt", 2, 0, 43, "Its founder was Maria Lopez, a shipbuilder.")
OPENED = Passage("museum.txt", 1, 0, 33, "The Harbor Museum opened in 1931.")
SHIPS = Passage("museum.txt", 4, 0, 35, "The museum holds 4,000 model ships.")
PASSAGES = [FOUNDER, OPENED, SHIPS]


# --------------------------------------------------------------------------- the parser
@pytest.mark.parametrize(
    ("output", "claims"),
    [
        ("Maria Lopez founded it [museum.txt:2].", [("Maria Lopez founded it.", ["museum.txt:2"])]),
        (" Maria Lopez [museum.txt:2]", [("Maria Lopez", ["museum.txt:2"])]),
        ("It opened in 1931 [museum.txt:1]. It holds 4,000 ships [museum.txt:4].",
         [("It opened in 1931.", ["museum.txt:1"]), ("It holds 4,000 ships.", ["museum.txt:4"])]),
        ("Maria Lopez founded it. [museum.txt:2]", [("Maria Lopez founded it.", ["museum.txt:2"])]),
        ("Lopez [ museum.txt : 2 ] [notes/crlf.txt:2]", [("Lopez", ["museum.txt:2", "notes/crlf.txt:2"])]),
        ("", []),
        ("   ", []),
    ],
)
def test_parse_splits_sentences_and_labels(output, claims):
    assert [(c.text, c.labels) for c in parse(output)] == claims


def test_prompt_lists_passages_with_labels_and_ends_with_the_question():
    prompt = build_prompt("Who founded the museum?", PASSAGES)
    assert prompt.startswith("Answer the question in one short sentence using only the passages, and cite the label")
    assert "[museum.txt:2] Its founder was Maria Lopez, a shipbuilder.\n" in prompt
    assert prompt.endswith("Question: Who founded the museum?\nAnswer:")


def test_base_prompt_is_the_three_best_passages_and_the_question():
    extra = Passage("museum.txt", 5, 0, 10, "Fourth one")
    assert build_prompt("Who founded the museum?", [*PASSAGES, extra], "base") == (
        "[museum.txt:2] Its founder was Maria Lopez, a shipbuilder.\n"
        "[museum.txt:1] The Harbor Museum opened in 1931.\n"
        "[museum.txt:4] The museum holds 4,000 model ships.\n\n"
        "Question: Who founded the museum?\nAnswer:"
    )


# --------------------------------------------------------------------------- grounding
def test_supported_sentence_is_kept_with_its_cited_passage():
    g = ground("Maria Lopez founded it [museum.txt:2].", PASSAGES, "Who founded the museum?")
    assert g.kept == [("Maria Lopez founded it.", [FOUNDER])] and not g.dropped and not g.invalid_labels


def test_invented_label_is_ignored_and_the_sentence_reanchored_to_the_passage_that_supports_it():
    g = ground("The museum opened in 1931 [museum.txt:9].", PASSAGES, "When did the museum open?")
    assert g.invalid_labels == ["museum.txt:9"]
    assert g.kept == [("The museum opened in 1931.", [OPENED])]


def test_wrong_but_existing_label_is_reanchored():
    g = ground("It holds 4,000 model ships [museum.txt:2].", PASSAGES, "How many ships?")
    assert g.kept == [("It holds 4,000 model ships.", [SHIPS])]


def test_uncited_sentence_is_anchored_when_one_passage_supports_it():
    g = ground("Maria Lopez", PASSAGES, "Who founded the museum?")
    assert g.kept == [("Maria Lopez", [FOUNDER])]


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("It was founded by John Smith [museum.txt:2].", "John, Smith not in the cited passages"),
        ("The museum opened in 1990 [museum.txt:1].", "1990 not in the cited passages"),
        ("Maria Lopez was a famous painter [museum.txt:2].", "famous, painter not in the cited passages"),
        ("Maria Lopez did not found it [museum.txt:2].", "negation (not) not in the cited passages"),
        ("Who founded the museum [museum.txt:2]?", "only repeats the question"),
    ],
)
def test_unsupported_sentences_are_dropped_with_the_reason(output, reason):
    g = ground(output, PASSAGES, "Who founded the museum?")
    assert g.kept == []
    assert g.dropped == [(parse(output)[0].text, reason)]


def test_mixed_answer_keeps_only_the_supported_sentence():
    g = ground("Maria Lopez founded it [museum.txt:2]. She was born in Lisbon [museum.txt:2].", PASSAGES, "Who founded the museum?")
    assert [t for t, _ in g.kept] == ["Maria Lopez founded it."]
    assert g.dropped == [("She was born in Lisbon.", "born, Lisbon not in the cited passages")]


@pytest.mark.parametrize("output", ["unknown", "Unknown.", "I don't know."])
def test_unknown_is_recognised(output):
    assert ground(output, PASSAGES, "Who painted it?").unknown


# --------------------------------------------------------------------------- the engine with a fake LLM
@pytest.fixture
def fake_llm():
    made: list[ScriptedLLM] = []

    def use(script=careful_reader, **kwargs) -> list[ScriptedLLM]:  # type: ignore[no-untyped-def]
        register_llm("fake", lambda settings: made.append(ScriptedLLM(script, **kwargs)) or made[-1])
        reset_llms()
        return made

    yield use
    reset_llms()


@pytest.fixture
def gen(tiny, tmp_path, fake_llm):
    def build(script=careful_reader, **overrides) -> tuple[GenerativeEngine, list[ScriptedLLM]]:  # type: ignore[no-untyped-def]
        made = fake_llm(script, **{k: overrides.pop(k) for k in ("delay", "error") if k in overrides})
        return generative_engine(tiny, tmp_path / "home", llm="fake", **overrides), made

    return build


def test_generated_answer_cites_verbatim_lines(gen, tiny):
    engine, made = gen()
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "generative" and a.generation is not None and a.generation.fallback is None
    assert a.generation.raw == " The lighthouse keeper was Tomas Berg [notes/crlf.txt:2]."  # cut at the newline
    assert [s.citations for s in a.generation.sentences] == [["notes/crlf.txt:2"]]
    assert a.citations[0].location == "notes/crlf.txt:2"
    assert a.citations[0].quote == "The lighthouse keeper was Tomas Berg."
    assert a.text.startswith("The lighthouse keeper was Tomas Berg [notes/crlf.txt:2]")
    assert_verbatim(tiny, a.citations)
    assert "[notes/crlf.txt:2] The lighthouse keeper was Tomas Berg." in made[0].prompts[0]


def test_unsupported_sentence_is_dropped_from_the_answer(gen, tiny):
    engine, _ = gen(lambda p: "Tomas Berg was the keeper [notes/crlf.txt:2]. He retired in 1950 [notes/crlf.txt:2].")
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "generative"
    assert "1950" not in a.text and "Tomas Berg was the keeper" in a.text
    sentences = a.generation.sentences
    assert [(s.text, s.supported) for s in sentences] == [("Tomas Berg was the keeper.", True), ("He retired in 1950.", False)]
    assert sentences[1].reason == "retired, 1950 not in the cited passages"
    assert_verbatim(tiny, a.citations)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"error": RuntimeError("model crashed")}, "the LLM failed (RuntimeError: model crashed)"),
        ({"error": ConnectionError("refused")}, "the LLM failed (ConnectionError: refused)"),
        ({"delay": 0.2, "llm_timeout": 0.3}, "the LLM failed (TimeoutError: the LLM took longer than DOCQA_LLM_TIMEOUT=0.3 s)"),
    ],
)
def test_model_failure_or_timeout_falls_back_to_the_extractive_answer(gen, kwargs, reason):
    def script(prompt: str) -> str:
        return "Tomas Berg was the lighthouse keeper at the old harbour for many long years [notes/crlf.txt:2]."

    engine, _ = gen(script, **kwargs)
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "extractive" and a.generation.fallback == reason
    assert a.short_answer == "Tomas Berg" and a.citations[0].location == "notes/crlf.txt:2"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("The keeper was Ahab [notes/crlf.txt:2].", "nothing the model wrote is supported by the passages"),
        ("", "nothing the model wrote is supported by the passages"),
        ("unknown", "the model found no answer in the passages"),
    ],
)
def test_nothing_verifiable_falls_back(gen, output, reason):
    engine, _ = gen(lambda p: output)
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "extractive" and a.generation.fallback == reason and a.short_answer == "Tomas Berg"


def test_abstention_never_asks_the_model(gen):
    engine, made = gen()
    a = engine.answer("What is the boiling point of mercury?")
    assert a.abstained and not a.citations and a.mode == "extractive"
    assert a.generation.fallback.startswith("the documents do not hold the answer")
    assert made[0].prompts == []


def test_stream_yields_tokens_then_the_checked_answer(gen):
    engine, _ = gen()
    events = list(engine.stream("Who was the lighthouse keeper?"))
    tokens = [e.delta for e in events if isinstance(e, StreamToken)]
    assert len(tokens) > 3 and isinstance(events[-1], StreamDone)
    assert all(isinstance(e, StreamToken) for e in events[:-1])
    assert "".join(tokens) == events[-1].answer.generation.raw


def test_llm_rewrites_follow_ups_when_enabled(gen):
    engine, made = gen(llm_rewrite=True)
    first = engine.answer("Who built the old bridge?")
    follow = engine.answer("When did they build it?", [first])
    assert follow.rewritten_by == "llm"
    assert follow.standalone_question == "When was the old bridge built by the Calder company?"
    assert "1887" in follow.text
    assert "Last question: When did they build it?" in made[0].prompts[1]


def test_unusable_llm_rewrite_falls_back_to_the_rules(gen):
    engine, _ = gen(lambda p: "not a question" if "Standalone question:" in p.rsplit("\n\n", 1)[-1] else "unknown", llm_rewrite=True)
    first = engine.answer("Who was the lighthouse keeper?")
    follow = engine.answer("When was the lamp lit?", [first])
    assert follow.rewritten_by in ("none", "rules")


@pytest.mark.slow
def test_settings_select_the_backend(tiny, tmp_path, fake_llm):
    fake_llm()
    settings = load_settings(home=tmp_path / "home", llm="fake")
    assert isinstance(get_answerer(tiny, settings), GenerativeEngine)
    assert isinstance(get_answerer(tiny, load_settings(home=tmp_path / "home")), QAEngine)
    with pytest.raises(ConfigError, match="DOCQA_LLM='nosuch' has no backend; use one of none, .*llamacpp.*ollama.*openai"):
        make_llm(load_settings(home=tmp_path / "home", llm="nosuch"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DOCQA_LLM": "ollama"}, "DOCQA_LLM=ollama needs DOCQA_LLM_MODEL"),
        ({"DOCQA_LLM": "openai", "DOCQA_LLM_MODEL": "m"}, "DOCQA_LLM=openai needs DOCQA_LLM_BASE_URL"),
        ({"DOCQA_LLM": "ollama", "DOCQA_LLM_MODEL": "m", "DOCQA_LLM_BASE_URL": "localhost:11434"}, "is not an http"),
        ({"DOCQA_LLM": "llama cpp"}, "DOCQA_LLM='llama cpp' is not a backend name"),
        ({"DOCQA_LLM_TIMEOUT": "-1"}, "llm_timeout"),
        ({"DOCQA_LLM": "nosuch"}, "DOCQA_LLM='nosuch' has no backend"),
        ({"DOCQA_LLM": "llamacpp", "DOCQA_LLM_MODEL": "/no/such/model.gguf"}, "is not a file"),
    ],
)
def test_cli_reports_bad_llm_settings_in_one_line(tiny, monkeypatch, capsys, env, message):
    from ui.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["ask", "Who was the lighthouse keeper?", "--corpus", str(tiny)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("docqa: error:")


@pytest.mark.slow
def test_cli_ask_and_chat_use_the_configured_llm(tiny, monkeypatch, capsys, fake_llm):
    import io

    from ui.cli import main

    fake_llm()
    monkeypatch.setenv("DOCQA_LLM", "fake")
    assert main(["ask", "Who was the lighthouse keeper?", "--corpus", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The lighthouse keeper was Tomas Berg [notes/crlf.txt:2].\n\nnotes/crlf.txt:2  “The lighthouse keeper was Tomas Berg.”")
    monkeypatch.setattr("sys.stdin", io.StringIO("Who built the old bridge?\nWhen was the lamp lit?\n"))
    assert main(["chat", "--corpus", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "The old bridge was built in 1887 by the Calder company [no_newline.md:3]." in out
    assert "The lamp was lit every night at dusk [notes/crlf.txt:3]." in out


def test_a_passage_that_answers_something_else_does_not_support_the_claim():
    """'Russia' occurs in the passage, but the passage's answer to the question is ISIS."""
    isis = Passage("news.txt", 3, 0, 80, "While ISIS claimed responsibility for the attack, officials warned about attacks in Russia.")
    question = "Who claimed responsibility for the attack?"

    def reader(text: str) -> str | None:
        from qa import extract

        span = extract(question, text)
        return span.text if span else None

    assert reader(isis.text) == "ISIS"
    g = ground("Russia [news.txt:3]", [isis], question, reader)
    assert g.kept == [] and g.dropped == [("Russia", "the cited passage answers \u201cISIS\u201d")]
    assert ground("ISIS claimed it [news.txt:3].", [isis], question, reader).kept == [("ISIS claimed it.", [isis])]


def test_web_chat_streams_the_draft_then_shows_checked_sentences_with_chips(tiny, tmp_path, fake_llm):
    from ui.app import Handlers
    from ui.service import DocqaService

    fake_llm(lambda p: "Tomas Berg was the keeper [notes/crlf.txt:2]. He retired in 1950 [notes/crlf.txt:2].")
    settings = load_settings(home=tmp_path / "home", llm="fake")
    service = DocqaService(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    steps = list(Handlers(service).respond("Who was the lighthouse keeper?", [], []))
    bubbles = [messages[-1]["content"] for messages, _, _ in steps]
    drafts = [b for b in bubbles if "docqa-draft" in b]
    assert len(drafts) >= 4 and "not yet checked" in drafts[0]
    assert "He retired in 1950" in drafts[-1]  # the draft shows everything the model wrote
    final = bubbles[-1]
    assert 'class="docqa-generated">Tomas Berg was the keeper. <button' in final
    assert 'data-ref="notes/crlf.txt:2' in final
    assert "<s>He retired in 1950.</s> (retired, 1950 not in the cited passages)" in final
    assert steps[-1][1][-1].mode == "generative"


# --------------------------------------------------------------------------- the LLM bar below the extractive threshold
class _StrictScorer:
    """Rules ranking, but the extractive answer abstains on everything (threshold 0.99); the LLM is asked from 0.2."""

    def __new__(cls, settings):  # type: ignore[no-untyped-def]
        from qa.scorer import RulesScorer

        scorer = RulesScorer(0.99)
        scorer.llm_threshold = 0.2
        return scorer


@pytest.fixture
def strict(gen):
    from qa.scorer import register_scorer

    register_scorer("strict", _StrictScorer)
    return lambda script=careful_reader: gen(script, evidence="strict")


def test_between_the_bars_the_llm_answers_what_the_extractive_reader_abstains_on(strict, tiny):
    engine, made = strict()
    extractive = engine.engine.answer("Who was the lighthouse keeper?")
    assert extractive.abstained and 0.2 <= extractive.evidence_score < 0.99
    assert extractive.closest[0].location == "notes/crlf.txt:2"
    a = engine.answer("Who was the lighthouse keeper?")
    assert not a.abstained and a.mode == "generative" and a.generation.fallback is None
    assert a.closest == []  # answered: its support is the citations
    assert a.citations[0].location == "notes/crlf.txt:2"
    assert_verbatim(tiny, a.citations)
    assert len(made[0].prompts) == 1


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("unknown", "the model found no answer in the passages"),
        ("The keeper was Ahab [notes/crlf.txt:2].", "nothing the model wrote is supported by the passages"),
    ],
)
def test_between_the_bars_the_llms_not_in_the_documents_is_respected(strict, output, reason):
    engine, made = strict(lambda p: output)
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.abstained and not a.citations and a.mode == "extractive"
    assert a.generation.fallback == reason and len(made[0].prompts) == 1
    assert a.closest[0].location == "notes/crlf.txt:2"  # the extractive abstention's closest passages stay


def test_under_the_llm_bar_the_model_is_never_asked(strict):
    engine, made = strict()
    a = engine.answer("What is the boiling point of mercury?")
    assert a.abstained and a.evidence_score < 0.2
    assert a.generation.fallback.startswith("the documents do not hold the answer")
    assert made[0].prompts == []
