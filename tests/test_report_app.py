"""Figures through the engine: counts by hand, zero rows for silent counties, rounding from the definition, as-of."""
from __future__ import annotations

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput, NotFound
from engine.reports.tally import GROUP_FIELDS
from report_cases import MARCH_END, report_scenario

HEZE_COUNTIES = ["371702", "371703", "371721", "371722", "371723", "371724", "371725", "371726", "371728"]
MOMENTS = ["2026-03-02T09:30", "2026-03-16T00:00", "2026-03-21T00:00", "2026-03-26T12:00", "2026-04-01T00:00",
           "2026-04-08T09:00", "2026-04-20T09:00"]


def _counts(row) -> dict:
    return {k: getattr(row.counts, k) for k in ("found", "rectified", "overdue", "rectified_on_time")}


def test_march_is_counted_as_worked_out_by_hand(service):
    """March's hazards as of the end of March: found, rectified, overdue, on time and accepted as the timeline says."""
    report_scenario(service)
    stats = service.reports.stats(from_="2026-03-01", to="2026-03-31", region="3717", now="2026-05-10T09:00")
    assert _counts(stats.total) == MARCH_END
    assert stats.at == parse_time("2026-04-01T00:00")
    # 3 of 7; 1 of (3 + 1 overdue); the three rectified were accepted by then as well
    assert stats.total.texts == {"rate": "42.86%", "on_time_rate": "25.00%", "accepted_rate": "42.86%"}
    assert stats.total.counts.not_yet_due == 3 and stats.total.counts.accepted == 3


def test_a_submission_awaiting_acceptance_counts_as_rectified_not_accepted(service):
    """As of the end of March (replayed), `paused` was submitted on 03-24, before its deadline, and not yet
    checked: rectified on time (已整改), not accepted (已验收), neither overdue nor "not yet due"."""
    ids = report_scenario(service)
    stats = service.reports.stats(from_="2026-03-01", to="2026-03-31", as_of="2026-04-01T00:00")
    assert _counts(stats.total) == {"found": 7, "rectified": 4, "overdue": 1, "rectified_on_time": 2}
    assert (stats.total.counts.accepted, stats.total.counts.not_yet_due) == (3, 2)
    assert stats.total.texts == {"rate": "57.14%", "on_time_rate": "40.00%", "accepted_rate": "42.86%"}
    paused = service.queries.case_as_of(ids["paused"], parse_time("2026-04-01T00:00"))
    assert (paused.state, paused.rectified_at, paused.accepted_at) == ("verifying", parse_time("2026-03-24T09:00"), None)


def test_a_failed_verification_undoes_the_rectification(service):
    """`paused` was rejected on 04-05: from then on it is rectifying again, not rectified, and overdue once its
    moved deadline (04-07) passes; the register and the replay agree."""
    ids = report_scenario(service)
    case = service.queries.case(ids["paused"])
    assert (case.state, case.rectified_at, case.accepted_at) == ("rectifying", None, None)
    for at in ("2026-04-06T00:00", "2026-04-08T00:00"):
        live = service.reports.stats(from_="2026-03-01", now=at)
        replayed = service.reports.stats(from_="2026-03-01", as_of=at)
        assert live.total.counts == replayed.total.counts
    assert replayed.total.counts.rectified == 3 and replayed.total.counts.overdue == 2  # `overdue` and `paused`


def test_the_definition_may_count_only_the_accepted_as_rectified(service):
    """`counts_as_rectified: accepted`: 已整改 and 整改率 read acceptance, as this engine counted before the two were
    told apart; on-time and overdue follow the same reading."""
    report_scenario(service)
    d = service.reports.definition("report: accepted-only\ntitle: 验收口径\ncounts_as_rectified: accepted\n", "a.yaml")
    stats = service.reports.stats(from_="2026-03-01", to="2026-03-31", as_of="2026-04-01T00:00", definition=d)
    assert _counts(stats.total) == {"found": 7, "rectified": 3, "overdue": 1, "rectified_on_time": 1}
    assert stats.total.counts.accepted == 3 and stats.as_dict()["rounding"]["counts_as_rectified"] == "accepted"
    live = service.reports.stats(from_="2026-03-01", to="2026-03-15", now="2026-05-10T09:00", definition=d)
    # by 03-15 only the spot fix was accepted; `late` (submitted 03-15, accepted 03-20) was still overdue
    assert _counts(live.total) == {"found": 7, "rectified": 1, "overdue": 1, "rectified_on_time": 1}


def test_every_county_appears_by_name_and_the_silent_ones_with_zeros(service):
    """Grouped by county under 菏泽市, all nine counties are rows; those with nothing found have zeros and no rate."""
    report_scenario(service)
    stats = service.reports.stats(by=["county"], region="371700", now="2026-05-10T09:00")
    rows = {row.group["county"]: row for row in stats.rows}
    assert list(rows) == HEZE_COUNTIES
    assert (rows["371721"].counts.found, rows["371722"].counts.found) == (7, 1)
    assert rows["371721"].group["county_name"] == "曹县" and rows["371703"].group["county_name"] == "定陶区"
    assert rows["371703"].counts.found == 0 and rows["371703"].texts["rate"] == "/"
    assert stats.total.counts.found == 8


def test_counties_roll_up_to_cities_and_provinces(service):
    """By city under 山东省 every city is a row (菏泽市 holds all); by province the one row is 山东省."""
    report_scenario(service)
    by_city = service.reports.stats(by=["city"], region="37", now="2026-05-10T09:00")
    assert len(by_city.rows) == 16
    assert {r.group["city"]: r.counts.found for r in by_city.rows if r.counts.found} == {"3717": 8}
    by_province = service.reports.stats(by=["province"], now="2026-05-10T09:00")
    assert [(r.group["province_name"], r.counts.found) for r in by_province.rows] == [("山东省", 8)]
    by_region = service.reports.stats(by=["region"], region="3717", now="2026-05-10T09:00")
    assert [r.group["region"] for r in by_region.rows] == HEZE_COUNTIES


def test_live_figures_now_count_overdue_as_the_register_does(service):
    """Today's overdue count is exactly what `case list --overdue` finds among the hazards."""
    report_scenario(service)
    for moment in ("2026-03-21T09:00", "2026-04-20T09:00"):
        listed = [c for c in service.queries.cases(overdue=True, now=moment).cases if c.parent_id is None]
        stats = service.reports.stats(now=moment)
        assert stats.total.counts.overdue == len(listed)
    assert service.reports.stats(now="2026-04-20T09:00").total.counts.overdue == 2  # overdue, paused (due 04-07)


def _replayed_by_hand(service, at: str) -> dict[str, dict]:
    """Each hazard folded from its own events as of `at` (queries.case_as_of), counted with Case.overdue."""
    moment = parse_time(at)
    found: dict[str, dict] = {}
    for stored in service.queries.cases().cases:
        if stored.parent_id is not None:
            continue
        try:
            case = service.queries.case_as_of(stored.id, moment)
        except NotFound:
            continue
        row = found.setdefault(case.region, {"found": 0, "rectified": 0, "overdue": 0, "rectified_on_time": 0})
        row["found"] += 1
        row["rectified"] += case.rectified_at is not None
        row["overdue"] += case.overdue(moment)
        row["rectified_on_time"] += case.rectified_at is not None and (
            case.due_at is None or (case.met_at or case.rectified_at) <= case.due_at)
    return found


@pytest.mark.parametrize("at", MOMENTS)
def test_as_of_figures_are_the_replay_of_every_case(service, at):
    """`as_of` figures per county equal folding each hazard's events as of that moment, one by one."""
    report_scenario(service)
    stats = service.reports.stats(by=["county"], region="3717", as_of=at, now="2026-05-10T09:00")
    got = {row.group["county"]: _counts(row) for row in stats.rows if row.counts.found}
    assert got == _replayed_by_hand(service, at)
    assert stats.replayed


def test_as_of_now_equals_the_live_figures(service):
    """Folded from the events as of now, every group's counts are the register's GROUP BY's."""
    report_scenario(service)
    service.sweep(now=parse_time("2026-05-10T09:00"))
    for by in (["county"], ["level", "department"], ["state"], ["industry", "source"]):
        live = service.reports.stats(by=by, now="2026-05-10T09:00")
        replayed = service.reports.stats(by=by, as_of="2026-05-10T09:00", now="2026-05-10T09:00")
        assert [(r.group, r.counts) for r in replayed.rows] == [(r.group, r.counts) for r in live.rows], by
        assert replayed.total.counts == live.total.counts


def test_a_past_period_is_looked_at_as_of_its_end(service):
    """Up to 03-15, as of its end: `late` (submitted 03-15, after its deadline of 03-10; verified 03-20) and
    `late_general` (submitted 03-14, deadline 03-12) are rectified late then, not yet accepted; only the spot fix
    is on time; the register's reading agrees with the replay of that moment."""
    ids = report_scenario(service)
    stats = service.reports.stats(from_="2026-03-01", to="2026-03-15", now="2026-05-10T09:00")
    assert _counts(stats.total) == {"found": 7, "rectified": 3, "overdue": 0, "rectified_on_time": 1}
    assert stats.total.counts.accepted == 1
    replayed = service.reports.stats(from_="2026-03-01", to="2026-03-15", as_of="2026-03-16T00:00")
    assert replayed.total.counts == stats.total.counts
    late = service.queries.case_as_of(ids["late"], parse_time("2026-03-16T00:00"))
    assert late.rectified_at == parse_time("2026-03-15T09:00") and late.accepted_at is None
    assert not late.overdue(parse_time("2026-03-16"))


def test_a_running_period_is_looked_at_as_of_now(service):
    """A period that has not ended yet is counted as of now, never as of its future end."""
    report_scenario(service)
    stats = service.reports.stats(from_="2026-03-01", to="2026-12-31", now="2026-03-22T09:00")
    assert stats.at == parse_time("2026-03-22T09:00")
    assert stats.total.counts.overdue == 1  # `overdue` only; `paused` is due 03-26 00:00


DEFINITION = """
report: one-decimal
title: 隐患整改统计（一位小数）
rounding: {decimals: DECIMALS, zero: "—", percent_sign: SIGN}
on_time_rate: BASE
"""


@pytest.mark.parametrize("decimals, sign, base, rate, on_time, zero", [
    (1, "true", "due", "42.9%", "25.0%", "—"),
    (0, "true", "due", "43%", "25%", "—"),
    (2, "false", "rectified", "42.86", "33.33", "—"),
    (2, "true", "found", "42.86%", "14.29%", "—"),
])
def test_rounding_and_the_on_time_base_come_from_the_definition(service, decimals, sign, base, rate, on_time, zero):
    """A report definition sets the decimals, the percent sign, the zero text and the on-time rate's denominator."""
    report_scenario(service)
    text = DEFINITION.replace("DECIMALS", str(decimals)).replace("SIGN", sign).replace("BASE", base)
    d = service.reports.definition(text, "mine.yaml")
    stats = service.reports.stats(by=["county"], from_="2026-03-01", to="2026-03-31", region="3717", definition=d,
                                  now="2026-05-10T09:00")
    assert {k: stats.total.texts[k] for k in ("rate", "on_time_rate")} == {"rate": rate, "on_time_rate": on_time}
    assert {r.texts["rate"] for r in stats.rows if not r.counts.found} == {zero}


def test_grouping_by_the_other_fields(service):
    """Level, department (the responsible department field, empty for most), state and enterprise group as stored."""
    report_scenario(service)
    now = "2026-05-10T09:00"
    by_level = {r.group["level"]: r.counts.found for r in service.reports.stats(by=["level"], now=now).rows}
    assert by_level == {"general": 4, "major": 4}
    by_department = {r.group["department"]: r.counts.found for r in service.reports.stats(by=["department"], now=now).rows}
    assert by_department == {"市应急局": 1, None: 7}
    by_state = {r.group["state"]: r.counts.rectified for r in service.reports.stats(by=["state"], now=now).rows}
    assert by_state["verified"] == 2 and by_state["closed"] == 2 and by_state["rectifying"] == 0
    assert {r.group["enterprise"] for r in service.reports.stats(by=["enterprise"], now=now).rows} == \
        {"某化工有限公司", "某木业有限公司"}


def test_filters_by_level_and_period(service):
    """--level and --from/--to narrow what is found; February's hazard is outside March."""
    report_scenario(service)
    now = "2026-05-10T09:00"
    assert service.reports.stats(level="major", now=now).total.counts.found == 4
    assert service.reports.stats(level="一般", from_="2026-03-01", now=now).total.counts.found == 3
    assert service.reports.stats(to="2026-02-28", now=now).total.counts.found == 1


@pytest.mark.parametrize("given", [dict(by=["colour"]), dict(from_="2026-03-10", to="2026-03-01"),
                                   dict(region="37x"), dict(level="huge"), dict(from_="March"),
                                   dict(as_of="yesterday")])
def test_what_cannot_be_read_is_refused_with_invalid_input(service, given):
    """Unknown groupings, a period ending before it starts, bad codes, levels, dates: InvalidInput (exit 2)."""
    with pytest.raises(InvalidInput):
        service.reports.stats(**given)


def test_the_cli_choices_are_the_engines_group_fields():
    """`hazard report stats --by` offers exactly the fields the engine groups by."""
    from cli.report import BY_FIELDS
    assert BY_FIELDS == GROUP_FIELDS


def test_the_anchor_takes_its_moment_as_text_as_the_reports_do(service):
    """`hz.audit.anchor(as_of="2026-03-21T00:00")`, as a bulletin's reader would call it beside
    `hz.reports.stats(as_of=...)`: the same anchor as for the parsed moment, not an AttributeError."""
    report_scenario(service)
    text, _ = service.audit.anchor(as_of="2026-03-21T00:00")
    parsed, _ = service.audit.anchor(as_of=parse_time("2026-03-21T00:00"))
    assert text.line() == parsed.line() and text.as_of == parse_time("2026-03-21T00:00")


def test_by_state_shows_the_workflows_state_labels(service, runner, db_url):
    """`report stats --by state` prints 已验收 / 整改中 (the labels the dossier shows), never `verified`; where the
    two hazard workflows label a state differently both labels stand (待复查／待验收); --json keeps the code and
    gives the label beside it."""
    from cli.main import cli
    report_scenario(service)
    stats = service.reports.stats(by=["state"], now="2026-04-20T09:00")
    groups = {row.group["state"]: row.group["state_label"] for row in stats.rows}
    assert groups["verified"] == "已验收" and groups["rectifying"] == "整改中" and groups["reported"] == "已上报"
    assert groups["closed"] == "已销号"
    from engine.reports.app import state_labels
    assert state_labels(service)["verifying"] == "待复查／待验收"  # general-hazard's, major-hazard's
    shown = runner.invoke(cli, ["--db", db_url, "--now", "2026-04-20T09:00", "report", "stats", "--by", "state"])
    assert shown.exit_code == 0, shown.output
    assert "已验收" in shown.stdout and "整改中" in shown.stdout
    for code in ("verified", "rectifying", "reported", "closed"):
        assert code not in shown.stdout
    from engine.reports.output import to_markdown
    assert "| 已验收 |" in to_markdown(stats.page())
