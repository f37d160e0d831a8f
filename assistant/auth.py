"""Optional authentication for ``serve``: API tokens, a login cookie for the chat, or a proxy's user header.

Off unless configured, because most installations start on one machine for one
person. When ``COUNCIL_QA_API_TOKENS`` is set, the API wants
``Authorization: Bearer <token>`` and the chat pages a login (a form, or the
token passed once by a host page as ``?token=``), after which a signed cookie
carries the session. When ``COUNCIL_QA_TRUSTED_PROXIES`` and
``COUNCIL_QA_USER_HEADER`` are set, a reverse proxy that already authenticated
the user says who it is in that header, and the header is believed from those
addresses only. ``/healthz`` always stays open for monitoring.

Written as plain ASGI in front of both the API and the Gradio mounts, so one
check covers every route, including the chat's streamed answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from .middleware import ASGIApp, Receive, Scope, Send, request_info, route_path, send_json

COOKIE = "council_qa_session"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN = 16
OPEN_PATHS = frozenset({"/healthz"})
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
MAX_FORM = 8 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Token:
    """A configured token, kept only as its SHA-256 digest; ``name`` is what the logs show."""

    name: str
    digest: bytes

    @property
    def fingerprint(self) -> str:
        return self.digest.hex()[:16]


@dataclass(frozen=True)
class AuthConfig:
    tokens: tuple[Token, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()
    user_header: str = ""  # lower case; empty: the proxy's word is not taken
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def enabled(self) -> bool:
        return bool(self.tokens or self.proxy_auth)

    @property
    def proxy_auth(self) -> bool:
        return bool(self.trusted_proxies and self.user_header)

    def describe(self) -> str:
        """One line for the start-up banner, naming no secret."""
        if not self.enabled:
            return "authentication off"
        parts = []
        if self.tokens:
            parts.append(f"{len(self.tokens)} API token(s) and a login for the chat")
        if self.proxy_auth:
            proxies = ", ".join(str(n) for n in self.trusted_proxies)
            parts.append(f"the {self.user_header} header from {proxies}")
        return "authentication on: " + "; ".join(parts)

    # -- who is asking ---------------------------------------------------------------

    def token_user(self, presented: str) -> Token | None:
        """The configured token equal to ``presented``; every token is compared, in constant time."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found = None
        for token in self.tokens:
            if hmac.compare_digest(token.digest, digest):
                found = token
        return found

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    # -- the session cookie ----------------------------------------------------------------

    def session_value(self, token: Token, now: float | None = None) -> str:
        payload = {"u": token.name, "t": token.fingerprint, "e": int((now or time.time()) + SESSION_SECONDS)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(body))}"

    def session_user(self, value: str, now: float | None = None) -> str | None:
        """The user of a cookie this server signed, if unexpired and its token is still configured."""
        body, _, signature = value.partition(".")
        if not body or not signature or len(value) > 1024:
            return None
        try:
            given = _unb64(signature)
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(given, self._sign(body)) or not isinstance(payload, dict):
            return None
        if not isinstance(payload.get("e"), int) or payload["e"] < (now or time.time()):
            return None
        token = next((t for t in self.tokens if t.fingerprint == payload.get("t")), None)
        return token.name if token is not None else None

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- reading the settings -------------------------------------------------------------------


def parse_tokens(raw: str) -> tuple[Token, ...]:
    """``token`` or ``name:token`` entries, comma-separated.

    Errors name the entry by its position, never by its text: it is a secret.
    """
    tokens: list[Token] = []
    names: set[str] = set()
    for position, item in enumerate((raw or "").split(","), start=1):
        item = item.strip()
        if not item:
            continue
        name, sep, secret = item.partition(":")
        if not sep:
            name, secret = "", item
        where = f"COUNCIL_QA_API_TOKENS entry {position}"
        if len(secret) < MIN_TOKEN or any(c.isspace() for c in secret):
            raise ValueError(
                f"{where}: a token must be at least {MIN_TOKEN} characters without spaces; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        digest = hashlib.sha256(secret.encode()).digest()
        name = name or "token-" + digest.hex()[:8]
        if not _NAME.match(name):
            raise ValueError(f"{where}: the name {name!r} must be 1 to 64 letters, digits or _ . @ -")
        if name in names or any(t.digest == digest for t in tokens):
            raise ValueError(f"{where}: the name or the token repeats an earlier entry")
        names.add(name)
        tokens.append(Token(name, digest))
    return tuple(tokens)


def parse_networks(raw: str, variable: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in re.split(r"[\s,]+", (raw or "").strip()):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{variable}: {item!r} is not an IP address or network; "
                "list addresses such as 10.0.0.5 or 10.0.0.0/24, separated by commas"
            ) from None
    return tuple(networks)


def auth_config(settings: Any) -> AuthConfig:
    """The authentication the settings ask for; a ``ValueError`` names the variable at fault."""
    tokens = parse_tokens(getattr(settings, "api_tokens", ""))
    proxies = parse_networks(getattr(settings, "trusted_proxies", ""), "COUNCIL_QA_TRUSTED_PROXIES")
    header = (getattr(settings, "user_header", "") or "").strip()
    if header and not _HEADER.match(header):
        raise ValueError(f"COUNCIL_QA_USER_HEADER: {header!r} is not a header name such as X-Remote-User")
    if header and not proxies:
        raise ValueError(
            "COUNCIL_QA_USER_HEADER is set but COUNCIL_QA_TRUSTED_PROXIES is empty: list the proxy "
            "addresses whose user header may be believed (anyone else could send it)"
        )
    raw_secret = getattr(settings, "session_secret", "") or ""
    if raw_secret and len(raw_secret) < 32:
        raise ValueError("COUNCIL_QA_SESSION_SECRET: use at least 32 random characters, or leave it empty")
    secret = hashlib.sha256(raw_secret.encode()).digest() if raw_secret else secrets.token_bytes(32)
    return AuthConfig(tokens=tokens, trusted_proxies=proxies, user_header=header.lower(), secret=secret)


def forwarders(config: AuthConfig, default: str) -> list[str]:
    """Whose X-Forwarded-For/-Proto to believe: the trusted proxies when set, else uvicorn's default."""
    if config.trusted_proxies:
        return [str(n) for n in config.trusted_proxies]
    return [h.strip() for h in default.split(",") if h.strip()]


# -- the middleware ---------------------------------------------------------------------------


def identify(config: AuthConfig, scope: Scope) -> str | None:
    """Who sent the request (token, proxy header or cookie), remembered on the request's info."""
    info = request_info(scope)
    if info.identified:
        return info.user
    info.identified = True
    headers = _headers(scope)
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if config.tokens and scheme.lower() == "bearer":
        token = config.token_user(credentials.strip())
        if token is None:
            return None  # a wrong token is refused, not overridden by a cookie
        info.user, info.auth = token.name, "token"
        return info.user
    if config.proxy_auth and config.is_trusted_proxy(info.peer):
        user = _clean_user(headers.get(config.user_header, ""))
        if user:
            info.user, info.auth = user, "proxy"
            return user
    if config.tokens:
        cookie = _cookies(headers).get(COOKIE)
        user = config.session_user(cookie) if cookie else None
        if user:
            info.user, info.auth = user, "cookie"
            return user
    return None


def _clean_user(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 256 or not value.isprintable():
        return ""
    return value


class Authenticate:
    """Lets identified requests through; answers the rest with 401 JSON or the login page."""

    def __init__(self, app: ASGIApp, config: AuthConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.config.enabled:
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        user = identify(self.config, scope)
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            if user is None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if self.config.tokens and path == LOGIN_PATH:
            await self._login(scope, receive, send)
            return
        if path == LOGOUT_PATH:
            await self._logout(scope, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if (
            self.config.tokens
            and "token" in query
            and method in ("GET", "HEAD")
            and not path.startswith("/api/")
        ):
            await self._token_in_url(scope, send, query)  # pages only: API clients send the header
            return
        if user is None:
            await self._refuse(scope, send)
            return
        if request_info(scope).auth == "cookie" and method in _UNSAFE_METHODS and not _same_origin(scope):
            # A SameSite=None cookie travels with cross-site requests too; only this site may act with it.
            refusal = {"error": "origin: cross-site requests are not accepted", "detail": []}
            await send_json(send, 403, refusal)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        headers = _headers(scope)
        wants_page = scope.get("method") in ("GET", "HEAD") and "text/html" in headers.get("accept", "")
        if wants_page and self.config.tokens and not route_path(scope).startswith("/api/"):
            target = _app_path(route_path(scope), _query_without_token(scope))
            location = _base(scope) + LOGIN_PATH + "?" + urlencode({"next": target})
            await _redirect(send, location)
            return
        how = "send Authorization: Bearer <token>" if self.config.tokens else "sign in through the proxy"
        await send_json(
            send,
            401,
            {"error": f"authorization: authentication required; {how}", "detail": []},
            headers=[(b"www-authenticate", b'Bearer realm="council-qa"')] if self.config.tokens else [],
        )

    async def _token_in_url(self, scope: Scope, send: Send, query: dict[str, str]) -> None:
        """A host page passes the token once as ``?token=``; it becomes a cookie and leaves the URL."""
        token = self.config.token_user(query["token"])
        target = _app_path(route_path(scope), _query_without_token(scope))
        if token is None:
            await _page(send, 401, login_page(_base(scope), target, "The token is not valid."))
            return
        request_info(scope).user = token.name
        location = _base(scope) + target
        await _redirect(send, location, cookie=self._cookie(scope, self.config.session_value(token)))

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        base = _base(scope)
        if scope.get("method") != "POST":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            await _page(send, 200, login_page(base, safe_next(query.get("next", "/"))))
            return
        form = dict(parse_qsl((await _read_body(receive, MAX_FORM)).decode("utf-8", "replace")))
        target = safe_next(form.get("next", "/"))
        token = self.config.token_user(form.get("token", ""))
        if token is None:
            await _page(send, 401, login_page(base, target, "The token is not valid."))
            return
        request_info(scope).user = token.name
        await _redirect(send, base + target, cookie=self._cookie(scope, self.config.session_value(token)))

    async def _logout(self, scope: Scope, send: Send) -> None:
        await _redirect(send, _base(scope) + LOGIN_PATH, cookie=self._cookie(scope, "", max_age=0))

    def _cookie(self, scope: Scope, value: str, max_age: int = SESSION_SECONDS) -> bytes:
        """HttpOnly always; over https ``SameSite=None; Secure; Partitioned`` so the chat keeps its
        session inside another site's iframe, else ``SameSite=Lax``."""
        parts = [f"{COOKIE}={value}", f"Path={_base(scope)}/", f"Max-Age={max_age}", "HttpOnly"]
        if scope.get("scheme") == "https":
            parts += ["Secure", "SameSite=None", "Partitioned"]
        else:
            parts.append("SameSite=Lax")
        return "; ".join(parts).encode("latin-1")


def safe_next(target: str) -> str:
    """A path inside this app to return to after login; anything else (another site) becomes ``/``."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 2000:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    return target


def _same_origin(scope: Scope) -> bool:
    headers = _headers(scope)
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (browsers send Origin on cross-site POSTs)
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/").lower() == host.split(",")[0].strip().lower()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    """Name-value pairs of the Cookie header, parsed leniently.

    Not ``http.cookies.SimpleCookie``: it gives up on the whole header at the
    first cookie it finds malformed, so another app's odd cookie on the same
    host would silently sign the user out here.
    """
    jar: dict[str, str] = {}
    for item in headers.get("cookie", "").split(";"):
        name, sep, value = item.strip().partition("=")
        if sep and name and name not in jar:
            jar[name] = value.strip().strip('"')
    return jar


def _base(scope: Scope) -> str:
    return str(scope.get("root_path", "")).rstrip("/")


def _app_path(path: str, query: str) -> str:
    return safe_next(path + (f"?{query}" if query else ""))


def _query_without_token(scope: Scope) -> str:
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k != "token"])


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if len(body) > limit:
            return b""
        if not message.get("more_body", False):
            return body


async def _redirect(send: Send, location: str, cookie: bytes | None = None) -> None:
    headers = [(b"location", quote(location, safe="/?=&%:@!$'()*+,;~-._").encode("latin-1"))]
    headers.append((b"cache-control", b"no-store"))
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    headers.append((b"content-length", b"0"))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _page(send: Send, status: int, body: str) -> None:
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


LOGIN_HTML = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Logga in · council-qa</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}}
input,button{{font:inherit;width:100%;box-sizing:border-box;margin:.3rem 0;padding:.5rem}}
.error{{color:#b91c1c}}</style></head>
<body><h1>Logga in / Sign in</h1>{message}
<form method="post" action="{action}">
<label for="token">Åtkomstnyckel / Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">Logga in / Sign in</button></form></body></html>"""


def login_page(base: str, next_path: str, error: str = "") -> str:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return LOGIN_HTML.format(
        message=message, action=html.escape(base + LOGIN_PATH), next=html.escape(next_path, quote=True)
    )


def loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``serve --host``) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, config: AuthConfig) -> str | None:
    """The loud start-up warning for a server that anyone on the network can use, or None."""
    if loopback(host) or config.enabled:
        return None
    line = "!" * 78
    return "\n".join(
        [
            line,
            f"WARNING: council-qa listens on {host} WITHOUT AUTHENTICATION.",
            "Anyone who can reach this address can read every indexed record and use the API.",
            "Set COUNCIL_QA_API_TOKENS (and sign in), or COUNCIL_QA_TRUSTED_PROXIES with",
            "COUNCIL_QA_USER_HEADER behind an authenticating proxy, or bind to 127.0.0.1.",
            line,
        ]
    )
