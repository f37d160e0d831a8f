"""The Chroma store: chunk vectors, sentence vectors and one record per document.

Three collections live side by side:

* ``<name>`` holds one entry per chunk (our own embeddings, cosine space) with
  the metadata that filters need;
* ``<name>-sentences`` holds one vector per sentence of a chunk, keyed by
  document and span, for the composer's choice of quotes (never searched);
* ``<name>-documents`` holds one entry per document: its full text, metadata
  and content hash. That entry is written *last* and acts as the commit marker
  of a document, so an interrupted ingest can always tell a complete document
  from leftovers (chunks and sentences whose hash does not match their record).

The chunk collection's metadata records the embedding model and dimension, and
a content version that changes whenever chunks change, so every reader (the
lexical index, other ``serve`` replicas) knows when to refresh.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .config import Settings
from .schema import Chunk, DocumentMetadata, Filters, ParsedDocument, date_bounds

log = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_GET_PAGE = 5000
CHROMA_REQUEST_TIMEOUT = 120.0
"""Seconds a single request to a Chroma server may take (a 5000-chunk write on a busy server is slow)."""
SERVE_LOCK = "serve.lock"
DAMAGED_SUFFIX = ".damaged"
SENTENCES_SUFFIX = "-sentences"
DOCUMENTS_SUFFIX = "-documents"

Span = tuple[str, int, int]
"""A sentence's document id, start and end (characters from the document's start)."""

_held: dict[str, list[Any]] = {}  # lock path -> [open handle, depth], for this process
_held_lock = threading.Lock()


class StoreError(Exception):
    """The index cannot be used as it is; the message says what to do."""


class DamagedIndexError(StoreError):
    """The embedded store's files cannot be read; ``ingest --rebuild`` moves them aside and starts anew."""


@dataclass
class DocumentRecord:
    doc_id: str
    content_hash: str
    n_chunks: int
    metadata: DocumentMetadata


def make_client(settings: Settings) -> Any:
    """A Chroma client: a server's when ``chroma_url`` is set, else the embedded store in the index folder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url:
        return _http_client(settings)
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    path = Path(settings.index) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise DamagedIndexError(damaged_message(path, exc)) from exc


def damaged_message(path: Path, exc: BaseException) -> str:
    """What a user reads when the embedded store cannot be read: the folder, the cause, the fix."""
    cause = " ".join(str(exc).split()) or type(exc).__name__
    cause = cause if len(cause) <= 120 else cause[:120] + "…"
    return (
        f"the index at {path} cannot be opened ({cause}). Rebuild it from the documents with "
        "`council-qa ingest --rebuild` (same --index; stop any `council-qa serve` on it first), "
        "which moves the damaged folder aside."
    )


def forget_client(path: Path) -> None:
    """Drop chromadb's per-process cached system for an embedded store folder.

    chromadb keeps one system per folder for the life of the process; after
    the folder was moved aside, a new client for the same path must not be
    handed the old, broken one.
    """
    from chromadb.api.client import SharedSystemClient

    with contextlib.suppress(Exception):
        system = SharedSystemClient._identifier_to_system.pop(str(path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(path), None)
        if system is not None:
            system.stop()


def move_aside(settings: Settings) -> Path | None:
    """Move a damaged embedded store (``INDEX/chroma``) aside for ``ingest --rebuild``; returns where to.

    Moved, not deleted: it may be the only copy of something an operator wants
    to look at, and the message says it can be deleted. Nothing to do (None)
    for a Chroma server, or when there is no folder.
    """
    path = Path(settings.index) / "chroma"
    if settings.chroma_url or not path.exists():
        return None
    target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    forget_client(path)
    path.rename(target)
    return target


def _http_client(settings: Settings) -> Any:
    """A client for a Chroma server that fails within seconds, with a message, when the server is down.

    chromadb 1.5's HTTP client waits forever (its httpx session has no
    timeout): a stopped or firewalled server would hang ``ask``, ``ingest`` and
    every ``/healthz``. So the server is probed first with a connect timeout,
    and the client's session gets the same timeouts for every later request.
    The token goes through chromadb's own token provider, which sends
    ``Authorization: Bearer <token>``, what Chroma's token authentication and
    the usual reverse proxies expect.
    """
    from urllib.parse import urlparse

    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreError(
            f"COUNCIL_QA_CHROMA_URL={settings.chroma_url!r} is not a server address; "
            "use http://host:port, e.g. http://127.0.0.1:8000"
        )
    port = url.port or (443 if url.scheme == "https" else 8000)
    base = f"{url.scheme}://{url.hostname}:{port}"
    timeout = httpx.Timeout(CHROMA_REQUEST_TIMEOUT, connect=settings.chroma_timeout)
    try:
        reply = httpx.get(f"{base}/api/v2/heartbeat", timeout=settings.chroma_timeout)
    except httpx.HTTPError as exc:
        raise StoreError(
            f"cannot reach the Chroma server at {settings.chroma_url} within {settings.chroma_timeout:g} s "
            f"({type(exc).__name__}: {exc}). Start it (`chroma run --path DIR --port {port}`), check the "
            "address, or unset COUNCIL_QA_CHROMA_URL to use the embedded store."
        ) from exc
    if reply.status_code != 200:
        raise StoreError(
            f"{settings.chroma_url} answered {reply.status_code} to /api/v2/heartbeat, so it is not a "
            "Chroma 1.x server (or a proxy in front of it is in the way); check COUNCIL_QA_CHROMA_URL."
        )
    auth: dict[str, Any] = {}
    if settings.chroma_token:
        auth = {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": settings.chroma_token,
        }
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False, **auth)
    try:
        client = chromadb.HttpClient(
            host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
        )
    except Exception as exc:
        if _is_auth_error(exc):
            hint = "Check COUNCIL_QA_CHROMA_TOKEN."
        else:
            hint = "Is it a Chroma 1.x server? Or unset COUNCIL_QA_CHROMA_URL for the embedded store."
        raise StoreError(
            f"the Chroma server at {settings.chroma_url} refused the connection ({exc}). {hint}"
        ) from exc
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = timeout
    return client


def _is_auth_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".casefold()
    return any(word in text for word in ("auth", "401", "403", "forbidden", "token"))


@contextmanager
def exclusive_index(settings: Settings, role: str) -> Iterator[None]:
    """Keep other processes out of an embedded index while ``role`` ("serve", "ingest") uses it.

    An embedded Chroma folder is safe for one process only: a server keeps
    the vector index in memory and would neither see another process's writes
    nor survive them intact. ``serve`` holds this lock for its lifetime and
    ``ingest`` for its run, so the second one stops at once with a message
    saying what to do. Re-entrant within a process (``serve`` builds a missing
    index through ``ingest``); a Chroma server needs no lock, any number of
    processes may share it.
    """
    if settings.chroma_url:
        yield
        return
    index = Path(settings.index)
    index.mkdir(parents=True, exist_ok=True)
    path = index / SERVE_LOCK
    key = str(path.resolve())
    with _held_lock:
        reentrant = key in _held
        if reentrant:
            _held[key][1] += 1
        else:
            _held[key] = [_acquire(path, role), 1]
    try:
        yield
    finally:
        with _held_lock:
            _held[key][1] -= 1
            if _held[key][1] == 0:
                handle = _held.pop(key)[0]
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()


def _acquire(path: Path, role: str) -> IO[str]:
    # "a+", not "w": that would erase the holder's note before we read it. Closed by the caller.
    handle = open(path, "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another council-qa process"
        handle.close()
        raise StoreError(_in_use_message(path.parent, holder, role)) from None
    handle.seek(0)
    handle.truncate(0)
    handle.write(f"council-qa {role} (pid {os.getpid()})")
    handle.flush()
    return handle


def _in_use_message(index: Path, holder: str, role: str) -> str:
    if "serve" not in holder:
        what = "Wait for it to finish and try again"
    elif role == "serve":
        what = "Stop that server, or give this one its own --index"
    else:
        what = f"Stop the server, run {role}, then start the server again"
    return (
        f"cannot {role}: the index at {index} is in use by {holder}, and an embedded Chroma store is "
        f"safe for one process only. {what}; or run a Chroma server (`chroma run --path DIR`) and set "
        "COUNCIL_QA_CHROMA_URL=http://host:port for every command, so ingest and any number of servers "
        "can share it."
    )


HNSW = {"ef_search": 400}
"""How wide Chroma's HNSW search looks. With its default (100) the 50 dense
candidates missed 4.2% of the exact top 50 on the Riksdag gold questions
(127 of 3,050), and which ones changed from process to process (the embedded
store re-inserts its recent additions into the graph on every open), so eval
results flipped. At 400: 1 miss in 3,050. The graph can still differ between
opens, so a candidate near rank 50 may rarely come and go."""


class Store:
    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        try:
            self.chunks = self.client.get_or_create_collection(
                settings.collection,
                configuration={"hnsw": {"space": "cosine", **HNSW}},
                embedding_function=None,
            )
            self._settle_hnsw()
            self.sentences = self.client.get_or_create_collection(
                settings.collection + SENTENCES_SUFFIX, embedding_function=None
            )
            self.docs = self.client.get_or_create_collection(
                settings.collection + DOCUMENTS_SUFFIX, embedding_function=None
            )
        except Exception as exc:
            if settings.chroma_url:
                raise
            # The client opened, but the collections' records are unreadable: as damaged as a bad file.
            raise DamagedIndexError(damaged_message(Path(settings.index) / "chroma", exc)) from exc

    def _settle_hnsw(self) -> None:
        """Give an index made before ``HNSW`` existed the same search settings.

        Best effort: a store that refuses the change (a read-only token on a
        Chroma server, say) still answers, with Chroma's narrower search.
        """
        hnsw = (getattr(self.chunks, "configuration_json", None) or {}).get("hnsw") or {}
        if all(hnsw.get(key) == value for key, value in HNSW.items()):
            return
        try:
            self.chunks.modify(configuration={"hnsw": dict(HNSW)})
        except Exception as exc:  # any refusal leaves a working, narrower index
            log.warning("could not set the HNSW search to %s (%s); Chroma's default is used", HNSW, exc)

    # -- model bookkeeping -------------------------------------------------

    def refresh(self) -> None:
        """Re-read the chunk collection's record from the store: one cheap call.

        chromadb caches a collection's metadata on the Collection object when
        it is fetched, so without this a long-running ``serve`` would never see
        the content version another process (an ingest, another replica's
        host) wrote. A ``--rebuild`` elsewhere recreates the collections under
        new ids; both are then picked up again.
        """
        from chromadb.errors import NotFoundError

        try:
            fresh = self.client.get_collection(self.settings.collection, embedding_function=None)
        except NotFoundError:
            return  # being rebuilt right now; the old handle serves until the new one exists
        if fresh.id != self.chunks.id:
            try:
                self.docs = self.client.get_collection(
                    self.settings.collection + DOCUMENTS_SUFFIX, embedding_function=None
                )
                self.sentences = self.client.get_collection(
                    self.settings.collection + SENTENCES_SUFFIX, embedding_function=None
                )
            except NotFoundError:
                return
        self.chunks = fresh

    @property
    def info(self) -> dict[str, Any]:
        """The chunk collection's metadata (model, dim, content version) as the store has it now."""
        self.refresh()
        return dict(self.chunks.metadata or {})

    def check_model(self, model: str, dim: int) -> None:
        """Refuse to mix vectors of two models: the scores would be garbage."""
        info = self.info
        if "model" not in info or self.chunks.count() == 0:
            return
        if info["model"] != model or int(info.get("dim", dim)) != dim:
            raise StoreError(
                f"the index in {self.location} was built with the embedding model "
                f"{info['model']!r} ({info.get('dim')} dimensions), not {model!r} ({dim}). "
                "Re-ingest with `council-qa ingest --rebuild`, or set COUNCIL_QA_MODEL back."
            )

    def set_info(self, **values: Any) -> None:
        info = {k: v for k, v in self.info.items() if not k.startswith("hnsw:")}
        info.update(values)
        self.chunks.modify(metadata=info)

    def bump_version(self) -> str:
        version = uuid.uuid4().hex
        self.set_info(content_version=version)
        return version

    @property
    def content_version(self) -> str:
        return str(self.info.get("content_version", ""))

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(Path(self.settings.index) / "chroma")

    # -- documents -----------------------------------------------------------

    def document_records(self) -> dict[str, DocumentRecord]:
        records: dict[str, DocumentRecord] = {}
        for ids, metas, _ in self._iterate(self.docs, include=["metadatas"]):
            for doc_id, meta in zip(ids, metas):
                records[doc_id] = _record_from_meta(doc_id, meta)
        return records

    def get_document(self, doc_id: str) -> ParsedDocument | None:
        got = self.docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        record = _record_from_meta(doc_id, got["metadatas"][0])
        return ParsedDocument(doc_id, got["documents"][0], record.metadata, record.content_hash)

    def put_document(
        self,
        doc: ParsedDocument,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        heading_free: Mapping[str, np.ndarray] | None = None,
        sentences: Mapping[tuple[int, int], np.ndarray] | None = None,
    ) -> None:
        """Replace a document: old chunks out, new chunks (and sentences) in, then the commit marker.

        ``heading_free`` maps an opening chunk's id to the vector of its text
        without the record's heading; it is kept in that chunk's metadata, so it
        is written and deleted with the chunk and can never belong to another.
        ``sentences`` maps a sentence's span to its vector.
        """
        self.delete_chunks_of(doc.doc_id)
        heading_free = heading_free or {}
        for start in range(0, len(chunks), _GET_PAGE):
            batch = chunks[start : start + _GET_PAGE]
            self.chunks.add(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[_chunk_meta(c, doc.content_hash, heading_free.get(c.chunk_id)) for c in batch],
            )
        self._add_sentences(doc, sentences or {})
        meta = _doc_meta(doc, len(chunks))
        self.docs.upsert(ids=[doc.doc_id], embeddings=[[1.0]], documents=[doc.text], metadatas=[meta])

    def _add_sentences(self, doc: ParsedDocument, sentences: Mapping[tuple[int, int], np.ndarray]) -> None:
        spans = list(sentences)
        for start in range(0, len(spans), _GET_PAGE):
            batch = spans[start : start + _GET_PAGE]
            self.sentences.add(
                ids=[sentence_id((doc.doc_id, a, b)) for a, b in batch],
                embeddings=np.stack([np.asarray(sentences[span], dtype=np.float32) for span in batch]),
                metadatas=[{"doc_id": doc.doc_id, "doc_hash": doc.content_hash}] * len(batch),
            )

    def add_documents(
        self,
        items: Sequence[tuple[ParsedDocument, Sequence[Chunk], np.ndarray]],
        sentences: Mapping[str, Mapping[tuple[int, int], np.ndarray]] | None = None,
    ) -> None:
        """Add many new documents in few round trips: all their chunks, then all their records.

        For bulk loads into an empty store (the benchmark's 100k-chunk corpora):
        ``put_document`` costs three calls per document, which over HTTP is most
        of the time. The order keeps the commit-marker guarantee: a record is
        written only after every chunk it vouches for.
        """
        chunks = [c for _, doc_chunks, _ in items for c in doc_chunks]
        hashes = [doc.content_hash for doc, doc_chunks, _ in items for _ in doc_chunks]
        if chunks:
            vectors = np.concatenate([np.asarray(v, dtype=np.float32) for _, c, v in items if len(c)])
            for start in range(0, len(chunks), _GET_PAGE):
                end = start + _GET_PAGE
                self.chunks.add(
                    ids=[c.chunk_id for c in chunks[start:end]],
                    embeddings=vectors[start:end],
                    documents=[c.text for c in chunks[start:end]],
                    metadatas=[_chunk_meta(c, h) for c, h in zip(chunks[start:end], hashes[start:end])],
                )
        for doc, _, _ in items:
            self._add_sentences(doc, (sentences or {}).get(doc.doc_id, {}))
        for start in range(0, len(items), _GET_PAGE):
            batch = items[start : start + _GET_PAGE]
            self.docs.upsert(
                ids=[doc.doc_id for doc, _, _ in batch],
                embeddings=[[1.0]] * len(batch),
                documents=[doc.text for doc, _, _ in batch],
                metadatas=[_doc_meta(doc, len(c)) for doc, c, _ in batch],
            )

    def delete_document(self, doc_id: str) -> None:
        self.docs.delete(ids=[doc_id])
        self.delete_chunks_of(doc_id)

    def delete_chunks_of(self, doc_id: str) -> None:
        self.chunks.delete(where={"doc_id": doc_id})
        self.sentences.delete(where={"doc_id": doc_id})

    def remove_orphans(self) -> int:
        """Delete chunks (and sentence vectors) that no committed document record vouches for."""
        records = self.document_records()
        chunks = self._orphans(self.chunks, records)
        if chunks:
            self.bump_version()  # first: a run killed midway must not leave BM25 looking current
        sentences = self._orphans(self.sentences, records)
        for collection, orphans in ((self.chunks, chunks), (self.sentences, sentences)):
            for start in range(0, len(orphans), _GET_PAGE):
                collection.delete(ids=orphans[start : start + _GET_PAGE])
        return len(chunks)

    def _orphans(self, collection: Any, records: Mapping[str, DocumentRecord]) -> list[str]:
        orphans: list[str] = []
        for ids, metas, _ in self._iterate(collection, include=["metadatas"]):
            for entry_id, meta in zip(ids, metas):
                record = records.get(str(meta.get("doc_id")))
                if record is None or record.content_hash != meta.get("doc_hash"):
                    orphans.append(entry_id)
        return orphans

    def document_sentences(self, doc_id: str) -> dict[tuple[int, int], np.ndarray]:
        """Every sentence vector of a document by span (the benchmark copies them between stores)."""
        got = self.sentences.get(where={"doc_id": doc_id}, include=["embeddings"])
        return {
            sentence_span(sid)[1:]: np.asarray(vector, dtype=np.float32)
            for sid, vector in zip(got["ids"], got["embeddings"])
        }

    def sentence_vectors(self, spans: Sequence[Span]) -> dict[Span, np.ndarray]:
        """The stored vectors of those of ``spans`` the index holds (an index older than them holds none)."""
        if not spans:
            return {}
        wanted = {sentence_id(span): span for span in spans}
        got = self.sentences.get(ids=list(wanted), include=["embeddings"])
        pairs = zip(got["ids"], got["embeddings"])
        return {wanted[sid]: np.asarray(vector, dtype=np.float32) for sid, vector in pairs}

    # -- chunks ----------------------------------------------------------------

    def count(self) -> int:
        return self.chunks.count()

    def ping(self) -> None:
        """Raise ``StoreError`` within ``chroma_timeout`` seconds when a Chroma server does not answer.

        For health checks: a store call would wait up to ``CHROMA_REQUEST_TIMEOUT``
        on a server that accepts connections but has stopped answering.
        """
        if not self.settings.chroma_url:
            return
        import httpx

        url = self.settings.chroma_url.rstrip("/") + "/api/v2/heartbeat"
        try:
            httpx.get(url, timeout=self.settings.chroma_timeout).raise_for_status()
        except httpx.HTTPError as exc:
            raise StoreError(
                f"the Chroma server at {self.settings.chroma_url} does not answer "
                f"({type(exc).__name__}: {exc}); check that it is running"
            ) from exc

    def all_chunks(self) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]]]]:
        """Every chunk's id, text and metadata, in pages (for building the lexical index)."""
        for ids, metas, docs in self._iterate(self.chunks, include=["metadatas", "documents"]):
            yield ids, docs, metas

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: chunk_from_meta(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [by_id[i] for i in ids if i in by_id]

    def similarities(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine between ``vector`` and stored chunks (vectors are normalized, so a dot product)."""
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["embeddings"])
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        return {cid: float(x) for cid, x in zip(got["ids"], sims)}

    def heading_free_similarities(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine between ``vector`` and the given opening chunks' text without their heading.

        Chunks without such a vector (not an opening, no heading, or indexed
        before it existed) are left out: they are simply not demoted.
        """
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["metadatas"])
        query = np.asarray(vector, dtype=np.float32)
        out: dict[str, float] = {}
        for cid, meta in zip(got["ids"], got["metadatas"]):
            packed = unpack_vector((meta or {}).get(HEADING_FREE_KEY))
            if packed is not None and packed.shape == query.shape:
                out[cid] = float(packed @ query)
        return out

    def scored_chunks(self, ids: Sequence[str], vector: np.ndarray) -> list[tuple[Chunk, float]]:
        """Chunks with their cosine to ``vector``, in one fetch (a search's candidates that BM25 alone found).

        One call instead of a fetch for the vectors and later ones for the
        texts: each fetch holds the interpreter for milliseconds, which is what
        limits how many questions ``serve`` answers at once.
        """
        if not ids:
            return []
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        return [
            (chunk_from_meta(cid, text, meta), float(sim))
            for cid, text, meta, sim in zip(got["ids"], got["documents"], got["metadatas"], sims)
        ]

    def next_chunks(self, chunks: Sequence[Chunk]) -> dict[str, Chunk]:
        """The chunk that follows each given chunk in its document (for a question, usually its answer)."""
        doc_ids = sorted({c.doc_id for c in chunks})
        if not doc_ids:
            return {}
        where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": doc_ids}}
        got = self.chunks.get(where=where, include=["metadatas"])
        starts: dict[str, list[tuple[int, str]]] = {}
        for cid, meta in zip(got["ids"], got["metadatas"]):
            starts.setdefault(str(meta["doc_id"]), []).append((int(meta["start"]), cid))
        following: dict[str, str] = {}
        for chunk in chunks:
            after = sorted(entry for entry in starts.get(chunk.doc_id, []) if entry[0] >= chunk.end)
            if after:
                following[chunk.chunk_id] = after[0][1]
        fetched = {c.chunk_id: c for c in self.get_chunks(sorted(set(following.values())))}
        return {k: fetched[v] for k, v in following.items() if v in fetched}

    def overlapping_chunks(self, chunks: Sequence[Chunk]) -> dict[str, list[Chunk]]:
        """For each chunk, the other chunks of its document that share text with it.

        Chunks overlap, so a sentence that one cuts at its edge is usually whole
        in a neighbour; the composer quotes it from there.
        """
        doc_ids = sorted({c.doc_id for c in chunks})
        if not doc_ids:
            return {}
        where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": doc_ids}}
        got = self.chunks.get(where=where, include=["metadatas"])
        spans = [
            (str(m["doc_id"]), int(m["start"]), int(m["end"]), cid)
            for cid, m in zip(got["ids"], got["metadatas"])
        ]
        wanted = {
            c.chunk_id: [
                cid
                for doc, start, end, cid in spans
                if doc == c.doc_id and cid != c.chunk_id and start < c.end and c.start < end
            ]
            for c in chunks
        }
        fetched = {
            c.chunk_id: c for c in self.get_chunks(sorted({cid for ids in wanted.values() for cid in ids}))
        }
        return {key: [fetched[cid] for cid in ids if cid in fetched] for key, ids in wanted.items()}

    def query(self, vector: np.ndarray, n: int, filters: Filters | None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, the filter applied inside the store query.

        No ``count()`` first: Chroma 1.x returns fewer results when fewer exist
        (none from an empty store), and counting cost 15 ms per question at 100k
        chunks, a round trip more with a Chroma server.
        """
        where = where_clause(filters)
        got = self.chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for cid, text, meta, dist in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
        ):
            out.append((chunk_from_meta(cid, text, meta), 1.0 - float(dist)))
        return out

    def matching_ids(self, filters: Filters) -> list[str]:
        ids: list[str] = []
        offset = 0
        where = where_clause(filters)
        while True:
            got = self.chunks.get(where=where, include=[], limit=_GET_PAGE, offset=offset)
            ids.extend(got["ids"])
            if len(got["ids"]) < _GET_PAGE:
                return ids
            offset += _GET_PAGE

    def _iterate(self, collection: Any, include: list[str]) -> Iterator[tuple[list, list, list]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=_GET_PAGE, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            metas = got.get("metadatas") or [{}] * len(ids)
            docs = got.get("documents") or [""] * len(ids)
            yield ids, metas, docs
            if len(ids) < _GET_PAGE:
                return
            offset += _GET_PAGE


# -- metadata mapping --------------------------------------------------------------


HEADING_FREE_KEY = "heading_free"


def sentence_id(span: Span) -> str:
    doc_id, start, end = span
    return f"{doc_id}#{start}-{end}"


def sentence_span(sentence_id: str) -> Span:
    doc_id, _, span = sentence_id.rpartition("#")
    start, _, end = span.partition("-")
    return doc_id, int(start), int(end)


def pack_vector(vector: np.ndarray) -> str:
    """A vector as a metadata string, as Chroma metadata holds scalars; float16 is ample for a cosine."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def unpack_vector(packed: object) -> np.ndarray | None:
    if not isinstance(packed, str) or not packed:
        return None
    try:
        raw = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 2:
        return None
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def _chunk_meta(chunk: Chunk, doc_hash: str, heading_free: np.ndarray | None = None) -> dict[str, Any]:
    m = chunk.metadata
    date_from, date_to = date_bounds(m.date)
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "doc_hash": doc_hash,
        "start": chunk.start,
        "end": chunk.end,
        "title": m.title,
        "kind": m.kind,
        "municipality": m.municipality,
        "body": m.body,
        "date": m.date,
        "date_from": date_from,
        "date_to": date_to,
        "metadata": json.dumps(m.to_dict(), ensure_ascii=False),
    }
    # Chroma rejects empty lists; a missing key simply never matches a filter.
    if m.authors:
        meta["authors"] = list(m.authors)
    if m.parties:
        meta["parties"] = list(m.parties)
    if heading_free is not None:
        meta[HEADING_FREE_KEY] = pack_vector(heading_free)
    return meta


def _doc_meta(doc: ParsedDocument, n_chunks: int) -> dict[str, Any]:
    return {
        "content_hash": doc.content_hash,
        "n_chunks": n_chunks,
        "metadata": json.dumps(doc.metadata.to_dict(), ensure_ascii=False),
    }


def chunk_from_meta(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    metadata = DocumentMetadata.from_dict(json.loads(meta.get("metadata") or "{}"))
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        metadata=metadata,
    )


def _record_from_meta(doc_id: str, meta: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        content_hash=str(meta.get("content_hash", "")),
        n_chunks=int(meta.get("n_chunks", 0)),
        metadata=DocumentMetadata.from_dict(json.loads(meta.get("metadata") or "{}")),
    )


def where_clause(filters: Filters | None) -> dict[str, Any] | None:
    """Translate filters into Chroma's ``where`` language."""
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    for field in ("municipality", "kind", "body"):
        value = getattr(filters, field)
        if value:
            clauses.append({field: value})
    if filters.party:
        clauses.append({"parties": {"$contains": filters.party}})
    if filters.author:
        clauses.append({"authors": {"$contains": filters.author}})
    if filters.since:
        clauses.append({"date_to": {"$gte": date_bounds(filters.since)[0]}})
    if filters.until:
        clauses.append({"date_from": {"$lte": date_bounds(filters.until)[1]}})
        clauses.append({"date_from": {"$gt": 0}})
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}
