"""The case as a value, and `apply`: the one fold that turns an event into the next projection.

The stored case row is exactly `apply` folded over the case's events; the unit of work uses the same
function to write the row, so replay and projection cannot drift apart.

Overdue has one definition, used by the register, the reports, the trace and the ladder alike: a case is
overdue at T when it is open, its deadline's obligation is not met (the clock on the `deadline` field has not
stopped, the case is not rectified) and `due_at <= (paused_at or T)`, where `due_at` is the deadline moved
later by the time that clock spent paused. While paused, a case is overdue only if it already was when the
pause began: paused time moves the deadline by exactly as much as it lasts.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields as dataclass_fields
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

from engine.domain.clock import deadline_instant
from engine.domain.escalation import clocks, decisions as decided
from engine.domain.events import GENESIS, Event, _encode_text, canonical_text, utc_text, value_text

if TYPE_CHECKING:
    from engine.domain.definition.model import Definition

# Engine triggers: recorded by the engine itself, not signatures of a workflow step.
ENGINE_TRIGGERS = frozenset({"report", "escalate", "extend", "migrate", "recalendar", "decide", "void", "correct",
                             "attach", "serve_notice", "notify"})
# What `hazard case correct` may change: the attributes a case is counted and found by, as reported.
CORRECTABLE = ("title", "enterprise", "region", "industry", "source")

# Events the engine records on its own schedule: a person's back-filled record of an earlier moment may come
# after them in the log (the scheduler's reminder does not block the paper verification dated before it).
UNBLOCKING_TRIGGERS = frozenset({"escalate", "notify"})

# In a back-dated event's data: it is judged at its recording (engine/app/backfill.py), the on-time judgment too.
JUDGED = "judged_on_record"

# The five implementations (五落实) of a major hazard, as the case's fields hold them.
FIVE_IMPLEMENTATIONS = ("responsible_unit", "responsible_person", "measures", "funds", "deadline", "emergency_plan")


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
    due_at: datetime | None = None        # the deadline, moved later by the time its clock spent paused
    paused_at: datetime | None = None     # the deadline's clock is paused since then
    met_at: datetime | None = None        # the deadline's clock stopped then: the obligation was met
    rectified_at: datetime | None = None  # entered a rectified state (rectification complete)
    accepted_at: datetime | None = None   # entered an accepted state (the department verified it)
    voided_at: datetime | None = None     # voided (a duplicate, a mistake): out of every figure, list and ladder
    judged_at: datetime | None = None     # a back-dated record that met the deadline counts from its recording
    decisions: dict = field(default_factory=dict)  # proposals and extension applications, and what became of them
    created_at: datetime | None = None
    updated_at: datetime | None = None
    acted_at: datetime | None = None      # the last event a person (not the scheduler) recorded took effect then
    closed_at: datetime | None = None
    last_hash: str = GENESIS

    @property
    def deadline(self) -> str | None:
        return self.fields.get("deadline")

    @property
    def is_hazard(self) -> bool:
        """A hazard, not a case the escalation ladder opened from one (an interview, a posted supervision: they
        have a parent). Reports count hazards only; the five implementations are a hazard's duty."""
        return self.parent_id is None

    @property
    def owes_implementations(self) -> bool:
        """The five implementations apply: a major hazard. A linked interview or posted supervision carries
        its hazard's level, for counting, but not the hazard's duties."""
        return self.level == "major" and self.is_hazard

    @property
    def missing_implementations(self) -> list[str]:
        """Which of the five implementations (五落实: unit, person, measures, funds, time limit, plan) a major
        hazard lacks: a ledger kept by hand rarely has them all, and the import records what the sheet has (a
        value, or a 是 in a yes/no column, kept as the field `implemented`: names separated by spaces).
        Empty for a case they do not apply to (`owes_implementations`)."""
        if not self.owes_implementations:
            return []
        # A ledger's 是 under 经费物资 (and the like) records an implementation the sheet gives no value for.
        recorded = set(str(self.fields.get("implemented") or "").split())
        return [name for name in FIVE_IMPLEMENTATIONS if not self.fields.get(name) and name not in recorded]

    def overdue(self, now: datetime) -> bool:
        """Open, not met, and past its deadline counting paused time (see the module docstring)."""
        if self.is_final or self.met_at or self.rectified_at or self.due_at is None or self.voided_at:
            return False
        return self.due_at <= (self.paused_at or now)


def apply(case: Case | None, event: Event, definition: Definition) -> Case:
    """The case after `event`, under `definition` (the version the event ran with)."""
    data = event.data
    if event.trigger == "report":
        attrs = data["case"]
        # Case(...) without the frozen dataclass's per-field set-up: every default, then what the report says.
        case = object.__new__(Case)
        case.__dict__.update(_DEFAULTS)
        case.__dict__.update(
            id=event.case_id, workflow=event.workflow, workflow_version=event.workflow_version,
            state=event.to_state, level=attrs["level"], title=attrs["title"], enterprise=attrs["enterprise"],
            region=attrs["region"], industry=attrs["industry"], source=attrs["source"],
            found_at=datetime.fromisoformat(attrs["found_at"]), fields={}, signers={}, clocks={},
            parent_id=attrs.get("parent_id"), calendar=data.get("calendar"), decisions={}, created_at=event.at,
        )
        before = None
    else:
        before = case
    given = data.get("fields")
    fields = {**case.fields, **given} if given else case.fields
    lifts, raised = data.get("lifts"), data.get("flags")
    flags = case.flags
    if lifts or raised:
        kept = [f for f in case.flags if f not in (lifts or ())]
        flags = tuple(kept + [f for f in raised or () if f not in kept])
    fired = case.fired
    if event.trigger == "escalate":
        fired = fired + ((data["clock"], data["cycle"], data["rung"]),)
    signers = case.signers
    # A step copied from a paper ledger was not signed by whoever imported it: it binds no separation of duties.
    if event.trigger not in ENGINE_TRIGGERS and event.role != "import" and signers.get(event.trigger) != event.actor:
        signers = {**signers, event.trigger: event.actor}
    is_final = event.to_state in definition.final_states
    calendar = data["calendar"] if event.trigger == "recalendar" else case.calendar
    new_clocks = clocks.advance(case.clocks, event, definition)
    voided_at = event.at if event.trigger == "void" else case.voided_at
    record = case.decisions
    if record or event.trigger in ("escalate", "decide", "extend", "void"):
        record = decided.fold(record, event, new_clocks, ends=is_final or voided_at is not None)
    corrected = {name: change["new"] for name, change in data["changes"].items()} \
        if event.trigger == "correct" else {}
    rectified_at = accepted_at = None
    if event.to_state in definition.rectified_states:
        rectified_at = (before.rectified_at if before is not None else None) or event.at
    if event.to_state in definition.accepted_states:
        accepted_at = (before.accepted_at if before is not None else None) or event.at
    if before is not None and new_clocks is before.clocks and fields is before.fields and event.trigger != "migrate":
        facts = {"due_at": before.due_at, "paused_at": before.paused_at, "met_at": before.met_at}  # unchanged
    else:
        facts = _deadline_facts(before, fields, new_clocks, definition, event.at)
        if event.trigger == "void":  # its clocks stopped, but no obligation was met
            facts["met_at"] = before.met_at
    facts["judged_at"] = _judged(before, event, rectified_at, facts["met_at"])
    return evolve(
        case, state=event.to_state, version=event.seq, workflow_version=event.workflow_version,
        fields=fields, flags=flags, signers=signers, fired=fired, clocks=new_clocks, is_final=is_final,
        calendar=calendar, rectified_at=rectified_at, accepted_at=accepted_at, voided_at=voided_at,
        decisions=record, **corrected,
        updated_at=event.at, acted_at=case.acted_at if event.trigger in UNBLOCKING_TRIGGERS else event.at,
        closed_at=event.at if is_final and not case.is_final else case.closed_at,
        last_hash=event.hash, **facts,
    )


def digest(case: Case) -> str:
    """The hash of everything a case row holds of its projection but its last event's hash (which it is compared
    with separately): a command loading the row checks it before acting, so a hand-edited row is refused. It is
    `data_hash` of the attributes, instants as UTC text and tuples as lists (a test holds it so).

    `encoded` gives the same hash attribute by attribute (a writer keeps each attribute's text); here the whole
    case is one call to the canonical encoder, its instants turned into their text first: a replay of every case
    takes each one's digest and needs none of the texts."""
    attributes = case.__dict__
    if len(attributes) != len(_HASHED) + 1:
        return encoded(case)[0]
    from hashlib import sha256
    plain = attributes.copy()
    del plain["last_hash"]
    for name in _INSTANTS:
        value = plain[name]
        if isinstance(value, datetime):
            plain[name] = utc_text(value)
    try:
        text = canonical_text(plain)
    except TypeError:  # an instant where none is declared: `encoded` writes it as one (or fails as it would)
        return encoded(case)[0]
    return sha256(text.encode()).hexdigest()


_NOTHING = object()


def encoded(case: Case, like: tuple[Case, dict[str, str]] | None = None) -> tuple[str, dict[str, str]]:
    """`digest` and the canonical JSON of each attribute it hashed, in one pass: a writer stores those texts (the
    JSON columns, the instants) instead of encoding the row a second time.

    `like`: an earlier case and its texts (the row as loaded). An attribute the fold carried over is the very same
    object (`evolve` shares what did not change, and nothing of a case is changed in place), so its text is taken
    from there: a step that changes the state and a signer encodes those, not the fields, clocks and the rest."""
    from hashlib import sha256
    attributes = case.__dict__
    if len(attributes) != len(_HASHED) + 1:  # an attribute beyond the fields: the digest covers what is there
        return _encoded_any(case)
    old, old_parts = (like[0].__dict__, like[1]) if like is not None else (_NO_ATTRIBUTES, None)
    texts = []
    enc = _encode_text
    for name, _ in _HASHED:  # by name, as the canonical encoding orders keys
        value = attributes[name]
        if old.get(name, _NOTHING) is value:
            text = old_parts[name]
        elif value.__class__ is str:
            text = enc(value)
        else:
            text = _text_of(value)
        texts.append(text)
    return sha256((_DIGESTED % tuple(texts)).encode()).hexdigest(), dict(zip(_HASHED_NAMES, texts))


def _text_of(value) -> str:
    """The canonical JSON of an attribute that is not a plain string (`encoded` tries that first: most are)."""
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return '"' + utc_text(value) + '"'
    if isinstance(value, tuple):
        return canonical_text([list(v) if isinstance(v, tuple) else v for v in value])
    return value_text(value)


def encoded_as_stored(case: Case, stored: dict[str, str]) -> tuple[str, dict[str, str]]:
    """`encoded` of a case just read, taking the texts of `stored` (attribute -> the text its column held, put in
    the canonical encoding's terms by the store: a JSON column's text, an instant's) instead of encoding those values
    again: the engine writes each JSON column and instant as the text it hashed, so a row it wrote gives its digest
    back without re-encoding its fields, clocks and signers. Only the caller's comparison with the row's stored
    digest makes these texts canonical: when it fails (a row written otherwise, or edited), take `encoded`."""
    from hashlib import sha256
    attributes = case.__dict__
    if len(attributes) != len(_HASHED) + 1:
        return _encoded_any(case)
    parts, pieces = {}, []
    enc = _encode_text
    for name, key in _HASHED:
        text = stored.get(name)
        if text is None:
            value = attributes[name]
            text = enc(value) if value.__class__ is str else _text_of(value)
        parts[name] = text
        pieces.append(key + text)
    return sha256(("{" + ",".join(pieces) + "}").encode()).hexdigest(), parts


def _encoded_any(case: Case) -> tuple[str, dict[str, str]]:
    """`encoded` of a case carrying attributes other than its fields, each of them hashed."""
    from hashlib import sha256
    parts = {}
    for name, value in case.__dict__.items():
        if name == "last_hash":
            continue
        if isinstance(value, datetime):
            parts[name] = '"' + utc_text(value) + '"'
        elif isinstance(value, tuple):
            parts[name] = canonical_text([list(v) if isinstance(v, tuple) else v for v in value])
        else:
            parts[name] = value_text(value)
    text = "{" + ",".join(f'"{name}":{parts[name]}' for name in sorted(parts)) + "}"
    return sha256(text.encode()).hexdigest(), parts


# A new case's attributes before its report sets them, in field order (the dict fields are made per case).
_DEFAULTS = {f.name: None if f.default is MISSING else f.default for f in dataclass_fields(Case)}
assert {f.name for f in dataclass_fields(Case) if f.default is MISSING} == \
    {"id", "workflow", "workflow_version", "state", "fields", "signers", "clocks", "decisions"}

# What a case row's digest covers, in the canonical order (by name), with each key's text.
_HASHED = tuple((f.name, f'"{f.name}":') for f in sorted(dataclass_fields(Case), key=lambda f: f.name)
                if f.name != "last_hash")
# The attributes that hold an instant (written as UTC text).
_INSTANTS = tuple(f.name for f in dataclass_fields(Case) if "datetime" in str(f.type))
_HASHED_NAMES = tuple(name for name, _ in _HASHED)
# The canonical JSON a digest hashes, the attributes' texts to fill in (no attribute's name holds a %).
_DIGESTED = "{" + ",".join(key + "%s" for _, key in _HASHED) + "}"
_NO_ATTRIBUTES: dict = {}


def _judged(before: Case | None, event: Event, rectified_at, met_at) -> datetime | None:
    """When the obligation counts as met for the on-time judgment, where a back-dated record says so: its recording
    time (the event says `judged_on_record`, engine.app.backfill), kept while the case stays rectified or met."""
    if rectified_at is None and met_at is None:
        return None
    newly = (rectified_at is not None and (before is None or before.rectified_at is None)) or \
        (met_at is not None and (before is None or before.met_at is None))
    if newly:
        return event.recorded_at if event.data.get(JUDGED) else None
    return before.judged_at if before is not None else None


def evolve(case: Case, **changes) -> Case:
    """`dataclasses.replace` without its per-field checks: the fold runs once per event of every replay."""
    new = object.__new__(Case)
    new.__dict__.update(case.__dict__)
    new.__dict__.update(changes)
    return new


def _deadline_facts(before: Case | None, fields: dict, states: dict, definition: Definition,
                    at: datetime) -> dict:
    """due_at, paused_at and met_at of the deadline, from the clock that runs against it."""
    spec = definition.deadline_clock
    state = states.get(spec.name) if spec is not None else None
    base = (state or {}).get("until") or fields.get("deadline")
    due_at = paused_at = met_at = None
    if base:
        due_at = deadline_instant(base) + timedelta(seconds=(state or {}).get("paused_seconds", 0))
    if state is not None and state["status"] == "paused":
        paused_at = datetime.fromisoformat(state["paused_at"])
    if state is not None and state["status"] == "stopped":
        was = (before.clocks.get(spec.name) or {}).get("status") if before is not None else None
        met_at = before.met_at if was == "stopped" and before.met_at else at
    return {"due_at": due_at, "paused_at": paused_at, "met_at": met_at}
