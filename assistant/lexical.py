"""The lexical half of hybrid retrieval: BM25 over Swedish stems and compound parts.

Swedish glues words together (personal + omsättning -> personalomsättningen), so
a plain stemmer would never let "omsättning" find "personalomsättningen". Every
long word is therefore also indexed under the corpus words it is built from,
found by splitting it against the index's own vocabulary (plus the query's
words at search time). The index is *derived* from the Chroma store: it is
rebuilt from the store's chunks whenever the store's content version changes,
so the two can never hold different chunk ids.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import shutil
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MIN_PART = 4  # shortest compound part worth indexing ("lön", "chef" are borderline; 4 keeps noise low)
MIN_COMPOUND = 9  # words shorter than this are rarely compounds worth splitting
# Splitting stems every tail of a word, so its cost grows with the square of the word's length: one
# 100,000-letter "word" in a question took 37 s and 2.4 GB. Real compounds stay far below this
# ("arbetsmarknadsutbildningsplatser" has 32 letters); longer runs are codes, URLs or junk.
MAX_COMPOUND = 64
LINKING = ("s", "e", "a", "o", "u")  # fogemorfem: arbetsmiljö, kvinnodominerade, ...


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("swedish")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_SWEDISH

    return frozenset(STOPWORDS_SWEDISH)


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.casefold()) if w not in stopwords()]


def stems(tokens: Iterable[str]) -> list[str]:
    return list(_stemmer().stemWords(list(tokens)))


def split_compound(word: str, vocabulary: frozenset[str] | set[str]) -> list[str]:
    """The known words a compound ends with and starts with, stemmed.

    Swedish compounds are head-final: the last part carries the meaning
    (personal|omsättning), so we look for the longest known tail first and then
    for a known head, allowing a linking letter between them.
    """
    if not MIN_COMPOUND <= len(word) <= MAX_COMPOUND:
        return []
    parts: list[str] = []
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        tail = word[cut:]
        tail_stem = _stemmer().stemWord(tail)
        if tail_stem not in vocabulary or len(tail_stem) < MIN_PART:
            continue
        head = word[:cut]
        candidates = [head] + [head[:-1] for s in LINKING if head.endswith(s) and len(head) > MIN_PART]
        for h in candidates:
            head_stem = _stemmer().stemWord(h)
            if head_stem in vocabulary and len(head_stem) >= MIN_PART - 1:
                parts.append(head_stem)
                break
        parts.append(tail_stem)
        break
    return parts


def analyze(text: str, vocabulary: frozenset[str] | set[str]) -> list[str]:
    """Stems of the text's words, followed by the parts of its compounds."""
    toks = words(text)
    out = stems(toks)
    for word in toks:
        out.extend(split_compound(word, vocabulary))
    return out


class CompoundLookup:
    """Finds the indexed compounds that begin or end with a query word.

    This is the other direction of compound matching: a query for "omsättning"
    should reach "personalomsättningen" even when the corpus never uses
    "omsättning" on its own. Sorted lists of the terms and of the reversed
    terms make each lookup a binary search instead of a vocabulary scan.
    """

    MIN_STEM = 6
    LIMIT = 8

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.forward = sorted(vocabulary)
        self.backward = sorted(t[::-1] for t in self.forward)

    def expand(self, stem: str) -> list[str]:
        if len(stem) < self.MIN_STEM:
            return []
        found = [t for t in _with_prefix(self.forward, stem) if t != stem]
        found += [t[::-1] for t in _with_prefix(self.backward, stem[::-1]) if t != stem[::-1]]
        return found[: self.LIMIT]


def _with_prefix(sorted_terms: list[str], prefix: str) -> list[str]:
    from bisect import bisect_left

    i = bisect_left(sorted_terms, prefix)
    out = []
    while i < len(sorted_terms) and sorted_terms[i].startswith(prefix) and len(out) < CompoundLookup.LIMIT:
        out.append(sorted_terms[i])
        i += 1
    return out


@dataclass
class LexicalIndex:
    ids: list[str]
    vocabulary: frozenset[str]
    version: str = ""
    successors: dict[str, str] = field(default_factory=dict, repr=False)
    """Each chunk's next chunk in its document, so following a question to its answer needs no
    filtered store query (at 6 ms each, holding the interpreter, they limited concurrent answers)."""
    _bm25: object = field(default=None, repr=False)
    _compounds: CompoundLookup | None = field(default=None, repr=False)

    def query_terms(self, query: str) -> list[str]:
        """The query's stems and compound parts, plus the indexed compounds built on them."""
        terms = analyze(query, self.vocabulary)
        if self._compounds is None:
            self._compounds = CompoundLookup(self._bm25.vocab_dict if self._bm25 else ())  # type: ignore[attr-defined]
        extra = [t for stem in dict.fromkeys(terms) for t in self._compounds.expand(stem)]
        return list(dict.fromkeys(terms + extra))

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        texts: Sequence[str],
        version: str = "",
        successors: dict[str, str] | None = None,
    ) -> LexicalIndex:
        import bm25s

        base = [stems(words(t)) for t in texts]
        vocabulary = frozenset(s for doc in base for s in doc)
        parts: dict[str, list[str]] = {}  # a large corpus repeats its words: split each one once

        def split(word: str) -> list[str]:
            if word not in parts:
                parts[word] = split_compound(word, vocabulary)
            return parts[word]

        corpus = [doc + [p for w in words(t) for p in split(w)] for doc, t in zip(base, texts)]
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if corpus:
            bm25.index(corpus, show_progress=False)
        return cls(
            ids=list(ids),
            vocabulary=vocabulary,
            version=version,
            successors=dict(successors or {}),
            _bm25=bm25 if corpus else None,
        )

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25's idf of each term (0 for one the index lacks).

        The answer composer weighs the question's words by it: a sentence that
        contains "december" and "saknas" says more about "how many were missing
        in December" than one that contains "socialsekreterare", which every
        passage of these records does.
        """
        if self._bm25 is None:
            return {t: 0.0 for t in terms}
        vocab = self._bm25.vocab_dict  # type: ignore[attr-defined]
        indptr = self._bm25.scores["indptr"]  # type: ignore[attr-defined]
        n_docs = float(self._bm25.scores["num_docs"])  # type: ignore[attr-defined]
        out: dict[str, float] = {}
        for term in terms:
            i = vocab.get(term)
            df = float(indptr[i + 1] - indptr[i]) if i is not None else 0.0
            out[term] = math.log1p((n_docs - df + 0.5) / (df + 0.5)) if df else 0.0
        return out

    def search(self, query: str, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top ``n`` chunk ids by BM25; ``allowed`` restricts to ids that pass the filters."""
        if self._bm25 is None or not self.ids:
            return []
        return self.search_terms(self.query_terms(query), n, allowed)

    def search_terms(
        self, terms: Sequence[str], n: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        if self._bm25 is None:  # an index of no records
            return []
        vocab = self._bm25.vocab_dict  # type: ignore[attr-defined]
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        mask = None
        if allowed is not None:
            mask = np.fromiter((i in allowed for i in self.ids), dtype=np.float32, count=len(self.ids))
        scores = self._bm25.get_scores(known, weight_mask=mask)  # type: ignore[attr-defined]
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    # -- persistence -------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write to a temporary folder and swap it in, so readers never see half an index."""
        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        (tmp / "index.json").write_text(
            json.dumps(
                {
                    "version": self.version,
                    "ids": self.ids,
                    "vocabulary": sorted(self.vocabulary),
                    "successors": self.successors,
                }
            ),
            encoding="utf-8",
        )
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        import bm25s

        meta_path = Path(folder) / "index.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            bm25 = bm25s.BM25.load(str(Path(folder) / "bm25")) if (Path(folder) / "bm25").exists() else None
        except (OSError, ValueError):
            return None
        if "successors" not in meta:  # written by an older version: rebuild once
            return None
        return cls(
            ids=meta["ids"],
            vocabulary=frozenset(meta["vocabulary"]),
            version=meta["version"],
            successors=meta["successors"],
            _bm25=bm25,
        )


def sync_lexical(store: object, folder: Path, current: LexicalIndex | None = None) -> LexicalIndex:
    """The lexical index matching the store's content version, rebuilt from the store if stale.

    ``store`` is an ``assistant.store.Store``; the index holds exactly the
    store's chunk ids because it is made from them and nothing else.

    Without a ``current`` index (ingest, a server's first question) the
    rebuild happens now. With one (a running server noticing that another
    process changed the store) it happens in a background thread while
    ``current`` keeps answering: at 100k chunks a rebuild takes tens of
    seconds, and every replica stalling that long after each ingest would be
    worse than BM25 missing the newest passages for that time (dense
    retrieval sees them at once, and ids BM25 returns that the store no longer
    has are dropped by retrieval).
    """
    version = store.content_version  # type: ignore[attr-defined]
    if current is not None and current.version == version:
        return current
    if current is not None:
        return _refresh_in_background(store, Path(folder), current, version)
    loaded = LexicalIndex.load(folder)
    if loaded is not None and loaded.version == version:
        return loaded
    return _rebuild(store, Path(folder), version)


def _rebuild(store: object, folder: Path, version: str) -> LexicalIndex:
    ids: list[str] = []
    texts: list[str] = []
    positions: list[tuple[str, int, str]] = []
    for page_ids, page_texts, page_metas in store.all_chunks():  # type: ignore[attr-defined]
        ids.extend(page_ids)
        texts.extend(lexical_text(t, m) for t, m in zip(page_texts, page_metas))
        positions.extend(
            (str(m["doc_id"]), int(m["start"]), int(m["end"]), cid) for cid, m in zip(page_ids, page_metas)
        )
    index = LexicalIndex.build(ids, texts, version=version, successors=successors(positions))
    with contextlib.suppress(OSError):  # a read-only replica still serves from memory
        index.save(folder)
    return index


@dataclass
class _Refresh:
    """A background rebuild of one folder's index for one content version."""

    store: object
    folder: Path
    version: str
    result: LexicalIndex | None = None
    error: Exception | None = None
    thread: threading.Thread | None = None

    def start(self) -> _Refresh:
        self.thread = threading.Thread(target=self._run, name=f"lexical-{self.version[:8]}", daemon=True)
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _run(self) -> None:
        try:
            loaded = LexicalIndex.load(self.folder)  # an ingest on this host may have built it already
            if loaded is not None and loaded.version == self.version:
                self.result = loaded
            else:
                self.result = _rebuild(self.store, self.folder, self.version)
        except Exception as exc:  # logged by the caller; the next check starts over
            self.error = exc


_refreshes: dict[tuple[str, str], _Refresh] = {}
_refreshes_lock = threading.Lock()


def _refresh_in_background(store: object, folder: Path, current: LexicalIndex, version: str) -> LexicalIndex:
    """``current`` until the index for ``version`` is ready, then that one."""
    key = (str(folder), version)
    with _refreshes_lock:
        job = _refreshes.get(key)
        if job is None:
            for stale in [k for k in _refreshes if k[0] == key[0]]:  # superseded versions
                del _refreshes[stale]
            job = _refreshes[key] = _Refresh(store, folder, version).start()
        if job.running:
            return current
        del _refreshes[key]
    if job.result is None:
        log.warning("refreshing the lexical index in %s failed (%s); trying again", folder, job.error)
        return current
    return job.result


def successors(positions: Iterable[tuple[str, int, int, str]]) -> dict[str, str]:
    """Chunk id -> the first chunk of its document that starts where it ends or later.

    From (doc id, start, end, chunk id). Overlapping chunks share text, so the
    chunk after a question is the first that begins after it (as
    ``Store.next_chunks`` has it), not the next one to begin.
    """
    by_doc: dict[str, list[tuple[int, str]]] = {}
    ends: list[tuple[str, int, str]] = []
    for doc, start, end, cid in positions:
        by_doc.setdefault(doc, []).append((start, cid))
        ends.append((doc, end, cid))
    for entries in by_doc.values():
        entries.sort()
    out: dict[str, str] = {}
    for doc, end, cid in ends:
        entries = by_doc[doc]
        i = bisect_left(entries, (end, ""))
        if i < len(entries):
            out[cid] = entries[i][1]
    return out


def lexical_text(text: str, meta: dict) -> str:
    """The passage plus its document title, so a query naming the topic finds every part of it."""
    title = str(meta.get("title") or "")
    return f"{title}\n{text}" if title else text
