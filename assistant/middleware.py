"""ASGI middleware for the server: framing policy, request size, sub-path tolerance, client address.

Written as plain ASGI (not Starlette's ``BaseHTTPMiddleware``) because the
Gradio UI streams answers over server-sent events, which a response-buffering
middleware would hold back until the answer is complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
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
    ``contains`` limits any path containing that text instead (Gradio's API
    lives under ``/gradio_api/`` of each mounted chat page).
    """

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/api/", contains: str = "") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix
        self.contains = contains

    def _applies(self, path: str) -> bool:
        return self.contains in path if self.contains else path.startswith(self.prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(_route_path(scope)):
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
    await send_json(send, 413, {"error": f"body: request body larger than {limit} bytes", "detail": []})


# Harmless in JSON, dangerous if a response is ever sniffed, framed or pasted as HTML or script.
JSON_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def escape_json(body: bytes) -> bytes:
    """JSON text with markup characters written as escapes: the same data, never markup."""
    for raw, escaped in JSON_ESCAPES:
        body = body.replace(raw, escaped)
    return body


async def send_json(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A complete JSON response from plain ASGI, in the API's ``{"error", "detail"}`` shape."""
    body = escape_json(json.dumps(payload, ensure_ascii=False).encode())
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class NoUploads:
    """Refuses Gradio's file-upload endpoints, which the chat never uses.

    Gradio accepts uploads from anyone into its temporary folder, whatever the
    app's components; left open, any client could fill the server's disk or use
    it as a file host. No part of council-qa takes files over HTTP.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and re.search(r"/gradio_api/upload(_progress)?/?$", _route_path(scope)):
            await send_json(send, 404, {"error": "path: file uploads are not accepted here", "detail": []})
            return
        await self.app(scope, receive, send)


@dataclass
class RequestInfo:
    """What the middleware learns about one request, for the access log.

    Kept in the ASGI scope under ``council_qa`` so every layer (and the
    endpoints, through ``request.scope``) shares the same object even when a
    layer copies the scope.
    """

    peer: str = ""  # the address that connected, before any forwarded-for header
    user: str | None = None  # set once authenticated
    auth: str = ""  # how: token, cookie, proxy
    identified: bool = False
    question: str | None = None  # set by /api/ask, logged only when COUNCIL_QA_LOG_QUESTIONS is on


def request_info(scope: Scope) -> RequestInfo:
    info = scope.get("council_qa")
    if not isinstance(info, RequestInfo):
        info = RequestInfo(peer=client_host(scope))
        scope["council_qa"] = info
    return info


def client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class ClientAddress:
    """Records the connecting address, then applies X-Forwarded-For/-Proto from trusted forwarders only.

    Replaces uvicorn's own proxy-header handling (``serve`` turns that off)
    because uvicorn overwrites the client address in place: the trusted-proxy
    user header must be judged by the address that actually connected, not by
    the one a forwarded-for header claims.
    """

    def __init__(self, app: ASGIApp, forwarders: list[str]) -> None:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        self.app = ProxyHeadersMiddleware(app, trusted_hosts=forwarders)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            request_info(scope)
        await self.app(scope, receive, send)


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


route_path = _route_path
