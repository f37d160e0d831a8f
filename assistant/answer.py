"""The extractive answer: the sentences that answer the question, quoted verbatim and cited.

Nothing is generated, so nothing can be invented: every sentence of the answer
is a span of a record, and each carries a citation [n] that resolves to that
exact span. Only the short framing follows the question's language. When the
best passage is not close enough to the question the answer says so and shows
the nearest passages as possibly related, without claiming them as an answer.
Which sentences to quote is ``quotes``; when not to answer, ``abstention``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from . import language as lang
from .abstention import abstain_threshold, evidence_gap, missing_terms
from .crosslingual import expand_groups, load_terms, without_english_stopwords
from .headings import is_opening
from .i18n import t
from .lexical import analyze
from .metrics import overlaps
from .questions import (
    asks_for_one_fact,
    asks_for_questions,
    attributions,
    counted_phrases,
    follows_on,
    without_how_many,
    without_lone_surrogates,
)
from .quotes import (
    ATTRIBUTED_WEIGHT,
    FACTOID_SENTENCES,
    MAX_PER_PASSAGE,
    MAX_SENTENCES,
    Sentence,
    TermGroups,
    candidate_sentences,
    counting_only,
    cut_passages,
    dated_only,
    demote_askers,
    demote_unnamed_records,
    figures_only,
    in_months_asked,
    key_terms,
    naming_near_top,
    novel_only,
    people_only,
    select_sentences,
    weigh_closeness,
    without_heading_lift,
    without_names,
)
from .schema import Answer, Chunk, Citation, Filters, Hit

if TYPE_CHECKING:
    from .engine import Engine

RELATED_SHOWN = 3


def citation_for(n: int, hit: Hit, start: int, end: int, quote: str) -> Citation:
    m = hit.chunk.metadata
    return Citation(
        n=n,
        chunk_id=hit.chunk.chunk_id,
        doc_id=hit.chunk.doc_id,
        title=m.title,
        date=m.date,
        authors=list(m.authors),
        parties=list(m.parties),
        start=start,
        end=end,
        quote=quote,
        score=round(hit.similarity if hit.similarity is not None else hit.score, 4),
        municipality=m.municipality,
        kind=m.kind,
    )


def document_heading(hit: Hit, language: str) -> str:
    m = hit.chunk.metadata
    details = [m.date or t("undated", language)]
    if m.authors:
        people = ", ".join(m.authors)
        details.append(f"{people} ({', '.join(m.parties)})" if m.parties else people)
    title = m.title or hit.chunk.doc_id
    return f"{title} ({'; '.join(details)})"


def _marked_cut(sentence: Sentence) -> str:
    """The quote as shown: "…" before one that starts mid-sentence, where a passage boundary cut it.

    The citation keeps the exact text; only the reader is told that the
    sentence began earlier in the record.
    """
    text = flatten(sentence.text)
    starts_passage = sentence.start == sentence.hit.chunk.start and not is_opening(sentence.hit.chunk)
    return "\u2026" + text if starts_passage and text[:1].islower() else text


def flatten(text: str) -> str:
    return " ".join(text.split())


def compose(
    question: str,
    hits: Sequence[Hit],
    *,
    language: str,
    threshold: float,
    vocabulary: frozenset[str] = frozenset(),
    translations: dict[str, list[str]] | None = None,
    term_groups: TermGroups | None = None,
    overlapping: Callable[[Sequence[Chunk]], dict[str, list[Chunk]]] | None = None,
    closeness: Callable[[Sequence[Sentence]], Sequence[float]] | None = None,
    heading_weight: float = 0.0,
) -> Iterator[str | Answer]:
    """Yield the answer in pieces (framing, then one document at a time), then the ``Answer``.

    ``overlapping`` (``Store.overlapping_chunks``) finds the passages that hold
    whole the sentences a passage cuts; it is read only once no abstention check
    has stopped the answer. ``closeness`` gives each candidate sentence's
    cosine to the question (``Engine.sentence_similarities``).
    """
    best = max((h.similarity or 0.0) for h in hits) if hits else 0.0
    if not hits or best < threshold:
        yield from _abstain(question, hits, language)
        return
    missing = missing_terms(question, hits, translations, vocabulary)
    if missing:
        yield from _abstain(question, hits, language, missing)
        return
    if term_groups is None:
        term_groups = [(frozenset([term]), 1.0) for term in dict.fromkeys(analyze(question, vocabulary))]
    cut = cut_passages(hits)
    neighbours = overlapping(cut) if overlapping is not None and cut else None
    scored = without_heading_lift(hits, heading_weight) if heading_weight else hits
    candidates = candidate_sentences(scored, term_groups, vocabulary, question, neighbours)
    if closeness is not None and candidates:
        candidates = weigh_closeness(candidates, closeness(candidates), language)
    gap = evidence_gap(question, candidates, vocabulary, term_groups)
    if gap:
        yield from _abstain(question, hits, language, reason=gap)
        return
    budget = FACTOID_SENTENCES if asks_for_one_fact(question) else MAX_SENTENCES
    # a record's list of questions usually fills one passage, and asked for them, the list is the answer
    per_passage = budget if asks_for_questions(question) else MAX_PER_PASSAGE
    ranked = demote_askers(demote_unnamed_records(candidates, question, vocabulary), question)
    ranked = naming_near_top(ranked, question)
    chosen = select_sentences(ranked, budget, per_passage)
    chosen = novel_only(chosen, question, term_groups, vocabulary, language)
    chosen = in_months_asked(figures_only(chosen, question), question)
    chosen = counting_only(chosen, _counted_terms(question, vocabulary, translations, language), vocabulary)
    chosen = dated_only(chosen, question)
    named = people_only(chosen, question)
    if not named:  # nothing but questions (or fragments) near the top, or asked who, no one named
        reason = "no_one_named" if chosen else "asked_not_answered" if candidates else ""
        yield from _abstain(question, hits, language, reason=reason)
        return
    chosen = named
    citations: list[Citation] = []
    parts = [t("according", language)]
    yield parts[0]
    current_doc = None
    for sentence in chosen:
        if sentence.hit.chunk.doc_id != current_doc:
            current_doc = sentence.hit.chunk.doc_id
            heading = f"\n\n{document_heading(sentence.hit, language)}:"
            parts.append(heading)
            yield heading
        citation = citation_for(len(citations) + 1, sentence.hit, sentence.start, sentence.end, sentence.text)
        citations.append(citation)
        line = f"\n- \u201c{_marked_cut(sentence)}\u201d [{citation.n}]"
        parts.append(line)
        yield line
    yield Answer(
        question=question, text="".join(parts), citations=citations, language=language, hits=list(hits)
    )


def _counted_terms(
    question: str, vocabulary: frozenset[str], translations: dict[str, list[str]] | None, language: str
) -> TermGroups:
    """The terms of what the question's "how many" counts (``questions.counted_phrases``)."""
    phrase = " ".join(counted_phrases(question))
    if not phrase:
        return []
    table = translations if language == "en" else None
    return [(frozenset(group), 1.0) for group in _term_groups(phrase, vocabulary, table) if group]


def _apart(hits: Sequence[Hit]) -> list[Hit]:
    """The hits less those overlapping a better one: neighbouring passages share their overlap, and
    "possibly related" showed the same sentences twice."""
    kept: list[Hit] = []
    for hit in hits:
        if not any(overlaps(k.chunk, hit.chunk) for k in kept):
            kept.append(hit)
    return kept


def _abstain(
    question: str,
    hits: Sequence[Hit],
    language: str,
    missing: Sequence[str] = (),
    reason: str = "",
) -> Iterator[str | Answer]:
    """Say plainly that the records do not answer, and show the nearest passages as such."""
    parts = [t("no_answer", language)]
    if missing:
        parts.append(" " + t("not_mentioned", language, terms=", ".join(missing)))
    if reason:
        parts.append(" " + t(reason, language))
    related: list[Citation] = []
    if hits:
        parts.append("\n\n" + t("possibly_related", language))
        for hit in _apart(hits)[:RELATED_SHOWN]:
            c = hit.chunk
            related.append(citation_for(len(related) + 1, hit, c.start, c.end, c.text))
            snippet = flatten(c.text)
            snippet = snippet if len(snippet) <= 200 else snippet[:197] + "…"
            parts.append(f"\n- {document_heading(hit, language)}: \u201c{snippet}\u201d [{len(related)}]")
    text = "".join(parts)
    yield text
    yield Answer(
        question=question, text=text, citations=related, language=language, abstained=True, hits=list(hits)
    )


def knows_a_word(engine: Engine, question: str) -> bool:
    """Whether the records hold any word of the question, or it names someone or a number.

    Dense retrieval always finds nearest passages: "asdfghjkl qwerty" drew a
    cited answer at cosine 0.80. A name or number the records lack is left to
    ``missing_terms``, which says which one is missing.
    """
    return bool(question_terms(engine, question) or key_terms(question))


_NAME = re.compile(r"\b[A-ZÅÄÖ][\wåäöÅÄÖ-]+")
FOLLOW_UP_WORDS = 8  # a question of more words is taken as asked, never as a follow-up
CARRIED_WORDS = 50  # of the previous question, carried into a follow-up's search


def is_complete(engine: Engine, question: str) -> bool:
    """Whether a short question stands on its own: three words or more, asking about something the
    records hold (a term besides names and years), neither continuing the last question nor pointing
    back at someone ("Orsaker?", "och i Stockholm?", "vad sa hon?" are follow-ups)."""
    if len(question.split()) < 3 or follows_on(question):
        return False
    vocabulary = engine.lexical.vocabulary
    return bool(without_names(question_terms(engine, question), question, vocabulary, numbers=True))


def retrieval_query(question: str, history: Sequence[tuple[str, str]], *, complete: bool = False) -> str:
    """Carry the subject of earlier turns into retrieval for short follow-ups ("and in Stockholm?").

    A question that is ``complete`` (``is_complete``) or longer than
    ``FOLLOW_UP_WORDS`` is searched as asked: "Hur många socialsekreterare
    slutade 2024?" after a question on Stockholm's action plan is not about
    the plan. Names in the previous question are dropped when the follow-up
    brings its own, so "och i Stockholm?" after a question about Kumla searches
    for the subject in Stockholm rather than in Kumla. Only the previous
    question's first ``CARRIED_WORDS`` words are carried: a 2000-character
    question would push the follow-up past the model's input.
    """
    previous = [q for q, _ in history if q.strip()]
    if not previous or complete or len(question.split()) > FOLLOW_UP_WORDS:
        return question
    prev = " ".join(previous[-1].split()[:CARRIED_WORDS])
    new = {m.group() for m in _NAME.finditer(question) if m.start() > 0}
    if new:
        prev = " ".join(
            _NAME.sub(lambda m: m.group() if m.start() == 0 or m.group() in new else "", prev).split()
        )
    return f"{prev} {question}"


def stream_answer(
    engine: Engine,
    question: str,
    *,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str | None = None,
    history: Sequence[tuple[str, str]] = (),
) -> Iterator[str | Answer]:
    started = time.perf_counter()
    question = without_lone_surrogates(question)
    history = [(without_lone_surrogates(q), without_lone_surrogates(a)) for q, a in history]
    query = retrieval_query(question, history, complete=bool(history) and is_complete(engine, question))
    hits = engine.search(query, k=k, filters=filters, mode=mode)
    retrieved = time.perf_counter()
    for piece in compose_answer(engine, question, hits, searched=query):
        if isinstance(piece, Answer):
            if not hits and filters and not filters.is_empty():  # the filters left no record to ask
                piece.notices.append(t("no_record_matches", piece.language, filters=_shown(filters)))
            done = time.perf_counter()
            piece.timings_ms = {
                "retrieval": round((retrieved - started) * 1000, 2),
                "answer": round((done - retrieved) * 1000, 2),
                "total": round((done - started) * 1000, 2),
            }
        yield piece


def _shown(filters: Filters) -> str:
    return ", ".join(f"{name}={value}" for name, value in asdict(filters).items() if value)


def compose_with(engine: Engine, question: str, hits: Sequence[Hit]) -> Iterator[str | Answer]:
    """``compose`` with the engine's model threshold, vocabulary and term list."""
    return compose(
        question,
        hits,
        language=lang.detect(question, default="sv"),
        threshold=abstain_threshold(engine.embedder.name),
        vocabulary=engine.lexical.vocabulary,
        translations=load_terms(engine.settings.terms),
        term_groups=question_terms(engine, question),
        overlapping=engine.store.overlapping_chunks,
        closeness=lambda sentences: engine.sentence_similarities(question, [_span(s) for s in sentences]),
        heading_weight=engine.fusion_params(question).heading_weight,  # 0 when asked who: the heading answers
    )


def _span(sentence: Sentence) -> tuple[tuple[str, int, int], str]:
    return (sentence.hit.chunk.doc_id, sentence.start, sentence.end), sentence.text


def question_terms(engine: Engine, question: str) -> TermGroups:
    """The question's index terms weighted by idf; an English word's Swedish alternatives form one group.

    A group weighs as much as its rarest member that the records contain. A
    term counts once ("December" and its Swedish "december" are one term).
    Terms named only where the question says whose word it wants ("according
    to Morgan Johansson's April 2008 interpellation") weigh ``ATTRIBUTED_WEIGHT``
    as much: retrieval has used them to find the record, and every sentence of
    that record matches them equally, or the record's opening best.
    """
    vocabulary = engine.lexical.vocabulary
    english = lang.detect(question, default="sv") == "en"
    table = load_terms(engine.settings.terms) if english else None
    groups = _term_groups(question, vocabulary, table)
    unique = dict.fromkeys(frozenset(g) for g in groups if g)
    idf = engine.lexical.idf({t for group in unique for t in group})
    focus = question
    for phrase in attributions(question):
        focus = focus.replace(phrase, " ")
    focus_groups = groups if focus == question else _term_groups(focus, vocabulary, table)
    asked = {t for group in focus_groups for t in group}
    weighted = [
        (g, max((idf[t] for t in g), default=0.0) * (1.0 if g & asked else ATTRIBUTED_WEIGHT)) for g in unique
    ]
    return [(g, w) for g, w in weighted if w > 0]


def _term_groups(
    text: str, vocabulary: frozenset[str], table: dict[str, list[str]] | None
) -> list[list[str]]:
    """Each index term of ``text``; for an English question (``table`` given), its phrases' Swedish ones."""
    text = without_how_many(text)
    if table is None:
        return [[term] for term in analyze(text, vocabulary)]
    groups = [[term] for term in analyze(without_english_stopwords(text), vocabulary)]
    return groups + [analyze(" ".join(alts), vocabulary) for alts in expand_groups(text, table)]


def composer(engine: Engine) -> Callable[[Engine, str, Sequence[Hit]], Iterator[str | Answer]]:
    """The extractive composer, or the LLM mode when ``COUNCIL_QA_LLM`` names one (it falls back itself)."""
    from . import llm

    return llm.compose_llm if llm.enabled(engine.settings) else compose_with


def answer_from_hits(engine: Engine, question: str, hits: Sequence[Hit]) -> Answer:
    """Compose from hits already retrieved (the evaluator times retrieval and composition apart).

    Goes through the same choice of composer as ``answer``, so ``council-qa eval``
    measures the LLM mode when one is configured.
    """
    return next(p for p in compose_answer(engine, question, hits) if isinstance(p, Answer))


def compose_answer(
    engine: Engine, question: str, hits: Sequence[Hit], searched: str = ""
) -> Iterator[str | Answer]:
    """The configured composer's pieces, unless the records know no word of the question as
    ``searched`` (with a follow-up's carried subject): nearest neighbours of "asdfghjkl" still
    come with cosines above the abstention threshold."""
    if not knows_a_word(engine, searched or question):
        return _abstain(question, [], lang.detect(question, default="sv"), reason="no_known_words")
    return composer(engine)(engine, question, hits)


def answer(
    engine: Engine,
    question: str,
    *,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str | None = None,
    history: Sequence[tuple[str, str]] = (),
) -> Answer:
    result: Answer | None = None
    for piece in stream_answer(engine, question, k=k, filters=filters, mode=mode, history=history):
        if isinstance(piece, Answer):
            result = piece
    assert result is not None
    return result
