"""The Gradio chat: streamed answers, clickable citations, a document view, filters and feedback.

The transcript and the document view are ``gr.HTML`` whose markup is built and
escaped in ``uirender`` (records are untrusted text), with one small click
handler that reports which citation was clicked. The same builder makes the
full page and the compact ``/embed`` variant for iframes, so both behave alike.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from .conversations import MAX_TURNS
from .feedback import FeedbackEntry, FeedbackError, FeedbackStore
from .i18n import t
from .questions import MAX_QUESTION, holds_words, without_lone_surrogates
from .schema import Filters
from .uirender import (
    KIND_KEYS,
    Turn,
    esc,
    preferred_language,
    render_chat,
    render_document,
    render_notice,
    render_placeholder,
)

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "sv"
EXAMPLES = (
    "Vilka åtgärder lovades mot personalomsättningen?",
    "What measures were promised against turnover?",
    "Hur många socialsekreterare slutade 2024?",
)
LANGUAGE_CHOICES = [("Svenska", "sv"), ("English", "en")]
CONCURRENCY = 4  # answers composed at once per page; the engine is CPU-bound

# Reports the clicked citation (turn, n) to Python; the citation itself is looked up server-side.
CHAT_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button.cqa-cite');
  if (!button || !element.contains(button)) return;
  trigger('click', {turn: Number(button.dataset.turn), n: Number(button.dataset.n)});
});
"""
# Brings the highlighted passage into view whenever another citation is opened.
DOC_JS = """
const reveal = () => {
  const mark = element.querySelector('mark.cqa-highlight');
  if (mark) mark.scrollIntoView({block: 'center'});
};
watch('value', reveal);
"""

CSS = """
.cqa-header h1 { font-size: 1.5rem; margin: 0 0 .25rem 0; }
.cqa-header p { margin: 0; color: var(--body-text-color-subdued); }
.cqa-chat { display: flex; flex-direction: column; gap: .75rem; font-size: 1rem; line-height: 1.5; }
.cqa-intro { color: var(--body-text-color-subdued); margin: .5rem 0; }
.cqa-turn { display: flex; flex-direction: column; gap: .4rem; }
.cqa-q { align-self: flex-end; max-width: 92%; background: var(--color-accent-soft);
  border-radius: var(--radius-lg); padding: .5rem .75rem; }
.cqa-who { display: block; font-size: .75rem; font-weight: 600; color: var(--body-text-color-subdued); }
.cqa-q-text, .cqa-text, .cqa-doc-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.cqa-a { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-lg); padding: .6rem .8rem; }
.cqa-error { border-color: #dc2626; }
.cqa-pending { color: var(--body-text-color-subdued); font-style: italic; }
button.cqa-cite, span.cqa-cite { font: inherit; font-weight: 600; color: var(--link-text-color, #2563eb);
  background: none; border: none; padding: 0 .1rem; cursor: pointer; text-decoration: underline; }
span.cqa-cite-pending { cursor: default; text-decoration: none; color: var(--body-text-color-subdued); }
button.cqa-cite:focus-visible { outline: 2px solid var(--color-accent); border-radius: 3px; }
.cqa-sources { margin-top: .5rem; font-size: .875rem; }
.cqa-src-head { font-weight: 600; }
.cqa-sources ol { list-style: none; padding-left: 0; margin: .25rem 0 0 0; }
.cqa-sources li { margin: .15rem 0; }
.cqa-src-meta { color: var(--body-text-color-subdued); }
.cqa-doc-title { font-size: 1.1rem; margin: 0 0 .25rem 0; }
.cqa-doc-meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: 0 0 .5rem 0;
  font-size: .875rem; }
.cqa-doc-meta dt { font-weight: 600; }
.cqa-doc-meta dd { margin: 0; overflow-wrap: anywhere; }
.cqa-cited-label, .cqa-doc-source { font-size: .875rem; color: var(--body-text-color-subdued); }
.cqa-doc-text { font-size: .95rem; line-height: 1.55; }
mark.cqa-highlight { background: #fde68a; color: #111827; padding: .05rem 0; border-radius: 2px;
  box-shadow: 0 0 0 2px #f59e0b; }
.cqa-doc-empty, .cqa-notice { color: var(--body-text-color-subdued); font-size: .9rem; margin: .25rem 0; }
.cqa-notice-error { color: #b91c1c; }
.cqa-examples button { white-space: normal; text-align: left; }
"""
# The embed lives in someone else's page, often a 360 px column: spend the width on the text.
COMPACT_CSS = """
.gradio-container .main.fillable { padding: 6px 6px !important; }
.cqa-chat { font-size: .95rem; }
.cqa-a { padding: .5rem .6rem; }
.cqa-q { max-width: 100%; }
"""


def css_for(compact: bool) -> str:
    return CSS + COMPACT_CSS if compact else CSS


# Turns the transcript keeps. Every streamed piece re-sends the whole transcript, and the session holds
# it: 400 turns in one session held 31 MB and sent 6.5 MB per piece (chat fuzzing). Only the last
# MAX_TURNS feed the answer; the oldest turns beyond this leave the page.
SHOWN_TURNS = 50


class ChatUI:
    """The event handlers, bound to one engine and feedback store."""

    def __init__(self, engine: Engine, feedback: FeedbackStore, *, log_questions: bool = False) -> None:
        self.engine = engine
        self.feedback = feedback
        # COUNCIL_QA_LOG_QUESTIONS: questions can be personal, so their text reaches a log only when on.
        self.log_questions = log_questions

    # -- asking ---------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        turns: list[Turn] | None,
        municipality: str,
        kind: str,
        party: str,
        year_from: str,
        year_to: str,
        lang: str,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[str, list[Turn], str, str]]:
        """Stream one answer into the transcript: the question at once, then each composed piece."""
        turns = list(turns or [])[-(SHOWN_TURNS - 1) :]
        question = without_lone_surrogates(question or "").strip()  # echoed back, so cleaned first
        if question and self.log_questions:
            self._log_question(question, request)
        if not holds_words(question):
            yield render_chat(turns, lang), turns, "", render_notice(t("ui_empty_question", lang), error=True)
            return
        municipality, kind, party, year_from, year_to = (
            without_lone_surrogates(v) if isinstance(v, str) else v
            for v in (municipality, kind, party, year_from, year_to)
        )
        chosen = {"municipality": municipality, "kind": kind, "party": party, "year": year_from or year_to}
        several = [name for name, value in chosen.items() if value is not None and not isinstance(value, str)]
        if several:  # Gradio checks a dropdown's choices but lets a list of them through
            notice = render_notice(t("ui_one_filter_value", lang, field=several[0]), error=True)
            yield render_chat(turns, lang), turns, question, notice
            return
        if len(question) > MAX_QUESTION:
            notice = render_notice(t("ui_question_too_long", lang, max=MAX_QUESTION), error=True)
            yield render_chat(turns, lang), turns, question, notice
            return
        history = [(x.question, x.answer) for x in turns if x.done and not x.error][-MAX_TURNS:]
        turn = Turn(question=question)
        turns.append(turn)
        yield render_chat(turns, lang), turns, "", ""
        notices: list[str] = []
        try:
            filters = self.filters(municipality, kind, party, year_from, year_to)
            for piece in self.engine.stream_answer(question, filters=filters, history=history):
                if isinstance(piece, str):
                    turn.answer += piece
                    yield render_chat(turns, lang), turns, "", ""
                    continue
                turn.answer = piece.text
                turn.citations = [c.to_dict() for c in piece.citations]
                turn.language = piece.language
                turn.abstained = piece.abstained
                notices = list(piece.notices)
        except Exception:  # the chat must stay usable; the log has the details
            # The question's text only when the operator allowed it (COUNCIL_QA_LOG_QUESTIONS).
            shown = repr(question) if self.log_questions else f"({len(question)} characters)"
            log.exception("answering the chat question %s failed", shown)
            turn.error = t("ui_error", lang)
        turn.done = True
        yield render_chat(turns, lang), turns, "", "".join(render_notice(n) for n in notices)

    @staticmethod
    def _log_question(question: str, request: gr.Request | None) -> None:
        """One JSON line in the access log with the chat's question, its client and signed-in user."""
        from .logs import access_logger, question_line
        from .middleware import request_info

        scope = getattr(getattr(request, "request", None), "scope", None)
        info = request_info(scope) if isinstance(scope, dict) else None
        client = getattr(getattr(request, "client", None), "host", None) or (info.peer if info else "")
        user = info.user if info else None
        access_logger().info(question_line(source="chat", question=question, client=str(client), user=user))

    def filters(
        self, municipality: str, kind: str, party: str, year_from: str, year_to: str
    ) -> Filters | None:
        since, until = year_from or None, year_to or None
        if since and until and since > until:
            since, until = until, since
        filters = Filters(
            municipality=municipality or None,
            kind=kind or None,
            party=party or None,
            since=since,
            until=until,
        )
        return None if filters.is_empty() else self.engine.normalize_filters(filters)

    # -- citations and documents ---------------------------------------------------------

    def open_citation(
        self, turns: list[Turn] | None, lang: str, evt: gr.EventData
    ) -> tuple[str, dict[str, Any] | None]:
        """The cited document with the passage highlighted, looked up from the server-side transcript."""
        data = getattr(evt, "_data", None) or {}
        try:
            turn = (turns or [])[int(data["turn"])]
            citation = next(c for c in turn.citations if int(c["n"]) == int(data["n"]))
        except (KeyError, IndexError, ValueError, TypeError, OverflowError, StopIteration):
            return gr.skip(), gr.skip()  # a stale or malformed click: keep what is shown
        ref = {k: citation[k] for k in ("doc_id", "start", "end", "n")}
        return self.render_ref(ref, lang), ref

    def render_ref(self, ref: dict[str, Any] | None, lang: str) -> str:
        if not ref:
            return render_placeholder(lang)
        try:
            doc = self.engine.document(ref["doc_id"])
        except KeyError:
            return render_notice(t("ui_document_missing", lang, doc_id=ref["doc_id"]), error=True)
        return render_document(
            doc.doc_id,
            doc.text,
            doc.metadata.to_dict(),
            lang,
            start=ref.get("start"),
            end=ref.get("end"),
            n=ref.get("n"),
        )

    # -- feedback ----------------------------------------------------------------------------

    def rate(
        self, helpful: bool, comment: str, turns: list[Turn] | None, conversation_id: str, lang: str
    ) -> tuple[str, str]:
        """Store the verdict on the latest answer together with what was judged."""
        comment = without_lone_surrogates(comment) if isinstance(comment, str) else comment  # echoed back
        answered = [x for x in turns or [] if x.done and not x.error]
        if not answered:
            return render_notice(t("ui_feedback_nothing", lang), error=True), comment
        last = answered[-1]
        entry = FeedbackEntry(
            helpful=helpful,
            question=last.question,
            answer=last.answer,
            citations=last.citations,
            comment=comment or "",
            language=last.language,
            abstained=last.abstained,
            conversation_id=conversation_id or "",
            source="ui",
        )
        try:
            self.feedback.add(entry)
        except FeedbackError as exc:
            return render_notice(str(exc), error=True), comment
        return render_notice(t("ui_feedback_thanks", lang)), ""

    # -- language and facets ------------------------------------------------------------------

    def choices(self, lang: str) -> dict[str, list[tuple[str, str]]]:
        facets = self.engine.facets()
        anything = [(t("ui_any", lang), "")]
        kinds = [(t(f"kind_{k}", lang) if k in KIND_KEYS else k, k) for k in facets.get("kind", [])]
        return {
            "municipality": anything + [(m, m) for m in facets.get("municipality", [])],
            "kind": anything + kinds,
            "party": anything + [(p, p) for p in facets.get("party", [])],
            "year": anything + [(y, y) for y in facets.get("year", [])],
        }


def header_html(lang: str) -> str:
    return (
        f'<div class="cqa-header"><h1>{esc(t("ui_title", lang))}</h1>'
        f"<p>{esc(t('ui_subtitle', lang))}</p></div>"
    )


def build_ui(
    engine: Engine, feedback: FeedbackStore, *, compact: bool = False, log_questions: bool = False
) -> gr.Blocks:
    """The chat page; ``compact`` drops the header and stacks the document under the chat."""
    ui = ChatUI(engine, feedback, log_questions=log_questions)
    lang0 = DEFAULT_LANGUAGE
    try:
        choices0 = ui.choices(lang0)
    except Exception:  # an unreachable store at start-up must not stop the page from loading
        log.exception("reading the filter values failed")
        choices0 = {name: [(t("ui_any", lang0), "")] for name in ("municipality", "kind", "party", "year")}

    with gr.Blocks(title=t("ui_title", lang0), analytics_enabled=False, fill_width=compact) as demo:
        turns = gr.State([])
        doc_ref = gr.State(None)
        conversation = gr.State("")
        header = gr.HTML(header_html(lang0), visible=not compact, js_on_load=None)

        def filter_widgets() -> tuple[gr.Dropdown, ...]:
            with gr.Accordion(t("ui_filters", lang0), open=False) as box:
                with gr.Row():
                    municipality = gr.Dropdown(
                        choices0["municipality"], value="", label=t("ui_municipality", lang0), min_width=140
                    )
                    kind = gr.Dropdown(choices0["kind"], value="", label=t("ui_kind", lang0), min_width=140)
                    party = gr.Dropdown(
                        choices0["party"], value="", label=t("ui_party", lang0), min_width=100
                    )
                with gr.Row():
                    year_from = gr.Dropdown(
                        choices0["year"], value="", label=t("ui_year_from", lang0), min_width=100
                    )
                    year_to = gr.Dropdown(
                        choices0["year"], value="", label=t("ui_year_to", lang0), min_width=100
                    )
                    language = gr.Radio(
                        LANGUAGE_CHOICES, value=lang0, label=t("ui_language", lang0), elem_id="cqa-language"
                    )
            return box, municipality, kind, party, year_from, year_to, language

        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chat = gr.HTML(
                    render_chat([], lang0),
                    js_on_load=CHAT_JS,
                    elem_id="cqa-chat",
                    autoscroll=True,
                    max_height="60vh" if compact else "70vh",
                    container=True,
                    padding=True,
                )
                notice = gr.HTML("", elem_id="cqa-notice", js_on_load=None)
                with gr.Row():
                    question = gr.Textbox(
                        label=t("ui_question_label", lang0),
                        placeholder=t("ui_question_placeholder", lang0),
                        max_length=MAX_QUESTION,
                        lines=1,
                        scale=5,
                        min_width=200,
                        elem_id="cqa-question",
                    )
                    send = gr.Button(
                        t("ui_send", lang0), variant="primary", scale=1, min_width=70, elem_id="cqa-send"
                    )
                with (
                    gr.Accordion(t("ui_examples", lang0), open=not compact) as examples_box,
                    gr.Row(elem_classes=["cqa-examples"]),
                ):
                    example_buttons = [
                        gr.Button(text, size="sm", variant="secondary", min_width=120) for text in EXAMPLES
                    ]
                box, municipality, kind, party, year_from, year_to, language = filter_widgets()
                with gr.Row():
                    helpful = gr.Button(
                        t("ui_helpful", lang0), size="sm", min_width=100, elem_id="cqa-helpful"
                    )
                    unhelpful = gr.Button(
                        t("ui_not_helpful", lang0), size="sm", min_width=100, elem_id="cqa-not-helpful"
                    )
                    new_chat = gr.Button(t("ui_new_chat", lang0), size="sm", min_width=100, elem_id="cqa-new")
                comment = gr.Textbox(
                    label=t("ui_comment", lang0), lines=1, max_length=2000, elem_id="cqa-comment"
                )
                feedback_status = gr.HTML("", elem_id="cqa-feedback-status", js_on_load=None)
            with gr.Column(scale=2, min_width=300):
                doc_view = gr.HTML(
                    render_placeholder(lang0),
                    label=t("ui_document", lang0),
                    js_on_load=DOC_JS,
                    elem_id="cqa-doc",
                    max_height="60vh" if compact else "80vh",
                    container=True,
                    padding=True,
                )

        filters = [municipality, kind, party, year_from, year_to]
        ask_outputs = [chat, turns, question, notice]
        private: dict[str, Any] = {"api_visibility": "private"}
        for trigger in (send.click, question.submit):
            trigger(
                ui.ask,
                [question, turns, *filters, language],
                ask_outputs,
                concurrency_limit=CONCURRENCY,
                **private,
            )
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(
                ui.ask,
                [gr.State(text), turns, *filters, language],
                ask_outputs,
                concurrency_limit=CONCURRENCY,
                **private,
            )
        chat.click(ui.open_citation, [turns, language], [doc_view, doc_ref], **private)
        helpful.click(
            lambda *a: ui.rate(True, *a),
            [comment, turns, conversation, language],
            [feedback_status, comment],
            **private,
        )
        unhelpful.click(
            lambda *a: ui.rate(False, *a),
            [comment, turns, conversation, language],
            [feedback_status, comment],
            **private,
        )

        def reset(lang: str) -> tuple[Any, ...]:
            return [], render_chat([], lang), None, render_placeholder(lang), uuid.uuid4().hex, "", ""

        new_chat.click(
            reset,
            [language],
            [turns, chat, doc_ref, doc_view, conversation, notice, feedback_status],
            **private,
        )

        labelled = [header, box, municipality, kind, party, year_from, year_to, language, question, send]
        labelled += [examples_box, helpful, unhelpful, new_chat, comment]

        def labels(lang: str) -> list[Any]:
            try:
                c = ui.choices(lang)
            except Exception:
                log.exception("reading the filter values failed")
                c = choices0
            return [
                header_html(lang),
                gr.Accordion(label=t("ui_filters", lang)),
                gr.Dropdown(choices=c["municipality"], label=t("ui_municipality", lang)),
                gr.Dropdown(choices=c["kind"], label=t("ui_kind", lang)),
                gr.Dropdown(choices=c["party"], label=t("ui_party", lang)),
                gr.Dropdown(choices=c["year"], label=t("ui_year_from", lang)),
                gr.Dropdown(choices=c["year"], label=t("ui_year_to", lang)),
                gr.Radio(label=t("ui_language", lang)),
                gr.Textbox(
                    label=t("ui_question_label", lang), placeholder=t("ui_question_placeholder", lang)
                ),
                gr.Button(t("ui_send", lang)),
                gr.Accordion(label=t("ui_examples", lang)),
                gr.Button(t("ui_helpful", lang)),
                gr.Button(t("ui_not_helpful", lang)),
                gr.Button(t("ui_new_chat", lang)),
                gr.Textbox(label=t("ui_comment", lang)),
            ]

        def relabel(lang: str, turns_now: list[Turn] | None, ref: dict[str, Any] | None) -> list[Any]:
            lang = lang if lang in ("sv", "en") else DEFAULT_LANGUAGE
            return [*labels(lang), render_chat(turns_now or [], lang), ui.render_ref(ref, lang)]

        language.change(relabel, [language, turns, doc_ref], [*labelled, chat, doc_view], **private)

        def on_load(request: gr.Request) -> list[Any]:
            """Pick the interface language (``?lang=`` first, then the browser's Accept-Language) and
            label the page in it, with the filter values the index holds now.

            It leaves the chat and the document view alone: reading the filter values can take a
            second, and a question asked meanwhile was answered and then wiped by an empty chat
            (its answer never showed). A language other than the default re-renders them through
            ``language.change``, from the turns as they are then.
            """
            asked = (request.query_params.get("lang") or "").lower() if request else ""
            header_value = request.headers.get("accept-language") if request else None
            lang = asked if asked in ("sv", "en") else preferred_language(header_value, DEFAULT_LANGUAGE)
            return [lang, uuid.uuid4().hex, *labels(lang)]

        demo.load(on_load, None, [language, conversation, *labelled], **private)
    return demo


def build_apps(
    engine: Engine, feedback: FeedbackStore, *, log_questions: bool = False
) -> tuple[gr.Blocks, gr.Blocks]:
    """The full page and the compact embed, sharing one engine and one feedback store."""
    return (
        build_ui(engine, feedback, log_questions=log_questions),
        build_ui(engine, feedback, compact=True, log_questions=log_questions),
    )
