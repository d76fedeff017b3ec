"""The auditor's pages: a case's responsibility trace (`/cases/{id}/trace`), its dossier (`/cases/{id}/dossier`,
the engine's own printable page) and the verification of every hash chain (`/audit/verify`).

Each is the engine call `hazard audit trace`, `audit dossier` and `audit verify` make, through web/calls.py with
the caller: the reads are scoped to the caller's regions (a case outside is 404 as one that does not exist), and
verify is the committee's and the auditor's only, by the engine's rule (others get its refusal, 403). Nothing
here decides who may see what.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from engine.domain.clock import parse_time
from engine.domain.errors import HazardError
from web import errors
from web.pages import Page, signed_in

router = APIRouter(include_in_schema=False)

# The dossier is the engine's self-contained page (its stylesheet inline): its answer allows inline styles,
# still no script at all and no frame around it.
DOSSIER_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
                  "frame-ancestors 'none'; base-uri 'none'")


def _refused(current: Page, exc: HazardError, title: str = "无法显示") -> HTMLResponse:
    return current.render("error.html", errors.status_of(exc), title=title, message=exc.message)


@router.get("/cases/{case_id}/trace")
async def trace(request: Request, case_id: str, as_of: str | None = None):
    current = await signed_in(request)

    def read():
        moment = parse_time(as_of, field="as_of") if as_of else current.call.now
        case, found = current.call.trace(case_id, as_of=moment)
        return current.render("trace.html", case=case, trace=found, as_of=as_of or "",
                              days=lambda seconds: round((seconds or 0) / 86400, 1))
    try:
        return await run_in_threadpool(read)
    except HazardError as exc:
        return _refused(current, exc)


@router.get("/cases/{case_id}/dossier")
async def dossier(request: Request, case_id: str):
    current = await signed_in(request)

    def read():
        from engine.domain.dossier import to_html
        return to_html(current.call.dossier(case_id))
    try:
        page = await run_in_threadpool(read)
    except HazardError as exc:
        return _refused(current, exc)
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": DOSSIER_POLICY})


@router.get("/audit/verify")
async def verify(request: Request):
    current = await signed_in(request)
    try:
        result = await run_in_threadpool(current.call.verify)
    except HazardError as exc:
        return _refused(current, exc, "无权校验")
    from engine.domain.documents import verify_report_document
    return current.render("verify.html", report=verify_report_document(result))
