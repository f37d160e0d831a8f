"""One process serving the HTTP API and the Gradio chat over the same engine.

Everything answers through ``Engine.answer``/``stream_answer``, so a citation
means the same thing in JSON, in the chat and on the command line. The engine
is synchronous and CPU-bound: endpoints are plain ``def`` functions, which
FastAPI runs in its thread pool, so a long answer never stalls the event loop
(and with it the health check and the streaming chat).
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .apimodels import (
    AskRequest,
    AskResponse,
    DocumentOut,
    DocumentSummary,
    ErrorOut,
    unsafe_document_id,
)
from .config import Settings
from .conversations import ConversationMemory
from .feedback import FeedbackStore, feedback_path
from .middleware import (
    FRAME_ANCESTORS_ENV,
    BodyLimit,
    PrefixTolerance,
    SecurityHeaders,
    parse_frame_ancestors,
)

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    404: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    500: {"model": ErrorOut},
}


def normalize_root_path(root_path: str | None) -> str:
    """``/sub`` form: leading slash, no trailing one; empty when served at the host's root."""
    value = (root_path or "").strip()
    if not value or value == "/":
        return ""
    if not value.startswith("/") or "//" in value or any(c in value for c in "?#\\ "):
        raise ValueError(f"--root-path {root_path!r}: must be a URL path such as /council-qa")
    return value.rstrip("/")


def create_app(
    engine: Engine,
    settings: Settings,
    *,
    root_path: str = "",
    frame_ancestors: str | None = None,
    with_ui: bool = True,
) -> FastAPI:
    """The API, the docs and the chat pages (``/`` and ``/embed``) over one engine.

    ``frame_ancestors`` defaults to ``settings.frame_ancestors`` when the
    settings have it, else the ``COUNCIL_QA_FRAME_ANCESTORS`` variable, read per
    app so one process (or test) can run differently framed instances.
    """
    root_path = normalize_root_path(root_path)
    if frame_ancestors is None:
        frame_ancestors = getattr(settings, "frame_ancestors", None) or os.environ.get(
            FRAME_ANCESTORS_ENV, ""
        )
    origins = parse_frame_ancestors(frame_ancestors)
    memory = ConversationMemory()
    feedback = FeedbackStore(feedback_path(settings.index))

    app = FastAPI(
        title="council-qa",
        summary="Extractive answers about council records, every sentence quoted and cited.",
        version="0.1.0",
        root_path=root_path,
    )
    app.state.engine = engine
    app.state.memory = memory
    app.state.feedback = feedback
    _install_error_handlers(app)

    @app.post("/api/ask", response_model=AskResponse, responses=ERRORS, tags=["answers"])
    def ask(body: AskRequest) -> Any:
        """Answer a question with verbatim, cited passages.

        Send the returned ``conversation_id`` with a follow-up ("och i Stockholm?")
        so the earlier question's subject carries into the search.
        """
        conversation_id = body.conversation_id or uuid.uuid4().hex
        history = memory.history(conversation_id)
        try:
            filters = engine.normalize_filters(body.filters.to_filters()) if body.filters else None
            result = engine.answer(body.question, k=body.k, filters=filters, history=history)
        except Exception:
            log.exception("answering %r failed", body.question)
            return _error(
                500, "the question could not be answered because of an internal error; see the server log"
            )
        memory.add(conversation_id, body.question, result.text)
        return {**result.to_dict(), "conversation_id": conversation_id}

    @app.get("/api/documents", response_model=list[DocumentSummary], responses=ERRORS, tags=["documents"])
    def documents() -> Any:
        """Every indexed record's id and metadata."""
        return [{"doc_id": doc_id, "metadata": meta.to_dict()} for doc_id, meta in engine.documents()]

    @app.get("/api/documents/{doc_id:path}", response_model=DocumentOut, responses=ERRORS, tags=["documents"])
    def document(doc_id: str) -> Any:
        """A record's text (which citation spans index) and metadata. Ids are looked up in the index only."""
        problem = unsafe_document_id(doc_id)
        if problem:
            return _error(400, problem)
        try:
            doc = engine.document(doc_id)
        except KeyError:
            return _error(404, f"doc_id: no document {doc_id!r} in the index")
        return {
            "doc_id": doc.doc_id,
            "text": doc.text,
            "length": len(doc.text),
            "metadata": doc.metadata.to_dict(),
            "content_hash": doc.content_hash,
        }

    @app.get("/api/facets", responses=ERRORS, tags=["documents"])
    def facets() -> dict[str, list[str]]:
        """The filter values that exist (municipality, kind, party, body, year, author)."""
        return engine.facets()

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """200 when the index answers, 503 when it cannot be reached."""
        health = engine.health()
        return JSONResponse(health, status_code=200 if health.get("status") == "ok" else 503)

    @app.get("/embed", include_in_schema=False)
    def embed_slash() -> RedirectResponse:
        # Relative, so it stays right under any proxy prefix.
        return RedirectResponse("embed/", status_code=307)

    if with_ui:
        _mount_ui(app, engine, feedback, root_path)

    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders, origins=origins)
    app.add_middleware(PrefixTolerance, root_path=root_path)  # added last: runs first
    return app


def _mount_ui(app: FastAPI, engine: Engine, feedback: FeedbackStore, root_path: str) -> None:
    import gradio as gr

    from .ui import build_apps, css_for

    full, embed = build_apps(engine, feedback)
    common: dict[str, Any] = {
        "footer_links": [],
        "run_history": False,
        "ssr_mode": False,
        "mcp_server": False,
        "show_error": False,
        "theme": gr.themes.Default(),
    }
    # The embed first: the mount at "/" would otherwise swallow /embed/.
    for blocks, path, compact in ((embed, "/embed", True), (full, "/", False)):
        blocks.queue(default_concurrency_limit=4)
        mount_root = (root_path + (path if path != "/" else "")) or None
        gr.mount_gradio_app(app, blocks, path=path, root_path=mount_root, css=css_for(compact), **common)


def _error(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail or []}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [_describe(e) for e in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in detail) or "invalid request"
        return _error(422, message, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail), "detail": []}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return _error(500, "internal error; see the server log")


PATTERN_HINTS = {
    "since": "must be a date as YYYY, YYYY-MM or YYYY-MM-DD",
    "until": "must be a date as YYYY, YYYY-MM or YYYY-MM-DD",
    "conversation_id": "must be 1 to 128 letters, digits or the characters _ - . :",
}


def _describe(error: dict[str, Any]) -> dict[str, Any]:
    """One validation error as {field, message, type}, the field in dotted form ("filters.since")."""
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid"))
    if kind == "json_invalid":
        field = "body"
        reason = (error.get("ctx") or {}).get("error", "")
        message = f"malformed JSON{f' ({reason})' if reason else ''}"
    elif kind == "extra_forbidden":
        field = ".".join(loc) or "body"
        message = "unknown field"
    elif kind == "missing":
        field = ".".join(loc) or "body"
        message = "required"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] in PATTERN_HINTS:
        field = ".".join(loc)
        message = PATTERN_HINTS[loc[-1]]
    elif kind == "model_attributes_type" and not loc:
        field = "body"
        message = "must be a JSON object"
    else:
        field = ".".join(loc) or "body"
        message = message.removeprefix("Value error, ")
    return {"field": field, "message": message, "type": kind}


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860, root_path: str = "") -> int:
    """Open the engine once, then serve until interrupted; returns the process exit code."""
    import uvicorn

    from .engine import Engine

    root_path = normalize_root_path(root_path)
    frame_ancestors = getattr(settings, "frame_ancestors", None) or os.environ.get(FRAME_ANCESTORS_ENV, "")
    parse_frame_ancestors(frame_ancestors)  # a bad value fails now, not after the model has loaded
    engine = Engine.open(settings)
    app = create_app(engine, settings, root_path=root_path, frame_ancestors=frame_ancestors)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        root_path=root_path,
        log_level="info",
        proxy_headers=True,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    shown = f"http://{host if ':' not in host else f'[{host}]'}:{port}{root_path}/"
    print(f"council-qa: chat at {shown}, compact chat at {shown}embed/, API docs at {shown}docs", flush=True)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind the port
        return int(exc.code or 1)
    return 0
