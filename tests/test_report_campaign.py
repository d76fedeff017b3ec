"""Campaign files (专项整治) and their targets: met, missed or in progress, per stage, and by whom not."""
from __future__ import annotations

import textwrap
from datetime import date
from importlib import resources

import pytest

from engine.domain.errors import DefinitionInvalid
from engine.reports import campaign, targets
from engine.reports.figures import Rounding

HEZE_COUNTIES = ["371702", "371703", "371721", "371722", "371723", "371724", "371725", "371726", "371728"]


def shipped(name: str) -> campaign.Campaign:
    text = resources.files("engine.reports").joinpath("campaigns", f"{name}.yaml").read_text(encoding="utf-8")
    return campaign.parse_text(text, f"{name}.yaml")


def test_the_shipped_examples_parse_with_their_stages():
    """The Heze 2018 and Jinji 2023 campaigns load; Jinji's four stages carry the plan's own dates."""
    heze, jinji = shipped("heze-2018"), shipped("jinji-2023")
    assert [s.title for s in heze.stages] == ["动员部署", "集中整治", "巩固提升"]
    assert heze.scope.region == "3717" and heze.document == "菏安发〔2018〕6号"
    assert [(s.title, s.end) for s in jinji.stages] == [
        ("动员部署", date(2023, 6, 20)), ("企业自查自改和部门帮扶", date(2023, 6, 30)),
        ("部门精准执法", date(2023, 11, 30)), ("总结提高", date(2023, 12, 31))]
    assert {t.name: t.stage for t in heze.targets}["county-rate"] == "rectify"


def test_a_rate_target_names_the_counties_below_it_and_those_with_no_data():
    """On its date, counties under 90% are named as missing it; a county that found nothing has no rate."""
    heze = shipped("heze-2018")
    target = next(t for t in heze.targets if t.name == "county-rate")
    figures = {code: (95, 100) for code in HEZE_COUNTIES}
    figures["371725"] = (86, 100)
    figures["371726"] = (0, 0)
    result = targets.evaluate(heze, target, figures, as_of=date(2018, 12, 20))
    assert result.status == "missed" and result.failing == ("371725",) and result.no_data == ("371726",)
    doc = result.as_dict("3717")
    assert doc["failing"] == [{"unit": "371725", "name": "郓城县", "value": "86.00%", "detail": None}]
    assert doc["no_data"] == [{"unit": "371726", "name": "鄄城县"}]
    assert targets.figures_day(target, date(2018, 12, 20)) == date(2018, 12, 15)


def test_a_rate_target_where_no_unit_found_anything_is_not_met():
    """Nothing found in any county: no rate anywhere, so the target is `no_data` (无数据), never `met`, both after
    its date and while it runs, and the campaign counts it among the targets not met."""
    heze = shipped("heze-2018")
    target = next(t for t in heze.targets if t.name == "county-rate")
    empty = {code: (0, 0) for code in HEZE_COUNTIES}
    after = targets.evaluate(heze, target, empty, as_of=date(2018, 12, 20))
    assert after.status == "no_data" and after.as_dict()["status_label"] == "无数据（未达标）"
    assert len(after.no_data) == 9 and after.failing == ()
    assert targets.evaluate(heze, target, empty, as_of=date(2018, 11, 20)).status == "no_data"
    assert targets.evaluate(heze, target, empty, as_of=date(2018, 10, 20)).status == "not_started"
    doc = targets.campaign_status(heze, {target.name: after}, as_of=date(2018, 12, 20))
    assert doc["met"] == 0 and doc["not_met"] == 1
    one = dict(empty, **{"371721": (9, 10)})
    assert targets.evaluate(heze, target, one, as_of=date(2018, 12, 20)).status == "met"  # one county with data


def test_before_its_date_a_target_is_in_progress_and_compared_as_printed():
    """Before `by` the status is on track or behind; 89.996% prints as 90.00% and meets a 90% target."""
    heze = shipped("heze-2018")
    target = next(t for t in heze.targets if t.name == "county-rate")
    assert targets.evaluate(heze, target, {"371721": (89996, 100000)}, as_of=date(2018, 11, 20)).status == "on_track"
    assert targets.evaluate(heze, target, {"371721": (89996, 100000)}, as_of=date(2018, 11, 20),
                            rounding=Rounding(decimals=3)).status == "behind"
    assert targets.evaluate(heze, target, {"371721": (1, 2)}, as_of=date(2018, 10, 20)).status == "not_started"


def test_dynamic_zero_lists_the_cases_that_break_it():
    """动态清零 is missed while any major hazard is open past its deadline, and names those cases."""
    heze = shipped("heze-2018")
    target = next(t for t in heze.targets if t.name == "major-cleared")
    figures = {code: [] for code in HEZE_COUNTIES}
    figures["371721"] = ["HZ-2018-000017", "HZ-2018-000042"]
    result = targets.evaluate(heze, target, figures, as_of=date(2019, 1, 5))
    assert result.status == "missed" and result.failing == ("371721",)
    assert result.as_dict()["failing"][0]["detail"] == ["HZ-2018-000017", "HZ-2018-000042"]
    assert targets.figures_day(target, date(2019, 1, 5)) == date(2019, 1, 5)  # a standing rule: today's figures
    assert targets.evaluate(heze, target, {"371721": 0}, as_of=date(2018, 12, 31)).status == "met"


def test_weekly_reporting_names_silent_weeks_and_counts_only_weeks_that_are_over():
    """A county silent in a finished week misses the target; the week still running is not held against it."""
    heze = shipped("heze-2018")
    target = next(t for t in heze.targets if t.name == "weekly-reports")
    weeks = targets.reporting_periods(heze, target, date(2018, 11, 21))
    assert weeks == [(date(2018, 11, 5), date(2018, 11, 11)), (date(2018, 11, 12), date(2018, 11, 18))]
    result = targets.evaluate(heze, target, {"371721": {date(2018, 11, 5), date(2018, 11, 12)},
                                             "371722": {date(2018, 11, 5)}}, as_of=date(2018, 11, 21))
    assert result.status == "behind" and result.failing == ("371722",)
    assert result.values == {"371721": "按时报送", "371722": "缺报 1 周"}
    assert result.detail == {"371722": ["2018-11-12..2018-11-18"]}


def test_monthly_periods_follow_the_calendar_months():
    """A monthly target's periods are calendar months cut to its dates."""
    jinji = shipped("jinji-2023")
    target = next(t for t in jinji.targets if t.name == "monthly-dispatch")
    assert targets.reporting_periods(jinji, target, date(2023, 8, 31)) == [
        (date(2023, 6, 1), date(2023, 6, 30)), (date(2023, 7, 1), date(2023, 7, 31)), (date(2023, 8, 1), date(2023, 8, 31))]


def test_campaign_status_groups_targets_by_stage():
    """The status document lists stages in order with their state on the day and their targets' results."""
    heze = shipped("heze-2018")
    results = {t.name: targets.evaluate(heze, t, {"371721": (1, 1) if t.kind == "rate" else 0 if t.kind != "reporting"
                                                  else set()}, as_of=date(2018, 11, 20)) for t in heze.targets}
    doc = targets.campaign_status(heze, results, as_of=date(2018, 11, 20))
    assert [(s["title"], s["status"]) for s in doc["stages"]] == [("动员部署", "finished"), ("集中整治", "running"),
                                                                 ("巩固提升", "upcoming")]
    assert [t["target"] for t in doc["stages"][1]["targets"]] == ["weekly-reports", "county-rate"]
    assert doc["region_name"] == "山东省菏泽市" and doc["not_met"] == 1  # silent in both finished weeks


def test_bad_campaign_files_list_every_problem():
    """Dates out of order or outside the period, unknown kinds and stages, missing thresholds: each with its line."""
    text = textwrap.dedent("""
        campaign: c
        title: T
        scope: {region: 37, from: 2024-01-01, to: 2024-12-31, levels: [tiny]}
        stages:
          - {stage: one, title: 一, from: 2024-01-01, to: 2024-06-30}
          - {stage: two, title: 二, from: 2024-06-01, to: 2025-03-01}
          - {stage: three, title: 三, from: 2024-09-01, to: 2024-08-01}
        targets:
          - {target: t1, kind: rate, by: 2024-03-01}
          - {target: t2, kind: miracle, by: 2024-03-01}
          - {target: t3, kind: stock_cleared, by: 2026-01-01, stage: nine}
          - {target: t4, kind: dynamic_zero, by: 2024-03-01, at_least: 5}
          - {target: t5, kind: rate, at_least: 150, by: not-a-date}
    """)
    with pytest.raises(DefinitionInvalid) as caught:
        campaign.parse_text(text, "camp.yaml")
    found = str(caught.value)
    for needle in ("camp.yaml:4: scope: unknown level 'tiny'",
                   "camp.yaml:7: stage 'two': starts on 2024-06-01, before stage 'one' ends",
                   "camp.yaml:7: stage 'two': 'to' (2025-03-01) is outside the campaign's period",
                   "camp.yaml:8: stage 'three': 'to' (2024-08-01) is before 'from'",
                   "camp.yaml:10: target 't1': a rate target needs 'at_least'",
                   "camp.yaml:11: target 't2': 'kind' must be one of",
                   "camp.yaml:12: target 't3': 'by' (2026-01-01) is outside the campaign's period",
                   "camp.yaml:12: target 't3': a stock_cleared target needs 'found_before'",
                   "camp.yaml:12: target 't3': unknown stage 'nine'",
                   "camp.yaml:13: target 't4': 'at_least' does not apply to a dynamic_zero target",
                   "camp.yaml:14: target 't5': 'at_least' must be a number from 0 to 100",
                   "camp.yaml:14: target 't5': 'by' must be a date YYYY-MM-DD"):
        assert needle in found, needle


GOOD_TOP = """\
campaign: c
title: 专项整治
document: 菏安发〔2024〕1号
issuer: 菏泽市安委会
description: 全市开展
scope: {region: "37", from: 2024-01-01, to: 2024-12-31}
stages:
  - {stage: one, title: 一, from: 2024-01-01, to: 2024-06-30}
"""


@pytest.mark.parametrize("line,replacement,problem", [
    (1, 'campaign: "Bad Name!"', "camp.yaml:1: campaign: 'Bad Name!' must be a name"),
    (1, 'campaign: ""', "camp.yaml:1: campaign: 'campaign' is empty"),
    (1, "campaign: [a, b]", "camp.yaml:1: campaign: 'campaign' must be text"),
    (2, "title: ''", "camp.yaml:2: campaign: 'title' is empty"),
    (2, "title: {a: 1}", "camp.yaml:2: campaign: 'title' must be text"),
    (3, "document: " + "号" * 81, "camp.yaml:3: campaign: 'document' is longer than 80 characters"),
    (4, "issuer: [安委会]", "camp.yaml:4: campaign: 'issuer' must be text"),
    (5, "description: " + "长" * 2001, "camp.yaml:5: campaign: 'description' is longer than 2000 characters"),
], ids=["bad-name", "empty-name", "list-name", "empty-title", "mapping-title", "long-document", "list-issuer",
        "long-description"])
def test_the_campaigns_own_name_title_document_issuer_and_description_are_checked(line, replacement, problem):
    """They were read after the problems were collected, so `campaign: "Bad Name!"` parsed as a campaign named ''
    (and every such file installed as a version of it): each is now a problem at its line, exit 7."""
    assert campaign.parse_text(GOOD_TOP, "camp.yaml").name == "c"
    lines = GOOD_TOP.splitlines()
    lines[line - 1] = replacement
    with pytest.raises(DefinitionInvalid) as caught:
        campaign.parse_text("\n".join(lines) + "\n", "camp.yaml")
    assert problem in str(caught.value) and caught.value.exit_code == 7


@pytest.mark.parametrize("issuer,office", [("菏泽市安全生产委员会", "菏泽市安全生产委员会办公室"),
                                           ("曹县安全生产委员会办公室", "曹县安全生产委员会办公室"),
                                           ("菏泽市安委办", "菏泽市安委办"), ("", "")])
def test_the_masthead_names_the_issuers_office_once(issuer, office):
    """A campaign's bulletin is published by its issuer's office: 办公室 is added to a committee, never to an issuer
    that already is an office (the issue's ...办公室办公室)."""
    text = textwrap.dedent(f"""
        campaign: c
        title: 专项整治
        issuer: "{issuer}"
        scope: {{region: "371721", from: 2026-03-01, to: 2026-06-30}}
        stages: [{{stage: s, title: 整治, from: 2026-03-01, to: 2026-06-30}}]
    """)
    assert campaign.parse_text(text, "c.yaml").office == office
