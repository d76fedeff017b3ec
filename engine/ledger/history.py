"""How a ledger row becomes a case's history: the state its stage lands on, the transitions that lead there,
each step's effective time from the sheet's own dates, and which step carries which of the sheet's values.

Pure: the importer (`engine/ledger/app_import.py`) writes what `plan_row` returns.

- Stages onto states: the definition's own `ledger_stages` (data; `Definition.stage_states`): major-hazard has
  all six stages as states; general-hazard has no `assigned` (its `assign` leads to rectifying) and no
  `verified` (its `verify` closes the case). A workflow without them takes no ledger rows.
- The path: the workflow's own machine (`machine_for(definition).follows`) knows the ways from the initial
  state; of the simple paths to the target, a row with a deadline after its found day (限期整改) takes one
  that starts the clock running against the deadline, a row without (立查立改) the shortest. Both are cached
  per definition version, so a 100,000-row import searches a handful of times.
- Times (`STEP_DATES`): each step takes the first of its dates the row has (found for the report, assigned
  for assign and start, the completion date (整改完成日期) for fix and submit, else the check date, the check
  date (复查/验收日期) for verify and reject, closed for close), and never an earlier time than the step before
  it, so the log stays in time order; a step the sheet dates nowhere takes the time of the step before it. A
  bare day means its first moment (00:00 Asia/Shanghai). So a row marked 已整改 is rectified (the workflow's
  `verifying` state counts so) at its completion date, on time or late against its deadline.
- Fields: each value goes with the first step that takes it in the definition (report, assign, verify...);
  a value no step takes goes with the step that reaches its stage (`STAGE_FIELDS`: verifier and result with
  the verification), else with the report. The row's stage itself becomes the state, and a date that dates
  a step becomes that step's effective time: neither is kept as a field as well.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from engine.domain.clock import SHANGHAI, UTC, start_of_day
from engine.domain.definition.model import Definition
from engine.domain.errors import InvalidInput
from engine.domain.machine import machine_for

# The dates a step is dated by, first found wins; none found: the time of the step before.
STEP_DATES: dict[str, tuple[str, ...]] = {
    "report": ("found_at",),
    "assign": ("assigned_at", "found_at"),
    "start": ("assigned_at", "found_at"),
    "fix": ("rectified_at", "found_at"),
    "submit": ("rectified_at", "verified_at"),
    "verify": ("verified_at", "closed_at"),
    "reject": ("verified_at",),
    "close": ("closed_at", "verified_at"),
}
# Values no step of the definition takes, kept with the step that reaches their stage.
STAGE_FIELDS = {"assigned_at": "assigned", "rectified_at": "verifying", "verified_at": "verified",
                "verifier": "verified", "result": "verified", "opinion": "verified", "closed_at": "closed",
                "closing_note": "closed"}
ATTRIBUTES = ("title", "enterprise", "region", "industry", "level", "source", "found_at")
RENAMED = {"id": "ledger_id"}  # the sheet's own number (隐患编号); a case's `id` is the engine's
NOT_FIELDS = frozenset({"state"})
MAX_PATH = 12


@dataclass(frozen=True)
class Step:
    trigger: str
    to_state: str
    at: datetime
    fields: dict


@dataclass(frozen=True)
class RowPlan:
    attrs: dict              # what the report event's `case` carries (found_at as UTC text)
    found_at: datetime
    report_fields: dict
    steps: tuple[Step, ...]  # after the report, in order


def workflow_for(level: str) -> str:
    return f"{level}-hazard"


def state_for(definition: Definition, stage: str) -> str | None:
    return definition.state_for_stage(stage)


def stage_of(definition: Definition, state: str) -> str | None:
    """The stage a workflow state is shown as (an export's 隐患状态): itself when it is a stage, else the first
    stage landing on it."""
    return definition.stage_of(state)


def no_stages(definition: Definition) -> str:
    """Why a workflow's cases are no rows of a ledger (its definition has no `ledger_stages`)."""
    if definition.serves != "hazard":
        return f"no ledger stages (it serves {definition.serves}s, not hazards)"
    return "no ledger stages (its definition has no 'ledger_stages')"


def check_workflow(definition: Definition) -> list[str]:
    """What keeps a workflow from taking imported rows at all: no stage map, a state it lacks, no way."""
    states = definition.stage_states
    if not states:
        return [f"workflow '{definition.name}' takes no ledger rows: {no_stages(definition)}"]
    problems = []
    for stage, state in states.items():
        if definition.state(state) is None:
            problems.append(f"workflow '{definition.name}' has no state '{state}' for the stage '{stage}'")
        elif path_to(definition, state, through_clock=False) is None:
            problems.append(f"workflow '{definition.name}' has no way from '{definition.initial}' to '{state}'")
    return problems


@lru_cache(maxsize=8192)  # a ledger repeats its dates: a few hundred days over 100,000 rows
def instant(text: str) -> datetime:
    """A date field as the row gives it: a day is its first moment in Asia/Shanghai."""
    if len(text) == 10:
        return start_of_day(date.fromisoformat(text))
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def path_to(definition: Definition, target: str, *, through_clock: bool) -> tuple[tuple[str, str], ...] | None:
    """The (trigger, to_state) steps from the initial state to `target`; None when there is no way."""
    cache = definition._index.setdefault("ledger_paths", {})
    key = (target, through_clock)
    if key not in cache:
        cache[key] = _search(definition, target, through_clock)
    return cache[key]


def _search(definition: Definition, target: str, through_clock: bool):
    machine = machine_for(definition)
    clock = definition.deadline_clock
    starts = frozenset(clock.start) if clock is not None else frozenset()
    found: list[tuple[tuple[str, str], ...]] = []

    def walk(state: str, path: tuple, seen: frozenset) -> None:
        if state == target:
            found.append(path)
            return
        if len(path) >= MAX_PATH:
            return
        for trigger in definition.triggers_from(state):
            after = machine.follows(state, trigger)
            if after is not None and after not in seen:
                walk(after, path + ((trigger, after),), seen | {after})

    walk(definition.initial, (), frozenset({definition.initial}))
    if not found:
        return None
    # Shortest first; definition order breaks ties (the search follows it).
    ranked = sorted(found, key=len)
    if through_clock:
        clocked = [p for p in ranked if any(trigger in starts for trigger, _ in p)]
        if clocked:
            return clocked[0]
    return ranked[0]


def plan_row(values: dict, stage: str, definition: Definition) -> RowPlan:
    """The report and the steps that bring a checked row (`values` by field, as the reader gives them) to the
    state its stage lands on."""
    target = state_for(definition, stage)
    if target is None:
        raise InvalidInput(f"workflow '{definition.name}' has no state for the stage '{stage}'")
    found_at = instant(values["found_at"])
    deadline = values.get("deadline")
    through_clock = bool(deadline) and deadline[:10] > found_at.astimezone(SHANGHAI).date().isoformat()
    path = path_to(definition, target, through_clock=through_clock)
    if path is None:
        raise InvalidInput(f"workflow '{definition.name}' has no way from '{definition.initial}' to '{target}'")
    attrs = {name: values[name] for name in ATTRIBUTES if name != "found_at"}
    attrs["found_at"] = found_at.astimezone(UTC).isoformat()
    times, previous, dating = [], found_at, set()
    for trigger, _ in path:
        at, names = previous, [n for n in STEP_DATES.get(trigger, ()) if n in values]
        if names:
            at = max(instant(values[names[0]]), previous)
        dating.update(n for n in names if instant(values[n]) == at)  # the same date twice: both told
        times.append(at)
        previous = at
    placed = _place_fields(values, definition, path, dating)
    steps = tuple(Step(trigger, to_state, at, placed[i]) for i, ((trigger, to_state), at)
                  in enumerate(zip(path, times), start=1))
    return RowPlan(attrs, found_at, placed[0], steps)


def _place_fields(values: dict, definition: Definition, path, dating: set) -> list[dict]:
    """Field values per event: index 0 the report, i the i-th step of `path`; a date that dates a step is that
    step's effective time, not a field of it."""
    where = _placement(definition, path)
    placed: list[dict] = [{} for _ in range(len(path) + 1)]
    for name, value in values.items():
        if name in ATTRIBUTES or name in NOT_FIELDS or name in dating:
            continue
        name = RENAMED.get(name, name)
        index = where.get(name)
        if index is None:
            index = where[name] = where["<stage>"].get(STAGE_FIELDS.get(name, ""), 0)
        placed[index][name] = value
    return placed


def _placement(definition: Definition, path) -> dict:
    """Field -> the index of the first event on `path` that takes it; `<stage>` maps a stage to the step that
    reaches it. Kept per definition version and path: a few of them serve a whole import."""
    cache = definition._index.setdefault("ledger_placement", {})
    found = cache.get(path)
    if found is not None:
        return found
    takes = [definition.report.accepts]
    for state, (trigger, _) in zip([definition.initial] + [s for _, s in path], path):
        transition = definition.transition(state, trigger)
        takes.append(transition.accepts if transition else ())
    where: dict = {}
    for i, accepted in enumerate(takes):
        for name in accepted:
            where.setdefault(name, i)
    reaches: dict = {}
    for i, (_, to_state) in enumerate(path, start=1):
        for stage, state in definition.stage_states.items():
            if state == to_state:
                reaches.setdefault(stage, i)
    where["<stage>"] = reaches
    return cache.setdefault(path, where)
