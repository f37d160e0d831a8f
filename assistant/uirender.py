"""The chat transcript and the document view as HTML, built by hand and escaped at every step.

Records are council documents anyone can submit text to, and answers quote them
verbatim, so every string that reaches the page is treated as hostile: it goes
through ``html.escape`` here and is never handed to a Markdown renderer or to
Gradio's sanitizer (whose rules change between versions). The only markup on
the page is the markup written in this module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .i18n import t

# A citation marker as the composer writes it: after a closing quote, at the end of a line.
_MARKER = re.compile(r"(?<=\u201d) \[(\d+)\]$", re.MULTILINE)


@dataclass
class Turn:
    """One question and its answer as the chat shows it (kept in Gradio state, so plain data)."""

    question: str
    answer: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    language: str = ""
    abstained: bool = False
    done: bool = False
    error: str = ""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_chat(turns: Sequence[Turn], lang: str) -> str:
    """The whole transcript; re-rendered on every streamed piece (answers are short)."""
    opening = '<div class="cqa-chat" role="log" aria-live="polite">'
    if not turns:
        return f'{opening}<p class="cqa-intro">{esc(t("ui_intro", lang))}</p></div>'
    parts = [opening]
    for i, turn in enumerate(turns):
        parts.append(
            f'<div class="cqa-turn" data-turn="{i}">'
            f'<div class="cqa-q"><span class="cqa-who">{esc(t("ui_you", lang))}</span>'
            f'<div class="cqa-q-text">{esc(turn.question)}</div></div>'
            f"{_render_answer(i, turn, lang)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def _render_answer(i: int, turn: Turn, lang: str) -> str:
    status = "done" if turn.done else "streaming"
    if turn.error:
        return f'<div class="cqa-a cqa-error" data-status="error" role="alert">{esc(turn.error)}</div>'
    if not turn.answer:
        pending = esc(t("ui_searching", lang))
        return f'<div class="cqa-a" data-status="pending"><span class="cqa-pending">{pending}</span></div>'
    known = {int(c["n"]): c for c in turn.citations} if turn.done else {}
    body = _with_markers(turn.answer, i, known, lang)
    language = f' lang="{esc(turn.language)}"' if turn.language else ""
    out = [f'<div class="cqa-a" data-status="{status}"{language}><div class="cqa-text">{body}</div>']
    if turn.done and turn.citations:
        out.append(_render_sources(i, turn, lang))
    out.append("</div>")
    return "".join(out)


def _with_markers(text: str, turn_index: int, citations: dict[int, dict[str, Any]], lang: str) -> str:
    """Escape the answer and turn its [n] markers into buttons once their citations are known."""
    out: list[str] = []
    last = 0
    for m in _MARKER.finditer(text):
        out.append(esc(text[last : m.start()]))
        n = int(m.group(1))
        out.append(" " + _cite_button(turn_index, n, citations.get(n), lang))
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def _cite_button(turn_index: int, n: int, citation: dict[str, Any] | None, lang: str) -> str:
    if citation is None:  # still streaming: the marker is shown, not yet clickable
        return f'<span class="cqa-cite cqa-cite-pending">[{n}]</span>'
    label = t("ui_show_source", lang, n=n, title=citation.get("title") or citation.get("doc_id", ""))
    return (
        f'<button type="button" class="cqa-cite" data-turn="{turn_index}" data-n="{n}" '
        f'title="{esc(label)}" aria-label="{esc(label)}">[{n}]</button>'
    )


def _render_sources(i: int, turn: Turn, lang: str) -> str:
    """One line per cited document, with all of its [n] buttons: a document quoted three times
    is one source, not three."""
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for c in turn.citations:
        by_doc.setdefault(str(c.get("doc_id", "")), []).append(c)
    items = []
    for cited in by_doc.values():
        c = cited[0]
        who = ", ".join(c.get("authors") or [])
        if c.get("parties"):
            who += f" ({', '.join(c['parties'])})"
        details = " · ".join(x for x in (c.get("date", ""), who, c.get("municipality", "")) if x)
        title = c.get("title") or c.get("doc_id", "")
        buttons = " ".join(_cite_button(i, int(x["n"]), x, lang) for x in cited)
        items.append(
            f"<li>{buttons} "
            f'<span class="cqa-src-title">{esc(title)}</span>'
            + (f' <span class="cqa-src-meta">{esc(details)}</span>' if details else "")
            + "</li>"
        )
    heading = t("possibly_related", lang) if turn.abstained else t("sources", lang)
    return (
        f'<div class="cqa-sources"><div class="cqa-src-head">{esc(heading)}</div>'
        f"<ol>{''.join(items)}</ol></div>"
    )


def render_document(
    doc_id: str,
    text: str,
    metadata: dict[str, Any],
    lang: str,
    *,
    start: int | None = None,
    end: int | None = None,
    n: int | None = None,
) -> str:
    """The record with the cited span wrapped in ``<mark>``; the text is escaped piecewise around it."""
    title = metadata.get("title") or doc_id
    rows = [
        ("ui_date", metadata.get("date") or t("undated", lang)),
        ("ui_authors", ", ".join(metadata.get("authors") or [])),
        ("ui_party", ", ".join(metadata.get("parties") or [])),
        ("ui_municipality", metadata.get("municipality", "")),
        ("ui_kind", t(f"kind_{metadata['kind']}", lang) if metadata.get("kind") in KIND_KEYS else ""),
        ("ui_body", metadata.get("body", "")),
        ("ui_dnr", metadata.get("dnr", "")),
        ("ui_doc_id", doc_id),
    ]
    meta = "".join(f"<dt>{esc(t(key, lang))}</dt><dd>{esc(value)}</dd>" for key, value in rows if value)
    out = [
        f'<article class="cqa-doc" data-doc-id="{esc(doc_id)}">',
        f'<h3 class="cqa-doc-title">{esc(title)}</h3>',
        f'<dl class="cqa-doc-meta">{meta}</dl>',
    ]
    if metadata.get("source"):
        out.append(f'<p class="cqa-doc-source">{esc(metadata["source"])}</p>')
    if start is not None and end is not None and 0 <= start <= end <= len(text):
        label = t("ui_cited_passage", lang, n=n if n is not None else "", start=start, end=end)
        out.append(f'<p class="cqa-cited-label">{esc(label)}</p>')
        marker = esc(n if n is not None else "")
        body = (
            f"{esc(text[:start])}"
            f'<mark class="cqa-highlight" data-n="{marker}">{esc(text[start:end])}</mark>'
            f"{esc(text[end:])}"
        )
    else:
        body = esc(text)
    out.append(f'<div class="cqa-doc-text">{body}</div></article>')
    return "".join(out)


def render_placeholder(lang: str) -> str:
    return f'<p class="cqa-doc-empty">{esc(t("ui_document_empty", lang))}</p>'


def render_notice(message: str, *, error: bool = False) -> str:
    role = ' role="alert"' if error else ' role="status"'
    css = "cqa-notice cqa-notice-error" if error else "cqa-notice"
    return f'<p class="{css}"{role}>{esc(message)}</p>' if message else ""


KIND_KEYS = ("interpellation", "answer", "skrivelse", "motion", "other")


def preferred_language(accept_language: str | None, default: str = "sv") -> str:
    """The first of Swedish or English in an Accept-Language header, honouring q-values."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                quality = float(m.group(1))
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in ("sv", "en") and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else default
