"""Hybrid retrieval: dense and BM25 rankings fused, near-duplicates thinned out.

Dense retrieval crosses languages but blurs exact numbers and names; BM25 is
exact but monolingual. The default fusion adds a small, question-normalized
BM25 term to the cosine (``combine``), so exact words break the near-ties of a
small embedding model; weighted reciprocal-rank fusion (``fuse``) remains as
the alternative that needs no calibration at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import FUSIONS, RETRIEVAL_MODES
from .headings import is_opening
from .headings import word_set as _word_set
from .lexical import LexicalIndex
from .questions import genitive_base, month_years_in, parties_named, years_in
from .schema import Chunk, Filters, Hit
from .sentences import is_sign_off
from .store import Store


@dataclass(frozen=True)
class FusionParams:
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    duplicate_overlap: float = 0.8  # word-set overlap above which a passage repeats one already ranked
    follow_questions: bool = True
    question_penalty: float = 0.2
    fusion: str = "cc"  # or "rrf"
    lexical_boost: float = 0.02
    cc_question_penalty: float = 0.02  # with cc: subtracted from a passage that only asks
    year_boost: float = 0.02  # with cc: added to passages of documents dated in a year the question names
    people_boost: float = 0.03  # with cc: added to the records whose people the question names most
    heading_weight: float = 1.0  # with cc: share of what its heading adds to an opening's cosine taken off
    author_boost: float = 0.0  # with cc, asked who: added to passages naming their record's authors


RESCORED = 60  # the demotions re-rank this many of the best candidates; the rest keep their order


def boost_years(
    fused: list[tuple[str, float]],
    chunks: dict[str, Chunk],
    years: set[str],
    boost: float,
    months: frozenset[str] | set[str] = frozenset(),
) -> list[tuple[str, float]]:
    """Favour documents dated in a year the question names ("in the 2012 debate", "i juni 2014"),
    and again those dated in a month it names with its year ("March 2008" -> "2008-03").

    Interpellations and their debates are dated; a question that names the year
    usually means that year's record, and the same arguments recur in other
    years' records in nearly the same words. Measured on the Riksdag gold set:
    MRR@10 0.478 -> 0.574, hit@3 0.581 -> 0.774; the bundled set, whose questions'
    years are rarely the records' dates, is unchanged. A member often filed two
    interpellations on one subject in a year ("LiseLotte Olsson's March 2008
    interpellation", and her May one): the month tells them apart (English set
    hit@1 .500 -> .542, MRR@10 .629 -> .676; Riksdag MRR@10 .824 -> .825).
    """

    def bonus(cid: str) -> float:
        chunk = chunks.get(cid)
        if chunk is None or chunk.metadata.date[:4] not in years:
            return 0.0
        return 2 * boost if chunk.metadata.date[:7] in months else boost

    boosted = [(cid, score + bonus(cid)) for cid, score in fused]
    return sorted(boosted, key=lambda kv: (-kv[1], kv[0]))


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ]?[a-zåäöéü]+)?")


def people_named(question: str) -> set[str]:
    """The capitalised words of a question past its first, folded: the names it may hold.

    A Swedish genitive also stands without its s ("Pilsäters" for Pilsäter);
    words that are no one's name match no record's people, so they do no harm.
    """
    words = {m.group(0).casefold() for m in _NAME.finditer(question)}
    return words | {base for w in words if (base := genitive_base(w))}


def boost_people(
    fused: list[tuple[str, float]], chunks: dict[str, Chunk], question: str, boost: float
) -> list[tuple[str, float]]:
    """Lift every passage of the records whose authors, addressee and parties the question names most.

    "Gudrun Schyman's February 2005 interpellation to minister Hans Karlsson"
    is one record; the passages of her other interpellation that month, to
    another minister, share its subject and ranked above it. Only a record's
    opening names its people in the text, so without this its other passages
    carry no sign of whose record they are. A party counts like a name: "the
    Moderate/Liberal letter" is the one signed "(M)" and "(L)".
    """
    asked, parties = people_named(question), parties_named(question)
    if not asked and not parties:
        return fused
    named: dict[str, int] = {}
    for cid, _ in fused:
        chunk = chunks.get(cid)
        if chunk is not None and chunk.doc_id not in named:
            words = {w.casefold() for person in chunk.metadata.people for w in person.split()}
            named[chunk.doc_id] = len(asked & words) + len(parties & set(chunk.metadata.parties))
    most = max(named.values(), default=0)
    if most == 0:
        return fused
    boosted = [
        (cid, score + boost) if cid in chunks and named.get(chunks[cid].doc_id) == most else (cid, score)
        for cid, score in fused
    ]
    return sorted(boosted, key=lambda kv: (-kv[1], kv[0]))


def combine(
    dense: Sequence[tuple[Chunk, float]],
    lexical: Sequence[tuple[str, float]],
    vector: np.ndarray,
    store: Store,
    boost: float,
) -> tuple[list[tuple[str, float]], dict[str, float], dict[str, Chunk]]:
    """Convex combination: each candidate's cosine plus ``boost`` times its BM25 relative to the best.

    Measured against weighted RRF on both gold sets (eval/README.md): RRF throws
    away how close the dense scores are, and e5-small's cosines of the right and
    the wrong passage differ by hundredths, so a passage ranked 30th by BM25
    could outrank the dense winner. Adding a small, query-normalized BM25 term
    to the cosine keeps the dense order where BM25 has nothing to say and
    breaks near-ties with exact words (names, numbers, compounds).

    Returns the ranking, every candidate's cosine and every candidate chunk.
    """
    known = {c.chunk_id for c, _ in dense}
    only_lexical = [cid for cid, _ in lexical if cid not in known]
    candidates = [*dense, *store.scored_chunks(only_lexical, vector)]
    chunks = {c.chunk_id: c for c, _ in candidates}
    similarities = {c.chunk_id: similarity for c, similarity in candidates}
    scores = dict(similarities)
    best = max((score for _, score in lexical), default=0.0)
    if best > 0:
        for cid, score in lexical:
            if cid in scores:
                scores[cid] += boost * score / best
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])), similarities, chunks


def fuse(
    rankings: dict[str, Sequence[str]], weights: dict[str, float], rrf_k: int
) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of several ranked id lists, best first.

    Ties are broken by the best rank the id reached in any list, then by id, so
    the order is deterministic.
    """
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for name, ranked in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
            best[item] = min(best.get(item, rank), rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))


def is_near_duplicate(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    """True when most words of the shorter passage appear in the other (a quoted question and its answer)."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def diversify(hits: list[Hit], threshold: float) -> list[Hit]:
    """Drop passages that repeat a better-ranked one, so other documents get the room."""
    kept: list[Hit] = []
    seen: list[frozenset[str]] = []
    for hit in hits:
        words = _word_set(hit.chunk.text)
        if any(is_near_duplicate(words, other, threshold) for other in seen):
            continue
        kept.append(hit)
        seen.append(words)
    return kept


def search(
    question: str,
    query_vector: np.ndarray | None,
    *,
    store: Store,
    lexical: LexicalIndex | None,
    k: int,
    filters: Filters | None = None,
    mode: str = "hybrid",
    params: FusionParams = FusionParams(),
    lexical_terms: Sequence[str] | None = None,
) -> list[Hit]:
    if mode not in RETRIEVAL_MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
    if params.fusion not in FUSIONS:
        raise ValueError(
            f"COUNCIL_QA_FUSION={params.fusion!r} is not a fusion; use one of {', '.join(FUSIONS)}"
        )
    rankings: dict[str, list[str]] = {}
    chunks: dict[str, Chunk] = {}
    similarities: dict[str, float] = {}  # cosines already known, so callers need not fetch them again
    plain: dict[str, float] = {}  # openings' cosines without their heading, for the composer too
    dense: list[tuple[Chunk, float]] = []
    lex: list[tuple[str, float]] = []
    if mode in ("hybrid", "dense") and query_vector is not None:
        dense = store.query(query_vector, params.candidates, filters)
        rankings["dense"] = [c.chunk_id for c, _ in dense]
        chunks.update((c.chunk_id, c) for c, _ in dense)
    if mode in ("hybrid", "lexical") and lexical is not None:
        allowed = set(store.matching_ids(filters)) if filters and not filters.is_empty() else None
        if lexical_terms is not None:
            lex = lexical.search_terms(lexical_terms, params.candidates, allowed)
        else:
            lex = lexical.search(question, params.candidates, allowed)
        rankings["lexical"] = [cid for cid, _ in lex]
    if params.fusion == "cc" and mode == "hybrid" and query_vector is not None:
        fused, similarities, found = combine(dense, lex, query_vector, store, params.lexical_boost)
        chunks.update(found)
        years = years_in(question)
        if params.year_boost and years:  # every candidate's chunk came back from combine
            fused = boost_years(fused, chunks, years, params.year_boost, month_years_in(question))
        if params.people_boost:
            fused = boost_people(fused, chunks, question, params.people_boost)
        if params.cc_question_penalty:
            fused = demote_questions(fused, chunks, store, params.cc_question_penalty, subtract=True)
        if params.heading_weight:
            plain = store.heading_free_similarities(_openings(fused, chunks, similarities), query_vector)
            fused = demote_headings(fused, similarities, plain, params.heading_weight)
        if params.author_boost:
            fused = boost_authors(fused, chunks, store, params.author_boost)
    else:
        weights = {"dense": params.dense_weight, "lexical": params.lexical_weight}
        fused = fuse(rankings, weights, params.rrf_k)
        if params.question_penalty:
            fused = demote_questions(fused, chunks, store, params.question_penalty)
    # Fetch only what can still make the cut, allowing for duplicates that diversify() drops.
    head = fused[: k * 3]
    _fetch_missing([cid for cid, _ in head], chunks, store)
    positions = {name: {cid: r for r, cid in enumerate(ranked, start=1)} for name, ranked in rankings.items()}
    hits = [
        Hit(
            chunk=chunks[cid],
            score=score,
            ranks={name: pos[cid] for name, pos in positions.items() if cid in pos},
            similarity=similarities.get(cid),
            heading_free=plain.get(cid),
        )
        for cid, score in head
        if cid in chunks
    ]
    hits = diversify(hits, params.duplicate_overlap)[:k]
    if params.follow_questions:
        hits = follow_questions(hits, store, k, chunks, lexical.successors if lexical else None)
    return hits


def demote_questions(
    fused: list[tuple[str, float]],
    chunks: dict[str, Chunk],
    store: Store,
    penalty: float,
    *,
    subtract: bool = False,
) -> list[tuple[str, float]]:
    """Lower passages that only ask: people want the records' answers, not their questions.

    Interpellations and letters are made of questions that share the user's
    wording; the answer that follows them rarely does. A passage made only of
    questions keeps a share (1 - penalty) of its score, so it still ranks when
    nothing answers, and ``follow_questions`` brings its answer along. With
    ``subtract`` (scores on the cosine scale) it loses ``penalty`` instead.
    """
    head = fused[:RESCORED]
    _fetch_missing([cid for cid, _ in head], chunks, store)

    def demoted(score: float) -> float:
        return score - penalty if subtract else score * (1 - penalty)

    scored = [
        (cid, demoted(score) if cid in chunks and only_questions(chunks[cid].text) else score)
        for cid, score in head
    ]
    return sorted(scored, key=lambda kv: -kv[1]) + fused[RESCORED:]


def _openings(
    fused: list[tuple[str, float]], chunks: dict[str, Chunk], similarities: dict[str, float]
) -> list[str]:
    """The record openings among the candidates that ``demote_headings`` may re-rank."""
    head = [cid for cid, _ in fused[:RESCORED]]
    return [cid for cid in head if cid in chunks and is_opening(chunks[cid]) and cid in similarities]


def demote_headings(
    fused: list[tuple[str, float]],
    similarities: dict[str, float],
    plain: dict[str, float],
    weight: float,
) -> list[tuple[str, float]]:
    """Lower a record's opening passage by ``weight`` times what its heading alone adds to its cosine.

    The heading (title, who asked whom about what) repeats the words a
    question names a record by, and every passage is embedded under the title
    as well, so the opening looked closest for most questions about a record,
    above the passage that answers. Its cosine without the heading (a vector
    kept at ingest, ``plain`` by chunk id) says how much of that closeness is
    the heading's. Callers pass weight 0 when the question asks who: then the
    heading is the answer.
    """
    head = fused[:RESCORED]
    if not plain:
        return fused
    scored = [
        (cid, score - weight * max(similarities[cid] - plain[cid], 0.0)) if cid in plain else (cid, score)
        for cid, score in head
    ]
    return _reranked(scored, fused)


AUTHORS_FROM_TOP = 3  # the records of this many best passages are the ones a "who" question is about


def boost_authors(
    fused: list[tuple[str, float]], chunks: dict[str, Chunk], store: Store, boost: float
) -> list[tuple[str, float]]:
    """Lift the passages that name their record's authors or recipient; callers pass only "who" questions.

    Asked who answered, signed or was addressed, the answer is the signature
    at a record's end or the address line at its top, and those passages share
    few words with the question. Only records already among the best passages
    count: the question names a matter, and the openings of the same people's
    other interpellations name them just as well.
    """
    head = fused[:RESCORED]
    _fetch_missing([cid for cid, _ in head], chunks, store)
    about = {chunks[cid].doc_id for cid, _ in head[:AUTHORS_FROM_TOP] if cid in chunks}

    def names_them_in_full(chunk: Chunk) -> bool:
        # a whole passage: a surname alone ("Larsson") stands in many speeches of a debate
        text = chunk.text.casefold()
        return any(person.casefold() in text for person in chunk.metadata.people)

    scored = [
        (cid, score + boost)
        if cid in chunks and chunks[cid].doc_id in about and names_them_in_full(chunks[cid])
        else (cid, score)
        for cid, score in head
    ]
    return _reranked(scored, fused)


def _reranked(scored: list[tuple[str, float]], fused: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The re-scored head sorted (ties by id), then the rest of ``fused`` in its order."""
    return sorted(scored, key=lambda kv: (-kv[1], kv[0])) + fused[RESCORED:]


def _fetch_missing(ids: Sequence[str], chunks: dict[str, Chunk], store: Store) -> None:
    """Add to ``chunks`` those of ``ids`` it lacks, in one store read."""
    chunks.update((c.chunk_id, c) for c in store.get_chunks([cid for cid in ids if cid not in chunks]))


def only_questions(text: str) -> bool:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", without_sign_off(text)) if len(s) > 12]
    return bool(sentences) and all(s.rstrip().endswith("?") for s in sentences[-2:])


def without_sign_off(text: str) -> str:
    """The text without its closing lines of place, date and signature.

    Interpellations and letters end their list of questions with "Stockholm den
    18 januari 2021" and the author's name; counted as a sentence, that sign-off
    made the questions above it look like a statement.
    """
    blocks = re.split(r"\n\s*\n", text.strip())
    while len(blocks) > 1 and is_sign_off(blocks[-1]):
        blocks.pop()
    return "\n\n".join(blocks).strip()


def is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def follow_questions(
    hits: list[Hit],
    store: Store,
    k: int,
    known: dict[str, Chunk] | None = None,
    successors: dict[str, str] | None = None,
) -> list[Hit]:
    """Put the passage after a matching question right behind it.

    Answers to interpellations repeat each question and answer it in the next
    paragraph; the question shares the user's words, the answer often does not
    ("what measures?" ... "a salary investment in the 2025 pay review"). So a
    retrieved question brings its answer along, ranked just below it.
    """
    questions = [h.chunk for h in hits if is_question(h.chunk.text)]
    if not questions:
        return hits
    following = next_chunks(questions, store, known or {}, successors)
    present = {h.chunk.chunk_id for h in hits}
    out: list[Hit] = []
    for hit in hits:
        out.append(hit)
        nxt = following.get(hit.chunk.chunk_id)
        if nxt is not None and nxt.chunk_id not in present and not is_question(nxt.text):
            out.append(Hit(chunk=nxt, score=hit.score, ranks={"follows": hit.ranks.get("dense", 0)}))
            present.add(nxt.chunk_id)
    return out[:k]


def next_chunks(
    chunks: Sequence[Chunk], store: Store, known: dict[str, Chunk], successors: dict[str, str] | None
) -> dict[str, Chunk]:
    """The chunk after each of ``chunks``: from the lexical index's successor map and the candidates
    already fetched when possible, else from the store (dense-only search has no lexical index)."""
    if successors is None:
        return store.next_chunks(chunks)
    wanted = {c.chunk_id: successors[c.chunk_id] for c in chunks if c.chunk_id in successors}
    missing = sorted({nxt for nxt in wanted.values() if nxt not in known})
    found = {**known, **{c.chunk_id: c for c in store.get_chunks(missing)}}
    return {cid: found[nxt] for cid, nxt in wanted.items() if nxt in found}
