"""Sentence boundaries with exact character spans, tuned for Swedish council prose.

Records mix hard-wrapped paragraphs (a newline in mid-sentence), one sentence
per line, bullet lists and abbreviations such as "t.ex." and "m.m."; a sentence
must come out whole so a citation quotes something a reader can check.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    [
        "t.ex",
        "ex",
        "bl.a",
        "m.m",
        "m.fl",
        "d.v.s",
        "dvs",
        "s.k",
        "resp",
        "kl",
        "nr",
        "jfr",
        "ca",
        "p.g.a",
        "pga",
        "o.s.v",
        "osv",
        "f.d",
        "fr.o.m",
        "t.o.m",
        "tom",
        "mnkr",
        "st",
        "e.g",
        "i.e",
        "etc",
        "mr",
        "mrs",
        "dr",
        "prof",
        "anf",  # "Anf. 24 Statsrådet MARIA LARSSON (KD):" labels a speech in a Riksdag debate
    ]
)
# a sentence ends at its stop, or at a colon that opens a numbered list on the same line
# ("Mina frågor till statsrådet är: 1. Avser …"), so the list's lead-in stays a lead-in
_END = re.compile(r"[.!?…]+[\"'”’)]*(?=\s)|:(?=[ \t]+\d{1,2}[.)](?:\s|$))")
_BULLET = re.compile(r"^\s*(?:[-•*–]|\d+[.)])\s+")


_SPEAKER = re.compile(r"^(?:Anf\.\s*)?\d+\s+[^\n]{2,80}\([^\W\d_]{1,3}\):(?:\s*\[[^\]]*\])?$")
_SALUTATION = re.compile(r"^(?:fru|herr)\s+(?:talman|ålderspresident)\s*[!,.]?$", re.IGNORECASE)


def is_speaker_label(text: str) -> bool:
    """A debate's label before each speech: "Anf. 24 Statsrådet MARIA LARSSON (KD):"."""
    return bool(_SPEAKER.match(text.strip()))


SIGN_OFF_LINE = 60  # characters: a closing line longer than this is prose, not a place, date or name
_REPORTED = re.compile(
    r"\bhar\s+(?:också\s+|även\s+|vidare\s+|dessutom\s+)?frågat\s+"
    r"(?:mig\s+|statsrådet\s+|ministern\s+|regeringen\s+)?(?:om|vad|vilka|vilken|vilket|hur|när|varför|huruvida)\b"
    r"|\b(?:har\s+jag|jag\s+har)\s+(?:också\s+|även\s+|vidare\s+)?fått\s+(?:frågan|en\s+fråga)\b",
    re.IGNORECASE,
)
# only where the sentence begins: "Eftersom … ser jag därför behov att ställa följande frågor:" gives reasons
_ANNOUNCED = re.compile(
    r"^\s*(?:mot\s+bakgrund\s+av\s+(?:detta|ovanstående|det\s+ovan\s+sagda),?\s+)?"
    r"(?:(?:jag\s+vill|vill\s+jag)\s+(?:därför\s+|också\s+|nu\s+)?ställa\s+|(?:min|mina|vår|våra)\s+(?:\w+\s+)?)"
    r"(?:en\s+|ett\s+par\s+|några\s+|följande\s+)?(?:sista\s+|konkreta?\s+)?fråg(?:a|or)\b",
    re.IGNORECASE,
)


def is_sign_off(block: str) -> bool:
    """Closing lines of place, date and name ("För Vänsterpartiet i Kumla 12/5 2026 / Margareta …")."""
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return all(len(line) <= SIGN_OFF_LINE and not line.endswith((".", "?", "!", ":")) for line in lines)


def is_list_item(text: str) -> bool:
    return bool(_BULLET.match(text))


def is_question_talk(text: str) -> bool:
    """A sentence about a question, not an answer to it.

    A minister restating what was asked ("Eva Olofsson har frågat mig vilka
    åtgärder …"), a speaker announcing a question ("Min konkreta fråga till dig
    var om …", "Mina frågor till statsrådet är:"). It holds the question's
    very words and so outranks the reply, yet it only repeats the question.
    """
    return bool(_REPORTED.search(text) or _ANNOUNCED.search(text))


def is_salutation(text: str) -> bool:
    """The address that opens a speech in the Riksdag ("Fru talman!"): it says nothing."""
    return bool(_SALUTATION.match(text.strip()))


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the sentences of ``text``, shifted by ``offset``."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for match in _END.finditer(text, block_start, block_end):
            end = match.end()
            if _is_abbreviation(text, start, match.start()) or not _next_starts_sentence(
                text, end, block_end
            ):
                continue
            _add(spans, text, start, end)
            start = end
        _add(spans, text, start, block_end)
    return [(s + offset, e + offset) for s, e in spans]


def split_with_text(text: str, offset: int = 0) -> list[tuple[tuple[int, int], str]]:
    """``split_sentences`` with each sentence's text beside its span."""
    return [((s, e), text[s - offset : e - offset]) for s, e in split_sentences(text, offset)]


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraphs, list items and lines that already end a sentence."""
    blocks: list[tuple[int, int]] = []
    start = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        line_end = pos + len(line)
        stripped = line.strip()
        next_line = text[line_end:].split("\n", 1)[0]
        ends_block = (
            not stripped
            or stripped.endswith((".", "?", "!", ":", "…"))
            or _BULLET.match(next_line) is not None
            or not next_line.strip()
        )
        if ends_block:
            blocks.append((start, line_end))
            start = line_end
        pos = line_end
    if start < len(text):
        blocks.append((start, len(text)))
    return blocks


def ends_in_abbreviation(text: str) -> bool:
    """Whether ``text`` stops at an abbreviation ("… i fokus genom ex."): a sentence cut there, not ended.

    The same test as ``split_sentences`` applies to every full stop, so a
    passage is cut exactly where the splitter would read on.
    """
    stripped = text.rstrip()
    last_line = stripped.rfind("\n") + 1
    return stripped.endswith(".") and _is_abbreviation(stripped, last_line, len(stripped) - 1)


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", text[start:dot])
    if not word:
        return False
    token = word.group(1).casefold()
    if token.isdigit() and not text[start:dot].strip(" \t-•*–").rstrip(token).strip():
        return True  # "1." opening a numbered list item
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _next_starts_sentence(text: str, end: int, limit: int) -> bool:
    rest = text[end:limit].lstrip()
    return not rest or rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'”-–•("


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    segment = text[start:end]
    lead = len(segment) - len(segment.lstrip())
    trail = len(segment) - len(segment.rstrip())
    s, e = start + lead, end - trail
    if e > s and any(ch.isalnum() for ch in text[s:e]):
        spans.append((s, e))
