"""Rankings (考核排序) from the register (*app*): each group's indicators, then the weights file's arithmetic.

Indicators per group, for hazards found in the period and looked at as of its end: `rate`, `on_time_rate`,
`found`, `rectified`, `open`, `overdue_count`; of the major ones `major_rate` (rectified / found) and
`major_on_time_share` (rectified on time / found); `notices`, `interviews`, `postings`: the rungs of those
actions fired in the period on the group's hazards. Rates enter as printed (rounded by the report's rounding).
The rung counts take every hazard of the group, whenever found. A group with nothing found has no rates (the file's `missing` rule decides); `enterprises_inspected`,
`case_filing_rate` and `online_rate` are not in the register, so they are always missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from engine.domain import regions, vocabularies
from engine.domain.clock import UTC, start_of_day
from engine.reports import figures, ranking as rankings
from engine.reports.asked import found_scope, grouped, region_level
from engine.reports.app_figures import Figures
from engine.reports.definition import ReportDefinition, default
from engine.reports.figures import Counts
from engine.reports.tally import COLUMN_OF, CaseScope

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ACTION_INDICATORS = {"notice": "notices", "interview": "interviews", "post_supervision": "postings"}
NO_GROUP = "（未填写）"
GROUP_HEADINGS = {"region": "地区", "department": "部门", "industry": "行业领域"}


@dataclass(frozen=True)
class RankingReport:
    spec: rankings.RankingSpec
    by: str
    rows: list[rankings.Ranked]
    values: dict[str, dict]
    region: str | None
    start: date | None
    end: date | None
    at: datetime
    definition: ReportDefinition | None = None

    def label(self, group: str) -> str:
        if self.by == "region":
            return regions.label(group)
        if self.by == "industry":
            return vocabularies.industries().label(group)
        return group

    def as_dict(self) -> dict:
        unscored = set(self.section()["unscored"])
        return {"ranking": self.spec.name, "title": self.spec.title, "by": self.by, "region": self.region,
                "from": self.start, "to": self.end, "at": self.at,
                "indicators": [{"indicator": i.name, "weight": float(i.weight), "better": i.better,
                                "label": i.shown, "value_label": self._heading(i), "score_label": i.score_heading(),
                                "scored": i.name not in unscored} for i in self.spec.indicators],
                "rows": [{**row.as_dict(), "name": self.label(row.group),
                          "values": {k: rankings.plain(v) for k, v in self.values[row.group].items()}}
                         for row in self.rows]}

    @property
    def rounding(self):
        return (self.definition or default()).rounding

    def _heading(self, indicator: rankings.Indicator) -> str:
        d = self.definition or default()
        return indicator.value_heading(hazard_unit=d.bulletin.general_unit, percent_sign=d.rounding.percent_sign)

    def section(self) -> dict:
        """The ranking as a bulletin document's `ranking` entry carries it (engine/reports/ranking.py)."""
        d = self.definition or default()
        return rankings.section(self.spec, self.rows, names={row.group: self.label(row.group) for row in self.rows},
                                hazard_unit=d.bulletin.general_unit, percent_sign=d.rounding.percent_sign)

    def table(self):
        """Place, group, total score, and each indicator's value and score in columns of their own."""
        return rankings.table(self.section(), group_heading=GROUP_HEADINGS.get(self.by, self.by))

    def note(self) -> str:
        return rankings.note(self.section())


def indicator_values(counts: Counts, major: Counts, actions: dict[str, int], rounding, on_time_base: str) -> dict:
    rate = lambda n, d: figures.rate(n, d, rounding.decimals)  # noqa: E731
    values = {"found": counts.found, "rectified": counts.rectified, "open": counts.open,
              "overdue_count": counts.overdue if counts.found else None,
              "rate": rate(counts.rectified, counts.found),
              "on_time_rate": rate(counts.rectified_on_time, figures.on_time_denominator(counts, on_time_base)),
              "major_rate": rate(major.rectified, major.found),
              "major_on_time_share": rate(major.rectified_on_time, major.found),
              "enterprises_inspected": None, "case_filing_rate": None, "online_rate": None}
    values.update({name: actions.get(action, 0) for action, name in ACTION_INDICATORS.items()})
    return values


def group_values(engine, *, by: str, scope: CaseScope, within: str | None, at: datetime, start: datetime | None,
                 definition: ReportDefinition, replayed: bool = False) -> dict[str, dict]:
    """group -> {indicator: value} for every group (every division under `within` when grouping by region)."""
    from engine.store import reports as report_store

    column = COLUMN_OF[by]
    source = Figures(engine, at=at, replayed=replayed, basis=definition.counts_as_rectified)
    raw = source.counts(scope, (column, "level"))
    totals = grouped(raw, (column, "level"), (by,), within)
    majors = grouped({k: v for k, v in raw.items() if k[1] == "major"}, (column, "level"), (by,), within)
    with engine.store.read() as conn:
        # rungs fired in the period on the group's hazards, whenever those were found
        fired = report_store.escalation_counts(conn, scope.narrowed(found_from=None, found_to=None), column=column,
                                               start=start or EPOCH, end=at)
    actions: dict[str, dict[str, int]] = {}
    for (value, action), n in fired.items():
        key = regions.roll_up(value, region_level(within)) if by == "region" else value
        actions.setdefault(_name(key), {})
        actions[_name(key)][action] = actions[_name(key)].get(action, 0) + n
    r, base = definition.rounding, definition.on_time_base
    return {_name(key[0]): indicator_values(counts, majors.get(key, Counts()), actions.get(_name(key[0]), {}), r, base)
            for key, counts in totals.items()}


def _name(value) -> str:
    return NO_GROUP if value is None else str(value)


def rank_groups(engine, spec: rankings.RankingSpec, *, by: str, start: date | None, end: date | None,
                region: str | None, at: datetime, definition: ReportDefinition,
                replayed: bool = False, reach=None) -> RankingReport:
    scope = found_scope(CaseScope(region=region, reach=reach), start, end)
    values = group_values(engine, by=by, scope=scope, within=region, at=at,
                          start=start_of_day(start) if start else None, definition=definition, replayed=replayed)
    return RankingReport(spec, by, rankings.rank(spec, values), values, region, start, end, at, definition)
