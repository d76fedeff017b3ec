"""Ledger upload (`/ledger`): choose a file, see the dry run, then confirm.

Step one, `POST /ledger` (multipart: `file`, `sheet`, `skip_invalid`, `set` as FIELD=VALUE lines, and the
session's CSRF token): the file is kept server-side in a folder of the server's temporary directory named by a
hash of the session's secret CSRF token and a random upload id, under a name of the server's own (`ledger` and
its suffix); the name the browser gave is only shown, reduced to its last part. The engine's import runs with
`dry_run` (nothing written) and the page shows the mapping, the counts, the first rows, each problem with its row
and the claims. Step two, `POST /ledger/confirm` with the upload id (and the CSRF token): the very file the dry
run read is imported, then deleted. The file is kept rather than sent again so that what is confirmed is what
was shown; another session cannot name it (its folder is that session's), and an upload is bounded in size by
the API's setting (`create_app(max_upload=...)`, 20 MiB) before it is read whole. Kept files older than an hour
are removed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine.domain.errors import HazardError
from engine.domain.values import read_assignments
from web import errors
from web.api.ledger import SUFFIXES
from web.uploads import shown_name
from web.pages import Forbidden, Page, signed_in

router = APIRouter(include_in_schema=False)
PATHS = ("/ledger",)  # bounded as uploads (web/app.py)
KEEP = 3600           # seconds a dry-run's file is kept for its confirmation
ROOT_NAME = "hazard-ledger-uploads"


def _root() -> Path:
    root = Path(tempfile.gettempdir()) / ROOT_NAME
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def _folder(page: Page, upload_id: str | None = None) -> Path:
    """This session's folder (named by a hash of its secret), or one upload's folder in it."""
    session = hashlib.sha256(b"hazard-ledger:" + page.csrf.encode()).hexdigest()[:32]
    folder = _root() / session
    return folder / upload_id if upload_id else folder


def _sweep() -> None:
    """Remove kept uploads older than KEEP (bounded: a hundred folders a call)."""
    cutoff = time.time() - KEEP
    for n, session in enumerate(_root().iterdir()):
        if n >= 100:
            return
        for upload in session.iterdir() if session.is_dir() else ():
            if upload.stat().st_mtime < cutoff:
                shutil.rmtree(upload, ignore_errors=True)
        if session.is_dir() and not any(session.iterdir()):
            session.rmdir()


def _checked(page: Page, token: str) -> None:
    if not token or not hmac.compare_digest(token.encode(), page.csrf.encode()):
        raise Forbidden(page)


def _form(page: Page, status: int = 200, **values):
    values = {"error": None, "report": None, "upload_id": None, "name": "", "typed": {}, "done": False, **values}
    return page.render("ledger.html", status, **values)


@router.get("/ledger")
async def ledger_form(request: Request):
    current = await signed_in(request)
    return _form(current)


@router.post("/ledger")
async def dry_run(request: Request):
    current = await signed_in(request)
    form = await request.form(max_files=1, max_fields=16)
    _checked(current, str(form.get("csrf") or ""))
    upload = form.get("file")
    typed = {"sheet": str(form.get("sheet") or "").strip()[:100], "set": str(form.get("set") or "")[:2000],
             "skip_invalid": str(form.get("skip_invalid") or "") in ("on", "true", "1")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _form(current, 400, error="请选择要上传的台账文件（.xlsx、.xls、.ods 或 .csv）。", typed=typed)
    name = shown_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        return _form(current, 400, error=f"{name}：只接受 .xlsx、.xls、.ods 或 .csv 台账文件。", typed=typed,
                     name=name)
    upload_id = secrets.token_hex(16)
    folder = _folder(current, upload_id)

    def keep():
        _sweep()
        folder.mkdir(mode=0o700, parents=True)
        with (folder / f"ledger{suffix}").open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
        (folder / "upload.json").write_text(json.dumps({"name": name, **typed}, ensure_ascii=False))
    await run_in_threadpool(keep)
    return await run_in_threadpool(_run, current, upload_id, True)


def _run(current: Page, upload_id: str, dry: bool):
    folder = _folder(current, upload_id)
    meta = json.loads((folder / "upload.json").read_text())
    typed = {k: meta[k] for k in ("sheet", "set", "skip_invalid")}
    path = next(p for p in folder.iterdir() if p.name.startswith("ledger"))
    try:
        defaults = read_assignments([line.strip() for line in meta["set"].splitlines() if line.strip()])
        report = current.call.import_ledger(path, name=meta["name"], sheet=meta["sheet"] or None, defaults=defaults,
                                            dry_run=dry, skip_invalid=meta["skip_invalid"])
    except HazardError as exc:
        shown = getattr(exc, "report", None)
        shutil.rmtree(folder, ignore_errors=True)  # refused: nothing to confirm; the next try uploads again
        return _form(current, errors.status_of(exc), error=exc.message, typed=typed, name=meta["name"],
                     report=shown.document() if shown is not None else None)
    if not dry:
        shutil.rmtree(folder, ignore_errors=True)
    return _form(current, report=report.document(), upload_id=upload_id if dry else None, name=meta["name"],
                 typed=typed, done=not dry)


@router.post("/ledger/confirm")
async def confirm(request: Request):
    current = await signed_in(request)
    form = await request.form(max_files=0, max_fields=8)
    _checked(current, str(form.get("csrf") or ""))
    upload_id = str(form.get("upload") or "")
    if len(upload_id) != 32 or any(ch not in "0123456789abcdef" for ch in upload_id) \
            or not (_folder(current, upload_id) / "upload.json").is_file():
        return _form(current, 400,
                     error="找不到这次试导入的文件（已导入、已过期或不属于本次登录）：请重新选择文件。")
    return await run_in_threadpool(_run, current, upload_id, False)
