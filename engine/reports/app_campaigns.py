"""Campaigns (专项整治) over the register (*app*): install a definition, list them, and each target met or not.

A target's figures are taken at the end of its `figures_day` (its `by` date once passed; for a standing rule
such as 动态清零 the day asked), never later than the moment asked. Without `as_of` they come from today's
register (SQL); with `as_of` from the events as they stood then (engine/reports/app_figures.py). The cases
in scope are the campaign's: its region, industries, levels, tag, found in its period.
"""
from __future__ import annotations

from datetime import datetime

from engine.domain import regions
from engine.domain.clock import end_of_day, local_date, start_of_day
from engine.reports import campaign as campaigns, targets
from engine.reports.asked import moment_of
from engine.reports.app_figures import Figures
from engine.reports.campaign import Campaign, Target
from engine.reports.definition import ReportDefinition, default
from engine.reports.figures import Counts, on_time_denominator
from engine.reports.tally import CaseScope


def campaign_scope(campaign: Campaign, reach=None) -> CaseScope:
    """The campaign's cases (those of the reader's `reach` among them, when one is given)."""
    s = campaign.scope
    return CaseScope(region=s.region, levels=s.levels, industries=s.industries, tag=s.tag or None,
                     found_from=start_of_day(s.start), found_to=end_of_day(s.end), reach=reach)


class Campaigns:
    def __init__(self, engine, reports):
        self._engine = engine
        self._reports = reports

    def install(self, text: str, filename: str, *, actor: str | None = None, now=None) -> tuple[str, int, bool]:
        """Check and store a campaign file; a changed text is the next version, the same text a no-op.

        As installing a workflow definition: once the register has users it needs an `actor` with the committee
        role (PermissionDenied, exit 4), and `now` may not lie in the future (Refused, rule `future`, exit 3)."""
        from engine.domain.machine import pick_role
        from engine.store import campaign_records
        from engine.store import users as user_store

        parsed = campaigns.parse_text(text, filename)
        moment = moment_of(now) or self._engine.clock.now()
        self._engine.store.create_schema()  # a database made before campaigns existed gets their table
        with self._engine.unit() as unit:
            unit.check_effective(moment, "installing a campaign")
            if not user_store.roster_is_empty(unit.conn):
                pick_role(unit.actor(actor), ("committee",), "install campaigns")
            stored, created = campaign_records.install(unit.conn, name=parsed.name, title=parsed.title, text=text,
                                                       file_name=filename, now=moment)
        return stored.name, stored.version, created

    def get(self, name: str, version: int | None = None) -> tuple[Campaign, int]:
        """The installed campaign (newest version unless asked), parsed from its stored text."""
        from engine.store import campaign_records
        with self._engine.store.read() as conn:
            stored = campaign_records.get(conn, name, version)
        return campaigns.parse_text(stored.source_text, stored.file_name), stored.version

    def list(self) -> list[dict]:
        from engine.store import campaign_records
        with self._engine.store.read() as conn:
            found = campaign_records.newest_versions(conn)
        out = []
        for stored, versions in found:
            c = campaigns.parse_text(stored.source_text, stored.file_name)
            out.append({"campaign": c.name, "title": c.title, "version": stored.version, "versions": versions,
                        "document": c.document, "region": c.scope.region,
                        "region_name": regions.full_name(c.scope.region) if c.scope.region else "",
                        "from": c.scope.start, "to": c.scope.end, "installed_at": stored.installed_at,
                        "stages": [{"stage": s.name, "title": s.title, "from": s.start, "to": s.end}
                                   for s in c.stages], "targets": len(c.targets)})
        return out

    def status(self, name: str, *, as_of=None, now=None, definition: ReportDefinition | None = None,
               actor: str | None = None) -> dict:
        """Each stage and target on the day asked: met or not, and by whom not (JSON-ready); with `actor`, over the
        reader's cases only."""
        from engine.app.readers import reach
        campaign, version = self.get(name)
        scope = campaign_scope(campaign, reach(self._engine, actor))
        replayed = moment_of(as_of)
        moment = replayed or moment_of(now) or self._engine.clock.now()
        day, d = local_date(moment), definition or default()
        sources: dict[datetime, Figures] = {}
        results = {}
        for target in campaign.targets:
            at = min(end_of_day(targets.figures_day(target, day)), moment)
            source = sources.setdefault(at, Figures(self._engine, at=at, replayed=replayed is not None,
                                                    basis=d.counts_as_rectified))
            per_unit = _per_unit(campaign, scope, target, source, day, d)
            results[target.name] = targets.evaluate(campaign, target, per_unit, as_of=day, rounding=d.rounding)
        doc = targets.campaign_status(campaign, results, as_of=day)
        return {**doc, "version": version, "at": moment, "replayed": replayed is not None}


def _units(campaign: Campaign, target: Target) -> list[str]:
    return ["total"] if target.per == "total" else regions.units(campaign.scope.region, target.per)


def _unit_of(code: str, target: Target) -> str:
    return "total" if target.per == "total" else regions.roll_up(code, target.per)


def _per_unit(campaign: Campaign, scope: CaseScope, target: Target, source: Figures, day,
              definition: ReportDefinition) -> dict:
    units = _units(campaign, target)
    kind = target.kind
    if kind in ("rate", "on_time_rate", "major_rate"):
        chosen = scope.narrowed(levels=("major",)) if kind == "major_rate" else scope
        summed = {u: Counts() for u in units}
        for (code,), counts in source.counts(chosen, ("region",)).items():
            unit = _unit_of(code, target)
            summed[unit] = summed.get(unit, Counts()) + counts
        if kind == "on_time_rate":
            return {u: (c.rectified_on_time, on_time_denominator(c, definition.on_time_base)) for u, c in summed.items()}
        return {u: (c.rectified, c.found) for u, c in summed.items()}
    if kind in ("dynamic_zero", "stock_cleared"):
        chosen = scope.narrowed(levels=("major",))
        if kind == "stock_cleared":
            chosen = chosen.narrowed(found_from=None, found_to=start_of_day(target.found_before))
        breaking = {u: [] for u in units}
        for case in source.open_hazards(chosen, overdue_only=kind == "dynamic_zero"):
            breaking.setdefault(_unit_of(case.region, target), []).append(case.id)
        return breaking
    reported = {u: set() for u in units}
    for first, last in targets.reporting_periods(campaign, target, day):
        for code in source.found_regions(scope.narrowed(found_from=start_of_day(first), found_to=end_of_day(last))):
            reported.setdefault(_unit_of(code, target), set()).add(first)
    return reported
