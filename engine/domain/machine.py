"""Deciding a command: one transitions `Machine` per definition version, the one place that knows which
trigger goes where and under which conditions.

Each workflow transition becomes a machine transition whose condition is the definition's rule set for it:
the roles that may fire it, the region, the fields it requires and takes, and its guards. The machine is
built once per version (`model=None`, no auto transitions) and fired on a small `Attempt` that holds the
state and what is proposed, so a case costs no memory in it. transitions reports a failed condition as a
silent `False`; users need to be told which rule refused them and what is missing, so the condition raises
the domain error itself (nothing has been written when it does).

Replay asks the same machine where a recorded trigger led (`follows`), without re-judging the fields: an
event in the log is a fact, its guards held at the time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from transitions import Machine, MachineError

from engine.domain.actor import Actor
from engine.domain.definition.model import Command, Definition, Transition
from engine.domain.definition.fields_and_guards import GuardContext, check_guard, coerce
from engine.domain.errors import InvalidInput, PermissionDenied, Refused
from engine.domain.limits import MAX_SET_FIELDS, MAX_TEXT_CHARS, check_text, shown

# Guards whose failure is about who acts, not about the case: reported as permission denied.
_PERMISSION_GUARDS = frozenset({"in_region"})


@dataclass(frozen=True)
class Decision:
    trigger: str
    from_state: str | None
    to_state: str
    role: str
    fields: dict   # coerced values given with the command
    lifts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """What a command proposes to do to a case, and what the rules may look at."""

    case_id: str
    trigger: str
    actor: Actor
    given: dict
    case_fields: dict
    case_region: str
    signers: dict
    open_linked: frozenset[str] = frozenset()
    flags: tuple[str, ...] = ()
    now: datetime | None = None


class Attempt:
    """The object the machine fires on: a state, and the proposal its conditions judge."""

    __slots__ = ("state", "proposal", "decision")

    def __init__(self, state: str, proposal: Proposal | None):
        self.state = state
        self.proposal = proposal
        self.decision: Decision | None = None


class WorkflowMachine:
    def __init__(self, definition: Definition):
        self.definition = definition
        self._follows: dict[tuple[str, str], str | None] = {}  # bounded: states x triggers of one version
        self.machine = Machine(
            model=None, states=[s.name for s in definition.states], initial=definition.initial,
            transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
                          "conditions": [partial(_rules_hold, t, definition)]} for t in definition.transitions],
            auto_transitions=False, send_event=True,
        )

    def decide(self, state: str, proposal: Proposal) -> Decision:
        """Fire `proposal.trigger` from `state`; the decision, or the domain error saying why not."""
        attempt = Attempt(state, proposal)
        self._fire(attempt, proposal.trigger)
        return attempt.decision

    def follows(self, state: str, trigger: str) -> str | None:
        """Where `trigger` leads from `state`, or None when the machine has no such way."""
        key = (state, trigger)
        if key not in self._follows:
            attempt = Attempt(state, None)
            try:
                self._fire(attempt, trigger)
                self._follows[key] = attempt.state
            except Refused:
                self._follows[key] = None
        return self._follows[key]

    def _fire(self, attempt: Attempt, trigger: str) -> None:
        event = self.machine.events.get(trigger)
        if event is None:
            raise Refused(f"workflow '{self.definition.name}' has no trigger '{trigger}' "
                          f"(from '{attempt.state}': {_allowed(self.definition, attempt.state)})",
                          trigger=trigger, rule="state", case_id=_case_id(attempt))
        try:
            event.trigger(attempt)
        except MachineError:
            case = _case_id(attempt)
            raise Refused(f"'{trigger}'{f' on {case}' if case else ''} is not allowed in state '{attempt.state}' "
                          f"(allowed now: {_allowed(self.definition, attempt.state)})",
                          case_id=case, trigger=trigger, rule="state") from None


def _case_id(attempt: Attempt) -> str | None:
    return attempt.proposal.case_id if attempt.proposal else None


def _allowed(definition: Definition, state: str) -> str:
    return ", ".join(definition.triggers_from(state)) or "none: the case is in a final state"


def _rules_hold(transition: Transition, definition: Definition, event_data) -> bool:
    """The condition of one machine transition: every rule of the definition for it, or the error why not."""
    attempt: Attempt = event_data.model
    proposal = attempt.proposal
    if proposal is None:  # replay: where it leads is all that is asked
        return True
    what = f"'{transition.trigger}' on {proposal.case_id}"
    role = pick_role(proposal.actor, transition.roles, f"fire {what}")
    ctx = GuardContext(fields=proposal.case_fields, actor=proposal.actor.name, actor_regions=proposal.actor.regions,
                       case_region=proposal.case_region, last_actor_of=proposal.signers,
                       open_linked=proposal.open_linked, flags=frozenset(proposal.flags), now=proposal.now)
    fields = check_command(transition, definition, ctx, proposal.given, what, proposal.case_id)
    attempt.decision = Decision(transition.trigger, attempt.state, transition.dest, role, fields, transition.lifts)
    return True


def check_command(cmd: Command | Transition, definition: Definition, ctx: GuardContext, given: dict, what: str,
                  case_id: str | None) -> dict:
    """The region, then the fields, then every guard: the coerced fields, or the error saying what is wrong."""
    # Region first: someone outside the region should learn that, not which fields are missing.
    permission = [g for g in cmd.guards if g.kind in _PERMISSION_GUARDS]
    _check(permission, ctx, what, case_id)
    fields = check_fields(cmd, definition, given, what, case_id=case_id)
    rest = [g for g in cmd.guards if g.kind not in _PERMISSION_GUARDS]
    if rest:
        _check(rest, GuardContext(**{**ctx.__dict__, "fields": {**ctx.fields, **fields}}), what, case_id)
    return fields


def machine_for(definition: Definition) -> WorkflowMachine:
    """The one machine of this definition version, built on first use and kept with the definition."""
    machine = definition._index.get("machine")
    if machine is None:
        machine = definition._index["machine"] = WorkflowMachine(definition)
    return machine


def decide(definition: Definition, state: str, proposal: Proposal) -> Decision:
    """Check every rule for firing the proposal's trigger on a case in `state`; the decision or why not."""
    return machine_for(definition).decide(state, proposal)


def pick_role(actor: Actor, allowed: tuple[str, ...], what: str) -> str:
    for role in actor.roles:
        if role in allowed:
            return role
    raise PermissionDenied(
        f"{actor.name} (role {', '.join(actor.roles) or 'none'}) may not {what}; allowed roles: {', '.join(allowed) or 'none'}",
        actor=actor.name, rule="role")


def check_fields(cmd: Command | Transition, definition: Definition, given: dict, what: str,
                 *, builtin: dict | None = None, case_id: str | None = None) -> dict:
    """Coerce the given fields; refuse fields the step does not take and required ones that are missing."""
    accepts = cmd.accepts
    if len(given) > MAX_SET_FIELDS:
        raise InvalidInput(f"{what}: {len(given)} fields given; at most {MAX_SET_FIELDS} may be set at once")
    coerced = {}
    for name, raw in given.items():
        if name not in accepts:
            raise InvalidInput(f"{what} does not take field {shown(name)} (it takes: {', '.join(accepts) or 'none'})",
                               field=name)
        spec = definition.field_spec(name)
        coerced[name] = coerce(spec, raw) if spec else check_text(str(raw).strip(), field=name, label=f"field '{name}'",
                                                                  max_chars=MAX_TEXT_CHARS, multiline=True)
    missing = tuple(f for f in cmd.requires if f not in coerced and not (builtin or {}).get(f))
    if missing:
        raise Refused(f"{what} requires {', '.join(missing)}: missing", rule="requires", missing=missing,
                      case_id=case_id, trigger=getattr(cmd, "trigger", None))
    return coerced


def check_guards(cmd: Command | Transition, ctx: GuardContext, what: str, case_id: str | None) -> None:
    _check(cmd.guards, ctx, what, case_id)


def _check(guards, ctx: GuardContext, what: str, case_id: str | None) -> None:
    for guard in guards:
        failure = check_guard(guard, ctx)
        if failure is None:
            continue
        if guard.kind in _PERMISSION_GUARDS:
            raise PermissionDenied(f"{what}: {failure}", actor=ctx.actor, rule=guard.kind)
        raise Refused(f"{what} refused by rule '{guard.kind}' (line {guard.line}): {failure}",
                      case_id=case_id, rule=guard.kind)



# Guards about who acts rather than what is given: judged for a case before any field is typed (a button shown).
_WHO_GUARDS = frozenset({"in_region", "actor_differs_from"})


def may_fire(definition: Definition, state: str, actor: Actor, ctx: GuardContext | None = None) -> list[Transition]:
    """The transitions out of `state` the actor's roles may fire: the permission rule of a (workflow, state) pair,
    as `decide` applies it first. Given a case's `ctx`, also its guards on who acts (region, not the one who
    signed a step before): the triggers to offer that user on that case. The fields and the other guards are
    judged when the trigger is fired."""
    found = []
    for transition in definition.transitions:
        if state not in transition.sources or not any(role in transition.roles for role in actor.roles):
            continue
        if ctx is not None and any(check_guard(g, ctx) is not None for g in transition.guards
                                   if g.kind in _WHO_GUARDS):
            continue
        found.append(transition)
    return found
