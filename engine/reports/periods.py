"""Report periods as offices name them: the week (Monday to Sunday), month or quarter holding a day, and the one before.

    period_of("month", date(2018, 10, 17))  -> Period("month", 2018-10-01, 2018-10-31, "2018年10月")
    period_of("week", date(2018, 10, 31))   -> 2018-10-29 .. 2018-11-04, "2018年第44周（10月29日至11月4日）"
    period_of("quarter", date(2018, 10, 1)) -> 2018-10-01 .. 2018-12-31, "2018年第四季度"
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("week", "month", "quarter")
QUARTERS = ("一", "二", "三", "四")


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date       # the last day, inclusive
    label: str

    def as_dict(self) -> dict:
        """The bulletin document's shape: {"kind", "from", "to", "label"}."""
        return {"kind": self.kind, "from": self.start, "to": self.end, "label": self.label}


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def period_of(kind: str, day: date) -> Period:
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
        year, week, _ = start.isocalendar()
        return Period(kind, start, end, f"{year}年第{week}周（{start.month}月{start.day}日至{end.month}月{end.day}日）")
    if kind == "month":
        start = day.replace(day=1)
        return Period(kind, start, _month_end(start), f"{day.year}年{day.month}月")
    if kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        end = _month_end(date(day.year, first_month + 2, 1))
        return Period(kind, start, end, f"{day.year}年第{QUARTERS[(first_month - 1) // 3]}季度")
    raise ValueError(f"period must be one of {', '.join(KINDS)}")


def previous(period: Period) -> Period:
    return period_of(period.kind, period.start - timedelta(days=1))
