"""Static checks of a parsed definition: every problem as (file, line, message), in file order."""
from __future__ import annotations

from collections import deque

from engine.domain.definition.model import (
    CASE_ATTRIBUTES, LINKED_ACTIONS, RESERVED_TRIGGERS, Command, Definition, Guard,
)

# Fields the engine itself provides; definitions may use them without declaring them.
BUILTIN_FIELDS = frozenset(CASE_ATTRIBUTES) | {"reason"}


def problems(d: Definition) -> list[tuple[str, int, str]]:
    found: list[tuple[int, str]] = []
    states = {s.name for s in d.states}
    fields = {f.name for f in d.fields} | BUILTIN_FIELDS
    triggers = {t.trigger for t in d.transitions}
    roles = set(d.roles)

    def known_fields(names, line, where):
        for name in names:
            if name not in fields:
                found.append((line, f"{where}: unknown field '{name}' (declare it under 'fields')"))

    def known_roles(names, line, where):
        for name in names:
            if name not in roles:
                found.append((line, f"{where}: unknown role '{name}' (roles: {', '.join(d.roles)})"))

    def check_guards(guards: tuple[Guard, ...], where):
        for g in guards:
            if g.field is not None:
                known_fields([g.field], g.line, where)
            for t in g.triggers:
                if t not in triggers:
                    found.append((g.line, f"{where}: guard 'actor_differs_from' names unknown trigger '{t}'"))

    def check_command(cmd: Command | None, where):
        if cmd is None:
            return
        known_roles(cmd.roles, cmd.line, where)
        known_fields(cmd.accepts, cmd.line, where)
        check_guards(cmd.guards, where)

    check_command(d.report, "report")
    check_command(d.extend, "extend")
    check_command(d.void, "void")
    check_command(d.correct, "correct")
    if d.extend is not None:
        known_roles(d.extend.decided_by, d.extend.line, "extend: decided_by")

    seen: dict[tuple[str, str], int] = {}
    for t in d.transitions:
        where = f"transition '{t.trigger}'"
        if t.trigger in RESERVED_TRIGGERS:
            found.append((t.line, f"{where}: '{t.trigger}' is reserved for the engine's own events"))
        for src in t.sources:
            if src not in states:
                found.append((t.line, f"{where}: unknown state '{src}' in 'from'"))
            elif src in d.final_states:
                found.append((t.line, f"{where}: leaves final state '{src}'"))
            key = (src, t.trigger)
            if key in seen:
                found.append((t.line, f"{where}: duplicate trigger from state '{src}' (first at line {seen[key]})"))
            seen.setdefault(key, t.line)
        if t.dest and t.dest not in states:
            found.append((t.line, f"{where}: unknown state '{t.dest}' in 'to'"))
        known_roles(t.roles, t.line, where)
        known_fields(t.accepts, t.line, where)
        check_guards(t.guards, where)

    reachable = _reachable(d)
    for s in d.states:
        if s.name != d.initial and s.name not in reachable:
            found.append((s.line, f"state '{s.name}': unreachable from the initial state '{d.initial}'"))
        if not s.final and not d.triggers_from(s.name):
            found.append((s.line, f"state '{s.name}': no transition leaves it and it is not marked 'final: true'"))

    for entry in d.ledger_stages:
        if entry.state not in states:
            found.append((entry.line, f"ledger_stages: stage '{entry.stage}' names unknown state '{entry.state}' "
                                      f"(states: {', '.join(s.name for s in d.states)})"))

    declared = {f.name: f for f in d.fields}
    for c in d.clocks:
        where = f"clock '{c.name}'"
        for key in ("start", "stop", "pause", "resume"):
            for t in getattr(c, key):
                if t not in triggers and t != "report":
                    found.append((c.line, f"{where}: '{key}' names unknown trigger '{t}'"))
        if c.deadline_field and (c.deadline_field not in declared or declared[c.deadline_field].type != "date"):
            found.append((c.line, f"{where}: deadline field '{c.deadline_field}' must be a declared field of type date"))
    clocks = {c.name for c in d.clocks}
    names: dict[tuple[str, str], int] = {}
    for r in d.rungs:
        where = f"rung '{r.name}'"
        if r.clock not in clocks:
            found.append((r.line, f"{where}: unknown clock '{r.clock}'"))
        if (r.clock, r.name) in names:
            found.append((r.line, f"{where}: duplicate rung name on clock '{r.clock}' (first at line {names[(r.clock, r.name)]})"))
        names.setdefault((r.clock, r.name), r.line)
        known_roles(r.decided_by, r.line, f"{where}: decided_by")
        if r.action == "interview" and r.param("summon") and r.param("summon") not in fields:
            found.append((r.line, f"{where}: 'summon' names unknown field '{r.param('summon')}'"))
    return [(d.source_file, line, msg) for line, msg in sorted(found, key=lambda p: p[0])]


def linked_problems(d: Definition, serves: dict[str, str]) -> list[tuple[str, int, str]]:
    """A rung that opens a linked case must open a workflow that serves its kind (an interview rung one that
    `serves: interview`), else its cases would be neither hazards nor listed as what they are. `serves` is what
    each known workflow serves (those installed, and those installed with `d`); one not known yet is not judged."""
    found = []
    for r in d.rungs:
        if r.action not in LINKED_ACTIONS:
            continue
        role, default = LINKED_ACTIONS[r.action]
        name = r.param("workflow") or default
        if name in serves and serves[name] != role:
            found.append((d.source_file, r.line, f"rung '{r.name}': action '{r.action}' opens workflow '{name}', which "
                                                 f"serves {serves[name]}s, not {role}s (its 'serves:')"))
    return found


def _reachable(d: Definition) -> set[str]:
    seen, queue = {d.initial}, deque([d.initial])
    while queue:
        state = queue.popleft()
        for t in d.transitions:
            if state in t.sources and t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return seen
