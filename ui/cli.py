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
    from qa.models import Answer, Citation

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

    p_sources = sub.add_parser("sources", help="list indexed documents (pages for PDFs), files skipped with their reasons, and near-duplicate pairs")
    p_sources.add_argument("path", nargs="?", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_sources.add_argument("--json", action="store_true", help="print as JSON")

    p_chat = sub.add_parser("chat", help="a conversation in the terminal (follow-up questions work)")
    p_chat.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")

    p_eval = sub.add_parser("eval", help="run eval suites (*.docqa.yaml / *.docqa.jsonl): exit 1 if any turn fails")
    p_eval.add_argument("suites", nargs="+", type=Path, metavar="SUITE", help="suite files, or folders to search for them")
    p_eval.add_argument("--corpus", type=Path, help="corpus folder for every suite (default: each suite's 'corpus:' header)")
    p_eval.add_argument("--tag", action="append", default=[], help="run only cases with this tag (repeatable)")
    out = p_eval.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the full report as JSON")
    out.add_argument("--markdown", action="store_true", help="print a Markdown summary instead of the table")
    p_eval.add_argument("--summary", type=Path, metavar="FILE",
                        help='also append the Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY")')

    p_mcp = sub.add_parser("mcp", help="serve the corpus to MCP clients (assistants, editors) over stdio")
    p_mcp.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")

    p_ui = sub.add_parser("ui", help="serve the web UI (default http://127.0.0.1:7860/)")
    p_ui.add_argument("--corpus", type=Path, help="corpus folder (default: DOCQA_CORPUS, the seeds)")
    p_ui.add_argument("--host", help="address to bind (default: DOCQA_UI_HOST, 127.0.0.1)")
    p_ui.add_argument("--port", type=int, help="port (default: DOCQA_UI_PORT, 7860)")
    p_ui.add_argument("--suites", type=Path, help="folder where 'Save as test' writes suite files (default: DOCQA_UI_SUITES, "
                      "else the current folder)")
    return parser


def _quote_lines(c: Citation) -> list[str]:
    """A quote with its file:line (and section), and where near-duplicates restate it."""
    where = f"{c.ref} [{c.file} > {c.section}]" if c.section else c.ref
    lines = [f"{where}  \u201c{c.quote}\u201d"]
    if c.restated_in:
        lines.append(f"    (restated by near-duplicate {', '.join(c.restated_in)}: the same source, not independent corroboration)")
    return lines


def render(answer: Answer) -> str:
    """Human-readable answer: the short answer, then each quote with its file:line."""
    if answer.abstained:
        shown = f"{answer.text}\n({answer.abstain_reason})"
        if answer.closest:
            from qa.models import CLOSEST_TITLE

            shown += f"\n\n{CLOSEST_TITLE}:\n" + "\n".join(line for c in answer.closest for line in _quote_lines(c))
        return shown
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
        lines.extend(_quote_lines(c))
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
    from qa.text_stats import prepare

    prepare(index)  # the next `docqa ask` reads the BM25 statistics instead of tokenising every chunk
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    print(
        f"indexed {report.corpus}: {report.files_indexed} new/changed, {report.files_unchanged} unchanged, "
        f"{report.files_removed} removed, {len(report.skipped)} skipped; {report.chunks_total} chunks; "
        f"{report.texts_embedded} texts embedded in {report.embedding_calls} calls; {report.seconds:.2f}s"
    )
    for s in report.skipped:
        print(f"skipped {s.file}: {s.reason}", file=sys.stderr)
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    import json

    from index import CorpusIndex, load_settings

    settings = load_settings()
    index = CorpusIndex(args.path if args.path is not None else settings.corpus, settings)
    report = index.sync()
    files = index.manifest.infos()
    pairs = index.manifest.duplicates or []
    if args.json:
        print(json.dumps({
            "corpus": str(index.corpus),
            "indexed_at": index.manifest.indexed_at.isoformat() if index.manifest.indexed_at else None,
            "files": [{"file": f, "lines": e.lines, "pages": e.pages, "chunks": e.chunk_count, "encoding": e.encoding,
                       "sha256": e.sha256} for f, e in sorted(files.items())],
            "skipped": [s.model_dump() for s in report.skipped],
            "near_duplicates": [p.model_dump() for p in pairs],
        }, indent=2))
        return 0
    print(f"{index.corpus}: {len(files)} documents, {index.manifest.chunk_count()} chunks")
    for f, e in sorted(files.items()):
        pages = f"{e.pages} pages, " if e.pages is not None else ""
        print(f"  {f}  ({pages}{e.lines} lines, {e.chunk_count} chunks, {e.encoding})")
    if report.skipped:
        print(f"skipped {len(report.skipped)} file(s):")
        for s in report.skipped:
            print(f"  {s.file}: {s.reason}")
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


def _save_conversation(target: str, history: list[Answer], corpus: Path) -> None:
    """``/save PATH`` in the chat: append the conversation so far to a suite file as one case."""
    from evals.usersuite import append_case

    if not target:
        print("docqa: usage: /save PATH, e.g. /save team.docqa.yaml (appends this conversation as a test case)", file=sys.stderr)
        return
    try:
        case = append_case(Path(target), history, corpus)
    except DocqaError as exc:
        print(f"docqa: {exc}", file=sys.stderr)
        return
    print(f"saved case {case.id!r} ({len(case.turns)} turn{'s' if len(case.turns) > 1 else ''}) to {target}; "
          f"run it with: pytest {target}   or   docqa eval {target}", file=sys.stderr)


def _cmd_chat(args: argparse.Namespace) -> int:
    from index import load_settings
    from qa import get_answerer

    settings = load_settings()
    engine = get_answerer(args.corpus, settings)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"docqa chat over {engine.index.corpus} ({engine.index.manifest.chunk_count()} chunks). "
              "Ask a question; /new starts a new conversation, /save PATH keeps it as a test case, /quit or Ctrl-D leaves.", file=sys.stderr)
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
        if command == "/save" or command.startswith("/save "):
            _save_conversation(line.strip()[len("/save"):].strip(), history, engine.index.corpus)
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


def suite_files(paths: list[Path]) -> list[Path]:
    """Suite files named, or found (recursively, sorted) in folders named; a SuiteError for a path that is neither."""
    from evals.usersuite import SUITE_SUFFIXES
    from index import SuiteError

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUITE_SUFFIXES))
            if not inside:
                raise SuiteError(f"no suite files (*{', *'.join(SUITE_SUFFIXES)}) in folder {str(path)!r}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise SuiteError(f"suite file {str(path)!r} not found")
    return found


def _cmd_eval(args: argparse.Namespace) -> int:
    from evals.usereval import render_markdown, render_table, run_suites
    from index import load_settings

    settings = load_settings()
    if args.summary is not None and not args.summary.parent.is_dir():
        print(f"docqa: error: cannot write the summary to {str(args.summary)!r}: its folder does not exist", file=sys.stderr)
        return 2
    report = run_suites(suite_files(args.suites), args.corpus, settings, tags=args.tag)
    if not report.outcomes:
        print(f"docqa: no cases carry the tag(s) {', '.join(args.tag)}", file=sys.stderr)
        return 2
    if args.summary is not None:
        try:
            with args.summary.open("a", encoding="utf-8") as out:
                out.write(render_markdown(report))
        except OSError as exc:
            print(f"docqa: cannot append the summary to {str(args.summary)!r}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.json:
        print(report.model_dump_json(indent=2))
    elif args.markdown:
        print(render_markdown(report), end="")
    else:
        print(render_table(report))
    return 1 if report.failed else 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    from index import check_corpus, load_settings

    settings = load_settings()
    check_corpus(args.corpus if args.corpus is not None else settings.corpus)  # fail fast, before the protocol starts
    from .mcp_server import serve_stdio

    serve_stdio(args.corpus, settings)
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from index import SuiteError, check_corpus, load_settings

    settings = load_settings(**({"ui_suites": args.suites} if args.suites is not None else {}))
    check_corpus(args.corpus if args.corpus is not None else settings.corpus)  # fail fast on a bad folder
    if settings.ui_suites is not None and not settings.ui_suites.expanduser().is_dir():
        raise SuiteError(f"suites folder {str(settings.ui_suites)!r} does not exist; create it or pass another --suites")
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
    commands = {"index": _cmd_index, "ask": _cmd_ask, "chat": _cmd_chat, "sources": _cmd_sources, "eval": _cmd_eval, "mcp": _cmd_mcp, "ui": _cmd_ui}
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
