"""/api/v1/imports and /api/v1/export: a hand-kept ledger (台账) uploaded into the register, the register downloaded.

`POST /imports` takes a multipart upload (the file, and the form fields `sheet`, `skip_invalid` and `set`
repeated as FIELD=VALUE, and `photos`: a zip of photos named by the rows' 隐患编号, as `hazard import --photos`) and answers `hazard import --json`'s document; `?dry_run=true` writes nothing. The
upload goes to a temporary file of the server's own naming: the name the client sent is only shown (its last
part, in the document and the import's record), never used as a path. Rows that cannot be imported refuse
the import (400, or 403 for rows outside the caller's reach) with the error document and, under `import`,
the import's document listing every problem.

`GET /export` takes `case list`'s filters, `format=xlsx|csv` and `headers=chinese|fields` and answers the
file `hazard export` writes.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from engine.domain.filters import CaseFilter
from engine.domain.values import read_assignments
from web import auth, models
from web.api.cases import case_filters, moment
from web.calls import Call
from web.uploads import shown_name
from web.responses import document, download

router = APIRouter()
SUFFIXES = (".xlsx", ".xls", ".ods", ".csv")  # what `hazard import` reads


@router.post("/imports", response_model=models.ImportDocument,
             summary="Import a ledger (xlsx or CSV), as `hazard import`; `dry_run` writes nothing")
def import_ledger(call: Call = Depends(auth.call),
                  file: UploadFile = File(description="The ledger: .xlsx, .xls, .ods or .csv."),
                  sheet: str | None = Form(None, description="The sheet to read (default: the first visible one)."),
                  skip_invalid: bool = Form(False, description="Import the valid rows, list the skipped ones."),
                  set: list[str] = Form([], description="FIELD=VALUE for every row (repeatable)."),  # noqa: A002
                  photos: UploadFile | None = File(None, description="A zip of photos named by the rows' 隐患编号 "
                                                   "(CODE-1.jpg), attached to the cases written."),
                  region: str | None = Form(None, description="Look region names up inside this division "
                                            "(code or name), as `hazard import --region`."),
                  dry_run: bool = Query(False, description="Write nothing; show what would be imported.")):
    from engine.domain.errors import InvalidInput

    name = shown_name(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(f"{name}: upload a ledger as .xlsx, .xls, .ods or .csv", field="file", rule="type")
    defaults = read_assignments(set)
    with tempfile.TemporaryDirectory(prefix="hazard-upload-") as folder:
        path = Path(folder) / f"ledger{suffix}"
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        album = None
        if photos is not None:
            album = Path(folder) / "photos.zip"
            with album.open("wb") as out:
                while chunk := photos.file.read(1 << 20):
                    out.write(chunk)
        # Rows refused (RowsInvalid, RowsNotPermitted) carry the import's document: web/app.py answers it
        # under `import`, beside the error.
        report = call.import_ledger(path, name=name, sheet=sheet or None, defaults=defaults, dry_run=dry_run,
                                    skip_invalid=skip_invalid, photos=album,
                                    region=region or None)
    return document(report.document())


@router.get("/export", summary="Download the register as a ledger, as `hazard export`",
            responses={200: {"description": "The register as an xlsx workbook or a CSV file.",
                             "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                                         "text/csv": {}}}})
def export(call: Call = Depends(auth.call), filters: dict = Depends(case_filters),
           format: Literal["xlsx", "csv"] = Query("xlsx", description="xlsx or csv."),  # noqa: A002
           headers: Literal["chinese", "fields"] = Query("chinese", description="Chinese headers or field names.")):
    as_of = moment(filters.pop("as_of"))
    spec = CaseFilter.of(**filters)
    with tempfile.TemporaryDirectory(prefix="hazard-export-") as folder:
        path = Path(folder) / f"register.{format}"
        call.export_register(path, spec=spec, as_of=as_of, headers=headers)
        data = path.read_bytes()
    return download(data, fmt=format, filename=f"台账.{format}")
