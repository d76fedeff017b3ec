"""The reports (*app*): figures, the four lists, bulletins, rankings and campaigns over an engine's register.

    hz = Engine.open("sqlite:///hazard.db")
    stats = hz.reports.stats(by=["county"], from_="2018-10-01", to="2018-10-31", region="3717")
    stats.total.counts.found, stats.total.texts["rate"]         # 21521, '86.53%'
    hz.reports.lists(list="major-to-clear", region="3717").page()
    hz.reports.bulletin(period="month", date="2018-10-31", region="3717").html()
    hz.reports.ranking(weights=open("weights.yaml").read(), by="region")
    hz.reports.campaigns.status("heze-2018", as_of="2018-12-20")

Read-only; each call reads in short transactions. Each takes `actor`, the reader (engine/app/readers.py): a named
user's figures, lists, bulletins, rankings and campaign status count the cases of their reach only (their regions,
their enterprise when bound), as if the others did not exist; without `actor`, the whole register. Counting is the store's GROUP BY (engine/store/reports.py)
or, with `as_of`, a fold of the events (engine/reports/app_figures.py); regions are rolled up from the county
code here, and every division under the region asked appears, with zeros where nothing was found.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from engine.app import readers
from engine.domain import regions
from engine.domain.clock import iso
from engine.domain.errors import InvalidInput
from engine.reports import definition as definitions
from engine.reports import figures
from engine.reports.app_figures import Figures
from engine.reports.asked import (
    check_by, day_of, found_scope, group_document, grouped, level_of, looked_at, moment_of, region_of,
)
from engine.reports.figures import Counts, StatsRow
from engine.reports.tally import COLUMN_OF, CaseScope

def state_labels(engine) -> dict[str, str]:
    """State name -> its label (已验收, 已销号) in the newest version of each installed hazard workflow, as the
    dossier shows a case's state; where two workflows label one state differently, both (待验收／待复查). The
    workflows that serve interviews or posted supervisions (their definitions' `serves`) are not hazards and are
    left out."""
    from engine.store import definitions as definition_store
    with engine.store.read() as conn:
        loaded = [engine.registry.loaded(conn, name).definition for name in definition_store.workflow_names(conn)]
    labels: dict[str, list[str]] = {}
    for d in loaded:
        if d.serves != "hazard":
            continue
        for state in d.states:
            if state.label and state.label not in labels.setdefault(state.name, []):
                labels[state.name].append(state.label)
    return {name: "／".join(found) for name, found in labels.items() if found}


# -- stats --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatsReport:
    by: tuple[str, ...]
    rows: list[StatsRow]
    total: StatsRow
    region: str | None
    level: str | None
    start: date | None
    end: date | None
    at: datetime
    replayed: bool
    definition: definitions.ReportDefinition

    def as_dict(self) -> dict:
        r = self.definition.rounding
        return {"by": list(self.by), "region": self.region,
                "region_name": regions.full_name(self.region) if self.region else None, "level": self.level,
                "from": self.start, "to": self.end, "at": self.at, "as_of": self.replayed,
                "rounding": {"decimals": r.decimals, "zero": r.zero, "percent_sign": r.percent_sign,
                             "on_time_base": self.definition.on_time_base,
                             "counts_as_rectified": self.definition.counts_as_rectified},
                "rows": [row.as_dict() for row in self.rows], "total": self.total.as_dict()}

    def page(self):
        from engine.reports.lists import stats_page
        span = f"{self.start or '…'} 至 {self.end or '…'}"
        where = regions.full_name(self.region) if self.region else "全部地区"
        moment = "（依事件日志回放）" if self.replayed else ""
        return stats_page(self.rows, list(self.by), total=self.total, definition=self.definition,
                          subtitle=f"{where}，排查时间 {span}，截至 {iso(self.at)}{moment}")


class Reports:
    def __init__(self, engine):
        from engine.reports.app_campaigns import Campaigns
        self._engine = engine
        self.campaigns = Campaigns(engine, self)

    def _now(self, now) -> datetime:
        return moment_of(now) or self._engine.clock.now()

    @staticmethod
    def definition(text: str | None = None, filename: str = "report.yaml") -> definitions.ReportDefinition:
        """A report definition from its text (DefinitionInvalid lists every problem), or the shipped default."""
        return definitions.parse_text(text, filename) if text is not None else definitions.default()

    def stats(self, *, by=(), from_=None, to=None, region=None, level=None, as_of=None,
              definition: definitions.ReportDefinition | None = None, now=None, actor: str | None = None) -> StatsReport:
        """Per group and in total, for hazards found in the period: found, rectified, accepted, open, overdue,
        rectified on time, not yet due, and the three rates, as of the period's end (or `as_of`, then folded from
        the events); what counts as rectified is the definition's `counts_as_rectified`."""
        d = definition or definitions.default()
        fields, within, chosen = check_by(by), region_of(region), level_of(level)
        start, end, as_of = day_of(from_, "from"), day_of(to, "to"), moment_of(as_of)
        at = as_of or looked_at(end, self._now(now))
        reach = readers.reach(self._engine, actor)
        scope = found_scope(CaseScope(region=within, levels=(chosen,) if chosen else (), reach=reach), start, end)
        columns = tuple(dict.fromkeys(COLUMN_OF[f] for f in fields))
        source = Figures(self._engine, at=at, replayed=as_of is not None, basis=d.counts_as_rectified)
        counted = grouped(source.counts(scope, columns), columns, fields, within)
        states = state_labels(self._engine) if "state" in fields else None
        rows = [figures.stats_row(group_document(fields, key, states), counts, d.rounding, d.on_time_base)
                for key, counts in counted.items()] if fields else []
        total = figures.total(rows, d.rounding, d.on_time_base) if fields else \
            figures.stats_row({"group": "合计"}, counted.get((), Counts()), d.rounding, d.on_time_base)
        return StatsReport(fields, rows, total, within, chosen, start, end, at, as_of is not None, d)

    def lists(self, *, list: str | None = None, region=None,  # noqa: A002 - the option's own name
              definition: definitions.ReportDefinition | None = None, now=None, as_of=None, actor: str | None = None):
        """The four lists (四个清单), or the one named, with the rows the definition's rules take; with `as_of`,
        as they stood at that moment (folded from the events)."""
        from engine.reports.app_lists import build_lists
        return build_lists(self._engine, name=list, region=region_of(region),
                           definition=definition or definitions.default(), now=self._now(now),
                           as_of=moment_of(as_of), reach=readers.reach(self._engine, actor))

    def bulletin(self, *, period: str | None = None, date=None, region=None, campaign: str | None = None,
                 definition: definitions.ReportDefinition | None = None, now=None, actor: str | None = None):
        """The weekly brief / monthly / quarterly bulletin (周简报、月通报) of the period holding `date`.

        A period is needed unless `campaign` is given: a campaign's bulletin without one covers the campaign
        from its first day to `date`, which defaults to the campaign's last day once it has ended (else today)."""
        from engine.reports.app_bulletin import build_bulletin
        return build_bulletin(self, period=period, day=day_of(date, "date"), region=region_of(region),
                              campaign=campaign, definition=definition or definitions.default(), now=self._now(now),
                              reach=readers.reach(self._engine, actor))

    def ranking(self, *, weights: str, weights_file: str = "weights.yaml", by: str = "region", from_=None, to=None,
                region=None, definition: definitions.ReportDefinition | None = None, now=None, as_of=None,
                actor: str | None = None):
        """Groups ranked on the weighted indicators of a weights file (考核排序); with `as_of`, on the figures
        as they stood at that moment."""
        from engine.reports import ranking as rankings
        from engine.reports.app_ranking import rank_groups
        if by not in ("region", "department", "industry"):
            raise InvalidInput(f"a ranking groups by region, department or industry, not '{by}'", field="by")
        spec = rankings.parse_text(weights, weights_file)
        start, end = day_of(from_, "from"), day_of(to, "to")
        as_of = moment_of(as_of)
        return rank_groups(self._engine, spec, by=by, start=start, end=end, region=region_of(region),
                           at=as_of or looked_at(end, self._now(now)), definition=definition or definitions.default(),
                           replayed=as_of is not None, reach=readers.reach(self._engine, actor))
