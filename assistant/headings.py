"""A record's heading: the lines at its top that carry its title (who asked whom about what).

The heading repeats the words a question uses to name a record, so the
passage that opens a record looks closer to almost any question about that
record than the passage that answers it. Retrieval (``retrieve.demote_headings``)
and the composer (``quotes.is_heading``) both need to know where it is.
"""

from __future__ import annotations

import re

from .schema import Chunk

OPENING_REACH = 50  # a passage starting this close to a record's start is its opening (passages are longer)
HEADING_REACH = 400  # characters from a document's start within which its heading lies
HEADING_TITLE_SHARE = 0.6

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_BLOCK = re.compile(r"\S(?:.|\n(?!\s*\n))*")  # a run of non-blank lines


def word_set(text: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(text.casefold()))


# a Riksdag record's own heading line: "Interpellation 2004/05:269 av Nils-Erik Söderqvist (s) till …"
_NUMBERED_HEADING = re.compile(
    r"^\W*(?:Interpellation|Svar på interpellation|Skriftlig fråga)\s+\d{4}/\d{2,4}:\d+"
)


def names_record(text: str) -> bool:
    """The numbered line that opens a Riksdag record, whatever title the metadata gives it."""
    return _NUMBERED_HEADING.match(text) is not None


def covers_title(text: str, title: str) -> bool:
    """Most of the title's words are in the text; not the title verbatim, as headings inflect it."""
    words = word_set(title)
    return bool(words) and len(words & word_set(text)) >= HEADING_TITLE_SHARE * len(words)


def is_heading_line(text: str, title: str) -> bool:
    """A line (or run of lines) naming the record, not a sentence that happens to share a short title's words.

    "En ansträngd socialtjänst" is covered by "Stockholm har en socialtjänst i
    nöd."; a heading does not end as a sentence does.
    """
    return covers_title(text, title) and not text.rstrip().endswith((".", "?", "!"))


def is_opening(chunk: Chunk) -> bool:
    return chunk.start < OPENING_REACH


def heading_free_text(chunk: Chunk) -> str | None:
    """An opening passage's text after its heading lines; None for any other passage.

    Also None when the opening has no heading (nothing to take away) or is all
    heading (nothing left to compare).
    """
    title = chunk.metadata.title
    if not is_opening(chunk) or not title:
        return None
    cut = 0
    for block in _BLOCK.finditer(chunk.text):
        if chunk.start + block.start() >= HEADING_REACH:
            break
        if is_heading_line(block.group(), title):
            cut = block.end()
    rest = chunk.text[cut:].strip() if cut else ""
    return rest or None
