"""`export_register` (*app*): the register, filtered as `case list` filters it (or as it stood at a moment,
replayed from the events), written as a ledger in the shape `hazard import` reads.

One row per case of a workflow with `ledger_stages` (its definition's map of the ledger's stages onto its
states); a case of any other workflow (the interviews and posted supervisions the ladder opens, a hazard
workflow written without the map) is not a row, and is counted by workflow in `not_written` with the reason
(`N cases of workflow X not written: no ledger stages (...)`): nothing is left out unsaid. The columns are the
fields the reader knows, headed by each field's first header in headers.yaml (or by the field names); a
column no exported case fills is left out unless it is one of `ALWAYS`. Values are the register's own:
- 隐患状态 is the state's stage of the closed loop (已上报 … 已销号), which an import maps back to the state;
- 排查日期 is the found time; 交办日期 the time the deadline's clock started (the assignment); 整改完成日期 the
  time the case entered a rectified state (rectification complete); 复查日期 the time it entered an accepted
  state (for a case not yet there: the date its ledger gave, if any); 销号日期 the time a closed case was
  closed. A time at 00:00 Asia/Shanghai is written as its day;
- 隐患来源 is the source's label with Chinese headers (执法检查), its term with field names (inspection).
So an export imported into a fresh database gives the same register: title, state, level, deadline, the five
implementations and these dates (and with them the due time, moved by the wait for the acceptance).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from engine.domain import vocabularies
from engine.domain.case import Case
from engine.domain.clock import SHANGHAI, iso, parse_time
from engine.domain.definition.model import Definition
from engine.domain.filters import CaseFilter
from engine.ledger.history import no_stages, stage_of
from engine.ledger.writer import write_ledger

EXPORT_COLUMNS = ("id", "title", "enterprise", "credit_code", "region", "industry", "level", "grade", "source",
                  "hazard_type", "location", "criterion", "found_at", "measures", "responsible_unit", "responsible_person", "funds", "deadline",
                  "emergency_plan", "department", "assigned_at", "rectified_at", "verified_at", "verifier", "result",
                  "opinion", "closed_at", "closing_note", "state", "inspector", "note")
ALWAYS = frozenset({"id", "title", "enterprise", "region", "industry", "level", "source", "found_at", "measures",
                    "responsible_unit", "responsible_person", "funds", "deadline", "emergency_plan", "state"})
_TEXT_FIELDS = ("grade", "credit_code", "hazard_type", "location", "criterion", "measures", "responsible_unit",
                "responsible_person", "funds", "deadline", "emergency_plan", "department", "verifier", "result", "opinion", "closing_note",
                "inspector", "note")


@dataclass(frozen=True)
class ExportReport:
    file: str
    rows: int
    columns: tuple[str, ...]
    as_of: datetime | None
    not_written: tuple[tuple[str, int, str], ...] = ()   # (workflow, cases, why) of the cases left out, by workflow

    def document(self) -> dict:
        return {"file": self.file, "rows": self.rows, "columns": list(self.columns), "as_of": iso(self.as_of),
                "not_written": [{"workflow": w, "cases": n, "why": why} for w, n, why in self.not_written]}

    def notes(self) -> list[str]:
        """One line per workflow whose cases were left out: how many, and why."""
        return [f"{n} case{'s' if n != 1 else ''} of workflow {w} not written: {why}" for w, n, why in self.not_written]


def export_register(engine, path: str | Path, *, spec: CaseFilter | None = None, as_of: datetime | str | None = None,
                    now: datetime | str | None = None, headers: str = "chinese", actor: str | None = None) -> ExportReport:
    """Write the filtered register (as of `as_of`, when given) to `path` (.xlsx or .csv); with `actor`, the reader's
    cases only (`engine.app.queries.Queries.cases` applies the reach)."""
    spec = spec or CaseFilter()
    moment = _time(as_of) if as_of is not None else None
    now = moment or (_time(now) if now is not None else engine.clock.now())
    page = engine.queries.cases(spec, now=now, as_of=moment, actor=actor)
    definitions = _definitions(engine, page.cases)
    hazards = [c for c in page.cases if definitions[(c.workflow, c.workflow_version)].stage_states]
    left: dict[str, list] = {}
    for c in page.cases:
        definition = definitions[(c.workflow, c.workflow_version)]
        if not definition.stage_states:
            left.setdefault(c.workflow, [0, no_stages(definition)])[0] += 1
    rows = [register_row(c, definitions[(c.workflow, c.workflow_version)], labels=headers == "chinese")
            for c in hazards]
    columns = [c for c in EXPORT_COLUMNS if c in ALWAYS or any(row.get(c) not in (None, "") for row in rows)]
    title = None
    if headers == "chinese":
        title = f"隐患排查治理台账（{'截至' if moment else '导出于'} {now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）"
    written = write_ledger(path, rows, columns=columns, headers=headers, title=title)
    return ExportReport(str(path), written, tuple(columns), moment,
                        tuple((w, n, why) for w, (n, why) in sorted(left.items())))


def _time(value) -> datetime:
    return parse_time(value) if isinstance(value, str) else value


def _definitions(engine, cases: list[Case]) -> dict:
    """(workflow, version) -> the definition version its cases run on: its stage map and its deadline's clock."""
    return {key: engine.queries.workflow(*key)[1] for key in {(c.workflow, c.workflow_version) for c in cases}}


def register_row(case: Case, definition: Definition, *, labels: bool) -> dict:
    """One case as a ledger row by field name, dates as dates or aware datetimes (see the module docstring); the
    assignment's date is when the clock that runs against the deadline started."""
    fields = case.fields
    deadline_clock = definition.deadline_clock
    clock = deadline_clock.name if deadline_clock is not None else None
    row = {"id": case.id, "title": case.title, "enterprise": case.enterprise, "region": case.region,
           "industry": case.industry, "level": case.level,
           "source": vocabularies.sources().label(case.source) if labels else case.source,
           "found_at": _shown(case.found_at), "state": stage_of(definition, case.state)}
    for name in _TEXT_FIELDS:
        if fields.get(name):
            row[name] = fields[name]
    started = (case.clocks.get(clock) or {}).get("started_at") if clock else None
    row["assigned_at"] = fields.get("assigned_at") or (_shown(datetime.fromisoformat(started)) if started else None)
    row["rectified_at"] = _shown(case.rectified_at) if case.rectified_at else fields.get("rectified_at")
    row["verified_at"] = _shown(case.accepted_at) if case.accepted_at else fields.get("verified_at")
    row["closed_at"] = _shown(case.closed_at) if case.is_final and case.closed_at else None
    return row


def _shown(moment: datetime | None) -> date | datetime | None:
    """A moment as the sheet shows it: its day when it is the day's first moment in Asia/Shanghai."""
    if moment is None:
        return None
    local = moment.astimezone(SHANGHAI)
    return local.date() if local.time() == time(0) else local
