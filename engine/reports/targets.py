"""Whether a campaign's targets are met, per stage, and by whom not: pure arithmetic over figures passed in.

The caller (the store side) computes, for each target, one value per unit the target names (`per`: the
region codes of every county or city in scope, including those with no cases, or the one key "total"),
at the day `figures_day(target, as_of)` says:
- `rate`, `on_time_rate`, `major_rate`: a pair (numerator, denominator), e.g. (rectified, found);
- `dynamic_zero`, `stock_cleared`: the open cases that break it (a list of case ids) or just their count;
- `reporting`: the set of period starts (`reporting_periods`) in which the unit reported anything.

Status of a target on day `as_of`: before its stage starts `not_started`; before `by` `on_track` (met so far)
or `behind`; from `by` on `met` or `missed`. A rate is compared as printed (rounded by the report's
rounding), so a bulletin never says 90.00% missed a 90% target. A unit with nothing found has no rate: it is
listed as `no_data`, neither met nor failing (the reporting target is what catches a silent unit). A rate
target none of whose units has a rate (nothing found anywhere) is `no_data` itself once started: there is
nothing to show it met, so it counts as not met.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from engine.domain import regions
from engine.reports.campaign import THRESHOLD_KINDS, Campaign, Target
from engine.reports.figures import DEFAULT_ROUNDING, Rounding, format_rate, rate

STATUS_LABELS = {"met": "已达标", "missed": "未达标", "on_track": "进行中（目前达标）", "behind": "进行中（尚未达标）",
                 "not_started": "未开始", "no_data": "无数据（未达标）"}
NOT_MET = ("missed", "behind", "no_data")
STAGE_LABELS = {"upcoming": "未开始", "running": "进行中", "finished": "已结束"}


@dataclass(frozen=True)
class TargetResult:
    target: Target
    status: str
    figures_day: date
    values: dict            # unit -> the value as printed (86.53%, 2 件, 缺报 1 周)
    failing: tuple[str, ...]
    no_data: tuple[str, ...] = ()
    detail: dict | None = None   # unit -> the case ids or silent periods behind a failure

    def as_dict(self, scope_region: str = "") -> dict:
        def unit_name(u):
            return f"{regions.label(scope_region)}（合计）" if u == "total" and scope_region else \
                "合计" if u == "total" else regions.label(u)
        return {"target": self.target.name, "title": self.target.title, "kind": self.target.kind,
                "by": self.target.by, "stage": self.target.stage, "per": self.target.per,
                "at_least": float(self.target.at_least) if self.target.at_least is not None else None,
                "status": self.status, "status_label": STATUS_LABELS[self.status], "figures_day": self.figures_day,
                "values": {u: {"name": unit_name(u), "value": v} for u, v in self.values.items()},
                "failing": [{"unit": u, "name": unit_name(u), "value": self.values.get(u),
                             "detail": (self.detail or {}).get(u)} for u in self.failing],
                "no_data": [{"unit": u, "name": unit_name(u)} for u in self.no_data]}


def target_start(campaign: Campaign, target: Target) -> date:
    stage = campaign.stage(target.stage)
    return target.start or (stage.start if stage else campaign.scope.start)


def figures_day(target: Target, as_of: date) -> date:
    """The day whose end the figures are taken at: `by` once it has passed (a standing rule: `as_of`)."""
    return as_of if target.kind == "dynamic_zero" else min(as_of, target.by)


def reporting_periods(campaign: Campaign, target: Target, as_of: date) -> list[tuple[date, date]]:
    """The (first, last) days of each week (Monday-Sunday) or month a unit had to report in and that are over
    by `as_of`; the first and the last are cut to the target's dates."""
    start, end = target_start(campaign, target), min(as_of, target.by)
    periods, first = [], start
    while first <= target.by:
        if target.every == "week":
            last = first + timedelta(days=6 - first.weekday())
        else:
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        last = min(last, target.by)
        if last > end:  # not over yet: as_of means the end of that day
            break
        periods.append((first, last))
        first = last + timedelta(days=1)
    return periods


def evaluate(campaign: Campaign, target: Target, per_unit: dict, *, as_of: date,
             rounding: Rounding = DEFAULT_ROUNDING) -> TargetResult:
    values, failing, no_data, detail = {}, [], [], {}
    for unit in sorted(per_unit):
        value = per_unit[unit]
        if target.kind in THRESHOLD_KINDS:
            numerator, denominator = value
            shown = rate(numerator, denominator, rounding.decimals)
            values[unit] = format_rate(shown, rounding, sign=True)
            if shown is None:
                no_data.append(unit)
            elif shown < target.at_least:
                failing.append(unit)
        elif target.kind == "reporting":
            due = reporting_periods(campaign, target, as_of)
            silent = [p for p in due if p[0] not in set(value)]
            word = "周" if target.every == "week" else "个月"
            values[unit] = f"缺报 {len(silent)} {word}" if silent else "按时报送"
            if silent:
                failing.append(unit)
                detail[unit] = [f"{a.isoformat()}..{b.isoformat()}" for a, b in silent]
        else:
            cases = list(value) if not isinstance(value, int) else None
            count = len(cases) if cases is not None else value
            values[unit] = f"{count} 件"
            if count:
                failing.append(unit)
                if cases:
                    detail[unit] = cases
    nothing = target.kind in THRESHOLD_KINDS and not failing and len(no_data) == len(values)
    return TargetResult(target, _status(campaign, target, as_of, bool(failing), nothing), figures_day(target, as_of),
                        values, tuple(failing), tuple(no_data), detail or None)


def _status(campaign: Campaign, target: Target, as_of: date, failing: bool, nothing: bool = False) -> str:
    if as_of < target_start(campaign, target):
        return "not_started"
    if nothing:  # no unit has a rate: nothing shows the target met
        return "no_data"
    if as_of < target.by:
        return "behind" if failing else "on_track"
    return "missed" if failing else "met"


def stage_status(start: date, end: date, as_of: date) -> str:
    return "upcoming" if as_of < start else "finished" if as_of > end else "running"


def campaign_status(campaign: Campaign, results: dict[str, TargetResult], *, as_of: date) -> dict:
    """The campaign on `as_of`: each stage with its status and its targets' results (JSON-ready)."""
    stages = []
    for stage in campaign.stages:
        targets = [results[t.name].as_dict(campaign.scope.region) for t in campaign.targets
                   if t.stage == stage.name and t.name in results]
        stages.append({"stage": stage.name, "title": stage.title, "from": stage.start, "to": stage.end,
                       "status": stage_status(stage.start, stage.end, as_of),
                       "status_label": STAGE_LABELS[stage_status(stage.start, stage.end, as_of)], "targets": targets})
    counted = [r for r in results.values() if r.status != "not_started"]
    return {"campaign": campaign.name, "title": campaign.title, "document": campaign.document, "as_of": as_of,
            "region": campaign.scope.region, "region_name": regions.full_name(campaign.scope.region)
            if campaign.scope.region else "", "from": campaign.scope.start, "to": campaign.scope.end,
            "stages": stages, "met": sum(r.status in ("met", "on_track") for r in counted),
            "not_met": sum(r.status in NOT_MET for r in counted)}
