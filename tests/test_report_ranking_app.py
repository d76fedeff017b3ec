"""Rankings from the register: each group's indicators computed, then ranked as the weights file says."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import DefinitionInvalid, InvalidInput
from report_cases import report_scenario, swept_daily

NOW = "2026-04-20T09:00"
WEIGHTS = """
ranking: counties
title: 县区考核排序
missing: MISSING
indicators:
  - {indicator: rate, weight: 60}
  - {indicator: overdue_count, weight: 25}
  - {indicator: notices, weight: 15}
"""


@pytest.fixture
def swept(service):
    ids = report_scenario(service)
    swept_daily(service, "2026-03-10", NOW[:10])
    return ids


def test_counties_are_ranked_on_their_own_figures(service, swept):
    """曹县 (4 of 7 rectified, 2 overdue, 2 notices) and 单县 (0 of 1): each value is the register's, and the
    weighted min-max score puts 曹县 first; counties with nothing found are listed after, not ranked."""
    result = service.reports.ranking(weights=WEIGHTS.replace("MISSING", "exclude"), region="3717", now=NOW)
    values = result.values
    assert (values["371721"]["rate"], values["371721"]["overdue_count"], values["371721"]["notices"]) == \
        (Decimal("57.14"), 2, 2)
    assert (values["371722"]["rate"], values["371722"]["overdue_count"], values["371722"]["notices"]) == (0, 0, 0)
    ranked = [(r.group, r.position) for r in result.rows]
    assert ranked[:2] == [("371721", 1), ("371722", 2)] and {p for _, p in ranked[2:]} == {None}
    assert (result.rows[0].score, result.rows[1].score) == (60, 40)  # 曹县 best on rate only, 单县 on the other two
    assert len(result.rows) == 9


def test_missing_data_counts_as_worst_when_the_file_says_so(service, swept):
    """With `missing: worst` the silent counties are ranked, below those with figures."""
    result = service.reports.ranking(weights=WEIGHTS.replace("MISSING", "worst"), region="3717", now=NOW)
    assert all(r.position is not None for r in result.rows)
    assert result.rows[0].group == "371721"


def test_departments_and_industries_are_ranked_too(service, swept):
    """--by department puts the unfilled department under its own name; --by industry uses the vocabulary's words."""
    weights = "ranking: d\nindicators:\n  - {indicator: rate, weight: 1}\n"
    by_department = service.reports.ranking(weights=weights, by="department", now=NOW)
    assert {r.group for r in by_department.rows} == {"市应急局", "（未填写）"}
    assert by_department.rows[0].group == "市应急局"  # 1 of 1 rectified
    by_industry = service.reports.ranking(weights=weights, by="industry", now=NOW)
    assert {r.group for r in by_industry.rows} == {"工贸", "危险化学品"}  # 2 of 4 against 2 of 4: shared
    assert by_industry.rows[0].position == by_industry.rows[1].position == 1


def test_a_period_counts_only_its_hazards(service, swept):
    """--from/--to: February's 曹县 hazard alone, as of the end of February."""
    weights = "ranking: d\nindicators:\n  - {indicator: found, weight: 1}\n"
    result = service.reports.ranking(weights=weights, region="3717", from_="2026-02-01", to="2026-02-28", now=NOW)
    assert result.values["371721"]["found"] == 1 and result.values["371722"]["found"] == 0


def test_bad_weights_and_groupings_are_refused(service):
    """A weights file with an unknown indicator lists the problem; grouping by state is not a ranking."""
    with pytest.raises(DefinitionInvalid):
        service.reports.ranking(weights="ranking: x\nindicators:\n  - {indicator: beauty, weight: 1}\n")
    with pytest.raises(InvalidInput):
        service.reports.ranking(weights=WEIGHTS.replace("MISSING", "worst"), by="state")


def test_the_cli_prints_places_by_name_and_json(service, swept, runner, db_url, tmp_path):
    """`hazard report ranking` shows county names and scores; --json carries each value."""
    from cli.main import cli
    path = tmp_path / "weights.yaml"
    path.write_text(WEIGHTS.replace("MISSING", "exclude"), encoding="utf-8")
    base = ["--db", db_url, "--now", NOW, "report", "ranking", "--weights", str(path), "--region", "3717"]
    shown = runner.invoke(cli, base)
    assert shown.exit_code == 0 and "曹县" in shown.stdout and "不参与排名" in shown.stdout
    doc = json.loads(runner.invoke(cli, base + ["--json"]).stdout)
    assert doc["rows"][0]["name"] == "曹县" and doc["rows"][0]["values"]["notices"] == 2


def test_a_ranking_as_of_a_moment_uses_the_figures_of_that_moment(service, swept):
    """As of the last sweep the replayed values are the register's; before the ladder began no notice had gone out."""
    weights = WEIGHTS.replace("MISSING", "exclude")
    live = service.reports.ranking(weights=weights, region="3717", now=NOW)
    replayed = service.reports.ranking(weights=weights, region="3717", as_of=NOW)
    assert replayed.values == live.values
    before = service.reports.ranking(weights=weights, region="3717", as_of="2026-03-15T09:00")
    assert before.values["371721"]["notices"] == 0


def test_the_terminal_table_shows_each_value_beside_its_score(service, swept, runner, db_url, tmp_path):
    """The issue's complaint: scores printed under the indicators' own names. Each indicator has a value column
    headed by its name and unit (全部隐患整改率, 逾期未整改（条）; the file's label where it gives one) and a score
    column of its own (…得分); 曹县's row reads 57.14% beside its score. --json keeps the codes with both headings."""
    from cli.main import cli
    path = tmp_path / "weights.yaml"
    path.write_text(WEIGHTS.replace("MISSING", "worst")
                    + "  - {indicator: major_on_time_share, weight: 10, label: 重大隐患按期整改}\n", encoding="utf-8")
    base = ["--db", db_url, "--now", NOW, "report", "ranking", "--weights", str(path), "--region", "3717"]
    shown = runner.invoke(cli, base, env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    header = next(line for line in lines if line.startswith("名次"))
    assert header.split() == ["名次", "地区", "综合得分", "全部隐患整改率", "全部隐患整改率得分", "逾期未整改（条）",
                              "逾期未整改得分", "被通报（次）", "被通报得分", "重大隐患按期整改", "重大隐患按期整改得分"]
    caoxian = next(line for line in lines if line.startswith("1 ")).split()
    # only 曹县 found a major hazard: 重大隐患按期整改 is 曹县's value alone, so nobody is scored on it
    assert caoxian == ["1", "曹县", "60.00", "57.14%", "100.00", "2", "0.00", "2", "0.00", "25.00%", "不计分"]
    for code in ("major_on_time_share", "overdue_count", "notices"):
        assert code not in shown.stdout
    doc = json.loads(runner.invoke(cli, base + ["--json"]).stdout)
    assert [(i["indicator"], i["label"], i["value_label"], i["score_label"]) for i in doc["indicators"]] == [
        ("rate", "全部隐患整改率", "全部隐患整改率", "全部隐患整改率得分"),
        ("overdue_count", "逾期未整改", "逾期未整改（条）", "逾期未整改得分"),
        ("notices", "被通报", "被通报（次）", "被通报得分"),
        ("major_on_time_share", "重大隐患按期整改", "重大隐患按期整改", "重大隐患按期整改得分")]


def test_a_single_county_is_not_scored_100_on_everything(service, swept, runner, db_url, tmp_path):
    """Ranked alone (--region 371721: 曹县 only), a county's values are printed and no score is made up: never 100.00
    on a rate of 57.14%; the note under the table says why, and --json gives null scores and `scored: false`."""
    from cli.main import cli
    path = tmp_path / "weights.yaml"
    path.write_text(WEIGHTS.replace("MISSING", "exclude"), encoding="utf-8")
    base = ["--db", db_url, "--now", NOW, "report", "ranking", "--weights", str(path), "--region", "371721"]
    shown = runner.invoke(cli, base, env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if line.startswith("1 ")).split()
    assert row == ["1", "曹县", "不计分", "57.14%", "不计分", "2", "不计分", "2", "不计分"]
    assert "100.00" not in shown.stdout and "无从比较，不计算得分" in shown.stdout
    doc = json.loads(runner.invoke(cli, base + ["--json"]).stdout)
    assert doc["rows"][0]["score"] is None and set(doc["rows"][0]["scores"].values()) == {None}
    assert [i["scored"] for i in doc["indicators"]] == [False, False, False]
