"""The four lists (四个清单) from the register (*app*): candidate rows read, the definition's rules select.

Every hazard under the region is a candidate; a case row carries the case attributes the rules read
(`conditions.CASE_ATTRIBUTES`) and the columns a list may show; an enterprise row gathers its cases. Which
rows a list keeps is the report definition's `when` (engine/reports/conditions.py), never code here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from engine.domain import regions, vocabularies
from engine.domain.case import Case
from engine.domain.clock import iso, local_date
from engine.domain.errors import InvalidInput
from engine.reports import lists as list_pages
from engine.domain.escalation.decisions import pending_proposals
from engine.reports.conditions import RUNG_ORDER, highest_rung
from engine.reports.definition import ListSpec, ReportDefinition
from engine.reports.blocks import flag_labels, rung_label
from engine.reports.tally import CaseScope, done_at


@dataclass(frozen=True)
class ListsReport:
    entries: list[tuple[ListSpec, list[dict]]]
    region: str | None
    at: datetime
    definition: ReportDefinition

    def page(self):
        return list_pages.lists_page(self.entries, region=self.region or "", as_of=iso(self.at)[:16].replace("T", " "),
                                     definition=self.definition)

    def as_dict(self) -> dict:
        return {"region": self.region, "region_name": regions.full_name(self.region) if self.region else None,
                "at": self.at, "lists": [{"list": spec.name, "title": spec.title, "entry": spec.entry,
                                          "count": len(rows), "rows": [_shown(spec, row) for row in rows]}
                                         for spec, rows in self.entries]}


def _shown(spec: ListSpec, row: dict) -> dict:
    """A row as JSON: codes as stored, with the region's name and the Chinese labels beside them."""
    doc = {}
    for column in spec.columns:
        value = row.get(column.key)
        doc[column.key] = len(value) if column.key == "cases" and isinstance(value, list) else value
        if column.key == "region" and value:
            doc["region_name"] = regions.label(value)
        elif column.key == "state":
            doc["state_label"] = row.get("state_label") or value
        elif column.key == "flags":
            doc["flag_labels"] = flag_labels(value)
        elif column.key == "proposed":
            doc["proposed_labels"] = [rung_label(a) for a in value or ()]
        elif column.key in ("level", "source") and value:
            doc[f"{column.key}_label"] = vocabularies.label_of(column.key, value)
    return doc


def _day(case: Case) -> date | None:
    value = case.deadline
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def case_row(case: Case, actions: set[str], now: datetime, state_label: str = "", basis: str = "rectified") -> dict:
    """One hazard as the rules and the columns read it (`state_label`: its workflow's label of its state; `basis`:
    what counts as rectified, the report definition's `counts_as_rectified`: open is not rectified so)."""
    overdue = case.overdue(now)
    days = int((now - case.due_at).total_seconds() // 86400) if overdue and case.due_at else 0
    return {"case_id": case.id, "region": case.region, "enterprise": case.enterprise, "industry": case.industry,
            "title": case.title, "level": case.level, "state": case.state, "state_label": state_label or case.state,
            "source": case.source,
            "workflow": case.workflow, "found_at": local_date(case.found_at) if case.found_at else None,
            "deadline": _day(case), "days_overdue": days, "responsible_unit": case.fields.get("responsible_unit"),
            "responsible_person": case.fields.get("responsible_person"), "measures": case.fields.get("measures"),
            "open": done_at(case, basis) is None and not case.is_final, "overdue": overdue, "flags": list(case.flags),
            "rung_reached": highest_rung(actions),
            "proposed": sorted({p["action"] for p in pending_proposals(case.decisions)})}


def _state_label(definitions: dict, case: Case) -> str:
    """The case's state as its own workflow version labels it (the dossier's 状态)."""
    state = definitions[(case.workflow, case.workflow_version)].state(case.state)
    return state.label if state and state.label else case.state


def enterprise_rows(rows: list[dict]) -> list[dict]:
    """One row per enterprise (by name within its county), gathering its cases' rows as `cases_detail`."""
    gathered: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        gathered.setdefault((row["region"], row["enterprise"]), []).append(row)
    out = []
    for (region, enterprise), detail in gathered.items():
        reached = [r["rung_reached"] for r in detail if r["rung_reached"]]
        people = [r["responsible_person"] for r in detail if r["responsible_person"]]
        out.append({"region": region, "enterprise": enterprise, "industry": detail[0]["industry"],
                    "cases": len(detail), "open": sum(r["open"] for r in detail),
                    "major": sum(r["level"] == "major" for r in detail),
                    "major_open": sum(r["level"] == "major" and r["open"] for r in detail),
                    "overdue": sum(r["overdue"] for r in detail),
                    "rung_reached": max(reached, key=RUNG_ORDER.index) if reached else None,
                    "flags": sorted({f for r in detail for f in r["flags"]}),
                    "proposed": sorted({a for r in detail for a in r["proposed"]}),
                    "responsible_person": people[-1] if people else None, "cases_detail": detail})
    return out


def build_lists(engine, *, name: str | None, region: str | None, definition: ReportDefinition,
                now: datetime, as_of: datetime | None = None, reach=None) -> ListsReport:
    """The lists as of `now` from the register, or as they stood at `as_of`, folded from the events."""
    from engine.store import reports as report_store

    specs = list(definition.lists) if name is None else [definition.list(name)]
    if specs == [None]:
        raise InvalidInput(f"no list '{name}' in report definition '{definition.name}' (lists: "
                           f"{', '.join(s.name for s in definition.lists)})", field="list")
    scope = CaseScope(region=region, reach=reach)
    if as_of is not None:
        from engine.reports.app_figures import Figures
        found = sorted(Figures(engine, at=as_of, replayed=True).cases_as_of(scope),
                       key=lambda case: (case.region, case.enterprise, case.id))
        now = as_of
    with engine.store.read() as conn:
        if as_of is None:
            found = report_store.hazards(conn, scope)
        fired = report_store.fired_actions(conn, scope=scope, until=as_of)
        definitions = {key: engine.registry.loaded(conn, *key).definition
                       for key in {(case.workflow, case.workflow_version) for case in found}}
    rows = [case_row(case, fired.get(case.id, set()), now, _state_label(definitions, case),
                     definition.counts_as_rectified) for case in found]
    by_enterprise = enterprise_rows(rows) if any(s.entry == "enterprise" for s in specs) else []
    entries = [(spec, list_pages.select(spec, rows if spec.entry == "case" else by_enterprise)) for spec in specs]
    return ListsReport(entries, region, now, definition)
