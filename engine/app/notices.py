"""Notices (文书) as the engine issues and reads them.

The document definitions ship beside the workflows (workflows/documents/*.yaml), parsed and checked once per
process (engine/domain/notices.py). A transition that names one (`issues: rectification-order`) issues it in
the same unit of work as its event: the number is taken from the (kind, office, year) counter row, the office
being the case's region code (the office with jurisdiction over the hazard, whoever types the command); the
text is rendered from the case as the step leaves it; the text's SHA-256 is sealed in the event's data
(`notice: {kind, number, sha256}`) and the text stored in `notice`. `audit verify` checks the stored text
against the seal (engine/app/auditor.py).
"""
from __future__ import annotations

import threading
from importlib import resources

from engine.domain import notices as notice_model
from engine.domain.clock import local_date
from engine.domain.errors import DefinitionInvalid, NotFound
from engine.domain.events import text_hash

_LOCK = threading.Lock()
_KINDS: dict[str, notice_model.DocumentKind] | None = None


def document_files() -> list[tuple[str, str]]:
    folder = resources.files("workflows").joinpath("documents")
    return sorted((f"workflows/documents/{p.name}", p.read_text(encoding="utf-8")) for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def load_kinds(files: list[tuple[str, str]]) -> dict[str, notice_model.DocumentKind]:
    """Parse and check document definitions; DefinitionInvalid with every problem of every file."""
    kinds, problems = [], []
    for name, text in files:
        try:
            kinds.append(notice_model.parse(text, name))
        except DefinitionInvalid as exc:
            problems += exc.problems
    problems += notice_model.check_set(kinds)
    if problems:
        raise DefinitionInvalid(problems)
    return {k.name: k for k in kinds}


def document_kinds() -> dict[str, notice_model.DocumentKind]:
    """The shipped document definitions, parsed once per process."""
    global _KINDS
    with _LOCK:
        if _KINDS is None:
            _KINDS = load_kinds(document_files())
        return _KINDS


def issues_problems(definition) -> list[tuple[str, int, str]]:
    """A transition's `issues:` must name a shipped document."""
    names = [t for t in definition.transitions if t.issues]
    if not names:
        return []
    kinds = document_kinds()
    return [(definition.source_file, t.line,
             f"transition '{t.trigger}': issues unknown document '{t.issues}' (documents: {', '.join(sorted(kinds))})")
            for t in names if t.issues not in kinds]


def issue(unit, case, kind_name: str, *, at, fields: dict, seq: int) -> dict:
    """Take the next number, render and keep the notice for the unit's flush; the dict goes in the event's data."""
    from engine.store import notices as notice_store
    kind = document_kinds()[kind_name]
    office, year = case.region, local_date(at).year
    n = notice_store.take_number(unit.conn, kind.name, office, year, unit.dialect)
    number = notice_model.number_of(kind, office=office, year=year, n=n)
    attrs = {"id": case.id, "title": case.title, "enterprise": case.enterprise, "region": case.region,
             "industry": case.industry, "level": case.level,
             "found_at": local_date(case.found_at).isoformat() if case.found_at else ""}
    text = notice_model.render(kind, case=attrs, fields={**case.fields, **fields}, number=number, office=office,
                               year=year, issued_on=local_date(at).isoformat())
    digest = text_hash(text)
    unit.add_notice(notice_store.Notice(number=number, kind=kind.name, office=office, year=year, n=n,
                                        case_id=case.id, seq=seq, region=case.region, issued_at=at,
                                        title=kind.title, text=text, sha256=digest))
    return {"kind": kind.name, "number": number, "sha256": digest}


def notice_dict(row, service: dict | None = None) -> dict:
    """A notice as `document list/show --json` print it; `served`: its service (who served it, when, who signed
    for it, the receipt's SHA-256), or null while it is not served."""
    from engine.domain.clock import iso_seconds
    served = None
    if service is not None:
        served = {k: service[k] for k in ("by", "served_at", "signed_by") if k in service}
        served["receipt_sha256"] = (service.get("receipt") or {}).get("sha256")
    return {"number": row.number, "kind": row.kind, "title": row.title, "case_id": row.case_id,
            "issued_at": iso_seconds(row.issued_at), "sha256": row.sha256, "served": served}


class Notices:
    """The reads of issued notices, scoped by the reader like every read (`actor=`)."""

    def __init__(self, engine):
        self._engine = engine

    def list(self, *, actor: str | None = None, case_id: str | None = None, kind: str | None = None,
             year: int | None = None):
        from engine.app.readers import reach_of
        from engine.store import notices as notice_store
        with self._engine.store.read() as conn:
            return notice_store.find(conn, case_id=case_id, kind=kind, year=year, reach=reach_of(conn, actor))

    def services(self, rows) -> dict[str, dict]:
        """{number: service} for those of `rows` (notices already read) that were served."""
        with self._engine.store.read() as conn:
            return services_of(conn, {r.case_id for r in rows}) if rows else {}

    def get(self, number: str, *, actor: str | None = None):
        from engine.app.readers import reach_of
        from engine.store import notices as notice_store
        with self._engine.store.read() as conn:
            found = notice_store.find(conn, number=number, reach=reach_of(conn, actor))
        if not found:
            raise NotFound(f"notice {number} not found", kind="notice", key=number)
        return found[0]


def service_of(conn, row) -> dict | None:
    """The service recorded for the notice `row`, if any (read from its case's `serve` events)."""
    return services_of(conn, [row.case_id]).get(row.number)


def services_of(conn, case_ids) -> dict[str, dict]:
    """{notice number: its service} for the notices of these cases that were served."""
    from engine.store import notices as notice_store
    return {s["number"]: s for s in notice_store.services(conn, list(case_ids))}
