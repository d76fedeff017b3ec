"""A workflow definition as frozen values: what `parse` builds from YAML and everything else reads.

Every node keeps the line it was written on, so checks and refusals can point at the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.definition import EXTENSION  # noqa: F401 (the reserved rung name, read from here as well)

FIELD_TYPES = frozenset({"text", "date", "money", "person", "enum"})
GUARD_KINDS = frozenset({"present", "equals", "one_of", "actor_differs_from", "in_region",
                         "no_open_linked", "not_flagged", "after_now"})
RUNG_ACTIONS = frozenset({"remind", "notice", "interview", "post_supervision", "expose", "suspend"})
MISSED_POLICIES = frozenset({"fire", "highest", "skip"})
# Attributes every case has, set at report time; transitions may read them in guards.
CASE_ATTRIBUTES = ("title", "enterprise", "region", "industry", "level", "source", "found_at")
# Pseudo-triggers the engine records itself; a definition may not declare transitions with these names.
RESERVED_TRIGGERS = frozenset({"report", "extend", "escalate", "migrate", "recalendar", "decide", "void", "correct",
                               "attach", "serve_notice", "notify"})
# What a workflow is for (`serves:`): its cases are hazards (counted, listed, written to ledgers), or interviews
# or posted supervisions the ladder opens linked to a hazard (listed as such in bulletins, never counted as hazards).
SERVES = ("hazard", "interview", "posting")
# The rung actions that open a linked case: what the workflow they open must serve, and the one they open unless
# the rung names its own (`workflow:`).
LINKED_ACTIONS = {"interview": ("interview", "interview"), "post_supervision": ("posting", "posted-supervision")}
# The stages of the closed loop a ledger's 隐患状态 speaks in (engine/ledger/words.py STAGES, the same words):
# a hazard workflow's `ledger_stages:` maps each onto one of its states.
LEDGER_STAGES = ("reported", "assigned", "rectifying", "verifying", "verified", "closed")
# Definitions stored before `serves` and `ledger_stages` existed said it by their names alone: a stored text
# without the key takes these (migration fallback only; every shipped file declares its own, and any other name
# without `serves` is a hazard workflow without a stage map).
LEGACY_SERVES = {"interview": "interview", "posted-supervision": "posting"}
LEGACY_LEDGER_STAGES = {
    "major-hazard": tuple((stage, stage) for stage in LEDGER_STAGES),
    "general-hazard": (("reported", "reported"), ("assigned", "rectifying"), ("rectifying", "rectifying"),
                       ("verifying", "verifying"), ("verified", "closed"), ("closed", "closed")),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str = ""
    values: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str = ""
    final: bool = False
    rectified: bool = False   # reports count a case here as rectified (整改完成: rectification complete)
    accepted: bool = False    # ...and here as accepted by the department as well (验收/复查 passed)
    line: int = 0


@dataclass(frozen=True)
class Guard:
    """One condition from the small vocabulary in `vocabulary.py`; `args` hold its operands."""

    kind: str
    field: str | None = None
    value: object = None
    values: tuple = ()
    triggers: tuple[str, ...] = ()
    workflow: str | None = None
    flag: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    requires: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    lifts: tuple[str, ...] = ()  # case flags (e.g. `suspended`) this transition clears
    label: str = ""
    line: int = 0
    issues: str = ""             # the document (notice, 文书) this transition issues: engine/domain/notices.py
    # Evidence kinds (engine/domain/data/vocabulary.yaml `evidence`): firing needs a file of ANY ONE of them
    # attached to the case first (`hazard case attach --kind`).
    requires_attachments: tuple[str, ...] = ()
    notify: tuple = ()           # engine.domain.notifications.Rule: who is told when it fires

    @property
    def accepts(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.sets if f not in self.requires)


@dataclass(frozen=True)
class Duration:
    days: int
    working: bool = False


@dataclass(frozen=True)
class Command:
    """A command that is not a state change (report, extend, void, correct): who may run it and what it takes.

    An extension with `decided_by` is applied for by `roles` and decided by one of `decided_by` (never the
    applicant), at most `max_days` past the deadline it extends and `max_total_days` past the first deadline;
    `apply_before` (the latest an application may come before the deadline) and `decide_within` (by when the
    decision is due after it) are the local rules' numbers.
    """

    roles: tuple[str, ...]
    requires: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    decided_by: tuple[str, ...] = ()
    max_days: int | None = None
    max_total_days: int | None = None
    apply_before: Duration | None = None
    decide_within: Duration | None = None
    line: int = 0

    @property
    def accepts(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.sets if f not in self.requires)


@dataclass(frozen=True)
class ClockSpec:
    """A timer that runs between triggers. Each start opens a new cycle; pause/resume shift its rungs."""

    name: str
    start: tuple[str, ...]
    stop: tuple[str, ...] = ()
    pause: tuple[str, ...] = ()
    resume: tuple[str, ...] = ()
    deadline_field: str | None = None  # the clock runs against this case field...
    duration: Duration | None = None   # ...or for this long after it starts
    label: str = ""
    line: int = 0


@dataclass(frozen=True)
class Rung:
    """One step of a ladder: due `offset_days` (negative: before) from the clock's deadline."""

    name: str
    clock: str
    action: str
    offset_days: int
    working: bool = False
    missed: str = "fire"
    params: tuple[tuple[str, object], ...] = ()
    label: str = ""
    decided_by: tuple[str, ...] = ()   # roles one of whom decides it: the rung raises a proposal, not the action
    line: int = 0
    notify: tuple = ()                 # engine.domain.notifications.Rule: who is told when it takes effect

    def param(self, key: str, default=None):
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class LedgerStage:
    """One line of `ledger_stages`: a ledger row at `stage` is a case in `state`, and back."""

    stage: str
    state: str
    line: int = 0


@dataclass(frozen=True)
class Definition:
    name: str
    title: str
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[Transition, ...]
    roles: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    report: Command
    extend: Command | None = None
    void: Command | None = None
    correct: Command | None = None
    clocks: tuple[ClockSpec, ...] = ()
    rungs: tuple[Rung, ...] = ()
    grace_minutes: int = 60
    description: str = ""
    source_file: str = ""
    serves: str = "hazard"
    ledger_stages: tuple[LedgerStage, ...] = ()
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._index.update(
            states={s.name: s for s in self.states},
            fields={f.name: f for f in self.fields},
            by_source={(src, t.trigger): t for t in self.transitions for src in t.sources},
            clocks={c.name: c for c in self.clocks},
            final=frozenset(s.name for s in self.states if s.final),
            # A definition that marks no state rectified (those of the first release) counts its final states.
            rectified=frozenset(s.name for s in self.states if s.rectified) or frozenset(
                s.name for s in self.states if s.final),
            # Unmarked, acceptance is what `rectified` meant before the two were told apart: those states.
            accepted=frozenset(s.name for s in self.states if s.accepted) or frozenset(
                s.name for s in self.states if s.rectified) or frozenset(s.name for s in self.states if s.final),
            stage_states={s.stage: s.state for s in self.ledger_stages},
            deadline_clock=next((c for c in self.clocks if c.deadline_field == "deadline"), None),
            notifies=any(t.notify for t in self.transitions) or any(r.notify for r in self.rungs),
            # A replay plans every ladder and checks every escalation: looked up, not searched.
            rungs_of={c: tuple(r for r in self.rungs if r.clock == c) for c in {r.clock for r in self.rungs}},
            # the first of a name wins, as a search would find it
            rung={(r.clock, r.name): r for r in reversed(self.rungs)},
            clock_triggers=frozenset({"extend", "decide"} | {t for c in self.clocks for t in (*c.start, *c.stop, *c.pause,
                                                                                    *c.resume)}),
        )

    def state(self, name: str) -> StateSpec | None:
        return self._index["states"].get(name)

    def field_spec(self, name: str) -> FieldSpec | None:
        return self._index["fields"].get(name)

    def transition(self, source: str, trigger: str) -> Transition | None:
        return self._index["by_source"].get((source, trigger))

    def clock(self, name: str) -> ClockSpec | None:
        return self._index["clocks"].get(name)

    def triggers_from(self, source: str) -> list[str]:
        return [t.trigger for t in self.transitions if source in t.sources]

    @property
    def final_states(self) -> frozenset[str]:
        return self._index["final"]

    @property
    def notifies(self) -> bool:
        """Whether any transition or rung tells anyone anything (most units then need no outbox work)."""
        return self._index["notifies"]

    @property
    def clock_triggers(self) -> frozenset[str]:
        """Triggers that start, stop, pause, resume or extend some clock of this definition."""
        return self._index["clock_triggers"]

    @property
    def rectified_states(self) -> frozenset[str]:
        return self._index["rectified"]

    @property
    def accepted_states(self) -> frozenset[str]:
        return self._index["accepted"]

    @property
    def deadline_clock(self) -> "ClockSpec | None":
        """The clock that runs against the case's `deadline` field: the one overdue is counted on."""
        return self._index["deadline_clock"]

    @property
    def stage_states(self) -> dict[str, str]:
        """Ledger stage -> the state a row at that stage lands on; empty when the workflow takes no ledger rows."""
        return self._index["stage_states"]

    def state_for_stage(self, stage: str) -> str | None:
        return self._index["stage_states"].get(stage)

    def stage_of(self, state: str) -> str | None:
        """The stage a state is shown as in a ledger (an export's 隐患状态): itself when it is a stage mapped onto
        itself, else the first stage landing on it; None without a stage map or when no stage lands there."""
        states = self._index["stage_states"]
        if states.get(state) == state:
            return state
        return next((stage for stage, s in states.items() if s == state), None)

    def rungs_of(self, clock: str) -> tuple[Rung, ...]:
        return self._index["rungs_of"].get(clock, ())

    def rung(self, clock: str, name: str) -> Rung | None:
        try:
            return self._index["rung"].get((clock, name))
        except TypeError:  # an unhashable name from a malformed event: no such rung
            return None

    def corrections(self, kind: str) -> Command:
        """Who may void or correct a case (`void` / `correct`): the definition's section, or by default the
        supervising department and the committee, in the case's region."""
        given = self.void if kind == "void" else self.correct
        return given or DEFAULT_CORRECTIONS


DEFAULT_CORRECTIONS = Command(roles=("supervisor", "committee"), guards=(Guard("in_region"),))
