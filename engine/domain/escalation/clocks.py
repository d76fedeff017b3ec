"""Clock cycles folded from a case's events: start, pause, resume, stop, extension.

A clock's state is a plain dict so it can live in the case row as JSON and be compared after replay:
`cycle` (1 for the first start), `status` (running, paused, stopped), `started_at`, `paused_at`,
`paused_seconds` (time spent paused in this cycle, by which every rung of the cycle moves later) and
`until` (a deadline set by an extension). No calendar here: due times are computed in `ladder.py`, with
the calendar stored for the definition version, so replay never depends on today's holiday tables.
"""
from __future__ import annotations

from datetime import datetime

from engine.domain.clock import utc_iso

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.domain.definition.model import Definition


def advance(states: dict, event, definition: Definition) -> dict:
    """Clock states after `event`; unchanged clocks are shared, changed ones copied, and when no clock
    changes the very same dict comes back (the store writes only what changed)."""
    if not definition.clocks:
        return states
    # A voided case leaves every ladder: its clocks stop as at a final state.
    final = event.to_state in definition.final_states or event.trigger == "void"
    if not final and event.trigger not in definition.clock_triggers:
        return states  # no clock starts, stops, pauses, resumes or is extended on this trigger
    result = dict(states)
    at = None  # the event's time as a clock keeps it, made when a clock starts or pauses
    extended = _extended_clock(event)
    for spec in definition.clocks:
        state = result.get(spec.name)
        status = state["status"] if state else None
        if event.trigger in spec.start and not final:
            at = at or _clock_text(event.at)
            result[spec.name] = {"cycle": (state["cycle"] + 1) if state else 1, "status": "running",
                                 "started_at": at, "paused_at": None, "paused_seconds": 0, "until": None}
        elif state is None:
            continue
        elif status != "stopped" and (event.trigger in spec.stop or final):
            # Time paused up to the stop still counts: the deadline it was measured against moved by it.
            paused = _paused_for(state, event.at) if status == "paused" else 0
            result[spec.name] = {**state, "status": "stopped", "paused_at": None,
                                 "paused_seconds": state["paused_seconds"] + paused}
        elif status == "running" and event.trigger in spec.pause:
            at = at or _clock_text(event.at)
            result[spec.name] = {**state, "status": "paused", "paused_at": at}
        elif status == "paused" and event.trigger in spec.resume:
            result[spec.name] = {**state, "status": "running", "paused_at": None,
                                 "paused_seconds": state["paused_seconds"] + _paused_for(state, event.at)}
        elif extended == spec.name and status != "stopped":
            result[spec.name] = {**state, "until": event.data["until"]}
    return states if result == states else result


def _clock_text(at: datetime) -> str:
    """UTC text, whatever zone the event's time came in: the projection and its replay write the same bytes."""
    return utc_iso(at)


def _extended_clock(event) -> str | None:
    """The clock whose deadline `event` moves: an extension made at once, or an application approved (an
    application alone moves nothing)."""
    data = event.data
    if event.trigger == "extend" and not data.get("application"):
        return data.get("clock")
    if event.trigger == "decide" and data.get("rung") == "extension" and data.get("decision") == "approve":
        return data.get("clock")
    return None


def _paused_for(state: dict, at: datetime) -> float:
    return max((at - datetime.fromisoformat(state["paused_at"])).total_seconds(), 0)
