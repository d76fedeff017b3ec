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
- Who may record a step (`Importer.refusal`): the importing user, when one of their roles is one the
  transition names (`machine.pick_role`, the very rule `case advance` applies); a department's import
  (supervisor, committee) also records the enterprise's own steps (a transition whose roles name `enterprise`:
  start, submit, fix), which its ledger records as the enterprise took them. The region is the row's check
  (`checks.py`). The first step the importer may not record stops the chain (`Held`): the row lands at the
  state before it, the values of the steps not recorded go with the report, except the sheet's claim itself
  (`CLAIM_VALUES`: the stage dates, 复查人, 复查结果, 验收意见, 销号说明), of which the stage, its date and 复查人
  are kept as `claimed_stage`, `claimed_at` and `claimed_by` for a department to confirm by taking the steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from engine.domain.actor import Actor
from engine.domain.clock import SHANGHAI, start_of_day, utc_iso
from engine.domain.definition.fields_and_guards import coerce
from engine.domain.definition.model import Definition, Transition
from engine.domain.errors import InvalidInput, PermissionDenied
from engine.domain.machine import machine_for, pick_role

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
# The sheet's own account of the steps an importer may not record: not fields of a case that has not taken them
# (an export would write them back as evidence of a stage it has not reached); the stage's date and 复查人 are
# kept as the claim.
CLAIM_VALUES = frozenset(STAGE_FIELDS)
CLAIM_FIELDS = ("claimed_stage", "claimed_at", "claimed_by")
OWN_STEPS_ROLE = "enterprise"  # whose own steps (start, submit, fix) a department's ledger records


@dataclass(frozen=True)
class Step:
    trigger: str
    to_state: str
    at: datetime
    fields: dict


@dataclass(frozen=True)
class Held:
    """The first step of a row's way that the importer may not record, and where the row lands instead."""
    trigger: str
    state: str                # the state the row lands at (the last one the importer may reach)
    roles: tuple[str, ...]    # the roles the transition names
    reason: str               # pick_role's refusal: `ent (role enterprise) may not assign; allowed roles: ...`


@dataclass(frozen=True)
class Importer:
    """Who imports: their name and roles, and whether theirs is a department's import (supervisor, committee)."""
    name: str
    roles: tuple[str, ...]
    department: bool

    def refusal(self, transition: Transition) -> str | None:
        """Why the importer may not record `transition`, or None when they may (see the module docstring)."""
        if self.department and OWN_STEPS_ROLE in transition.roles:
            return None
        try:
            pick_role(Actor(self.name, self.roles, ()), transition.roles, transition.trigger)
        except PermissionDenied as exc:
            return exc.message
        return None


@dataclass(frozen=True)
class RowPlan:
    attrs: dict              # what the report event's `case` carries (found_at as UTC text)
    found_at: datetime
    report_fields: dict
    steps: tuple[Step, ...]  # after the report, in order
    held: Held | None = None  # the step the importer may not record, when the sheet goes further


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


def plan_row(values: dict, stage: str, definition: Definition, importer: Importer | None = None) -> RowPlan:
    """The report and the steps that bring a checked row (`values` by field, as the reader gives them) to the
    state its stage lands on, or, for an `importer` who may not record every step of the way, to the last state
    they may reach (`held`), the sheet's claim kept as fields."""
    found_at = instant(values["found_at"])
    path = _way(values, stage, definition, found_at)
    cut, held = held_on(definition, path, importer)
    attrs = {name: values[name] for name in ATTRIBUTES if name != "found_at"}
    attrs["found_at"] = utc_iso(found_at)
    times, previous, dating = [], found_at, set()
    for trigger, _ in path:
        at, names = previous, [n for n in STEP_DATES.get(trigger, ()) if n in values]
        if names:
            at = max(instant(values[names[0]]), previous)
            for name in names:
                if instant(values[name]) == at:  # the same date twice: both told
                    dating.add(name)
        times.append(at)
        previous = at
    placed = _place_fields(values, definition, path, dating)
    steps = tuple(Step(trigger, to_state, at, placed[i]) for i, ((trigger, to_state), at)
                  in enumerate(zip(path[:cut], times), start=1))
    report_fields = placed[0]
    if held is not None:
        report_fields = {**report_fields, **_claim(values, stage, definition, path, placed, cut)}
    return RowPlan(attrs, found_at, report_fields, steps, held)


def landing(values: dict, stage: str, definition: Definition, importer: Importer | None = None
            ) -> tuple[str, Held | None]:
    """Where a checked row lands for `importer` (the state, and the step they may not record), as plan_row
    would write it; cheap enough for every row of a dry run (the ways and the stops are cached)."""
    path = _way(values, stage, definition, instant(values["found_at"]))
    cut, held = held_on(definition, path, importer)
    return (held.state if held is not None else path[-1][1] if path else definition.initial), held


def _way(values: dict, stage: str, definition: Definition, found_at: datetime) -> tuple[tuple[str, str], ...]:
    target = state_for(definition, stage)
    if target is None:
        raise InvalidInput(f"workflow '{definition.name}' has no state for the stage '{stage}'")
    deadline = values.get("deadline")
    through_clock = bool(deadline) and deadline[:10] > found_at.astimezone(SHANGHAI).date().isoformat()
    path = path_to(definition, target, through_clock=through_clock)
    if path is None:
        raise InvalidInput(f"workflow '{definition.name}' has no way from '{definition.initial}' to '{target}'")
    return path


def held_on(definition: Definition, path, importer: Importer | None) -> tuple[int, Held | None]:
    """How many steps of `path` the importer may record, and the first one they may not (None: all of them).
    Kept per definition version, way and importer: an import asks a handful of times."""
    if importer is None or not path:
        return len(path), None
    cache = definition._index.setdefault("ledger_held", {})
    key = (path, importer)
    if key not in cache:
        state, found = definition.initial, (len(path), None)
        for i, (trigger, to_state) in enumerate(path):
            transition = definition.transition(state, trigger)
            reason = importer.refusal(transition) if transition is not None else None
            if reason is not None:
                found = (i, Held(trigger, state, tuple(transition.roles), reason))
                break
            state = to_state
        cache[key] = found
    return cache[key]


def _claim(values: dict, stage: str, definition: Definition, path, placed: list[dict], cut: int) -> dict:
    """The sheet's claim beyond the steps recorded (`cut` of `path`): the values of the steps not recorded go
    with the report, except the claim's own (CLAIM_VALUES), of which the stage, its date (the one that would
    date the step reaching it) and 复查人 are kept; each as the definition's field type reads it, when it has one."""
    fields: dict = {}
    for later in placed[cut + 1:]:
        fields.update({name: value for name, value in later.items() if name not in CLAIM_VALUES})
    claim = {"claimed_stage": stage}
    dates = [n for n in STEP_DATES.get(path[-1][0], ()) if values.get(n)]
    if dates:
        claim["claimed_at"] = values[dates[0]]
    if values.get("verifier") and any("verifier" in later for later in placed[cut + 1:]):
        claim["claimed_by"] = values["verifier"]
    for name, value in claim.items():
        spec = definition.field_spec(name)
        fields[name] = coerce(spec, value) if spec is not None else value
    return fields


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
