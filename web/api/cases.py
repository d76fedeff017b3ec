"""/api/v1/me and /api/v1/cases: who is calling; report, list, show, advance and extend cases, their history.

Each route is its CLI command: the same engine call, the same document (`hazard case ... --json`). A case's
version is its entity tag: `GET /cases/{id}` and every write answer with `ETag: "<version>"`; `If-Match:
"<version>"` on advance or extend is the CLI's --expect-version, and a case no longer at that version is 412
with nothing written.
"""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, File, Form, Header, Query, UploadFile

from engine.domain import documents
from engine.domain.clock import parse_time
from engine.domain.errors import Conflict, InvalidInput
from engine.domain.filters import CaseFilter
from engine.domain.limits import MAX_LIST_LIMIT, MAX_VERSION
from web import auth, models
from web.calls import Call
from web.errors import PreconditionFailed
from web.responses import document

router = APIRouter()
PAGE = 100  # a list's default `limit`


async def case_filters(
        state: str | None = Query(None, description="Only cases in this state: its name or label (rectifying, 整改中)."),
        region: str | None = Query(None, description="A region's code (37, 3717, 371721) or name (菏泽, 曹县)."),
        level: str | None = Query(None, description="major or general."),
        workflow: str | None = Query(None, description="Only cases of this workflow."),
        overdue: bool = Query(False, description="Only open cases past their deadline at the request's time."),
        enterprise: str | None = Query(None, description="Enterprise name contains this text."),
        industry: str | None = Query(None, description="Key sector (a vocabulary word or alias)."),
        source: str | None = Query(None, description="How it was found (self_check, inspection, ...)."),
        responsible_unit: str | None = Query(None, description="Responsible unit contains this text."),
        responsible_person: str | None = Query(None, description="Responsible person contains this text."),
        found_from: str | None = Query(None, description="Found on or after this day."),
        found_to: str | None = Query(None, description="Found on or before this day."),
        deadline_before: str | None = Query(None, description="Deadline earlier than this day."),
        search: str | None = Query(None, description="Title contains this text."),
        sort: str | None = Query(None, description="Order by a field (id, found_at, deadline, due_at, state, ...); "
                                                   "-FIELD descending."),
        as_of: str | None = Query(None, description="The register as it stood at this time, replayed from the events."),
) -> dict:
    """The filters of `hazard case list` (and `hazard export`), named as its options with `-` as `_`. Async: it
    only gathers them, so it costs no trip to a thread."""
    return {"state": state, "region": region, "level": level, "workflow": workflow, "overdue": overdue,
            "enterprise": enterprise, "industry": industry, "source": source, "responsible_unit": responsible_unit,
            "responsible_person": responsible_person, "found_from": found_from, "found_to": found_to,
            "deadline_before": deadline_before, "search": search, "sort": sort, "as_of": as_of}


def moment(text: str | None, field: str = "as_of"):
    return parse_time(text, field=field) if text else None


_ETAG = re.compile(r'^"([0-9]{1,10})"$')


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names (`"3"`, as `ETag` gave it); None for none or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.fullmatch(if_match.strip())
    if found is None or int(found.group(1)) > MAX_VERSION:
        raise InvalidInput(f'If-Match: {if_match[:40]!r} is not a case\'s ETag (give it as the ETag header came, e.g. '
                           '"3")', field="If-Match", rule="version")
    return int(found.group(1))


def etag(case) -> dict:
    return {"ETag": f'"{case.version}"'}


def at_version(write, expected: int | None):
    """Run `write`; when `If-Match` was given, a case no longer at that version is PreconditionFailed (412)."""
    try:
        return write()
    except (Conflict, InvalidInput) as exc:
        if expected is None or exc.rule != "version":
            raise
        text = exc.message.replace("expect_version:", "If-Match:", 1)
        raise PreconditionFailed(type(exc)(text, **_facts(exc))) from None


def _facts(exc) -> dict:
    if isinstance(exc, Conflict):
        return {"case_id": exc.case_id, "expected_version": exc.expected_version, "rule": exc.rule}
    return {"field": "If-Match", "rule": exc.rule}


@router.get("/me", response_model=models.Me, summary="Who is calling: name, roles and regions")
def me(call: Call = Depends(auth.call)):
    return document(documents.user_document(call.caller))


@router.get("/cases", response_model=models.CaseList, summary="The register, filtered as `hazard case list`")
def list_cases(call: Call = Depends(auth.call), filters: dict = Depends(case_filters),
               limit: int = Query(PAGE, ge=1, le=MAX_LIST_LIMIT, description="At most this many cases."),
               offset: int = Query(0, ge=0, le=MAX_VERSION, description="Skip the first this many cases.")):
    as_of = moment(filters.pop("as_of"))
    spec = CaseFilter.of(**filters, limit=limit, offset=offset)
    at = as_of or call.now
    page = call.cases(spec, moment=at, as_of=as_of)
    return document({"cases": [documents.case_document(c, at) for c in page.cases], "total": page.total,
                     "limit": limit, "offset": offset})


@router.post("/cases", status_code=201, response_model=models.CaseDocument,
             summary="Report a hazard, as `hazard case report`")
@auth.one_unit
def report_case(body: models.NewCase, call: Call = Depends(auth.call)):
    created = call.report_case(**body.model_dump())
    return document(documents.case_document(created, call.now), status=201,
                    headers={"Location": f"/api/v1/cases/{created.id}", **etag(created)})


@router.get("/cases/{case_id}", response_model=models.CaseDocument, summary="A case, as `hazard case show`")
def show_case(case_id: str, call: Call = Depends(auth.call),
              as_of: str | None = Query(None, description="The case as it stood at this time, from its events.")):
    when = moment(as_of)
    if when is not None:
        found = call.case_as_of(case_id, when)
        return document({**documents.case_document(found, when, evidence=call.evidence(case_id, as_of=when)),
                         "as_of": when})
    view = call.case_view(case_id)
    return document(documents.case_document(view.case, call.now, rungs=view.rungs, linked=view.linked,
                                            evidence=call.evidence(case_id)),
                    headers=etag(view.case))


def attach_uploads(call: Call, case_id: str, uploads: list, *, kind: str | None, note: str | None,
                   expected_version: int | None = None):
    """Attach uploaded files (each with `.filename` and a readable `.file`): each goes to a temporary file of the
    server's own naming, the name the client sent only shown (its last part, `shown_name`); the engine checks
    the count, each size against the setting, the type from the bytes, the kind and the note, then stores and
    seals them (`hazard case attach`). Returns (the case after, the stored files' documents)."""
    import tempfile
    from pathlib import Path

    from engine.domain import limits
    from web.uploads import shown_name

    uploads = [u for u in uploads if getattr(u, "filename", None)]
    if len(uploads) > limits.MAX_ATTACH_FILES:  # before anything is written
        raise InvalidInput(f"{len(uploads)} files: at most {limits.MAX_ATTACH_FILES} are attached at once", field="file")
    with tempfile.TemporaryDirectory(prefix="hazard-attach-") as folder:
        paths, names = [], []
        for i, upload in enumerate(uploads):
            path = Path(folder) / f"upload-{i}"
            with path.open("wb") as out:
                while chunk := upload.file.read(1 << 20):
                    out.write(chunk)
            paths.append(str(path))
            names.append(shown_name(upload.filename))
        return call.attach(case_id, paths, names=names, kind=kind or None, note=note or None,
                           expected_version=expected_version)


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=list[models.StoredFile],
             summary="Attach files of evidence, as `hazard case attach`",
             responses={412: {"model": models.ErrorDocument, "description": "If-Match names a version the case is "
                                                                               "no longer at; nothing was written."},
                        413: {"model": models.ErrorDocument, "description": "The request is larger than the "
                                                                               "server takes for attachments."}})
def attach(case_id: str, call: Call = Depends(auth.call),
           files: list[UploadFile] = File(description="The files: JPEG, PNG, HEIC, PDF or Office documents, each "
                                                      "within the size limit (attach_max_mb), at most 50."),
           kind: str | None = Form(None, description="found, rectified, plan, acceptance, minutes, notice or other "
                                                     "(default other)."),
           note: str | None = Form(None, description="A note sealed with the files."),
           if_match: str | None = Header(None, description='The case\'s ETag as read ("3"): refuse if it changed.')):
    expected = expected_version(if_match)
    after, stored = at_version(lambda: attach_uploads(call, case_id, files, kind=kind, note=note,
                                                      expected_version=expected), expected)
    return document(stored, status=201, headers={"Location": f"/api/v1/cases/{case_id}", **etag(after)})


@router.get("/cases/{case_id}/history", response_model=models.History,
            summary="Every event of a case, as `hazard case history`")
def history(case_id: str, call: Call = Depends(auth.call)):
    return document({"events": [documents.event_document(e) for e in call.history(case_id)]})


@router.post("/cases/{case_id}/advance", response_model=models.CaseDocument,
             summary="Fire a trigger, as `hazard case advance`",
             responses={412: {"model": models.ErrorDocument, "description": "If-Match names a version the case is "
                                                                               "no longer at; nothing was written."}})
@auth.one_unit
def advance(case_id: str, body: models.Advance, call: Call = Depends(auth.call),
            if_match: str | None = Header(None, description='The case\'s ETag as read ("3"): refuse if it changed.')):
    expected = expected_version(if_match)
    after = at_version(lambda: call.advance_case(case_id, body.trigger, fields=body.fields,
                                                 expected_version=expected), expected)
    return document(documents.case_document(after, call.now), headers=etag(after))


@router.post("/cases/{case_id}/extend", response_model=models.CaseDocument,
             summary="Extend a deadline, as `hazard case extend`",
             responses={412: {"model": models.ErrorDocument, "description": "If-Match names a version the case is "
                                                                               "no longer at; nothing was written."}})
@auth.one_unit
def extend(case_id: str, body: models.Extend, call: Call = Depends(auth.call),
           if_match: str | None = Header(None, description='The case\'s ETag as read ("3"): refuse if it changed.')):
    expected = expected_version(if_match)
    after = at_version(lambda: call.extend_deadline(case_id, until=body.until, reason=body.reason, clock=body.clock,
                                                    expected_version=expected), expected)
    return document(documents.case_document(after, call.now), headers=etag(after))
