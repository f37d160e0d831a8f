"""documents/ -> parse -> chunk -> embed -> store, incrementally and crash-safely.

The order of writes is what makes an interrupted ingest harmless: a document's
old chunks go, its new chunks arrive, and only then its document record (the
commit marker) is written. Chunks that no record vouches for are removed at the
start of the next run, so a killed ingest leaves nothing half-done behind.
"""

from __future__ import annotations

import fcntl
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .chunking import LEGACY_CHUNKING, Chunker, chunking_stamp, make_chunker
from .config import Settings
from .embeddings import Embedder, get_embedder
from .headings import heading_free_text
from .lexical import sync_lexical
from .parsing import (
    MIN_WORD_SHARE,
    SUPPORTED_SUFFIXES,
    DocumentError,
    discover,
    read_document,
    shown_name,
    word_share,
)
from .schema import Chunk, ParsedDocument
from .sentences import split_with_text
from .store import (
    DOCUMENTS_SUFFIX,
    SENTENCES_SUFFIX,
    DamagedIndexError,
    Store,
    StoreError,
    exclusive_index,
    move_aside,
)

OPENINGS = "heading-free-3+sentences-1"
"""Stamped on an index whose opening chunks (of records longer than one passage) carry a heading-free
vector and whose sentences have vectors; older ones are indexed again."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)
    chunks: int = 0
    tokens: int = 0
    orphans_removed: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.orphans_removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.skipped)} unchanged, {len(self.failed)} failed; "
            f"{self.chunks} chunks embedded in {self.seconds:.1f} s"
        )


def embedding_text(chunk: Chunk) -> str:
    """What the model sees: the document title as a header, then the passage.

    The header gives short passages their context (which record, which topic),
    which measurably helps English questions find Swedish passages; it is not
    part of the cited span.
    """
    title = chunk.metadata.title.strip()
    return f"{title}\n{chunk.text}" if title else chunk.text


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time: a second ingest gets a clear message, never a corrupted index."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / "ingest.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"another ingest is already writing to {index_dir}; wait for it to finish and run again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ingest(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    log = log or (lambda message: print(message, file=sys.stderr))
    documents_dir = Path(settings.documents)
    if not documents_dir.is_dir():
        problem = "is a file, not a folder" if documents_dir.exists() else "does not exist"
        raise StoreError(f"the documents folder {documents_dir} {problem}; create it or pass --documents")
    started = time.perf_counter()
    report = IngestReport()
    # Both locks before anything slow: a second ingest, or a `serve` holding the embedded store, stops
    # this run at once with what to do (exclusive_index does nothing for a Chroma server).
    with ingest_lock(Path(settings.index)), exclusive_index(settings, "ingest"):
        # The store before the model: a damaged index is reported in a second, not after the model load.
        store = _open_for_rebuild(settings, log) if rebuild else Store(settings)
        embedder = embedder or get_embedder(
            settings.model, settings.model_cache, threads=settings.threads, batch_size=settings.batch_size
        )
        store.check_model(embedder.name, embedder.dim)
        report.orphans_removed = store.remove_orphans()
        records = store.document_records()
        unlisted: list[DocumentError] = []
        paths = discover(documents_dir, onerror=unlisted.append)
        for error in unlisted:
            _fail(report, error.path, str(error), log)
        if not paths and not unlisted:
            if records:  # an unmounted share or a wrong path would otherwise empty the index
                raise StoreError(
                    f"the documents folder {documents_dir} holds no records, but the index holds "
                    f"{len(records)}: nothing was removed. Check the folder; to empty the index on "
                    "purpose, run council-qa ingest --rebuild"
                )
            _fail(
                report,
                str(documents_dir),
                f"{documents_dir} holds no records ({', '.join(SUPPORTED_SUFFIXES)})",
                log,
            )
        seen: set[str] = set()
        chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap)
        chunking = chunking_stamp(settings.chunk_tokens, settings.chunk_overlap)
        was = str(store.info.get("chunking", LEGACY_CHUNKING))
        openings = str(store.info.get("openings") or "none")
        stale = was != chunking or openings != OPENINGS  # chunks cut or indexed two ways would rank unevenly
        recut = bool(records) and stale
        if not records and stale:
            # before the first chunk: a run killed midway is no old index
            store.set_info(chunking=chunking, openings=OPENINGS)
        if recut and was != chunking:
            log(f"chunking changed ({was} -> {chunking} tokens/overlap): cutting all {len(records)} again")
        elif recut:
            log(f"index made the old way ({openings} -> {OPENINGS}): indexing all {len(records)} again")
        for path in _progress(paths, progress):
            doc_id = path.relative_to(documents_dir).as_posix()
            seen.add(doc_id)
            try:
                doc = read_document(path, documents_dir)
            except DocumentError as exc:
                kept = " Its version read before stays in the index until then." if doc_id in records else ""
                _fail(report, shown_name(doc_id), f"{exc}{kept}", log)
                continue
            previous = records.get(doc.doc_id)
            if previous is not None and previous.content_hash == doc.content_hash and not recut:
                report.skipped.append(doc.doc_id)
                continue
            _mark_changing(store, report)
            _index_document(store, embedder, doc, chunker, report)
            (report.updated if previous else report.added).append(doc.doc_id)
        folders = tuple(error.path for error in unlisted)  # "locked/": its records were not seen, not deleted
        for doc_id in sorted(d for d in set(records) - seen if not d.startswith(folders)):
            _mark_changing(store, report)
            store.delete_document(doc_id)
            report.removed.append(doc_id)
        if report.changed or "model" not in store.info or recut:
            store.set_info(model=embedder.name, dim=embedder.dim, chunking=chunking, openings=OPENINGS)
            store.bump_version()
        sync_lexical(store, Path(settings.index) / "lexical")
    report.seconds = time.perf_counter() - started
    return report


def _fail(report: IngestReport, name: str, reason: str, log: Callable[[str], None]) -> None:
    """Said at once (a long ingest shows it while it runs, also when ``serve`` builds the index)."""
    report.failed.append((name, reason))
    log(f"failed: {reason}")


def _mark_changing(store: Store, report: IngestReport) -> None:
    """Change the content version before the first write of a run.

    Readers rebuild their lexical index when the version differs from theirs;
    bumping only at the end would let a run killed after some documents were
    committed leave every reader on a stale index for good.
    """
    if not report.changed:
        store.bump_version()


def _index_document(
    store: Store, embedder: Embedder, doc: ParsedDocument, chunker: Chunker, report: IngestReport
) -> None:
    # passages of encoded data (a base64 attachment pasted into a record) are left out: no
    # question's words can match them, and their vectors land near any question
    chunks = [c for c in chunker(doc) if word_share(c.text) >= MIN_WORD_SHARE]
    texts = [embedding_text(c) for c in chunks]
    # the opening passage once more without its heading: retrieval tells what the heading alone adds.
    # Not for a record of one passage: it has no passage of its own to yield to, and without its
    # heading a short motion that answers fell below longer records that only share its subject
    openings = {c.chunk_id: text for c in chunks if (text := heading_free_text(c))} if len(chunks) > 1 else {}
    sentences = sentence_texts(chunks)
    batch = [*texts, *openings.values(), *sentences.values()]
    t0 = time.perf_counter()
    vectors = embedder.embed_passages(batch)
    report.embed_seconds += time.perf_counter() - t0
    report.tokens += sum(embedder.count_tokens(t) for t in batch)
    after_openings = len(chunks) + len(openings)
    heading_free = dict(zip(openings, vectors[len(chunks) : after_openings]))
    sentence_vectors = dict(zip(sentences, vectors[after_openings:]))
    store.put_document(doc, chunks, vectors[: len(chunks)], heading_free, sentence_vectors)
    report.chunks += len(chunks)


def sentence_texts(chunks: Sequence[Chunk]) -> dict[tuple[int, int], str]:
    """Every sentence of every chunk by its document span, as the composer splits them.

    The composer weighs a candidate quote by its own cosine to the question
    (a passage's cosine says little about which of its sentences answers), and
    embedding them at ingest keeps that a lookup at question time. Chunks
    overlap, and one cutting a sentence at its edge yields a span of its own.
    """
    spans: dict[tuple[int, int], str] = {}
    for chunk in chunks:
        for span, text in split_with_text(chunk.text, chunk.start):
            spans.setdefault(span, text)
    return spans


def _open_for_rebuild(settings: Settings, log: Callable[[str], None]) -> Store:
    """An empty store for ``--rebuild``, also when the embedded one is too damaged to open.

    A damaged folder is moved aside (not deleted) and a new store created in
    its place; a readable one has its collections dropped. Either way the run
    then embeds every document again.
    """
    try:
        store = Store(settings)
    except DamagedIndexError as exc:
        moved = move_aside(settings)
        if moved is None:
            raise
        log(f"{exc}\nmoved the damaged store to {moved}; rebuilding (delete that folder once you are done)")
        # Its BM25 cache belongs to the damaged store; it is rebuilt from the new one at the end.
        shutil.rmtree(Path(settings.index) / "lexical", ignore_errors=True)
        return Store(settings)
    return _reset(store, settings)


def _reset(store: Store, settings: Settings) -> Store:
    names = ("", SENTENCES_SUFFIX, DOCUMENTS_SUFFIX)
    for name in (settings.collection + suffix for suffix in names):
        try:
            store.client.delete_collection(name)
        except Exception:
            continue
    return Store(settings, client=store.client)


def _progress(paths: list[Path], enabled: bool | None) -> Iterator[Path]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield from paths
        return
    from tqdm import tqdm

    yield from tqdm(paths, desc="ingest", unit="doc")
