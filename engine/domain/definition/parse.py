"""YAML nodes to a `Definition`, collecting every problem as (file, line, message) instead of stopping.

The accepted keys of each section live in the frozensets below: one place to read the format, and a test
compares them with the YAML reference in docs/workflows.md.
"""
from __future__ import annotations

import re
from functools import lru_cache

from engine.domain import limits
from engine.domain.definition import source
from engine.domain.definition.model import (
    EXTENSION, FIELD_TYPES, GUARD_KINDS, LEDGER_STAGES, LEGACY_LEDGER_STAGES, LEGACY_SERVES, MISSED_POLICIES,
    RUNG_ACTIONS, SERVES, ClockSpec, Command, Definition, Duration, FieldSpec, Guard, LedgerStage, Rung, StateSpec,
    Transition,
)
from engine.domain.errors import DefinitionInvalid
from engine.domain.notifications import parse_rules
from engine.domain.vocabularies import roles as vocabulary_roles

TOP_KEYS = frozenset({"workflow", "title", "description", "serves", "ledger_stages", "roles", "fields", "states",
                      "report", "transitions", "extend", "void", "correct", "clocks", "escalation"})
FIELD_KEYS = frozenset({"type", "label", "values"})
STATE_KEYS = frozenset({"label", "initial", "final", "rectified", "accepted"})
TRANSITION_KEYS = frozenset({"trigger", "from", "to", "roles", "requires", "sets", "guards", "lifts", "label",
                             "issues", "requires_attachments", "notify"})
COMMAND_KEYS = frozenset({"roles", "requires", "sets", "guards"})
EXTEND_KEYS = COMMAND_KEYS | {"decided_by", "max_days", "max_total_days", "apply_before", "decide_within"}
CLOCK_KEYS = frozenset({"label", "start", "stop", "pause", "resume", "deadline", "duration"})
ESCALATION_KEYS = frozenset({"grace_minutes", "ladder"})
RUNG_KEYS = frozenset({"rung", "clock", "due", "action", "missed", "label", "decided_by", "notify",
                       # action parameters
                       "level", "kind", "workflow", "summon", "deadline", "authority"})
RUNG_PARAMS = frozenset({"level", "kind", "workflow", "summon", "deadline", "authority"})

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
DUE = re.compile(r"^(?:at deadline|(\d+) (working )?days? (before|after))$")
DURATION = re.compile(r"^(\d+) (working )?days?$")


@lru_cache(maxsize=64)
def parse_text(text: str, filename: str) -> Definition:
    """Parse a definition; raise DefinitionInvalid listing every problem found.

    Cached: a definition is a frozen value, and the same stored text is read by every command of a process.
    """
    return _Parser(filename).definition(source.load(text, filename))


@lru_cache(maxsize=64)
def parse_stored(text: str, filename: str) -> Definition:
    """`parse_text` of a definition text the engine stored and whose hash the caller checked: read by libyaml, and
    its notification templates not compiled again. Installing ran every check on this very text (the only way a
    text is stored), so a problem cannot be found here; compiling a dozen templates with Jinja2 cost about a tenth
    of a `case advance` process, Jinja2's import included, for a step that notifies nobody."""
    return _Parser(filename, templates_checked=True).definition(source.load(text, filename, stored=True))


def parse_duration(text: str) -> Duration | None:
    """`10 days` or `5 working days`; the parser checks the count against limits.MAX_DAYS."""
    match = DURATION.match(str(text).strip())
    return Duration(_count(match.group(1)), bool(match.group(2))) if match else None


def _count(digits: str) -> int:
    # Only ever compared with the bounds: a number of thousands of digits must not reach int(), which
    # refuses it with a ValueError, and anything past 18 digits is past every bound anyway.
    return int(digits) if len(digits) <= 18 else 10 ** 18


class _Parser:
    def __init__(self, filename: str, *, templates_checked: bool = False):
        self.filename = filename
        self.templates_checked = templates_checked  # notify templates compiled when the text was installed
        self.problems: list[tuple[str, int, str]] = []
        self.field_names: frozenset[str] = frozenset()

    def problem(self, line: int, message: str) -> None:
        self.problems.append((self.filename, line, message))

    # -- helpers ---------------------------------------------------------------------------------------
    def keys(self, node, allowed: frozenset, where: str) -> None:
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")

    def mapping(self, parent, key, where: str, required: bool = False):
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(parent.line, f"{where}: '{key}' is missing")
            return None
        if not isinstance(value, source.Mapping):
            self.problem(parent.line_of(key), f"{where}: '{key}' must be a mapping")
            return None
        return value

    def names(self, parent, key, where: str, required: bool = False) -> tuple[str, ...]:
        """A name or a list of names."""
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(parent.line, f"{where}: '{key}' is missing")
            return ()
        items = value if isinstance(value, list) else [value]
        result = []
        for item in items:
            if not isinstance(item, str) or not item:
                self.problem(parent.line_of(key), f"{where}: '{key}' must be a name or a list of names, not {item!r}")
            else:
                result.append(item)
        return tuple(result)

    def holdable(self, root) -> None:
        """Every role a definition names must be one a user can be granted; a misspelt one would leave its
        transitions firable by nobody."""
        value, known = root.get("roles"), vocabulary_roles().terms
        items = value if isinstance(value, list) else [value]
        for i, role in enumerate(items):
            if isinstance(role, str) and role and role not in known:
                line = value.line_of(i) if isinstance(value, source.Sequence) else root.line_of("roles")
                self.problem(line, f"workflow: role '{role}' is not a role users can hold ({', '.join(known)}; "
                                   "engine/domain/data/vocabulary.yaml)")

    def text(self, parent, key, where: str, required: bool = False) -> str:
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(parent.line, f"{where}: '{key}' is missing")
            return ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.problem(parent.line_of(key), f"{where}: '{key}' must be text")
            return ""
        return str(value)

    def days(self, count: int, line: int, where: str, what: str) -> None:
        if count > limits.MAX_DAYS:
            shown = f"{count:,}" if count < 10 ** 18 else "more than 10^18"
            self.problem(line, f"{where}: {what} of {shown} days is past the limit of {limits.MAX_DAYS:,} days "
                               "(ten years)")

    def at_most(self, node, limit: int, line: int, what: str) -> None:
        if node is not None and len(node) > limit:
            self.problem(line, f"{len(node)} {what} is more than the limit of {limit} for one definition")

    # -- sections --------------------------------------------------------------------------------------
    def definition(self, root) -> Definition:
        self.keys(root, TOP_KEYS, "workflow")
        name = self.text(root, "workflow", "workflow", required=True)
        if name and not NAME.match(name):
            self.problem(root.line_of("workflow"), f"workflow name '{name}' must be lower-case letters, digits, '-' or '_'")
        serves = self.serves(root, name)
        ledger_stages = self.ledger_stages(root, name, serves)
        roles = self.names(root, "roles", "workflow", required=True)
        self.holdable(root)
        fields = self.fields(root)
        self.field_names = frozenset(f.name for f in fields) | {"reason"}
        states, initial = self.states(root)
        transitions = self.transitions(root)
        report = self.command(root, "report", required=True) or Command(roles=())
        extend = self.command(root, "extend", keys=EXTEND_KEYS)
        void, correct = self.command(root, "void"), self.command(root, "correct")
        clocks = self.clocks(root)
        grace, rungs = self.escalation(root)
        definition = Definition(
            name=name, title=self.text(root, "title", "workflow"), initial=initial, states=states,
            transitions=transitions, roles=roles, fields=fields, report=report, extend=extend, void=void, correct=correct,
            clocks=clocks, rungs=rungs, grace_minutes=grace,
            description=self.text(root, "description", "workflow"), source_file=self.filename, serves=serves,
            ledger_stages=ledger_stages,
        )
        if self.problems:
            # Report the static checks too, so one run shows every mistake; without an initial state
            # every state would look unreachable, which says nothing new.
            from engine.domain.definition.check import problems as check_problems
            extra = check_problems(definition) if initial else []
            found = sorted(set(self.problems) | set(extra), key=lambda p: (p[1], p[2]))
            raise DefinitionInvalid(found)
        return definition

    def serves(self, root, name: str) -> str:
        """What the workflow is for; absent: a hazard workflow (a text stored before the key existed: what its
        name said, LEGACY_SERVES)."""
        if "serves" not in root:
            return LEGACY_SERVES.get(name, "hazard")
        value = root["serves"]
        if value not in SERVES:
            self.problem(root.line_of("serves"), f"workflow: 'serves' must be one of {', '.join(SERVES)}, "
                                                 f"not {value!r}")
            return "hazard"
        return value

    def ledger_stages(self, root, name: str, serves: str) -> tuple[LedgerStage, ...]:
        """Each ledger stage onto a state (check.py checks the states); every stage or none. Absent: no stage
        map (a text stored before the key existed: its name's, LEGACY_LEDGER_STAGES)."""
        if "ledger_stages" not in root:
            legacy = LEGACY_LEDGER_STAGES.get(name, ()) if serves == "hazard" else ()
            return tuple(LedgerStage(stage, state) for stage, state in legacy)
        line = root.line_of("ledger_stages")
        node = self.mapping(root, "ledger_stages", "workflow")
        if node is None:
            return ()
        if serves != "hazard":
            self.problem(line, f"ledger_stages: a workflow that serves '{serves}' takes no ledger rows; only a "
                               "hazard workflow (serves: hazard) maps ledger stages onto states")
            return ()
        result = []
        for stage, state in node.items():
            at = node.line_of(stage)
            if stage not in LEDGER_STAGES:
                self.problem(at, f"ledger_stages: unknown stage '{stage}' (stages: {', '.join(LEDGER_STAGES)})")
            elif not isinstance(state, str) or not state:
                self.problem(at, f"ledger_stages: stage '{stage}' must name a state, not {state!r}")
            else:
                result.append(LedgerStage(stage, state, at))
        missing = [stage for stage in LEDGER_STAGES if stage not in node]
        if missing:
            self.problem(line, f"ledger_stages: no state for the stage{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)} (a ledger row may be at any of {', '.join(LEDGER_STAGES)})")
        return tuple(result)

    def fields(self, root) -> tuple[FieldSpec, ...]:
        node = self.mapping(root, "fields", "workflow")
        self.at_most(node, limits.MAX_FIELDS, root.line_of("fields"), "fields")
        result = []
        for fname, spec in (node or {}).items():
            where = f"field '{fname}'"
            line = node.line_of(fname)
            if not isinstance(spec, source.Mapping):
                self.problem(line, f"{where}: must be a mapping with a 'type'")
                continue
            self.keys(spec, FIELD_KEYS, where)
            ftype = self.text(spec, "type", where, required=True)
            if ftype and ftype not in FIELD_TYPES:
                self.problem(spec.line_of("type"), f"{where}: unknown type '{ftype}' (types: {', '.join(sorted(FIELD_TYPES))})")
            values = self.names(spec, "values", where)
            if ftype == "enum" and not values:
                self.problem(line, f"{where}: an enum needs 'values'")
            result.append(FieldSpec(fname, ftype, self.text(spec, "label", where), values, line))
        return tuple(result)

    def states(self, root) -> tuple[tuple[StateSpec, ...], str]:
        node = self.mapping(root, "states", "workflow", required=True)
        self.at_most(node, limits.MAX_STATES, root.line_of("states"), "states")
        result, initials = [], []
        for sname, spec in (node or {}).items():
            where = f"state '{sname}'"
            line = node.line_of(sname)
            spec = spec if spec is not None else source.Mapping()
            if not isinstance(spec, source.Mapping):
                self.problem(line, f"{where}: must be a mapping (label, initial, final, rectified, accepted) or empty")
                continue
            self.keys(spec, STATE_KEYS, where)
            for flag in ("initial", "final", "rectified", "accepted"):
                if flag in spec and not isinstance(spec[flag], bool):
                    self.problem(spec.line_of(flag), f"{where}: '{flag}' must be true or false")
            if spec.get("initial") is True:
                initials.append((sname, line))
            result.append(StateSpec(sname, self.text(spec, "label", where), spec.get("final") is True,
                                    spec.get("rectified") is True, spec.get("accepted") is True, line))
        if node is not None and not initials:
            self.problem(node.line, "states: no state is marked 'initial: true'")
        for sname, line in initials[1:]:
            self.problem(line, f"state '{sname}': only one state may be initial ('{initials[0][0]}' already is)")
        return tuple(result), (initials[0][0] if initials else "")

    def guards(self, node, key: str, where: str) -> tuple[Guard, ...]:
        items = node.get(key)
        if items is None:
            return ()
        if not isinstance(items, list):
            self.problem(node.line_of(key), f"{where}: 'guards' must be a list")
            return ()
        result = []
        for i, item in enumerate(items):
            line = items.line_of(i)
            if isinstance(item, str):
                kind, arg = item, None
            elif isinstance(item, source.Mapping) and len(item) == 1:
                kind, arg = next(iter(item.items()))
            else:
                self.problem(line, f"{where}: a guard is a name or a single 'kind: argument' pair")
                continue
            if kind not in GUARD_KINDS:
                self.problem(line, f"{where}: unknown guard '{kind}' (guards: {', '.join(sorted(GUARD_KINDS))})")
                continue
            guard = self.guard(kind, arg, line, where)
            if guard:
                result.append(guard)
        return tuple(result)

    def guard(self, kind: str, arg, line: int, where: str) -> Guard | None:
        bad = lambda shape: self.problem(line, f"{where}: guard '{kind}' takes {shape}")  # noqa: E731
        if kind == "in_region":
            if arg not in (None, True):
                return bad("no argument") or None
            return Guard(kind, line=line)
        if kind in ("present", "after_now"):
            return Guard(kind, field=arg, line=line) if isinstance(arg, str) else bad("a field name")
        if kind == "actor_differs_from":
            triggers = arg if isinstance(arg, list) else [arg]
            if not all(isinstance(t, str) for t in triggers):
                return bad("a trigger or a list of triggers")
            return Guard(kind, triggers=tuple(triggers), line=line)
        if kind == "no_open_linked":
            return Guard(kind, workflow=arg, line=line) if isinstance(arg, str) else bad("a workflow name")
        if kind == "not_flagged":
            return Guard(kind, flag=arg, line=line) if isinstance(arg, str) else bad("a flag name")
        if kind == "equals":
            if not (isinstance(arg, dict) and set(arg) == {"field", "value"}):
                return bad("{field: NAME, value: VALUE}")
            return Guard(kind, field=arg["field"], value=arg["value"], line=line)
        if not (isinstance(arg, dict) and set(arg) == {"field", "values"} and isinstance(arg["values"], list)):
            return bad("{field: NAME, values: [V1, V2]}")
        return Guard(kind, field=arg["field"], values=tuple(arg["values"]), line=line)

    def transitions(self, root) -> tuple[Transition, ...]:
        items = root.get("transitions")
        if not isinstance(items, list):
            self.problem(root.line_of("transitions") if "transitions" in root else root.line,
                         "workflow: 'transitions' must be a list" if "transitions" in root else "workflow: 'transitions' is missing")
            return ()
        self.at_most(items, limits.MAX_TRANSITIONS, root.line_of("transitions"), "transitions")
        result = []
        for i, node in enumerate(items):
            if not isinstance(node, source.Mapping):
                self.problem(items.line_of(i), "transitions: each item must be a mapping with trigger, from, to")
                continue
            trigger = self.text(node, "trigger", "transition", required=True)
            where = f"transition '{trigger}'"
            self.keys(node, TRANSITION_KEYS, where)
            result.append(Transition(
                trigger=trigger, sources=self.names(node, "from", where, required=True),
                dest=self.text(node, "to", where, required=True), roles=self.names(node, "roles", where, required=True),
                requires=self.names(node, "requires", where), sets=self.names(node, "sets", where),
                guards=self.guards(node, "guards", where), lifts=self.names(node, "lifts", where),
                label=self.text(node, "label", where), line=node.line, issues=self.text(node, "issues", where),
                requires_attachments=self.evidence_kinds(node, where),
                notify=parse_rules(self, node, where, self.field_names),
            ))
        return tuple(result)

    def evidence_kinds(self, node, where: str) -> tuple[str, ...]:
        """`requires_attachments`: kinds of the evidence vocabulary, any one of which must be attached."""
        from engine.domain.vocabularies import evidence
        kinds = self.names(node, "requires_attachments", where)
        known = evidence().terms
        for kind in kinds:
            if kind not in known:
                self.problem(node.line_of("requires_attachments"),
                             f"{where}: requires_attachments names '{kind}', which is not a kind of evidence "
                             f"({', '.join(known)})")
        return tuple(k for k in kinds if k in known)

    def command(self, root, key: str, required: bool = False, keys: frozenset = COMMAND_KEYS) -> Command | None:
        node = self.mapping(root, key, "workflow", required=required)
        if node is None:
            return None
        self.keys(node, keys, key)
        return Command(roles=self.names(node, "roles", key, required=True), requires=self.names(node, "requires", key),
                       sets=self.names(node, "sets", key), guards=self.guards(node, "guards", key),
                       decided_by=self.names(node, "decided_by", key), max_days=self.day_count(node, "max_days", key),
                       max_total_days=self.day_count(node, "max_total_days", key),
                       apply_before=self.duration(node, "apply_before", key),
                       decide_within=self.duration(node, "decide_within", key), line=node.line)

    def day_count(self, node, key: str, where: str) -> int | None:
        """A whole number of calendar days from 1 to limits.MAX_DAYS."""
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limits.MAX_DAYS:
            self.problem(node.line_of(key), f"{where}: '{key}' must be a whole number of days from 1 to "
                                            f"{limits.MAX_DAYS:,}")
            return None
        return value

    def duration(self, node, key: str, where: str) -> Duration | None:
        if key not in node:
            return None
        found = parse_duration(node[key])
        if found is None:
            self.problem(node.line_of(key), f"{where}: '{key}' must read like '10 days' or '15 working days'")
        else:
            self.days(found.days, node.line_of(key), where, f"'{key}'")
        return found

    def clocks(self, root) -> tuple[ClockSpec, ...]:
        node = self.mapping(root, "clocks", "workflow")
        self.at_most(node, limits.MAX_CLOCKS, root.line_of("clocks"), "clocks")
        result = []
        for cname, spec in (node or {}).items():
            where = f"clock '{cname}'"
            line = node.line_of(cname)
            if not isinstance(spec, source.Mapping):
                self.problem(line, f"{where}: must be a mapping")
                continue
            self.keys(spec, CLOCK_KEYS, where)
            deadline = self.text(spec, "deadline", where) or None
            duration = None
            if "duration" in spec:
                duration = parse_duration(spec["duration"])
                if duration is None:
                    self.problem(spec.line_of("duration"), f"{where}: duration must read like '10 days' or '5 working days'")
                else:
                    self.days(duration.days, spec.line_of("duration"), where, "a duration")
            if (deadline is None) == ("duration" not in spec):
                self.problem(line, f"{where}: give exactly one of 'deadline' (a date field) or 'duration'")
            result.append(ClockSpec(
                cname, start=self.names(spec, "start", where, required=True), stop=self.names(spec, "stop", where),
                pause=self.names(spec, "pause", where), resume=self.names(spec, "resume", where),
                deadline_field=deadline, duration=duration, label=self.text(spec, "label", where), line=line,
            ))
        return tuple(result)

    def escalation(self, root) -> tuple[int, tuple[Rung, ...]]:
        node = self.mapping(root, "escalation", "workflow")
        if node is None:
            return 60, ()
        self.keys(node, ESCALATION_KEYS, "escalation")
        grace = node.get("grace_minutes", 60)
        if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= limits.MAX_GRACE_MINUTES:
            self.problem(node.line_of("grace_minutes"), "escalation: 'grace_minutes' must be a whole number from 0 to "
                                                        f"{limits.MAX_GRACE_MINUTES} (a week)")
            grace = 60
        ladder = node.get("ladder") or []
        if not isinstance(ladder, list):
            self.problem(node.line_of("ladder"), "escalation: 'ladder' must be a list of rungs")
            return grace, ()
        self.at_most(ladder, limits.MAX_RUNGS, node.line_of("ladder"), "rungs")
        rungs = []
        for i, item in enumerate(ladder):
            if not isinstance(item, source.Mapping):
                self.problem(ladder.line_of(i), "escalation: each rung must be a mapping")
                continue
            name = self.text(item, "rung", "rung", required=True)
            where = f"rung '{name}'"
            self.keys(item, RUNG_KEYS, where)
            due = self.text(item, "due", where, required=True).strip()
            match = DUE.match(due)
            offset, working = 0, False
            if due and not match:
                self.problem(item.line_of("due"), f"{where}: due must read 'at deadline', 'N days before' or 'N working days after'")
            elif match and match.group(1):
                offset = _count(match.group(1)) * (-1 if match.group(3) == "before" else 1)
                working = bool(match.group(2))
                self.days(abs(offset), item.line_of("due"), where, "an offset")
            action = self.text(item, "action", where, required=True)
            if action and action not in RUNG_ACTIONS:
                self.problem(item.line_of("action"), f"{where}: unknown action '{action}' (actions: {', '.join(sorted(RUNG_ACTIONS))})")
            missed = self.text(item, "missed", where) or "fire"
            if missed not in MISSED_POLICIES:
                self.problem(item.line_of("missed"), f"{where}: 'missed' must be one of {', '.join(sorted(MISSED_POLICIES))}")
            params = tuple(sorted((k, v) for k, v in item.items() if k in RUNG_PARAMS))
            if "deadline" in item:
                deadline = parse_duration(item["deadline"])
                if deadline is None:
                    self.problem(item.line_of("deadline"), f"{where}: 'deadline' must read like '30 days' or '20 working days'")
                else:
                    self.days(deadline.days, item.line_of("deadline"), where, "a deadline")
            if name == EXTENSION:
                self.problem(item.line, f"{where}: '{EXTENSION}' is reserved for deciding deadline extensions "
                                        "(hazard case decide CASE extension ...)")
            rungs.append(Rung(name=name, clock=self.text(item, "clock", where, required=True), action=action,
                              offset_days=offset, working=working, missed=missed, params=params,
                              label=self.text(item, "label", where), decided_by=self.names(item, "decided_by", where),
                              line=item.line, notify=parse_rules(self, item, where, self.field_names)))
        return grace, tuple(rungs)
