"""Which hazards a report counts (`CaseScope`) and how one case counts at a moment: the rules the SQL also follows.

`engine/store/reports.py` writes these rules as one GROUP BY over the register; `tally()` applies them to
cases folded from the events (`--as-of`), so both give the same figures for the same cases (a test holds
them together). A hazard found in the period, looked at as of the moment `at`, with what counts as rectified
(`basis`, the report definition's `counts_as_rectified`): `rectified`, rectification complete, the time the
case entered a state its workflow marks `rectified` (`Case.rectified_at`: 已整改, a submission awaiting
acceptance included); `accepted`, the time it entered a state marked `accepted` (`Case.accepted_at`: 验收/复查
passed):
- rectified: it entered such a state at or before `at` (`done_at(case, basis) <= at`);
- accepted: it entered an accepted state at or before `at`, whatever the basis (a further column);
- overdue: not rectified, its deadline's obligation not met and not final by `at`, and its `due_at` (the
  deadline moved later by the time its clock spent paused) passed by `at`, or by the moment its clock paused
  when it was paused by then: `Case.overdue`, read at a moment that may lie before the case's later events;
- rectified on time: rectified, and met (or rectified) by `due_at`; no deadline at all counts as on time
  (a hazard fixed on the spot). A rectification submitted after the deadline is rectified late, whenever the
  department accepts it.
At a moment after the case's last event these are exactly `Case.overdue(at)` and the register's
`overdue_at(at)` (on the `rectified` basis).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable

from engine.domain.case import Case
from engine.domain.reach import Reach
from engine.reports.figures import RECTIFIED_BASES, Counts

# What a report may group by, and the register column each one reads (regions roll up from the county code).
REGION_FIELDS = {"province": "province", "city": "city", "county": "county"}
GROUP_FIELDS = ("region", "province", "city", "county", "industry", "source", "level", "department", "enterprise",
                "state", "grade")
COLUMN_OF = {"region": "region", "province": "region", "city": "region", "county": "region", "industry": "industry",
             "source": "source", "level": "level", "department": "department", "enterprise": "enterprise",
             "state": "state", "grade": "grade"}
# Groups read from a case's fields, not from a column of its own: the grade a ledger gave (1级, 较大隐患).
FIELD_GROUPS = frozenset({"grade"})


@dataclass(frozen=True)
class CaseScope:
    """The hazards counted: what a case keeps from its report on (region, level, industry, when found), and a tag.

    `found_from` is inclusive and `found_to` exclusive (instants); `region` a code prefix. `reach` is the reader's
    (engine.domain.reach; None: every case): the store applies it to each case as it stands today, so a replayed
    report counts the reader's cases only, wherever a correction moved them from.
    """

    region: str | None = None
    levels: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    found_from: datetime | None = None
    found_to: datetime | None = None
    tag: str | None = None
    reach: Reach | None = None

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
    if column == "department" or column in FIELD_GROUPS:
        return case.fields.get(column)
    return getattr(case, column)


def done_at(case: Case, basis: str = "rectified") -> datetime | None:
    """When the case came to count as rectified on `basis` (see the module docstring); None: not (yet)."""
    if basis == "rectified":
        return case.rectified_at
    if basis == "accepted":
        return case.accepted_at
    raise ValueError(f"what counts as rectified must be one of {', '.join(RECTIFIED_BASES)}")


def rectified_by(case: Case, at: datetime, basis: str = "rectified") -> bool:
    done = done_at(case, basis)
    return done is not None and done <= at


def accepted_by(case: Case, at: datetime) -> bool:
    return case.accepted_at is not None and case.accepted_at <= at


def overdue_at(case: Case, at: datetime, basis: str = "rectified") -> bool:
    if rectified_by(case, at, basis) or case.due_at is None or case.due_at > at:
        return False
    if case.met_at is not None and case.met_at <= at:
        return False
    if case.closed_at is not None and case.closed_at <= at:
        return False
    return case.paused_at is None or case.paused_at > at or case.due_at <= case.paused_at


def on_time(case: Case, at: datetime, basis: str = "rectified") -> bool:
    if not rectified_by(case, at, basis):
        return False
    return case.due_at is None or (case.judged_at or case.met_at or done_at(case, basis)) <= case.due_at


def tally(cases: Iterable[Case], *, columns: tuple[str, ...], at: datetime,
          basis: str = "rectified") -> dict[tuple, Counts]:
    """Counts per combination of the register `columns` (as the GROUP BY gives them), for cases already in scope."""
    raw: dict[tuple, list[int]] = {}
    for case in cases:
        key = tuple(column_value(case, c) for c in columns)
        row = raw.setdefault(key, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += rectified_by(case, at, basis)
        row[2] += overdue_at(case, at, basis)
        row[3] += on_time(case, at, basis)
        row[4] += accepted_by(case, at)
    return {k: Counts(found=v[0], rectified=v[1], overdue=v[2], rectified_on_time=v[3], accepted=v[4])
            for k, v in raw.items()}
