"""Evidence on the case page: the upload form (`POST /cases/{id}/attachments`, multipart with the session's CSRF
token) and the stored files served to the readers who may see the case (`/cases/{id}/files/{sha256}` the file,
`.../thumbnail` a downscaled JPEG of a photo made on the fly; the original is only read).

A file is served only as one sealed on that case, for a caller whose reach covers the case (the engine's
`queries.evidence_file`): a hash alone opens nothing, and a case outside the reach is 404 as one that does not
exist. Every upload goes to the engine's `attach`, through web/calls.py, as `hazard case attach` does.
"""
from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response

from engine.domain.errors import HazardError, NotFound
from web import errors
from web.pages import MAX_FORM_FIELDS, Forbidden, signed_in

router = APIRouter(include_in_schema=False)
INLINE = {"image/jpeg", "image/png", "application/pdf"}  # shown in the browser; anything else is downloaded


@router.post("/cases/{case_id}/attachments")
async def attach(request: Request, case_id: str):
    from engine.domain import limits
    from web.api.cases import attach_uploads
    from web.pages import _case_values

    current = await signed_in(request)
    form = await request.form(max_files=limits.MAX_ATTACH_FILES + 1, max_fields=MAX_FORM_FIELDS)
    token = form.get("csrf")
    if not isinstance(token, str) or not token or not hmac.compare_digest(token.encode(), current.csrf.encode()):
        raise Forbidden(current)
    uploads = [v for v in form.getlist("files") if not isinstance(v, str)]
    kind, note = form.get("kind"), form.get("note")
    typed = {"kind": kind if isinstance(kind, str) else "", "note": note if isinstance(note, str) else ""}
    try:
        await run_in_threadpool(lambda: attach_uploads(current.call, case_id, uploads, kind=typed["kind"] or None,
                                                       note=typed["note"] or None))
    except HazardError as exc:
        try:
            return await run_in_threadpool(lambda: _case_values(current, case_id, open_form="attach",
                                                                error=exc.message, typed=typed,
                                                                status=errors.status_of(exc)))
        except HazardError as again:
            return current.render("error.html", errors.status_of(again), title="无法办理", message=again.message)
    finally:
        await form.close()
    return RedirectResponse(f"/cases/{quote(case_id)}#evidence", status_code=303)


@router.get("/cases/{case_id}/files/{sha256}")
async def stored_file(request: Request, case_id: str, sha256: str):
    current = await signed_in(request)
    try:
        item, path = await run_in_threadpool(current.call.evidence_file, case_id, sha256)
        if path is None:
            raise NotFound(f"{item['name']}: missing from the evidence store", kind="file", key=item["sha256"])
    except HazardError as exc:
        return current.render("error.html", errors.status_of(exc), title="无法显示", message=exc.message)
    disposition = "inline" if item["media_type"] in INLINE else "attachment"
    return FileResponse(path, media_type=item["media_type"], content_disposition_type=disposition,
                        filename=item["name"], headers={"Cache-Control": "private, no-cache"})


@router.get("/cases/{case_id}/files/{sha256}/thumbnail")
async def thumbnail(request: Request, case_id: str, sha256: str):
    from engine.app.photos import thumbnail_jpeg
    from engine.domain.evidence import PHOTO_TYPES

    current = await signed_in(request)

    def read():
        item, path = current.call.evidence_file(case_id, sha256)
        small = thumbnail_jpeg(path) if path is not None and item["media_type"] in PHOTO_TYPES else None
        if small is None:
            raise NotFound(f"{item['name']}: no thumbnail (not a photo this server decodes, or missing from the "
                           "evidence store)", kind="file", key=item["sha256"])
        return small
    try:
        small = await run_in_threadpool(read)
    except HazardError as exc:
        return current.render("error.html", errors.status_of(exc), title="无法显示", message=exc.message)
    return Response(small, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
