"""Real ``council-qa serve`` processes for the API and browser tests (loaded as a pytest plugin).

Each server is the real command line in its own process, on a free loopback
port, over its own copy of one small index built once per session from the
bundled records plus a hostile record. Separate processes make the framing
policy (an environment variable), the sub-path and the memory measurements
exactly what an operator gets; separate index copies keep two processes from
sharing one embedded Chroma folder.

PYTEST_DONT_REWRITE: the test modules import helpers from here before pytest
loads it as a plugin, and it holds no assertions to rewrite.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = PROJECT_ROOT / "documents"
ARTIFACTS = PROJECT_ROOT / "artifacts"
HOSTILE_DOC = "hostile-motion-om-dokumenthantering.txt"
HOSTILE_QUESTION = "Hur skyddar dokumenthanteringssystemet mot skadlig kod?"
KUMLA_DOC = "kumla-interpellation-2026-05-12-rorlighet-bland-socialsekreterare.txt"
START_TIMEOUT = 180.0

# Markup in the title, the author, the body text: each must reach the reader as characters.
HOSTILE_TEXT = """---
title: "Motion om <b>säker</b> dokumenthantering <img src=x onerror=\\"window.__xss=3\\">"
kind: motion
municipality: Kumla
date: 2025-03-10
authors: ["<i>Eve</i> Angripare"]
---
Motion om säker dokumenthantering i socialnämnden

Kommunens dokumenthanteringssystem visar ibland skadlig kod som <script>window.__xss=1</script> \
när handlingar publiceras på webben.
Ett exempel på farlig kod är <img src=x onerror="window.__xss=2"> som kan köra skript i läsarens webbläsare.
Vi föreslår att socialnämnden granskar hur dokumenthanteringssystemet skyddar mot skadlig kod under 2025.
"""

SERVER_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "PYTHONUNBUFFERED": "1",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def make_corpus(target: Path) -> Path:
    """The bundled records plus the hostile one."""
    shutil.copytree(DOCUMENTS, target)
    (target / HOSTILE_DOC).write_text(HOSTILE_TEXT, encoding="utf-8")
    return target


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **SERVER_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"council-qa {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class ServerProcess:
    """One ``council-qa serve`` process; stopped by its own pid only."""

    def __init__(
        self,
        name: str,
        documents: Path,
        index: Path,
        logs: Path,
        *,
        root_path: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.root_path = root_path
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + root_path  # where the app's own paths start
        self.log_path = logs / f"{name}.log"
        args = ["serve", "--documents", str(documents), "--index", str(index), "--port", str(self.port)]
        if root_path:
            args += ["--root-path", root_path]
        self._log = self.log_path.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **SERVER_ENV, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.ready_after: float | None = None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    self.ready_after = time.monotonic() - self.started
                    return self
            time.sleep(0.25)
        raise RuntimeError(f"server {self.name} not healthy after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def rss_kb(self) -> int:
        """Resident memory of the server process (VmRSS), without psutil."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("VmRSS not found")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


class ServerFarm:
    """Builds the index once and hands out servers over copies of it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.documents = make_corpus(base / "documents")
        self.index = base / "index"
        self.logs = base / "logs"
        self.logs.mkdir()
        run_cli("ingest", "--documents", str(self.documents), "--index", str(self.index))
        self.servers: list[ServerProcess] = []
        self.named: dict[str, ServerProcess] = {}

    def ensure(self, name: str, *, root_path: str = "", env: dict[str, str] | None = None) -> ServerProcess:
        """The server called ``name``, started now if it is not running yet (without waiting for it),
        so several servers can load their models at the same time."""
        if name not in self.named:
            self.named[name] = self.start(name, root_path=root_path, env=env)
        return self.named[name]

    def index_of(self, name: str) -> Path:
        return self.base / f"index-{name}"

    def start(self, name: str, *, root_path: str = "", env: dict[str, str] | None = None) -> ServerProcess:
        index = self.index_of(name)
        shutil.copytree(self.index, index, ignore=shutil.ignore_patterns("*.lock", "feedback.sqlite3"))
        server = ServerProcess(name, self.documents, index, self.logs, root_path=root_path, env=env)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def ask_in_chat(
    base_url: str,
    question: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 180.0,
    choices: Sequence[object] = ("", "", "", "", ""),
    output: int = 0,
) -> str:
    """Ask through the chat's own Gradio queue over HTTP, as the page does; returns the final transcript HTML.

    The chat's events are private to Gradio's client libraries, so this speaks
    the queue protocol the browser uses: join with the send button's function
    index (read from ``/config``), then read the session's event stream.
    ``choices`` are the filter dropdowns (municipality, kind, party, from and
    to year); ``output`` picks another of the event's outputs (3: the notice).
    """
    import uuid

    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as http:
        config = http.get("/config")
        config.raise_for_status()
        data = config.json()
        ids = {c["id"] for c in data["components"] if c.get("props", {}).get("elem_id") == "cqa-send"}
        fn_index, trigger = next(
            (i, t[0]) for i, d in enumerate(data["dependencies"]) for t in d["targets"] if t[0] in ids
        )
        session = uuid.uuid4().hex[:12]
        body = {
            "data": [question, None, *choices, "sv"],
            "event_data": None,
            "fn_index": fn_index,
            "trigger_id": trigger,
            "session_hash": session,
        }
        # JSON escapes as a browser's JSON.stringify does: a lone surrogate travels as "\udcff"
        joined = http.post(
            "/gradio_api/queue/join", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        joined.raise_for_status()
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success", True):
                        raise RuntimeError(f"the chat's event failed: {message}")
                    return str(message["output"]["data"][output])
    raise RuntimeError("the chat's event stream ended without a result")


def record_metric(name: str, value: Any) -> None:
    """Measurements the tests take, kept in artifacts/metrics.json for the report."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "metrics.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFarm]:
    farm = ServerFarm(tmp_path_factory.mktemp("council-qa-serve"))
    yield farm
    farm.close()


MAIN_ENV = {"COUNCIL_QA_FRAME_ANCESTORS": ""}


def framed_env(host: HostPage) -> dict[str, str]:
    return {"COUNCIL_QA_FRAME_ANCESTORS": f"https://intranet.example, {host.origin}"}


@pytest.fixture(scope="session")
def server(farm: ServerFarm) -> ServerProcess:
    """The default server: served at the root, framing only by itself."""
    return farm.ensure("main", env=MAIN_ENV).wait_ready()


@pytest.fixture(scope="session")
def host_origin() -> Iterator[HostPage]:
    host = HostPage()
    yield host
    host.close()


@pytest.fixture(scope="session")
def framed_server(farm: ServerFarm, host_origin: HostPage) -> ServerProcess:
    """A server that lets the host page's origin (another port, so another origin) frame it."""
    return farm.ensure("framed", env=framed_env(host_origin)).wait_ready()


@pytest.fixture(scope="session")
def subpath_server(farm: ServerFarm) -> ServerProcess:
    return farm.ensure("subpath", root_path="/council-qa").wait_ready()


class HostPage:
    """A page on a second loopback origin that iframes a given URL: ``/?src=<url>``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlparse

                query = parse_qs(urlparse(self.path).query)
                src = query.get("src", ["about:blank"])[0]
                body = HOST_HTML.replace("{src}", _attr(src)).encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, src: str) -> str:
        from urllib.parse import quote

        return f"{self.origin}/?src={quote(src, safe='')}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


HOST_HTML = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Intranät</title>
<style>body{font-family:sans-serif;margin:16px;background:#eef2f7}
iframe{width:360px;height:640px;border:1px solid #94a3b8;background:#fff}</style></head>
<body><h1 style="font-size:18px">Kommunens intranät</h1>
<iframe id="qa" src="{src}" title="Fråga handlingarna" loading="eager"></iframe>
</body></html>"""


def _attr(value: str) -> str:
    import html

    return html.escape(value, quote=True)
