"""The small, safe vocabulary definitions may use: field types and guard predicates, as named functions.

Nothing here evaluates text from YAML as code: a guard is a kind plus operands, and each kind is one
function below. A guard returns None when it holds, or a sentence saying what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain import limits, values
from engine.domain.definition.model import FieldSpec, Guard
from engine.domain.errors import InvalidInput

# Text fields may hold paragraphs; a person is named on one line.
_TEXT_LIMITS = {"text": (limits.MAX_TEXT_CHARS, True), "person": (limits.MAX_NAME_CHARS, False)}


def coerce(spec: FieldSpec, raw: object) -> str:
    """A field value as given on the command line, checked and normalised to the text the event stores."""
    text = str(raw).strip()
    if not text:
        raise InvalidInput(f"field '{spec.name}' is empty", field=spec.name)
    max_chars, multiline = _TEXT_LIMITS.get(spec.type, (limits.MAX_CODE_CHARS, False))
    limits.check_text(text, field=spec.name, label=f"field '{spec.name}'", max_chars=max_chars, multiline=multiline)
    if spec.type in ("text", "person"):
        return text
    if spec.type == "enum":
        if text not in spec.values:
            raise InvalidInput(f"field '{spec.name}': {limits.shown(text)} is not one of {', '.join(spec.values)}",
                               field=spec.name)
        return text
    if spec.type == "money":
        return _read(values.parse_money, text, spec.name)
    if spec.type == "date":
        return normalise_date(text, spec.name)
    raise InvalidInput(f"field '{spec.name}' has unknown type '{spec.type}'", field=spec.name)


def normalise_date(text: str, name: str) -> str:
    """A day or a moment as offices write it (2026-07-30, 2026/7/30, 2026年7月30日, 2026-07-30T09:00; the
    ledger import's reader, engine.domain.values) as the engine stores it: `2026-07-30`, a day missed at its end, or
    an aware Shanghai time in ISO form."""
    return _read(lambda raw: values.date_text(values.read_date(raw)), text, name)


def _read(reader, text: str, name: str) -> str:
    """`reader`'s value of `text`; its refusal named as the field's (`field 'funds': ...`)."""
    try:
        value = reader(text)
    except InvalidInput as exc:
        raise InvalidInput(f"field '{name}': {exc.message}", field=name) from None
    if value is None:  # a placeholder a ledger writes for nothing (`/`, `无`)
        raise InvalidInput(f"field '{name}' is empty", field=name)
    return value


@dataclass(frozen=True)
class GuardContext:
    """What guards may look at: the case's fields after this command, who acts, and the case's history."""

    fields: dict
    actor: str
    actor_regions: tuple[str, ...]
    case_region: str
    last_actor_of: dict  # trigger -> actor of the most recent event with that trigger
    open_linked: frozenset[str]  # workflows of linked cases not yet in a final state
    flags: frozenset[str]
    now: datetime | None = None  # the engine's time of the command


def check_guard(guard: Guard, ctx: GuardContext) -> str | None:
    return _GUARDS[guard.kind](guard, ctx)


def _present(g: Guard, ctx: GuardContext) -> str | None:
    return None if ctx.fields.get(g.field) not in (None, "") else f"field '{g.field}' must be set"


def _equals(g: Guard, ctx: GuardContext) -> str | None:
    actual = ctx.fields.get(g.field)
    return None if str(actual) == str(g.value) else f"field '{g.field}' must be '{g.value}' (it is {actual!r})"


def _one_of(g: Guard, ctx: GuardContext) -> str | None:
    actual = ctx.fields.get(g.field)
    allowed = [str(v) for v in g.values]
    return None if str(actual) in allowed else f"field '{g.field}' must be one of {', '.join(allowed)} (it is {actual!r})"


def _actor_differs_from(g: Guard, ctx: GuardContext) -> str | None:
    for trigger in g.triggers:
        if ctx.last_actor_of.get(trigger) == ctx.actor:
            return f"'{ctx.actor}' fired '{trigger}' on this case and may not also sign this step (separation of duties)"
    return None


def _in_region(g: Guard, ctx: GuardContext) -> str | None:
    if in_regions(ctx.case_region, ctx.actor_regions):
        return None
    return f"case region {ctx.case_region} is outside {ctx.actor}'s region {', '.join(ctx.actor_regions) or '(none)'}"


def _no_open_linked(g: Guard, ctx: GuardContext) -> str | None:
    return None if g.workflow not in ctx.open_linked else f"a linked '{g.workflow}' case is still open"


def _not_flagged(g: Guard, ctx: GuardContext) -> str | None:
    return None if g.flag not in ctx.flags else f"the case is flagged '{g.flag}'"


def _after_now(g: Guard, ctx: GuardContext) -> str | None:
    """A date or time field that is not already past at the engine's time (a date counts to its end)."""
    from engine.domain.clock import deadline_instant, iso

    value = ctx.fields.get(g.field)
    if value in (None, "") or ctx.now is None:
        return None
    if deadline_instant(str(value)) > ctx.now:
        return None
    return f"field '{g.field}' ({value}) is already past at the engine's time {iso(ctx.now)[:16]}"


def in_regions(region: str, prefixes: tuple[str, ...]) -> bool:
    """A region code prefix covers the divisions below it: '37' a province, '3717' a city, '371721' a county."""
    return any(region.startswith(p) for p in prefixes)


_GUARDS = {
    "present": _present,
    "equals": _equals,
    "one_of": _one_of,
    "actor_differs_from": _actor_differs_from,
    "in_region": _in_region,
    "no_open_linked": _no_open_linked,
    "not_flagged": _not_flagged,
    "after_now": _after_now,
}
