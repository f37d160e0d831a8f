"""The one object every front end opens: models, store and lexical index, ready to answer.

The CLI, the HTTP API, the Gradio UI and the evaluator all call
``Engine.answer`` (or ``Engine.search``), so a citation is computed once and
means the same thing everywhere.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from . import language
from .config import MAX_K, Settings
from .crosslingual import expand, load_terms, without_english_stopwords
from .embeddings import Embedder, get_embedder
from .lexical import LexicalIndex, sync_lexical
from .questions import asks_for_authors, asks_for_people, asks_for_questions, without_lone_surrogates
from .retrieve import FusionParams, search
from .schema import Answer, DocumentMetadata, Filters, Hit, ParsedDocument
from .sentences import split_with_text
from .store import Span, Store, StoreError

REFRESH_SECONDS = 2.0
SENTENCE_CACHE = 4096  # sentence vectors kept in memory, by text (1.5 kB each with e5-small)
SEARCHED_CACHE = 64  # question vectors kept for the composer: more than the requests served at once
K = TypeVar("K")


def _pieces(span: Span, text: str) -> list[tuple[Span, str]]:
    """The sentences, as ingest splits them, that a quoted span is made of."""
    doc_id, start, _ = span
    return [((doc_id, *piece), words) for piece, words in split_with_text(text, start)] or [(span, text)]


class Engine:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._lexical: LexicalIndex | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        # Vectors made at question time, kept for the composer and later questions: one depends on its
        # text alone, so it never goes stale. The recent questions (concurrent requests search in
        # between), and sentences, whose store read costs 2-3 ms an answer.
        self._searched: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings | None = None, *, build_if_missing: bool = True) -> Engine:
        """Open the index, building it from the documents folder on first use.

        The store is opened first, the embedding model loaded second: a damaged
        index (or an unreachable Chroma server) is reported within a second,
        with how to rebuild it, instead of after the model's slow load.
        """
        settings = settings or Settings.from_env()
        from .llm import check_settings

        check_settings(settings)  # a misconfigured LLM mode stops here, naming the setting
        store = Store(settings)
        embedder = get_embedder(
            settings.model, settings.model_cache, threads=settings.threads, batch_size=settings.batch_size
        )
        if store.count() == 0 and build_if_missing and not settings.chroma_url:
            from .ingest import ingest

            ingest(settings, embedder=embedder)
            store = Store(settings)
        store.check_model(embedder.name, embedder.dim)
        return cls(settings, store, embedder)

    # -- keeping the lexical index in step with the store -------------------------

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index for the store's current content; rebuilt when another process changed it."""
        now = time.monotonic()
        with self._lock:
            if self._lexical is None or now - self._checked_at > REFRESH_SECONDS:
                self._lexical = sync_lexical(self.store, Path(self.settings.index) / "lexical", self._lexical)
                self._checked_at = now
            return self._lexical

    # -- retrieval and answers ---------------------------------------------------------

    def fusion_params(self, question: str = "") -> FusionParams:
        """Fusion weights; BM25 counts for less when an English question meets Swedish records.

        Passages that only ask are demoted, unless the user asks what the records asked.
        """
        s = self.settings
        english = bool(question) and language.detect(question, default="sv") == "en"
        # the questions are the answer, or the signature under them is
        keeps_questions = asks_for_questions(question) or asks_for_authors(question)
        return FusionParams(
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            fusion=s.fusion,
            lexical_boost=s.lexical_boost,
            year_boost=s.year_boost,
            people_boost=s.people_boost,
            heading_weight=0.0 if asks_for_people(question) else s.heading_weight,
            author_boost=s.author_boost if asks_for_people(question) else 0.0,
            dense_weight=s.dense_weight,
            lexical_weight=s.lexical_weight_en if english else s.lexical_weight,
            **({"question_penalty": 0.0, "cc_question_penalty": 0.0} if keeps_questions else {}),
        )

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
    ) -> list[Hit]:
        mode = mode or self.settings.mode
        k = self.settings.k if k is None else k
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k={k}: passages to retrieve must be from 1 to {MAX_K}")
        vector = self.query_vector(question)
        self._remember(self._searched, {question: vector}, SEARCHED_CACHE)
        lexical = self.lexical if mode != "dense" else None
        hits = search(
            question,
            vector,
            store=self.store,
            lexical=lexical,
            k=k,
            filters=filters,
            mode=mode,
            params=self.fusion_params(question),
            lexical_terms=self.lexical_terms(question) if lexical else None,
        )
        unknown = [h for h in hits if h.similarity is None]
        sims = self.store.similarities([h.chunk.chunk_id for h in unknown], vector)
        for hit in unknown:
            hit.similarity = sims.get(hit.chunk.chunk_id)
        return hits

    def swedish_terms(self, question: str) -> list[str]:
        """Swedish equivalents of an English question's terms (none for a Swedish question)."""
        if language.detect(question, default="sv") != "en":
            return []
        return expand(question, load_terms(self.settings.terms))

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding; for English, averaged with the question plus its Swedish terms.

        The small multilingual model places an English question further from
        Swedish passages than its Swedish equivalent; the extra Swedish words
        pull the query towards the records' vocabulary (measured with eval).
        """
        extra = self.swedish_terms(question)
        if not extra:
            return self.embedder.embed_queries([question])[0]
        both = self.embedder.embed_queries([question, f"{question} {' '.join(extra)}"])
        vector = both.sum(axis=0)
        return vector / np.linalg.norm(vector)

    def sentence_similarities(self, question: str, sentences: Sequence[tuple[Span, str]]) -> list[float]:
        """Cosine between the question and each sentence (its span and text), from vectors made at ingest.

        A quote that runs over two sentences gets the mean of theirs; a
        sentence the index lacks (an index bulk-loaded without them) is
        embedded here, which is slower but gives the same answer.
        """
        parts = [_pieces(span, text) for span, text in sentences]
        wanted = {piece: text for pieces in parts for piece, text in pieces}
        vectors = self._recall(self._sentences, wanted)
        fresh = self.store.sentence_vectors([piece for piece in wanted if piece not in vectors])
        missing = [piece for piece in wanted if piece not in vectors and piece not in fresh]
        if missing:
            fresh.update(zip(missing, self.embedder.embed_passages([wanted[p] for p in missing])))
        self._remember(self._sentences, {wanted[piece]: v for piece, v in fresh.items()}, SENTENCE_CACHE)
        vectors.update(fresh)
        query = self._question_vector(question)
        out: list[float] = []
        for pieces in parts:
            mean = np.sum([vectors[piece] for piece, _ in pieces], axis=0)
            out.append(float(mean @ query / (np.linalg.norm(mean) or 1.0)))
        return out

    def _question_vector(self, question: str) -> np.ndarray:
        """The vector ``search`` made for the question, or a new one if it has been forgotten."""
        query = self._recall(self._searched, {question: question}).get(question)
        return self.query_vector(question) if query is None else query

    def _recall(self, memo: OrderedDict[str, np.ndarray], wanted: dict[K, str]) -> dict[K, np.ndarray]:
        """The remembered vectors of ``wanted`` (key -> text), freshly used ones kept longest."""
        found: dict[K, np.ndarray] = {}
        with self._memo_lock:
            for key, text in wanted.items():
                if text in memo:
                    memo.move_to_end(text)
                    found[key] = memo[text]
        return found

    def _remember(
        self, memo: OrderedDict[str, np.ndarray], vectors: dict[str, np.ndarray], limit: int
    ) -> None:
        with self._memo_lock:
            memo.update(vectors)
            while len(memo) > limit:
                memo.popitem(last=False)

    def lexical_terms(self, question: str) -> list[str]:
        """BM25 terms for the question; English questions also get Swedish terms from the term list."""
        if language.detect(question, default="sv") != "en":
            return self.lexical.query_terms(question)
        # English: its own words count only as names, numbers and loanwords, as in the composer's terms
        extra = expand(question, load_terms(self.settings.terms))
        return self.lexical.query_terms(" ".join([without_english_stopwords(question), *extra]))

    def answer(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> Answer:
        from .answer import answer

        return answer(self, question, k=k, filters=filters, mode=mode, history=history)

    def stream_answer(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> Iterator[str | Answer]:
        """Text pieces as they are composed, then the finished ``Answer``."""
        from .answer import stream_answer

        yield from stream_answer(self, question, k=k, filters=filters, history=history)

    # -- documents ----------------------------------------------------------------------

    def document(self, doc_id: str) -> ParsedDocument:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def documents(self) -> list[tuple[str, DocumentMetadata]]:
        return sorted((r.doc_id, r.metadata) for r in self.store.document_records().values())

    def facets(self) -> dict[str, list[str]]:
        """The filter values that exist, for dropdowns and for matching user input."""
        values: dict[str, set[str]] = {"municipality": set(), "kind": set(), "party": set(), "body": set()}
        values["year"] = set()
        values["author"] = set()
        for _, meta in self.documents():
            for name in ("municipality", "kind", "body"):
                if getattr(meta, name):
                    values[name].add(getattr(meta, name))
            values["party"].update(meta.parties)
            values["author"].update(meta.authors)
            if meta.date:
                values["year"].add(meta.date[:4])
        return {name: sorted(v) for name, v in values.items()}

    def normalize_filters(self, filters: Filters | None) -> Filters | None:
        """Match user-typed filter values to the stored spelling ("kumla" -> "Kumla")."""
        if filters is None or filters.is_empty():
            return None
        facets = self.facets()
        changes = {}
        for name in ("municipality", "kind", "party", "body", "author"):
            value = getattr(filters, name)
            if not value:
                continue
            changes[name] = value = without_lone_surrogates(value)  # the store cannot encode them
            for known in facets[name]:
                if known.casefold() == value.strip().casefold():
                    changes[name] = known
        return replace(filters, **changes)

    def health(self) -> dict[str, object]:
        """The store's state for /healthz; an error, never an exception, when it cannot be read.

        The heartbeat comes first: a Chroma server that accepts connections but
        no longer answers would hold ``count()`` for the full request timeout
        (two minutes), and a monitor needs its 503 within seconds.
        """
        try:
            self.store.ping()
            chunks = self.store.count()
            documents = len(self.store.document_records())
        except Exception as exc:  # the store being unreachable is exactly what health must report
            return {"status": "error", "error": str(StoreError(f"index unavailable: {exc}"))}
        return {
            "status": "ok",
            "documents": documents,
            "chunks": chunks,
            "model": self.embedder.name,
            "store": self.store.location,
        }
