"""Metadata for council records: what the text itself says, and what its front matter or sidecar declares.

Every citation shows who wrote a record, when, and for which municipality, and the
filters narrow retrieval by the same fields, so a wrong value misleads twice. The
automatic extractor therefore only reads places where Swedish council records put
these facts (the heading, the signature block, a dateline, an explicit "Dnr") and
leaves a field empty rather than guess from the body: "under 2015" or "januari
2024" in a paragraph about statistics is not the date of the document.

Declared metadata (YAML front matter, a ``.meta.json`` sidecar) always wins over
extraction; ``merge`` stacks the layers and ``resolve`` adds the one rule that
needs all of them (a national-parliament record has no municipality).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from assistant.schema import KINDS, PARTIES, DocumentMetadata

RIKSDAG_SOURCE = "Källa: Sveriges riksdag"
RIKSDAG_BODY = "Sveriges riksdag"
TITLE_MAX_CHARS = 200

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DocumentMetadata))

FRONT_MATTER_KEYS: dict[str, str] = {
    # The riksdagen corpus (shared/riksdagen-interpellations, see its SOURCE.md).
    "dokumenttyp": "kind",
    "beteckning": "dnr",
    "titel": "title",
    "interpellant": "authors",
    "parti": "parties",
    "ställd_till": "recipient",
    "datum_inlämnad": "date",
    "talare": "authors",
    "url": "url",
    "källa": "source",
    # Municipal records.
    "typ": "kind",
    "rubrik": "title",
    "diarienummer": "dnr",
    "dnr": "dnr",
    "kommun": "municipality",
    "nämnd": "body",
    "organ": "body",
    "författare": "authors",
    "undertecknare": "authors",
    "partier": "parties",
    "mottagare": "recipient",
    "datum": "date",
    "länk": "url",
}
"""Swedish front-matter keys and the ``DocumentMetadata`` field each fills.

The English field names are accepted as keys too, and win over a Swedish key for
the same field. ``datum`` wins over ``datum_inlämnad`` when both are given."""

IGNORED_FRONT_MATTER_KEYS: frozenset[str] = frozenset(
    {
        # Known riksdagen keys with no field: accepted, deliberately unused.
        "riksmöte",
        "datum_besvarad",  # an interpellation's date is the day it was handed in
        "status",
        "svar_i_protokoll",
        "svar_avsnitt",
        "svar_fil",
        "riksdagen_dok_id",
        "urvalspoäng",
        "anförande",
        "protokoll",
        "svarar_på",
        "hör_till",
        "anmärkning",
    }
)

ACCEPTED_KEYS: tuple[str, ...] = tuple(dict.fromkeys(FIELD_NAMES + tuple(FRONT_MATTER_KEYS)))
"""The keys that set a field, as listed to someone whose sidecar has a typo. The ignored
riksdagen keys are accepted too, silently, so front matter can be copied into a sidecar."""

PARTY_NAMES: dict[str, str] = {
    "vänsterpartiet": "V",
    "socialdemokraterna": "S",
    "arbetarepartiet-socialdemokraterna": "S",
    "sveriges socialdemokratiska arbetareparti": "S",
    "miljöpartiet": "MP",
    "miljöpartiet de gröna": "MP",
    "centerpartiet": "C",
    "liberalerna": "L",
    "folkpartiet": "L",
    "folkpartiet liberalerna": "L",
    "kristdemokraterna": "KD",
    "moderaterna": "M",
    "moderata samlingspartiet": "M",
    "sverigedemokraterna": "SD",
}
"""Full party names as signatures spell them. Folkpartiet (FP) became Liberalerna in 2015."""

_PARTY_CODE_ALIASES = {"FP": "L"}

_MUNICIPALITY_NAMES = """
    Ale | Alingsås | Alvesta | Aneby | Arboga | Arjeplog | Arvidsjaur | Arvika | Askersund | Avesta |
    Bengtsfors | Berg | Bjurholm | Bjuv | Boden | Bollebygd | Bollnäs | Borgholm | Borlänge | Borås |
    Botkyrka | Boxholm | Bromölla | Bräcke | Burlöv | Båstad | Dals-Ed | Danderyd | Degerfors | Dorotea
    | Eda | Ekerö | Eksjö | Emmaboda | Enköping | Eskilstuna | Eslöv | Essunga | Fagersta | Falkenberg |
    Falköping | Falun | Filipstad | Finspång | Flen | Forshaga | Färgelanda | Gagnef | Gislaved | Gnesta
    | Gnosjö | Gotland | Grums | Grästorp | Gullspång | Gällivare | Gävle | Göteborg | Götene | Habo |
    Hagfors | Hallsberg | Hallstahammar | Halmstad | Hammarö | Haninge | Haparanda | Heby | Hedemora |
    Helsingborg | Herrljunga | Hjo | Hofors | Huddinge | Hudiksvall | Hultsfred | Hylte | Hällefors |
    Härjedalen | Härnösand | Härryda | Hässleholm | Håbo | Höganäs | Högsby | Hörby | Höör | Jokkmokk |
    Järfälla | Jönköping | Kalix | Kalmar | Karlsborg | Karlshamn | Karlskoga | Karlskrona | Karlstad |
    Katrineholm | Kil | Kinda | Kiruna | Klippan | Knivsta | Kramfors | Kristianstad | Kristinehamn |
    Krokom | Kumla | Kungsbacka | Kungsör | Kungälv | Kävlinge | Köping | Laholm | Landskrona | Laxå |
    Lekeberg | Leksand | Lerum | Lessebo | Lidingö | Lidköping | Lilla Edet | Lindesberg | Linköping |
    Ljungby | Ljusdal | Ljusnarsberg | Lomma | Ludvika | Luleå | Lund | Lycksele | Lysekil | Malmö |
    Malung-Sälen | Malå | Mariestad | Mark | Markaryd | Mellerud | Mjölby | Mora | Motala | Mullsjö |
    Munkedal | Munkfors | Mölndal | Mönsterås | Mörbylånga | Nacka | Nora | Norberg | Nordanstig |
    Nordmaling | Norrköping | Norrtälje | Norsjö | Nybro | Nykvarn | Nyköping | Nynäshamn | Nässjö |
    Ockelbo | Olofström | Orsa | Orust | Osby | Oskarshamn | Ovanåker | Oxelösund | Pajala | Partille |
    Perstorp | Piteå | Ragunda | Robertsfors | Ronneby | Rättvik | Sala | Salem | Sandviken | Sigtuna |
    Simrishamn | Sjöbo | Skara | Skellefteå | Skinnskatteberg | Skurup | Skövde | Smedjebacken |
    Sollefteå | Sollentuna | Solna | Sorsele | Sotenäs | Staffanstorp | Stenungsund | Stockholm |
    Storfors | Storuman | Strängnäs | Strömstad | Strömsund | Sundbyberg | Sundsvall | Sunne |
    Surahammar | Svalöv | Svedala | Svenljunga | Säffle | Säter | Sävsjö | Söderhamn | Söderköping |
    Södertälje | Sölvesborg | Tanum | Tibro | Tidaholm | Tierp | Timrå | Tingsryd | Tjörn | Tomelilla |
    Torsby | Torsås | Tranemo | Tranås | Trelleborg | Trollhättan | Trosa | Tyresö | Täby | Töreboda |
    Uddevalla | Ulricehamn | Umeå | Upplands Väsby | Upplands-Bro | Uppsala | Uppvidinge | Vadstena |
    Vaggeryd | Valdemarsvik | Vallentuna | Vansbro | Vara | Varberg | Vaxholm | Vellinge | Vetlanda |
    Vilhelmina | Vimmerby | Vindeln | Vingåker | Vänersborg | Vännäs | Värmdö | Värnamo | Västervik |
    Västerås | Växjö | Vårgårda | Ydre | Ystad | Älmhult | Älvdalen | Älvkarleby | Älvsbyn | Ängelholm |
    Åmål | Ånge | Åre | Årjäng | Åsele | Åstorp | Åtvidaberg | Öckerö | Ödeshög | Örebro | Örkelljunga |
    Örnsköldsvik | Östersund | Österåker | Östhammar | Östra Göinge | Överkalix | Övertorneå
"""

MUNICIPALITIES: frozenset[str] = frozenset(n.strip() for n in _MUNICIPALITY_NAMES.split("|"))
"""Sweden's 290 municipalities (SCB). A place name only becomes a municipality if it is one of these,
which is what keeps "Denna kommun" or "Sveriges kommuner" out of the field."""

_MUNICIPALITY_BY_KEY = {name.casefold(): name for name in MUNICIPALITIES}


class MetadataError(ValueError):
    """A declared value that cannot be used; the caller adds which file it came from."""


# ---------------------------------------------------------------------------
# Layers


def merge(*layers: DocumentMetadata) -> DocumentMetadata:
    """Stack metadata layers: for each field the last layer that says something wins.

    An empty value never overrides, so a sidecar that only fixes the date keeps
    everything else from the front matter and the text.
    """
    result = DocumentMetadata()
    for layer in layers:
        for name in FIELD_NAMES:
            value = getattr(layer, name)
            if value:
                setattr(result, name, list(value) if isinstance(value, list) else value)
    return result


def resolve(extracted: DocumentMetadata, *declared: DocumentMetadata) -> DocumentMetadata:
    """Combine automatic extraction with declared layers (front matter, then sidecar).

    A record the declared metadata attributes to Sveriges riksdag is national: a
    municipality that happens to be named in its heading is not where it was
    decided, so the extracted municipality and body are dropped (a declared
    municipality still counts).
    """
    stated = merge(*declared)
    if stated.body == RIKSDAG_BODY:
        extracted = replace(extracted, municipality="", body="")
    return merge(extracted, stated)


# ---------------------------------------------------------------------------
# Declared metadata


def from_front_matter(data: dict[str, Any]) -> DocumentMetadata:
    """Map front matter or sidecar keys onto the shared fields.

    Keys the map does not know are ignored here (front matter often carries
    bookkeeping of its own); the sidecar reader rejects them instead. Raises
    ``MetadataError`` for a value that cannot mean anything, such as an unknown
    party or an impossible date, because a silently dropped value is a filter that
    quietly misses the record.
    """
    if not isinstance(data, dict):
        raise MetadataError(f"expected key: value pairs, got {type(data).__name__}")
    grouped: dict[str, list[tuple[str, Any]]] = {}
    for raw_key, value in data.items():
        key = normalize_key(raw_key)
        field_name = key if key in FIELD_NAMES else FRONT_MATTER_KEYS.get(key)
        if field_name is not None and not _is_blank(value):
            grouped.setdefault(field_name, []).append((key, value))
    meta = DocumentMetadata()
    for field_name, items in grouped.items():
        items.sort(key=lambda item: _key_rank(item[0], field_name))
        _FIELD_READERS[field_name](meta, items)
    if _mentions_riksdag(meta.source) or (not meta.source and _mentions_riksdag(meta.url)):
        meta.source = meta.source if _is_explicit_source(grouped) else RIKSDAG_SOURCE
        meta.body = meta.body or RIKSDAG_BODY
    return meta


def normalize_key(key: object) -> str:
    """Front matter keys are written by hand: ``Ställd till`` and ``ställd-till`` mean ``ställd_till``."""
    text = unicodedata.normalize("NFC", str(key)).strip().casefold()
    return re.sub(r"[\s-]+", "_", text)


def _key_rank(key: str, field_name: str) -> int:
    if key == field_name:
        return 0
    order = list(FRONT_MATTER_KEYS)
    return 1 + (order.index(key) if key in order else len(order))


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and not value)


def _is_explicit_source(grouped: dict[str, list[tuple[str, Any]]]) -> bool:
    """An English ``source`` key is the attribution itself; ``källa`` is a provenance note to translate."""
    return any(key == "source" for key, _ in grouped.get("source", []))


def _mentions_riksdag(text: str) -> bool:
    return "riksdag" in text.casefold()


def _text_value(key: str, value: Any) -> str:
    if isinstance(value, (bool, dict, list, tuple)):
        raise MetadataError(f"'{key}' must be text, got {type(value).__name__}")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


_Reader = Callable[[DocumentMetadata, list[tuple[str, Any]]], None]


def _read_text(field_name: str) -> _Reader:
    def reader(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
        key, value = items[0]
        setattr(meta, field_name, _text_value(key, value))

    return reader


def _read_title(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    meta.title = clip_title(_text_value(key, value))


def _read_kind(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    text = _text_value(key, value).casefold()
    if key == "kind":
        if text not in KINDS:
            raise MetadataError(f"kind '{text}' is not one of {', '.join(KINDS)}")
        meta.kind = text
    else:
        meta.kind = kind_from_label(text)


def _read_municipality(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    text = _text_value(key, value)
    meta.municipality = _municipality_from_phrase(text) or text


def _read_body(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    text = _text_value(key, value)
    meta.body = canonical_body(text) or text


def _read_date(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    if isinstance(value, (dt.date, dt.datetime)):
        meta.date = value.isoformat()[:10]
        return
    text = _text_value(key, value)
    iso = parse_date(text)
    if not iso:
        raise MetadataError(f"'{key}: {text}' is not a date; write it as YYYY-MM-DD (or YYYY-MM, YYYY)")
    meta.date = iso


def _read_authors(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    for key, value in items:
        for entry in _as_list(key, value):
            name, party = parse_person(entry)
            if name:
                _append_unique(meta.authors, name)
            if party:
                _append_unique(meta.parties, party)


def _read_parties(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    for key, value in items:
        for entry in _as_list(key, value):
            for code in parse_parties(entry, strict=True):
                _append_unique(meta.parties, code)


def _read_source(meta: DocumentMetadata, items: list[tuple[str, Any]]) -> None:
    key, value = items[0]
    meta.source = _text_value(key, value)


def _as_list(key: str, value: Any) -> list[str]:
    """Accept both ``authors: [A, B]`` and ``authors: A``."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return [_text_value(key, v) for v in values if not _is_blank(v)]


def _append_unique(target: list[str], value: str) -> None:
    if value not in target:
        target.append(value)


_FIELD_READERS: dict[str, _Reader] = {
    "title": _read_title,
    "kind": _read_kind,
    "municipality": _read_municipality,
    "body": _read_body,
    "dnr": _read_text("dnr"),
    "date": _read_date,
    "authors": _read_authors,
    "parties": _read_parties,
    "recipient": _read_text("recipient"),
    "source": _read_source,
    "url": _read_text("url"),
}


def kind_from_label(label: str) -> str:
    """A free-text document type such as ``interpellationssvar (statsrådets ...)`` -> one of ``KINDS``.

    A label that names none of them is ``other`` (e.g. ``interpellationsdebatt``:
    later speeches by both sides are neither the question nor the answer).
    """
    head = label.casefold().strip()
    for prefix, kind in (
        ("interpellationssvar", "answer"),
        ("svar", "answer"),
        ("answer", "answer"),
        ("interpellationsdebatt", "other"),
        ("interpellation", "interpellation"),
        ("motion", "motion"),
        ("skrivelse", "skrivelse"),
        ("skriftlig fråga", "skrivelse"),
    ):
        if head.startswith(prefix):
            return kind
    return "other"


def parse_person(text: str) -> tuple[str, str]:
    """``Statsrådet MARIA LARSSON (KD)`` and ``Maria Larsson (kd), statsråd`` -> (``Maria Larsson``, ``KD``).

    Riksdagen protocols print speakers in capitals; citations should not shout.
    """
    text = " ".join(text.split())
    party = ""
    paren = re.search(r"\(([^()]*)\)", text)
    if paren:
        party = party_code(paren.group(1))
        text = text[: paren.start()]
    text = re.split(r",", text, maxsplit=1)[0]
    text = re.sub(r"\s+m\.?\s?fl\.?\s*$", "", text.strip(), flags=re.IGNORECASE)
    words = text.split()
    while words and _is_role_word(words[0]) and len(words) > 1:
        words = words[1:]
    name = " ".join(words).strip(" .:;")
    letters = [c for c in name if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(name.split()) > 1:
        name = name.title()
    return name, party


_ROLE_SUFFIXES = (
    "rådet",
    "råd",
    "minister",
    "ministern",
    "ordförande",
    "ordföranden",
    "talman",
    "talmannen",
)
_ROLE_WORDS = {"herr", "fru", "statsråd", "statsrådet", "vice", "biträdande"}


def _is_role_word(word: str) -> bool:
    folded = word.casefold().strip(",.:")
    return folded in _ROLE_WORDS or folded.endswith(_ROLE_SUFFIXES) or word[:1].islower()


_CASE_NUMBER = re.compile(r"\b(?:19|20)\d\d/(?:\d\d|\d{4}):\d+\b")


def case_number(meta: DocumentMetadata) -> str:
    """The number that an interpellation, its answer and its debate share, or "".

    Riksdag records number the matter ("Interpellation 2015/16:564") in the
    interpellation's reference and in the answer's title ("Svar på
    interpellation 2015/16:564 om ..."); a municipality's records of one matter
    share their diarienummer. Either way, records with one number are one matter.
    """
    found = _CASE_NUMBER.search(meta.dnr) or _CASE_NUMBER.search(meta.title)
    if found:
        return found.group(0)
    return " ".join(meta.dnr.casefold().split())


def party_code(text: str) -> str:
    """A party code or full party name -> its code in ``PARTIES``; "" when it is not one."""
    folded = " ".join(text.split()).casefold().strip(" .")
    if folded in PARTY_NAMES:
        return PARTY_NAMES[folded]
    upper = folded.upper()
    upper = _PARTY_CODE_ALIASES.get(upper, upper)
    return upper if upper in PARTIES else ""


def parse_parties(text: str, *, strict: bool = False) -> list[str]:
    """``V``, ``V, S``, ``Vänsterpartiet och Miljöpartiet`` -> codes; ``-`` (independent) -> none.

    With ``strict`` an unknown party raises, naming the accepted codes.
    """
    codes: list[str] = []
    for part in re.split(r"\s*(?:[,;/&+]|\boch\b)\s*", text.strip()):
        part = part.strip(" ()")
        if not part or part in {"-", "–", "—"}:
            continue
        code = party_code(part)
        tokens = [party_code(t) for t in part.split()] if not code else [code]
        if not all(tokens):
            if strict:
                raise MetadataError(
                    f"unknown party '{part}'; use one of {', '.join(PARTIES)} or a full party name"
                )
            continue
        for token in tokens:
            _append_unique(codes, token)
    return codes


# ---------------------------------------------------------------------------
# Dates

_MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "february": 2,
    "mars": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "maj": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "augusti": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_ALTERNATION = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_SLASH_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})/(\d{1,2})(?:\s+|\s*[-/]\s*)(\d{4})(?![\d/])")
_WORD_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?::[ae])?\s+({_MONTH_ALTERNATION})\.?,?\s+(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_DATELINE = re.compile(
    rf"^(?:[^\W\d_][\w-]*,?\s+)?(?:den\s+)?"
    rf"(?:\d{{1,2}}(?::[ae])?\s+(?:{_MONTH_ALTERNATION})\.?(?:\s+\d{{4}})?|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}(?:\s+\d{{4}})?)\s*$",
    re.IGNORECASE,
)


def is_dateline(text: str) -> bool:
    """A line that only dates (and places) a record: "den 20 november", "Stockholm den 18 januari 2021"."""
    return bool(_DATELINE.match(text.strip()))


_PARTIAL_ISO = re.compile(r"\s*(\d{4})(?:-(\d{1,2}))?\s*")


def _iso(year: str, month: str | int, day: str | int) -> str:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def find_dates(text: str) -> list[tuple[int, str]]:
    """Every full, real date in ``text`` as (position, ISO), in order of position.

    Swedish order throughout: ``12/5 2026`` is the 12th of May. Impossible dates
    (``31/2 2024``) are not dates.
    """
    found: list[tuple[int, str]] = []
    for match in _ISO_DATE.finditer(text):
        found.append((match.start(), _iso(*match.groups())))
    for match in _SLASH_DATE.finditer(text):
        day, month, year = match.groups()
        found.append((match.start(), _iso(year, month, day)))
    for match in _WORD_DATE.finditer(text):
        day, month, year = match.groups()
        found.append((match.start(), _iso(year, _MONTHS[month.casefold()], day)))
    return sorted((pos, iso) for pos, iso in found if iso)


def parse_date(text: str) -> str:
    """A declared date -> ISO; accepts the text forms plus ``YYYY-MM`` and ``YYYY``. "" if it is none."""
    dates = find_dates(text)
    if dates:
        return dates[0][1]
    partial = _PARTIAL_ISO.fullmatch(text)
    if partial:
        year, month = partial.groups()
        if month is None:
            return year if 1000 <= int(year) <= 9999 else ""
        if 1 <= int(month) <= 12:
            return f"{year}-{int(month):02d}"
    return ""


# ---------------------------------------------------------------------------
# Names, bodies, municipalities

_NAME_WORD = r"[A-ZÅÄÖÉÜØÆ][a-zåäöéüèáíóúøæß'’]+(?:-[A-ZÅÄÖÉÜa-zåäö][a-zåäöéüèáíóúøæß'’]+)?"
_PARTICLE = r"(?:von|af|de|van|der|den|la|le|du|da|di|al|el|bin)"
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{1,4}}"
_PARTY_IN_PARENS = r"\(\s*((?i:fp|mp|kd|sd|v|s|c|l|m))\s*\)"
_PERSON_WITH_PARTY = re.compile(rf"({_NAME})(?:\s+m\.?\s?fl\.?)?\s*{_PARTY_IN_PARENS}")
_NAME_LINE = re.compile(_NAME)
_BY_PEOPLE_RE = re.compile(
    rf"\bav\s+((?:{_PERSON_WITH_PARTY.pattern})(?:\s*(?:,|och)\s*(?:{_PERSON_WITH_PARTY.pattern}))*)"
)
_NOT_NAME_WORDS = {"för", "med", "och", "kommun", "stad", "staden", "region", "herr", "fru", "bilaga"}
_NOT_NAME_SUFFIXES = ("partiet", "nämnden", "nämnd", "styrelsen", "förvaltningen", "fullmäktige", "kommun")

_ORG = (
    r"(?:(?:[a-zåäöé]+-(?:,\s*[a-zåäöé]+-)*\s+och\s+)?[a-zåäöé]{3,}-?nämnd(?:en|ens|er|erna|ernas|s)?"
    r"|(?:kommun|region)styrelsen?s?|(?:kommun|region)fullmäktiges?)"
)
_ORG_RE = re.compile(rf"\b({_ORG})\b", re.IGNORECASE)
_ROLE_ORG_RE = re.compile(
    rf"\b({_ORG})\s+(?:vice\s+|förste\s+vice\s+|andre\s+vice\s+)?ordförande\b", re.IGNORECASE
)
_CHAIR_OF_RE = re.compile(rf"\bordförande\s+i\s+({_ORG})\b", re.IGNORECASE)
_TO_ORG_RE = re.compile(rf"\btill\s+(?:stadens\s+|kommunens\s+)?({_ORG})\b", re.IGNORECASE)
_LAID_IN_ORG_RE = re.compile(
    rf"\b(?:skrivelse|interpellation|motion)\w*\s+(?:i|till)\s+(?:stadens\s+|kommunens\s+)?({_ORG})\b",
    re.IGNORECASE,
)
_ROLE_TITLE_RE = re.compile(
    rf"^(?:(?:vice\s+)?ordförande\b|{_ORG}\s+(?:vice\s+)?ordförande\b|\w*(?:kommunalråd|borgarråd|oppositionsråd)\w*\b)",
    re.IGNORECASE,
)


def canonical_body(text: str) -> str:
    """``Socialnämndens`` / ``socialnämnd`` -> ``socialnämnden``; "" when ``text`` is not a council body.

    One spelling per body lets a filter on ``socialnämnden`` find every record
    addressed to it, whatever inflection the text used.
    """
    match = _ORG_RE.fullmatch(" ".join(text.split()))
    if not match:
        return ""
    word = match.group(1).casefold()
    for ending, replacement in (
        ("nämndernas", "nämnderna"),
        ("nämnderna", "nämnderna"),
        ("nämnder", "nämnderna"),
        ("nämndens", "nämnden"),
        ("nämnden", "nämnden"),
        ("nämnds", "nämnden"),
        ("nämnd", "nämnden"),
        ("styrelsens", "styrelsen"),
        ("styrelsen", "styrelsen"),
        ("styrelses", "styrelsen"),
        ("styrelse", "styrelsen"),
        ("fullmäktiges", "fullmäktige"),
    ):
        if word.endswith(ending):
            return word[: -len(ending)] + replacement
    return word


def _municipality(name: str) -> str:
    """A place name as written -> the municipality, undoing the genitive of ``Stockholms stad``."""
    name = " ".join(name.split())
    exact = _MUNICIPALITY_BY_KEY.get(name.casefold())
    if exact:
        return exact
    if name.endswith("s"):
        return _MUNICIPALITY_BY_KEY.get(name[:-1].casefold(), "")
    return ""


_PLACE = r"(?-i:[A-ZÅÄÖ][\wåäö]+(?:[ -][A-ZÅÄÖ][\wåäö]+)?)"
_PLACE_INSTITUTION_RE = re.compile(
    rf"(?<![\wåäö])(?:({_PLACE})\s+(?:kommun|stad)|Region\s+(Gotland))(?![\wåäö])"
)
_PARTY_NAME_ALTERNATION = "|".join(sorted(map(re.escape, PARTY_NAMES), key=len, reverse=True))
_PARTY_IN_PLACE_RE = re.compile(
    rf"(?:\b(?:{_PARTY_NAME_ALTERNATION})|\((?:V|S|MP|C|L|KD|M|SD)\))\s+i\s+({_PLACE})(?![\wåäö])",
    re.IGNORECASE,
)
_DATELINE_PLACE_RE = re.compile(
    rf"^({_PLACE}),?\s+(?:den\s+)?(?=\d{{1,2}}(?:/|\s+(?:{_MONTH_ALTERNATION})\b)|\d{{4}}-\d)",
    re.IGNORECASE,
)


_PLACE_RE = re.compile(rf"(?<![\wåäö]){_PLACE}")


def names_municipality(text: str) -> bool:
    """Whether ``text`` names one of Sweden's municipalities ("Sundbyberg", "Stockholms stad")."""
    for match in _PLACE_RE.finditer(text):
        if _municipality(match.group(0)) or any(_municipality(word) for word in match.group(0).split()):
            return True
    return False


def _municipality_from_phrase(text: str) -> str:
    """``Kumla kommun`` / ``Stockholms stad`` / ``Kumla`` -> the municipality name, or ""."""
    match = _PLACE_INSTITUTION_RE.fullmatch(" ".join(text.split()))
    if match:
        return _municipality_candidates(match.group(1) or match.group(2))
    return _municipality(text)


def _municipality_candidates(place: str, *, before_keyword: bool = True) -> str:
    """The municipality in a run of capitalized words, trying ``Upplands Väsby`` before one word.

    Before "kommun"/"stad" the name is at the end ("Skrivelse Kumla kommun"); at the start of a
    dateline it is at the start, and "Anna Berg 2024-01-01" must not become Berg.
    """
    words = place.split()
    phrases = [" ".join(words[i:]) for i in range(len(words))] if before_keyword else [place, words[0]]
    return next((found for found in map(_municipality, phrases) if found), "")


# ---------------------------------------------------------------------------
# Layout: where a record states its facts


@dataclass
class _Layout:
    paragraphs: list[list[str]]  # non-empty stripped lines, grouped by blank-line paragraphs
    head: list[str]  # lines of the leading short paragraphs (title block, letterhead)
    closing: list[str]  # lines of the trailing short paragraphs (signature block, dateline)
    heading: str  # the title line, hard-wrapped continuation lines joined


_BARE_LABEL_RE = re.compile(
    rf"(?i:interpellation|motion|skrivelse|svar)\s+\S+|[\d\s:/.-]+"
    rf"|(?i:den\s+)?\d{{1,2}}\s+(?i:{_MONTH_ALTERNATION})\.?(?:\s+\d{{4}})?"
)
"""Lines above the real heading that name nothing: "Interpellation 2021:x", "den 3 mars"."""


_SHORT_PARAGRAPH = 300
_BLOCK_PARAGRAPHS = 3
_SIGNATURE_LINE = 120


def _layout(text: str) -> _Layout:
    paragraphs = []
    for block in re.split(r"\n[ \t\f\v]*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(lines)
    head = _short_block(paragraphs)
    closing = _short_block(paragraphs[::-1], reverse=True)
    if not closing and paragraphs:
        closing = _trailing_short_lines(paragraphs[-1])
    return _Layout(paragraphs, head, closing, _heading(paragraphs))


def _heading(paragraphs: list[list[str]]) -> str:
    candidates = [_paragraph_title(lines) for lines in paragraphs[:3]]
    candidates = [c for c in candidates if c]
    while len(candidates) > 1 and _BARE_LABEL_RE.fullmatch(candidates[0]):
        candidates = candidates[1:]
    return candidates[0] if candidates else ""


def _short_block(paragraphs: list[list[str]], *, reverse: bool = False) -> list[str]:
    """The leading (or trailing) paragraphs that are short enough to be a heading or signature."""
    block: list[list[str]] = []
    for lines in paragraphs[:_BLOCK_PARAGRAPHS]:
        if sum(len(line) for line in lines) > _SHORT_PARAGRAPH:
            break
        block.append(lines)
    if reverse:
        block.reverse()
    return [line for lines in block for line in lines]


def _trailing_short_lines(lines: list[str]) -> list[str]:
    """A signature typed without a blank line before it: the short lines at the very end."""
    tail: list[str] = []
    for line in reversed(lines[-4:]):
        if len(line) > 80:
            break
        tail.insert(0, line)
    return tail


# ---------------------------------------------------------------------------
# Automatic extraction


def extract_metadata(text: str, *, filename: str = "", html_title: str = "") -> DocumentMetadata:
    """Read what the record itself states; every field it does not clearly state stays empty."""
    layout = _layout(text)
    kind = _kind(text, layout)
    authors, parties, signature_bodies = _signatures(layout)
    return DocumentMetadata(
        title=_title(layout, html_title, filename),
        kind=kind,
        municipality=_find_municipality(layout),
        body=_find_body(text, layout, signature_bodies),
        dnr=_find_dnr(text),
        date=_find_date(layout),
        authors=authors,
        parties=parties,
        recipient=_find_recipient(text, layout) if kind in ("interpellation", "skrivelse", "motion") else "",
    )


def clip_title(title: str) -> str:
    """Titles are shown in every citation: keep them to a line, cutting at a word boundary."""
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX_CHARS:
        return title
    cut = title[:TITLE_MAX_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > TITLE_MAX_CHARS // 2 else cut).rstrip(" ,;:-–") + "…"


def _title(layout: _Layout, html_title: str, filename: str) -> str:
    if html_title.strip():
        return clip_title(html_title)
    if layout.heading:
        return clip_title(layout.heading)
    stem = filename.rsplit("/", 1)[-1].split(".", 1)[0]
    return clip_title(re.sub(r"[-_]+", " ", stem))


def _paragraph_title(lines: list[str]) -> str:
    """The first line, plus the lines a hard-wrapped heading continues on (they start in lower case)."""
    parts = [lines[0][:1000].lstrip("#").strip().strip("*_").strip()]
    for line in lines[1:4]:
        if re.search(r"[.!?:]$", parts[-1]) or not line[:1].islower():
            break
        parts.append(line[:1000])
    return " ".join(" ".join(parts).split())


_ANSWER_CLOSING_RE = re.compile(r"med detta anser jag interpellationen (?:vara )?besvarad", re.IGNORECASE)
_HEAD_KIND_PATTERNS = (
    (
        "answer",
        re.compile(r"\bsvar(?:et)?\s+(?:på\s+)?interpellation|\binterpellationssvar\b", re.IGNORECASE),
    ),
    ("answer", re.compile(r"\bhar\s+frågat\s+(?:mig|statsrådet|ministern)\b", re.IGNORECASE)),
    ("interpellation", re.compile(r"\binterpellation\b", re.IGNORECASE)),
    ("motion", re.compile(r"\bmotion\b", re.IGNORECASE)),
    ("skrivelse", re.compile(r"\bskrivelse\b", re.IGNORECASE)),
)
_BODY_KIND_PATTERNS = (
    ("skrivelse", re.compile(r"\b(?:denna|vår|följande)\s+skrivelse\b|\bskrivelse\s+i\s+stadens\b", re.I)),
    ("motion", re.compile(r"\b(?:denna|vår|min|följande)\s+motion\b|\bmotionen\b.{0,40}\byrka", re.I)),
)
_HEAD_CHARS = 300


def _kind(text: str, layout: _Layout) -> str:
    """The heading names the kind; the earliest match wins so "Skrivelse ... svar på ..." stays a skrivelse.

    The answer's closing formula overrides the heading: answers often repeat the
    interpellation's own title as theirs.
    """
    if _ANSWER_CLOSING_RE.search("\n".join(layout.closing)) or _ANSWER_CLOSING_RE.search(text[-2000:]):
        return "answer"
    head = " ".join(text.lstrip()[:_HEAD_CHARS].split())
    hits = [(m.start(), kind) for kind, pattern in _HEAD_KIND_PATTERNS if (m := pattern.search(head))]
    if hits:
        return min(hits)[1]
    for kind, pattern in _BODY_KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return "other"


def _find_municipality(layout: _Layout) -> str:
    """Only the places a record names its own municipality: dateline, party signature, heading, letterhead."""
    for line in reversed(layout.closing):
        for pattern in (_DATELINE_PLACE_RE, _PARTY_IN_PLACE_RE):
            match = pattern.search(line)
            if match:
                found = _municipality_candidates(match.group(1), before_keyword=False)
                if found:
                    return found
    for line in layout.head + layout.closing:
        for match in _PLACE_INSTITUTION_RE.finditer(line):
            found = _municipality_candidates(match.group(1) or match.group(2))
            if found:
                return found
    return ""


def _find_body(text: str, layout: _Layout, signature_bodies: list[str]) -> str:
    """The body the record is addressed to ("till socialnämndens ordförande") or answered by."""
    head = " ".join(layout.head)
    for pattern in (_TO_ORG_RE, _ROLE_ORG_RE, _CHAIR_OF_RE):
        match = pattern.search(head)
        if match:
            return canonical_body(match.group(1))
    if signature_bodies:
        return signature_bodies[0]
    match = _LAID_IN_ORG_RE.search(text)
    return canonical_body(match.group(1)) if match else ""


_DNR_RE = re.compile(
    r"(?i:\b(?:dnr|diarienr|diarie-nr|diarienummer))\.?\s*(?::|är)?\s*"
    r"((?:[A-ZÅÄÖ]{1,6}[ -]?)?\d{1,4}(?:\s?[./:-]\s?\d{1,6})+)"
)


def _find_dnr(text: str) -> str:
    match = _DNR_RE.search(text)
    return " ".join(match.group(1).split()) if match else ""


def _find_date(layout: _Layout) -> str:
    """The date in the signature block (nearest the end) or else the heading; never one from the body."""
    for line in reversed(layout.closing):
        if len(line) <= _SIGNATURE_LINE:
            dates = find_dates(line)
            if dates:
                return dates[-1][1]
    for line in layout.head:
        dates = find_dates(line)
        if dates:
            return dates[0][1]
    return ""


_RECIPIENT_END = (
    r"(?=\s+(?:om|rörande|angående|gällande|avseende|kring|med\s+anledning\s+av)\b|\s*[.:?!]|\s*$)"
)
_RECIPIENT_PATTERNS = (
    re.compile(rf"\bav\s+{_NAME}(?:\s*\([^)]{{1,20}}\))?\s+till\s+(.{{3,80}}?){_RECIPIENT_END}"),
    re.compile(rf"\b(?i:interpellation|skrivelse|motion|fråga)\s+till\s+(.{{3,80}}?){_RECIPIENT_END}"),
)
_QUESTIONS_TO_RE = re.compile(r"\bfrågo?r?(?:na)?\s+till\s+([^:.?!\n]{3,60}?)\s*:", re.IGNORECASE)


def _find_recipient(text: str, layout: _Layout) -> str:
    head = layout.heading[:600]
    for pattern in _RECIPIENT_PATTERNS:
        match = pattern.search(head)
        if match:
            return match.group(1).strip()
    match = _QUESTIONS_TO_RE.search(" ".join(text[-20000:].split()))
    return match.group(1).strip() if match else ""


# ---------------------------------------------------------------------------
# Signatures


@dataclass
class _Signatures:
    authors: list[str]
    parties: list[str]
    bodies: list[str]

    def add_person(self, name: str, party: str = "") -> None:
        name, _ = parse_person(name)
        if name:
            _append_unique(self.authors, name)
        if party:
            _append_unique(self.parties, party)


def _signatures(layout: _Layout) -> tuple[list[str], list[str], list[str]]:
    """Authors and parties from the heading's "av NAME (P)" and from the signature block."""
    found = _Signatures([], [], [])
    for match in _BY_PEOPLE_RE.finditer(layout.heading[:600]):
        for person in _PERSON_WITH_PARTY.finditer(match.group(1)):
            found.add_person(person.group(1), party_code(person.group(2)))
    lines = [line for line in layout.closing if len(line) <= _SIGNATURE_LINE]
    last_line = layout.paragraphs[-1][-1] if layout.paragraphs else ""
    _read_signature_block(lines, found, ends_record=bool(lines) and lines[-1] == last_line)
    return found.authors, found.parties, found.bodies


def _read_signature_block(lines: list[str], found: _Signatures, *, ends_record: bool) -> None:
    """Walk the closing lines for signatures.

    A bare name (no party, no role) is only taken where a signature stands: after a
    dateline, party line or closing formula, right above a role or party line, or
    as the very last line of the record.
    """
    opened = signed = False
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        role = _role_line(line)
        if signed and role not in ("", "-"):
            _append_unique(found.bodies, role)  # "Anna Ek (S)" then "Socialnämndens ordförande"
        signed = _people_line(line, found)
        if signed:
            continue
        party = _party_line(line)
        if party:
            _append_unique(found.parties, party)
            opened = True
            continue
        if _name_with_role(line, found):
            continue
        is_last = ends_record and index == len(lines) - 1
        if _is_name(line) and (opened or is_last or _role_line(following) or _party_line(following)):
            found.add_person(line, _party_line(following) or _party_in_parens(following))
            role = _role_line(following)
            if role and role != "-":
                _append_unique(found.bodies, role)
            continue
        if _opens_signature(line):
            opened = True


def _people_line(line: str, found: _Signatures) -> bool:
    """``Clara Lindblom (V)``, ``Lars Jilmstad m fl (M)``, ``A B (S), C D (M)``: a line of nothing else."""
    matches = list(_PERSON_WITH_PARTY.finditer(line))
    if not matches:
        return False
    rest = _PERSON_WITH_PARTY.sub(" ", line)
    if not re.fullmatch(r"[\s,;&]*(?:och[\s,;&]*)*", rest):
        return False
    for match in matches:
        found.add_person(match.group(1), party_code(match.group(2)))
    return True


_PARTY_LINE_RE = re.compile(rf"^(?:för\s+)?({_PARTY_NAME_ALTERNATION})\b", re.IGNORECASE)


def _party_line(line: str) -> str:
    """``För Vänsterpartiet i Kumla 12/5 2026`` or ``Vänsterpartiet`` -> ``V``."""
    if len(line) > 80:
        return ""
    match = _PARTY_LINE_RE.match(line)
    return PARTY_NAMES[match.group(1).casefold()] if match else ""


def _party_in_parens(line: str) -> str:
    """``Kommunalråd (C)`` -> ``C``."""
    match = re.search(_PARTY_IN_PARENS, line)
    return party_code(match.group(1)) if match else ""


def _role_line(line: str) -> str:
    """``Socialnämndens ordförande`` / ``Ordförande i socialnämnden`` -> the body, or "-" for a role
    without one (``Kommunalråd``); "" when the line is not a role."""
    if not line or not _ROLE_TITLE_RE.match(line):
        return ""
    for pattern in (_ROLE_ORG_RE, _CHAIR_OF_RE):
        match = pattern.search(line)
        if match:
            return canonical_body(match.group(1))
    return "-"


def _name_with_role(line: str, found: _Signatures) -> bool:
    """``Bodil Wennerbrandt Sevastik Socialnämndens ordförande`` -> author and body."""
    words = line.split()
    for index in range(2, min(len(words), 6)):
        role = _role_line(" ".join(words[index:]))
        name = " ".join(words[:index]).rstrip(",")
        if role and _is_name(name):
            found.add_person(name)
            if role != "-":
                _append_unique(found.bodies, role)
            return True
    return False


def _is_name(line: str) -> bool:
    if not _NAME_LINE.fullmatch(line):
        return False
    words = [w.casefold() for w in line.split()]
    return not any(w in _NOT_NAME_WORDS or w.endswith(_NOT_NAME_SUFFIXES) for w in words)


_OPENING_RE = re.compile(
    r"^(?:med\s+vänlig\s+hälsning|vänliga\s+hälsningar|mvh|hälsningar|för\s+\S+)|"
    + _ANSWER_CLOSING_RE.pattern,
    re.IGNORECASE,
)


def _opens_signature(line: str) -> bool:
    return bool(_OPENING_RE.match(line) or find_dates(line))
