"""Metadata extraction on the demo corpus and on the patterns Swedish council records use.

Every expectation here was read off the records themselves; a field the text
does not state must stay empty, because filters and citations trust it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.metadata import (
    ACCEPTED_KEYS,
    FRONT_MATTER_KEYS,
    IGNORED_FRONT_MATTER_KEYS,
    MUNICIPALITIES,
    RIKSDAG_BODY,
    RIKSDAG_SOURCE,
    MetadataError,
    canonical_body,
    extract_metadata,
    from_front_matter,
    merge,
    parse_date,
    parse_parties,
    parse_person,
    resolve,
)
from assistant.schema import KINDS, PARTIES, DocumentMetadata

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"

DEMO_RECORDS = {
    "kumla-interpellation-2026-05-12-rorlighet-bland-socialsekreterare.txt": DocumentMetadata(
        title="Interpellation till socialnämndens ordförande Annica Sjökvist rörande den stora rörligheten "
        "hos socialsekreterare i Kumla kommun",
        kind="interpellation",
        municipality="Kumla",
        body="socialnämnden",
        date="2026-05-12",
        authors=["Margareta Hultman Brikell"],
        parties=["V"],
        recipient="socialnämndens ordförande Annica Sjökvist",
    ),
    "stockholm-interpellation-2021-01-18-handlingsplan-for-socialsekreterare.txt": DocumentMetadata(
        title="2021:x Interpellation av Clara Lindblom (V) om handlingsplanen för att förbättra "
        "arbetssituationen för socialsekreterare och biståndshandläggare",
        kind="interpellation",
        municipality="Stockholm",
        date="2021-01-18",
        authors=["Clara Lindblom"],
        parties=["V"],
        recipient="ansvarigt borgarråd",
    ),
    "stockholm-skrivelse-2024-personalomsattning-och-vakanser.txt": DocumentMetadata(
        title="Skrivelse med anledning av förvaltningens svar på skrivelsen från moderaterna ang. "
        "personalomsättning och vakanser inom socialtjänsten i Stockholms stad.",
        kind="skrivelse",
        municipality="Stockholm",
    ),
    "stockholm-skrivelse-en-anstrangd-socialtjanst.txt": DocumentMetadata(
        title="En ansträngd socialtjänst",
        kind="skrivelse",
        body="stadsdelsnämnderna",
        authors=["Lars Jilmstad", "Peter Öberg"],
        parties=["M", "L"],
    ),
    "svar-pa-interpellation-2024-12-avhopp-bland-socialsekreterare.txt": DocumentMetadata(
        title="Svar interpellation om avhoppen bland socialsekreterare i socialförvaltningen",
        kind="answer",
        body="socialnämnden",
        authors=["Bodil Wennerbrandt Sevastik"],
    ),
}


@pytest.mark.parametrize("name", sorted(DEMO_RECORDS))
def test_demo_records(name: str) -> None:
    """The five bundled records, field by field. Notably: the skrivelser and the answer state no
    date (their statistics months are not document dates), and the answer names no municipality."""
    text = (DOCUMENTS / name).read_text(encoding="utf-8")
    assert extract_metadata(text, filename=name).to_dict() == DEMO_RECORDS[name].to_dict()


# ---------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("closing", "expected"),
    [
        ("För Vänsterpartiet i Kumla 12/5 2026", "2026-05-12"),
        ("Kumla 12/5-2026", "2026-05-12"),
        ("Stockholm den 18 januari 2021", "2021-01-18"),
        ("Stockholm 18 januari 2021", "2021-01-18"),
        ("Göteborg den 3 dec. 2019", "2019-12-03"),
        ("Malmö 2021-01-18", "2021-01-18"),
        ("Kumla 31/2 2024", ""),  # not a real date
        ("Kumla 2024-13-01", ""),
        ("Kumla i maj 2024", ""),  # not a full date
    ],
)
def test_date_from_signature(closing: str, expected: str) -> None:
    text = f"Interpellation om bemanning\n\nHur ser det ut?\n\n{closing}\nAnna Svensson (S)\n"
    assert extract_metadata(text).date == expected


def test_text_without_a_date_has_no_date() -> None:
    text = "Motion om fler socialsekreterare\n\nVi yrkar att nämnden anställer fler.\n\nAnna Svensson (S)"
    assert extract_metadata(text).date == ""


def test_dates_in_the_body_are_not_document_dates() -> None:
    body = " ".join(
        [
            "Ärendetillströmningen ökade kraftigt under 2015 och antalet annonser var 56 i januari 2024.",
            "Konsulterna är upphandlade tom 30 april 2025 och beslutet togs den 3 mars 2023.",
        ]
        * 4
    )
    text = f"Interpellation 2021:x\n\nInterpellation om bemanning\n\n{body}\n\nAnna Svensson (S)\n"
    assert extract_metadata(text).date == ""


def test_heading_date_counts_when_the_signature_has_none() -> None:
    text = "Kumla kommun\nSocialnämnden\n2024-03-05\n\n" + "Lång text om budgeten. " * 30 + "\n\nSlut."
    assert extract_metadata(text).date == "2024-03-05"


def test_signature_date_wins_over_heading_date() -> None:
    text = "Skrivelse 2024-01-02\n\n" + "Text. " * 80 + "\n\nStockholm den 9 februari 2024\nAnna Svensson (S)"
    assert extract_metadata(text).date == "2024-02-09"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-01-18", "2021-01-18"),
        ("den 18 januari 2021", "2021-01-18"),
        ("12/5 2026", "2026-05-12"),
        ("2021-01", "2021-01"),
        ("2021", "2021"),
        ("2021-02-30", ""),
        ("snart", ""),
        ("", ""),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert parse_date(text) == expected


# ---------------------------------------------------------------------------
# Kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Interpellation till kommunstyrelsens ordförande om skolan\n\nText.", "interpellation"),
        ("Svar på interpellation om skolan\n\nText om interpellationen.", "answer"),
        ("Svar interpellation om avhoppen\n\nText.", "answer"),
        ("Interpellationssvar: skolan\n\nText.", "answer"),
        (
            "Interpellation om skolan från Anna Svensson (S)\n\nSvaret är ja.\n\n"
            "Med detta anser jag interpellationen besvarad\n\nBo Ek\nKommunstyrelsens ordförande",
            "answer",
        ),
        ("Skrivelse om hemtjänsten\n\nText om svar på skrivelsen.", "skrivelse"),
        ("En ansträngd socialtjänst\n\nDärför lägger vi denna skrivelse i stadens nämnder.", "skrivelse"),
        ("Motion om cykelbanor\n\nVi yrkar att fler byggs.", "motion"),
        ("Protokoll från sammanträdet\n\nNärvarande: alla.", "other"),
        (
            "Interpellation 2021:x\n\nText. I ett interpellationssvar i april 2019 lovades mycket. " * 3,
            "interpellation",
        ),
    ],
)
def test_kind(text: str, kind: str) -> None:
    assert extract_metadata(text).kind == kind


# ---------------------------------------------------------------------------
# Municipality, body, dnr


@pytest.mark.parametrize(
    ("text", "municipality"),
    [
        ("Interpellation om skolan i Kumla kommun\n\nText.", "Kumla"),
        ("Skrivelse om socialtjänsten i Stockholms stad\n\nText.", "Stockholm"),
        ("Skrivelse från Västerås stad\n\nText.", "Västerås"),  # the s is part of the name
        ("Motion till Lilla Edets kommun\n\nText.", "Lilla Edet"),
        ("Motion i Upplands Väsby kommun\n\nText.", "Upplands Väsby"),
        ("Motion\n\nText.\n\nStockholm den 18 januari 2021\nAnna Svensson (S)", "Stockholm"),
        ("Motion\n\nText.\n\nFör Vänsterpartiet i Kumla 12/5 2026\nAnna Svensson", "Kumla"),
        ("Motion om skolan i denna kommun\n\nText.", ""),
        ("Skrivelse Kumla kommun\n\nText.", "Kumla"),
        ("Motion\n\nText.\n\nAnna Berg 2024-01-01", ""),  # Berg is a municipality, and a surname
        ("Motion\n\nText.\n\nSocialdemokraterna i Upplands Väsby den 1 mars 2024\nAnna Ek", "Upplands Väsby"),
        ("Motion om skolan\n\nText.\n\n" + "Jämfört med Örebro kommun är det dyrt. " * 10, ""),
        ("Stockholm har en socialtjänst i nöd\n\n" + "Text. " * 80, ""),
    ],
)
def test_municipality(text: str, municipality: str) -> None:
    assert extract_metadata(text).municipality == municipality


def test_municipality_list_is_complete() -> None:
    assert len(MUNICIPALITIES) == 290
    assert {"Kumla", "Stockholm", "Malung-Sälen", "Östra Göinge", "Upplands-Bro"} <= MUNICIPALITIES


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("Interpellation till socialnämndens ordförande Anna Ek\n\nText.", "socialnämnden"),
        ("Interpellation till kommunstyrelsens ordförande\n\nText.", "kommunstyrelsen"),
        ("Skrivelse till äldrenämnden\n\nText.", "äldrenämnden"),
        (
            "Interpellation till Barn- och utbildningsnämndens ordförande\n\nText.",
            "barn- och utbildningsnämnden",
        ),
        ("Svar\n\nText.\n\nBodil Ek Socialnämndens ordförande", "socialnämnden"),
        ("Svar\n\nText.\n\nBodil Ek\nOrdförande i utbildningsnämnden", "utbildningsnämnden"),
        ("Svar\n\nText.\n\nBodil Ek (S)\nÄldrenämndens ordförande", "äldrenämnden"),
        ("Skrivelse\n\nDärför lägger vi denna skrivelse i stadens stadsdelsnämnder.", "stadsdelsnämnderna"),
        ("Interpellation om skolan\n\n" + "Socialnämnden har beslutat mycket. " * 20, ""),
    ],
)
def test_body(text: str, body: str) -> None:
    assert extract_metadata(text).body == body


@pytest.mark.parametrize(
    ("word", "canonical"),
    [
        ("Socialnämndens", "socialnämnden"),
        ("socialnämnd", "socialnämnden"),
        ("stadsdelsnämnder", "stadsdelsnämnderna"),
        ("Kommunfullmäktiges", "kommunfullmäktige"),
        ("kommunstyrelse", "kommunstyrelsen"),
        ("förvaltningen", ""),
        ("Kultur- och fritidsnämnden", "kultur- och fritidsnämnden"),
        ("Sveriges riksdag", ""),
    ],
)
def test_canonical_body(word: str, canonical: str) -> None:
    assert canonical_body(word) == canonical


@pytest.mark.parametrize(
    ("line", "dnr"),
    [
        ("Dnr 2024/123", "2024/123"),
        ("Dnr: SN 2024/45", "SN 2024/45"),
        ("dnr KS-2021/00123", "KS-2021/00123"),
        ("Diarienummer 2019.1234", "2019.1234"),
        ("Vi har inget diarienummer än.", ""),
    ],
)
def test_dnr(line: str, dnr: str) -> None:
    assert extract_metadata(f"Skrivelse om skolan\n{line}\n\nText.").dnr == dnr


# ---------------------------------------------------------------------------
# Authors and parties


@pytest.mark.parametrize(
    ("closing", "authors", "parties"),
    [
        ("Clara Lindblom (V)", ["Clara Lindblom"], ["V"]),
        ("Lars Jilmstad m fl (M)\n\nPeter Öberg (L)", ["Lars Jilmstad", "Peter Öberg"], ["M", "L"]),
        ("Anna Ek (S), Bo Berg (mp) och Cia Dahl (C)", ["Anna Ek", "Bo Berg", "Cia Dahl"], ["S", "MP", "C"]),
        ("För Vänsterpartiet i Kumla 12/5 2026\nMargareta Brikell", ["Margareta Brikell"], ["V"]),
        ("Med vänlig hälsning\nAnna-Karin Ek\nKristdemokraterna", ["Anna-Karin Ek"], ["KD"]),
        ("Sverigedemokraterna\nPer Persson", ["Per Persson"], ["SD"]),
        ("Bo Ek\nKommunalråd (C)", ["Bo Ek"], ["C"]),
        ("Anna Svensson", ["Anna Svensson"], []),  # a bare name as the record's last line
        ("Kumla Kommun", [], []),
        ("Tack för svaren.", [], []),
    ],
)
def test_signatures(closing: str, authors: list[str], parties: list[str]) -> None:
    text = "Interpellation om skolan\n\n" + "Frågor om skolan. " * 30 + "\n\n" + closing
    meta = extract_metadata(text)
    assert (meta.authors, meta.parties) == (authors, parties)


def test_author_in_heading() -> None:
    text = "Interpellation av Clara Lindblom (V) om handlingsplanen\n\n" + "Text. " * 80
    meta = extract_metadata(text)
    assert (meta.authors, meta.parties) == (["Clara Lindblom"], ["V"])


def test_bare_name_inside_the_body_is_not_an_author() -> None:
    text = "Interpellation om skolan\n\nAnna Svensson\n\n" + "Text om skolan. " * 30 + "\n\nSlut på frågan."
    assert extract_metadata(text).authors == []


def test_parties_are_codes_and_deduplicated() -> None:
    text = "Motion av Anna Ek (S)\n\n" + "Text. " * 80 + "\n\nAnna Ek (S)\nBo Ek (fp)"
    meta = extract_metadata(text)
    assert meta.parties == ["S", "L"]
    assert set(meta.parties) <= set(PARTIES)


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("Statsrådet MARIA LARSSON (KD)", ("Maria Larsson", "KD")),
        ("Statsrådet ÅSA REGNÉR (S)", ("Åsa Regnér", "S")),
        ("Maria Larsson (kd), statsråd", ("Maria Larsson", "KD")),
        ("socialminister Lars Engqvist", ("Lars Engqvist", "")),
        ("Lars Jilmstad m fl (M)", ("Lars Jilmstad", "M")),
        ("Eva Olofsson", ("Eva Olofsson", "")),
    ],
)
def test_parse_person(text: str, person: tuple[str, str]) -> None:
    assert parse_person(text) == person


def test_parse_parties() -> None:
    assert parse_parties("V, S") == ["V", "S"]
    assert parse_parties("Vänsterpartiet och Miljöpartiet de gröna") == ["V", "MP"]
    assert parse_parties("fp") == ["L"]
    assert parse_parties("-") == []
    assert parse_parties("Piratpartiet") == []
    with pytest.raises(MetadataError, match="unknown party 'Piratpartiet'"):
        parse_parties("Piratpartiet", strict=True)


# ---------------------------------------------------------------------------
# Title and recipient


def test_title_strips_markdown_and_is_clipped() -> None:
    long = "## " + "Ord " * 100 + "\n\nText."
    title = extract_metadata(long).title
    assert not title.startswith("#")
    assert len(title) <= 201 and title.endswith("…")


def test_title_prefers_html_title_then_text_then_filename() -> None:
    assert extract_metadata("Rubrik\n\nText.", html_title="Sidans titel").title == "Sidans titel"
    assert extract_metadata("Rubrik\n\nText.", filename="a-b.txt").title == "Rubrik"
    assert extract_metadata("", filename="kumla-svar_2024.txt").title == "kumla svar 2024"


def test_recipient() -> None:
    heading = "Interpellation 2012/13:31 Svårigheter av Eva Olofsson (V) till statsrådet Maria Larsson (KD)"
    meta = extract_metadata(heading + "\n\nden 17 oktober\n\n" + "Text. " * 60)
    assert meta.recipient == "statsrådet Maria Larsson (KD)"
    assert meta.authors == ["Eva Olofsson"]
    assert meta.date == ""  # "den 17 oktober" has no year


# ---------------------------------------------------------------------------
# Front matter and layers


def test_riksdagen_interpellation_front_matter() -> None:
    meta = from_front_matter(
        {
            "dokumenttyp": "interpellation (Sveriges riksdag)",
            "beteckning": "Interpellation 2012/13:31",
            "titel": "Svårigheter att efterleva socialtjänstlagen",
            "riksmöte": "2012/13",
            "interpellant": "Eva Olofsson",
            "parti": "V",
            "ställd_till": "Maria Larsson (KD), statsråd",
            "datum_inlämnad": "2012-10-17",
            "datum_besvarad": "2012-11-13",
            "riksdagen_dok_id": "H01031",
            "url": "http://data.riksdagen.se/dokument/H01031",
            "källa": "github.com/swerik-project/riksdagen-interpellations@b656ba9d3253:data/x.xml",
            "urvalspoäng": "44.22",
        }
    )
    assert meta == DocumentMetadata(
        title="Svårigheter att efterleva socialtjänstlagen",
        kind="interpellation",
        body=RIKSDAG_BODY,
        dnr="Interpellation 2012/13:31",
        date="2012-10-17",
        authors=["Eva Olofsson"],
        parties=["V"],
        recipient="Maria Larsson (KD), statsråd",
        source=RIKSDAG_SOURCE,
        url="http://data.riksdagen.se/dokument/H01031",
    )


def test_riksdagen_answer_front_matter() -> None:
    meta = from_front_matter(
        {
            "dokumenttyp": "interpellationssvar (statsrådets inledande anförande i interpellationsdebatten)",
            "datum": "2012-11-13",
            "talare": "Statsrådet MARIA LARSSON (KD)",
            "källa": "github.com/swerik-project/riksdagen-records@02b40417849b:data/x.xml",
        }
    )
    assert (meta.kind, meta.date) == ("answer", "2012-11-13")
    assert (meta.authors, meta.parties) == (["Maria Larsson"], ["KD"])
    assert (meta.source, meta.body, meta.municipality) == (RIKSDAG_SOURCE, RIKSDAG_BODY, "")


def test_municipal_front_matter() -> None:
    meta = from_front_matter(
        {
            "Dokumenttyp": "Motion",
            "kommun": "Stockholms stad",
            "nämnd": "Socialnämnden",
            "dnr": 2024,
            "datum": dt.date(2024, 5, 12),
            "författare": ["Anna Ek (S)", "Bo Berg"],
            "parti": "Socialdemokraterna, MP",
            "källa": "Stockholms stads diarium",
            "okänd_nyckel": "ignored in front matter",
        }
    )
    assert meta == DocumentMetadata(
        kind="motion",
        municipality="Stockholm",
        body="socialnämnden",
        dnr="2024",
        date="2024-05-12",
        authors=["Anna Ek", "Bo Berg"],
        parties=["S", "MP"],
        source="Stockholms stads diarium",
    )


def test_english_key_wins_over_swedish() -> None:
    meta = from_front_matter({"titel": "Sv", "title": "En", "datum": "2020-01-01", "date": "2021-02-03"})
    assert (meta.title, meta.date) == ("En", "2021-02-03")


def test_explicit_source_is_kept_verbatim() -> None:
    meta = from_front_matter({"source": "Källa: Sveriges riksdag (SWERIK)", "url": "https://riksdagen.se/x"})
    assert meta.source == "Källa: Sveriges riksdag (SWERIK)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "protokoll"}, "kind 'protokoll' is not one of"),
        ({"datum": "snart"}, "is not a date"),
        ({"parti": "XYZ"}, "unknown party 'XYZ'"),
        ({"titel": ["a", "b"]}, "'titel' must be text"),
    ],
)
def test_front_matter_rejects_meaningless_values(data: dict[str, object], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        from_front_matter(data)


def test_front_matter_dokumenttyp_maps_to_kinds() -> None:
    labels = {
        "interpellationsdebatt (fortsatta anföranden, urval)": "other",
        "Svar på interpellation": "answer",
        "skrivelse": "skrivelse",
        "protokollsutdrag": "other",
    }
    for label, kind in labels.items():
        assert from_front_matter({"dokumenttyp": label}).kind == kind
        assert kind in KINDS


def test_key_vocabulary() -> None:
    documented = """dokumenttyp beteckning titel interpellant parti ställd_till datum_inlämnad talare url
        källa diarienummer dnr kommun nämnd författare datum"""
    for key in documented.split():
        assert key in FRONT_MATTER_KEYS
        assert key in ACCEPTED_KEYS
    assert {"riksmöte", "svar_i_protokoll", "riksdagen_dok_id"} <= IGNORED_FRONT_MATTER_KEYS
    assert len(ACCEPTED_KEYS) == len(set(ACCEPTED_KEYS))
    assert set(FRONT_MATTER_KEYS.values()) <= set(DocumentMetadata.__dataclass_fields__)


def test_merge_later_non_empty_wins() -> None:
    low = DocumentMetadata(title="A", date="2020-01-01", authors=["X"], parties=["S"])
    high = DocumentMetadata(title="B", authors=["Y"])
    merged = merge(low, high)
    assert (merged.title, merged.date, merged.authors, merged.parties) == ("B", "2020-01-01", ["Y"], ["S"])
    assert low.title == "A"  # inputs untouched


def test_resolve_drops_inferred_municipality_for_riksdag_records() -> None:
    extracted = DocumentMetadata(municipality="Uddevalla", body="socialnämnden", title="T")
    national = DocumentMetadata(body=RIKSDAG_BODY, source=RIKSDAG_SOURCE)
    resolved = resolve(extracted, national)
    assert (resolved.municipality, resolved.body) == ("", RIKSDAG_BODY)
    assert resolve(extracted, DocumentMetadata(title="X")).municipality == "Uddevalla"
    declared = DocumentMetadata(body=RIKSDAG_BODY, municipality="Kumla")
    assert resolve(extracted, declared).municipality == "Kumla"


# ---------------------------------------------------------------------------
# Properties

_FRAGMENTS = st.sampled_from(
    [
        "\n",
        "\n\n",
        " ",
        "Interpellation ",
        "Svar på interpellation ",
        "Med detta anser jag interpellationen besvarad",
        "Skrivelse ",
        "Kumla kommun",
        "Stockholms stad",
        "Stockholm den ",
        "31/2 2024",
        "12/5 2026",
        "0/0 0000",
        "29 februari 2023",
        "18 januari 2021",
        "9999-99-99",
        "2024-02-29",
        "Dnr: SN 2024/45",
        "Clara Lindblom (V)",
        "m fl (M)",
        "För Vänsterpartiet i ",
        "Socialnämndens ordförande",
        "Anna Ek",
        "## ",
        "\x00",
        "\x1b",
        "\u2028",
        "(",
        ")",
        "---",
    ]
)
_RECORDISH = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=60).map("".join)


def _assert_sane(meta: DocumentMetadata) -> None:
    if meta.date:
        assert dt.date.fromisoformat(meta.date).isoformat() == meta.date
    assert meta.kind in KINDS
    assert set(meta.parties) <= set(PARTIES)
    assert len(meta.title) <= 201


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), _RECORDISH))
def test_extract_metadata_never_raises(text: str) -> None:
    _assert_sane(extract_metadata(text, filename="x.txt"))


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=10_000, max_value=300_000), st.sampled_from(["a", "Å ", "1/", "\x07", "Anna "]))
def test_extract_metadata_on_huge_lines(size: int, unit: str) -> None:
    _assert_sane(extract_metadata(unit * (size // len(unit)) + "\n\nAnna Ek (S)"))


@given(st.text(max_size=40))
def test_parse_date_returns_valid_iso_or_nothing(text: str) -> None:
    iso = parse_date(text)
    assert iso == "" or len(iso) in (4, 7) or dt.date.fromisoformat(iso).isoformat() == iso
