"""Per-client rate limiting for ``serve``: a token bucket per API token, proxy user or client address.

Every answer costs CPU seconds on a small shared server, so one script asking
in a loop would slow the service for everyone else. Off by default (a shared
office address would otherwise throttle everyone behind it); when
``COUNCIL_QA_RATE_LIMIT`` is set, a client over its allowance gets a 429 with a
JSON body and ``Retry-After`` saying when to come back.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .middleware import ASGIApp, Receive, Scope, Send, request_info, route_path, send_json

UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*([a-z]+)\s*$", re.I)
OFF = frozenset({"", "0", "off", "none", "no"})
MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float
    text: str

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def words(self) -> str:
        count, _, unit = self.text.partition("/")
        return f"{count} requests per {unit}"


def parse_rate(raw: str | None) -> Rate | None:
    """``30/minute``, ``5/second``, ``1000/hour`` (or ``30 per minute``); empty or ``off``: no limit."""
    value = (raw or "").strip().lower()
    if value in OFF:
        return None
    match = _RATE.match(value)
    unit = UNITS.get(match.group(2)) if match else None
    if match is None or unit is None or int(match.group(1)) < 1:
        raise ValueError(
            f"COUNCIL_QA_RATE_LIMIT={raw!r}: expected requests per second, minute or hour, "
            "e.g. 30/minute, or empty for no limit"
        )
    name = {1.0: "second", 60.0: "minute", 3600.0: "hour"}[unit]
    return Rate(int(match.group(1)), unit, f"{int(match.group(1))}/{name}")


class Buckets:
    """Token buckets, one per client key; the least recently seen clients are forgotten past ``max_keys``.

    A forgotten client starts again with a full bucket, so the memory stays
    bounded at the price of a little generosity towards very many clients.
    """

    def __init__(
        self, rate: Rate, max_keys: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0 when the request may go ahead (and is counted), else the seconds until it may."""
        now = self.clock()
        tokens, at = self._state.pop(key, (float(self.rate.count), now))
        tokens = min(float(self.rate.count), tokens + (now - at) * self.rate.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate.per_second
        self._state[key] = (tokens, now)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)
        return wait


def limited(method: str, path: str) -> bool:
    """What costs the server work: the API, the chat's questions and feedback, and login attempts."""
    return path.startswith("/api/") or (method == "POST" and ("/gradio_api/" in path or path == "/login"))


class RateLimit:
    """429 with ``Retry-After`` for a client over its rate; ``identify`` names the client (or None)."""

    def __init__(self, app: ASGIApp, rate: Rate, identify: Callable[[Scope], str | None]) -> None:
        self.app = app
        self.rate = rate
        self.identify = identify
        self.buckets = Buckets(rate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not limited(scope.get("method", "GET"), route_path(scope)):
            await self.app(scope, receive, send)
            return
        user = self.identify(scope)
        client = scope.get("client")
        key = f"user:{user}" if user else f"ip:{client[0] if client else request_info(scope).peer}"
        wait = self.buckets.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        await send_json(
            send,
            429,
            {
                "error": f"rate limit: more than {self.rate.words} from this client; try again in {retry} s",
                "detail": [{"limit": self.rate.text, "retry_after": retry}],
            },
            headers=[(b"retry-after", str(retry).encode())],
        )
