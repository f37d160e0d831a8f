"""Deterministic large corpora made from real records, for benchmarks at 10k and 100k chunks.

Scale figures measured on five records say nothing about a city's archive, and
random noise says nothing either: BM25 and the compound splitter behave very
differently on real Swedish than on made-up tokens. So every generated record
is a *real* record (from ``documents/`` or the Riksdag interpellations) with
the details that differ between real records varied:

* people: the authors, the recipient and the speakers ("Anf. 5 EVA OLOFSSON
  (V):") get other Swedish names, consistently within the record (full name,
  upper case, surname alone);
* municipalities: every municipality the text names becomes another one (the
  genitive "Kumlas" follows), and the record is filed under it;
* dates and years: shifted by the same number of years throughout the record
  (ISO dates and "19 oktober" keep their month and day, "2012/13" stays a
  riksmöte), never past
  the newest year a real record has;
* other numbers: scaled by one factor per record (0 and 1 are kept, widths of
  zero-padded numbers too, "44,22" stays a decimal).

Everything is seeded: the same sources, seed and size give byte-identical
records on every machine. Each record says in its ``source`` field that it is
a synthetic variant and of which real record, so nobody mistakes it for one.

``python -m assistant.corpusgen OUT --documents 700`` writes such a corpus as
ordinary files with front matter, which ``council-qa ingest`` reads like any
other folder (with real embeddings, which takes hours at 100k chunks on two
cores). ``council-qa bench`` instead reuses the real embeddings of the source
passages (see ``derived_vector``): query latency depends on how many vectors
the store holds, not on which.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .config import PROJECT_ROOT
from .schema import ParsedDocument

RIKSDAGEN = PROJECT_ROOT.parent / "shared" / "riksdagen-interpellations"
DEFAULT_SOURCES = (PROJECT_ROOT / "documents", RIKSDAGEN)
LATEST_YEAR = 2026
"""No shifted year goes past this: the newest bundled record is from 2026."""
MIX = 0.15
"""Weight of the second real vector in a derived vector (see ``derived_vector``)."""

MUNICIPALITIES = (
    "Stockholm", "Göteborg", "Malmö", "Uppsala", "Linköping", "Örebro", "Västerås", "Helsingborg",
    "Norrköping", "Jönköping", "Umeå", "Lund", "Borås", "Huddinge", "Eskilstuna", "Gävle", "Nacka",
    "Halmstad", "Sundsvall", "Södertälje", "Växjö", "Karlstad", "Botkyrka", "Kristianstad", "Kungsbacka",
    "Luleå", "Haninge", "Solna", "Skellefteå", "Järfälla", "Sollentuna", "Kalmar", "Varberg", "Östersund",
    "Täby", "Falun", "Norrtälje", "Trollhättan", "Skövde", "Uddevalla", "Borlänge", "Karlskrona", "Tyresö",
    "Lidköping", "Motala", "Sigtuna", "Piteå", "Nyköping", "Alingsås", "Sandviken", "Ängelholm", "Kumla",
    "Vänersborg", "Munkedal", "Östhammar", "Hallsberg", "Lerum", "Mölndal", "Partille", "Enköping",
    "Landskrona", "Trelleborg", "Ystad", "Visby", "Kiruna", "Gällivare", "Arvika", "Ludvika", "Mora",
    "Katrineholm", "Västervik", "Oskarshamn", "Härnösand", "Kramfors", "Sollefteå", "Hudiksvall",
)  # fmt: skip
FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Kristina", "Emma", "Ingrid", "Malin", "Johanna",
    "Annika", "Helena", "Elin", "Linda", "Camilla", "Sofia", "Ulrika", "Åsa", "Birgitta", "Erik", "Lars",
    "Karl", "Anders", "Johan", "Per", "Nils", "Mikael", "Jan", "Hans", "Peter", "Fredrik", "Magnus",
    "Daniel", "Stefan", "Mats", "Henrik", "Jonas", "Björn", "Göran", "Ahmed", "Leila", "Mehmet", "Nadia",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson",
    "Lindberg", "Jakobsson", "Magnusson", "Lindström", "Olofsson", "Lindqvist", "Lindgren", "Berg",
    "Axelsson", "Bergström", "Lundberg", "Lundgren", "Lind", "Lundqvist", "Mattsson", "Berglund",
    "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg", "Wallin", "Engström", "Eklund",
    "Danielsson", "Håkansson", "Lundin", "Björk", "Bergman", "Holm", "Samuelsson", "Fransson", "Öberg",
)  # fmt: skip

_NUMBER = re.compile(
    r"(?<![\w/-])(?:"
    r"(?P<iso>(?:19|20)\d\d)-(?P<md>\d\d-\d\d|\d\d)(?!\d)"  # 2012-11-13, 2024-12
    r"|(?P<rm>(?:19|20)\d\d)/(?P<rm2>\d\d(?:\d\d)?)(?!\d)"  # riksmöte 2012/13, 1999/2000
    r"|(?P<day>[0-3]?\d)(?= (?:januari|februari|mars|april|maj|juni|juli|augusti|september|oktober"
    r"|november|december)\b)"  # a day of the month stays a day
    r"|(?P<year>(?:19|20)\d\d)(?![\d,])"  # a year
    r"|(?P<dec>\d+,\d+)"  # 44,22
    r"|(?P<int>\d+)"  # anything else
    r")"
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_NAME_WORD = r"[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ][a-zåäöéü]+)?"
_PERSON = re.compile(rf"{_NAME_WORD}(?: {_NAME_WORD})+")
_SPEAKER = re.compile(r"Anf\. \d+ (?:[A-Za-zåäöÅÄÖ]+ )?([A-ZÅÄÖÉ][A-ZÅÄÖÉ-]+(?: [A-ZÅÄÖÉ][A-ZÅÄÖÉ-]+)+) \(")


def load_sources(folders: Sequence[Path] = DEFAULT_SOURCES) -> list[ParsedDocument]:
    """The real records to vary: every readable ``.txt`` record of the folders, in a stable order."""
    from .parsing import DocumentError, discover, read_document

    sources: list[ParsedDocument] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"source folder {folder} for the generated corpus does not exist")
        for path in discover(folder):
            if path.suffix != ".txt":
                continue  # README-like Markdown (SOURCE.md) is about the corpus, not a record
            try:
                sources.append(read_document(path, folder))
            except DocumentError:
                continue
    if not sources:
        raise FileNotFoundError(f"no .txt records in {', '.join(map(str, folders))} to generate from")
    return sources


def variant(source: ParsedDocument, seq: int, seed: int) -> ParsedDocument:
    """Record number ``seq`` of the generated corpus: ``source`` with people, places and numbers varied."""
    rng = random.Random(f"council-qa-corpusgen:{seed}:{seq}:{source.doc_id}")
    meta = source.metadata
    everything = "\n".join([source.text, meta.title, meta.dnr, meta.date, meta.recipient])
    newest = max((int(y) for y in _YEAR.findall(everything)), default=LATEST_YEAR)
    shift = rng.randint(-6, max(-6, min(3, LATEST_YEAR - newest)))
    factor = rng.uniform(0.6, 1.6)
    people = _people(source)
    renamed = {p: _new_name(rng, p) for p in people}
    places = sorted({m for m in MUNICIPALITIES if re.search(rf"\b{m}s?\b", everything)})
    home = meta.municipality if meta.municipality in MUNICIPALITIES else ""
    targets = rng.sample([m for m in MUNICIPALITIES if m not in places], len(places) + 1)
    moved = dict(zip(places, targets))
    new_home = moved.get(home) or targets[-1]
    if meta.municipality and meta.municipality not in moved:
        moved[meta.municipality] = new_home

    def vary(text: str) -> str:
        text = _NUMBER.sub(lambda m: _vary_number(m, shift, factor), text)
        text = _replace_people(text, renamed)
        return _replace_places(text, moved)

    new_meta = replace(
        meta,
        title=vary(meta.title),
        municipality=new_home,
        dnr=vary(meta.dnr),
        date=_shift_date(meta.date, shift),
        authors=[renamed.get(a, a) for a in meta.authors],
        recipient=vary(meta.recipient),
        source=f"Syntetisk variant av {source.doc_id} (council-qa corpusgen, seed {seed}); "
        "inte en verklig handling.",
        url="",
    )
    text = vary(source.text)
    doc_id = f"generated-{seed}/{seq:06d}-{_slug(new_home)}-{Path(source.doc_id).stem}.txt"
    digest = hashlib.sha256((text + json.dumps(new_meta.to_dict(), ensure_ascii=False)).encode()).hexdigest()
    return ParsedDocument(doc_id=doc_id, text=text, metadata=new_meta, content_hash=digest)


def generate(sources: Sequence[ParsedDocument], seed: int = 1) -> Iterator[tuple[ParsedDocument, int]]:
    """Endless variants, going round the sources in order: ``(record, index of its source)``."""
    seq = 0
    while True:
        for i, source in enumerate(sources):
            yield variant(source, seq, seed), i
            seq += 1


def derived_vector(source_vectors: np.ndarray, position: float, other: np.ndarray) -> np.ndarray:
    """An embedding for a generated passage, made from real embeddings only.

    ``position`` (0..1) picks the source passage at the same relative place in
    the source record; a little (``MIX``) of another real passage's vector keeps
    the many variants of one record from being exact duplicates, which would
    give the HNSW graph an unrealistic shape. No random vectors are involved.
    """
    i = round(position * (len(source_vectors) - 1))
    vector = source_vectors[i] + MIX * other
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def write_corpus(
    out: Path, sources: Sequence[ParsedDocument], *, documents: int, seed: int = 1
) -> list[Path]:
    """Write ``documents`` generated records as files with front matter, readable by ``council-qa ingest``."""
    import yaml

    out = Path(out)
    written: list[Path] = []
    for doc, _ in _take(generate(sources, seed), documents):
        path = out / doc.doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        front = {k: v for k, v in doc.metadata.to_dict().items() if v}
        header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        path.write_text(f"---\n{header}---\n{doc.text}", encoding="utf-8")
        written.append(path)
    return written


# -- the pieces ------------------------------------------------------------------------


def _people(doc: ParsedDocument) -> list[str]:
    """Names of people the record is by, to, or quotes as speakers, in title case."""
    found: dict[str, None] = {}
    for author in doc.metadata.authors:
        found.setdefault(author.strip(), None)
    for name in _PERSON.findall(doc.metadata.recipient):
        found.setdefault(name, None)
    for name in _SPEAKER.findall(doc.text):
        found.setdefault(" ".join(part.capitalize() for part in name.split()), None)
    return [name for name in found if " " in name and not any(m in name for m in MUNICIPALITIES)]


def _new_name(rng: random.Random, old: str) -> str:
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name != old:
            return name


def _replace_people(text: str, renamed: dict[str, str]) -> str:
    """Full names (as written and in capitals), then surnames alone; one pass, so nothing is renamed twice."""
    table: dict[str, str] = {}
    for old, new in renamed.items():
        table[old] = new
        table[old.upper()] = new.upper()
        old_last, new_last = old.split()[-1], new.split()[-1]
        if len(old_last) >= 5:
            table.setdefault(old_last, new_last)
            table.setdefault(old_last.upper(), new_last.upper())
    return _replace_words(text, table)


def _replace_places(text: str, moved: dict[str, str]) -> str:
    table: dict[str, str] = {}
    for old, new in moved.items():
        table[old] = new
        table[old + "s"] = new if new.endswith("s") else new + "s"  # genitive: Kumlas, but Borås
    return _replace_words(text, table)


def _replace_words(text: str, table: dict[str, str]) -> str:
    if not table:
        return text
    alternatives = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternatives})\b")
    return pattern.sub(lambda m: table[m.group(0)], text)


def _vary_number(m: re.Match[str], shift: int, factor: float) -> str:
    if m.group("iso"):
        return f"{int(m.group('iso')) + shift}-{m.group('md')}"
    if m.group("rm"):
        year = int(m.group("rm")) + shift
        return f"{year}/{year + 1}" if len(m.group("rm2")) == 4 else f"{year}/{(year + 1) % 100:02d}"
    if m.group("day"):
        return m.group("day")
    if m.group("year"):
        return str(int(m.group("year")) + shift)
    if m.group("dec"):
        whole, frac = m.group("dec").split(",")
        value = float(f"{whole}.{frac}") * factor
        return f"{value:.{len(frac)}f}".replace(".", ",")
    raw = m.group("int")
    value = int(raw)
    if value <= 1:
        return raw
    scaled = max(2, round(value * factor))
    return str(scaled).zfill(len(raw)) if raw.startswith("0") else str(scaled)


def _shift_date(date: str, shift: int) -> str:
    if not date or not date[:4].isdigit():
        return date
    return f"{int(date[:4]) + shift}{date[4:]}"


def _slug(name: str) -> str:
    table = str.maketrans("åäöéü", "aaoeu")
    return re.sub(r"[^a-z0-9]+", "-", name.casefold().translate(table)).strip("-") or "okand"


def _take(items: Iterable[tuple[ParsedDocument, int]], n: int) -> Iterator[tuple[ParsedDocument, int]]:
    for i, item in enumerate(items):
        if i >= n:
            return
        yield item


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.corpusgen",
        description="Write a deterministic corpus of varied real records (see the module docstring).",
    )
    parser.add_argument("out", type=Path, help="folder to write the records to")
    parser.add_argument("--documents", type=int, default=500, help="how many records to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--from", dest="sources", type=Path, action="append", help="source folder (repeatable)"
    )
    args = parser.parse_args(argv)
    sources = load_sources(args.sources or DEFAULT_SOURCES)
    written = write_corpus(args.out, sources, documents=args.documents, seed=args.seed)
    print(f"wrote {len(written)} records generated from {len(sources)} real ones to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
