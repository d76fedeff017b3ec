"""Deciding a command: one transitions `Machine` per definition version, and the rules checked around it.

The machine is built once per version (`model=None`, no auto transitions) and fired on a tiny token that
only holds the state, so a case costs no memory in it. Roles, region, fields and guards are checked here
first, because transitions reports a failed condition as a silent False: users need to be told which rule
refused them and what is missing.
"""
from __future__ import annotations

from dataclasses import dataclass

from transitions import Machine, MachineError

from engine.definition.model import Command, Definition, Transition
from engine.definition.vocabulary import GuardContext, check_guard, coerce
from engine.errors import InvalidInput, PermissionDenied, Refused
from engine.limits import MAX_SET_FIELDS, MAX_TEXT_CHARS, check_text, shown

# Guards whose failure is about who acts, not about the case: reported as permission denied.
_PERMISSION_GUARDS = frozenset({"in_region"})


@dataclass(frozen=True)
class Actor:
    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    trigger: str
    from_state: str | None
    to_state: str
    role: str
    fields: dict   # coerced values given with the command
    lifts: tuple[str, ...] = ()


class _Token:
    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


class WorkflowMachine:
    def __init__(self, definition: Definition):
        self.definition = definition
        self.machine = Machine(
            model=None, states=[s.name for s in definition.states], initial=definition.initial,
            transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in definition.transitions],
            auto_transitions=False, send_event=True,
        )

    def fire(self, state: str, trigger: str) -> str:
        token = _Token(state)
        try:
            self.machine.events[trigger].trigger(token)
        except (MachineError, KeyError):
            raise Refused(f"'{trigger}' is not possible from state '{state}'", trigger=trigger, rule="state") from None
        return token.state


def machine_for(definition: Definition) -> WorkflowMachine:
    """The one machine of this definition version, built on first use and kept with the definition."""
    machine = definition._index.get("machine")
    if machine is None:
        machine = definition._index["machine"] = WorkflowMachine(definition)
    return machine


def pick_role(actor: Actor, allowed: tuple[str, ...], what: str) -> str:
    for role in actor.roles:
        if role in allowed:
            return role
    raise PermissionDenied(
        f"{actor.name} (role {', '.join(actor.roles) or 'none'}) may not {what}; allowed roles: {', '.join(allowed) or 'none'}",
        actor=actor.name, rule="role")


def check_fields(cmd: Command | Transition, definition: Definition, given: dict, what: str,
                 *, builtin: dict | None = None) -> dict:
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
        raise Refused(f"{what} requires {', '.join(missing)}: missing (give them with --set FIELD=VALUE)",
                      rule="requires", missing=missing)
    return coerced


def check_guards(cmd: Command | Transition, ctx: GuardContext, what: str, case_id: str | None) -> None:
    for guard in cmd.guards:
        failure = check_guard(guard, ctx)
        if failure is None:
            continue
        if guard.kind in _PERMISSION_GUARDS:
            raise PermissionDenied(f"{what}: {failure}", actor=ctx.actor, rule=guard.kind)
        raise Refused(f"{what} refused by rule '{guard.kind}' (line {guard.line}): {failure}",
                      case_id=case_id, rule=guard.kind)


def decide(definition: Definition, *, case_id: str, state: str, trigger: str, actor: Actor, given: dict,
           case_fields: dict, case_region: str, signers: dict, open_linked: frozenset[str] = frozenset(),
           flags: tuple[str, ...] = ()) -> Decision:
    """Check every rule for firing `trigger` on a case in `state`; return the decision or raise why not."""
    what = f"'{trigger}' on {case_id}"
    transition = definition.transition(state, trigger)
    if transition is None:
        known = {t.trigger for t in definition.transitions}
        allowed = ", ".join(definition.triggers_from(state)) or "none: the case is in a final state"
        if trigger not in known:
            message = f"workflow '{definition.name}' has no trigger '{trigger}' (from '{state}': {allowed})"
        else:
            message = f"{what} is not allowed in state '{state}' (allowed now: {allowed})"
        raise Refused(message, case_id=case_id, trigger=trigger, rule="state")
    role = pick_role(actor, transition.roles, f"fire {what}")
    ctx = GuardContext(fields=case_fields, actor=actor.name, actor_regions=actor.regions, case_region=case_region,
                       last_actor_of=signers, open_linked=open_linked, flags=frozenset(flags))
    # Region first: someone outside the region should learn that, not which fields are missing.
    check_guards(_only(transition, _PERMISSION_GUARDS), ctx, what, case_id)
    fields = check_fields(transition, definition, given, what)
    ctx = GuardContext(**{**ctx.__dict__, "fields": {**case_fields, **fields}})
    check_guards(transition, ctx, what, case_id)
    to_state = machine_for(definition).fire(state, trigger)
    return Decision(trigger, state, to_state, role, fields, transition.lifts)


def _only(cmd, kinds):
    from dataclasses import replace
    return replace(cmd, guards=tuple(g for g in cmd.guards if g.kind in kinds))
