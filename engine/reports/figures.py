"""The arithmetic offices publish: rates rounded as they round them, the stats row, change since the last period.

Rates are percentages computed exactly in integers and rounded half up (四舍五入), as a person with a
calculator does: 18,622 of 21,521 is 86.53, 11,702 of 13,983 is 83.69 (83.7 at one decimal), 117 of 207 is
56.52. Binary floats never enter: 0.125 rounds to 0.13, not to 0.12. A zero denominator has no rate; it is
printed with the definition's zero text (`/` by default).

The stats row, for hazards found in a period and looked at as of its end:
- `found`; `rectified` (rectification complete by then: the case entered a state its workflow marks
  `rectified`, 已整改; or, where the report definition says `counts_as_rectified: accepted`, accepted by the
  department); `accepted` (a state marked `accepted`: 验收/复查 passed, 已验收); `open` = found - rectified;
- `overdue`: open and past the deadline (paused time counted as the ladder counts it);
  `not_yet_due` = open - overdue (open and within the deadline, or no deadline set yet);
- `rectified_on_time`: rectified by the deadline (a hazard fixed on the spot has no deadline: on time);
- `rate` = rectified / found (整改率), `accepted_rate` = accepted / found (验收率);
- `on_time_rate` (按期整改率) = rectified_on_time / the hazards whose rectification has fallen due, i.e.
  found - not_yet_due = rectified + overdue. Bulletins print it beside "N 项未到整改期限" because those are
  left out of it: a hazard still inside its deadline is neither on time nor late yet. A definition may
  choose `rectified` (of those rectified, how many on time) or `found` as the denominator instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ON_TIME_BASES = ("due", "rectified", "found")
# What counts as rectified (整改率's numerator): rectification complete (the states a workflow marks `rectified`,
# what offices count as 已整改) or accepted by the department (the states marked `accepted`, 已验收).
RECTIFIED_BASES = ("rectified", "accepted")
MAX_DECIMALS = 4
COUNT_FIELDS = ("found", "rectified", "accepted", "open", "overdue", "rectified_on_time", "not_yet_due")


@dataclass(frozen=True)
class Rounding:
    """How a report prints rates: `decimals` after the point (0 = whole percent), the text for no rate."""

    decimals: int = 2
    zero: str = "/"
    percent_sign: bool = True

    def __post_init__(self):
        if not 0 <= self.decimals <= MAX_DECIMALS:
            raise ValueError(f"decimals must be 0..{MAX_DECIMALS}")


DEFAULT_ROUNDING = Rounding()


def rate(numerator: int, denominator: int, decimals: int = 2) -> Decimal | None:
    """numerator / denominator as a percentage rounded half up to `decimals` places; None when nothing to divide."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be 0..{MAX_DECIMALS}")
    if numerator < 0 or denominator < 0:
        raise ValueError("counts cannot be negative")
    if denominator == 0:
        return None
    scale = 10 ** decimals
    # Half up in integers: floor((n * 100 * scale) / d + 1/2) = floor((2 * n * 100 * scale + d) / (2 * d)).
    scaled = (2 * numerator * 100 * scale + denominator) // (2 * denominator)
    return Decimal(scaled).scaleb(-decimals)


def format_rate(value: Decimal | None, rounding: Rounding = DEFAULT_ROUNDING, *, sign: bool | None = None) -> str:
    """86.53 -> '86.53%' (or '86.53' without the sign); None -> the zero text."""
    if value is None:
        return rounding.zero
    text = f"{value:.{rounding.decimals}f}"
    return text + "%" if (rounding.percent_sign if sign is None else sign) else text


def percent_text(numerator: int, denominator: int, rounding: Rounding = DEFAULT_ROUNDING, **kw) -> str:
    return format_rate(rate(numerator, denominator, rounding.decimals), rounding, **kw)


def on_time_denominator(counts: "Counts", base: str = "due") -> int:
    if base == "due":
        return counts.found - counts.not_yet_due
    if base == "rectified":
        return counts.rectified
    if base == "found":
        return counts.found
    raise ValueError(f"on-time base must be one of {', '.join(ON_TIME_BASES)}")


@dataclass(frozen=True)
class Counts:
    """Exact counts for one group; `open` and `not_yet_due` follow from the others when not given."""

    found: int = 0
    rectified: int = 0
    overdue: int = 0
    rectified_on_time: int = 0
    accepted: int = 0
    open: int | None = None
    not_yet_due: int | None = None

    def __post_init__(self):
        if self.open is None:
            object.__setattr__(self, "open", self.found - self.rectified)
        if self.not_yet_due is None:
            object.__setattr__(self, "not_yet_due", self.open - self.overdue)
        values = {name: getattr(self, name) for name in COUNT_FIELDS}
        bad = [n for n, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0]
        if bad:
            raise ValueError(f"counts must be whole numbers >= 0: {', '.join(bad)}")
        if self.open != self.found - self.rectified or self.not_yet_due != self.open - self.overdue \
                or self.rectified_on_time > self.rectified or self.accepted > self.found:
            raise ValueError(f"inconsistent counts: {values} (open = found - rectified, not_yet_due = open - overdue, "
                             "rectified_on_time <= rectified, accepted <= found)")

    @classmethod
    def of(cls, mapping) -> "Counts":
        return cls(**{k: int(mapping[k]) for k in COUNT_FIELDS if mapping.get(k) is not None})

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{k: getattr(self, k) + getattr(other, k) for k in COUNT_FIELDS})


@dataclass(frozen=True)
class StatsRow:
    """One group's figures: the key it was grouped by, its exact counts and its rounded rates."""

    group: dict
    counts: Counts
    rate: Decimal | None
    on_time_rate: Decimal | None
    texts: dict = field(default_factory=dict)
    accepted_rate: Decimal | None = None

    def as_dict(self) -> dict:
        """JSON-ready: the group keys, exact counts, rates as numbers (or null) and as printed."""
        doc = dict(self.group)
        doc.update({k: getattr(self.counts, k) for k in COUNT_FIELDS})
        for key in ("rate", "on_time_rate", "accepted_rate"):
            value = getattr(self, key)
            doc[key] = float(value) if value is not None else None
        for key in ("rate", "on_time_rate", "accepted_rate"):
            doc[f"{key}_text"] = self.texts[key]
        return doc


def stats_row(group: dict, counts: Counts, rounding: Rounding = DEFAULT_ROUNDING, on_time_base: str = "due") -> StatsRow:
    r = rate(counts.rectified, counts.found, rounding.decimals)
    o = rate(counts.rectified_on_time, on_time_denominator(counts, on_time_base), rounding.decimals)
    a = rate(counts.accepted, counts.found, rounding.decimals)
    texts = {"rate": format_rate(r, rounding), "on_time_rate": format_rate(o, rounding),
             "accepted_rate": format_rate(a, rounding)}
    return StatsRow(dict(group), counts, r, o, texts, a)


def total(rows: list[StatsRow], rounding: Rounding = DEFAULT_ROUNDING, on_time_base: str = "due",
          group: dict | None = None) -> StatsRow:
    """The total row: counts added up, rates computed from the sums (never averaged from the groups' rates)."""
    counts = sum((r.counts for r in rows), Counts())
    return stats_row(group or {"group": "合计"}, counts, rounding, on_time_base)


def regroup(by_code: dict[str, Counts], level: str, *, within: str | None = None) -> dict[str, Counts]:
    """Counts keyed by region code (as GROUP BY gave them, e.g. per county) rolled up to `level`; with `within`,
    every division at that level under it is present, with zero counts where nothing was found."""
    from engine.domain import regions
    out: dict[str, Counts] = {code: Counts() for code in regions.units(within, level)} if within else {}
    for code, counts in by_code.items():
        key = regions.roll_up(code, level)
        out[key] = out.get(key, Counts()) + counts
    return dict(sorted(out.items()))


# -- change since the previous period -------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """A count now and in the previous period: the difference and the relative change (rounded percent)."""

    current: int
    previous: int | None
    delta: int | None
    relative: Decimal | None  # percent of the previous value; None without a previous value or from zero


def change(current: int, previous: int | None, decimals: int = 2) -> Change:
    if previous is None:
        return Change(current, None, None, None)
    delta = current - previous
    if previous == 0:
        return Change(current, previous, delta, None)
    magnitude = rate(abs(delta), previous, decimals)
    return Change(current, previous, delta, magnitude if delta >= 0 else -magnitude)


def rate_change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """The change of a rate in percentage points (个百分点); None when either is missing."""
    if current is None or previous is None:
        return None
    return current - previous


def change_text(c: Change, unit: str = "", rounding: Rounding = DEFAULT_ROUNDING) -> str:
    """'较上期增加 120 项（+0.56%）', '较上期减少 3 项', '与上期持平'; '' without a previous period."""
    if c.delta is None:
        return ""
    if c.delta == 0:
        return "与上期持平"
    word = "增加" if c.delta > 0 else "减少"
    relative = "" if c.relative is None else f"（{'+' if c.relative > 0 else ''}{format_rate(c.relative, rounding, sign=True)}）"
    return f"较上期{word} {abs(c.delta)}{' ' + unit if unit else ''}{relative}"


def points_text(points: Decimal | None, rounding: Rounding = DEFAULT_ROUNDING) -> str:
    """'上升 2.31 个百分点', '下降 0.50 个百分点', '持平'; '' when a rate is missing."""
    if points is None:
        return ""
    if points == 0:
        return "持平"
    return f"{'上升' if points > 0 else '下降'} {abs(points):.{rounding.decimals}f} 个百分点"
