"""ASGI middleware for the server: framing policy, request size and sub-path tolerance.

Written as plain ASGI (not Starlette's ``BaseHTTPMiddleware``) because the
Gradio UI streams answers over server-sent events, which a response-buffering
middleware would hold back until the answer is complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FRAME_ANCESTORS_ENV = "COUNCIL_QA_FRAME_ANCESTORS"
# A CSP host-source: scheme://host[:port], host may start with "*." ; or a bare scheme such as "https:".
_SOURCE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://(?:\*\.)?[a-z0-9.-]+(?::(?:\d{1,5}|\*))?/?|[a-z][a-z0-9+.-]*:)$", re.I
)


def parse_frame_ancestors(raw: str | None) -> list[str]:
    """Origins allowed to frame the app, from a space- or comma-separated list.

    Anything that is not a plain origin is refused, naming the variable, because
    the value goes verbatim into a response header: a ``;`` would let it add
    other CSP directives, and a quote or newline would break the header.
    """
    origins: list[str] = []
    for item in re.split(r"[\s,]+", (raw or "").strip()):
        if not item:
            continue
        if item in ("'self'", "'none'"):
            continue  # 'self' is always included; 'none' would contradict it
        if not _SOURCE.match(item):
            raise ValueError(
                f"{FRAME_ANCESTORS_ENV}: {item!r} is not an origin; "
                "use scheme://host[:port] entries separated by spaces or commas, e.g. https://intranet.example"
            )
        origin = item.rstrip("/")
        if origin not in origins:
            origins.append(origin)
    return origins


def frame_ancestors_policy(origins: list[str]) -> str:
    return " ".join(["frame-ancestors", "'self'", *origins])


class SecurityHeaders:
    """Adds the framing policy (and ``nosniff``) to every response, Gradio's included."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", frame_ancestors_policy(origins).encode("latin-1")),
            (b"x-content-type-options", b"nosniff"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes under ``prefix`` with a JSON 413.

    The API's largest valid request is a few kilobytes; reading an unbounded
    body into memory before validation would let one client exhaust the server.
    """

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/api/") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _route_path(scope).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await _too_large(send, self.limit)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replay_receive() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, replay_receive, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"body: request body larger than {limit} bytes", "detail": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class PrefixTolerance:
    """Serves ``/sub/x`` like ``/x`` when the app runs under the sub-path ``/sub``.

    Reverse proxies differ: some strip the sub-path before forwarding, others
    pass it on. uvicorn's ``root_path`` models the first kind; this makes the
    second kind (and a browser pointed straight at the server with the prefix)
    work too, by removing one doubled prefix.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path and scope["type"] in ("http", "websocket"):
            root = scope.get("root_path", "")
            path = scope["path"]
            doubled = root + self.root_path if root.endswith(self.root_path) else self.root_path
            base = root if root.endswith(self.root_path) else ""
            if path == doubled or path.startswith(doubled + "/"):
                scope = dict(scope)
                scope["path"] = base + (path[len(doubled) :] or "/")
                raw = scope.get("raw_path")
                if isinstance(raw, bytes) and raw.startswith(doubled.encode()):
                    scope["raw_path"] = base.encode() + (raw[len(doubled) :] or b"/")
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
