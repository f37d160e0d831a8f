"""Chroma server mode: ingest, ask and serve replicas through a real ``chroma run`` on loopback.

Also what must never happen to a city's deployment: a stopped or stuck Chroma
server hanging every command (it must fail within seconds, saying what to do),
replicas that never see a new ingest, and a second process writing into an
embedded store that a server holds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.bench import ChromaServer, free_port
from assistant.config import PROJECT_ROOT, Settings
from assistant.engine import REFRESH_SECONDS, Engine
from assistant.ingest import ingest
from assistant.store import SERVE_LOCK, Store, StoreError, exclusive_index

from .conftest import DOCUMENTS, KUMLA_DOC

SKRIVELSE = "stockholm-skrivelse-en-anstrangd-socialtjanst.txt"
NEW_DOC = "ankeborg-interpellation-2026-02-03-snorojning.txt"
NEW_TEXT = """---
title: Interpellation om snöröjningen i Ankeborg
kind: interpellation
municipality: Ankeborg
date: 2026-02-03
authors: [Kajsa Anka]
parties: [C]
---
Interpellation om snöröjningen i Ankeborg

Snöröjningsentreprenaden i Ankeborg har under vintern lämnat gång- och cykelvägar oplogade i flera dygn.
Hur avser tekniska nämndens ordförande att se till att snöröjningsentreprenören följer avtalet?
"""
FAST = 10.0  # seconds within which an unreachable server must be reported


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    base = tmp_path_factory.mktemp("chroma-server")
    with ChromaServer(base / "data", base / "chroma.log") as server:
        yield server


@pytest.fixture(scope="module")
def remote(chroma: ChromaServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two bundled records ingested through the Chroma server (small, so the module stays fast)."""
    base = tmp_path_factory.mktemp("remote")
    documents = base / "documents"
    documents.mkdir()
    for name in (KUMLA_DOC, SKRIVELSE, SKRIVELSE + ".meta.json"):
        shutil.copy(DOCUMENTS / name, documents / name)
    settings = Settings.from_env(documents=documents, index=base / "index", chroma_url=chroma.url)
    report = ingest(settings, progress=False)
    assert len(report.added) == 2 and not report.failed
    return settings


def test_ingest_went_to_the_server_and_the_cli_asks_through_it(remote: Settings) -> None:
    assert not (Path(remote.index) / "chroma").exists(), "nothing may be written to an embedded store"
    store = Store(remote)
    assert set(store.document_records()) == {KUMLA_DOC, SKRIVELSE}
    assert store.info["model"] == remote.model and store.content_version

    env = {**os.environ, "COUNCIL_QA_CHROMA_URL": remote.chroma_url, "HF_HUB_OFFLINE": "1"}
    question = "Hur många socialsekreterare slutade i Kumla?"
    folders = ["--index", str(remote.index), "--documents", str(remote.documents)]
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", question, "--json", *folders],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["citations"] and answer["citations"][0]["doc_id"] == KUMLA_DOC
    assert "14" in answer["answer"]


def test_a_store_sees_the_content_version_another_store_wrote(remote: Settings) -> None:
    """The fixed bug: chromadb caches collection metadata, so a replica never saw another's bump."""
    reader, writer = Store(remote), Store(remote)
    before = reader.content_version
    new = writer.bump_version()
    assert new != before
    assert reader.content_version == new


def test_replicas_see_a_new_ingest_within_seconds(remote: Settings, tmp_path: Path) -> None:
    """Two serve replicas (engines with their own lexical folders) over one server, then an ingest."""
    from assistant.embeddings import get_embedder

    embedder = get_embedder(remote.model, remote.model_cache)
    replicas = [
        Engine(replace(remote, index=tmp_path / f"replica-{i}"), Store(remote), embedder) for i in range(2)
    ]
    question = "Vad säger interpellationen om snöröjningsentreprenaden i Ankeborg?"
    for engine in replicas:
        assert not _cites(engine.search(question, mode="lexical"), NEW_DOC)

    (Path(remote.documents) / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    report = ingest(remote, progress=False)
    assert report.added == [NEW_DOC]
    started = time.monotonic()
    for engine in replicas:
        assert _cites(engine.search(question, mode="dense"), NEW_DOC), "dense retrieval queries the server"
        deadline = started + REFRESH_SECONDS + 20
        while not _cites(engine.search(question, mode="lexical"), NEW_DOC):
            assert time.monotonic() < deadline, "the replica's lexical index never refreshed"
            time.sleep(0.5)
        assert engine.answer(question).citations[0].doc_id == NEW_DOC
    assert time.monotonic() - started < REFRESH_SECONDS + 20


def _cites(hits: list, doc_id: str) -> bool:
    return any(h.chunk.doc_id == doc_id for h in hits[:3])


def test_nothing_listening_fails_fast_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings.from_env(index=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot reach the Chroma server") as error:
        Store(settings)
    assert time.monotonic() - started < FAST
    assert "COUNCIL_QA_CHROMA_URL" in str(error.value) and "chroma run" in str(error.value)


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    """Accepts connections (the kernel's backlog does) but never replies: a hung server, not a down one."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings = Settings.from_env(index=tmp_path, chroma_url=url, chroma_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(StoreError, match="within 1 s"):
            Store(settings)
        assert time.monotonic() - started < FAST


def test_the_token_is_sent_as_a_bearer_token_and_a_refusal_names_it(tmp_path: Path) -> None:
    seen: list[str] = []

    class Guard(BaseHTTPRequestHandler):
        """Answers the heartbeat like Chroma and refuses everything else, as a token-checking proxy would."""

        def do_GET(self) -> None:
            if self.path.endswith("/heartbeat"):
                self._reply(200, {"nanosecond heartbeat": 1})
            else:
                seen.append(self.headers.get("Authorization", ""))
                self._reply(401, {"error": "Unauthorized", "message": "bad token"})

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Guard)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        settings = Settings.from_env(index=tmp_path, chroma_url=url, chroma_token="s3cret-token")
        with pytest.raises(StoreError, match="COUNCIL_QA_CHROMA_TOKEN"):
            Store(settings)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert seen and all(h == "Bearer s3cret-token" for h in seen)


def test_healthz_is_503_when_the_chroma_server_hangs_or_goes_away(tmp_path: Path) -> None:
    """Stuck first (SIGSTOP: connections are accepted, nothing answers), then back, then gone.

    A stuck server is the hard case: without the heartbeat first, the store
    call would wait for the two-minute request timeout.
    """
    from fastapi.testclient import TestClient

    from assistant.embeddings import get_embedder
    from assistant.server import create_app

    with ChromaServer(tmp_path / "data", tmp_path / "chroma.log") as server:
        assert server.proc is not None
        settings = Settings.from_env(index=tmp_path / "index", chroma_url=server.url, chroma_timeout=1.0)
        engine = Engine(settings, Store(settings), get_embedder(settings.model, settings.model_cache))
        client = TestClient(create_app(engine, settings, with_ui=False))
        assert client.get("/healthz").status_code == 200
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            stuck = client.get("/healthz")
            stuck_s = time.monotonic() - started
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert stuck.status_code == 503 and stuck_s < FAST, (stuck.status_code, stuck_s)
        assert "does not answer" in stuck.json()["error"] and server.url in stuck.json()["action"]
        assert client.get("/healthz").status_code == 200
        server.stop()
        started = time.monotonic()
        health = client.get("/healthz")
        assert time.monotonic() - started < FAST
    assert health.status_code == 503
    assert health.json()["status"] == "error" and health.json()["error"]


# -- the embedded store is for one process -------------------------------------------------------


HOLD = """
import sys, time
from pathlib import Path
from assistant.config import Settings
from assistant.store import exclusive_index
with exclusive_index(Settings.from_env(index=Path(sys.argv[1]), chroma_url=""), "serve"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_ingest_is_refused_while_serve_holds_the_embedded_index(tmp_path: Path) -> None:
    settings = Settings.from_env(index=tmp_path / "index", chroma_url="")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(settings.index)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreError) as error, exclusive_index(settings, "ingest"):
            pass
        assert time.monotonic() - started < 1
        message = str(error.value)
        assert f"council-qa serve (pid {holder.pid})" in message
        assert "Stop the server" in message and "COUNCIL_QA_CHROMA_URL" in message
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with exclusive_index(settings, "ingest"):  # free again once the server is gone
        pass


def test_the_index_lock_is_reentrant_in_one_process_and_absent_in_server_mode(tmp_path: Path) -> None:
    settings = Settings.from_env(index=tmp_path / "index", chroma_url="")
    with exclusive_index(settings, "serve"), exclusive_index(settings, "ingest"):
        pass  # serve builds a missing index through ingest, in the same process
    remote = replace(settings, index=tmp_path / "remote", chroma_url="http://127.0.0.1:9")
    with exclusive_index(remote, "serve"):
        assert not (tmp_path / "remote" / SERVE_LOCK).exists()
