"""Planning the move of running cases to a new definition version (Camunda's migration plans, audited).

Pure: for one case, which state it lands in and how each rung's due time changes. Applying a plan is a
`migrate` event in the case's log (from version, to version, the map), so replay shows which version
governed each step; clocks keep their cycle, start and paused time, so a mapped timer keeps its elapsed time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain.calendar import WorkCalendar
from engine.domain.case import Case
from engine.domain.definition.model import Definition
from engine.domain.escalation import ladder


@dataclass(frozen=True)
class RungChange:
    clock: str
    rung: str
    before: datetime | None   # due time now (None: the rung does not exist now)
    after: datetime | None    # due time after migrating (None: the rung goes away)
    status_before: str | None
    status_after: str | None


@dataclass(frozen=True)
class CaseMigration:
    case_id: str
    from_version: int
    to_version: int
    from_state: str
    to_state: str
    deadline: str | None
    rung_changes: tuple[RungChange, ...]


def target_state(state: str, mapping: dict[str, str], new: Definition) -> str | None:
    """The state a case in `state` lands in: mapped explicitly, or the same name if the new version has it."""
    target = mapping.get(state, state)
    return target if new.state(target) is not None else None


def plan_case(case: Case, old: Definition, old_calendar: WorkCalendar, new: Definition, new_calendar: WorkCalendar,
              to_version: int, mapping: dict[str, str]) -> CaseMigration:
    to_state = target_state(case.state, mapping, new)
    before = {(p.clock, p.rung): p for p in ladder.plan(old, case.clocks, case.fields, case.fired, old_calendar)}
    clocks = {name: state for name, state in case.clocks.items() if new.clock(name) is not None}
    after = {(p.clock, p.rung): p for p in ladder.plan(new, clocks, case.fields, case.fired, new_calendar)}
    changes = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is not None and a is not None and (b.due_at, b.status) == (a.due_at, a.status):
            continue
        changes.append(RungChange(key[0], key[1], b.due_at if b else None, a.due_at if a else None,
                                  b.status if b else None, a.status if a else None))
    return CaseMigration(case.id, case.workflow_version, to_version, case.state, to_state or "", case.deadline,
                         tuple(changes))
