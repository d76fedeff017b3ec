"""The live commands read what the import reads (issues 16 and 17): regions by code of the national list or by
name, full-width digits, case ids in any case and spacing, dates as ledgers write them, states by their labels,
vocabulary aliases. Each test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest

from tests.conftest import cli_on, FIVE

NOW = "2026-03-02T09:00"
CASE = ["--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--level", "major",
        "--source", "inspection"]
SETS = [arg for name, value in {**FIVE, "deadline": "2026/07/30"}.items() for arg in ("--set", f"{name}={value}")]

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    """`hazard --db URL --now NOW [--actor] ARGS` on a database with the usual users (li: committee over 37, 41)."""
    return cli_on(runner, seeded_url, now=NOW, papers=True)


def listed(hz, *filters) -> list[dict]:
    result = hz("--json", "case", "list", *filters)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def report(hz, region="371721", industry="危险化学品", actor="zhang", *extra) -> str:
    result = hz("case", "report", *CASE, "--region", region, "--industry", industry, *extra, actor=actor)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_a_code_no_division_has_is_refused_by_report_and_user_add_as_by_the_import(hz):
    """`371799` made a phantom county in every report (issue 16): exit 2 naming Heze's divisions, nothing written."""
    result = hz("case", "report", *CASE, "--region", "371799", "--industry", "危险化学品", actor="zhang")
    assert result.exit_code == 2
    assert "--region 371799 is not a known administrative division code" in result.stderr
    assert "菏泽市 (3717) has: 牡丹区 371702" in result.stderr and "曹县 371721" in result.stderr
    added = hz("user", "add", "ghost", "--role", "supervisor", "--region", "371799", actor="li")
    assert added.exit_code == 2 and "371799 is not a known administrative division code" in added.stderr
    assert listed(hz) == [] and "ghost" not in hz("user", "list", "--all").stdout


def test_full_width_digits_are_the_division_and_the_case_counts_in_its_figures(hz):
    """`３７１７２１` (issue 17) is stored as 371721: the case is in the register of 3717 and in Heze's figures."""
    case_id = report(hz, "３７１７２１")
    assert [c["region"] for c in listed(hz, "--region", "３７１７")] == ["371721"]
    stats = json.loads(hz("--json", "report", "stats", "--by", "county", "--region", "3717").stdout)
    assert stats["total"]["found"] == 1 and [r["found"] for r in stats["rows"] if r["found"]] == [1], stats
    added = json.loads(hz("--json", "user", "add", "kong", "--role", "supervisor", "--region", "３７１７",
                          actor="li").stdout)
    assert added["regions"] == ["3717"] and case_id == "HZ-2026-000001"


def test_a_region_may_be_given_by_its_name(hz):
    """曹县, 菏泽市曹县 and 菏泽 read as their divisions wherever a region is taken; cases store six digits."""
    report(hz, "曹县")
    report(hz, "菏泽市")
    assert [c["region"] for c in listed(hz, "--region", "菏泽")] == ["371721", "371700"]
    assert [c["region"] for c in listed(hz, "--region", "菏泽市曹县")] == ["371721"]
    added = json.loads(hz("--json", "user", "add", "sun", "--role", "inspector", "--region", "曹县",
                          actor="li").stdout)
    assert added["regions"] == ["371721"]
    table = hz("user", "list").stdout
    assert "371721 曹县" in table and "3717 菏泽市" in table  # names beside the codes


def test_a_shared_name_is_refused_listing_each_division_unless_the_actors_regions_leave_one(hz):
    """市中区 is a district of 济南 and of 枣庄 in Shandong: li (37) must say which; a Jinan user need not."""
    refused = hz("case", "report", *CASE, "--region", "市中区", "--industry", "工贸", actor="li")
    assert refused.exit_code == 2 and "市中区 (370103, 山东省济南市), 市中区 (370402, 山东省枣庄市)" in refused.stderr
    assert "四川" not in refused.stderr  # li's regions narrow the candidates, even when more than one is left
    assert hz("user", "add", "jinan", "--role", "supervisor", "--region", "济南", actor="li").exit_code == 0
    report(hz, "市中区", "工贸", "jinan")
    assert [c["region"] for c in listed(hz)] == ["370103"]
    unnarrowed = hz("case", "list", "--region", "市中区")  # reading takes no actor: every candidate is named
    assert unnarrowed.exit_code == 2 and "511002" in unnarrowed.stderr


def test_the_import_s_words_and_dates_are_read_by_the_live_commands(hz):
    """`--industry 危化`, `--set deadline=2026/07/30`, `--state 整改中`, `hz-2026-000001` (issue 16)."""
    case_id = report(hz, "371721", "危化")
    assert listed(hz, "--industry", "危化")[0]["industry"] == "危险化学品"
    advanced = hz("--json", "case", "advance", "hz-2026-000001", "assign", *SETS, actor="zhang")
    assert advanced.exit_code == 0, advanced.output
    assert json.loads(advanced.stdout)["deadline"] == "2026-07-30"
    assert hz("case", "advance", " HZ-2026-000001 ", "start", actor="ent").exit_code == 0
    assert [c["id"] for c in listed(hz, "--state", "整改中")] == [case_id]
    assert listed(hz, "--state", "已交办") == []
    assert json.loads(hz("--json", "case", "show", "hz-2026-1").stdout)["state"] == "rectifying"
    assert len(json.loads(hz("--json", "case", "history", "ＨＺ－２０２６－０００００１").stdout)) == 3
    assert hz("audit", "replay", "hz-2026-000001").exit_code == 0
    assert hz("audit", "trace", "hz-2026-000001").exit_code == 0
    found_from = listed(hz, "--found-from", "2026年3月1日", "--found-to", "2026.3.2")
    assert [c["id"] for c in found_from] == [case_id]


def test_an_unknown_state_lists_the_states_with_their_labels(hz):
    result = hz("case", "list", "--state", "整改完毕")
    assert result.exit_code == 2 and "rectifying (整改中)" in result.stderr


def test_export_takes_the_filters_as_case_list_reads_them(hz, tmp_path):
    """`hazard export --region 菏泽 --state 已上报` writes the register's rows of that region and state."""
    report(hz, "曹县")
    out = tmp_path / "台账.csv"
    result = hz("--json", "export", str(out), "--region", "菏泽", "--state", "已上报", actor="zhang")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 1 and "371721" in out.read_text(encoding="utf-8-sig")


def test_a_ledger_and_a_live_report_of_the_same_words_store_the_same_case(hz, tmp_path):
    """The import's 行政区划 may be a name as `--region` may; both store the division's six digits and the term."""
    sheet = tmp_path / "台账.csv"
    sheet.write_text("隐患内容,排查日期,隐患级别,企业名称,行政区划,行业,隐患来源\n"
                     "配电箱未接地,2026/3/1,一般,甲公司,菏泽市曹县,危化,自检\n", encoding="utf-8")
    assert hz("import", str(sheet), actor="zhang").exit_code == 0
    live = hz("--json", "case", "report", "--title", "配电箱未接地", "--enterprise", "甲公司", "--level", "一般",
              "--region", "菏泽市曹县", "--industry", "危化", "--source", "自检", actor="zhang")
    assert live.exit_code == 0, live.output
    imported, reported = listed(hz)
    assert [(c["region"], c["industry"], c["source"], c["level"]) for c in (imported, reported)] == \
        [("371721", "危险化学品", "self_check", "general")] * 2
