"""/api/v1/inbox: the caller's in-app messages, as `hazard inbox`; marking them read, as `hazard inbox --read`."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from web import auth, models
from web.calls import Call
from web.responses import document

router = APIRouter()


@router.get("/inbox", response_model=list[models.Message],
            summary="The caller's in-app messages, newest first, as `hazard inbox --json`")
def inbox(call: Call = Depends(auth.call),
          all: bool = Query(False, description="Read messages too (default: unread only).")):  # noqa: A002
    return document(call.inbox(everything=all))


@router.post("/inbox/read", response_model=models.Marked, summary="Mark messages read, as `hazard inbox --read`")
def mark_read(body: models.MarkRead | None = None, call: Call = Depends(auth.call)):
    return document({"marked": call.mark_read(body.ids if body else None)})
