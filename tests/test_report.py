"""The report: files on disk, escaping of hostile text, the failure list and the terminal table."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image
import pytest

from assistant.metrics import (
    SUMMARY_KEYS,
    QuestionResult,
    Span,
    evaluate_question,
    summarize,
    summarize_by_language,
)
from assistant.report import escape_markdown, failure_reasons, format_table, format_value, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GOLD = Span("gold.txt", 0, 100)
HOSTILE = "Vad <script>alert(1)</script> | `rm -rf` [klicka](javascript:alert(1))\n# rubrik & mer"


def result(
    id: str,
    *,
    language: str = "sv",
    question: str = "Vad beslutade nämnden?",
    gold: tuple[Span, ...] = (GOLD,),
    facts: tuple[tuple[str, ...], ...] = (("tio",),),
    retrieved: tuple[Span, ...] = (GOLD,),
    cited: tuple[Span, ...] = (GOLD,),
    answer_text: str = "Tio.",
    abstained: bool = False,
    failure: str | None = None,
) -> QuestionResult:
    return evaluate_question(
        id=id,
        language=language,
        question=question,
        gold=gold,
        facts=facts,
        retrieved=retrieved,
        retrieved_ids=[f"{s.doc_id}#{i}" for i, s in enumerate(retrieved)],
        cited=cited,
        answer_text=answer_text,
        abstained=abstained,
        retrieval_ms=5.0,
        answer_ms=50.0,
        failure=failure,
    )


def noise(n: int) -> tuple[Span, ...]:
    return tuple(Span(f"noise-{i}.txt", 0, 10) for i in range(n))


@pytest.fixture
def questions() -> list[QuestionResult]:
    return [
        result("ok-1"),
        result("hostile|id", question=HOSTILE, retrieved=noise(6), answer_text="Svar " * 100),
        result("en-1", language="en", gold=(), facts=(), retrieved=noise(2), cited=(), abstained=True),
    ]


def write(tmp_path: Path, questions: list[QuestionResult], name: str = "report.md") -> tuple[Path, Path]:
    modes = {"hybrid": questions, "dense": questions[:2], "lexical": questions}
    md = tmp_path / "out" / name
    png = write_report(
        md,
        title="Utvärdering",
        summaries={mode: summarize(rs) for mode, rs in modes.items()},
        by_language={mode: summarize_by_language(rs) for mode, rs in modes.items()},
        questions=questions,
        settings={"k": 10, "modes": ["hybrid", "dense", "lexical"], "gold": "eval/gold.jsonl"},
        notes=["first run | after re-chunking"],
    )
    return md, png


def failure_block(markdown: str, heading_fragment: str) -> str:
    start = markdown.index(f"### {heading_fragment}")
    end = markdown.find("\n### ", start + 1)
    return markdown[start : end if end >= 0 else len(markdown)]


def test_writes_markdown_and_a_real_png_beside_it(tmp_path: Path, questions: list[QuestionResult]) -> None:
    md, png = write(tmp_path, questions)
    assert md.is_file()
    assert png == md.with_suffix(".png") and png.is_file()
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000  # an actual chart, not an empty canvas
    assert matplotlib.image.imread(png).shape[:2] == (600, 1000)  # 10 x 6 in at 100 dpi


def test_markdown_has_every_section_and_links_the_chart_relatively(
    tmp_path: Path, questions: list[QuestionResult]
) -> None:
    md, png = write(tmp_path, questions)
    text = md.read_text(encoding="utf-8")
    for heading in ("# Utvärdering", "## Run settings", "## Metrics", "## By language", "## Chart"):
        assert heading in text
    assert "## Questions that failed and why" in text
    assert "- k: 10" in text
    assert f"]({png.name})" in text
    assert (md.parent / png.name).is_file()
    for key in SUMMARY_KEYS:
        assert f"| {key} |" in text
    assert "| Metric | hybrid | dense | lexical |" in text
    assert "hybrid (sv)" in text and "lexical (en)" in text


def test_chart_link_is_url_encoded(tmp_path: Path, questions: list[QuestionResult]) -> None:
    md, _ = write(tmp_path, questions, name="my report.md")
    assert "](my%20report.png)" in md.read_text(encoding="utf-8")


def test_markdown_tables_keep_their_shape(tmp_path: Path, questions: list[QuestionResult]) -> None:
    md, _ = write(tmp_path, questions)
    for block in re.findall(r"(?:^\|.*\|\n)+", md.read_text(encoding="utf-8"), flags=re.MULTILINE):
        assert len({line.count("|") for line in block.splitlines()}) == 1


def test_hostile_question_text_is_escaped(tmp_path: Path, questions: list[QuestionResult]) -> None:
    md, _ = write(tmp_path, questions)
    text = md.read_text(encoding="utf-8")
    block = failure_block(text, "hostile")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    assert "`" not in text
    assert "[klicka](javascript:" not in text
    assert "&#91;klicka&#93;(javascript:alert(1))" in block
    assert "hostile&#124;id" in block
    # The newline before "# rubrik" is collapsed: it cannot become a heading.
    assert "\n# rubrik" not in text
    assert "&#96;rm -rf&#96; &#91;klicka" in block
    assert "&amp; mer" in block
    assert "first run &#124; after re-chunking" in text


def test_escape_markdown() -> None:
    assert escape_markdown("a\n\n b\r\nc\td") == "a b c d"
    assert escape_markdown("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert escape_markdown("x|y") == "x&#124;y"
    assert escape_markdown("![i](http://e/x.png)") == "!&#91;i&#93;(http://e/x.png)"
    assert escape_markdown("*bold* _it_ ~s~ $m$") == r"\*bold\* \_it\_ \~s\~ \$m\$"
    # A backslash in the text cannot escape our escapes: "\|" must not become "\&#124;".
    assert escape_markdown("\\|") == "&#92;&#124;"
    assert escape_markdown("a\x1b[31mb\u202ec") == "a&#91;31mbc"  # terminal escape and bidi override dropped
    assert escape_markdown("q #1 #") == "q #1 #"
    assert escape_markdown("q|#1 #", heading=True) == "q&#124;&#35;1 &#35;"


def test_failure_section_lists_the_failed_questions_with_reasons(
    tmp_path: Path, questions: list[QuestionResult]
) -> None:
    md, _ = write(tmp_path, questions)
    text = md.read_text(encoding="utf-8")
    assert "### ok-1" not in text  # passed everything
    assert "### en-1" not in text  # correctly abstained on an unanswerable question
    block = failure_block(text, "hostile")
    assert "(sv)" in block
    assert "no gold source in the top 5" in block
    assert 'missing facts: "tio"' in block
    assert (
        "Top 3 retrieved: noise-0.txt&#35;0, noise-1.txt&#35;1, noise-2.txt&#35;2\n" not in block
    )  # no #-escape
    assert "Top 3 retrieved: noise-0.txt#0, noise-1.txt#1, noise-2.txt#2\n" in block
    answer = re.search(r"- Answer: (.*)", block)
    assert answer is not None
    assert answer.group(1).endswith("…")
    assert len(answer.group(1)) <= 301


def test_no_failures_says_so(tmp_path: Path) -> None:
    md, _ = write(tmp_path, [result("ok-1"), result("ok-2", language="en")])
    assert "None: every question passed every check." in md.read_text(encoding="utf-8")


def test_failure_reasons() -> None:
    assert failure_reasons(result("fine")) == []
    assert failure_reasons(result("abst", abstained=True, answer_text="")) == [
        'missing facts: "tio"',
        "abstained although the question is answerable",
    ]
    assert failure_reasons(result("un", gold=(), facts=(), abstained=False)) == [
        "answered although the question is unanswerable"
    ]
    off = result("off", cited=(GOLD, Span("x.txt", 0, 5), Span("gold.txt", 100, 120)))
    assert failure_reasons(off) == ["2 of 3 citations overlap no gold source"]
    crashed = result("crash", retrieved=(), cited=(), answer_text="", failure="RuntimeError: boom")
    assert failure_reasons(crashed) == [
        "error: RuntimeError: boom",
        "no gold source in the top 5 retrieved chunks",
        'missing facts: "tio"',
    ]


def test_format_table_has_every_metric_and_mode() -> None:
    q = [result("a"), result("b", gold=(), facts=(), abstained=True)]
    summaries = {"hybrid": summarize(q), "dense": summarize(q[1:]), "lexical": summarize(q)}
    table = format_table(summaries)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "hybrid", "dense", "lexical"]
    for key in SUMMARY_KEYS:
        assert any(line.split()[0] == key for line in lines), key
    hit1 = next(line for line in lines if line.startswith("hit@1 "))
    assert hit1.split() == ["hit@1", "1.000", "—", "1.000"]
    p50 = next(line for line in lines if line.startswith("retrieval_p50_ms"))
    assert p50.split() == ["retrieval_p50_ms", "5.0", "ms", "5.0", "ms", "5.0", "ms"]
    assert len({len(line) for line in lines}) == 1  # aligned columns


def test_format_value() -> None:
    assert format_value("n_questions", 40) == "40"
    assert format_value("hit@5", 2 / 3) == "0.667"
    assert format_value("answer_p95_ms", 1234.56) == "1234.6 ms"
    assert format_value("mrr@10", None) == "—"
    assert format_value("mrr@10", float("nan")) == "—"
