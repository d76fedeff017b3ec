"""The bulletin document filled from the register and the event log (*app*); engine/reports/bulletin.py lays it out.

For the period holding the date (and the one before it, for the change): the counts per unit under the region
(its counties, or a province's cities) from one GROUP BY by county and level, the major hazards' enterprises,
the departments; the major hazards overdue at the period's end, named; the notices fired in the period; the
interviews and posted supervisions opened or finished in it; a ranking of the units (weights in
`bulletin-ranking.yaml`); the units that found nothing; and the event log's anchor at the period's end. A
period still running is looked at as of now. A campaign's bulletin counts only the campaign's cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

from engine.domain import regions
from engine.domain.clock import local_date, start_of_day
from engine.domain.errors import InvalidInput
from engine.reports import bulletin, figures, periods, ranking as rankings
from engine.reports.asked import found_scope, looked_at, region_level
from engine.reports.app_figures import Figures
from engine.reports.app_ranking import indicator_values
from engine.reports.conditions import highest_rung
from engine.reports.definition import BULLETIN_KINDS, ReportDefinition
from engine.reports.figures import Counts
from engine.reports.tally import CaseScope

COUNT_KEYS = ("found", "rectified", "overdue", "rectified_on_time", "general_found", "general_rectified",
              "major_found", "major_rectified", "major_enterprises", "major_enterprises_rectified")


@dataclass(frozen=True)
class BulletinReport:
    document: dict
    definition: ReportDefinition

    def markdown(self) -> str:
        return bulletin.to_markdown_text(self.document, self.definition)

    def html(self) -> str:
        return bulletin.to_html_text(self.document, self.definition)

    def xlsx(self) -> bytes:
        return bulletin.to_xlsx_bytes(self.document, self.definition)

    def as_dict(self) -> dict:
        """The document with every count's rates as printed beside the exact counts."""
        r = self.definition.rounding

        def rated(row: dict) -> dict:
            out = dict(row)
            for key, (n, d) in {"rate": ("rectified", "found"), "major_rate": ("major_rectified", "major_found"),
                                "general_rate": ("general_rectified", "general_found")}.items():
                if d in row:
                    value = figures.rate(row.get(n, 0), row[d], r.decimals)
                    out[key], out[f"{key}_text"] = (float(value) if value is not None else None,
                                                    figures.format_rate(value, r))
            return out

        doc = dict(self.document)
        for key in ("totals", "previous_totals"):
            if doc.get(key):
                doc[key] = rated(doc[key])
        for key in ("units", "departments"):
            doc[key] = [rated(row) for row in doc.get(key) or []]
        doc["units"] = [{**u, "name": regions.label(u["region"])} for u in doc["units"]]
        return doc


def _unit_counts() -> dict:
    return dict.fromkeys(COUNT_KEYS, 0)


def _add(row: dict, counts: Counts, level: str | None) -> None:
    for key, value in (("found", counts.found), ("rectified", counts.rectified), ("overdue", counts.overdue),
                       ("rectified_on_time", counts.rectified_on_time)):
        row[key] += value
    kind = "major" if level == "major" else "general"
    row[f"{kind}_found"] += counts.found
    row[f"{kind}_rectified"] += counts.rectified


def unit_figures(source: Figures, scope: CaseScope, *, region: str, level: str) -> dict[str, dict]:
    """Per unit at `level` under `region` (all of them, zeros included): counts, split by level, and the
    enterprises with major hazards (rectified when every one of its major hazards is)."""
    units = {u: {"region": u, **_unit_counts()} for u in regions.units(region, level)}
    for (code, hazard_level), counts in source.counts(scope, ("region", "level")).items():
        unit = regions.roll_up(code, level)
        _add(units.setdefault(unit, {"region": unit, **_unit_counts()}), counts, hazard_level)
    for code, _, found, rectified in source.major_enterprises(scope):
        unit = units.setdefault(regions.roll_up(code, level), {"region": regions.roll_up(code, level),
                                                               **_unit_counts()})
        unit["major_enterprises"] += 1
        unit["major_enterprises_rectified"] += found == rectified
    return dict(sorted(units.items()))


def _totals(units: dict[str, dict]) -> dict:
    return {key: sum(u[key] for u in units.values()) for key in COUNT_KEYS}


def _region_of_data(engine, scope: CaseScope) -> str:
    from engine.store import reports as report_store
    with engine.store.read() as conn:
        low, high = report_store.region_span(conn, scope)
    if low is None:
        raise InvalidInput("no hazard was found in the period, so the bulletin's region cannot be guessed: give one",
                           field="region")
    for size in (6, 4, 2):
        if low[:size] == high[:size]:
            return regions.prefix(low[:size])
    raise InvalidInput("the hazards of the period lie in several provinces: give the bulletin's region", field="region")


def _campaign_scope(campaign, name: str, region: str | None, start: date, end: date, reach=None):
    s = campaign.scope
    if region and not region.startswith(s.region):
        raise InvalidInput(f"region {region} lies outside campaign '{name}' ({regions.label(s.region)})",
                           field="region")
    start, end = max(start, s.start), min(end, s.end)
    if start > end:
        raise InvalidInput(f"campaign '{name}' runs {s.start} .. {s.end}, outside this period", field="date")
    base = CaseScope(region=region or s.region, levels=s.levels, industries=s.industries, tag=s.tag or None,
                     reach=reach)
    return base, start, end


def _day_label(day: date, year: bool = True) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"


def campaign_span(campaign, day: date) -> periods.Period:
    """A campaign's bulletin without a period: everything since the campaign began, up to `day` (its end once
    it has ended), as a campaign office reports progress ("专项整治开展以来")."""
    s = campaign.scope
    end = min(day, s.end)
    if end < s.start:
        raise InvalidInput(f"campaign '{campaign.name}' runs {s.start} .. {s.end}: {day} is before it starts",
                           field="date")
    label = f"{_day_label(s.start)}至{_day_label(end, year=end.year != s.start.year)}"
    return periods.Period("campaign", s.start, end, label)


def build_bulletin(reports, *, period: str | None, day: date | None, region: str | None, campaign: str | None,
                   definition: ReportDefinition, now: datetime, reach=None) -> BulletinReport:
    """The bulletin of the period (week, month, quarter) holding `day` (default today).

    With a campaign: only its cases; `day` defaults to the campaign's last day once it has ended (else today);
    without a period it covers the campaign from its first day to `day` (or its end), with no previous period
    to compare with; a period's previous one is cut to the campaign's dates as the current one is (zero before
    the campaign began)."""
    engine = reports._engine
    if period is None and not campaign:
        raise InvalidInput(f"give a period: {', '.join(periods.KINDS)}", field="period")
    if period is not None and period not in periods.KINDS:
        raise InvalidInput(f"period must be one of {', '.join(periods.KINDS)}", field="period")
    chosen = reports.campaigns.get(campaign)[0] if campaign else None
    if day is None:
        day = min(local_date(now), chosen.scope.end) if chosen is not None else local_date(now)
    if period is None:
        current, before = campaign_span(chosen, day), None
    else:
        current = periods.period_of(period, day)
        before = periods.previous(current)
    start, end, base = current.start, current.end, CaseScope(region=region, reach=reach)
    if chosen is not None:
        base, start, end = _campaign_scope(chosen, campaign, region, start, end, reach)
    scope = found_scope(base, start, end)
    if base.region is None:
        base = base.narrowed(region=_region_of_data(engine, scope))
        scope = scope.narrowed(region=base.region)
    where, unit_level = base.region, region_level(base.region)
    at = looked_at(end, now)
    source = Figures(engine, at=at, basis=definition.counts_as_rectified)
    units = unit_figures(source, scope, region=where, level=unit_level)
    doc = {"period": {**current.as_dict(), "from": start, "to": end}, "region": where, "totals": _totals(units),
           "units": list(units.values()), "issued_on": local_date(now), "generated_at": now}
    if before is not None:
        before_start, before_end = before.start, before.end
        if chosen is not None:  # the campaign's cases only: none were found before it began
            before_start, before_end = max(before_start, chosen.scope.start), min(before_end, chosen.scope.end)
        doc["previous_period"] = before.as_dict()
        if before_start <= before_end:
            earlier = unit_figures(Figures(engine, at=looked_at(before_end, now), basis=definition.counts_as_rectified),
                                   found_scope(base, before_start, before_end), region=where, level=unit_level)
            doc["previous_period"].update({"from": before_start, "to": before_end})
        else:
            earlier = {u: {"region": u, **_unit_counts()} for u in units}
        doc["previous_totals"] = _totals(earlier)
    if chosen is not None:
        doc["title"] = f"{chosen.title}{BULLETIN_KINDS[current.kind]}"  # 周简报 for a week, 月通报 for a month, ...
        if chosen.office:
            doc["issuer"] = chosen.office
        doc["campaign"] = chosen.name
    doc["departments"] = [{"name": name, **_department(counts)} for (name,), counts
                          in sorted(source.counts(scope, ("department",)).items(), key=lambda i: str(i[0][0]))
                          if name]
    doc.update(_ladder(engine, source, base, start_of_day(start), at))
    doc["decisions"] = _decisions(engine, base, start_of_day(start), at)
    doc["ranking"] = _ranking(units, definition)
    doc["silent_units"] = [code for code, u in units.items() if not u["found"]]
    if "anchor" in definition.bulletin.sections:  # a read of every event: only when the layout prints it
        doc["anchor"] = engine.audit.anchor(as_of=at)[0].as_dict()
    return BulletinReport(doc, definition)


def _department(counts: Counts) -> dict:
    return {"found": counts.found, "rectified": counts.rectified, "overdue": counts.overdue,
            "rectified_on_time": counts.rectified_on_time}


def _ranking(units: dict[str, dict], definition: ReportDefinition) -> dict:
    text = resources.files("engine.reports").joinpath("bulletin-ranking.yaml").read_text(encoding="utf-8")
    spec = rankings.parse_text(text, "bulletin-ranking.yaml")
    values = {}
    for code, u in units.items():
        counts = Counts(found=u["found"], rectified=u["rectified"], overdue=u["overdue"],
                        rectified_on_time=u["rectified_on_time"])
        major = Counts(found=u["major_found"], rectified=u["major_rectified"])
        values[code] = indicator_values(counts, major, {}, definition.rounding, definition.on_time_base)
    return rankings.section(spec, rankings.rank(spec, values), names={code: regions.label(code) for code in units},
                            hazard_unit=definition.bulletin.general_unit, percent_sign=definition.rounding.percent_sign)


def _ladder(engine, source: Figures, base: CaseScope, start: datetime, at: datetime) -> dict:
    """The overdue major hazards named, the notices, interviews and posted supervisions of the period."""
    from engine.store import reports as report_store

    overdue = source.open_hazards(base.narrowed(levels=("major",)), overdue_only=True)
    with engine.store.read() as conn:
        fired = report_store.fired_actions(conn, [case.id for case in overdue], until=at)
        notices = report_store.escalations(conn, base, start=start, end=at, actions=("notice",))
        # What is an interview or a posted supervision is each definition's own `serves`, not its name.
        linked = report_store.linked_activity(conn, base, start=start, end=at,
                                              workflows=engine.registry.serving(conn, ("interview", "posting")))
        labels = {(row["workflow"], row["workflow_version"]): engine.registry.loaded(
            conn, row["workflow"], row["workflow_version"]).definition for row in linked}
        cited = _cited_notices(conn, linked, labels)
    named = [{"case_id": case.id, "enterprise": case.enterprise, "region": case.region, "title": case.title,
              "deadline": _day(case.deadline), "days_overdue": int((at - case.due_at).total_seconds() // 86400),
              "responsible_unit": case.fields.get("responsible_unit"),
              "responsible_person": case.fields.get("responsible_person"),
              "rung_reached": highest_rung(fired.get(case.id, ()))} for case in overdue]
    notice_rows = [{"at": local_date(n["at"]), "kind": n["data"].get("kind", "notice"),
                    "unit": n["responsible_unit"] or n["enterprise"], "person": n["responsible_person"] or "",
                    "case_id": n["hazard_id"], "reason": f"{n['data'].get('label') or n['data'].get('rung')}：{n['title']}"}
                   for n in notices]
    interviews, opened, delisted = [], [], []
    for row in linked:
        fields, definition = row["fields"] or {}, labels[(row["workflow"], row["workflow_version"])]
        state = definition.state(row["state"])
        if definition.serves == "interview" and row["created_at"] >= start:
            interviews.append({"at": local_date(row["created_at"]), "unit": row["responsible_unit"] or row["enterprise"],
                               "person": fields.get("summoned", ""), "case_id": row["case_id"],
                               "state": state.label if state and state.label else row["state"],
                               "notices": cited.get(row["case_id"], [])})
        elif definition.serves == "posting":
            if row["created_at"] >= start:
                opened.append({"case_id": row["case_id"], "enterprise": row["enterprise"], "region": row["region"],
                               "authority": fields.get("authority"), "at": local_date(row["created_at"]),
                               "deadline": _day(fields.get("deadline")), "notices": cited.get(row["case_id"], [])})
            if row["closed_at"] is not None and start <= row["closed_at"] <= at:
                delisted.append({"case_id": row["case_id"], "enterprise": row["enterprise"], "region": row["region"],
                                 "at": local_date(row["closed_at"])})
    return {"overdue_major": named, "notices": notice_rows, "interviews": interviews,
            "postings": {"opened": opened, "delisted": delisted}}


# The notice that documents an interview or a posted supervision, when the hazard's step issued it rather than
# the linked case's own (engine/app/notices.py): by what the linked workflow serves.
CITED_KINDS = {"interview": "interview-notice", "posting": "posted-supervision-notice"}


def _cited_notices(conn, linked: list[dict], labels: dict) -> dict[str, list[str]]:
    """{linked case id: the numbers of the notices issued for it}: those its own steps issued, and those of the
    kind it is documented by (CITED_KINDS) its hazard's steps issued."""
    from engine.store import notices as notice_store
    if not linked:
        return {}
    ids = sorted({row["case_id"] for row in linked} | {row["parent_id"] for row in linked if row["parent_id"]})
    by_case: dict[str, list] = {}
    for notice in notice_store.of_cases(conn, ids):
        by_case.setdefault(notice.case_id, []).append(notice)
    cited = {}
    for row in linked:
        kind = CITED_KINDS.get(labels[(row["workflow"], row["workflow_version"])].serves)
        own = [n.number for n in by_case.get(row["case_id"], [])]
        parent = [n.number for n in by_case.get(row["parent_id"], []) if n.kind == kind]
        cited[row["case_id"]] = own + [n for n in parent if n not in own]
    return cited


def _decisions(engine, base: CaseScope, start: datetime, at: datetime) -> dict:
    """The proposals awaiting a decision at `at`, and those decided in [start, at], read from each proposed case's
    record of its decisions (which keeps when each was proposed, decided or lapsed)."""
    from engine.domain import vocabularies
    from engine.store import reports as report_store

    with engine.store.read() as conn:
        proposed = report_store.cases_with_proposals(conn, base, until=at)
    pending, decided = [], []
    for case in proposed:
        for p in (case.decisions.get("proposals") or {}).values():
            since, ruled = datetime.fromisoformat(p["proposed_at"]), p.get("at")
            ruled = datetime.fromisoformat(ruled) if ruled else None
            row = {"case_id": case.id, "region": case.region, "enterprise": case.enterprise,
                   "label": p.get("label") or p["rung"]}
            if since <= at and (ruled is None or ruled > at):
                pending.append({**row, "since": local_date(since), "decided_by": "、".join(
                    vocabularies.label_of("roles", r) for r in p.get("decided_by") or ())})
            elif ruled is not None and start <= ruled <= at and p["status"] in ("approved", "declined"):
                decided.append({**row, "decision": "approve" if p["status"] == "approved" else "decline",
                                "at": local_date(ruled), "by": p.get("by"), "reason": p.get("reason") or ""})
    return {"pending": sorted(pending, key=lambda r: (r["since"], r["case_id"])),
            "decided": sorted(decided, key=lambda r: (r["at"], r["case_id"]))}


def _day(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
