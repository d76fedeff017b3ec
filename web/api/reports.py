"""/api/v1/reports/... and /api/v1/campaigns: figures, bulletins, the four lists and campaigns, read-only.

Each takes its CLI command's options (`hazard report stats|bulletin|lists`, `hazard campaign list|status`) and
answers its `--json` document; a bulletin or the lists asked for as `format=md|html|xlsx` come as the file the
CLI writes with --output. The report definition is the shipped one (a definition file is the CLI's option).
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from web import auth, models
from web.calls import Call
from web.responses import document, download

router = APIRouter()

By = Literal["region", "province", "city", "county", "industry", "source", "level", "department", "enterprise", "state",
             "grade"]


@router.get("/reports/stats", response_model=models.Stats, summary="Figures per group, as `hazard report stats`")
def stats(call: Call = Depends(auth.call),
          by: list[By] = Query([], description="Group by (repeatable). Regions roll up county -> city -> province."),
          region: str | None = Query(None, description="Only hazards within this region code (37, 3717, 371721)."),
          level: str | None = Query(None, description="major or general."),
          from_: str | None = Query(None, alias="from", description="Hazards found on or after this day."),
          to: str | None = Query(None, description="... and on or before this day; figures as of its end."),
          as_of: str | None = Query(None, description="Figures as they stood at this moment, from the event log.")):
    result = call.stats(by=tuple(by), from_=from_, to=to, region=region, level=level, as_of=as_of)
    return document(result.as_dict())


@router.get("/reports/bulletin", response_model=models.Bulletin,
            summary="The weekly brief / monthly bulletin (周简报、月通报), as `hazard report bulletin`",
            responses={200: {"description": "The bulletin's document, or with `format` the Markdown, HTML or xlsx "
                                            "file."}})
def bulletin(call: Call = Depends(auth.call),
             period: Literal["week", "month", "quarter"] | None = Query(
                 None, description="The period holding `date`; required unless `campaign`."),
             date: str | None = Query(None, description="A day of the period (default: today)."),
             region: str | None = Query(None, description="The office's region."),
             campaign: str | None = Query(None, description="A campaign's bulletin: only its cases."),
             format: Literal["json", "md", "html", "xlsx"] = Query(  # noqa: A002 - the CLI's --format
                 "json", description="json (the document), md, html or xlsx (the file).")):
    from engine.domain.errors import InvalidInput
    if period is None and campaign is None:
        raise InvalidInput("give period=week, month or quarter (or campaign=NAME)", field="period", rule="requires")
    result = call.bulletin(period=period, date=date, region=region, campaign=campaign)
    if format == "json":
        return document(result.as_dict())
    data = {"md": result.markdown, "html": result.html, "xlsx": result.xlsx}[format]()
    return download(data, fmt=format, filename=f"bulletin.{format}" if format == "xlsx" else None)


@router.get("/reports/lists", response_model=models.Lists,
            summary="The four lists (四个清单), as `hazard report lists`",
            responses={200: {"description": "The lists' document, or with `format` the Markdown, HTML or xlsx file."}})
def lists(call: Call = Depends(auth.call),
          list_: str | None = Query(None, alias="list", description="One list: industry-enterprises, key-risk-points, "
                                                                    "major-to-clear, to-suspend (default: all four)."),
          region: str | None = Query(None, description="Only hazards within this region code."),
          as_of: str | None = Query(None, description="The lists as they stood at this moment, from the event log."),
          format: Literal["json", "md", "html", "xlsx"] = Query(  # noqa: A002 - the CLI's --format
              "json", description="json (the document), md, html or xlsx (the file).")):
    from engine.reports import output
    result = call.lists(list=list_, region=region, as_of=as_of)
    if format == "json":
        return document(result.as_dict())
    data = {"md": output.to_markdown, "html": output.to_html, "xlsx": output.to_xlsx}[format](result.page())
    return download(data, fmt=format, filename=f"lists.{format}" if format == "xlsx" else None)


@router.get("/campaigns", response_model=list[models.Campaign], summary="Campaigns, as `hazard campaign list`")
def campaigns(call: Call = Depends(auth.call)):
    return document(call.campaigns())


@router.get("/campaigns/{name}", response_model=models.CampaignStatus,
            summary="A campaign's stages and targets, as `hazard campaign status`")
def campaign(name: str, call: Call = Depends(auth.call),
             as_of: str | None = Query(None, description="The campaign as it stood at this moment.")):
    return document(call.campaign_status(name, as_of=as_of))
