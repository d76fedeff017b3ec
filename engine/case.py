"""The case as a value, and `apply`: the one fold that turns an event into the next projection.

The stored case row is exactly `apply` folded over the case's events; the service uses the same function to
write the row, so replay and projection cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.clock import deadline_instant
from engine.definition.model import Definition
from engine.escalation import clocks
from engine.events import GENESIS, Event


@dataclass(frozen=True)
class Case:
    id: str
    workflow: str
    workflow_version: int
    state: str
    version: int = 0          # = seq of the last event; optimistic concurrency
    level: str = ""
    title: str = ""
    enterprise: str = ""
    region: str = ""
    industry: str = ""
    source: str = ""
    found_at: datetime | None = None
    fields: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    signers: dict = field(default_factory=dict)   # trigger -> actor of its most recent firing
    clocks: dict = field(default_factory=dict)    # clock name -> ClockState as dict
    fired: tuple[tuple[str, int, str], ...] = ()  # (clock, cycle, rung) already fired or skipped
    parent_id: str | None = None
    calendar: str | None = None   # content hash of the working-day calendar its due times are counted with
    is_final: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    last_hash: str = GENESIS

    @property
    def deadline(self) -> str | None:
        return self.fields.get("deadline")

    @property
    def deadline_at(self) -> datetime | None:
        return deadline_instant(self.deadline) if self.deadline else None

    def overdue(self, now: datetime) -> bool:
        return not self.is_final and self.deadline_at is not None and now >= self.deadline_at


def apply(case: Case | None, event: Event, definition: Definition) -> Case:
    """The case after `event`, under `definition` (the version the event ran with)."""
    data = event.data
    if event.trigger == "report":
        attrs = data["case"]
        case = Case(
            id=event.case_id, workflow=event.workflow, workflow_version=event.workflow_version,
            state=event.to_state, level=attrs["level"], title=attrs["title"], enterprise=attrs["enterprise"],
            region=attrs["region"], industry=attrs["industry"], source=attrs["source"],
            found_at=datetime.fromisoformat(attrs["found_at"]), parent_id=attrs.get("parent_id"),
            calendar=data.get("calendar"), created_at=event.at,
        )
    fields = dict(case.fields)
    fields.update(data.get("fields", {}))
    flags = [f for f in case.flags if f not in data.get("lifts", ())]
    flags += [f for f in data.get("flags", ()) if f not in flags]
    fired = case.fired
    if event.trigger == "escalate":
        fired = fired + ((data["clock"], data["cycle"], data["rung"]),)
    signers = case.signers
    if event.trigger not in ("report", "escalate", "extend", "migrate", "recalendar"):
        signers = {**signers, event.trigger: event.actor}
    is_final = event.to_state in definition.final_states
    calendar = data["calendar"] if event.trigger == "recalendar" else case.calendar
    return replace(
        case, state=event.to_state, version=event.seq, workflow_version=event.workflow_version,
        fields=fields, flags=tuple(flags), signers=signers, fired=fired,
        clocks=clocks.advance(case.clocks, event, definition), is_final=is_final, calendar=calendar,
        updated_at=event.at, closed_at=event.at if is_final and not case.is_final else case.closed_at,
        last_hash=event.hash,
    )
