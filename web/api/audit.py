"""/api/v1/escalations, a case's trace and dossier, and /api/v1/audit/verify: the ladder and the auditor's reads.

`GET /escalations` takes `hazard escalation list`'s options (`due`, `overdue_unfired`, `proposed`, `status`
repeated, `all`, `case`, `limit`); trace and dossier are `hazard audit trace` and `hazard audit dossier`;
verify is `hazard audit verify`, whose finding is its answer (`ok` false, the breaks named) rather than an
error: the request was served, the log did not verify.
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from engine.domain import documents
from engine.domain.limits import MAX_LIST_LIMIT
from web import auth, models
from web.api.cases import moment
from web.calls import Call
from web.responses import document, download

router = APIRouter()

# The statuses a rung row has (as `hazard escalation list --status` takes them; tests/test_web_api.py keeps the
# two lists equal).
RungStatus = Literal["pending", "paused", "proposed", "approved", "declined", "lapsed", "fired", "skipped",
                     "cancelled"]


@router.get("/escalations", response_model=models.EscalationList,
            summary="Escalation rungs, as `hazard escalation list`")
def escalations(call: Call = Depends(auth.call),
                due: bool = Query(False, description="Only rungs due now and not fired."),
                overdue_unfired: bool = Query(False, description="Only due rungs past their grace and not fired."),
                proposed: bool = Query(False, description="Only proposals awaiting a decision."),
                status: list[RungStatus] = Query([], description="Only rungs of this status (repeatable)."),
                all: bool = Query(False, description="Cancelled rungs too."),  # noqa: A002 - the CLI's --all
                case: str | None = Query(None, description="Only the rungs of this case."),
                limit: int = Query(1000, ge=1, le=MAX_LIST_LIMIT)):
    wanted = set(status) | ({"proposed"} if proposed else set())
    rows, lateness = call.escalations(due=due, overdue_unfired=overdue_unfired, case_id=case, limit=limit,
                                      statuses=tuple(sorted(wanted)), cancelled=all)
    return document(documents.escalation_list_document(rows, lateness, call.now))


@router.get("/cases/{case_id}/trace", response_model=models.Trace,
            summary="The responsibility trace (责任倒查), as `hazard audit trace`")
def trace(case_id: str, call: Call = Depends(auth.call),
          as_of: str | None = Query(None, description="Trace up to this time (default: now).")):
    case, found = call.trace(case_id, as_of=moment(as_of) or call.now)
    return document(documents.trace_document(case, found))


@router.get("/cases/{case_id}/dossier", summary="The case file (案卷), as `hazard audit dossier`",
            response_class=HTMLResponse,
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}},
                             "description": "A self-contained printable HTML page, or the dossier's JSON."}})
def dossier(case_id: str, call: Call = Depends(auth.call),
            format: Literal["html", "json"] = Query("html", description="html or json.")):  # noqa: A002
    from engine.domain.dossier import to_html, to_json
    data = call.dossier(case_id)
    if format == "html":
        return download(to_html(data), fmt="html")
    return download(to_json(data), fmt="json")


@router.get("/audit/verify", response_model=models.Verification,
            summary="Check every hash chain (and a published anchor), as `hazard audit verify`")
def verify(call: Call = Depends(auth.call),
           anchor: str | None = Query(None, description="Also check the log against this published anchor line.")):
    check = call.check_anchor(anchor) if anchor is not None else None
    result = call.verify()
    return document(documents.verify_report_document(result, check))
