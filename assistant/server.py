"""One process serving the HTTP API and the Gradio chat over the same engine.

Everything answers through ``Engine.answer``/``stream_answer``, so a citation
means the same thing in JSON, in the chat and on the command line. The engine
is synchronous and CPU-bound, so it never runs on the event loop (which keeps
the health check and the streaming chat responsive): the cheap endpoints are
plain ``def`` functions in FastAPI's thread pool, and ``/api/ask`` answers in a
small pool of its own, one thread per core. Twenty clients asking at once then
wait their turn instead of twenty threads fighting over two cores, each growing
its own allocator arena: latency stays fair and memory flat under load.

In front of everything sit the operational layers (see ``_add_middleware``):
the client address, the JSON access log, security headers, the optional rate
limit and authentication, and request size limits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from .apimodels import (
    AskRequest,
    AskResponse,
    DocumentOut,
    DocumentSummary,
    ErrorOut,
    unsafe_document_id,
)
from .auth import AuthConfig, Authenticate, auth_config, exposure_warning, forwarders, identify
from .config import Settings
from .conversations import ConversationMemory
from .feedback import FeedbackStore, feedback_path
from .logs import AccessLog, parse_flag
from .middleware import (
    FRAME_ANCESTORS_ENV,
    BodyLimit,
    ClientAddress,
    NoUploads,
    PrefixTolerance,
    SecurityHeaders,
    escape_json,
    parse_frame_ancestors,
    request_info,
    route_path,
)
from .ratelimit import Rate, RateLimit, parse_rate

if TYPE_CHECKING:
    from .engine import Engine
    from .schema import Answer

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_UI_BODY = 256 * 1024  # the chat's own requests (question, filters, feedback comment)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
    500: {"model": ErrorOut},
}


class SafeJSONResponse(JSONResponse):
    """JSON whose text contains no ``<``, ``>``, ``&`` or JS line separators, only their escapes.

    The parsed data is identical; but a record's ``<script>`` can then never
    appear as markup in the response body, whatever a browser, proxy or log
    viewer later makes of it.
    """

    def render(self, content: Any) -> bytes:
        return escape_json(super().render(content))


@dataclass(frozen=True)
class Operations:
    """The operational settings, parsed and checked before any model is loaded."""

    auth: AuthConfig
    rate: Rate | None
    log_questions: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Operations:
        return cls(
            auth=auth_config(settings),
            rate=parse_rate(getattr(settings, "rate_limit", "")),
            log_questions=parse_flag(getattr(settings, "log_questions", "off"), "COUNCIL_QA_LOG_QUESTIONS"),
        )


def answer_workers(settings: Settings) -> int:
    """Questions answered at once: the setting, else one per CPU core plus one (at most 5).

    The extra one keeps the cores busy: while a question holds the interpreter
    for its Python work, the others run in onnxruntime and Chroma's native
    code. Measured on two cores, 16 clients, alternating 10-s rounds: 3 workers
    answered 38.2 and 43.6 questions/s, 2 workers 34.7 and 37.2.
    """
    configured = int(getattr(settings, "workers", 0) or 0)
    return configured if configured > 0 else max(1, min(5, (os.cpu_count() or 1) + 1))


def serve_threads(settings: Settings) -> int:
    """Torch threads per question in ``serve``: the setting, else the cores shared among the answer workers.

    ``serve`` answers ``answer_workers`` questions at once. Each with torch's
    default of every core, two questions on two cores run four threads that
    wait for each other at every layer (and for whatever else the machine
    does): measured here, 16 clients then got no more answers per second than
    one. One thread per question lets concurrent questions use the cores
    side by side instead. ``COUNCIL_QA_THREADS`` set explicitly still wins.
    """
    configured = int(getattr(settings, "threads", 0) or 0)
    if configured > 0:
        return configured
    return max(1, (os.cpu_count() or 1) // answer_workers(settings))


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
    operations: Operations | None = None,
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
    operations = operations or Operations.from_settings(settings)
    memory = ConversationMemory()
    feedback = FeedbackStore(feedback_path(settings.index))

    app = FastAPI(
        title="council-qa",
        summary="Extractive answers about council records, every sentence quoted and cited.",
        version="0.1.0",
        root_path=root_path,
        default_response_class=SafeJSONResponse,
        docs_url=None,  # served by _mount_docs from local files
    )
    _mount_docs(app)
    app.state.engine = engine
    app.state.memory = memory
    app.state.feedback = feedback
    _install_error_handlers(app)

    answering = ThreadPoolExecutor(
        max_workers=answer_workers(settings), thread_name_prefix="council-qa-answer"
    )
    app.state.answering = answering

    def answer(body: AskRequest, history: list[tuple[str, str]]) -> Answer:
        filters = engine.normalize_filters(body.filters.to_filters()) if body.filters else None
        return engine.answer(body.question, k=body.k, filters=filters, history=history)

    @app.post("/api/ask", response_model=AskResponse, responses=ERRORS, tags=["answers"])
    async def ask(body: AskRequest, request: Request) -> Any:
        """Answer a question with verbatim, cited passages.

        Send the returned ``conversation_id`` with a follow-up ("och i Stockholm?")
        so the earlier question's subject carries into the search.
        """
        if operations.log_questions:
            request_info(request.scope).question = body.question
        conversation_id = body.conversation_id or uuid.uuid4().hex
        history = memory.history(conversation_id)
        try:
            result = await asyncio.get_running_loop().run_in_executor(answering, answer, body, history)
        except Exception:
            # The question stays out of the log unless the operator allowed it: it may be personal.
            shown = repr(body.question) if operations.log_questions else f"({len(body.question)} characters)"
            log.exception("answering the question %s failed", shown)
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

    @app.api_route("/healthz", methods=["GET", "HEAD"], tags=["operations"])
    def healthz() -> JSONResponse:
        """200 when the index answers, 503 (with what to do) when it cannot be read. Never needs a login."""
        health = engine.health()
        if health.get("status") == "ok":
            return SafeJSONResponse(health)
        return SafeJSONResponse({**health, "action": repair_hint(settings)}, status_code=503)

    @app.get("/embed", include_in_schema=False)
    def embed_slash() -> RedirectResponse:
        # Relative, so it stays right under any proxy prefix.
        return RedirectResponse("embed/", status_code=307)

    # Last of the API's routes, before the chat's mount at "/" (which would take every path and
    # answer an API client's wrong method or misspelt route with the chat's HTML 404)
    @app.api_route("/api/{rest:path}", methods=list(HTTP_METHODS), include_in_schema=False)
    @app.api_route("/healthz", methods=list(HTTP_METHODS - {"GET", "HEAD"}), include_in_schema=False)
    def no_such_route(request: Request) -> JSONResponse:
        path = route_path(request.scope)
        allowed = sorted(
            {
                method
                for route in app.routes
                if isinstance(route, APIRoute)
                and route.endpoint is not no_such_route
                and route.path_regex.match(path)
                for method in route.methods
            }
        )
        if not allowed:
            return _error(404, f"path: no API route {path}; see /docs")
        response = _error(405, f"method: {request.method} is not allowed on {path}; use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    if with_ui:
        _mount_ui(app, engine, feedback, root_path, log_questions=operations.log_questions)

    _add_middleware(app, operations, origins, root_path)
    app.state.operations = operations
    return app


def _add_middleware(app: FastAPI, operations: Operations, origins: list[str], root_path: str) -> None:
    """The layers around the app; each ``add_middleware`` wraps the previous ones, so the last runs first.

    Order of a request: client address (forwarded headers from trusted proxies
    only) -> sub-path -> access log (so refusals are logged too) -> security
    headers (on refusals too) -> rate limit (counts failed logins as well) ->
    authentication -> upload refusal and size limits -> the app.
    """
    auth = operations.auth
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(BodyLimit, limit=MAX_UI_BODY, contains="/gradio_api/")
    app.add_middleware(NoUploads)
    app.add_middleware(Authenticate, config=auth)
    if operations.rate is not None:
        app.add_middleware(RateLimit, rate=operations.rate, identify=lambda scope: identify(auth, scope))
    app.add_middleware(SecurityHeaders, origins=origins)
    app.add_middleware(AccessLog, log_questions=operations.log_questions)
    app.add_middleware(PrefixTolerance, root_path=root_path)
    app.add_middleware(
        ClientAddress, forwarders=forwarders(auth, os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))
    )


def repair_hint(settings: Settings) -> str:
    """What an operator should do when the index cannot be read (shown by /healthz)."""
    if settings.chroma_url:
        return f"check that the Chroma server at {settings.chroma_url} is running and reachable"
    return (
        f"if the index at {settings.index} is damaged: stop the server, run `council-qa ingest --rebuild` "
        "on it (it moves the damaged store aside and embeds the documents again), and start the server again"
    )


def _mount_ui(
    app: FastAPI, engine: Engine, feedback: FeedbackStore, root_path: str, *, log_questions: bool = False
) -> None:
    import gradio as gr

    from .ui import build_apps, css_for

    full, embed = build_apps(engine, feedback, log_questions=log_questions)
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


def _mount_docs(app: FastAPI) -> None:
    """The API docs with Swagger UI's files from the ``swagger-ui-bundle-v2`` package.

    FastAPI's own ``/docs`` loads them from cdn.jsdelivr.net: on an intranet
    without internet access the page stays blank.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # as FastAPI's own /docs does
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="council-qa API",
            swagger_js_url=f"{root}/docs/static/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/static/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/static/favicon-32x32.png",
        )


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _error(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> JSONResponse:
    return SafeJSONResponse({"error": message, "detail": detail or []}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and not (sent == "application/json" or sent.endswith("+json")):
            # FastAPI reads another type's body as text and calls a JSON object "not an object"
            return _error(415, f"content-type: send the body as application/json, not {sent or 'nothing'}")
        detail = [_describe(e) for e in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in detail) or "invalid request"
        return _error(422, message, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":
            # FastAPI's words for a body that is not UTF-8 (or not JSON at all): say which part and why.
            message = "body: not readable as JSON; send UTF-8 encoded JSON"
        return SafeJSONResponse(
            {"error": message, "detail": []}, status_code=exc.status_code, headers=exc.headers
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
    # Bad values fail now, not after the model has loaded.
    parse_frame_ancestors(frame_ancestors)
    operations = Operations.from_settings(settings)
    warning = exposure_warning(host, operations.auth)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"council-qa: {operations.auth.describe()}", file=sys.stderr, flush=True)
    settings = replace(settings, threads=serve_threads(settings))
    engine = Engine.open(settings)  # opens the store before the model: a damaged index is reported at once
    app = create_app(
        engine, settings, root_path=root_path, frame_ancestors=frame_ancestors, operations=operations
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        root_path=root_path,
        log_level="info",
        access_log=False,  # replaced by the JSON access log, which never shows query strings
        proxy_headers=False,  # handled by ClientAddress, which keeps the connecting address
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
