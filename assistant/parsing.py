"""Reading council records from disk: text, HTML, PDF and Word files, front matter and sidecars.

Everything downstream cites character spans of ``ParsedDocument.text``, so the
text produced here is final: decoded once, line endings and Unicode normalized
once, front matter cut off, and nothing else changed. A file that cannot yield
such a text raises ``DocumentError`` (and only that), whose message names the
file, says why, and says what to do, because the person reading it is the one
who put the file in the folder, not a developer.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from assistant.metadata import (
    ACCEPTED_KEYS,
    IGNORED_FRONT_MATTER_KEYS,
    MetadataError,
    extract_metadata,
    from_front_matter,
    normalize_key,
    resolve,
)
from assistant.schema import DocumentMetadata, ParsedDocument

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
SIDECAR_SUFFIX = ".meta.json"

MAX_FILE_BYTES = 200 * 2**20  # a record's file, or a Word file unpacked: more is a dump, not a record
MAX_TEXT_CHARS = 3_000_000  # about 1,500 pages; embedding more would hold one ingest for hours
# of a text's characters, in words or figures: Riksdag records have .87 and up, their passages .57, base64 0
MIN_WORD_SHARE = 0.3

_TEXT_SUFFIXES = (".txt", ".md")
_HTML_SUFFIXES = (".html", ".htm")


class DocumentError(Exception):
    """A record that cannot be read. ``str()`` is ``"<relative path>: <reason>. <what to do>"``."""

    def __init__(self, path: str, reason: str, action: str) -> None:
        self.path = path
        self.reason = reason
        self.action = action if action.endswith((".", "!", "?")) else action + "."
        super().__init__(f"{path}: {reason}. {self.action}")


# ---------------------------------------------------------------------------
# Finding files


def discover(documents_dir: Path, onerror: Callable[[DocumentError], None] | None = None) -> list[Path]:
    """Every readable record under ``documents_dir``, in a stable order.

    Hidden files and folders (``.git``, editor swap files) and Office lock files
    (``~$report.docx``) are never records; sidecars travel with their record.
    Neither are the notes that describe a collection (README, SOURCE, LICENSE):
    the Riksdag set's SOURCE.md, which speaks of interpellations in general,
    ranked among the top three passages for questions about particular ones.
    A folder that cannot be listed goes to ``onerror`` (as in ``os.walk``):
    ingest must not take its records for deleted.
    """
    if not documents_dir.is_dir():
        raise DocumentError(
            str(documents_dir),
            "is not a folder",
            "Create it and put the records in it, or point COUNCIL_QA_DOCUMENTS at the right folder",
        )
    found = []

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename or documents_dir)
        reason = f"is a folder that could not be read ({error.strerror or error})"
        if folder == documents_dir:  # nothing to index, and every indexed record would look deleted
            raise DocumentError(str(folder), reason, "Let this user list it")
        if onerror is not None:
            shown = folder.relative_to(documents_dir).as_posix() + "/"
            onerror(DocumentError(shown, reason, "Let this user list it; its records stay indexed meanwhile"))

    for root, dirs, files in os.walk(documents_dir, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if _is_record_name(name):
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: p.relative_to(documents_dir).as_posix())


COLLECTION_NOTES = frozenset(
    {"readme", "source", "sources", "license", "licence", "changelog", "contributing"}
)
"""File names (without suffix, any case) that describe a folder of records rather than being one."""


def _is_record_name(name: str) -> bool:
    if name.startswith((".", "~$")) or name.endswith(SIDECAR_SUFFIX):
        return False
    stem, suffix = os.path.splitext(name)
    return suffix.lower() in SUPPORTED_SUFFIXES and stem.casefold() not in COLLECTION_NOTES


def sidecar_path(path: Path) -> Path:
    """Where the metadata override for ``path`` lives: ``report.pdf`` -> ``report.pdf.meta.json``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


# ---------------------------------------------------------------------------
# Reading one record


@dataclass
class _Content:
    text: str
    front_matter: dict[str, Any] | None = None
    html_title: str = ""


def read_document(path: Path, documents_dir: Path) -> ParsedDocument:
    """Read one record with its metadata: sidecar over front matter over what the text says."""
    doc_id = _doc_id(path, documents_dir)
    _check_file(path, doc_id)
    _check_not_a_second_name(path, documents_dir, doc_id)
    raw = _read_bytes(path, doc_id)
    side_path = sidecar_path(path)
    side_raw = _read_bytes(side_path, doc_id + SIDECAR_SUFFIX) if _is_file(side_path) else None
    content = _content(path.suffix.lower(), raw, doc_id)
    if len(content.text) > MAX_TEXT_CHARS:
        raise DocumentError(
            doc_id,
            f"holds {len(content.text):,} characters of text, more than the {MAX_TEXT_CHARS:,} of one record",
            "Split it into several files, one record each",
        )
    declared = []
    if content.front_matter is not None:
        declared.append(_front_matter_metadata(content.front_matter, doc_id))
    if side_raw is not None:
        declared.append(_sidecar_metadata(side_raw, doc_id + SIDECAR_SUFFIX))
    extracted = extract_metadata(content.text, filename=path.name, html_title=content.html_title)
    return ParsedDocument(
        doc_id=doc_id,
        text=content.text,
        metadata=resolve(extracted, *declared),
        content_hash=_content_hash(raw, side_raw),
    )


def _doc_id(path: Path, documents_dir: Path) -> str:
    try:
        doc_id = path.relative_to(documents_dir).as_posix()
    except ValueError:
        try:
            doc_id = path.resolve().relative_to(documents_dir.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop
            raise DocumentError(
                str(path),
                f"is not inside the documents folder {documents_dir}",
                "Move it into that folder, or point COUNCIL_QA_DOCUMENTS at the folder that holds it",
            ) from None
    if shown_name(doc_id) != doc_id:  # bytes the file system holds that no JSON, Chroma or citation can carry
        raise DocumentError(
            shown_name(doc_id),
            "has a file name that is not valid UTF-8",
            "Rename it (the index, its citations and the API carry names as UTF-8)",
        ) from None
    return doc_id


def shown_name(name: str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 as ``\\xff``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _check_file(path: Path, doc_id: str) -> None:
    """A regular file of a record's size: a FIFO would hang the read, /dev/zero fill the memory."""
    try:
        status = path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise DocumentError(doc_id, "is a symbolic link that loops", "Remove the link") from error
        raise DocumentError(
            doc_id,
            f"could not be read ({error.strerror or error})",
            "Check that the file exists and that this user may read it (a link must point at a file)",
        ) from error
    if stat.S_ISDIR(status.st_mode):
        raise DocumentError(doc_id, "is a folder, not a file", "Give the path of a record in it")
    if not stat.S_ISREG(status.st_mode):
        raise DocumentError(
            doc_id,
            "is not a regular file (a pipe, a device or a socket)",
            "Put the record's file itself in the folder",
        )
    if status.st_size > MAX_FILE_BYTES:
        raise DocumentError(
            doc_id,
            f"is {_size(status.st_size)}, more than the {_size(MAX_FILE_BYTES)} of one record",
            "Split it into several files, one record each",
        )


def _check_not_a_second_name(path: Path, documents_dir: Path, doc_id: str) -> None:
    """A link to another record of the folder would index it twice, and answers cite the link."""
    if not path.is_symlink():
        return
    target = path.resolve()
    try:
        other = target.relative_to(documents_dir.resolve())
    except ValueError:
        return  # a record kept elsewhere and linked in: this is its only name here
    if _is_record_name(target.name) and not any(part.startswith(".") for part in other.parts):
        raise DocumentError(
            doc_id,
            f"is a link to {other.as_posix()}, which is indexed under its own name",
            "Remove the link",
        )


def _size(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} kB"


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):  # a name too long once ".meta.json" is added, a link loop
        return False


def _read_bytes(path: Path, shown_as: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise DocumentError(
            shown_as,
            f"could not be read ({error.strerror or error})",
            "Check that the file exists and that this user may read it",
        ) from error


def _content_hash(raw: bytes, side_raw: bytes | None) -> str:
    """Changes when the record or its sidecar changes, so editing only the sidecar re-ingests.

    Without a sidecar it is the plain SHA-256 of the file, the same as ``sha256sum``.
    """
    digest = hashlib.sha256(raw)
    if side_raw is not None:
        digest.update(b"\0sidecar:%d\0" % len(side_raw))
        digest.update(side_raw)
    return digest.hexdigest()


def _content(suffix: str, raw: bytes, doc_id: str) -> _Content:
    if not raw:
        raise DocumentError(doc_id, "is empty (0 bytes)", "Export the record again, or remove the file")
    if suffix in _TEXT_SUFFIXES:
        text, front_matter = _split_front_matter(decode_text(raw, doc_id), doc_id)
        content = _Content(text, front_matter)
    elif suffix in _HTML_SUFFIXES:
        text, title = html_to_text(decode_text(raw, doc_id), doc_id)
        content = _Content(text, html_title=title)
    elif suffix == ".pdf":
        content = _Content(_pdf_text(raw, doc_id))
    elif suffix == ".docx":
        content = _Content(_docx_text(raw, doc_id))
    else:
        raise DocumentError(
            doc_id,
            f"has an unsupported file type '{suffix}'",
            f"Convert it to one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    if not content.text.strip():
        raise DocumentError(doc_id, *_why_no_text(suffix, content))
    share = word_share(content.text)
    if share < MIN_WORD_SHARE:
        raise DocumentError(
            doc_id,
            f"holds no readable text: only {share:.0%} of its characters are words or figures, "
            "so it looks like encoded data (base64, hex) rather than a record",
            "Export the record's text again, or remove the file",
        )
    return content


# a word, a figure ("2 500", "14,6", "2024-05-12", "40%") or "IVO:s", with the punctuation around it
_WORD = re.compile(
    r"[(\[\"'“”«»‘’–-]*"
    r"(?:[^\W\d_]+(?:[-'’:][^\W\d_]+)*|\d+(?:[.,:/-]\d+)*%?)"
    r"[)\]\"'“”»‘’.,;:!?…%–-]*"
)
_LONGEST_WORD = 40  # characters; "arbetsmarknadsutbildningsplatserna" has 34, a base64 line 76


def word_share(text: str) -> float:
    """The share of ``text``'s visible characters that are in words or figures.

    Text exported from a record is mostly words; base64 or hex pasted as text
    is one long run of letters and digits mixed, which no search can match and
    whose embedding lands anywhere. 1.0 for a text without visible characters.
    """
    tokens = text.split()
    total = sum(map(len, tokens))
    if not total:
        return 1.0
    wordy = sum(len(t) for t in tokens if len(t) <= _LONGEST_WORD and _WORD.fullmatch(t))
    return wordy / total


def _why_no_text(suffix: str, content: _Content) -> tuple[str, str]:
    if content.front_matter is not None:
        return "has front matter but no text after it", "Put the record's text below the closing --- line"
    if suffix in _HTML_SUFFIXES:
        return "has no visible text", "Check that the page was saved with its content, not just scripts"
    if suffix == ".docx":
        return "has no text", "Check that this is the right file; text in images or text boxes is not read"
    return "contains only whitespace", "Export the record again, or remove the file"


# ---------------------------------------------------------------------------
# Text decoding


def _single_byte_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode bytes that are not UTF-8 as Windows-1252, and the five bytes cp1252 leaves
    undefined as Latin-1, so a file that mixes encodings still keeps its å, ä, ö."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(_CP1252[byte] for byte in chunk), error.end


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # Latin-1 (a C1 control): counted as non-text by the binary check


_CP1252 = [_cp1252_char(b) for b in range(256)]
_FALLBACK = "council-qa-cp1252"
codecs.register_error(_FALLBACK, _single_byte_fallback)

_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_NON_TEXT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
_NON_TEXT_SHARE = 0.05


def decode_text(raw: bytes, doc_id: str) -> str:
    """Bytes of a text export -> normalized text.

    UTF-8 (with or without BOM) first; otherwise Windows-1252, which is what
    Swedish Windows exports are and which, unlike guessing with a detector, never
    turns "ö" into something else on a short file. UTF-16 is read when it has a
    BOM, or when every other byte is NUL as Latin text in UTF-16 is. Line
    endings become ``\\n`` and Unicode NFC; every other character stays.
    """
    if raw.startswith((b"%PDF-", b"PK\x03\x04")):
        raise DocumentError(doc_id, *_binary_reason(raw, "it is not plain text"))
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_utf16(raw, doc_id)
    elif _utf16_without_bom(raw):
        text = _decode_utf16(raw, doc_id, _utf16_without_bom(raw))
    else:
        if b"\0" in raw:
            raise DocumentError(doc_id, *_binary_reason(raw, "it contains NUL bytes"))
        text = _decode_8bit(raw)
    text = normalize_text(text)
    non_text = len(_NON_TEXT.findall(text))
    if non_text > _NON_TEXT_SHARE * len(text):
        evidence = f"{non_text} of its {len(text)} characters are not text"
        raise DocumentError(doc_id, *_binary_reason(raw, evidence))
    return text


def normalize_text(text: str) -> str:
    """One spelling of every line break and every accented letter, so spans and searches agree."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _utf16_without_bom(raw: bytes) -> str:
    """``utf-16-le`` or ``-be`` when every other byte of the start is NUL, as in Latin text written
    as UTF-16 without a byte order mark (some exports); "" otherwise, binary data included."""
    head = raw[:4000]
    if len(head) < 8 or len(head) % 2:
        return ""
    for codec, high, low in (("utf-16-le", head[1::2], head[0::2]), ("utf-16-be", head[0::2], head[1::2])):
        if high.count(0) >= 0.95 * len(high) and 0 not in low:
            return codec
    return ""


def _decode_utf16(raw: bytes, doc_id: str, codec: str = "utf-16") -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as error:
        raise DocumentError(
            doc_id, f"starts like UTF-16 text but is damaged ({error.reason})", "Save it again as UTF-8"
        ) from error


def _decode_8bit(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    sequences = _UTF8_SEQUENCE.findall(raw)
    high_bytes = len(raw) - len(raw.translate(None, _HIGH_BYTES))
    stray = high_bytes - sum(len(m) for m in sequences)
    if len(sequences) > stray:
        # Mostly UTF-8 with a few Windows-1252 bytes pasted in: keep both right.
        return raw.decode("utf-8-sig", errors=_FALLBACK)
    return raw.decode("cp1252", errors=_FALLBACK)


def _binary_reason(raw: bytes, evidence: str) -> tuple[str, str]:
    if raw.startswith(b"%PDF"):
        return "is a PDF file with a text extension", "Rename it to .pdf"
    if raw.startswith(b"PK\x03\x04"):
        return "is a zip archive with a text extension", "Rename it to .docx if it is a Word file"
    return (
        f"looks like binary data, not text ({evidence})",
        "Check that it really is a text export; a PDF or Word file needs its own extension",
    )


# ---------------------------------------------------------------------------
# Front matter and sidecars

_FENCE = re.compile(r"---[ \t]*")
_KEY_LINE = re.compile(r"[^\W\d][\w -]{0,40}:(?:\s|$)")  # "titel: …", "datum_inlämnad: '2024-05-21'"


def _split_front_matter(text: str, doc_id: str) -> tuple[str, dict[str, Any] | None]:
    """Cut a leading ``---`` YAML block off; the rest, minus leading blank lines, is the text."""
    if not text.startswith("---"):
        return text, None
    lines = text.split("\n")
    if not _FENCE.fullmatch(lines[0]):
        return text, None
    close = next((i for i in range(1, len(lines)) if _FENCE.fullmatch(lines[i])), None)
    if close is None:
        if len(lines) > 1 and _KEY_LINE.match(lines[1]):
            raise DocumentError(
                doc_id,
                "has front matter opened by --- on line 1 that no --- line closes",
                "Add a line of --- after the last 'key: value' line",
            )
        return text, None  # a rule, then text
    data = _load_yaml("\n".join(lines[1:close]), doc_id)
    body = "\n".join(lines[close + 1 :])
    return re.sub(r"\A(?:[ \t\f\v]*\n)+", "", body), data


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice ("parti: KD" then "parti: V" kept V silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"found the key {key!r} twice", key_node.start_mark
                )
            if isinstance(key, str | int | float | bool):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(block: str, doc_id: str) -> dict[str, Any]:
    try:
        data = yaml.load(block, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 2}: " if mark else ""  # +1 for 1-based, +1 for the opening ---
        raise DocumentError(
            doc_id,
            f"has front matter that is not valid YAML ({where}{error.problem or error.context})",
            "Fix the block between the two --- lines; put values that contain ': ' in quotes",
        ) from error
    except Exception as error:  # any parser failure is the file's fault
        raise DocumentError(
            doc_id,
            f"has front matter that is not valid YAML ({error})",
            "Fix the block between the two --- lines",
        ) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(
            doc_id,
            f"has front matter that is a {type(data).__name__}, not key: value lines",
            "Write one 'key: value' per line between the --- lines",
        )
    return data


def _front_matter_metadata(data: dict[str, Any], doc_id: str) -> DocumentMetadata:
    try:
        return from_front_matter(data)
    except MetadataError as error:
        raise DocumentError(
            doc_id, f"has front matter with a bad value: {error}", "Fix that value between the --- lines"
        ) from error


_SIDECAR_KEYS = frozenset(ACCEPTED_KEYS) | IGNORED_FRONT_MATTER_KEYS
_SIDECAR_EXAMPLE = '{"date": "2024-05-12", "municipality": "Kumla"}'


def _sidecar_metadata(raw: bytes, sidecar_id: str) -> DocumentMetadata:
    data = _load_sidecar_json(raw, sidecar_id)
    unknown = [str(key) for key in data if normalize_key(key) not in _SIDECAR_KEYS]
    if unknown:
        raise DocumentError(
            sidecar_id,
            f"has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)}",
            f"Use only these keys: {', '.join(ACCEPTED_KEYS)}",
        )
    try:
        return from_front_matter(data)
    except MetadataError as error:
        raise DocumentError(sidecar_id, f"has a bad value: {error}", "Fix that value in the JSON") from error


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys differ: with two "parties", json keeps the last without a word."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _load_sidecar_json(raw: bytes, sidecar_id: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as error:
        raise DocumentError(
            sidecar_id, f"has the key {error.key!r} twice", "Keep one of them: the other would be lost"
        ) from error
    except UnicodeDecodeError as error:
        raise DocumentError(sidecar_id, "is not UTF-8 text", "Save it as UTF-8") from error
    except json.JSONDecodeError as error:
        raise DocumentError(
            sidecar_id,
            f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            f"Fix it so it holds one JSON object such as {_SIDECAR_EXAMPLE}, or delete it",
        ) from error
    except (ValueError, RecursionError) as error:
        raise DocumentError(sidecar_id, f"is not valid JSON ({error})", "Fix it, or delete it") from error
    if not isinstance(data, dict):
        raise DocumentError(
            sidecar_id,
            f"holds a JSON {type(data).__name__}, not an object",
            f"Write one object such as {_SIDECAR_EXAMPLE}",
        )
    return data


# ---------------------------------------------------------------------------
# HTML

_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "svg", "math", "object", "iframe"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _VisibleText(HTMLParser):
    """Collects what a browser would show: paragraphs at block boundaries, table cells joined by " | "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.title_parts: list[str] = []
        self._parts: list[str] = []
        self._hidden = 0
        self._in_title = False
        self._in_pre = 0
        self._cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "br":
            self._parts.append("\n")
        elif tag in ("td", "th"):
            if self._cells_in_row:
                self._parts.append(" | ")
            self._cells_in_row += 1
        elif tag in _BLOCK_TAGS:
            self._break()
            self._in_pre += tag == "pre"
            if tag == "tr":
                self._cells_in_row = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "pre":
                self._in_pre = max(0, self._in_pre - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "td", "th"):
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._in_title:
            self.title_parts.append(data)
        elif self._in_pre:
            self._parts.append(data)
        else:
            self._parts.append(_HTML_SPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._break()

    def _break(self) -> None:
        text = "".join(self._parts)
        self._parts = []
        if not self._in_pre:
            text = re.sub(r" *\n *", "\n", re.sub(r" {2,}", " ", text)).strip()
        else:
            text = text.strip("\n")
        if text.strip():
            self.paragraphs.append(text)


def html_to_text(html: str, doc_id: str) -> tuple[str, str]:
    """Visible text of a page and its ``<title>``; scripts, styles and markup are dropped."""
    parser = _VisibleText()
    try:
        parser.feed(html)
        parser.close()
    except Exception as error:  # html.parser can assert on broken markup
        raise DocumentError(
            doc_id, f"could not be read as HTML ({error})", "Save the page again from the browser"
        ) from error
    title = " ".join("".join(parser.title_parts).split())
    return "\n\n".join(parser.paragraphs), title


# ---------------------------------------------------------------------------
# PDF and Word


def _pdf_text(raw: bytes, doc_id: str) -> str:
    """Page texts joined by a blank line; protected, damaged and scanned PDFs are explained."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        with _quiet_pypdf():
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted and not reader.decrypt(""):
                raise FileNotDecryptedError("a password is required")
            pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError as error:
        raise DocumentError(
            doc_id, "is password-protected", "Export an unprotected copy and put it in place of this file"
        ) from error
    except DependencyError as error:
        raise DocumentError(
            doc_id,
            f"is encrypted in a way that needs an extra package to open ({error})",
            "Export an unprotected copy, or install the 'cryptography' package",
        ) from error
    except Exception as error:  # pypdf raises many types for damaged files
        raise DocumentError(
            doc_id,
            f"could not be read as a PDF ({type(error).__name__}: {error})",
            "Download or export it again; if a PDF viewer opens it, print it to a new PDF",
        ) from error
    text = "\n\n".join(page.replace("\0", "").strip() for page in pages if page.strip())
    if not text.strip():
        raise DocumentError(
            doc_id,
            "has no extractable text (it is probably a scanned image and needs OCR)",
            "Run OCR on it (for example with ocrmypdf) and put the result in its place",
        )
    return normalize_text(text)


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs repairs ("EOF marker not found") without saying which file; the outcome is
    reported by ``DocumentError`` or a successful read instead, so its warnings are held back."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _docx_text(raw: bytes, doc_id: str) -> str:
    """Paragraphs and tables in document order, a blank line between blocks, " | " between cells."""
    import docx
    from docx.table import Table

    _check_unpacked_size(raw, doc_id)
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = [
            _table_text(item) if isinstance(item, Table) else item.text.strip()
            for item in document.iter_inner_content()
        ]
    except Exception as error:  # zipfile, lxml and python-docx each raise their own
        raise DocumentError(
            doc_id,
            f"could not be read as a Word document ({type(error).__name__}: {error})",
            "Open it in Word or LibreOffice and save it again as .docx (a renamed old .doc will not work)",
        ) from error
    return normalize_text("\n\n".join(block for block in blocks if block))


def _check_unpacked_size(raw: bytes, doc_id: str) -> None:
    """A .docx is a zip: 3 MB of it unpacked to 1 GB of XML and more than 6 GB of memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # python-docx says what is wrong with it
    if unpacked > MAX_FILE_BYTES:
        raise DocumentError(
            doc_id,
            f"unpacks to {_size(unpacked)}, more than the {_size(MAX_FILE_BYTES)} of one record",
            "Save it again from Word without embedded files, or split it",
        )


def _table_text(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):  # a merged cell comes once per grid column it spans
                continue
            seen.append(cell._tc)
            text = _cell_text(cell)
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _cell_text(cell: Any) -> str:
    from docx.table import Table

    parts = [
        _table_text(item) if isinstance(item, Table) else item.text for item in cell.iter_inner_content()
    ]
    return " ".join(" ".join(parts).split())
