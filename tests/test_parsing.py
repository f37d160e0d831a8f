"""Reading records from disk: every fixture is a real file written to a temporary folder."""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from assistant.metadata import RIKSDAG_BODY, RIKSDAG_SOURCE, extract_metadata
from assistant.parsing import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    discover,
    read_document,
    sidecar_path,
)
from assistant.schema import DocumentMetadata, ParsedDocument

PROJECT = Path(__file__).resolve().parent.parent
DOCUMENTS = PROJECT / "documents"
RIKSDAGEN = PROJECT.parent / "shared" / "riksdagen-interpellations"

SWEDISH = "Åsa Öberg frågar om äldreomsorgen – é och ü följer med"


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read(folder: Path, name: str, data: bytes | str) -> ParsedDocument:
    return read_document(write(folder, name, data), folder)


def error_for(folder: Path, name: str, data: bytes | str) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        read(folder, name, data)
    return caught.value


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF written by hand: one Helvetica text line per line of each page, in
    WinAnsiEncoding so Swedish letters survive; an empty string makes a page with no text."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        lines = [
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*"
            for line in text.split("\n")
            if text
        ]
        stream = "\n".join(["BT /F1 12 Tf 14 TL 72 770 Td", *lines, "ET"]) if lines else ""
        page_number = len(objects) + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 "
            f"{page_number + 1} 0 R >> >> /Contents {page_number + 2} 0 R >>"
        )
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        body = stream.encode("cp1252")
        objects.append(f"<< /Length {len(body)} >>\nstream\n" + body.decode("latin-1") + "\nendstream")
        kids.append(f"{page_number} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypt_pdf(data: bytes, *, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Interpellation om bemanning i Kumla kommun", level=1)
    document.add_paragraph("Första stycket om socialtjänsten.")
    document.add_paragraph("")  # spacing paragraphs carry no text
    table = document.add_table(rows=3, cols=3)
    for row, values in enumerate([("År", "Slutat", "Anställda"), ("2024", "14", "42"), ("2025", "9", "40")]):
        for column, value in enumerate(values):
            table.cell(row, column).text = value
    merged = table.cell(2, 1).merge(table.cell(2, 2))
    merged.text = "uppgift saknas"
    document.add_paragraph("För Vänsterpartiet i Kumla 12/5 2026")
    document.add_paragraph("Margareta Hultman Brikell")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# discover


def test_discover_finds_supported_files_recursively_in_order(tmp_path: Path) -> None:
    for name in (
        "b.txt",
        "a.md",
        "sub/c.PDF",
        "sub/deeper/d.docx",
        "page.htm",
        "page2.html",
        "a.md.meta.json",
        "notes.rtf",
        ".hidden.txt",
        ".git/config.txt",
        "sub/.cache/e.txt",
        "~$lock.docx",
        "README.md",
        "SOURCE.md",
        "sub/License.txt",
    ):
        write(tmp_path, name, "x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a.md", "b.txt", "page.htm", "page2.html", "sub/c.PDF", "sub/deeper/d.docx"]


def test_discover_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="is not a folder"):
        discover(tmp_path / "missing")


def test_doc_id_is_relative_with_forward_slashes(tmp_path: Path) -> None:
    doc = read(tmp_path, "kumla/2026/svar.txt", "Svar på interpellation\n\nText.")
    assert doc.doc_id == "kumla/2026/svar.txt"


# ---------------------------------------------------------------------------
# text decoding


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", SWEDISH),
        ("utf-8-sig", SWEDISH),
        ("cp1252", SWEDISH + " ”citat” €"),
        ("latin-1", "Åsa Öberg frågar om äldreomsorgen, é och ü följer med"),
        ("utf-16", SWEDISH),
        ("utf-16-le", SWEDISH),  # no byte order mark: read as "binary data (NUL bytes)" before
        ("utf-16-be", SWEDISH),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, text: str) -> None:
    doc = read(tmp_path, "record.txt", (text + "\nAndra raden").encode(encoding))
    assert doc.text == text + "\nAndra raden"


def test_mostly_utf8_with_a_pasted_cp1252_phrase(tmp_path: Path) -> None:
    data = ("Åsa Öberg skriver om äldreomsorgen i Kumla. " * 3).encode() + "Citat: ”bra”".encode("cp1252")
    assert read(tmp_path, "mixed.txt", data).text.endswith("Citat: ”bra”")


def test_line_endings_and_unicode_are_normalized(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Åsa Öberg")
    doc = read(tmp_path, "crlf.txt", f"{decomposed}\r\nrad två\rrad tre\r\n".encode())
    assert doc.text == "Åsa Öberg\nrad två\nrad tre\n"
    assert "\r" not in doc.text


def test_other_characters_are_kept(tmp_path: Path) -> None:
    text = "  Indrag\tflik\u00a0hårt mellanslag\u2028radbrytning\n\n\n"
    assert read(tmp_path, "keep.txt", text).text == text


# ---------------------------------------------------------------------------
# front matter


def test_markdown_front_matter(tmp_path: Path) -> None:
    body = "# Interpellation om skolan\n\nText om skolan.\n"
    source = (
        "---\ntitel: Skolans framtid\nkommun: Kumla kommun\ndatum: 2024-05-12\n"
        "författare: [Anna Ek (S), Bo Berg]\nnämnd: Barn- och utbildningsnämnden\n---\n\n\n" + body
    )
    doc = read(tmp_path, "skola.md", source)
    assert doc.text == body
    meta = doc.metadata
    assert (meta.title, meta.municipality, meta.date) == ("Skolans framtid", "Kumla", "2024-05-12")
    assert (meta.authors, meta.parties, meta.kind) == (["Anna Ek", "Bo Berg"], ["S"], "interpellation")
    assert meta.body == "barn- och utbildningsnämnden"


def test_unclosed_fence_is_text(tmp_path: Path) -> None:
    text = "---\nEn avdelare och sedan text utan slut.\n"
    assert read(tmp_path, "rule.md", text).text == text


def test_malformed_front_matter_names_file_and_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, "notes/bad.md", "---\ntitel: ok\nkommun: [Kumla\ndatum: 2024\n---\nText.")
    message = str(error)
    assert message.startswith("notes/bad.md: has front matter that is not valid YAML (line ")
    assert "Fix the block between the two --- lines" in message


def test_front_matter_must_be_a_mapping(tmp_path: Path) -> None:
    assert "not key: value lines" in str(error_for(tmp_path, "list.md", "---\n- a\n- b\n---\nText."))


def test_front_matter_with_a_bad_value(tmp_path: Path) -> None:
    message = str(error_for(tmp_path, "party.md", "---\nparti: Piratpartiet\n---\nText."))
    assert message.startswith("party.md: has front matter with a bad value: unknown party 'Piratpartiet'")


def test_front_matter_without_text(tmp_path: Path) -> None:
    assert "no text after it" in str(error_for(tmp_path, "only.md", "---\ntitel: Tom\n---\n\n  \n"))


# ---------------------------------------------------------------------------
# HTML


def test_html_visible_text(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Svar p&aring; interpellation &ndash; Kumla</title>
    <style>p { color: red }</style><script>var x = "<p>dold</p>";</script></head>
    <body><h1>Svar på   interpellation</h1>
    <p>Socialn&auml;mnden &amp; f&ouml;rvaltningen
    svarar&nbsp;h&auml;r.<br>Ny rad.</p><!-- kommentar -->
    <div>Andra <b>stycket</b></div><noscript>aktivera js</noscript>
    <table><tr><th>År</th><th>Antal</th></tr><tr><td>2024</td><td>21</td></tr></table>
    <p>Med detta anser jag interpellationen besvarad</p><p>Bodil Ek<br>Socialnämndens ordförande</p>
    </body></html>"""
    doc = read(tmp_path, "svar.html", html)
    assert doc.text == (
        "Svar på interpellation\n\nSocialnämnden & förvaltningen svarar\u00a0här.\nNy rad.\n\n"
        "Andra stycket\n\nÅr | Antal\n\n2024 | 21\n\nMed detta anser jag interpellationen besvarad\n\n"
        "Bodil Ek\nSocialnämndens ordförande"
    )
    meta = doc.metadata
    assert (meta.title, meta.kind, meta.body, meta.authors) == (
        "Svar på interpellation – Kumla",
        "answer",
        "socialnämnden",
        ["Bodil Ek"],
    )


def test_html_without_visible_text(tmp_path: Path) -> None:
    assert "has no visible text" in str(error_for(tmp_path, "tom.htm", "<script>alert(1)</script><p> </p>"))


# ---------------------------------------------------------------------------
# PDF


def test_pdf_text_with_swedish_characters(tmp_path: Path) -> None:
    pdf = make_pdf([f"Interpellation om äldreomsorgen i Kumla kommun\n{SWEDISH}", "Sida två\n\nDnr 2024/123"])
    doc = read(tmp_path, "rapport.pdf", pdf)
    first, second = doc.text.split("\n\n", 1)
    assert first == f"Interpellation om äldreomsorgen i Kumla kommun\n{SWEDISH}"
    assert "Sida två" in second and "Dnr 2024/123" in second
    assert (doc.metadata.kind, doc.metadata.municipality, doc.metadata.dnr) == (
        "interpellation",
        "Kumla",
        "2024/123",
    )


def test_password_protected_pdf(tmp_path: Path) -> None:
    locked = encrypt_pdf(make_pdf(["Hemligt"]), user_password="hemligt", owner_password="ägare")
    assert str(error_for(tmp_path, "låst.pdf", locked)) == (
        "låst.pdf: is password-protected. Export an unprotected copy and put it in place of this file."
    )


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    restricted = encrypt_pdf(make_pdf(["Öppen text"]), user_password="", owner_password="ägare")
    assert read(tmp_path, "begränsad.pdf", restricted).text == "Öppen text"


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6])
def test_corrupt_pdf(tmp_path: Path, keep: float) -> None:
    pdf = make_pdf(["Text som aldrig syns"])
    message = str(error_for(tmp_path, "trasig.pdf", pdf[: int(len(pdf) * keep)]))
    assert message.startswith("trasig.pdf: could not be read as a PDF (")


def test_scanned_pdf_needs_ocr(tmp_path: Path) -> None:
    message = str(error_for(tmp_path, "skannad.pdf", make_pdf(["", ""])))
    assert "needs OCR" in message and message.startswith("skannad.pdf: ")


# ---------------------------------------------------------------------------
# Word


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    doc = read(tmp_path, "interpellation.docx", make_docx())
    assert doc.text == (
        "Interpellation om bemanning i Kumla kommun\n\nFörsta stycket om socialtjänsten.\n\n"
        "År | Slutat | Anställda\n2024 | 14 | 42\n2025 | uppgift saknas\n\n"
        "För Vänsterpartiet i Kumla 12/5 2026\n\nMargareta Hultman Brikell"
    )
    meta = doc.metadata
    assert (meta.kind, meta.municipality, meta.date) == ("interpellation", "Kumla", "2026-05-12")
    assert (meta.authors, meta.parties) == (["Margareta Hultman Brikell"], ["V"])


@pytest.mark.parametrize("damage", ["truncated", "not a zip"])
def test_corrupt_docx(tmp_path: Path, damage: str) -> None:
    data = make_docx()
    data = data[: len(data) // 2] if damage == "truncated" else b"\xd0\xcf\x11\xe0 old .doc" * 40
    message = str(error_for(tmp_path, "trasig.docx", data))
    assert message.startswith("trasig.docx: could not be read as a Word document (")
    assert message.endswith("save it again as .docx (a renamed old .doc will not work).")


# ---------------------------------------------------------------------------
# files with nothing usable


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    assert str(error_for(tmp_path, f"tom{suffix}", b"")) == (
        f"tom{suffix}: is empty (0 bytes). Export the record again, or remove the file."
    )


def test_whitespace_only(tmp_path: Path) -> None:
    assert "contains only whitespace" in str(error_for(tmp_path, "blank.txt", " \n\t\r\n \u00a0\n"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(range(256)) * 4, "looks like binary data, not text (it contains NUL bytes)"),
        (bytes(range(1, 32)) * 20 + b"lite text", "characters are not text"),
        (make_pdf(["Text"]), "is a PDF file with a text extension"),
    ],
)
def test_binary_renamed_txt(tmp_path: Path, data: bytes, reason: str) -> None:
    message = str(error_for(tmp_path, "bild.txt", data))
    assert message.startswith("bild.txt: ") and reason in message


def _base64_lines(n_bytes: int) -> str:
    import base64

    packed = base64.b64encode(hashlib.sha256(b"seed").digest() * (n_bytes // 32)).decode()
    return "\n".join(packed[i : i + 76] for i in range(0, len(packed), 76))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bilaga.txt", _base64_lines(6000)),
        ("bilaga.md", hashlib.sha256(b"x").hexdigest() * 200),
        ("bilaga.html", "<html><body><p>" + _base64_lines(3000) + "</p></body></html>"),
    ],
)
def test_encoded_data_saved_as_text_is_named_not_indexed(tmp_path: Path, name: str, data: str) -> None:
    """A base64 attachment saved as .txt decoded as clean text and was embedded: its vectors
    landed near questions that no word of it could answer."""
    message = str(error_for(tmp_path, name, data))
    assert message.startswith(f"{name}: holds no readable text: only 0% of its characters")
    assert "encoded data" in message and "Export the record's text again" in message


def test_every_record_of_both_corpora_reads_as_text() -> None:
    """The readable-text check has room: the least wordy real record is far above it."""
    from assistant.parsing import MIN_WORD_SHARE, word_share

    shares = [
        word_share(read_document(path, folder).text)
        for folder in (DOCUMENTS, RIKSDAGEN)
        for path in discover(folder)
    ]
    assert len(shares) > 290 and min(shares) > 2 * MIN_WORD_SHARE


def test_front_matter_that_gives_a_key_twice_or_is_never_closed_is_named(tmp_path: Path) -> None:
    """Ingest fuzzing: the last of two "parti:" lines won without a word, and an unclosed block
    was indexed as the record's text, its title made of the YAML lines."""
    twice = error_for(tmp_path, "a.md", "---\ntitel: A\nparti: KD\nparti: V\n---\nText.\n")
    assert str(twice).startswith(
        "a.md: has front matter that is not valid YAML (line 4: found the key 'parti' twice)"
    )
    unclosed = error_for(tmp_path, "b.md", "---\ntitel: Aldrig stängd\nparti: S\n\nText om något.\n")
    assert str(unclosed).startswith("b.md: has front matter opened by --- on line 1 that no --- line closes")
    # a rule above the text opens no front matter
    assert read(tmp_path, "c.md", "---\n\nText under ett streck.\n").text.startswith("---")


def test_unsupported_type_and_unreadable_path(tmp_path: Path) -> None:
    assert "unsupported file type '.rtf'" in str(error_for(tmp_path, "a.rtf", "{\\rtf1 text}"))
    (tmp_path / "mapp.txt").mkdir()
    with pytest.raises(DocumentError, match=r"mapp\.txt: is a folder, not a file"):
        read_document(tmp_path / "mapp.txt", tmp_path)


# ---------------------------------------------------------------------------
# sidecars and precedence

LAYERED = """---
titel: Titel från front matter
datum: 2020-01-01
kommun: Kumla
---
Interpellation till socialnämndens ordförande

Text om socialtjänsten.

Örebro den 3 mars 2019
Anna Ek (S)
"""


def test_sidecar_over_front_matter_over_extraction(tmp_path: Path) -> None:
    path = write(tmp_path, "lager.md", LAYERED)
    sidecar_path(path).write_text(json.dumps({"date": "2024-06-30", "parti": ["MP"]}), encoding="utf-8")
    meta = read_document(path, tmp_path).metadata
    assert meta.date == "2024-06-30"  # sidecar over front matter over the dateline
    assert meta.parties == ["MP"]  # sidecar over the signature
    assert (meta.title, meta.municipality) == ("Titel från front matter", "Kumla")  # front matter over text
    assert (meta.authors, meta.body, meta.kind) == (["Anna Ek"], "socialnämnden", "interpellation")  # text


def test_sidecar_works_for_binary_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "rapport.pdf", make_pdf(["Skrivelse om skolan"]))
    sidecar_path(path).write_text(
        '{"kommun": "Stockholms stad", "författare": "Anna Ek (S)"}', encoding="utf-8"
    )
    meta = read_document(path, tmp_path).metadata
    assert (meta.kind, meta.municipality, meta.authors, meta.parties) == (
        "skrivelse",
        "Stockholm",
        ["Anna Ek"],
        ["S"],
    )


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        (b'{"date": "2024-01-01",}', "a.txt.meta.json: is not valid JSON (line 1, column 23: "),
        (b'["2024-01-01"]', "a.txt.meta.json: holds a JSON list, not an object. Write one object such as"),
        (b'{"datum": "i morgon"}', "a.txt.meta.json: has a bad value: 'datum: i morgon' is not a date"),
        ("{'x': 1}".encode("cp1252"), "a.txt.meta.json: is not valid JSON"),
        ('{"kommun": "Kumla"}'.encode("utf-16"), "a.txt.meta.json: is not UTF-8 text"),
        (b'{"parties": ["KD"], "parties": ["V"]}', "a.txt.meta.json: has the key 'parties' twice"),
    ],
)
def test_bad_sidecar_is_named(tmp_path: Path, sidecar: bytes, expected: str) -> None:
    path = write(tmp_path, "a.txt", "Motion om skolan\n\nText.")
    sidecar_path(path).write_bytes(sidecar)
    with pytest.raises(DocumentError) as caught:
        read_document(path, tmp_path)
    assert str(caught.value).startswith(expected)


def test_sidecar_unknown_keys_list_the_accepted_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Motion om skolan\n\nText.")
    sidecar_path(path).write_text('{"titel": "X", "författare_2": "Y", "colour": "red"}', encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        read_document(path, tmp_path)
    message = str(caught.value)
    assert message.startswith(
        "a.txt.meta.json: has unknown keys 'författare_2', 'colour'. Use only these keys: "
    )
    assert "title, kind, municipality" in message and "ställd_till" in message


def test_sidecar_may_carry_known_riksdagen_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Motion om skolan\n\nText.")
    sidecar_path(path).write_text('{"riksmöte": "2012/13", "Ställd till": "Statsrådet"}', encoding="utf-8")
    assert read_document(path, tmp_path).metadata.recipient == "Statsrådet"


def test_content_hash_covers_the_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Motion om skolan\n\nText.")
    plain = read_document(path, tmp_path).content_hash
    assert plain == hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_document(path, tmp_path).content_hash == plain
    sidecar_path(path).write_text('{"date": "2024-01-01"}', encoding="utf-8")
    first = read_document(path, tmp_path).content_hash
    sidecar_path(path).write_text('{"date": "2024-01-02"}', encoding="utf-8")
    second = read_document(path, tmp_path)
    assert len({plain, first, second.content_hash}) == 3
    assert second.metadata.date == "2024-01-02"


# ---------------------------------------------------------------------------
# real records


@pytest.mark.skipif(
    not RIKSDAGEN.is_dir(), reason="shared/riksdagen-interpellations is not beside the checkout"
)
def test_riksdagen_front_matter(tmp_path: Path) -> None:
    for name in ("ip_2012-13_0031.txt", "svar_ip_2012-13_0031.txt"):
        write(tmp_path, name, (RIKSDAGEN / name).read_bytes())
    question = read_document(tmp_path / "ip_2012-13_0031.txt", tmp_path)
    answer = read_document(tmp_path / "svar_ip_2012-13_0031.txt", tmp_path)
    assert question.text.startswith(
        "Interpellation 2012/13:31 Svårigheter att efterleva socialtjänstlagen av Eva"
    )
    assert answer.text.startswith("Herr talman! Eva Olofsson har frågat mig")
    for doc in (question, answer):
        assert "---" not in doc.text[:10] and "källa:" not in doc.text and "dokumenttyp" not in doc.text
        assert (doc.metadata.source, doc.metadata.body, doc.metadata.municipality) == (
            RIKSDAG_SOURCE,
            RIKSDAG_BODY,
            "",
        )
    assert question.metadata == DocumentMetadata(
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
    meta = answer.metadata
    assert (meta.kind, meta.date, meta.authors, meta.parties) == (
        "answer",
        "2012-11-13",
        ["Maria Larsson"],
        ["KD"],
    )
    assert (
        meta.title == "9 § Svar på interpellation 2012/13:31 om svårigheter att efterleva socialtjänstlagen"
    )


def test_bundled_records_read_as_written() -> None:
    docs = {path.name: read_document(path, DOCUMENTS) for path in discover(DOCUMENTS)}
    kinds = {
        "kumla-interpellation-2026-05-12-rorlighet-bland-socialsekreterare.txt": "interpellation",
        "stockholm-interpellation-2021-01-18-handlingsplan-for-socialsekreterare.txt": "interpellation",
        "stockholm-skrivelse-2024-personalomsattning-och-vakanser.txt": "skrivelse",
        "stockholm-skrivelse-en-anstrangd-socialtjanst.txt": "skrivelse",
        "svar-pa-interpellation-2024-12-avhopp-bland-socialsekreterare.txt": "answer",
    }
    for name, kind in kinds.items():
        doc = docs[name]
        assert doc.text == (DOCUMENTS / name).read_text(encoding="utf-8")
        extracted = extract_metadata(doc.text, filename=name)
        if sidecar_path(DOCUMENTS / name).exists():  # the sidecar states what the text leaves implicit
            assert doc.metadata.municipality == "Stockholm" and extracted.municipality == ""
            extracted.municipality = doc.metadata.municipality
        assert doc.metadata == extracted  # otherwise no front matter or sidecar
        assert doc.metadata.kind == kind


# ---------------------------------------------------------------------------
# properties


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


def _read_or_document_error(folder: Path, name: str, data: bytes) -> None:
    try:
        doc = read(folder, name, data)
    except DocumentError as error:
        assert str(error).startswith(f"{name}: ")
        return
    assert doc.text.strip() and "\r" not in doc.text
    assert doc.text == unicodedata.normalize("NFC", doc.text)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_any_bytes_give_a_document_or_a_document_error(scratch: Path, data: bytes, suffix: str) -> None:
    _read_or_document_error(scratch, f"slump{suffix}", data)


@settings(max_examples=150, deadline=None)
@given(block=st.text(max_size=200), body=st.text(max_size=200))
def test_any_front_matter_gives_a_document_or_a_document_error(scratch: Path, block: str, body: str) -> None:
    _read_or_document_error(scratch, "fm.md", f"---\n{block}\n---\n{body}".encode(errors="surrogatepass"))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".pdf", ".docx"]))
def test_any_bytes_as_pdf_or_docx(scratch: Path, data: bytes, suffix: str) -> None:
    _read_or_document_error(scratch, f"slump{suffix}", data)
