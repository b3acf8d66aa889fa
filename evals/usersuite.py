"""Users' eval suites: their own questions about their own documents, as YAML (hand-written) or JSONL (generated).

A suite file holds an optional header (``corpus``: the folder to ask, relative to the suite file) and a list of cases.
A case is one question or a conversation (``turns``); each turn says what a right answer contains, matches or cites,
or that the documents do not hold the answer (``abstain: true``). Example (``team.docqa.yaml``)::

    corpus: ../docs
    cases:
      - id: who-claimed
        question: Who claimed responsibility for the attack?
        contains: IS-K
        cites: 000_a6e0bd50d51ad334.txt:5
      - id: group-base
        turns:
          - question: Who claimed responsibility?
            matches: "IS-?K|Islamic State"
          - question: Where is that group based?
            contains: [Afghanistan]
      - question: What did the tickets cost?
        abstain: true

Every error names the file, the case and the field, and says how to fix it (``SuiteError``). This module reads and
writes suite files and judges one answer against one turn; running them is ``evals.usereval``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from index import SuiteError
from qa.models import Answer, Citation, display_ref

#: File names pytest collects and ``docqa eval`` accepts (``name.docqa.yaml``, ``name.docqa.yml``, ``name.docqa.jsonl``).
SUITE_SUFFIXES = (".docqa.yaml", ".docqa.yml", ".docqa.jsonl")
TURN_FIELDS = ("question", "contains", "matches", "excludes", "cites", "abstain")
#: 'file', 'file:12', 'file:p3:12'; a range as docqa shows it ('file:12-13', 'file:p3:40-p4:2') names its first line.
_CITE = re.compile(r"^(?P<file>.*?[^:])(?::p(?P<page>\d+))?(?::(?P<line>\d+)(?:-(?:p\d+:)?\d+)?)?$")
_save_lock = threading.Lock()


def _as_list(value: Any) -> Any:
    """A lone string where a list is expected becomes a one-item list (``contains: IS-K``)."""
    return [value] if isinstance(value, str) else value


class CiteSpec(BaseModel):
    """A citation an answer must make: any line of a file, one line, or (in a PDF) a line on a page."""

    file: str = Field(description="Path relative to the corpus root, with '/' separators.")
    page: int | None = Field(default=None, description="1-based page (PDFs); with ``line``, the line on that page.")
    line: int | None = Field(default=None, description="1-based line (on ``page`` when given); None: any line of the file.")

    @classmethod
    def parse(cls, spec: str) -> CiteSpec:
        match = _CITE.match(spec.strip()) if isinstance(spec, str) else None
        if match is None or not match.group("file").strip():
            raise ValueError(f"{spec!r} is not 'file', 'file:line' or 'file:pPAGE:LINE' (e.g. 'report.txt:12', 'report.pdf:p3:12')")
        file = str(PurePosixPath(match.group("file").replace("\\", "/")))
        if file.startswith("/") or ".." in PurePosixPath(file).parts:
            raise ValueError(f"{spec!r} must be relative to the corpus folder, without '..'")
        page = int(match.group("page")) if match.group("page") is not None else None
        line = int(match.group("line")) if match.group("line") is not None else None
        if line == 0 or page == 0:
            raise ValueError(f"{spec!r}: pages and lines count from 1")
        if page is not None and line is None:
            raise ValueError(f"{spec!r} names a page but no line; cite 'file:pPAGE:LINE' (e.g. 'report.pdf:p3:12') or 'file'")
        return cls(file=file, page=page, line=line)

    def matches(self, citation: Citation) -> bool:
        if citation.file != self.file:
            return False
        if self.line is None:
            return True
        if self.page is not None:
            if citation.page_line is None or citation.page is None:
                return False
            first = (citation.page, citation.page_line)
            last = (citation.last_page, citation.last_page_line) if citation.last_page is not None else first
            return first <= (self.page, self.line) <= last  # type: ignore[operator]
        last_line = citation.last_line or citation.line
        return citation.page is None and citation.line <= self.line <= last_line

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:p{self.page}:{self.line}" if self.page is not None else f"{self.file}:{self.line}"


class SuiteTurn(BaseModel):
    """One question of a case and what a right answer looks like."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question as a user would type it (follow-ups may refer to earlier turns).")
    contains: list[str] = Field(default_factory=list, description="Texts the answer must contain, every one (case-insensitive, spacing and quote styles ignored).")
    matches: list[str] = Field(default_factory=list, description="Regular expressions the answer must match, every one (case-insensitive); use 'a|b' for alternatives.")
    excludes: list[str] = Field(default_factory=list, description="Texts the answer must not contain (case-insensitive).")
    cites: list[str] = Field(default_factory=list, description="'file', 'file:line' or 'file:pPAGE:LINE' entries; the answer must cite at least one of them (a line inside a cited line range counts).")
    abstain: bool = Field(default=False, description="True when the documents do not hold the answer, so the right answer is to say so.")

    @field_validator("contains", "matches", "excludes", "cites", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value

    @field_validator("matches")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
        return value

    @field_validator("cites")
    @classmethod
    def _cites(cls, value: list[str]) -> list[str]:
        return [str(CiteSpec.parse(v)) for v in value]

    @model_validator(mode="after")
    def _consistent(self) -> SuiteTurn:
        if self.abstain and (self.contains or self.matches or self.cites):
            raise ValueError("a turn with 'abstain: true' cannot also expect 'contains', 'matches' or 'cites'")
        if not self.abstain and not (self.contains or self.matches or self.cites or self.excludes):
            raise ValueError("the turn expects nothing: give 'contains', 'matches', 'cites' or 'excludes', or 'abstain: true'")
        return self

    def expectation(self) -> str:
        """What a right answer looks like, in words (for failure messages and tables)."""
        if self.abstain:
            return "says the documents do not hold the answer"
        parts = [f"contains {t!r}" for t in self.contains] + [f"matches /{p}/" for p in self.matches]
        parts += [f"does not contain {t!r}" for t in self.excludes]
        if self.cites:
            parts.append("cites " + (self.cites[0] if len(self.cites) == 1 else "one of " + ", ".join(self.cites)))
        return "; ".join(parts)


class SuiteCase(BaseModel):
    """One case: a single question, or a conversation whose turns are asked in order with their history."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique name of the case within its file (default: made from the first question).")
    tags: list[str] = Field(default_factory=list, description="Free labels, e.g. 'smoke' or 'billing'; `docqa eval --tag` and `pytest -k` select by them.")
    turns: list[SuiteTurn] = Field(min_length=1, description="The questions, in conversation order.")

    @field_validator("tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not re.fullmatch(r"[\w][\w.\-]*", value):
            raise ValueError(f"{value!r}: use letters, digits, '.', '-' and '_' only (it names the test)")
        return value


class UserSuite(BaseModel):
    """A loaded suite file."""

    path: Path = Field(description="The suite file.")
    corpus: Path | None = Field(description="Corpus folder from the header, resolved against the file's folder; None if not given.")
    cases: list[SuiteCase] = Field(description="The cases, in file order.")

    def corpus_for(self, override: Path | str | None) -> Path:
        """The folder to ask: ``override`` (the command line) first, then the header; a SuiteError names both ways."""
        folder = Path(override).expanduser() if override is not None else self.corpus
        if folder is None:
            raise SuiteError(f"{self.path}: no corpus folder; add 'corpus: FOLDER' to the file's header "
                             "or pass one (docqa eval --corpus FOLDER, pytest --docqa-corpus FOLDER)")
        if not folder.is_dir():
            where = "given on the command line" if override is not None else f"named in {self.path}"
            raise SuiteError(f"corpus folder {str(folder)!r} ({where}) does not exist or is not a folder")
        return folder.resolve()


def slug(text: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A case id from a question ('Who claimed it?' -> 'who-claimed-it'), made unique against ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower())[:8]) or "case"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _where(loc: tuple[Any, ...]) -> str:
    parts = []
    for i, item in enumerate(loc):
        if item == "turns" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            continue
        if isinstance(item, int) and i > 0 and loc[i - 1] == "turns":
            parts.append(f"turn {item + 1}")
        elif isinstance(item, str):
            parts.append(f"field {item!r}")
    return ", ".join(parts)


def _case_error(path: Path, label: str, exc: ValidationError) -> SuiteError:
    lines = []
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    for err in unknown or errors:  # a misspelt field explains the rest ("expects nothing"): name it alone
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            field = err["loc"][-1]
            allowed = TURN_FIELDS if "turns" in err["loc"] else ("id", "tags", "turns", *TURN_FIELDS)
            msg = f"unknown field {field!r}; a {'turn' if 'turns' in err['loc'] else 'case'} has: " + ", ".join(allowed)
        where = _where(tuple(err["loc"]))
        lines.append(f"{path}: {label}{', ' + where if where else ''}: {msg}")
    return SuiteError("\n".join(lines))


def _case(raw: Any, path: Path, number: int, taken: set[str]) -> SuiteCase:
    """Validate one case (a mapping); a single-question case may give the turn's fields at the top level."""
    label = f"case #{number}" + (f" {raw.get('id')!r}" if isinstance(raw, dict) and raw.get("id") else "")
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: {label}: a case is a mapping with 'question' (or 'turns'), got {type(raw).__name__}")
    data = dict(raw)
    if "turns" not in data:
        if "question" not in data:
            raise SuiteError(f"{path}: {label}: missing 'question' (or 'turns' for a conversation)")
        turn = {k: data.pop(k) for k in TURN_FIELDS if k in data}
        data["turns"] = [turn]
    elif any(k in data for k in TURN_FIELDS):
        stray = [k for k in TURN_FIELDS if k in data]
        raise SuiteError(f"{path}: {label}: field {stray[0]!r} belongs inside a turn when the case has 'turns'")
    if not isinstance(data["turns"], list):
        raise SuiteError(f"{path}: {label}, field 'turns': a list of turns, got {type(data['turns']).__name__}")
    for i, turn in enumerate(data["turns"], 1):
        if isinstance(turn, dict) and "question" not in turn:
            raise SuiteError(f"{path}: {label}, turn {i}: missing 'question'")
    if "id" not in data or data["id"] is None:
        first = data["turns"][0].get("question") if data["turns"] and isinstance(data["turns"][0], dict) else None
        data["id"] = slug(str(first or f"case-{number}"), taken)
    elif not isinstance(data["id"], str):
        data["id"] = str(data["id"])
    try:
        case = SuiteCase.model_validate(data)
    except ValidationError as exc:
        raise _case_error(path, label, exc) from None
    if case.id in taken:
        raise SuiteError(f"{path}: {label}: id {case.id!r} is used by an earlier case; ids name the tests, so make it unique")
    taken.add(case.id)
    return case


def _parse(path: Path, text: str) -> tuple[dict[str, Any], list[Any]]:
    """(header, raw cases) of a suite file's text; SuiteError names the line of a syntax error."""
    name = path.name.lower()
    if name.endswith(".jsonl"):
        header: dict[str, Any] = {}
        raw: list[Any] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SuiteError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if isinstance(row, dict) and "turns" not in row and "question" not in row:
                if raw or header:
                    raise SuiteError(f"{path}:{number}: a header line ({', '.join(sorted(row))}) may only come first")
                header = row
            else:
                raw.append(row)
        return header, raw
    if not name.endswith((".yaml", ".yml")):
        raise SuiteError(f"{path}: not a suite file; name it NAME.docqa.yaml (or .docqa.yml, .docqa.jsonl)")
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError(f"{path}{where}: not valid YAML ({problem})") from None
    if data is None:
        return {}, []
    if isinstance(data, list):
        return {}, data
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a mapping with 'cases' (or a list of cases), got {type(data).__name__}")
    header = {k: v for k, v in data.items() if k != "cases"}
    if "cases" in data and data["cases"] is None:  # "cases:" with nothing under it yet
        return header, []
    cases = data.get("cases")
    if cases is None:
        raise SuiteError(f"{path}: no 'cases' list; see the README's 'Your own eval suites'")
    if not isinstance(cases, list):
        raise SuiteError(f"{path}, field 'cases': a list of cases, got {type(cases).__name__}")
    return header, cases


HEADER_FIELDS = ("corpus", "description")


def parse_suite(path: Path, text: str) -> UserSuite:
    """A suite from a file's text (``path`` names it in errors and anchors a relative corpus)."""
    header, raw = _parse(path, text)
    unknown = sorted(set(header) - set(HEADER_FIELDS))
    if unknown:
        raise SuiteError(f"{path}: unknown header field {unknown[0]!r}; the header has: {', '.join(HEADER_FIELDS)}, then 'cases'")
    corpus = header.get("corpus")
    if corpus is not None and not isinstance(corpus, str):
        raise SuiteError(f"{path}, field 'corpus': a folder path, got {corpus!r}")
    taken: set[str] = set()
    cases = [_case(item, path, n, taken) for n, item in enumerate(raw, 1)]
    folder = (path.parent / Path(corpus).expanduser()).resolve() if corpus else None
    return UserSuite(path=path, corpus=folder, cases=cases)


def load_user_suite(path: Path | str) -> UserSuite:
    """Load and validate a suite file; every problem is a SuiteError naming the file, the case and the field."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"suite file {str(path)!r} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    suite = parse_suite(path, text)
    if not suite.cases:
        raise SuiteError(f"{path}: holds no cases")
    return suite


_PUNCT = {ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201c"): '"', ord("\u201d"): '"', ord("\u2013"): "-", ord("\u2014"): "-"}


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_PUNCT)
    return re.sub(r"\s+", " ", text).strip()


def check_turn(turn: SuiteTurn, answer: Answer) -> list[str]:
    """Why ``answer`` fails ``turn``, one reason per line; empty when it passes."""
    if turn.abstain:
        if answer.abstained:
            return []
        said = answer.short_answer or (answer.citations[0].quote if answer.citations else answer.text)
        return [f"expected docqa to say the documents do not hold the answer, but it answered {said!r}"]
    if answer.abstained:
        return [f"docqa said the documents do not hold the answer (evidence {answer.evidence_score:.2f} < threshold "
                f"{answer.threshold:.2f})"]
    failures = []
    text = _norm(answer.text)
    failures += [f"the answer does not contain {t!r}" for t in turn.contains if _norm(t) not in text]
    failures += [f"the answer does not match /{p}/" for p in turn.matches if not re.search(p, answer.text, re.IGNORECASE)]
    failures += [f"the answer contains {t!r}" for t in turn.excludes if _norm(t) in text]
    if turn.cites:
        specs = [CiteSpec.parse(c) for c in turn.cites]
        if not any(s.matches(c) for s in specs for c in answer.citations):
            cited = ", ".join(c.ref for c in answer.citations) or "nothing"
            failures.append(f"no citation of {' or '.join(turn.cites)} (cited: {cited})")
    return failures


def turn_from_answer(answer: Answer) -> SuiteTurn:
    """The expectation a saved conversation keeps for one answered turn: its short answer(s) and first citation."""
    if answer.abstained:
        return SuiteTurn(question=answer.question, abstain=True)
    if answer.disagreement:
        contains = [v.value for v in answer.disagreement]
    else:
        contains = [answer.short_answer] if answer.short_answer else []
    first = answer.citations[0] if answer.citations else None
    cites = [display_ref(first.file, first.line, first.page, first.page_line)] if first is not None else []
    if not contains and not cites:
        raise SuiteError(f"the answer to {answer.question!r} has neither a short answer nor a citation to expect")
    return SuiteTurn(question=answer.question, contains=contains, cites=cites)


def case_from_answers(answers: list[Answer], taken: set[str] | frozenset[str] = frozenset(), tags: list[str] | None = None) -> SuiteCase:
    """A conversation (oldest answer first) as a case whose expectations are what docqa answered."""
    if not answers:
        raise SuiteError("nothing to save: ask a question first")
    return SuiteCase(id=slug(answers[0].question, set(taken)), tags=list(tags or []), turns=[turn_from_answer(a) for a in answers])


def _case_dict(case: SuiteCase) -> dict[str, Any]:
    turns = []
    for t in case.turns:
        row: dict[str, Any] = {"question": t.question}
        for key in ("contains", "matches", "excludes", "cites"):
            if getattr(t, key):
                row[key] = getattr(t, key)
        if t.abstain:
            row["abstain"] = True
        turns.append(row)
    out: dict[str, Any] = {"id": case.id}
    if case.tags:
        out["tags"] = case.tags
    out["turns"] = turns
    return out


def _corpus_text(corpus: Path, suite_dir: Path) -> str:
    """The corpus as the header gives it: relative to the suite's folder when close by, else absolute."""
    rel = os.path.relpath(corpus, suite_dir)
    return rel if rel.count("..") <= 2 else str(corpus)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_case(path: Path | str, answers: list[Answer], corpus: Path | str) -> SuiteCase:
    """Append a conversation to a suite file (created if missing) as one case, and return the case.

    An existing file must be a valid suite over the same corpus; anything else is refused with a SuiteError and the
    file is left untouched. The new text is parsed back before it replaces the file (atomically), so a hand-written
    file is never corrupted: if the case cannot be appended as text (its 'cases' list is not last), nothing is written.
    """
    path = Path(path).expanduser()
    corpus = Path(corpus).resolve()
    if not path.name.lower().endswith(SUITE_SUFFIXES):
        raise SuiteError(f"{str(path)!r}: a suite file's name ends in {', '.join(SUITE_SUFFIXES)} (e.g. team.docqa.yaml)")
    if not path.parent.is_dir():
        raise SuiteError(f"folder {str(path.parent)!r} does not exist; create it or choose another place")
    with _save_lock:
        old_text = ""
        old: UserSuite | None = None
        if path.exists():
            if not path.is_file():
                raise SuiteError(f"{path} exists and is not a file; choose another name")
            try:
                old_text = path.read_text(encoding="utf-8")
                old = parse_suite(path, old_text)
            except (SuiteError, OSError, UnicodeDecodeError) as exc:
                raise SuiteError(f"{path} exists and is not a docqa suite, so it was left as it is; choose another "
                                 f"name ({str(exc).splitlines()[0]})") from None
            if old.corpus is not None and old.corpus != corpus:
                raise SuiteError(f"{path} is a suite over {old.corpus}, not {corpus}; save to another file")
        case = case_from_answers(answers, {c.id for c in old.cases} if old else set())
        jsonl = path.name.lower().endswith(".jsonl")
        if jsonl:
            head = "" if old_text else json.dumps({"corpus": _corpus_text(corpus, path.parent.resolve())}) + "\n"
            sep = "" if not old_text or old_text.endswith("\n") else "\n"
            new_text = old_text + head + sep + json.dumps(_case_dict(case), ensure_ascii=False) + "\n"
        else:
            import yaml

            block = yaml.safe_dump([_case_dict(case)], sort_keys=False, allow_unicode=True, width=100)
            if old_text.strip():
                # Indent like the file's own list items ("cases:" then "  - id: ..." or "- id: ...").
                items = re.search(r"^cases:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)- ", old_text, re.MULTILINE)
                pad = items.group(1) if items else ""
                block = "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))
                new_text = old_text + ("" if old_text.endswith("\n") else "\n") + block
            else:
                new_text = (f"# docqa eval suite: run it with `pytest` or `docqa eval {path.name}`\n"
                            f"corpus: {json.dumps(_corpus_text(corpus, path.parent.resolve()))}\ncases:\n" + block)
        try:
            check = parse_suite(path, new_text)
        except SuiteError as exc:
            check, reason = None, str(exc).splitlines()[0]
        else:
            reason = ""
        want = [*(old.cases if old else []), case]
        if check is None or [c.model_dump() for c in check.cases] != [c.model_dump() for c in want]:
            raise SuiteError(f"cannot append to {path} safely ({reason or 'its cases list is not the last thing in the file'}); "
                             "it was left as it is; save to a new file")
        _write_atomically(path, new_text)
        return case
