"""Which hazards a report counts (`CaseScope`) and how one case counts at a moment: the rules the SQL also follows.

`engine/store/reports.py` writes these rules as one GROUP BY over the register; `tally()` applies them to
cases folded from the events (`--as-of`), so both give the same figures for the same cases (a test holds
them together). A hazard found in the period, looked at as of the moment `at`:
- rectified: it entered a rectified state (verified, written off) at or before `at`;
- overdue: not rectified, its deadline's obligation not met and not final by `at`, and its `due_at` (the
  deadline moved later by the time its clock spent paused) passed by `at`, or by the moment its clock paused
  when it was paused by then: `Case.overdue`, read at a moment that may lie before the case's later events;
- rectified on time: rectified, and met (or rectified) by `due_at`; no deadline at all counts as on time
  (a hazard fixed on the spot).
At a moment after the case's last event these are exactly `Case.overdue(at)` and the register's
`overdue_at(at)`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable

from engine.case import Case
from engine.reports.figures import Counts

# What a report may group by, and the register column each one reads (regions roll up from the county code).
REGION_FIELDS = {"province": "province", "city": "city", "county": "county"}
GROUP_FIELDS = ("region", "province", "city", "county", "industry", "source", "level", "department", "enterprise",
                "state")
COLUMN_OF = {"region": "region", "province": "region", "city": "region", "county": "region", "industry": "industry",
             "source": "source", "level": "level", "department": "department", "enterprise": "enterprise",
             "state": "state"}


@dataclass(frozen=True)
class CaseScope:
    """The hazards counted: what a case keeps from its report on (region, level, industry, when found), and a tag.

    `found_from` is inclusive and `found_to` exclusive (instants); `region` a code prefix.
    """

    region: str | None = None
    levels: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    found_from: datetime | None = None
    found_to: datetime | None = None
    tag: str | None = None

    def narrowed(self, **changes) -> "CaseScope":
        return replace(self, **changes)

    def matches(self, case: Case) -> bool:
        if case.parent_id is not None or case.voided_at is not None:
            return False  # interviews and posted supervisions are not hazards; a voided case is counted nowhere
        if self.region and not case.region.startswith(self.region):
            return False
        if self.levels and case.level not in self.levels:
            return False
        if self.industries and case.industry not in self.industries:
            return False
        if self.found_from is not None and (case.found_at is None or case.found_at < self.found_from):
            return False
        if self.found_to is not None and (case.found_at is None or case.found_at >= self.found_to):
            return False
        return not self.tag or case.fields.get("tag") == self.tag


def column_value(case: Case, column: str):
    return case.fields.get("department") if column == "department" else getattr(case, column)


def rectified_by(case: Case, at: datetime) -> bool:
    return case.rectified_at is not None and case.rectified_at <= at


def overdue_at(case: Case, at: datetime) -> bool:
    if rectified_by(case, at) or case.due_at is None or case.due_at > at:
        return False
    if case.met_at is not None and case.met_at <= at:
        return False
    if case.closed_at is not None and case.closed_at <= at:
        return False
    return case.paused_at is None or case.paused_at > at or case.due_at <= case.paused_at


def on_time(case: Case, at: datetime) -> bool:
    if not rectified_by(case, at):
        return False
    return case.due_at is None or (case.met_at or case.rectified_at) <= case.due_at


def tally(cases: Iterable[Case], *, columns: tuple[str, ...], at: datetime) -> dict[tuple, Counts]:
    """Counts per combination of the register `columns` (as the GROUP BY gives them), for cases already in scope."""
    raw: dict[tuple, list[int]] = {}
    for case in cases:
        key = tuple(column_value(case, c) for c in columns)
        row = raw.setdefault(key, [0, 0, 0, 0])
        row[0] += 1
        row[1] += rectified_by(case, at)
        row[2] += overdue_at(case, at)
        row[3] += on_time(case, at)
    return {k: Counts(found=v[0], rectified=v[1], overdue=v[2], rectified_on_time=v[3]) for k, v in raw.items()}
