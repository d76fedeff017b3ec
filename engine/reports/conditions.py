"""The rule that puts a case on a list: a small vocabulary over case attributes, read from YAML, never eval'd.

A condition is a mapping; its keys must all hold (and). `any:` / `all:` take lists of conditions, `not:`
one condition. The leaves, each over one attribute of the case as the register gives it:

    level: major                      the case's level (major | general)
    open: true                        not yet rectified (as the definition counts it) nor closed (false: rectified)
    overdue: true                     open and past its deadline
    flag: suspended                   the case carries the flag (a list: any of them)
    rung_reached: post_supervision    the ladder fired this action or a stronger one (or it was approved)
                                      (remind < notice < interview < post_supervision < expose < suspend)
    proposed: suspend                 a proposal of this action awaits a decision (a list: any of them)
    industry_in: [危险化学品, 非煤矿山]  one of these industries (vocabulary terms or their aliases)
    region_in: ["3717"]               within one of these region prefixes
    state_in: [rectifying]            in one of these states
    source_in: [whistleblower]        found by one of these sources (likewise)
    workflow_in: [major-hazard]       run by one of these workflows
    days_overdue_at_least: 30         at least this many days past the deadline

An enterprise list takes an enterprise when any of its cases matches. `{}` matches every case.
The attributes a case brings are named in CASE_ATTRIBUTES; `matches()` reads only those.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.domain import vocabularies
from engine.domain.definition import source
from engine.reports.reading import Reader

RUNG_ORDER = ("remind", "notice", "interview", "post_supervision", "expose", "suspend")
LEVELS = ("major", "general")
CASE_ATTRIBUTES = ("level", "open", "overdue", "flags", "rung_reached", "proposed", "industry", "region", "state",
                   "source", "workflow", "days_overdue")
LEAVES = frozenset({"level", "open", "overdue", "flag", "rung_reached", "proposed", "industry_in", "region_in",
                    "state_in", "source_in", "workflow_in", "days_overdue_at_least"})
COMBINERS = frozenset({"any", "all", "not"})
VOCABULARY_LEAVES = {"industry_in": vocabularies.industries, "source_in": vocabularies.sources}
MAX_DEPTH = 8


@dataclass(frozen=True)
class Condition:
    """`kind` is a leaf name or all/any/not; `value` the leaf's value, `parts` the combined conditions."""

    kind: str
    value: object = None
    parts: tuple["Condition", ...] = ()


EVERYTHING = Condition("all")


def parse(node, reader: Reader, where: str, depth: int = 0, line: int = 0) -> Condition:
    """A condition from YAML; problems go to `reader` and the result is then only a placeholder."""
    if node is None or node == {}:
        return EVERYTHING
    if not isinstance(node, source.Mapping):
        reader.problem(getattr(node, "line", line), f"{where}: a condition must be a mapping such as {{level: major}}")
        return EVERYTHING
    if depth >= MAX_DEPTH:
        reader.problem(node.line, f"{where}: conditions nest at most {MAX_DEPTH} deep")
        return EVERYTHING
    parts = []
    for key, value in node.items():
        line = node.line_of(key)
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                reader.problem(line, f"{where}: '{key}' takes a non-empty list of conditions")
                continue
            lines = getattr(value, "item_lines", [line] * len(value))
            parts.append(Condition(key, parts=tuple(parse(v, reader, where, depth + 1, at)
                                                    for v, at in zip(value, lines))))
        elif key == "not":
            parts.append(Condition("not", parts=(parse(value, reader, where, depth + 1, line),)))
        elif key in LEAVES:
            parts.append(_leaf(key, value, line, reader, where))
        else:
            reader.problem(line, f"{where}: unknown condition '{key}' (allowed: "
                                 f"{', '.join(sorted(LEAVES | COMBINERS))})")
    return parts[0] if len(parts) == 1 else Condition("all", parts=tuple(parts))


def _leaf(key: str, value, line: int, reader: Reader, where: str) -> Condition:
    holder = source.Mapping({key: value})
    holder.line, holder.key_lines = line, {key: line}
    if key == "level":
        return Condition(key, reader.choice(holder, key, where, LEVELS, "major"))
    if key in ("open", "overdue"):
        return Condition(key, reader.flag(holder, key, where, True))
    if key == "rung_reached":
        return Condition(key, reader.choice(holder, key, where, RUNG_ORDER, "notice"))
    if key == "proposed":
        actions = []
        for item in (value if isinstance(value, list) else [value]):
            probe = source.Mapping({key: item})
            probe.line, probe.key_lines = line, {key: line}
            actions.append(reader.choice(probe, key, where, RUNG_ORDER, "suspend"))
        return Condition(key, frozenset(actions))
    if key == "days_overdue_at_least":
        return Condition(key, reader.integer(holder, key, where, low=0, high=36500, default=0))
    if key == "region_in":
        items = value if isinstance(value, list) else [value]
        codes = []
        for item in items:
            probe = source.Mapping({"region": item})
            probe.line, probe.key_lines = line, {"region": line}
            code = reader.region(probe, "region", where)
            if code:
                codes.append(code)
        return Condition(key, tuple(codes))
    words = reader.texts(holder, key, where)
    if key in VOCABULARY_LEAVES:
        # the register stores each industry and source as its vocabulary term: 燃气 is stored as 城镇燃气
        vocabulary = VOCABULARY_LEAVES[key]()
        terms = []
        for word in words:
            term = vocabulary.resolve(word)
            if term is None:
                reader.problem(line, f"{where}: {key}: unknown {key[:-3]} '{word}' (one of: "
                                     f"{', '.join(vocabulary.terms)})")
            else:
                terms.append(term)
        words = tuple(terms)
    return Condition(key, frozenset(words))  # flag and the *_in leaves


def matches(condition: Condition, case: dict) -> bool:
    """Whether a case (a dict with CASE_ATTRIBUTES) meets the condition."""
    kind = condition.kind
    if kind == "all":
        return all(matches(p, case) for p in condition.parts)
    if kind == "any":
        return any(matches(p, case) for p in condition.parts)
    if kind == "not":
        return not matches(condition.parts[0], case)
    value = condition.value
    if kind == "level":
        return case.get("level") == value
    if kind in ("open", "overdue"):
        return bool(case.get(kind)) is value
    if kind == "flag":
        return bool(value & set(case.get("flags") or ()))
    if kind == "proposed":
        return bool(value & set(case.get("proposed") or ()))
    if kind == "rung_reached":
        reached = case.get("rung_reached")
        return reached in RUNG_ORDER and RUNG_ORDER.index(reached) >= RUNG_ORDER.index(value)
    if kind == "days_overdue_at_least":
        return (case.get("days_overdue") or 0) >= value
    if kind == "region_in":
        return any(str(case.get("region", "")).startswith(p) for p in value)
    attribute = kind[: -len("_in")]
    return case.get(attribute) in value


def highest_rung(actions) -> str | None:
    """The strongest of the fired rung actions, by the ladder's order (what `rung_reached` compares)."""
    ranked = [a for a in actions if a in RUNG_ORDER]
    return max(ranked, key=RUNG_ORDER.index) if ranked else None
