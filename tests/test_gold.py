"""The gold sets must load and keep their shape; the validator must name the line and field at fault."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.gold import (
    GoldError,
    GoldQuestion,
    fact_present,
    find_span,
    load_gold,
    normalize,
    read_body,
)
from assistant.questions import MAX_QUESTION

REPO = Path(__file__).parents[1]
DOCUMENTS = REPO / "documents"
RIKSDAGEN = Path(__file__).parents[1].parent / "shared" / "riksdagen-interpellations"
GOLD = REPO / "eval" / "gold.jsonl"
GOLD_RIKSDAGEN = REPO / "eval" / "gold-riksdagen.jsonl"
GOLD_HOLDOUT = REPO / "eval" / "gold-holdout.jsonl"
UNANSWERABLE = REPO / "eval" / "unanswerable.jsonl"
UNANSWERABLE_RIKSDAGEN = REPO / "eval" / "unanswerable-riksdagen.jsonl"
WHO_RIKSDAGEN = REPO / "eval" / "who-riksdagen.jsonl"
FRESH_RIKSDAGEN = REPO / "eval" / "fresh-riksdagen.jsonl"
BLIND_RIKSDAGEN = REPO / "eval" / "blind-riksdagen.jsonl"
ENGLISH_RIKSDAGEN = REPO / "eval" / "english-riksdagen.jsonl"


def needs_riksdagen(test):  # type: ignore[no-untyped-def]
    """The riksdagen corpus sits beside the checkout (../shared); its absence is a failure, not a skip."""
    return test


# --- the real gold sets -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def municipal() -> list[GoldQuestion]:
    return load_gold(GOLD, DOCUMENTS)


@pytest.fixture(scope="module")
def riksdagen() -> list[GoldQuestion]:
    assert RIKSDAGEN.is_dir(), f"{RIKSDAGEN} is missing: the tests need ../shared beside the checkout"
    return load_gold(GOLD_RIKSDAGEN, RIKSDAGEN)


def _two_document(questions: list[GoldQuestion]) -> list[GoldQuestion]:
    return [q for q in questions if len({s.document for s in q.sources}) >= 2]


def _assert_shape(questions: list[GoldQuestion], documents_dir: Path) -> None:
    """Rules the loader does not enforce but the evaluator relies on (see the brief in eval/README.md)."""
    for q in questions:
        where = f"{q.id} (line {q.line})"
        if not q.answerable:
            continue
        assert 1 <= len(q.facts) <= 4, where
        quoted = " ".join(normalize(s.quote) for s in q.sources)
        for alternatives in q.facts:
            # The system quotes the records verbatim, so a short alternative must be in a cited quote;
            # English alternatives are extras and may be a word longer.
            in_quotes = [alt for alt in alternatives if normalize(alt) in quoted]
            assert any(len(alt.split()) <= 3 for alt in in_quotes), f"{where}: {alternatives}"
            assert all(len(alt.split()) <= 4 for alt in alternatives), f"{where}: {alternatives}"
        for s in q.sources:
            assert 20 <= len(s.quote) <= 300, f"{where}: quote of {len(s.quote)} characters"
            body = read_body(documents_dir / s.document)
            assert normalize(body[s.start : s.end]) == normalize(s.quote), where


def test_municipal_gold_validates(municipal: list[GoldQuestion]) -> None:
    _assert_shape(municipal, DOCUMENTS)


def test_municipal_gold_composition(municipal: list[GoldQuestion]) -> None:
    languages = Counter(q.language for q in municipal)
    assert len(municipal) >= 40
    assert abs(languages["en"] - languages["sv"]) <= 4, languages
    assert sum(not q.answerable for q in municipal) >= 6
    assert len(_two_document(municipal)) >= 5
    assert {s.document for q in municipal for s in q.sources} == {p.name for p in DOCUMENTS.glob("*.txt")}


def test_municipal_gold_has_the_product_examples(municipal: list[GoldQuestion]) -> None:
    by_question = {q.question: q for q in municipal}
    turnover = by_question["What measures were promised against turnover?"]
    assert any("lönesatsning" in alts for alts in turnover.facts)
    quit_2024 = by_question["Hur många socialsekreterare slutade 2024?"]
    assert ["21"] in quit_2024.facts


def test_riksdagen_gold_validates(riksdagen: list[GoldQuestion]) -> None:
    _assert_shape(riksdagen, RIKSDAGEN)


def test_riksdagen_gold_composition(riksdagen: list[GoldQuestion]) -> None:
    languages = Counter(q.language for q in riksdagen)
    assert len(riksdagen) >= 30
    assert abs(languages["en"] - languages["sv"]) <= 3, languages
    assert sum(not q.answerable for q in riksdagen) >= 5
    assert len(_two_document(riksdagen)) >= 4
    files = {s.document for q in riksdagen for s in q.sources}
    assert len(files) >= 15
    sessions = {m.group() for f in files if (m := re.search(r"\d{4}-(\d{2}|\d{4})", f))}
    assert len(sessions) >= 8, sessions


def test_holdout_gold_validates_and_shares_no_source_with_the_riksdag_set(
    riksdagen: list[GoldQuestion],
) -> None:
    holdout = load_gold(GOLD_HOLDOUT, RIKSDAGEN)
    _assert_shape(holdout, RIKSDAGEN)
    assert sum(not q.answerable for q in holdout) >= 4
    used = {s.document for q in riksdagen for s in q.sources}
    assert not used & {s.document for q in holdout for s in q.sources}


def test_the_unanswerable_sets_hold_only_questions_the_records_leave_open() -> None:
    """Questions further from the records than the gold sets' near-misses: nothing to cite, both languages."""
    for path, documents in ((UNANSWERABLE, DOCUMENTS), (UNANSWERABLE_RIKSDAGEN, RIKSDAGEN)):
        questions = load_gold(path, documents)
        assert len(questions) >= 19 and not any(q.answerable for q in questions), path.name
        assert {q.language for q in questions} == {"en", "sv"}, path.name
        assert all(q.answer for q in questions), path.name  # each says what the records do hold


@needs_riksdagen
def test_the_who_set_asks_only_who_in_both_languages() -> None:
    """Questions answered by a record's heading (who asked whom), written to check the rules for who."""
    questions = load_gold(WHO_RIKSDAGEN, RIKSDAGEN)
    _assert_shape(questions, RIKSDAGEN)
    assert len(questions) >= 14 and all(q.answerable for q in questions)
    assert Counter(q.language for q in questions) == {"en": 7, "sv": 7}
    assert all(q.sources[0].quote.startswith("Interpellation ") for q in questions)


@needs_riksdagen
def test_the_blind_sets_cite_files_no_other_set_cites(
    riksdagen: list[GoldQuestion],
) -> None:
    """The fresh and the blind set: 20 answerable questions each, on files no other set cites."""
    others = [*riksdagen, *load_gold(GOLD_HOLDOUT, RIKSDAGEN), *load_gold(WHO_RIKSDAGEN, RIKSDAGEN)]
    used = {s.document for q in others for s in q.sources}
    for path in (FRESH_RIKSDAGEN, BLIND_RIKSDAGEN):
        questions = load_gold(path, RIKSDAGEN)
        _assert_shape(questions, RIKSDAGEN)
        assert len(questions) == 20 and all(q.answerable for q in questions), path.name
        assert Counter(q.language for q in questions) == {"en": 10, "sv": 10}, path.name
        cited = {s.document for q in questions for s in q.sources}
        assert not used & cited, path.name
        used |= cited


@needs_riksdagen
def test_the_english_set_asks_in_english_about_files_no_other_set_cites(
    riksdagen: list[GoldQuestion],
) -> None:
    """24 English questions written blind: the check on what English questions get from the term list."""
    questions = load_gold(ENGLISH_RIKSDAGEN, RIKSDAGEN)
    _assert_shape(questions, RIKSDAGEN)
    assert len(questions) == 24 and all(q.answerable and q.language == "en" for q in questions)
    sets = (GOLD_HOLDOUT, WHO_RIKSDAGEN, FRESH_RIKSDAGEN, BLIND_RIKSDAGEN)
    others = [riksdagen, *(load_gold(path, RIKSDAGEN) for path in sets)]
    used = {s.document for qs in others for q in qs for s in q.sources}
    assert not used & {s.document for q in questions for s in q.sources}


@needs_riksdagen
def test_riksdagen_reader_skips_front_matter() -> None:
    body = read_body(RIKSDAGEN / "ip_2012-13_0031.txt")
    assert body.startswith("Interpellation 2012/13:31")
    assert "riksdagen_dok_id" not in body


# --- the validator ------------------------------------------------------------------------------


def _good(**changes: object) -> dict[str, object]:
    line: dict[str, object] = {
        "id": "q01",
        "language": "sv",
        "question": "Hur många slutade?",
        "answerable": True,
        "answer": "Fjorton slutade.",
        "facts": [["14"]],
        "sources": [{"document": "doc.txt", "quote": "14 socialsekreterare slutat"}],
    }
    line.update(changes)
    return line


def _unanswerable(**changes: object) -> dict[str, object]:
    return _good(answerable=False, facts=[], sources=[], answer="Det framgår inte.", **changes)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "doc.txt").write_text(
        "---\ntitle: Rörlighet\nnote: hemlig rad\n---\nI årsredovisningen framkom att 14\n"
        "socialsekreterare   slutat under året.\n",
        encoding="utf-8",
    )
    return folder


def _write(tmp_path: Path, *lines: object) -> Path:
    """Each item is a dict (written as JSON) or a raw string (written as is)."""
    path = tmp_path / "gold.jsonl"
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _problems(path: Path, docs: Path) -> list[tuple[int, str]]:
    with pytest.raises(GoldError) as info:
        load_gold(path, docs)
    return [(p.line, p.field) for p in info.value.problems]


def _only_problem(path: Path, docs: Path, line: int, field: str) -> str:
    """The one problem of the file, checked to be on ``line`` in ``field``; its message."""
    with pytest.raises(GoldError) as info:
        load_gold(path, docs)
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, field)
    return str(problem)


def test_valid_file_loads_with_resolved_spans(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, "", _good(), "   ", _unanswerable(id="q02"))
    questions = load_gold(path, docs)
    assert [(q.id, q.line) for q in questions] == [("q01", 2), ("q02", 4)]
    source = questions[0].sources[0]
    body = read_body(docs / "doc.txt")
    assert body[source.start : source.end] == "14\nsocialsekreterare   slutat"
    assert questions[1].sources == [] and questions[1].facts == []


def test_invalid_json(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(), '{"id": "q02", "language": ')
    assert _problems(path, docs) == [(2, "(line)")]


def test_not_an_object(tmp_path: Path, docs: Path) -> None:
    assert _problems(_write(tmp_path, "[1, 2]"), docs) == [(1, "(line)")]


def test_missing_and_extra_keys(tmp_path: Path, docs: Path) -> None:
    line = _good(source="typo")
    del line["answer"]
    assert _problems(_write(tmp_path, line), docs) == [(1, "answer"), (1, "source")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": 7}, "id"),
        ({"question": ["Hur?"]}, "question"),
        ({"answer": None}, "answer"),
        ({"answerable": "yes"}, "answerable"),
        ({"facts": "14"}, "facts"),
        ({"facts": ["14"]}, "facts[0]"),
        ({"facts": [["14", 14]]}, "facts[0][1]"),
        ({"facts": [[]]}, "facts[0]"),
        ({"facts": None}, "facts"),  # was taken as "no facts": the question went silently unscored
        ({"sources": None}, "sources"),  # passed, then failed the eval run naming no file or line
        ({"sources": {"document": "doc.txt"}}, "sources"),
        ({"sources": ["doc.txt"]}, "sources[0]"),
        ({"sources": [{"document": "doc.txt"}]}, "sources[0].quote"),
        (
            {"sources": [{"document": "doc.txt", "quote": "14 socialsekreterare", "page": 1}]},
            "sources[0].page",
        ),
    ],
)
def test_wrong_types(tmp_path: Path, docs: Path, change: dict[str, object], field: str) -> None:
    assert _problems(_write(tmp_path, _good(**change)), docs) == [(1, field)]


def test_null_facts_and_sources_are_refused_on_unanswerable_questions_too(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, {**_unanswerable(), "facts": None}, {**_unanswerable(id="q02"), "sources": None})
    with pytest.raises(GoldError) as info:
        load_gold(path, docs)
    assert [(p.line, p.field) for p in info.value.problems] == [(1, "facts"), (2, "sources")]
    assert all("must be a list, got null" in str(p) for p in info.value.problems)


def test_language_must_be_en_or_sv(tmp_path: Path, docs: Path) -> None:
    assert _problems(_write(tmp_path, _good(language="no")), docs) == [(1, "language")]


def test_duplicate_id_is_reported_on_the_second_line(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(), "", _unanswerable())
    problem = _only_problem(path, docs, 3, "id")
    assert "first on line 1" in problem


def test_question_longer_than_the_api_takes_is_refused(tmp_path: Path, docs: Path) -> None:
    """A 5 MB question ran the eval out of memory; the limit is the one the HTTP API and ``ask`` use."""
    longest = _good(question="x" * MAX_QUESTION)
    too_long = _good(id="q02", question="x" * (MAX_QUESTION + 1))
    problem = _only_problem(_write(tmp_path, longest, too_long), docs, 2, "question")
    assert f"{MAX_QUESTION + 1:,} characters" in problem and f"at most {MAX_QUESTION:,}" in problem


def test_empty_question(tmp_path: Path, docs: Path) -> None:
    assert _problems(_write(tmp_path, _good(question="  ")), docs) == [(1, "question")]


def test_answerable_needs_facts_and_sources(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(facts=[]), _good(id="q02", sources=[]))
    assert _problems(path, docs) == [(1, "facts"), (2, "sources")]


def test_unanswerable_must_not_have_facts_or_sources(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(answerable=False))
    assert _problems(path, docs) == [(1, "facts"), (1, "sources")]


def test_missing_document(tmp_path: Path, docs: Path) -> None:
    missing = _good(sources=[{"document": "nope.txt", "quote": "14 socialsekreterare"}])
    outside = _good(id="q02", sources=[{"document": "../gold.jsonl", "quote": "q01"}])
    assert _problems(_write(tmp_path, missing, outside), docs) == [
        (1, "sources[0].document"),
        (2, "sources[0].document"),
    ]


@pytest.mark.parametrize(
    ("document", "reason"), [("a" * 5000, "File name too long"), ("a\u0000b.txt", "contains a NUL character")]
)
def test_a_document_that_is_no_file_name_names_the_line_and_field(
    tmp_path: Path, docs: Path, document: str, reason: str
) -> None:
    """Raised OSError (name too long) and a bare "embedded null byte" (NUL) naming no file or line."""
    path = _write(tmp_path, _good(id="q00"), _good(sources=[{"document": document, "quote": "14 slutat"}]))
    problem = _only_problem(path, docs, 2, "sources[0].document")
    assert "is not a valid file name" in problem and reason in problem
    assert len(problem) < 300, "a 5000-character name is cut short"


def test_quote_not_found_names_the_document(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(sources=[{"document": "doc.txt", "quote": "15 socialsekreterare"}]))
    problem = _only_problem(path, docs, 1, "sources[0].quote")
    assert "quote not found in doc.txt; copy it verbatim from the document" in problem


def test_front_matter_is_not_searchable(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(sources=[{"document": "doc.txt", "quote": "note: hemlig rad"}]))
    assert _problems(path, docs) == [(1, "sources[0].quote")]


def test_all_errors_are_reported_at_once(tmp_path: Path, docs: Path) -> None:
    path = _write(
        tmp_path,
        _good(language="de"),
        "not json",
        "",
        _good(id="q03", sources=[{"document": "doc.txt", "quote": "saknas helt"}]),
        _unanswerable(id="q04", question=""),
    )
    with pytest.raises(GoldError) as info:
        load_gold(path, docs)
    found = [(p.line, p.field) for p in info.value.problems]
    assert found == [(1, "language"), (2, "(line)"), (4, "sources[0].quote"), (5, "question")]
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"{path}:1: field 'language': ")
    assert all(re.match(rf"{re.escape(str(path))}:\d+: field '[^']+': .+\. .+\.$", line) for line in lines)


def test_lines_split_on_newline_only(tmp_path: Path, docs: Path) -> None:
    """``str.splitlines`` also split on U+2028 and form feeds: a valid question holding U+2028 was two broken
    lines, and a form feed ending line 1 made the error on line 2 be reported on line 3."""
    question = json.dumps(_good(question="Hur många\u2028slutade?"), ensure_ascii=False)
    path = tmp_path / "gold.jsonl"
    path.write_text(question + "\r\n" + json.dumps(_unanswerable(id="q02")) + "\r\n", encoding="utf-8")
    assert [(q.question, q.line) for q in load_gold(path, docs)] == [
        ("Hur många\u2028slutade?", 1),
        ("Hur många slutade?", 2),
    ]
    assert _problems(_write(tmp_path, json.dumps(_good()) + "\f", "{bad"), docs) == [(2, "(line)")]


def test_deeply_nested_line_is_invalid_json(tmp_path: Path, docs: Path) -> None:
    """Raised RecursionError with a traceback."""
    path = _write(tmp_path, _good(), "[" * 100_000 + "]" * 100_000)
    problem = _only_problem(path, docs, 2, "(line)")
    assert "invalid JSON (nested too deeply)" in problem


def test_a_byte_order_mark_is_accepted(tmp_path: Path, docs: Path) -> None:
    """Was "Unexpected UTF-8 BOM" on line 1: Windows editors save UTF-8 with one."""
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(_good(), ensure_ascii=False) + "\n", encoding="utf-8-sig")
    assert [q.id for q in load_gold(path, docs)] == ["q01"]


def test_a_file_not_in_utf8_names_the_line_and_says_to_save_as_utf8(tmp_path: Path, docs: Path) -> None:
    """Was "<file>:0: cannot read the gold file (...). Check the path." for a Latin-1 file."""
    path = tmp_path / "gold.jsonl"
    second = json.dumps(_good(id="q02"), ensure_ascii=False).encode("latin-1")
    path.write_bytes(json.dumps(_good()).encode() + b"\n" + second + b"\n")
    problem = _only_problem(path, docs, 2, "(file)")
    assert "not UTF-8 text (byte 0xe5" in problem and "Save the file as UTF-8" in problem


def test_empty_file_is_an_error(tmp_path: Path, docs: Path) -> None:
    assert _problems(_write(tmp_path, ""), docs) == [(1, "(file)")]


def test_custom_reader_is_used(tmp_path: Path, docs: Path) -> None:
    path = _write(tmp_path, _good(sources=[{"document": "doc.txt", "quote": "custom text"}]))
    [question] = load_gold(path, docs, read_text=lambda p: "some custom text here")
    assert (question.sources[0].start, question.sources[0].end) == (5, 16)


# --- matching helpers ---------------------------------------------------------------------------


def test_find_span_ignores_whitespace_layout() -> None:
    text = "Intro.\n\nDet är 21   socialsekreterare\nsom slutat  eller\n\tbytt tjänst."
    quote = "21 socialsekreterare som slutat eller bytt tjänst"
    start, end = find_span(text, quote) or (0, 0)
    assert text[start:end] == "21   socialsekreterare\nsom slutat  eller\n\tbytt tjänst"
    assert normalize(text[start:end]) == normalize(quote)


def test_find_span_accepts_a_quote_with_its_own_line_breaks() -> None:
    text = "styr- och referensgrupperna"
    assert find_span(text, "  styr-\n och\n referensgrupperna ") == (0, len(text))


def test_find_span_misses() -> None:
    assert find_span("14 socialsekreterare", "15 socialsekreterare") is None
    assert find_span("14 socialsekreterare", "14 Socialsekreterare") is None  # quotes are verbatim
    assert find_span("14 socialsekreterare", "   ") is None


@given(
    words=st.lists(st.text("abcåäö,.", min_size=1, max_size=6), min_size=1, max_size=12),
    gaps=st.lists(st.sampled_from([" ", "  ", "\n", " \n\t", "\r\n"]), min_size=12, max_size=12),
    data=st.data(),
)
def test_find_span_round_trips(words: list[str], gaps: list[str], data: st.DataObject) -> None:
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i, len(words) - 1))
    quote = " ".join(words[i : j + 1])
    span = find_span(text, quote)
    assert span is not None
    assert normalize(text[span[0] : span[1]]) == normalize(quote)
    assert not text[span[0]].isspace() and not text[span[1] - 1].isspace()


def test_fact_present_is_case_and_whitespace_insensitive() -> None:
    answer = "Förvaltningen lovar en LÖNESATSNING\ni löneöversynen   2025 [1]."
    assert fact_present(answer, ["lönesatsning"])
    assert fact_present(answer, ["salary", "Löneöversynen 2025"])
    assert fact_present(answer, ["löneöversynen\n2025"])
    assert not fact_present(answer, ["specialistsocionomer", "specialist"])
    assert not fact_present(answer, [])


def test_normalize() -> None:
    assert normalize("  Tolv AV\n\tfjorton ") == "tolv av fjorton"
    assert normalize("La\u0308nsstyrelsen") == normalize("Länsstyrelsen")
