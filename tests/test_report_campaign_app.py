"""Campaigns stored by content hash and their targets per stage, from the register or as of a moment."""
from __future__ import annotations

import json

import pytest

from engine.domain.errors import DefinitionInvalid, NotFound
from report_cases import report_scenario

CAMPAIGN = """
campaign: heze-spring-2026
title: 菏泽市春季安全生产隐患排查整治
document: 菏安办〔2026〕5号
issuer: 菏泽市安全生产委员会
scope:
  region: "3717"
  from: 2026-03-01
  to: 2026-05-31
stages:
  - {stage: mobilise, title: 动员部署, from: 2026-03-01, to: 2026-03-15}
  - {stage: rectify, title: 集中整治, from: 2026-03-16, to: 2026-04-30}
  - {stage: consolidate, title: 巩固提升, from: 2026-05-01, to: 2026-05-31}
targets:
  - {target: weekly, title: 各县区每周报送, kind: reporting, every: week, from: 2026-03-02, by: 2026-03-29}
  - {target: rate, title: 各县区整改率不低于90%, kind: rate, at_least: 90, by: 2026-04-30, per: county}
  - {target: zero, title: 重大隐患动态清零, kind: dynamic_zero, by: 2026-05-31, per: county}
  - {target: stock, title: 三月前重大隐患清零, kind: stock_cleared, found_before: 2026-03-01, by: 2026-04-30, per: total}
"""


def _targets(status: dict) -> dict[str, dict]:
    return {t["target"]: t for stage in status["stages"] for t in stage["targets"]}


def test_installing_versions_by_content_like_workflows(service):
    """The same text again is a no-op; another text the next version; the newest is what `get` and `list` give."""
    campaigns = service.reports.campaigns
    assert campaigns.install(CAMPAIGN, "spring.yaml", actor="li") == ("heze-spring-2026", 1, True)
    assert campaigns.install(CAMPAIGN, "spring.yaml", actor="li") == ("heze-spring-2026", 1, False)
    changed = CAMPAIGN.replace("at_least: 90", "at_least: 95")
    assert campaigns.install(changed, "spring.yaml", actor="li") == ("heze-spring-2026", 2, True)
    found, version = campaigns.get("heze-spring-2026")
    assert version == 2 and found.targets[1].at_least == 95
    assert campaigns.get("heze-spring-2026", 1)[0].targets[1].at_least == 90
    listed = campaigns.list()
    assert [(c["campaign"], c["version"], c["versions"], c["region_name"]) for c in listed] == \
        [("heze-spring-2026", 2, 2, "山东省菏泽市")]
    with pytest.raises(NotFound):
        campaigns.get("no-such")


def test_a_bad_campaign_file_is_refused_with_every_problem(service):
    """An invalid file installs nothing and names each problem with its line."""
    bad = CAMPAIGN.replace("kind: rate,", "kind: rating,").replace("to: 2026-03-15}", "to: 2026-03-20}")
    with pytest.raises(DefinitionInvalid) as caught:
        service.reports.campaigns.install(bad, "bad.yaml", actor="li")
    assert len(caught.value.problems) >= 2
    assert service.reports.campaigns.list() == []


def test_campaign_files_with_bad_names_are_refused_at_their_line_not_installed_as_one_nameless_campaign(
        service, runner, db_url, tmp_path):
    """`campaign: "Bad Name!"` installed as a campaign named '' (and the next such file became its version 2): now
    exit 7 with FILE:LINE, and nothing is installed."""
    from cli.main import cli
    base = ["--db", db_url, "--actor", "li", "--now", "2026-03-22T12:00", "campaign", "install"]
    for number, name in enumerate(['"Bad Name!"', '""'], 1):
        path = tmp_path / f"bad-{number}.yaml"
        path.write_text(CAMPAIGN.replace("campaign: heze-spring-2026", f"campaign: {name}"), encoding="utf-8")
        refused = runner.invoke(cli, base + [str(path)])
        assert refused.exit_code == 7, refused.output
        assert f"{path}:2: campaign: " in refused.stderr
    assert service.reports.campaigns.list() == []


def test_before_the_campaign_every_stage_is_upcoming_and_no_target_started(service):
    """As of February nothing has started."""
    report_scenario(service)
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    status = service.reports.campaigns.status("heze-spring-2026", now="2026-02-25T09:00")
    assert [s["status"] for s in status["stages"]] == ["upcoming"] * 3
    assert {t["status"] for t in _targets(status).values()} == {"not_started"}


def test_during_the_campaign_targets_are_behind_naming_the_counties(service):
    """On 03-22: 曹县 at 50.00% and 单县 at 0.00% are behind the 90% target, the rest have no data; 动态清零 belongs to
    the stage not begun yet, but the overdue major hazard that breaks it in 曹县 is already named."""
    ids = report_scenario(service)
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    status = service.reports.campaigns.status("heze-spring-2026", now="2026-03-22T12:00")
    assert [s["status"] for s in status["stages"]] == ["finished", "running", "upcoming"]
    targets = _targets(status)
    rate = targets["rate"]
    assert rate["status"] == "behind"
    assert [(f["name"], f["value"]) for f in rate["failing"]] == [("曹县", "50.00%"), ("单县", "0.00%")]
    assert len(rate["no_data"]) == 7
    zero = targets["zero"]
    assert zero["status"] == "not_started" and zero["failing"] == [{"unit": "371721", "name": "曹县", "value": "1 件",
                                                               "detail": [ids["overdue"]]}]
    assert targets["stock"]["status"] == "on_track"


def test_after_its_dates_a_target_is_met_or_missed_and_weekly_reporting_names_the_silent_weeks(service):
    """On 05-01: the rate target (taken on 04-30) is missed; every county missed weeks of reporting, each named."""
    report_scenario(service)
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    targets = _targets(service.reports.campaigns.status("heze-spring-2026", now="2026-05-01T09:00"))
    assert targets["rate"]["status"] == "missed" and targets["rate"]["figures_day"].isoformat() == "2026-04-30"
    weekly = {f["name"]: f for f in targets["weekly"]["failing"]}
    assert targets["weekly"]["status"] == "missed" and len(weekly) == 9
    assert weekly["曹县"]["value"] == "缺报 3 周" and weekly["定陶区"]["value"] == "缺报 4 周"
    assert weekly["曹县"]["detail"] == ["2026-03-09..2026-03-15", "2026-03-16..2026-03-22", "2026-03-23..2026-03-29"]
    assert targets["stock"]["status"] == "met"
    assert targets["zero"]["status"] == "behind"  # its stage runs; two major hazards are overdue now
    assert len(targets["zero"]["failing"][0]["detail"]) == 2


@pytest.mark.parametrize("moment", ["2026-03-22T12:00", "2026-04-08T09:00", "2026-05-01T09:00"])
def test_as_of_a_moment_is_the_same_from_the_events_as_from_the_register_then(service, moment):
    """With as_of the figures are folded from the events; asked at that moment from the register they agree."""
    report_scenario(service)
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    live = service.reports.campaigns.status("heze-spring-2026", now=moment)
    replayed = service.reports.campaigns.status("heze-spring-2026", as_of=moment, now="2026-06-30T09:00")
    assert replayed["replayed"] and not live["replayed"]
    assert replayed["stages"] == live["stages"]


def test_the_cli_installs_lists_and_shows_status(service, runner, db_url, tmp_path):
    """`hazard campaign install|list|status` with --json, and status for an unknown campaign exits 5."""
    from cli.main import cli
    report_scenario(service)
    path = tmp_path / "spring.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    base = ["--db", db_url, "--now", "2026-03-22T12:00", "campaign"]
    assert runner.invoke(cli, ["--actor", "li"] + base + ["install", str(path)]).exit_code == 0
    listed = json.loads(runner.invoke(cli, base + ["list", "--json"]).stdout)
    assert listed[0]["campaign"] == "heze-spring-2026"
    shown = runner.invoke(cli, base + ["status", "heze-spring-2026"])
    assert shown.exit_code == 0 and "曹县 50.00%" in shown.stdout and "集中整治" in shown.stdout
    replayed = json.loads(runner.invoke(cli, base + ["status", "heze-spring-2026", "--as-of", "2026-03-22T12:00",
                                                     "--json"]).stdout)
    assert replayed["replayed"] is True and replayed["as_of"] == "2026-03-22"
    assert runner.invoke(cli, base + ["status", "nothing"]).exit_code == 5
    path.write_bytes(b"campaign: \xff\xfe\n")
    refused = runner.invoke(cli, ["--actor", "li"] + base + ["install", str(path)])
    assert refused.exit_code == 7 and "not UTF-8" in refused.stderr


def test_the_shipped_campaigns_install(service):
    """Both example campaigns shipped with the engine install as they are."""
    from importlib import resources
    folder = resources.files("engine.reports.campaigns")
    for name in ("heze-2018.yaml", "jinji-2023.yaml"):
        assert service.reports.campaigns.install(folder.joinpath(name).read_text(encoding="utf-8"), name,
                                                  actor="li")[2]
    assert {c["campaign"] for c in service.reports.campaigns.list()} == {"heze-2018", "jinji-2023"}


def test_the_text_status_names_every_unit_that_missed_at_80_columns(service, runner, db_url, tmp_path):
    """`hazard campaign status` at 80 columns, without --wide: each of the nine counties that missed weekly
    reporting is printed with its figure and its silent weeks, as are both counties under the rate target;
    no line is wider than the terminal and none is cut with an ellipsis."""
    from cli.main import cli
    from cli.output import cell_len
    report_scenario(service)
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    shown = runner.invoke(cli, ["--db", db_url, "--now", "2026-05-01T09:00", "campaign", "status",
                                "heze-spring-2026"], env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    failing = _targets(service.reports.campaigns.status("heze-spring-2026", now="2026-05-01T09:00"))["weekly"]["failing"]
    assert len(failing) == 9
    for f in failing:
        assert f"{f['name']} {f['value']}" in out, f["name"]
    assert "2026-03-23..2026-03-29" in out
    rate = _targets(service.reports.campaigns.status("heze-spring-2026", now="2026-05-01T09:00"))["rate"]
    for f in rate["failing"]:
        assert f"{f['name']} {f['value']}" in out
    notes = [line for line in out.splitlines() if line.startswith("  ")]
    assert notes and all(cell_len(line) <= 80 and "…" not in line for line in notes)


def test_a_rate_target_on_a_register_without_hazards_is_not_met(service, runner, db_url, tmp_path):
    """No hazard at all in scope: the 90% rate target is 无数据（未达标）, not 已达标, in its stage, in JSON and text."""
    from cli.main import cli
    service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li")
    status = service.reports.campaigns.status("heze-spring-2026", now="2026-05-01T09:00")
    rate = _targets(status)["rate"]
    assert rate["status"] == "no_data" and rate["status"] != "met" and len(rate["no_data"]) == 9
    stage = next(s for s in status["stages"] if s["stage"] == "rectify")
    assert [t["status"] for t in stage["targets"] if t["target"] == "rate"] == ["no_data"]
    base = ["--db", db_url, "--now", "2026-05-01T09:00", "campaign", "status", "heze-spring-2026"]
    doc = json.loads(runner.invoke(cli, base + ["--json"]).stdout)
    assert _targets(doc)["rate"]["status"] == "no_data"
    text = runner.invoke(cli, base, env={"COLUMNS": "80"})
    line = next(line for line in text.stdout.splitlines() if line.startswith("各县区整改率不低于90%"))
    assert "无数据（未达标）" in line and "已达标" not in line


def test_installing_a_campaign_needs_the_committee_and_a_time_not_in_the_future(service, runner, db_url, tmp_path):
    """As `workflow install`: no --actor, an unknown one or one without the committee role is refused (exit 4) and
    nothing is installed; a --now later than the real time is refused by rule `future` (exit 3); li may."""
    from cli.main import cli
    from engine.domain.errors import PermissionDenied, Refused
    path = tmp_path / "spring.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    base = ["--db", db_url, "--now", "2026-03-22T12:00"]
    for who in ([], ["--actor", "nobody"], ["--actor", "zhang"]):
        refused = runner.invoke(cli, base + who + ["campaign", "install", str(path)])
        assert refused.exit_code == 4, (who, refused.output)
    assert service.reports.campaigns.list() == []
    future = runner.invoke(cli, ["--db", db_url, "--now", "2099-01-01T09:00", "--actor", "li", "campaign", "install",
                                 str(path), "--json"])
    assert future.exit_code == 3 and "future" in future.output
    assert service.reports.campaigns.list() == []
    with pytest.raises(PermissionDenied):
        service.reports.campaigns.install(CAMPAIGN, "spring.yaml")
    with pytest.raises(Refused) as caught:
        service.reports.campaigns.install(CAMPAIGN, "spring.yaml", actor="li", now="2099-01-01T09:00")
    assert caught.value.rule == "future"
    assert runner.invoke(cli, base + ["--actor", "li", "campaign", "install", str(path)]).exit_code == 0
    assert [c["campaign"] for c in service.reports.campaigns.list()] == ["heze-spring-2026"]
