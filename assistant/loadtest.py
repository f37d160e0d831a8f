"""A bounded load test of a running ``council-qa serve``: concurrent clients asking for a fixed time.

Used by the test suite (20 clients for 15 s) and meant for ``council-qa bench``
(a longer run). It answers the questions an operator has before letting a
department loose on the service: does it keep answering (no 5xx), how slow does
it get (p50/p95), and does its memory settle (RSS before and after, read from
/proc for the server's pid).

Refuses non-loopback targets unless told otherwise, so a mistyped URL never
turns a benchmark into an attack on a production server.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

DEFAULT_QUESTIONS = (
    "Hur många socialsekreterare slutade 2024?",
    "Vilka åtgärder lovades mot personalomsättningen?",
    "What measures were promised against turnover?",
    "Vad kostar inhyrd personal i Stockholm?",
    "Hur många socialsekreterare har slutat i Kumla?",
    "How many social workers left in 2024?",
)
MAX_CLIENTS = 200
MAX_SECONDS = 3600.0


def rss_kb(pid: int) -> int:
    """Resident memory (VmRSS) of a process, in kB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"VmRSS not found for pid {pid}")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _is_loopback(base_url: str) -> bool:
    host = urlparse(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_load(
    base_url: str,
    clients: int = 20,
    seconds: float = 15.0,
    questions: Sequence[str] = DEFAULT_QUESTIONS,
    *,
    pid: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120.0,
    allow_remote: bool = False,
) -> dict[str, Any]:
    """``clients`` threads each POST ``/api/ask`` back to back for ``seconds``; returns the figures.

    ``by_status`` counts responses by HTTP status ("error" for transport
    failures such as a refused connection or a timeout); latencies are of
    completed responses. Requests in flight at the deadline are awaited, so the
    run may last up to ``timeout`` longer than ``seconds``.
    """
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients: must be 1 to {MAX_CLIENTS}, not {clients}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds: must be more than 0 and at most {MAX_SECONDS:g}, not {seconds}")
    if not questions:
        raise ValueError("questions: give at least one question")
    if not allow_remote and not _is_loopback(base_url):
        raise ValueError(f"base_url: {base_url} is not a loopback address; pass allow_remote=True to load it")
    base_url = base_url.rstrip("/")
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    rss_before = rss_kb(pid) if pid else None
    started = time.monotonic()
    deadline = started + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=timeout, headers=headers) as http:
            n = index
            while time.monotonic() < deadline:
                question = questions[n % len(questions)]
                n += 1
                t0 = time.perf_counter()
                try:
                    status = str(http.post("/api/ask", json={"question": question}).status_code)
                except httpx.HTTPError:
                    status = "error"
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    statuses[status] += 1
                    if status != "error":
                        latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    rss_after = rss_kb(pid) if pid else None
    requests = sum(statuses.values())
    result: dict[str, Any] = {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": requests,
        "by_status": dict(sorted(statuses.items())),
        "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
        "transport_errors": statuses.get("error", 0),
        "throughput_rps": round(requests / wall, 2) if wall else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
    }
    if rss_before is not None and rss_after is not None:
        result.update(
            rss_before_mb=round(rss_before / 1024, 1),
            rss_after_mb=round(rss_after / 1024, 1),
            rss_growth_mb=round((rss_after - rss_before) / 1024, 1),
        )
    return result
