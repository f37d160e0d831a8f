"""The access log: one JSON line per request, questions only when the operator turns them on.

One line per request, as JSON, so a log shipper can count errors and slow
answers per path and per user without parsing prose. Questions are often
personal ("my son's placement in ...") and the law treats them as personal
data, so their text is logged only when ``COUNCIL_QA_LOG_QUESTIONS`` is on.
Query strings are never logged: a host page may pass the access token there.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any, TextIO

from .middleware import ASGIApp, Message, Receive, Scope, Send, request_info

ACCESS_LOGGER = "council_qa.access"
MAX_LOGGED = 500  # characters of a path or question kept in a log line
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def parse_flag(raw: str | None, variable: str) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{variable}={raw!r}: use on or off (also 1/0, true/false, yes/no)")


def access_logger(stream: TextIO | None = None) -> logging.Logger:
    """The logger request lines go to: bare messages on stderr, apart from uvicorn's and the app's logs."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LOGGED else text[:MAX_LOGGED] + "…"


def access_line(
    *,
    method: str,
    path: str,
    status: int,
    latency_ms: float,
    client: str,
    user: str | None = None,
    question: str | None = None,
) -> str:
    record: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": "request",
        "method": method,
        "path": _clip(path),
        "status": status,
        "latency_ms": round(latency_ms, 1),
        "client": client,
    }
    if user:
        record["user"] = user
    if question is not None:
        record["question"] = _clip(question)
    return json.dumps(record, ensure_ascii=False)


def question_line(*, source: str, question: str, client: str = "", user: str | None = None) -> str:
    """A line for a question asked outside ``/api/ask`` (the chat), for ``COUNCIL_QA_LOG_QUESTIONS=on`` only.

    The chat's question travels in Gradio's queue, whose HTTP requests end
    before it is answered, so it cannot ride on a request line as the API's
    does; callers write this line only when the operator turned logging on.
    """
    record: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": "question",
        "source": source,
        "client": client,
    }
    if user:
        record["user"] = user
    record["question"] = _clip(question)
    return json.dumps(record, ensure_ascii=False)


class AccessLog:
    """Times each request and writes its line once the response is complete (or has failed)."""

    def __init__(
        self, app: ASGIApp, *, log_questions: bool = False, logger: logging.Logger | None = None
    ) -> None:
        self.app = app
        self.log_questions = log_questions
        self.logger = logger or access_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        started = time.perf_counter()
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "websocket.close" and not status:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            status = status or 500
            raise
        finally:
            client = scope.get("client")
            self.logger.info(
                access_line(
                    method=scope.get("method", "WS"),
                    path=scope.get("path", ""),
                    status=status or (101 if scope["type"] == "websocket" else 0),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    client=str(client[0]) if client else info.peer,
                    user=info.user,
                    question=info.question if self.log_questions else None,
                )
            )
