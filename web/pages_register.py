"""The register (`/register`) and the escalation board (`/escalations`): two read-only pages of the console.

The register takes every filter of `hazard case list` under the names the API's `GET /api/v1/cases` takes
(`state, region, level, workflow, overdue, enterprise, industry, source, responsible_unit, responsible_person,
found_from, found_to, deadline_before, search, sort, as_of`), pages with `limit` and `offset`, and links the
same filters to `GET /api/v1/export` (the register as xlsx, through the export call, with the page's session).
The board shows the rungs due now, the late ones (past the definition's grace, not fired) marked, grouped by
the case's county. Both read through web/calls.py with the caller: a case outside her reach is absent.
"""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from engine.domain.errors import HazardError
from engine.domain.filters import CaseFilter
from web import errors
from web.api.cases import moment
from web.pages import Page, signed_in

router = APIRouter(include_in_schema=False)

FILTERS = ("state", "region", "level", "workflow", "overdue", "enterprise", "industry", "source", "responsible_unit",
           "responsible_person", "found_from", "found_to", "deadline_before", "search", "sort", "as_of")
PAGE = 50
MAX_PAGE = 500
BOARD = 500  # at most this many rungs on the board


def _whole(text: str | None, default: int, top: int) -> int:
    text = (text or "").strip()
    return min(int(text), top) if text.isdigit() and len(text) < 10 else default


def state_labels(call, cases) -> dict:
    """(workflow, version, state) -> the definition's label, for the cases shown."""
    labels, seen = {}, set()
    for c in cases:
        key = (c.workflow, c.workflow_version)
        if key in seen:
            continue
        seen.add(key)
        try:
            _, definition = call.workflow(*key)
        except HazardError:
            continue
        for s in definition.states:
            labels[(*key, s.name)] = s.label or s.name
    return labels


def _register(current: Page, given: dict):
    typed = {name: given.get(name, "").strip()[:200] for name in FILTERS}
    typed["overdue"] = "true" if typed["overdue"].lower() in ("true", "on", "1", "yes") else ""
    limit = _whole(given.get("limit"), PAGE, MAX_PAGE) or PAGE
    offset = _whole(given.get("offset"), 0, 10_000_000)
    query = {k: v for k, v in typed.items() if v}
    found, error, status = None, None, 200
    try:
        filters = {k: v for k, v in typed.items() if k != "as_of"}
        filters["overdue"] = bool(typed["overdue"])
        as_of = moment(typed["as_of"] or None)
        spec = CaseFilter.of(**filters, limit=limit, offset=offset)
        found = current.call.cases(spec, moment=as_of or current.call.now, as_of=as_of)
    except HazardError as exc:
        error, status = exc.message, errors.status_of(exc)
    cases = list(found.cases) if found else []
    total = found.total if found else 0
    at = (moment(typed["as_of"]) if typed["as_of"] and not error else None) or current.call.now
    page_of = lambda o: "/register?" + urlencode({**query, "limit": limit, "offset": o})  # noqa: E731
    return current.render(
        "register.html", status, typed=typed, cases=cases, total=total, limit=limit, offset=offset, error=error,
        labels=state_labels(current.call, cases), at=at,
        previous=page_of(max(0, offset - limit)) if offset else None,
        following=page_of(offset + limit) if offset + limit < total else None,
        export="/api/v1/export?" + urlencode({**query, "format": "xlsx"}),
        export_csv="/api/v1/export?" + urlencode({**query, "format": "csv"}))


@router.get("/register")
async def register(request: Request):
    current = await signed_in(request)
    return await run_in_threadpool(_register, current, dict(request.query_params))


def _board(current: Page):
    call = current.call
    due, lateness = call.escalations(due=True, limit=BOARD)
    late, _ = call.escalations(overdue_unfired=True, limit=BOARD)
    late_ids = {r.id for r in late}
    cases = {}
    for r in due:
        if r.case_id not in cases:
            try:
                cases[r.case_id] = call.case_view(r.case_id).case
            except HazardError:  # gone from her reach meanwhile: not shown
                cases[r.case_id] = None
    groups: dict[str, list] = {}
    for r in due:
        case = cases.get(r.case_id)
        if case is None:
            continue
        groups.setdefault(case.region, []).append({"rung": r, "case": case, "late": r.id in late_ids,
                                                   "late_hours": (call.now - r.due_at).total_seconds() / 3600})
    shown = [c for c in cases.values() if c is not None]
    rung_labels = {}
    for c in shown:
        key = (c.workflow, c.workflow_version)
        if key in rung_labels:
            continue
        try:
            _, definition = call.workflow(*key)
            rung_labels[key] = {r.name: r.label or r.name for r in definition.rungs}
        except HazardError:
            rung_labels[key] = {}
    return current.render("escalations.html", groups=sorted(groups.items()), lateness=lateness, now=call.now,
                          count=sum(len(v) for v in groups.values()), late=sum(1 for v in groups.values()
                                                                               for i in v if i["late"]),
                          rung_labels=rung_labels, labels=state_labels(call, shown), capped=len(due) >= BOARD)


@router.get("/escalations")
async def escalations(request: Request):
    current = await signed_in(request)
    return await run_in_threadpool(_board, current)
