"""Gold questions for evaluation: loading, validation and the matching rules.

A gold set is JSON Lines, one question per line. Each answerable question names
the facts a good answer must contain and the verbatim passages that support
them. Quotes are resolved to character spans when the set is loaded, so the
evaluator can compare them with retrieved chunk spans instead of re-searching
text on every run; a quote that no longer matches its document is caught here,
with the line to fix, rather than silently scoring as "not retrieved".

Matching is whitespace-normalized because the records come from PDFs and web
pages whose line breaks are arbitrary: a quote copied from one rendering must
still match another.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .questions import MAX_QUESTION

LANGUAGES = ("en", "sv")
KEYS = ("id", "language", "question", "answerable", "answer", "facts", "sources")
SOURCE_KEYS = ("document", "quote")

_WHITESPACE = re.compile(r"\s+")
_TOKENS = re.compile(r"\S+|\s+")
# A leading YAML block: a `---` line, anything, a closing `---` line (its line break included).
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)


@dataclass
class GoldSource:
    """A supporting passage; ``start``/``end`` index the document text as the system reads it."""

    document: str
    quote: str
    start: int
    end: int


@dataclass
class GoldQuestion:
    id: str
    language: str
    question: str
    answerable: bool
    answer: str
    facts: list[list[str]]  # each fact is a list of alternatives; any one present counts
    sources: list[GoldSource]
    line: int  # 1-based line in the gold file, for messages that point back at it


@dataclass(frozen=True)
class GoldProblem:
    """One thing wrong with a gold file, kept structured so tests and tools can filter by line or field."""

    path: Path
    line: int
    field: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: field '{self.field}': {self.problem}. {self.fix.rstrip('.')}."


class GoldError(Exception):
    """Every problem found in a gold file at once, so one edit pass can fix them all."""

    def __init__(self, problems: list[GoldProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def normalize(s: str) -> str:
    """Casefold, compose (NFC) and collapse whitespace: answers differ from sources in case and layout,
    and PDF text may spell "ä" as "a" plus a combining diaeresis."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", s).casefold()).strip()


def fact_present(answer_text: str, alternatives: list[str]) -> bool:
    """True when any alternative occurs in the answer; substring match, so "lönesatsning" finds
    "lönesatsningen" (Swedish inflects by suffix)."""
    haystack = normalize(answer_text)
    return any(alt.strip() and normalize(alt) in haystack for alt in alternatives)


def find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Locate ``quote`` in ``text`` ignoring how whitespace is laid out, and return the span in the
    original ``text`` (not in a normalized copy), because chunk spans refer to the original."""
    needle = _WHITESPACE.sub(" ", quote).strip()
    if not needle:
        return None
    flat, origin = _flatten(text)
    i = flat.find(needle)
    if i < 0:
        return None
    return origin[i], origin[i + len(needle) - 1] + 1


def _flatten(text: str) -> tuple[str, list[int]]:
    """``text`` with whitespace runs collapsed to one space, plus each kept character's original index."""
    parts: list[str] = []
    origin: list[int] = []
    for m in _TOKENS.finditer(text):
        if m.group().isspace():
            parts.append(" ")
            origin.append(m.start())
        else:
            parts.append(m.group())
            origin.extend(range(m.start(), m.end()))
    return "".join(parts), origin


def read_body(path: Path) -> str:
    """The file's text without a leading YAML front matter block: the riksdagen files carry their
    metadata there, and the ingest indexes (and cites spans of) the body only."""
    text = path.read_text(encoding="utf-8")
    text = text.removeprefix("\ufeff")
    m = _FRONT_MATTER.match(text)
    return text[m.end() :] if m else text


def _default_reader(documents_dir: Path) -> Callable[[Path], str]:
    """How documents are read when the caller does not say: must match what the ingest indexes, or spans
    would point at the wrong characters. Once ``assistant.parsing`` exists, return instead
    ``lambda path: read_document(path, documents_dir).text``."""
    return read_body


def load_gold(
    path: Path, documents_dir: Path, read_text: Callable[[Path], str] | None = None
) -> list[GoldQuestion]:
    """Parse and validate a gold file; raise one ``GoldError`` listing every problem found."""
    path = Path(path)
    documents_dir = Path(documents_dir)
    checker = _Checker(path, documents_dir, read_text or _default_reader(documents_dir))
    lines = _split_lines(_read_gold_text(path))
    questions = [q for n, raw in enumerate(lines, 1) if raw.strip() and (q := checker.line(n, raw))]
    if not lines or not any(raw.strip() for raw in lines):
        checker.add(1, "(file)", "the file holds no questions", "Add one JSON object per line")
    if checker.problems:
        raise GoldError(checker.problems)
    return questions


def _read_gold_text(path: Path) -> str:
    """The gold file as text. A leading byte order mark is dropped (editors on Windows add one); bytes
    that are not UTF-8 are reported with their line, since "cannot read" would send people to the path."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GoldError(
            [GoldProblem(path, 0, "(file)", f"cannot read the gold file ({exc})", "Check the path")]
        ) from None
    data = data.removeprefix(codecs.BOM_UTF8)  # so offsets below count from what an editor shows
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column} cannot be decoded)"
        raise GoldError([GoldProblem(path, line, "(file)", problem, "Save the file as UTF-8")]) from None


def _split_lines(text: str) -> list[str]:
    """The file's lines, split on "\n" only (a trailing "\r" dropped): ``str.splitlines`` also splits on
    U+2028, form feeds and other characters that may sit inside a JSON string, which would break a valid
    line in two and shift the line number of every problem after it."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type: the gold file's author wrote ``null``, not ``NoneType``."""
    names = {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string"}
    return names.get(type(value), "list" if isinstance(value, list) else "object")


def _shorten(text: str, limit: int = 60) -> str:
    """``text`` as a quoted literal, cut to ``limit`` characters so one bad value cannot flood the report."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"


class _Checker:
    """Validates one gold file line by line, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, documents_dir: Path, read_text: Callable[[Path], str]) -> None:
        self.path = path
        self.documents_dir = documents_dir
        self.read_text = read_text
        self.problems: list[GoldProblem] = []
        self.seen_ids: dict[str, int] = {}
        self.texts: dict[str, str] = {}  # document -> text, or the read error when in ``unreadable``
        self.unreadable: set[str] = set()

    def add(self, line: int, field: str, problem: str, fix: str) -> None:
        self.problems.append(GoldProblem(self.path, line, field, problem, fix))

    def line(self, n: int, raw: str) -> GoldQuestion | None:
        """The question on line ``n``, or None when the line has problems (already recorded)."""
        before = len(self.problems)
        obj = self._parse(n, raw)
        if obj is None:
            return None
        self._keys(n, obj)
        self._scalars(n, obj)
        facts = self._facts(n, obj["facts"]) if "facts" in obj else None
        sources = self._sources(n, obj["sources"]) if "sources" in obj else None
        self._answerability(n, obj)
        if len(self.problems) > before:
            return None
        return GoldQuestion(
            id=obj["id"],
            language=obj["language"],
            question=obj["question"],
            answerable=obj["answerable"],
            answer=obj["answer"],
            facts=facts or [],
            sources=sources or [],
            line=n,
        )

    def _parse(self, n: int, raw: str) -> dict[str, Any] | None:
        """The line's JSON object, or None (problem recorded). Trailing whitespace JSON does not allow
        (a form feed, U+2028) is ignored, as it is invisible in an editor."""
        try:
            obj = json.loads(raw.rstrip())
        except json.JSONDecodeError as exc:
            problem = f"invalid JSON ({exc.msg} at column {exc.colno})"
        except RecursionError:  # brackets nested thousands deep exhaust the parser's stack
            problem = "invalid JSON (nested too deeply)"
        else:
            if isinstance(obj, dict):
                return obj
            problem = f"expected a JSON object, got {type(obj).__name__}"
        self.add(n, "(line)", problem, "Write one JSON object per line")
        return None

    def _keys(self, n: int, obj: dict[str, Any]) -> None:
        for key in KEYS:
            if key not in obj:
                self.add(n, key, "missing", f"Add it; every line needs {', '.join(KEYS)}")
        for key in obj:
            if key not in KEYS:
                self.add(
                    n, key, "unknown field", f"Remove it or fix its spelling; allowed: {', '.join(KEYS)}"
                )

    def _scalars(self, n: int, obj: dict[str, Any]) -> None:
        if "id" in obj:
            self._id(n, obj["id"])
        if "language" in obj and obj["language"] not in LANGUAGES:
            got = obj["language"]
            self.add(
                n,
                "language",
                f"must be one of {', '.join(LANGUAGES)}, got {got!r}",
                "Use the language the question is written in",
            )
        for key in ("question", "answer"):
            if key in obj:
                self._text(n, key, obj[key])
        if isinstance(obj.get("question"), str):
            self._question_length(n, obj["question"])
        if "answerable" in obj and not isinstance(obj["answerable"], bool):
            self.add(
                n, "answerable", f"must be true or false, got {obj['answerable']!r}", "Use a JSON boolean"
            )

    def _id(self, n: int, qid: Any) -> None:
        if not isinstance(qid, str) or not qid.strip():
            self.add(n, "id", f"must be a non-empty string, got {qid!r}", 'Use a short id such as "q01"')
        elif qid in self.seen_ids:
            self.add(n, "id", f"duplicate id {qid!r} (first on line {self.seen_ids[qid]})", "Make it unique")
        else:
            self.seen_ids[qid] = n

    def _question_length(self, n: int, question: str) -> None:
        """Refuse what the API and ``ask`` refuse: a multi-megabyte question ran the eval out of memory."""
        if len(question) > MAX_QUESTION:
            self.add(
                n,
                "question",
                f"has {len(question):,} characters, more than the {MAX_QUESTION:,} the system accepts",
                f"Shorten it to at most {MAX_QUESTION:,} characters",
            )

    def _text(self, n: int, key: str, value: Any) -> None:
        if not isinstance(value, str):
            self.add(n, key, f"must be a string, got {type(value).__name__}", "Write it as a JSON string")
        elif not value.strip():
            self.add(n, key, "is empty", f"Write the {key} text")

    def _facts(self, n: int, facts: Any) -> list[list[str]] | None:
        """The facts when well-formed, else None (problems recorded). ``null`` is refused like any other
        non-list: taken as "no facts", it left an answerable question silently unscored."""
        fix = 'Write facts as a list of lists of strings, e.g. [["14"], ["lönesatsning", "salary"]]'
        if not isinstance(facts, list):
            self.add(n, "facts", f"must be a list, got {_json_type(facts)}", fix)
            return None
        ok = True
        for i, alternatives in enumerate(facts):
            if not isinstance(alternatives, list) or not alternatives:
                self.add(n, f"facts[{i}]", "must be a non-empty list of alternatives", fix)
                ok = False
                continue
            for j, alt in enumerate(alternatives):
                if not isinstance(alt, str) or not alt.strip():
                    self.add(n, f"facts[{i}][{j}]", f"must be a non-empty string, got {alt!r}", fix)
                    ok = False
        return facts if ok else None

    def _sources(self, n: int, sources: Any) -> list[GoldSource] | None:
        """The resolved sources when all are valid, else None (problems recorded). ``null`` is refused: it
        passed here and then failed the whole run, naming neither file nor line."""
        if not isinstance(sources, list):
            self.add(
                n,
                "sources",
                f"must be a list, got {_json_type(sources)}",
                'Use [{"document": ..., "quote": ...}]',
            )
            return None
        resolved = [self._source(n, i, s) for i, s in enumerate(sources)]
        return None if any(r is None for r in resolved) else [r for r in resolved if r is not None]

    def _source(self, n: int, i: int, source: Any) -> GoldSource | None:
        name = f"sources[{i}]"
        if not isinstance(source, dict):
            self.add(
                n,
                name,
                f"must be an object, got {type(source).__name__}",
                'Use {"document": ..., "quote": ...}',
            )
            return None
        ok = True
        for key in SOURCE_KEYS:
            if not isinstance(source.get(key), str) or not source[key].strip():
                self.add(
                    n, f"{name}.{key}", "missing or not a non-empty string", f"Give the {key} as a string"
                )
                ok = False
        for key in source:
            if key not in SOURCE_KEYS:
                self.add(
                    n, f"{name}.{key}", "unknown field", "Remove it; a source has only document and quote"
                )
                ok = False
        if not ok:
            return None
        text = self._document_text(n, name, source["document"])
        if text is None:
            return None
        span = find_span(text, source["quote"])
        if span is None:
            self.add(
                n,
                f"{name}.quote",
                f"quote not found in {source['document']}; copy it verbatim from the document",
                "Only whitespace and line breaks may differ",
            )
            return None
        return GoldSource(source["document"], source["quote"], span[0], span[1])

    def _document_text(self, n: int, field: str, document: str) -> str | None:
        """The document's text, read once per file; None (problem recorded) when it cannot be used."""
        target = self.documents_dir / document
        try:
            inside = self.documents_dir.resolve() in (target.resolve(), *target.resolve().parents)
            found = inside and target.is_file()
        except (OSError, ValueError) as exc:  # a NUL character, a name longer than the file system takes
            reason = "contains a NUL character" if "\0" in document else getattr(exc, "strerror", None) or exc
            self.add(
                n,
                f"{field}.document",
                f"{_shorten(document)} is not a valid file name ({reason})",
                "Use the file name relative to the documents folder",
            )
            return None
        if not found:
            self.add(
                n,
                f"{field}.document",
                f"no such document {document!r} in {self.documents_dir}",
                "Use the file name relative to the documents folder",
            )
            return None
        if document not in self.texts:
            try:
                self.texts[document] = self.read_text(target)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                self.texts[document] = f"cannot read {document} ({exc})"
                self.unreadable.add(document)
        if document in self.unreadable:
            self.add(
                n, f"{field}.document", self.texts[document], "Check that it is a readable UTF-8 text file"
            )
            return None
        return self.texts[document]

    def _answerability(self, n: int, obj: dict[str, Any]) -> None:
        """Facts and sources must agree with ``answerable``: an unanswerable question scores on refusal."""
        answerable = obj.get("answerable")
        raw_facts, raw_sources = obj.get("facts"), obj.get("sources")
        if answerable is True:
            if isinstance(raw_facts, list) and not raw_facts:
                self.add(
                    n, "facts", "empty for an answerable question", "List 1-4 facts the answer must contain"
                )
            if isinstance(raw_sources, list) and not raw_sources:
                self.add(n, "sources", "empty for an answerable question", "Cite the passages that answer it")
        elif answerable is False:
            if raw_facts:
                self.add(n, "facts", "given for an unanswerable question", 'Use [] or set "answerable": true')
            if raw_sources:
                self.add(
                    n, "sources", "given for an unanswerable question", 'Use [] or set "answerable": true'
                )
