"""The ASGI application: the API under /api/v1, /healthz, the shipped assets, and errors as documents.

    from web.app import create_app
    app = create_app(engine)                  # an Engine of your own (tests, benches)
    app = create_app(url="sqlite:///hazard.db")

`hazard serve` runs `from_environment` (the database from HAZARD_DB) in each uvicorn worker: one engine per
worker process, shared by its threads (FastAPI runs the routes, plain functions, in a thread pool; the engine
is thread-safe and each call is its own transaction). The pages, when they come, are routers beside `web.api`,
their templates in web/templates/ and their assets in web/static/ (served at /static, shipped in the package:
no CDN, no build step). The interactive API docs (Swagger UI, ReDoc) are off: they load their scripts from a
CDN; the OpenAPI document is at /openapi.json and in docs/openapi.json.
"""
from __future__ import annotations

import os
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from engine.domain.documents import error_document
from engine.domain.errors import HazardError, InvalidInput, NotFound
from web import auth, errors
from web.bodies import BodyLimit
from web.models import Health
from web.responses import document

MAX_BODY = 1 << 20           # a JSON body: far more than any case's fields, far less than a 10 MB attack
MAX_UPLOAD = 20 * (1 << 20)  # an uploaded ledger (the default); `create_app(max_upload=...)`
UPLOADS = ("/api/v1/imports", "/ledger")  # the API's upload and the ledger page's (web/pages_ledger.py)
# Evidence uploads (POST /api/v1/cases/{id}/attachments and the case page's form): one request carries up to
# limits.MAX_ATTACH_FILES files, each within the attach_max_mb setting the engine checks; the request as a whole
# is bounded here. `create_app(max_attach=...)`.
MAX_ATTACH = 200 * (1 << 20)
ATTACHMENTS = r"(/api/v1)?/cases/[^/]+/attachments"
STATIC = Path(__file__).parent / "static"
SESSION_IDLE = timedelta(minutes=30)  # a page session ends after this long without a request


def create_app(engine=None, *, url: str | None = None, max_body: int = MAX_BODY,
               max_upload: int = MAX_UPLOAD, session_idle: timedelta | None = None,
               max_attach: int = MAX_ATTACH, deliver: bool = False) -> FastAPI:
    """The application over `engine` (or an engine opened on `url`, closed when the application stops); with
    `deliver`, a thread delivering notifications while it serves (`hazard serve --notify`)."""
    if engine is None and url is None:
        raise ValueError("give an engine or a database url")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = _start_delivering(app.state.engine) if deliver else None
        yield
        if stop is not None:
            stop()
        if owned is not None:
            owned.close()

    from engine.app import Engine
    owned = Engine.open(url) if engine is None else None
    app = FastAPI(title="hazard-closure", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  summary="Major safety hazards closed by declarative workflows (重大事故隐患闭环治理): the HTTP API.",
                  description="The documents are those `hazard --json` prints for the same command; errors are the "
                              "CLI's error document with the status its exit code maps to. Authenticate with "
                              "`Authorization: Bearer hzt_...` (a token of `hazard user token`).")
    app.state.engine = engine or owned
    app.state.session_idle = session_idle or SESSION_IDLE
    app.add_middleware(BodyLimit, limit=max_body, uploads=dict.fromkeys(UPLOADS, max_upload),
                       patterns=[(ATTACHMENTS, max_attach)])
    app.add_middleware(SecurityHeaders)
    _handle_errors(app)

    from web import api, routes
    api.install(app)
    from web import pages
    pages.install(app)
    # The other pages import web.pages (Page, signed_in); they are included here, not by web.pages, so no
    # module imports back the module that imports it.
    from web import pages_audit, pages_evidence, pages_figures, pages_ledger, pages_register, pages_users
    for module in (pages_register, pages_figures, pages_ledger, pages_audit, pages_users, pages_evidence):
        routes.add(app, module.router)

    @app.get("/healthz", tags=["server"], summary="Whether the database answers", response_model=Health,
             responses={503: {"model": Health,
                              "description": "The database is unreachable or its schema is not this release's."}})
    def healthz():
        from web.calls import health
        try:
            revision = health(app.state.engine)
        except HazardError as exc:
            return document({"status": "unavailable", "reason": str(exc)}, status=503)
        if revision["revision"] is None:
            return document({"status": "unavailable", "reason": "the database has no tables: run `hazard init`"},
                            status=503)
        if not revision["current"]:
            return document({"status": "unavailable", "reason": f"the database's schema is {revision['revision']}, "
                             f"this release's {revision['head']}: run `hazard db upgrade`"}, status=503)
        return document({"status": "ok"})

    if STATIC.is_dir():
        from starlette.staticfiles import StaticFiles
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def from_environment() -> FastAPI:
    """The application `hazard serve` runs in each worker: the database from HAZARD_DB, as `hazard` takes it;
    a page session's idle timeout from HAZARD_SESSION_IDLE_MINUTES (default 30, 1 to 1440); a delivering thread
    when HAZARD_SERVE_NOTIFY is 1 (`hazard serve --notify`)."""
    return create_app(url=os.environ.get("HAZARD_DB", "sqlite:///hazard.db"),
                      session_idle=_idle(os.environ.get("HAZARD_SESSION_IDLE_MINUTES")),
                      deliver=os.environ.get("HAZARD_SERVE_NOTIFY") == "1")


DELIVERY_INTERVAL = 10.0   # seconds between delivery rounds, as `hazard notify` by default


def _start_delivering(engine):
    """A thread delivering the outbox (engine/app/deliverer.py) beside the requests; returns what stops it. Every
    worker runs one: they claim messages with a lease (SKIP LOCKED on PostgreSQL), so each is sent once."""
    import sys
    import threading

    from engine.app.deliverer import run_loop
    stop = threading.Event()

    def log(line: str) -> None:
        print(f"[hazard serve] {line}", file=sys.stderr, flush=True)
    thread = threading.Thread(target=run_loop, name="deliverer", daemon=True,
                              kwargs={"engine": engine, "interval": DELIVERY_INTERVAL, "log": log, "stop_event": stop})
    thread.start()

    def stopped() -> None:
        stop.set()
        thread.join(timeout=30)
    return stopped


def _idle(text: str | None) -> timedelta:
    if text and text.strip().isdigit() and 1 <= int(text) <= 1440:
        return timedelta(minutes=int(text))
    if text:
        errors.log.warning("HAZARD_SESSION_IDLE_MINUTES=%r is not 1 to 1440 minutes: %d used", text[:20],
                           SESSION_IDLE.seconds // 60)
    return SESSION_IDLE


# What every answer says besides its body: no script but the site's own (the pages have none at all), no frame
# around it, no sniffing, no referrer beyond the site.
HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """A pure ASGI middleware adding HEADERS to every answer (pages, API, assets, errors)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((n, v) for n, v in HEADERS if n not in present)]
            await send(message)
        return await self.app(scope, receive, sending)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("hazard-closure")
    except PackageNotFoundError:
        return "0"


def _handle_errors(app: FastAPI) -> None:
    # Async: each only builds a document, and Starlette runs a plain function handler in the thread pool (a trip
    # to a thread and back for every 404).
    @app.exception_handler(HazardError)
    async def engine_error(_request: Request, exc: HazardError):
        found = error_document(exc)
        if hasattr(exc, "report"):  # an import refused for its rows: the import's document lists every problem
            found["import"] = exc.report.document()
        return document(found, status=errors.status_of(exc))

    @app.exception_handler(errors.Unauthenticated)
    async def unauthenticated(_request: Request, exc: errors.Unauthenticated):
        return document(error_document(exc.error), status=401, headers=errors.CHALLENGE)

    @app.exception_handler(errors.PreconditionFailed)
    async def precondition_failed(_request: Request, exc: errors.PreconditionFailed):
        return document(error_document(exc.error), status=errors.PRECONDITION_FAILED)

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError):
        pending = request.scope.get(auth.PENDING)
        if pending is not None:  # who is calling is said before what is wrong with their body (web/auth.py)
            from starlette.concurrency import run_in_threadpool
            try:
                await run_in_threadpool(pending.resolve)
            except errors.Unauthenticated as problem:
                return await unauthenticated(request, problem)
            except HazardError as problem:
                return await engine_error(request, problem)
        return document(error_document(errors.unreadable(list(exc.errors()))), status=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            problem = NotFound(f"no such endpoint: {request.method} {request.url.path}", kind="endpoint",
                               key=request.url.path)
        elif exc.status_code == 405:
            problem = InvalidInput(f"{request.url.path} does not take {request.method}", rule="method")
        else:
            problem = InvalidInput(str(exc.detail), rule="too-large" if exc.status_code == 413 else "request")
        return document(error_document(problem), status=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        errors.log.exception("%s %s failed", request.method, request.url.path)
        return document({"error": {"type": "InternalError", "exit_code": 1,
                                   "message": "unexpected error; the server's log has the details"}}, status=500)
