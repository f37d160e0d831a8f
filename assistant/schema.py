"""The few shapes that cross module boundaries.

Everything downstream of ingest (retrieval, the answer composer, the CLI, the
HTTP API, the UI, the evaluator) speaks in these types, so a citation means the
same thing wherever it is shown.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("interpellation", "answer", "skrivelse", "motion", "other")
"""Document kinds. ``answer`` is an answer to an interpellation; ``skrivelse``
covers written questions and letters."""

PARTIES = ("V", "S", "MP", "C", "L", "KD", "M", "SD")


@dataclass
class DocumentMetadata:
    """What is known about one record. Unknown fields stay empty: never guessed."""

    title: str = ""
    kind: str = ""
    municipality: str = ""
    body: str = ""
    dnr: str = ""
    date: str = ""  # ISO 8601: YYYY-MM-DD, or YYYY-MM / YYYY when that is all the text says
    authors: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    recipient: str = ""  # whom an interpellation is addressed to
    source: str = ""  # attribution the publisher requires, e.g. "Källa: Sveriges riksdag"
    url: str = ""

    @property
    def people(self) -> list[str]:
        """Its authors and its addressee: whom a question asking who wrote, signed or was asked means."""
        return [name for name in [*self.authors, self.recipient] if name.strip()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentMetadata:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class ParsedDocument:
    """A record read from disk.

    ``text`` is the body that gets chunked and cited: front matter is already
    removed, so every character span refers to this string.
    """

    doc_id: str  # path relative to the documents folder, with forward slashes
    text: str
    metadata: DocumentMetadata
    content_hash: str  # hash of the raw file bytes plus any sidecar, for incremental ingest


@dataclass
class Chunk:
    """A retrievable passage: ``text == document.text[start:end]``."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    metadata: DocumentMetadata


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the ranks it had in each retriever."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # e.g. {"dense": 1, "lexical": 4}
    similarity: float | None = None  # cosine between question and passage, comparable across questions
    heading_free: float | None = None  # for a record's opening: its cosine without the heading lines


@dataclass
class Citation:
    """One [n] in an answer: an exact, verbatim span of a document."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    date: str
    authors: list[str]
    parties: list[str]
    start: int
    end: int
    quote: str
    score: float
    municipality: str = ""
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """What ``answer()`` returns to every front end."""

    question: str
    text: str
    citations: list[Citation]
    language: str  # "sv" or "en": the language of the framing around the quotes
    abstained: bool = False
    hits: list[Hit] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "notices": list(self.notices),
            "timings_ms": dict(self.timings_ms),
        }


DATE_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
"""A filter date's shape: YYYY, YYYY-MM or YYYY-MM-DD (``filter_problem`` checks the calendar too)."""

CLOSED_FILTERS = {"kind": KINDS, "party": PARTIES}
"""Filters whose values come from a fixed list: any other value would match no record."""


def filter_problem(name: str, value: str) -> str | None:
    """Why ``value`` can be no filter on ``name``, or None.

    A kind or party outside its list, or a date not in the calendar, would
    match no record, and the user would read "the records do not answer"
    instead of learning that the filter was wrong.
    """
    if name in CLOSED_FILTERS:
        allowed = CLOSED_FILTERS[name]
        if value.strip().casefold() not in {a.casefold() for a in allowed}:
            return f"must be one of {', '.join(allowed)}"
    elif name in ("since", "until"):
        if not re.fullmatch(DATE_PATTERN, value):
            return "expected a date as YYYY, YYYY-MM or YYYY-MM-DD"
        if value.count("-") == 2:
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                return f"{value} is not a date in the calendar"
    return None


def date_bounds(date: str) -> tuple[int, int]:
    """A partial ISO date as the inclusive range of YYYYMMDD numbers it covers (0, 0 if unknown)."""
    parts = date.split("-") if date else []
    try:
        if len(parts) == 3:
            n = int("".join(parts))
            return n, n
        if len(parts) == 2:
            base = int(parts[0]) * 10000 + int(parts[1]) * 100
            return base + 1, base + 31
        if len(parts) == 1:
            base = int(parts[0]) * 10000
            return base + 101, base + 1231
    except ValueError:
        pass
    return 0, 0


@dataclass
class Filters:
    """Restrictions applied inside the store query, before the top k is cut.

    Every field is optional; ``since``/``until`` are ISO dates (YYYY, YYYY-MM or YYYY-MM-DD).
    """

    municipality: str | None = None
    kind: str | None = None
    party: str | None = None
    author: str | None = None
    body: str | None = None
    since: str | None = None
    until: str | None = None

    def is_empty(self) -> bool:
        return all(v in (None, "") for v in asdict(self).values())
