"""/api/v1/workflows: the installed workflow definitions, as `hazard workflow list` and `workflow show` give them."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from engine.domain import documents
from engine.domain.limits import MAX_VERSION
from web import auth, models
from web.calls import Call
from web.responses import document

router = APIRouter()


@router.get("/workflows", response_model=list[models.WorkflowVersion],
            summary="Installed workflows and their versions, as `hazard workflow list`")
def workflows(call: Call = Depends(auth.call)):
    return document([documents.workflow_version_document(v) for v in call.workflow_versions()])


@router.get("/workflows/{name}", response_model=models.Workflow,
            summary="A workflow version with its text and diagram, as `hazard workflow show` and `workflow draw`")
def workflow(name: str, call: Call = Depends(auth.call),
             version: int | None = Query(None, ge=0, le=MAX_VERSION, description="This version (default: newest).")):
    from engine.domain.definition import diagram
    stored, definition = call.workflow(name, version)
    return document({**documents.workflow_document(stored, definition),
                     "diagram": {"mermaid": diagram.mermaid(definition), "dot": diagram.dot(definition)}})
