"""The Chroma store: chunk vectors plus one record per document.

Two collections live side by side:

* ``<name>`` holds one entry per chunk (our own embeddings, cosine space) with
  the metadata that filters need;
* ``<name>-documents`` holds one entry per document: its full text, metadata
  and content hash. That entry is written *last* and acts as the commit marker
  of a document, so an interrupted ingest can always tell a complete document
  from leftovers (chunks whose hash does not match their document record).

The chunk collection's metadata records the embedding model and dimension, and
a content version that changes whenever chunks change, so every reader (the
lexical index, other ``serve`` replicas) knows when to refresh.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .schema import Chunk, DocumentMetadata, Filters, ParsedDocument

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_GET_PAGE = 5000


class StoreError(Exception):
    """The index cannot be used as it is; the message says what to do."""


@dataclass
class DocumentRecord:
    doc_id: str
    content_hash: str
    n_chunks: int
    metadata: DocumentMetadata


def make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        try:
            return chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc}). "
                "Start it, or unset COUNCIL_QA_CHROMA_URL to use the embedded store."
            ) from exc
    path = Path(settings.index) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"the index at {path} cannot be opened ({exc}). "
            f"Delete the folder {settings.index} and run `council-qa ingest` to rebuild it."
        ) from exc


class Store:
    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        self.chunks = self.client.get_or_create_collection(
            settings.collection,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        self.docs = self.client.get_or_create_collection(
            settings.collection + "-documents", embedding_function=None
        )

    # -- model bookkeeping -------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
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

    def put_document(self, doc: ParsedDocument, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Replace a document: old chunks out, new chunks in, then the commit marker."""
        self.delete_chunks_of(doc.doc_id)
        for start in range(0, len(chunks), _GET_PAGE):
            batch = chunks[start : start + _GET_PAGE]
            self.chunks.add(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[_chunk_meta(c, doc.content_hash) for c in batch],
            )
        meta = {
            "content_hash": doc.content_hash,
            "n_chunks": len(chunks),
            "metadata": json.dumps(doc.metadata.to_dict(), ensure_ascii=False),
        }
        self.docs.upsert(ids=[doc.doc_id], embeddings=[[1.0]], documents=[doc.text], metadatas=[meta])

    def delete_document(self, doc_id: str) -> None:
        self.docs.delete(ids=[doc_id])
        self.delete_chunks_of(doc_id)

    def delete_chunks_of(self, doc_id: str) -> None:
        self.chunks.delete(where={"doc_id": doc_id})

    def remove_orphans(self) -> int:
        """Delete chunks that no committed document record vouches for."""
        records = self.document_records()
        orphans: list[str] = []
        for ids, metas, _ in self._iterate(self.chunks, include=["metadatas"]):
            for chunk_id, meta in zip(ids, metas):
                record = records.get(str(meta.get("doc_id")))
                if record is None or record.content_hash != meta.get("doc_hash"):
                    orphans.append(chunk_id)
        for start in range(0, len(orphans), _GET_PAGE):
            self.chunks.delete(ids=orphans[start : start + _GET_PAGE])
        return len(orphans)

    # -- chunks ----------------------------------------------------------------

    def count(self) -> int:
        return self.chunks.count()

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

    def next_chunks(self, chunks: Sequence[Chunk]) -> dict[str, Chunk]:
        """The chunk that follows each given chunk in its document (for a question, usually its answer)."""
        out: dict[str, Chunk] = {}
        for doc_id in {c.doc_id for c in chunks}:
            got = self.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
            starts = sorted((int(m["start"]), cid) for cid, m in zip(got["ids"], got["metadatas"]))
            wanted = {c.chunk_id: c.end for c in chunks if c.doc_id == doc_id}
            following = {}
            for chunk_id, end in wanted.items():
                after = [cid for start, cid in starts if start >= end]
                if after:
                    following[chunk_id] = after[0]
            fetched = {c.chunk_id: c for c in self.get_chunks(list(set(following.values())))}
            out.update((k, fetched[v]) for k, v in following.items() if v in fetched)
        return out

    def query(self, vector: np.ndarray, n: int, filters: Filters | None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, the filter applied inside the store query."""
        total = self.count()
        if total == 0:
            return []
        where = where_clause(filters)
        got = self.chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(n, total),
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


def date_bounds(date: str) -> tuple[int, int]:
    """A partial ISO date as the inclusive range of YYYYMMDD numbers it covers (0, 0 if unknown)."""
    parts = date.split("-") if date else []
    try:
        if len(parts) == 3:
            n = int("".join(parts))
            return n, n
        if len(parts) == 2:
            base = int(parts[0]) * 10000 + int(parts[1]) * 100
            return base + 1, base + 31
        if len(parts) == 1:
            base = int(parts[0]) * 10000
            return base + 101, base + 1231
    except ValueError:
        pass
    return 0, 0


def _chunk_meta(chunk: Chunk, doc_hash: str) -> dict[str, Any]:
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
    return meta


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
