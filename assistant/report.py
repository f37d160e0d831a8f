"""The evaluation report: a terminal table, a Markdown file and a PNG chart.

Question and document text come from outside (gold files, council records,
model output), so every piece of it is escaped before it reaches the Markdown:
a ``<script>``, a ``|`` or a ``[x](javascript:...)`` in a question must render
as those characters, not as HTML, a broken table or a live link.

The chart is drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas, no
pyplot), so writing a report never needs a display and never changes the
process-wide backend of an app that also plots.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .metrics import SUMMARY_KEYS, QuestionResult, overlaps

MISSING = "—"
ANSWER_PREVIEW_CHARS = 300
TOP_IDS_SHOWN = 3

CHART_METRICS = (
    ("hit@1", "hit@1"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("fact_recall", "fact recall"),
    ("citation_precision", "citation\nprecision"),
)
"""(summary key, axis label) of the bars in every chart panel."""

_ESCAPES: dict[str, str] = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "\\": "&#92;",
    "*": "\\*",
    "_": "\\_",
    "~": "\\~",
    "$": "\\$",
}
"""Applied in one pass over the text, so no escape is ever escaped again.
Characters that could build HTML, links, code or table cells become entities;
emphasis and math markers get a backslash, which stays readable in the raw file
and is safe because every backslash of the text itself has become an entity."""
_TEXT = str.maketrans(_ESCAPES)
_HEADING = str.maketrans({**_ESCAPES, "#": "&#35;"})

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def escape_markdown(text: object, *, heading: bool = False) -> str:
    """Text that renders literally in Markdown/HTML, on one line.

    Whitespace runs (newlines included) collapse to one space so text cannot
    end a table row or start a heading; control and bidi-override characters
    are dropped so the file also reads honestly in a terminal. ``heading``
    also escapes "#", which at the end of a heading would be eaten as its
    closing sequence.
    """
    single_line = " ".join(str(text).split())
    visible = "".join(
        ch for ch in single_line if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS
    )
    return visible.translate(_HEADING if heading else _TEXT)


def format_value(key: str, value: object) -> str:
    """How a summary value is shown: counts as integers, latencies in ms, ratios to 3 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if not isinstance(value, (int, float)):
        return str(value)
    if key == "n_questions":
        return str(int(value))
    if key.endswith("_ms"):
        return f"{value:.1f} ms"
    return f"{value:.3f}"


def _row_values(key: str, columns: Sequence[Mapping[str, object]]) -> list[str]:
    return [format_value(key, column.get(key)) for column in columns]


def format_table(summaries: Mapping[str, Mapping[str, object]]) -> str:
    """A plain-text table for the terminal: one column per mode, one row per summary key."""
    header = ["metric", *summaries]
    rows = [[key, *_row_values(key, list(summaries.values()))] for key in SUMMARY_KEYS]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        numbers = (c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))
        return "  ".join([first.ljust(widths[0]), *numbers])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub table; callers pass already-escaped cells."""
    align = ["---", *(["---:"] * (len(header) - 1))]
    return [f"| {' | '.join(cells)} |" for cells in [header, align, *rows]]


def _metric_rows(columns: Sequence[Mapping[str, object]]) -> list[list[str]]:
    """One row per summary key; values escaped too, in case a summary holds something other than a number."""
    return [[key, *(escape_markdown(v) for v in _row_values(key, columns))] for key in SUMMARY_KEYS]


def _metrics_table(summaries: Mapping[str, Mapping[str, object]]) -> list[str]:
    header = ["Metric", *(escape_markdown(mode) for mode in summaries)]
    return _markdown_table(header, _metric_rows(list(summaries.values())))


def _languages(by_language: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Every language seen in any mode, in order of first appearance."""
    return list(dict.fromkeys(lang for per_mode in by_language.values() for lang in per_mode))


def _language_table(by_language: Mapping[str, Mapping[str, Mapping[str, object]]]) -> list[str]:
    pairs = [(mode, lang) for mode in by_language for lang in _languages(by_language)]
    header = ["Metric", *(f"{escape_markdown(mode)} ({escape_markdown(lang)})" for mode, lang in pairs)]
    columns = [by_language[mode].get(lang, {}) for mode, lang in pairs]
    return _markdown_table(header, _metric_rows(columns))


def _setting_text(value: object) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _off_target_citations(result: QuestionResult) -> int:
    return sum(not any(overlaps(c, g) for g in result.gold) for c in result.cited)


def failure_reasons(result: QuestionResult) -> list[str]:
    """Why a question counts as failed, in plain (unescaped) words; empty if it did not fail."""
    reasons: list[str] = []
    if result.failure:
        reasons.append(f"error: {result.failure}")
    if result.hit_at_5 == 0:
        reasons.append("no gold source in the top 5 retrieved chunks")
    if result.answerable:
        pairs = zip(result.facts, result.facts_matched, strict=True)
        missing = [alts[0] for alts, ok in pairs if not ok and alts]
        if missing:
            reasons.append("missing facts: " + "; ".join(f'"{m}"' for m in missing))
        if result.abstained:
            reasons.append("abstained although the question is answerable")
        elif result.citation_precision is not None and result.citation_precision < 1:
            off = _off_target_citations(result)
            reasons.append(f"{off} of {len(result.cited)} citations overlap no gold source")
    elif not result.abstained:
        reasons.append("answered although the question is unanswerable")
    return reasons


def _preview(text: str, limit: int = ANSWER_PREVIEW_CHARS) -> str:
    """The first ``limit`` characters, cut *before* escaping so no entity is split."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def _failure_section(questions: Sequence[QuestionResult]) -> list[str]:
    lines = ["## Questions that failed and why", ""]
    failed = [(q, failure_reasons(q)) for q in questions]
    failed = [(q, reasons) for q, reasons in failed if reasons]
    if not failed:
        return [*lines, "None: every question passed every check.", ""]
    lines += [f"{len(failed)} of {len(questions)} questions.", ""]
    for q, reasons in failed:
        top = ", ".join(escape_markdown(i) for i in q.retrieved_ids[:TOP_IDS_SHOWN]) or MISSING
        answer = escape_markdown(_preview(q.answer_text)) or MISSING
        lines += [
            f"### {escape_markdown(q.id, heading=True)} ({escape_markdown(q.language, heading=True)})",
            "",
            f"- Question: {escape_markdown(q.question)}",
            f"- Why: {escape_markdown('; '.join(reasons))}",
            f"- Top {TOP_IDS_SHOWN} retrieved: {top}",
            f"- Answer: {answer}",
            "",
        ]
    return lines


def render_markdown(
    *,
    title: str,
    summaries: Mapping[str, Mapping[str, object]],
    by_language: Mapping[str, Mapping[str, Mapping[str, object]]],
    questions: Sequence[QuestionResult],
    settings: Mapping[str, object],
    chart_name: str,
    notes: Sequence[str] = (),
) -> str:
    """The report's Markdown; ``chart_name`` is the PNG's file name relative to the report."""
    lines = [f"# {escape_markdown(title)}", "", "## Run settings", ""]
    lines += [f"- {escape_markdown(k)}: {escape_markdown(_setting_text(v))}" for k, v in settings.items()]
    lines += [
        "",
        "## Metrics",
        "",
        "Retrieval metrics (hit@k, MRR@10, nDCG@10), fact recall and citation metrics count answerable "
        "questions only; abstention accuracy counts unanswerable ones. " + MISSING + " means no question "
        "qualified.",
        "",
        *_metrics_table(summaries),
        "",
        "## By language",
        "",
        *_language_table(by_language),
        "",
        "## Chart",
        "",
        f"![Metrics per mode and language]({quote(chart_name)})",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *(f"- {escape_markdown(n)}" for n in notes), ""]
    lines += _failure_section(questions)
    return "\n".join(lines)


def _plain(label: object) -> str:
    """A chart label that matplotlib will not parse as mathtext (``$...$``)."""
    return str(label).replace("$", r"\$")


def _panel(ax: Axes, title: str, summaries: Mapping[str, Mapping[str, object]]) -> None:
    """Grouped bars: one group per metric, one bar per mode; "n/a" where a metric has no value."""
    modes = list(summaries)
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        xs = [m + (i - (len(modes) - 1) / 2) * width for m in range(len(CHART_METRICS))]
        values = [summaries[mode].get(key) for key, _ in CHART_METRICS]
        heights = [float(v) if isinstance(v, (int, float)) else 0.0 for v in values]
        ax.bar(xs, heights, width, label=_plain(mode), color=f"C{i}")
        for x, v in zip(xs, values, strict=True):
            if not isinstance(v, (int, float)):
                ax.text(x, 0.02, "n/a", ha="center", va="bottom", rotation=90, fontsize=7, color="0.4")
    ax.set_title(_plain(title), fontsize=10)
    ax.set_xticks(range(len(CHART_METRICS)), [label for _, label in CHART_METRICS], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (0–1)")
    ax.set_xlabel("metric")
    ax.grid(axis="y", alpha=0.3)


def _panel_title(label: str, summaries: Mapping[str, Mapping[str, object]]) -> str:
    counts = {s.get("n_questions") for s in summaries.values()}
    n = counts.pop() if len(counts) == 1 else None
    return f"{label} (n={n})" if n is not None else label


def write_chart(
    path_png: Path,
    summaries: Mapping[str, Mapping[str, object]],
    by_language: Mapping[str, Mapping[str, Mapping[str, object]]],
) -> Path:
    """Bars per mode for all questions, plus one panel per language, two panels a row."""
    panels = [(_panel_title("All questions", summaries), summaries)]
    for lang in _languages(by_language):
        per_mode = {mode: by_language[mode][lang] for mode in by_language if lang in by_language[mode]}
        panels.append((_panel_title(f"Language: {lang}", per_mode), per_mode))
    rows = math.ceil(len(panels) / 2)
    fig = Figure(figsize=(10, 3 * max(rows, 2)), dpi=100, layout="constrained")
    axes = fig.subplots(max(rows, 2), 2, squeeze=False).ravel()
    for ax, (title, data) in zip(axes, panels, strict=False):
        _panel(ax, title, data)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    fig.legend(*axes[0].get_legend_handles_labels(), title="mode", loc="outside upper center", ncols=4)
    path_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path_png, format="png")
    return path_png


def chart_path(report: Path) -> Path:
    """Where ``write_report`` puts the chart: beside the Markdown, with the suffix ``.png``."""
    return report.with_suffix(".png")


def write_report(
    path_md: Path,
    *,
    title: str,
    summaries: Mapping[str, Mapping[str, object]],
    by_language: Mapping[str, Mapping[str, Mapping[str, object]]],
    questions: Sequence[QuestionResult],
    settings: Mapping[str, object],
    notes: Sequence[str] = (),
) -> Path:
    """Write the Markdown report and its chart beside it; returns the chart's path.

    ``questions`` feed the failure section only: pass one mode's results (the
    primary one), or a question that failed in several modes is listed twice.
    """
    path_md = Path(path_md)
    path_png = chart_path(path_md)
    write_chart(path_png, summaries, by_language)
    markdown = render_markdown(
        title=title,
        summaries=summaries,
        by_language=by_language,
        questions=questions,
        settings=settings,
        chart_name=path_png.name,
        notes=notes,
    )
    path_md.write_text(markdown, encoding="utf-8")
    return path_png
