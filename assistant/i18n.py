"""User-facing text in Swedish and English, in one table so translations stay side by side."""

from __future__ import annotations

LANGUAGES = ("sv", "en")

TEXTS: dict[str, dict[str, str]] = {
    "according": {"sv": "Enligt handlingarna:", "en": "According to the records:"},
    "no_answer": {
        "sv": "Handlingarna besvarar inte den frågan.",
        "en": "The records do not answer that question.",
    },
    "not_mentioned": {
        "sv": "De närmaste styckena nämner inte: {terms}.",
        "en": "The closest passages do not mention: {terms}.",
    },
    "no_known_words": {
        "sv": "Inget av frågans ord förekommer i handlingarna.",
        "en": "None of the question's words occur in the records.",
    },
    "asked_not_answered": {
        "sv": "Frågan ställs i handlingarna, men de besvarar den inte.",
        "en": "The records ask this question but do not answer it.",
    },
    "no_figure": {
        "sv": "De närmaste styckena tar upp ämnet men anger ingen sådan siffra.",
        "en": "The closest passages touch on the subject but give no such figure.",
    },
    "no_place": {
        "sv": "De närmaste styckena tar upp ämnet men nämner ingen kommun.",
        "en": "The closest passages touch on the subject but name no municipality.",
    },
    "no_firm": {
        "sv": "De närmaste styckena tar upp ämnet men nämner inget företag.",
        "en": "The closest passages touch on the subject but name no company.",
    },
    "no_date": {
        "sv": "De närmaste styckena tar upp ämnet men anger ingen tidpunkt.",
        "en": "The closest passages touch on the subject but give no date.",
    },
    "no_study": {
        "sv": "Inget av de närmaste styckena nämner en sådan undersökning eller vad den visade.",
        "en": "None of the closest passages mentions such a study or what it showed.",
    },
    "not_yet": {
        "sv": "De närmaste styckena säger att det ska göras, inte vad det visade.",
        "en": "The closest passages say that it is to be done, not what it showed.",
    },
    "no_one_named": {
        "sv": "De närmaste styckena nämner ingen person.",
        "en": "The closest passages name no one.",
    },
    "not_said_by": {
        "sv": "De närmaste styckena är inte av, till eller om den personen.",
        "en": "The closest passages are not by, to or about that person.",
    },
    "no_reply": {
        "sv": "De närmaste styckena kommer från frågor som ställts, inte från något svar på dem.",
        "en": "The closest passages come from questions put, not from any reply to them.",
    },
    "questions_missing": {
        "sv": "Handlingen aviserar sina frågor, men de närmaste styckena återger inga.",
        "en": "The record announces its questions, but the closest passages hold none of them.",
    },
    "possibly_related": {
        "sv": "Möjligen relaterade stycken (inte ett svar):",
        "en": "Possibly related passages (not an answer):",
    },
    "empty_index": {
        "sv": "Indexet är tomt. Kör `council-qa ingest` först.",
        "en": "The index is empty. Run `council-qa ingest` first.",
    },
    "sources": {"sv": "Källor", "en": "Sources"},
    "span": {"sv": "tecken {start}-{end}", "en": "characters {start}-{end}"},
    "undated": {"sv": "odaterad", "en": "undated"},
    "llm_fallback": {
        "sv": "Språkmodellen kunde inte användas ({reason}); svaret är citat ur handlingarna.",
        "en": "The language model could not be used ({reason}); the answer quotes the records instead.",
    },
    "llm_reason_timeout": {
        "sv": "inget svar inom {seconds} s, COUNCIL_QA_LLM_TIMEOUT",
        "en": "no reply within {seconds} s, COUNCIL_QA_LLM_TIMEOUT",
    },
    "llm_reason_unreachable": {
        "sv": "servern svarar inte, kontrollera COUNCIL_QA_LLM_URL",
        "en": "the server does not answer, check COUNCIL_QA_LLM_URL",
    },
    "llm_reason_status": {
        "sv": "servern svarade med HTTP {status}",
        "en": "the server answered HTTP {status}",
    },
    "llm_reason_empty": {"sv": "tomt svar", "en": "an empty reply"},
    "llm_reason_error": {"sv": "fel: {kind}", "en": "error: {kind}"},
    "llm_generated": {
        "sv": "Svaret är skrivet av en språkmodell. Varje mening har kontrollerats mot stycket den hänvisar "
        "till; läs styckena [n] innan du citerar svaret.",
        "en": "This answer was written by a language model. Each sentence was checked against the passage "
        "it cites; read the passages [n] before quoting it.",
    },
    "no_record_matches": {
        "sv": "Ingen handling i indexet stämmer med filtren ({filters}).",
        "en": "No record in the index matches the filters ({filters}).",
    },
    "llm_removed": {
        "sv": "Meningar som togs bort för att de citerade styckena inte stöder dem: {count}.",
        "en": "Sentences removed because the passages they cite do not support them: {count}.",
    },
    "llm_unverified": {
        "sv": "Inget i språkmodellens svar kunde styrkas med styckena det hänvisade till, så svaret är "
        "citat ur handlingarna i stället.",
        "en": "Nothing in the language model's reply could be verified against the passages it cited, "
        "so the answer quotes the records instead.",
    },
    "llm_not_in_records": {
        "sv": "Språkmodellen fann inget svar i de hämtade styckena.",
        "en": "The language model found no answer in the retrieved passages.",
    },
    # -- the web chat (assistant/ui.py, assistant/uirender.py) --
    "ui_title": {"sv": "Fråga kommunens handlingar", "en": "Ask the council records"},
    "ui_subtitle": {
        "sv": "Svaren citerar handlingarna ordagrant. Klicka på [n] för att se stycket i sitt dokument.",
        "en": "Answers quote the records verbatim. Click [n] to see the passage in its document.",
    },
    "ui_intro": {
        "sv": "Ställ en fråga om handlingarna, på svenska eller engelska.",
        "en": "Ask a question about the records, in Swedish or English.",
    },
    "ui_question_label": {"sv": "Din fråga", "en": "Your question"},
    "ui_question_placeholder": {
        "sv": "T.ex. Hur många socialsekreterare slutade 2024?",
        "en": "E.g. What measures were promised against turnover?",
    },
    "ui_send": {"sv": "Fråga", "en": "Ask"},
    "ui_new_chat": {"sv": "Ny konversation", "en": "New conversation"},
    "ui_filters": {"sv": "Filter och språk", "en": "Filters and language"},
    "ui_year_from": {"sv": "Från år", "en": "From year"},
    "ui_year_to": {"sv": "Till år", "en": "To year"},
    "ui_any": {"sv": "Alla", "en": "Any"},
    "ui_examples": {"sv": "Exempelfrågor", "en": "Example questions"},
    "ui_document": {"sv": "Dokument", "en": "Document"},
    "ui_document_empty": {
        "sv": "Klicka på en hänvisning [n] i ett svar för att se det citerade stycket i sitt dokument.",
        "en": "Click a citation [n] in an answer to see the cited passage in its document.",
    },
    "ui_document_missing": {
        "sv": "Dokumentet {doc_id} finns inte längre i indexet.",
        "en": "The document {doc_id} is no longer in the index.",
    },
    "ui_cited_passage": {
        "sv": "Citerat stycke [{n}] (tecken {start}–{end}) är markerat nedan.",
        "en": "Cited passage [{n}] (characters {start}–{end}) is highlighted below.",
    },
    "ui_show_source": {"sv": "Visa källa {n}: {title}", "en": "Show source {n}: {title}"},
    "ui_you": {"sv": "Du", "en": "You"},
    "ui_searching": {"sv": "Söker i handlingarna …", "en": "Searching the records …"},
    "ui_error": {
        "sv": "Frågan kunde inte besvaras just nu (internt fel). Försök igen om en stund.",
        "en": "The question could not be answered right now (internal error). Please try again shortly.",
    },
    "ui_empty_question": {"sv": "Skriv en fråga först.", "en": "Type a question first."},
    "ui_one_filter_value": {
        "sv": "Filtret {field} tar ett enda värde ur sin lista.",
        "en": "The {field} filter takes a single value from its list.",
    },
    "ui_question_too_long": {
        "sv": "Frågan är för lång: högst {max} tecken.",
        "en": "The question is too long: at most {max} characters.",
    },
    "ui_helpful": {"sv": "Hjälpsamt svar", "en": "Helpful answer"},
    "ui_not_helpful": {"sv": "Inte hjälpsamt", "en": "Not helpful"},
    "ui_comment": {"sv": "Kommentar till svaret (valfritt)", "en": "Comment on the answer (optional)"},
    "ui_feedback_thanks": {"sv": "Tack! Ditt omdöme är sparat.", "en": "Thank you! Your feedback was saved."},
    "ui_feedback_nothing": {
        "sv": "Det finns inget svar att bedöma ännu.",
        "en": "There is no answer to rate yet.",
    },
    "ui_language": {"sv": "Språk", "en": "Language"},
    "ui_date": {"sv": "Datum", "en": "Date"},
    "ui_authors": {"sv": "Författare", "en": "Authors"},
    "ui_party": {"sv": "Parti", "en": "Party"},
    "ui_municipality": {"sv": "Kommun", "en": "Municipality"},
    "ui_kind": {"sv": "Typ av handling", "en": "Kind of record"},
    "ui_body": {"sv": "Organ", "en": "Body"},
    "ui_dnr": {"sv": "Diarienummer", "en": "Reference number"},
    "ui_doc_id": {"sv": "Fil", "en": "File"},
    "kind_interpellation": {"sv": "Interpellation", "en": "Interpellation"},
    "kind_answer": {"sv": "Svar på interpellation", "en": "Answer to an interpellation"},
    "kind_skrivelse": {"sv": "Skrivelse", "en": "Written question (skrivelse)"},
    "kind_motion": {"sv": "Motion", "en": "Motion"},
    "kind_other": {"sv": "Övrigt", "en": "Other"},
}


def t(key: str, language: str, **values: object) -> str:
    entry = TEXTS[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text
