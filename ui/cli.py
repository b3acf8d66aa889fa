"""The ``docqa`` command: index a folder, ask a question, or chat in the terminal.

Answers go to stdout; diagnostics and errors to stderr. A DocqaError becomes one line
on stderr and exit status 2, never a traceback. Heavy libraries load only when needed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import DocqaError

if TYPE_CHECKING:
    from qa.models import Answer

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docqa",
        description="Answer questions from a folder of documents, with verified file:line quotes.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics on stderr (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_index = sub.add_parser("index", help="index (or update the index of) a folder of .txt/.md files")
    p_index.add_argument("path", nargs="?", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_index.add_argument("--json", action="store_true", help="print the indexing report as JSON")

    p_ask = sub.add_parser("ask", help="ask one question")
    p_ask.add_argument("question", help="the question, in quotes")
    p_ask.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_ask.add_argument("--json", action="store_true", help="print the full Answer as JSON")

    p_sources = sub.add_parser("sources", help="list indexed documents and near-duplicate pairs")
    p_sources.add_argument("path", nargs="?", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_sources.add_argument("--json", action="store_true", help="print as JSON")

    p_chat = sub.add_parser("chat", help="a conversation in the terminal (follow-up questions work)")
    p_chat.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")

    p_ui = sub.add_parser("ui", help="serve the web UI (default http://127.0.0.1:7860/)")
    p_ui.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_ui.add_argument("--host", help="address to bind (default: DOCQA_UI_HOST, 127.0.0.1)")
    p_ui.add_argument("--port", type=int, help="port (default: DOCQA_UI_PORT, 7860)")
    return parser


def render(answer: Answer) -> str:
    """Human-readable answer: the short answer, then each quote with its file:line."""
    if answer.abstained:
        return f"{answer.text}\n(no passage supports an answer: evidence {answer.evidence_score:.2f} < threshold {answer.threshold:.2f})"
    if answer.disagreement:
        lines = ["The sources disagree: " + "; ".join(f"{v.value} ({', '.join(v.locations)})" for v in answer.disagreement)]
    elif answer.mode == "generative" and answer.generation is not None:
        from qa.grounded import cite

        lines = [" ".join(cite(s.text, s.citations) for s in answer.generation.sentences if s.supported)]
        dropped = [s for s in answer.generation.sentences if not s.supported]
        lines += [f"(dropped, unsupported: “{s.text}”: {s.reason})" for s in dropped]
    else:
        lines = [answer.short_answer] if answer.short_answer else []
    if lines:
        lines.append("")
    for c in answer.citations:
        lines.append(f"{c.file}:{c.line}  \u201c{c.quote}\u201d")
        if c.restated_in:
            lines.append(f"    (restated by near-duplicate {', '.join(c.restated_in)}: the same source, not independent corroboration)")
    if answer.standalone_question != answer.question:
        lines.append(f"(searched: {answer.standalone_question})")
    if answer.generation is not None and answer.generation.fallback:
        lines.append(f"(extractive answer: {answer.generation.fallback})")
    return "\n".join(lines)


def _print_streamed(answerer, question: str, history: list[Answer]) -> Answer:  # type: ignore[no-untyped-def]
    """Answer with streaming: on a terminal the model's draft shows as it is written, then the checked
    answer replaces it; piped output gets only the checked answer."""
    import shutil

    from qa import StreamDone, StreamToken

    live = sys.stdout.isatty()
    draft = ""
    final: Answer | None = None
    for event in answerer.stream(question, history):
        if isinstance(event, StreamToken) and live:
            if not draft:
                sys.stdout.write("\033[2m")  # dim: a draft, not yet checked
            draft += event.delta
            sys.stdout.write(event.delta)
            sys.stdout.flush()
        elif isinstance(event, StreamDone):
            final = event.answer
    if draft:
        rows = max(1, -(-len(draft) // max(shutil.get_terminal_size().columns, 1)))
        sys.stdout.write("\033[0m\r\033[K" + "\033[1A\033[K" * (rows - 1))
    assert final is not None
    print(render(final))
    return final


def _cmd_index(args: argparse.Namespace) -> int:
    from index import CorpusIndex, load_settings

    settings = load_settings()
    index = CorpusIndex(args.path if args.path is not None else settings.corpus, settings)
    report = index.sync()
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    print(
        f"indexed {report.corpus}: {report.files_indexed} new/changed, {report.files_unchanged} unchanged, "
        f"{report.files_removed} removed, {len(report.skipped)} skipped; {report.chunks_total} chunks; "
        f"{report.embedding_calls} embedding calls; {report.seconds:.2f}s"
    )
    for s in report.skipped:
        print(f"skipped {s.file}: {s.reason}", file=sys.stderr)
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    import json

    from index import CorpusIndex, load_settings

    settings = load_settings()
    index = CorpusIndex(args.path if args.path is not None else settings.corpus, settings)
    index.sync()
    files = index.manifest.files
    pairs = index.manifest.duplicates or []
    if args.json:
        print(json.dumps({
            "corpus": str(index.corpus),
            "indexed_at": index.manifest.indexed_at.isoformat() if index.manifest.indexed_at else None,
            "files": [{"file": f, "lines": e.lines, "chunks": len(e.chunks), "encoding": e.encoding, "sha256": e.sha256} for f, e in sorted(files.items())],
            "near_duplicates": [p.model_dump() for p in pairs],
        }, indent=2))
        return 0
    print(f"{index.corpus}: {len(files)} documents, {index.manifest.chunk_count()} chunks")
    for f, e in sorted(files.items()):
        print(f"  {f}  ({e.lines} lines, {len(e.chunks)} chunks, {e.encoding})")
    print(f"near-duplicate pairs (similarity >= {settings.duplicate_threshold}): {len(pairs)}")
    for p in pairs:
        print(f"  {p.first} ~ {p.second}  similarity {p.similarity:.3f}, {p.matched_share:.0%} of chunks matched")
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from index import load_settings
    from qa.question import clean_question

    settings = load_settings()
    clean_question(args.question, settings.max_question_chars)  # fail fast, before loading anything heavy
    from qa import get_answerer

    answerer = get_answerer(args.corpus, settings)
    if args.json:
        print(answerer.answer(args.question).model_dump_json(indent=2))
    else:
        _print_streamed(answerer, args.question, [])
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from index import load_settings
    from qa import get_answerer

    settings = load_settings()
    engine = get_answerer(args.corpus, settings)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"docqa chat over {engine.index.corpus} ({len(engine.index.chunks)} chunks). "
              "Ask a question; /new starts a new conversation, /quit or Ctrl-D leaves.", file=sys.stderr)
    history: list[Answer] = []
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            break
        command = line.strip().lower()
        if command in ("/quit", "/exit"):
            break
        if command == "/new":
            history = []
            print("(new conversation)", file=sys.stderr)
            continue
        if not line.strip():
            continue
        try:
            result = _print_streamed(engine, line, history)
        except DocqaError as exc:
            print(f"docqa: {exc}", file=sys.stderr)
            continue
        history.append(result)
        print()
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from index import check_corpus, load_settings

    settings = load_settings()
    check_corpus(args.corpus if args.corpus is not None else settings.corpus)  # fail fast on a bad folder
    from .server import serve

    try:
        serve(args.corpus, settings, host=args.host, port=args.port, block=True)
    except KeyboardInterrupt:
        print("docqa: web UI stopped", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``docqa`` console script."""
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.verbose < 2:
        for noisy in ("sentence_transformers", "chromadb", "httpx", "transformers", "bm25s", "gradio", "uvicorn"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    from index.offline import enable_offline_mode

    enable_offline_mode()
    commands = {"index": _cmd_index, "ask": _cmd_ask, "chat": _cmd_chat, "sources": _cmd_sources, "ui": _cmd_ui}
    try:
        return commands[args.command](args)
    except DocqaError as exc:
        print(f"docqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("docqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`docqa ask ... | head`): stop quietly, as POSIX tools do on SIGPIPE.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
