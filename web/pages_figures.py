"""Figures (`/figures`): the stats by region, industry or level with their chart, the bulletin, the four lists and
the campaigns' status, each through web/calls.py with the caller (her reach only, as `hazard report ...`).

The chart is the bulletin's own inline SVG (engine.reports.chart.bar_chart: no script, no font fetched; it
escapes its labels). `/figures/bulletin` shows the bulletin's self-contained HTML page under a policy of its own:
no script at all, its inline stylesheet allowed; the Markdown, HTML and xlsx files download from the API
(`/api/v1/reports/bulletin?format=...`, `/api/v1/reports/lists?format=...`), which takes the page's session.
"""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from engine.domain.errors import HazardError
from engine.reports.chart import bar_chart
from web import errors
from web.pages import Page, signed_in

router = APIRouter(include_in_schema=False)

BY = {"county": "县（区）", "city": "市", "industry": "行业", "level": "等级", "source": "来源", "state": "状态"}
LIST_ROWS = 20      # rows of each list shown on the page (the files have them all)
CAMPAIGNS = 10      # campaigns whose status the page shows
# The bulletin's own page: its stylesheet is inline; still no script, no frame, nothing fetched.
BULLETIN_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
                   "frame-ancestors 'none'; base-uri 'none'")


def _text(given: dict, name: str) -> str:
    return (given.get(name) or "").strip()[:100]


def group_label(row: dict, by: list[str]) -> str:
    parts = []
    for field in by:
        value = row.get(f"{field}_name") or row.get(f"{field}_label") or row.get(field)
        parts.append(str(value) if value else "（未填）")
    return " / ".join(parts) or "合计"


def _stats(current: Page, typed: dict):
    by = [typed["by"]]
    result = current.call.stats(by=tuple(by), region=typed["region"] or None, level=typed["level"] or None,
                                from_=typed["from"] or None, to=typed["to"] or None, as_of=typed["as_of"] or None)
    found = result.as_dict()
    rows = [{**d, "label": group_label(d, by)} for d in found["rows"]]
    chart = bar_chart(f"整改率（按{BY[typed['by']]}）", [(r["label"], row.rate) for r, row in zip(rows, result.rows)],
                      rounding=result.definition.rounding)
    return {"rows": rows, "total": found["total"], "at": found["at"], "chart": Markup(chart)}


def _campaigns(current: Page) -> list:
    shown = []
    for c in current.call.campaigns()[:CAMPAIGNS]:
        try:
            shown.append(current.call.campaign_status(c["campaign"], as_of=None))
        except HazardError as exc:
            shown.append({"campaign": c["campaign"], "title": c["title"], "error": exc.message, "stages": []})
    return shown


def _figures(current: Page, given: dict):
    typed = {name: _text(given, name) for name in ("by", "region", "level", "from", "to", "as_of", "period",
                                                     "date")}
    typed["by"] = typed["by"] if typed["by"] in BY else "county"
    typed["period"] = typed["period"] if typed["period"] in ("week", "month", "quarter") else "month"
    status, stats, lists, campaigns = 200, None, None, []
    problems = dict.fromkeys(("stats", "lists", "campaigns"), "")
    try:
        stats = _stats(current, typed)
    except HazardError as exc:
        problems["stats"], status = exc.message, errors.status_of(exc)
    try:
        lists = current.call.lists(region=typed["region"] or None, as_of=typed["as_of"] or None)
        lists = [{"title": spec.title, "count": len(rows), "columns": spec.columns, "rows": rows[:LIST_ROWS]}
                 for spec, rows in lists.entries]
    except HazardError as exc:
        problems["lists"] = exc.message
        status = status if status != 200 else errors.status_of(exc)
    try:
        campaigns = _campaigns(current)
    except HazardError as exc:
        problems["campaigns"] = exc.message
    office = _office(current, typed["region"])
    bulletin = {k: v for k, v in (("period", typed["period"]), ("date", typed["date"]), ("region", office)) if v}
    listing = {k: v for k, v in (("region", typed["region"]), ("as_of", typed["as_of"])) if v}
    return current.render(
        "figures.html", status, typed=typed, by_choices=BY, stats=stats, lists=lists, campaigns=campaigns,
        problems=problems, bulletin_view="/figures/bulletin?" + urlencode(bulletin),
        bulletin_files={f: "/api/v1/reports/bulletin?" + urlencode({**bulletin, "format": f})
                        for f in ("md", "html", "xlsx")},
        list_files={f: "/api/v1/reports/lists?" + urlencode({**listing, "format": f}) for f in ("md", "html", "xlsx")},
        cell=_cell)


def _cell(row: dict, key: str):
    value = row.get(key)
    if isinstance(value, list):
        return len(value)
    return "" if value is None else value


@router.get("/figures")
async def figures(request: Request):
    current = await signed_in(request)
    return await run_in_threadpool(_figures, current, dict(request.query_params))


def _office(current: Page, region: str) -> str:
    """The bulletin's region: the one asked for, else the user's own when she has exactly one."""
    mine = [r for r in current.call.caller.regions if r]
    return region or (mine[0] if len(mine) == 1 else "")


def _bulletin(current: Page, given: dict):
    period = _text(given, "period")
    period = period if period in ("week", "month", "quarter") else "month"
    try:
        result = current.call.bulletin(period=period, date=_text(given, "date") or None,
                                       region=_office(current, _text(given, "region")) or None, campaign=None)
    except HazardError as exc:
        return current.render("error.html", errors.status_of(exc), title="无法生成通报", message=exc.message)
    return HTMLResponse(result.html(), headers={"Cache-Control": "no-store",
                                                "Content-Security-Policy": BULLETIN_POLICY})


@router.get("/figures/bulletin")
async def bulletin(request: Request):
    current = await signed_in(request)
    return await run_in_threadpool(_bulletin, current, dict(request.query_params))
