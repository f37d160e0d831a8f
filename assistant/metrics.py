"""Evaluation metrics: pure functions from spans, answers and timings to numbers.

Everything is defined on character spans, not chunk ids, so a gold set stays
valid when the chunker changes: a gold source is *found* by any retrieved or
cited chunk of the same document whose span overlaps it (half-open intervals,
so touching spans, ``a.end == b.start``, do not overlap).

Two conventions hold throughout, so aggregates never mix apples and pears:

* A metric that does not apply to a question is ``None``, never ``NaN`` or 0.
  Unanswerable questions (no gold source) have no retrieval metrics, no fact
  recall and no citation metrics; they only feed abstention accuracy.
* Aggregates are means over the questions where the metric is not ``None``;
  with no such question the aggregate is ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

HIT_KS = (1, 3, 5, 10)
RANK_CUTOFF = 10
"""MRR and nDCG look at the top ``RANK_CUTOFF`` retrieved chunks."""

SUMMARY_KEYS = (
    "n_questions",
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr@10",
    "ndcg@10",
    "fact_recall",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "retrieval_p50_ms",
    "retrieval_p95_ms",
    "answer_p50_ms",
    "answer_p95_ms",
)


class _HasSpan(Protocol):
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` of one document's text."""

    doc_id: str
    start: int
    end: int

    def __post_init__(self) -> None:
        # A reversed span overlaps nothing, so a typo in the gold set would
        # silently turn into a miss; refuse it instead.
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span {self.doc_id}[{self.start}:{self.end}]")

    @classmethod
    def of(cls, obj: _HasSpan) -> Span:
        """The span of anything with ``doc_id``/``start``/``end`` (a Chunk, a Citation)."""
        return cls(str(obj.doc_id), int(obj.start), int(obj.end))

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "start": self.start, "end": self.end}


def overlaps(a: _HasSpan, b: _HasSpan) -> bool:
    """Same document and at least one shared character (half-open intervals): spans, chunks, citations."""
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _unique(gold: Iterable[Span]) -> list[Span]:
    """Gold spans without exact repeats: a source listed twice is still one source."""
    return list(dict.fromkeys(gold))


def _finds_any(chunk: Span, gold: Sequence[Span]) -> bool:
    return any(overlaps(chunk, g) for g in gold)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def hit_at_k(ranked: Sequence[Span], gold: Sequence[Span], k: int) -> float | None:
    """1.0 if any of the top ``k`` chunks finds any gold source; ``None`` without gold."""
    _check_k(k)
    if not gold:
        return None
    return 1.0 if any(_finds_any(chunk, gold) for chunk in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[Span], gold: Sequence[Span], k: int = RANK_CUTOFF) -> float | None:
    """1/rank of the first chunk in the top ``k`` that finds a gold source, else 0."""
    _check_k(k)
    if not gold:
        return None
    for rank, chunk in enumerate(ranked[:k], start=1):
        if _finds_any(chunk, gold):
            return 1.0 / rank
    return 0.0


def _discount(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


def ndcg_at_k(ranked: Sequence[Span], gold: Sequence[Span], k: int = RANK_CUTOFF) -> float | None:
    """nDCG with binary gains where every gold source is credited at most once.

    Without the once-only rule, five near-duplicate chunks of the same paragraph
    would score like five different sources and reward redundancy. A chunk
    gains 1 when it finds at least one gold source not credited yet (crediting
    all it finds); the ideal ranking has ``min(#gold, k)`` gains at the top.
    """
    _check_k(k)
    sources = _unique(gold)
    if not sources:
        return None
    credited: set[int] = set()
    dcg = 0.0
    for rank, chunk in enumerate(ranked[:k], start=1):
        found = {i for i, g in enumerate(sources) if i not in credited and overlaps(chunk, g)}
        if found:
            credited |= found
            dcg += _discount(rank)
    ideal = sum(_discount(rank) for rank in range(1, min(len(sources), k) + 1))
    return dcg / ideal


_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Casefolded, NFC, single-spaced text, so facts match regardless of layout.

    NFC matters for Swedish: text extracted from PDFs may spell "ä" as "a" plus
    a combining diaeresis, which would otherwise never equal the gold fact.
    """
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def _alternatives(fact: Sequence[str] | str) -> list[str]:
    """A fact's usable alternatives, normalized.

    A bare string is one alternative: iterating it would yield single letters,
    each of which "occurs" in nearly every answer.
    """
    alternatives = [fact] if isinstance(fact, str) else list(fact)
    usable = [n for n in (normalize_text(a) for a in alternatives) if n]
    if not usable:
        # An empty alternative occurs in every text; that is a gold-set bug.
        raise ValueError(f"fact has no non-empty alternative: {fact!r}")
    return usable


def fact_matches(answer_text: str, facts: Sequence[Sequence[str] | str]) -> list[bool]:
    """For each fact, whether any of its alternatives occurs in the answer (substring).

    Substring rather than whole-word matching on purpose: Swedish compounds
    ("omsättning" inside "personalomsättningen") must count.
    """
    answer = normalize_text(answer_text)
    return [any(alt in answer for alt in _alternatives(fact)) for fact in facts]


def fact_recall(answer_text: str, facts: Sequence[Sequence[str] | str]) -> tuple[float | None, list[bool]]:
    """Share of facts present in the answer, and which ones; ``None`` without facts."""
    matched = fact_matches(answer_text, facts)
    if not matched:
        return None, matched
    return sum(matched) / len(matched), matched


def citation_precision(cited: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of cited passages that overlap some gold source.

    ``None`` when nothing is cited or there is no gold: an answer that cites
    nothing makes no claim that can be imprecise (citation recall catches it).
    """
    if not cited or not gold:
        return None
    return sum(_finds_any(c, gold) for c in cited) / len(cited)


def citation_recall(cited: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of (distinct) gold sources found by some citation; ``None`` without gold."""
    sources = _unique(gold)
    if not sources:
        return None
    return sum(_finds_any(g, cited) for g in sources) / len(sources)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; ``None`` for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


@dataclass(frozen=True)
class QuestionResult:
    """One question's run and its metrics; ``None`` marks a metric that does not apply.

    ``rr`` and ``ndcg`` are at ``RANK_CUTOFF`` (10). An abstention makes no
    claim, so its ``citation_precision`` is ``None``; its ``citation_recall``
    is scored on ``cited`` as given (the evaluator passes none, so 0).
    ``failure`` is set by the caller when retrieval or answering raised; such a
    question still counts, with whatever it produced (usually nothing, so it
    scores as a miss).
    """

    id: str
    language: str
    question: str
    answerable: bool
    gold: tuple[Span, ...]
    facts: tuple[tuple[str, ...], ...]
    retrieved: tuple[Span, ...]
    retrieved_ids: tuple[str, ...]
    cited: tuple[Span, ...]
    answer_text: str
    abstained: bool
    facts_matched: tuple[bool, ...]
    hit_at_1: float | None
    hit_at_3: float | None
    hit_at_5: float | None
    hit_at_10: float | None
    rr: float | None
    ndcg: float | None
    fact_recall: float | None
    citation_precision: float | None
    citation_recall: float | None
    retrieval_ms: float | None
    answer_ms: float | None
    total_ms: float | None
    failure: str | None = None


def _total(retrieval_ms: float | None, answer_ms: float | None) -> float | None:
    if retrieval_ms is None or answer_ms is None:
        return None
    return retrieval_ms + answer_ms


def evaluate_question(
    *,
    id: str,
    language: str,
    question: str,
    gold: Sequence[Span],
    facts: Sequence[Sequence[str] | str],
    retrieved: Sequence[Span],
    retrieved_ids: Sequence[str],
    cited: Sequence[Span],
    answer_text: str,
    abstained: bool,
    retrieval_ms: float | None = None,
    answer_ms: float | None = None,
    total_ms: float | None = None,
    answerable: bool | None = None,
    failure: str | None = None,
) -> QuestionResult:
    """All per-question metrics from the raw run.

    A question is answerable iff it has gold sources. ``answerable`` may be
    passed as well (e.g. from the gold file) purely as a cross-check: an
    "answerable" question without gold sources would otherwise be scored as an
    unanswerable one and quietly skew abstention accuracy.
    ``total_ms`` defaults to ``retrieval_ms + answer_ms``.
    """
    has_gold = len(gold) > 0
    if answerable is not None and answerable != has_gold:
        state = "answerable but has no gold sources" if answerable else "unanswerable but has gold sources"
        raise ValueError(f"question {id!r} is marked {state}")
    if len(retrieved_ids) != len(retrieved):
        raise ValueError(f"question {id!r}: {len(retrieved_ids)} retrieved ids for {len(retrieved)} spans")
    fact_tuple = tuple((f,) if isinstance(f, str) else tuple(f) for f in facts)
    # An abstention claims nothing: the facts in its "possibly related" passages are not an answer.
    recall, matched = fact_recall("" if abstained else answer_text, fact_tuple)
    return QuestionResult(
        id=id,
        language=language,
        question=question,
        answerable=has_gold,
        gold=tuple(gold),
        facts=fact_tuple,
        retrieved=tuple(retrieved),
        retrieved_ids=tuple(retrieved_ids),
        cited=tuple(cited),
        answer_text=answer_text,
        abstained=abstained,
        facts_matched=tuple(matched),
        hit_at_1=hit_at_k(retrieved, gold, 1),
        hit_at_3=hit_at_k(retrieved, gold, 3),
        hit_at_5=hit_at_k(retrieved, gold, 5),
        hit_at_10=hit_at_k(retrieved, gold, 10),
        rr=reciprocal_rank(retrieved, gold, RANK_CUTOFF),
        ndcg=ndcg_at_k(retrieved, gold, RANK_CUTOFF),
        fact_recall=recall if has_gold else None,
        citation_precision=None if abstained else citation_precision(cited, gold),
        citation_recall=citation_recall(cited, gold),
        retrieval_ms=retrieval_ms,
        answer_ms=answer_ms,
        total_ms=total_ms if total_ms is not None else _total(retrieval_ms, answer_ms),
        failure=failure,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def to_json(result: QuestionResult) -> dict[str, Any]:
    """The dataclass fields as plain JSON types: spans as ``{doc_id, start, end}``, tuples as lists."""
    return {key: _jsonable(value) for key, value in asdict(result).items()}


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _timings(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def summarize(results: Sequence[QuestionResult]) -> dict[str, float | int | None]:
    """The aggregate metrics, with exactly the keys of ``SUMMARY_KEYS``.

    ``n_questions`` counts every question; each other value is a mean over the
    questions where that metric applies (macro average: every question weighs
    the same however many facts or citations it has).
    """
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    retrieval = _timings(r.retrieval_ms for r in results)
    answering = _timings(r.answer_ms for r in results)
    summary: dict[str, float | int | None] = {
        "n_questions": len(results),
        "hit@1": _mean(r.hit_at_1 for r in results),
        "hit@3": _mean(r.hit_at_3 for r in results),
        "hit@5": _mean(r.hit_at_5 for r in results),
        "hit@10": _mean(r.hit_at_10 for r in results),
        "mrr@10": _mean(r.rr for r in results),
        "ndcg@10": _mean(r.ndcg for r in results),
        "fact_recall": _mean(r.fact_recall for r in results),
        "citation_precision": _mean(r.citation_precision for r in results),
        "citation_recall": _mean(r.citation_recall for r in results),
        "abstention_accuracy": _share([r.abstained for r in unanswerable]),
        "false_abstention_rate": _share([r.abstained for r in answerable]),
        "retrieval_p50_ms": percentile(retrieval, 50),
        "retrieval_p95_ms": percentile(retrieval, 95),
        "answer_p50_ms": percentile(answering, 50),
        "answer_p95_ms": percentile(answering, 95),
    }
    return summary


def summarize_by_language(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    """``summarize`` per question language, languages in sorted order."""
    languages = sorted({r.language for r in results})
    return {lang: summarize([r for r in results if r.language == lang]) for lang in languages}
