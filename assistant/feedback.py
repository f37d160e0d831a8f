"""Users' verdicts on answers, kept next to the index so they can become gold questions.

A verdict is only useful for evaluation together with what was judged, so each
row stores the question, the answer text and its citations exactly as shown.
SQLite (standard library, one file, safe across threads and processes) is
enough for the volume a council intranet produces, and ``export_gold`` turns
the rows into draft lines of the gold format for a reviewer to complete: the
facts are left empty on purpose, because only a person can say which facts an
answer must contain.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILENAME = "feedback.sqlite3"
MAX_COMMENT = 2000
MAX_TEXT = 20_000
LANGUAGES = ("sv", "en")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    abstained INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]',
    conversation_id TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
)
"""


class FeedbackError(ValueError):
    """A feedback entry cannot be stored as given; the message names the field."""


@dataclass
class FeedbackEntry:
    helpful: bool
    question: str
    answer: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    comment: str = ""
    language: str = ""
    abstained: bool = False
    conversation_id: str = ""
    source: str = ""  # "ui" or "api": where the verdict was given
    id: int | None = None
    created: str = ""


def feedback_path(index: Path) -> Path:
    return Path(index) / FILENAME


class FeedbackStore:
    """One SQLite file; a connection per call, because Gradio and FastAPI call from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def add(self, entry: FeedbackEntry) -> int:
        """Store one verdict and return its id.

        A later verdict on the same answer in the same conversation replaces the
        earlier one: a double click, or a changed mind, is one verdict (chat
        fuzzing stored one answer nine times, both helpful and not). Without a
        conversation id two verdicts may come from two people, so both stay.
        """
        _validate(entry)
        created = entry.created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (
            created,
            int(entry.helpful),
            entry.comment.strip(),
            entry.question,
            entry.answer,
            entry.language,
            int(entry.abstained),
            json.dumps(_plain_citations(entry.citations), ensure_ascii=False),
            entry.conversation_id,
            entry.source,
        )
        with self._lock, self._connect() as db:
            if entry.conversation_id:
                db.execute(
                    "DELETE FROM feedback WHERE conversation_id = ? AND question = ? AND answer = ?",
                    (entry.conversation_id, entry.question, entry.answer),
                )
            cursor = db.execute(
                "INSERT INTO feedback (created, helpful, comment, question, answer, language, abstained,"
                " citations, conversation_id, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def entries(self) -> list[FeedbackEntry]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created, helpful, comment, question, answer, language, abstained, citations,"
                " conversation_id, source FROM feedback ORDER BY id"
            ).fetchall()
        return [
            FeedbackEntry(
                id=r[0],
                created=r[1],
                helpful=bool(r[2]),
                comment=r[3],
                question=r[4],
                answer=r[5],
                language=r[6],
                abstained=bool(r[7]),
                citations=json.loads(r[8] or "[]"),
                conversation_id=r[9],
                source=r[10],
            )
            for r in rows
        ]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])


def _validate(entry: FeedbackEntry) -> None:
    if not isinstance(entry.helpful, bool):
        raise FeedbackError(f"helpful: must be true or false, got {entry.helpful!r}")
    for name in ("question", "answer"):
        value = getattr(entry, name)
        if not isinstance(value, str) or not value.strip():
            raise FeedbackError(f"{name}: must be a non-empty string")
        if len(value) > MAX_TEXT:
            raise FeedbackError(f"{name}: longer than {MAX_TEXT} characters")
    if len(entry.comment) > MAX_COMMENT:
        raise FeedbackError(f"comment: longer than {MAX_COMMENT} characters")


def _plain_citations(citations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields a reviewer needs to find each passage again; scores and chunk ids age with the index."""
    keep = ("n", "doc_id", "title", "date", "start", "end", "quote")
    return [{k: c.get(k) for k in keep if k in c} for c in citations]


def gold_line(entry: FeedbackEntry) -> dict[str, Any]:
    """A draft gold question from one verdict.

    The id carries the verdict (``fb-12-helpful``) because the gold format has no
    field for it and the reviewer must know which answers users rejected. An
    abstention is drafted as unanswerable; everything else as answerable with the
    cited passages as sources, which the reviewer confirms or replaces.
    """
    verdict = "helpful" if entry.helpful else "not-helpful"
    sources: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    if not entry.abstained:
        for c in entry.citations:
            key = (str(c.get("doc_id", "")), str(c.get("quote", "")))
            if all(key) and key not in seen:
                seen.add(key)
                sources.append({"document": key[0], "quote": key[1]})
    language = entry.language if entry.language in LANGUAGES else "sv"
    return {
        "id": f"fb-{entry.id}-{verdict}",
        "language": language,
        "question": entry.question,
        "answerable": not entry.abstained,
        "answer": entry.answer,
        "facts": [],
        "sources": sources,
    }


def export_gold(path_out: Path, store: FeedbackStore | Path, *, helpful: bool | None = None) -> int:
    """Write every verdict (or only helpful / unhelpful ones) as gold-format JSON Lines; return the count.

    ``store`` is a ``FeedbackStore`` or the index folder that holds ``feedback.sqlite3``.
    """
    if not isinstance(store, FeedbackStore):
        path = feedback_path(Path(store))
        if not path.is_file():
            raise FileNotFoundError(f"no feedback has been recorded yet: {path} does not exist")
        store = FeedbackStore(path)
    entries = [e for e in store.entries() if helpful is None or e.helpful == helpful]
    path_out = Path(path_out)
    path_out.parent.mkdir(parents=True, exist_ok=True)
    with path_out.open("w", encoding="utf-8") as out:
        for entry in entries:
            out.write(json.dumps(gold_line(entry), ensure_ascii=False) + "\n")
    return len(entries)
