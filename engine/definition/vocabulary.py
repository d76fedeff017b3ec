"""The small, safe vocabulary definitions may use: field types and guard predicates, as named functions.

Nothing here evaluates text from YAML as code: a guard is a kind plus operands, and each kind is one
function below. A guard returns None when it holds, or a sentence saying what is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from engine import limits
from engine.clock import parse_time
from engine.definition.model import FieldSpec, Guard
from engine.errors import InvalidInput

_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
# Plain digits, or commas between groups of three (1,200.50): `1,2,3` is a typo, not 123. How large and how
# fine an amount may be is limits.check_money's to say, with its own message.
_MONEY = re.compile(r"^\s*((?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?)\s*(万元|万|元)?\s*$")
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
        match = _MONEY.match(text)
        try:
            amount = Decimal(match.group(1).replace(",", "")) if match else None
        except InvalidOperation:
            amount = None
        if amount is None:
            raise InvalidInput(f"field '{spec.name}': {limits.shown(text)} is not an amount of money "
                               "(e.g. 150000, 15万, 1,200.50元; commas only between groups of three digits)", field=spec.name)
        if match.group(2) in ("万", "万元"):
            amount *= 10000
        return f"{limits.check_money(amount, field=spec.name, text=text).quantize(Decimal('0.01'))}"
    if spec.type == "date":
        return normalise_date(text, spec.name)
    raise InvalidInput(f"field '{spec.name}' has unknown type '{spec.type}'", field=spec.name)


def normalise_date(text: str, name: str) -> str:
    """`YYYY-MM-DD` stays a date; an ISO 8601 time becomes an aware Shanghai time in ISO form."""
    try:
        day_only = bool(_DATE_ONLY.match(text))  # 2026-04-30 or 20260430: a day, missed at its end
        value = date.fromisoformat(text) if day_only else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"field '{name}': {limits.shown(text)} is not a date (YYYY-MM-DD) or ISO 8601 time",
                           field=name) from None
    limits.check_year(value, field=name, label=f"field '{name}'", text=text)
    return value.isoformat() if day_only else parse_time(text).isoformat()


def as_date_or_time(value: str) -> date | datetime:
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


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
    from engine.clock import deadline_instant, iso

    value = ctx.fields.get(g.field)
    if value in (None, "") or ctx.now is None:
        return None
    if deadline_instant(str(value)) > ctx.now:
        return None
    return (f"field '{g.field}' ({value}) is already past at the engine's time {iso(ctx.now)[:16]}; "
            "back-filling an older record sets the engine's time to its own date")


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
