"""Sentence boundaries: what the composer can quote must be a whole sentence, and nothing less."""

from __future__ import annotations

from assistant.metadata import is_dateline
from assistant.quotes import candidate_sentences
from assistant.schema import Chunk, DocumentMetadata, Hit
from assistant.sentences import (
    ends_in_abbreviation,
    is_question_talk,
    is_salutation,
    is_sign_off,
    is_speaker_label,
    split_sentences,
)


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_abbreviations_and_numbered_items_do_not_end_a_sentence() -> None:
    text = "Det gäller bl.a. löner, t.ex. lönesatsningen m.m. i år. 1. Första punkten. Nästa mening."
    assert sentences(text) == [
        "Det gäller bl.a. löner, t.ex. lönesatsningen m.m. i år.",
        "1. Första punkten.",
        "Nästa mening.",
    ]


def test_a_hard_wrapped_paragraph_is_one_sentence_and_spans_are_exact() -> None:
    text = "Personalomsättningen har ökat och\ndärmed kostnaderna.\n\nEn ny mening."
    assert sentences(text) == ["Personalomsättningen har ökat och\ndärmed kostnaderna.", "En ny mening."]
    assert split_sentences(text, offset=100)[1] == (100 + text.index("En"), 100 + len(text))


def test_a_colon_opening_a_numbered_list_ends_the_lead_in() -> None:
    """Riksdag interpellations run their questions on the lead-in's line: "… är: 1. Avser …?"."""
    text = "Mina frågor till statsrådet är: 1. Avser statsrådet att agera? 2. Vad görs?"
    assert sentences(text) == [
        "Mina frågor till statsrådet är:",
        "1. Avser statsrådet att agera?",
        "2. Vad görs?",
    ]
    # a passage may end right after the number
    assert sentences("Mina frågor till statsrådet är: 1.") == ["Mina frågor till statsrådet är:", "1."]
    # a clock time or a ratio is no list
    assert sentences("Mötet började 10: 30 personer kom.") == ["Mötet började 10: 30 personer kom."]


def test_datelines() -> None:
    for line in (
        "den 20 november",
        "Den 30 januari 2009",
        "Stockholm den 18 januari 2021",
        "Kumla 2026-05-12",
    ):
        assert is_dateline(line), line
    for line in (
        "den 20 november beslutade nämnden att anställa fler.",
        "2024",
        "För Vänsterpartiet i Kumla 12/5 2026",
    ):
        assert not is_dateline(line), line


def test_datelines_and_cut_off_lead_ins_are_never_quoted() -> None:
    text = (
        "Interpellation 2008/09:300 Äldreomsorgen av Eva Olofsson (v) till statsrådet Maria Larsson (kd)\n\n"
        "den 30 januari\n\n"
        "I en ny undersökning uppger varannan anställd att de äldre inte får gå ut.\n\n"
        "Mina frågor till statsrådet Maria Larsson är: 1."
    )
    chunk = Chunk("ip#0", "ip.txt", 0, len(text), text, DocumentMetadata(title="Äldreomsorgen"))
    quoted = [c.text for c in candidate_sentences([Hit(chunk, 1.0, similarity=0.9)], [], frozenset())]
    assert "I en ny undersökning uppger varannan anställd att de äldre inte får gå ut." in quoted
    assert not any("den 30 januari" in q or "Mina frågor" in q for q in quoted)


def test_a_debates_speaker_labels_and_salutations_are_no_statements() -> None:
    assert is_speaker_label("Anf. 24 Statsrådet MARIA LARSSON (KD):")
    assert is_speaker_label("Anf. 6 EVA OLOFSSON (V): [utdrag – anförandet är inte fullständigt återgivet]")
    assert not is_speaker_label("Det är 21 socialsekreterare (se ovan):")
    assert is_salutation("Fru talman!") and is_salutation("Herr talman!")
    assert not is_salutation("Fru talman! Jag tror att de flesta vill ha fler arbetskamrater.")
    text = (
        "Anf. 25 JENS HOLM (V):\n\n"
        "Fru talman! Jag tror att de flesta socialsekreterare hellre vill ha fler kollegor."
    )
    chunk = Chunk("debatt#0", "debatt.txt", 0, len(text), text, DocumentMetadata(title="Debatt"))
    hit = Hit(chunk, 1.0, similarity=0.9)
    found = candidate_sentences([hit], [], frozenset(), "Vad svarade Jens Holm?")
    assert [c.text for c in found if not c.heading] == [
        "Jag tror att de flesta socialsekreterare hellre vill ha fler kollegor."
    ]
    # the label names the speaker: context, unless the question asks who
    assert [c.text for c in found if c.heading] == ["Anf. 25 JENS HOLM (V):"]


def test_a_question_restated_or_announced_is_not_the_reply() -> None:
    assert is_question_talk("Jag vill ställa en sista fråga till Maria Larsson.")
    assert is_question_talk("Min konkreta fråga till dig, Maria Larsson, var om du är beredd att agera.")
    assert is_question_talk("Mina frågor till statsrådet är:")
    assert is_question_talk("Mot bakgrund av ovanstående vill jag ställa följande frågor till statsrådet:")
    # a lead-in that gives the reasons for its questions is content
    assert not is_question_talk(
        "Eftersom arbetet har avstannat ser jag behov att ställa följande frågor till ansvarigt borgarråd:"
    )
    assert not is_question_talk("Frågan är viktig då den har bäring på kvaliteten.")


def test_a_minister_restating_the_question_is_not_the_reply() -> None:
    assert is_question_talk(
        "Christina Örnebjär har också frågat mig om jag anser att fler vill bli socionom."
    )
    assert is_question_talk("Eva Olofsson har frågat mig vilka åtgärder jag avser att vidta.")
    assert is_question_talk("Vidare har jag fått frågan om jag anser att det råder brist på socionomer.")
    assert not is_question_talk("För att besvara Johan Hultbergs andra fråga vill jag börja med följande.")
    assert not is_question_talk("När det gäller frågan om brist på socionomer har jag inga uppgifter om det.")
    text = (
        "Vidare har jag fått frågan om jag anser att det råder brist på socionomer. "
        "När det gäller frågan om det råder brist på socionomer har jag inga uppgifter om att så är fallet."
    )
    chunk = Chunk("svar#1", "svar.txt", 0, len(text), text, DocumentMetadata(title="Svar", kind="answer"))
    groups = [(frozenset({"brist"}), 1.0), (frozenset({"socionom"}), 1.0)]
    restated, reply = candidate_sentences(
        [Hit(chunk, 1.0, similarity=0.9)], groups, frozenset(), "Råder brist?"
    )
    assert restated.asks and not reply.asks and reply.relevance > restated.relevance


def test_sign_offs_and_bare_lead_ins_answer_only_who_asked() -> None:
    assert is_sign_off("För Vänsterpartiet i Kumla 12/5 2026\nMargareta Hultman Brikell")
    assert is_sign_off("Clara Lindblom (V)")
    assert not is_sign_off("Tre specialistsocionomer finns inom enheten.")
    text = (
        "Personalomsättningen är hög och drygt en tredjedel av medarbetarna har slutat.\n\n"
        "Vi undrar därför:\n\n"
        "- lönesatsning i löneöversynen\n\n"
        "För Vänsterpartiet i Kumla 12/5 2026\nMargareta Hultman Brikell"
    )
    chunk = Chunk(
        "ip#1", "ip.txt", 0, len(text), text, DocumentMetadata(title="Interpellation", kind="interpellation")
    )
    hit = Hit(chunk, 1.0, similarity=0.9)
    why = candidate_sentences([hit], [], frozenset(), "Varför oroar sig Vänsterpartiet?")
    assert "Vi undrar därför:" not in [c.text for c in why]  # it announces, and says nothing
    signed = [c for c in why if "Margareta" in c.text]
    item = [c for c in why if c.text.startswith("- lönesatsning")]
    assert signed and signed[0].heading and item and not item[0].heading
    who = candidate_sentences([hit], [], frozenset(), "Vem skrev interpellationen?")
    signed_who = [c for c in who if "Margareta" in c.text]
    assert signed_who[0].relevance > signed[0].relevance


def test_a_passage_ending_at_an_abbreviation_cuts_its_sentence() -> None:
    assert ends_in_abbreviation("… i fokus genom ex.") and ends_in_abbreviation("gäller bl.a.")
    assert not ends_in_abbreviation("Nämnden sammanträder.")
    # the splitter reads on after an initial and after a list number; so does the cut test
    assert ends_in_abbreviation("Rapporten skrevs av Anna K.") and ends_in_abbreviation("Frågorna är:\n1.")
    assert [len(split_sentences("Rapporten skrevs av Anna K. Svensson i maj."))] == [1]
    doc = "Först en mening. Vänsterpartiet har lyft arbetet genom ex. samarbete med skolan. Sist en mening."
    cut = doc.index("ex.") + 3
    meta = DocumentMetadata(title="Interpellation")
    first = Chunk("ip#0", "ip.txt", 0, cut, doc[:cut], meta)
    second = Chunk("ip#1", "ip.txt", 17, len(doc), doc[17:], meta)
    found = candidate_sentences(
        [Hit(first, 1.0, similarity=0.9)], [], frozenset(), "Vad lyfte Vänsterpartiet?", {"ip#0": [second]}
    )
    assert "Vänsterpartiet har lyft arbetet genom ex. samarbete med skolan." in [c.text for c in found]


def test_a_list_item_is_its_own_quote_not_carried_along_by_the_sentence_before() -> None:
    text = "Nämnden har beslutat om två saker i år.\n1. Fler handläggare anställs.\n2. Lönerna höjs."
    chunk = Chunk("b#0", "beslut.txt", 0, len(text), text, DocumentMetadata(title="Beslut"))
    found = [
        c.text
        for c in candidate_sentences(
            [Hit(chunk, 1.0, similarity=0.9)], [], frozenset(), "Vad beslutade nämnden?"
        )
    ]
    assert "Nämnden har beslutat om två saker i år." in found
    assert "1. Fler handläggare anställs." in found
