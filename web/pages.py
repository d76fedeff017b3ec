"""The web console's pages (Chinese, server-rendered, readable on a phone): log-in and log-out, 我的待办 at `/`,
the case page with one form per trigger the user may fire, the extension and decision forms, and reporting a
hazard. Templates in web/templates (Jinja2, autoescaped), the stylesheet in web/static; no script at all.

Sessions: `POST /login` signs in by the engine's password rule (`web.calls.open_session`) and sets the cookie
`hazard_session` (HttpOnly, SameSite=Lax, Secure when served over https); the session row lives in the database.
Every page but /login needs a live session and redirects to /login without one. Every state-changing form
carries the session's CSRF token (`csrf`): a POST without it, or with another session's, is 403 and writes
nothing. The log-in form itself carries a token of its own, matched against a cookie (double submit), so a
site elsewhere cannot sign a browser in under another name.

Nothing here decides what a user may do: the triggers offered come from the engine (`queries.case_page`, the
machine's permission rule), and every form goes to the same engine command as the CLI and the API, whose
refusal is shown on the form in the rule's own words, with what was typed kept.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from engine.domain import regions, vocabularies
from engine.domain.case import FIVE_IMPLEMENTATIONS
from engine.domain.clock import SHANGHAI
from engine.domain.errors import HazardError, PermissionDenied
from web import calls, errors

COOKIE = "hazard_session"
LOGIN_COOKIE = "hazard_login"
MAX_FORM_FIELDS = 64
router = APIRouter(include_in_schema=False)


class NotSignedIn(Exception):
    """No live session: a page answers with a redirect to /login."""


# -- templates -----------------------------------------------------------------------------------------------------
def _environment():
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["region"] = regions.label
    env.globals["vocab"] = vocabularies.label_of
    return env


_ENV = None


def render(template: str, status: int = 200, headers: dict | None = None, **values) -> HTMLResponse:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return HTMLResponse(_ENV.get_template(template).render(**values), status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _when(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d")
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# -- sessions ------------------------------------------------------------------------------------------------------
class Page:
    """A signed-in request: the engine call with its caller, and the session's CSRF token."""

    def __init__(self, call: calls.Call, csrf: str, unread: int = 0):
        self.call, self.csrf, self.unread = call, csrf, unread

    def render(self, template: str, status: int = 200, **values) -> HTMLResponse:
        return render(template, status, user=self.call.caller, csrf=self.csrf, unread=self.unread, **values)


def _signed_in(request: Request) -> Page:
    engine = request.app.state.engine
    try:
        session = calls.session_of(engine, request.cookies.get(COOKIE), idle=request.app.state.session_idle)
    except PermissionDenied:
        raise NotSignedIn() from None
    call = calls.Call(engine, session.user, engine.clock.now())
    return Page(call, session.csrf, call.unread())  # the bell's count, read in the session's own thread


async def signed_in(request: Request) -> Page:
    return await run_in_threadpool(_signed_in, request)


async def posted(request: Request) -> tuple[Page, dict]:
    """A state-changing form: the session, and the form's fields once its CSRF token is the session's (403 and
    nothing done otherwise)."""
    page = await signed_in(request)
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    given = {k: v for k, v in form.items() if isinstance(v, str)}
    token = given.pop("csrf", "")
    if not token or not hmac.compare_digest(token.encode(), page.csrf.encode()):
        raise Forbidden(page)
    return page, given


class Forbidden(Exception):
    def __init__(self, page: Page | None):
        self.page = page


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def install(app) -> None:
    """The pages' routes and their two answers to a request without a session or without its CSRF token."""
    from web import routes
    routes.add(app, router)

    @app.exception_handler(NotSignedIn)
    def to_login(request: Request, _exc: NotSignedIn):
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += "?next=" + quote(request.url.path, safe="/")
        response = RedirectResponse(target, status_code=303)
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(Forbidden)
    def forbidden(_request: Request, exc: Forbidden):
        message = "表单缺少有效的安全令牌（CSRF），未做任何更改。请返回页面重新提交。"
        if exc.page is None:
            return render("error.html", 403, user=None, csrf="", title="拒绝", message=message)
        return exc.page.render("error.html", 403, title="拒绝", message=message)


def _next(value: str | None) -> str:
    """Where to go after log-in: a path of this site only (never `//elsewhere` or a scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value and len(value) < 200:
        return value
    return "/"


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    token = secrets.token_urlsafe(24)
    response = render("login.html", user=None, csrf="", login_token=token, next=_next(next), error=None, name="")
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=_cookie_secure(request),
                        path="/login", max_age=3600)
    return response


@router.post("/login")
async def login(request: Request):
    form = await request.form(max_files=0, max_fields=8)
    name, password = str(form.get("name") or "")[:200], str(form.get("password") or "")[:1000]
    token, cookie = str(form.get("login_token") or ""), request.cookies.get(LOGIN_COOKIE) or ""
    target = _next(str(form.get("next") or ""))
    if not token or not cookie or not hmac.compare_digest(token.encode(), cookie.encode()):
        return render("error.html", 403, user=None, csrf="", title="拒绝",
                      message="登录表单已失效或缺少安全令牌：请重新打开登录页。")
    engine = request.app.state.engine
    address = request.client.host if request.client else None
    try:
        session = await run_in_threadpool(calls.open_session, engine, name, password, address=address)
    except HazardError as exc:
        status = 429 if exc.rule == "login-throttled" else 401 if isinstance(exc, PermissionDenied) else \
            errors.status_of(exc)
        message = {"login": "用户名或密码错误。", "login-throttled": "登录失败次数过多：" + exc.message,
                   "disabled": "该用户已被停用。"}.get(exc.rule, exc.message)
        return render("login.html", status, user=None, csrf="", login_token=token, next=target, error=message,
                      name=name)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, session.cookie, httponly=True, samesite="lax", secure=_cookie_secure(request),
                        path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request):
    await posted(request)
    await run_in_threadpool(calls.close_session, request.app.state.engine, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- 我的待办 -------------------------------------------------------------------------------------------------------
PAGE = 50


@router.get("/")
async def work(request: Request, page: int = 1):
    current = await signed_in(request)
    page = max(1, min(page, 10_000))
    found = await run_in_threadpool(current.call.work, limit=PAGE, offset=(page - 1) * PAGE)
    labels = {g["state"]: g["label"] for g in found.by_state}
    return current.render("work.html", work=found, page=page, pages=max(1, -(-found.counts["cases"] // PAGE)),
                          now=current.call.now, state_labels=labels)


# -- the inbox (the bell) ----------------------------------------------------------------------------------------------
@router.get("/inbox")
async def inbox(request: Request, all: bool = False):  # noqa: A002 - the query parameter's name
    current = await signed_in(request)
    messages = await run_in_threadpool(current.call.inbox, everything=all)
    return current.render("inbox.html", messages=messages, everything=all)


@router.post("/inbox/read")
async def inbox_read(request: Request):
    current, given = await posted(request)
    ids = [int(v) for v in given.get("ids", "").split(",") if v.strip().isdigit()] or None
    await run_in_threadpool(current.call.mark_read, ids)
    return RedirectResponse("/inbox", status_code=303)


# -- the case page ---------------------------------------------------------------------------------------------------
def _case_values(current: Page, case_id: str, *, open_form: str | None = None, error: str | None = None,
                 typed: dict | None = None, status: int = 200) -> HTMLResponse:
    from engine.domain.evidence import PHOTO_TYPES, evidence_document
    shown = current.call.case_page(case_id)
    case, d = shown.view.case, shown.definition
    label = lambda name: (d.field_spec(name).label if d.field_spec(name) else "") or name  # noqa: E731
    forms = []
    for t in shown.transitions:
        forms.append({"trigger": t.trigger, "label": t.label or t.trigger,
                      "fields": [_field(d, name, name in t.requires) for name in t.accepts]})
    return current.render(
        "case.html", status, case=case, definition=d, state=d.state(case.state), label=label,
        five=[(name, label(name), case.fields.get(name)) for name in FIVE_IMPLEMENTATIONS] if case.owes_implementations
        else [], missing=set(case.missing_implementations), forms=forms, events=shown.events,
        rungs=shown.view.rungs, linked=shown.view.linked, may_extend=shown.may_extend, decisions=shown.decisions,
        evidence=evidence_document(shown.events), evidence_kinds=list(vocabularies.evidence().terms.values()),
        photo_types=PHOTO_TYPES,
        # The upload form for those who act on cases; an auditor only reads (the engine checks every upload).
        may_attach=any(role != "auditor" for role in current.call.caller.roles),
        open_form=open_form, error=error, typed=typed or {}, overdue=case.overdue(current.call.now),
        state_label=lambda s: (d.state(s).label if s and d.state(s) else s) or "",
        rung_label=lambda name: next((r.label for r in d.rungs if r.name == name), "") or name)


def _field(d, name: str, required: bool) -> dict:
    spec = d.field_spec(name)
    kind = spec.type if spec else "text"
    return {"name": name, "label": (spec.label if spec else "") or name, "type": kind, "required": required,
            "values": list(spec.values) if spec else []}


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str):
    current = await signed_in(request)
    try:
        return await run_in_threadpool(_case_values, current, case_id)
    except HazardError as exc:
        return current.render("error.html", errors.status_of(exc), title="无法显示", message=exc.message)


async def _write(request: Request, case_id: str, form_name: str, write) -> Response:
    current, given = await posted(request)
    try:
        await run_in_threadpool(write, current.call, dict(given))   # `given` stays as typed, for the form
    except HazardError as exc:
        try:
            return await run_in_threadpool(lambda: _case_values(current, case_id, open_form=form_name,
                                                                error=exc.message, typed=given,
                                                                status=errors.status_of(exc)))
        except HazardError as again:
            return current.render("error.html", errors.status_of(again), title="无法办理", message=again.message)
    return RedirectResponse(f"/cases/{quote(case_id)}", status_code=303)


def _version(given: dict) -> int | None:
    text = given.pop("version", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


@router.post("/cases/{case_id}/advance")
async def advance(request: Request, case_id: str):
    def write(call, given):
        trigger = given.pop("trigger", "")
        expected = _version(given)
        fields = {k[2:]: v.strip() for k, v in given.items() if k.startswith("f.") and v.strip()}
        call.advance_case(case_id, trigger, fields=fields, expected_version=expected)
    return await _write(request, case_id, "advance", write)


@router.post("/cases/{case_id}/extend")
async def extend(request: Request, case_id: str):
    def write(call, given):
        expected = _version(given)
        call.extend_deadline(case_id, until=given.get("until", "").strip(), reason=given.get("reason", ""),
                             clock=None, expected_version=expected)
    return await _write(request, case_id, "extend", write)


@router.post("/cases/{case_id}/decide")
async def decide(request: Request, case_id: str):
    def write(call, given):
        expected = _version(given)
        call.decide(case_id, given.get("rung", ""), given.get("decision", ""), reason=given.get("reason", ""),
                    expected_version=expected)
    return await _write(request, case_id, "decide", write)


# -- report a hazard -------------------------------------------------------------------------------------------------
REPORT_FIELDS = ("title", "enterprise", "region", "industry", "level", "source", "found_at")


def _report_form(current: Page, *, error: str | None = None, typed: dict | None = None, status: int = 200):
    user = current.call.caller
    places = []
    for code in user.regions:
        places.append((code, regions.full_name(code) if code else "全国"))
        if code and len(code) < 6:
            places += [(c, regions.full_name(c)) for c in regions.children(code)][:300]
    vocab = vocabularies.vocabularies()
    _, definition = current.call.workflow("major-hazard", None)
    command = definition.report
    report_fields = [_field(definition, name, name in command.requires)
                     for name in (*command.requires, *(f for f in command.sets if f not in command.requires))]
    return current.render("report.html", status, error=error, typed=typed or {}, places=places,
                          industries=list(vocab["industries"].terms.values()),
                          sources=list(vocab["sources"].terms.values()), levels=list(vocab["levels"].terms.values()),
                          report_fields=report_fields)


@router.get("/report")
async def report_form(request: Request):
    current = await signed_in(request)
    return await run_in_threadpool(_report_form, current)


@router.post("/report")
async def report(request: Request):
    current, given = await posted(request)

    def write():
        attributes = {k: given.get(k, "").strip() for k in REPORT_FIELDS if k != "found_at"}
        fields = {k[2:]: v.strip() for k, v in given.items() if k.startswith("f.") and v.strip()}
        return current.call.report_case(fields=fields, found_at=given.get("found_at", "").strip() or None,
                                        **attributes)
    try:
        created = await run_in_threadpool(write)
    except HazardError as exc:
        return await run_in_threadpool(lambda: _report_form(current, error=exc.message, typed=given,
                                                            status=errors.status_of(exc)))
    return RedirectResponse(f"/cases/{quote(created.id)}", status_code=303)
