"""The four lists from the register: the shipped definition's rules pick the rows, a definition of one's own others."""
from __future__ import annotations

import io

import openpyxl
import pytest

from engine.domain.clock import parse_time
from engine.domain.errors import DefinitionInvalid, InvalidInput
from engine.reports.output import to_xlsx
from report_cases import GENERAL, report_scenario, swept_daily

NOW = "2026-04-20T09:00"


@pytest.fixture
def swept(service):
    """The scenario, with the ladder swept on 04-20: `overdue` suspended (30 days), `paused` interviewed (due 04-07)."""
    ids = report_scenario(service)
    swept_daily(service, "2026-03-10", NOW[:10])
    return ids


def _lists(service, **given):
    return {spec.name: rows for spec, rows in service.reports.lists(now=NOW, **given).entries}


def test_the_list_to_clear_has_each_open_major_hazard_with_days_overdue_and_the_rung_reached(service, swept):
    """整改清零重大隐患清单: the two open major hazards, never the verified ones, with what the ladder did."""
    rows = _lists(service, list="major-to-clear")["major-to-clear"]
    assert [(r["case_id"], r["days_overdue"], r["rung_reached"]) for r in rows] == [
        (swept["overdue"], 30, "suspend"), (swept["paused"], 13, "interview")]
    assert {r["responsible_person"] for r in rows} == {"王五"}


def test_key_risk_points_are_open_hazards_in_the_listed_industries_only(service, swept):
    """重点监控企业风险点清单: open chemical hazards; the open 工贸 hazards are not on it."""
    rows = _lists(service, list="key-risk-points")["key-risk-points"]
    assert {r["case_id"] for r in rows} == {swept["overdue"], swept["paused"]}


def test_enterprises_come_once_each_and_the_suspended_one_is_on_the_suspension_list(service, swept):
    """行业企业清单 has each enterprise (by county) once with its counts; 拟停产企业清单 only the suspended one."""
    lists = _lists(service)
    enterprises = {(r["region"], r["enterprise"]): (r["cases"], r["open"], r["major_open"])
                   for r in lists["industry-enterprises"]}
    assert enterprises == {("371721", "某化工有限公司"): (4, 2, 2), ("371721", "某木业有限公司"): (3, 1, 0),
                           ("371722", "某木业有限公司"): (1, 1, 0)}
    suspended = lists["to-suspend"]
    assert [(r["enterprise"], r["rung_reached"], r["flags"]) for r in suspended] == \
        [("某化工有限公司", "suspend", ["exposed", "suspended"])]


def test_a_region_narrows_every_list(service, swept):
    """Under 单县 only its one enterprise and no major hazard."""
    lists = _lists(service, region="371722")
    assert [r["enterprise"] for r in lists["industry-enterprises"]] == ["某木业有限公司"]
    assert lists["major-to-clear"] == [] and lists["to-suspend"] == []


OWN = """
report: mine
lists:
  - list: long-overdue
    title: 逾期二十日以上隐患
    when: {days_overdue_at_least: 20}
    columns: [case_id, enterprise, days_overdue]
  - list: gas
    title: 燃气隐患
    when: {industry_in: [燃气], open: true}
    columns: [case_id, industry]
"""


def test_a_definition_of_ones_own_writes_the_rules(service, swept):
    """Rules are data: 20 days overdue takes only `overdue`; `燃气` is the vocabulary's 城镇燃气."""
    gas = service.commands.report_case(title="燃气管道腐蚀", now=NOW, **{**GENERAL, "industry": "城镇燃气"})
    d = service.reports.definition(OWN, "mine.yaml")
    lists = _lists(service, definition=d)
    assert [r["case_id"] for r in lists["long-overdue"]] == [swept["overdue"]]
    assert [r["case_id"] for r in lists["gas"]] == [gas.id]


def test_an_unknown_industry_in_a_rule_is_a_problem_of_the_file(service):
    """A word the vocabulary does not know (金属冶炼) is reported with its line, not silently never matched."""
    with pytest.raises(DefinitionInvalid) as caught:
        service.reports.definition(OWN.replace("[燃气]", "[燃气, 金属冶炼]"), "mine.yaml")
    assert caught.value.problems[0][:2] == ("mine.yaml", 10) and "金属冶炼" in caught.value.problems[0][2]


def test_an_unknown_list_is_refused_naming_the_lists(service):
    """--list with a name the definition has not: InvalidInput listing the four."""
    with pytest.raises(InvalidInput, match="major-to-clear"):
        service.reports.lists(list="majors")


def test_the_workbook_has_one_sheet_per_list_and_the_json_names_regions(service, swept):
    """xlsx: the four lists, one sheet each, numbers as numbers; JSON rows carry the region's name."""
    result = service.reports.lists(now=NOW)
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(result.page())))
    assert {"行业企业清单", "重点监控企业风险点清单", "整改清零重大隐患清单", "拟停产企业清单"} <= set(book.sheetnames)
    doc = result.as_dict()
    clear = next(entry for entry in doc["lists"] if entry["list"] == "major-to-clear")
    assert clear["count"] == 2 and clear["rows"][0]["region_name"] == "曹县"
    assert set(clear["rows"][0]) == {"case_id", "region", "region_name", "enterprise", "title", "deadline",
                                     "days_overdue", "responsible_unit", "responsible_person", "rung_reached"}


def _ids(lists):
    return {name: [(r.get("case_id") or r.get("enterprise"), r.get("rung_reached"), r.get("days_overdue"))
                   for r in rows] for name, rows in lists.items()}


def test_the_lists_as_of_a_moment_are_the_registers_lists_of_that_moment(service, swept):
    """As of the last sweep's moment the events give the very lists the register gives; before the ladder began
    (03-15), nothing had been escalated, so no enterprise is to be suspended and no rung is reached."""
    replayed = {spec.name: rows for spec, rows in service.reports.lists(as_of=NOW).entries}
    assert _ids(replayed) == _ids(_lists(service))
    before = {spec.name: rows for spec, rows in service.reports.lists(as_of="2026-03-15T09:00").entries}
    assert before["to-suspend"] == []
    assert before["major-to-clear"] and all(r["rung_reached"] is None for r in before["major-to-clear"])
    midway = {spec.name: rows for spec, rows in service.reports.lists(as_of="2026-04-01T09:00").entries}
    assert midway["to-suspend"] == [] and {r["rung_reached"] for r in midway["major-to-clear"]} >= {"interview"}


def test_the_workbooks_dates_are_date_cells(service, swept):
    """`report lists --format xlsx`: 整改期限 is a date cell with a date format, not the text '2026-03-20'."""
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(service.reports.lists(now=NOW).page())))
    sheet = book["整改清零重大隐患清单"]
    header = [c.value for c in sheet[2]]
    deadlines = [row[header.index("整改期限")] for row in sheet.iter_rows(min_row=3)]
    assert deadlines and all(c.is_date and c.number_format == "yyyy-mm-dd" for c in deadlines)
    assert sorted(c.value.date().isoformat() for c in deadlines) == ["2026-03-20", "2026-03-25"]
    assert isinstance(sheet.cell(3, header.index("逾期天数") + 1).value, int)


def test_states_and_flags_are_printed_by_their_chinese_labels(service, swept):
    """拟停产企业清单's 标记 reads the flags' Chinese labels (公开曝光、停产整顿), not `exposed、suspended`, in Markdown, HTML
    and xlsx; a case list's 状态 is its workflow's label (整改中), not `rectifying`; the JSON keeps the codes with the
    labels beside."""
    from engine.reports.blocks import flag_labels
    from engine.reports.output import to_html, to_markdown
    labels = flag_labels(["exposed", "suspended"])
    assert all("公开曝光" in a or "停产整顿" in a for a in labels) and not any(a.isascii() for a in labels)
    shown = "、".join(labels)
    page = service.reports.lists(now=NOW).page()
    md, html = to_markdown(page), to_html(page)
    for text in (md, html):
        assert shown in text and "exposed" not in text and "suspended" not in text
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(page)))
    sheet = book["拟停产企业清单"]
    header = [c.value for c in sheet[2]]
    assert sheet.cell(3, header.index("标记") + 1).value == shown
    d = service.reports.definition(
        "report: mine\nlists:\n  - list: open\n    title: 未整改隐患\n    when: {open: true}\n"
        "    columns: [case_id, state, source, flags]\n", "mine.yaml")
    result = service.reports.lists(now=NOW, definition=d)
    text = to_markdown(result.page())
    assert "整改中" in text and "rectifying" not in text and "已上报" in text and "| reported |" not in text
    rows = {r["case_id"]: r for r in result.as_dict()["lists"][0]["rows"]}
    overdue = rows[swept["overdue"]]
    assert (overdue["state"], overdue["state_label"]) == ("rectifying", "整改中")
    assert overdue["flags"] == ["exposed", "suspended"] and overdue["flag_labels"] == labels


def test_what_the_lists_call_open_follows_what_the_definition_counts_as_rectified(service, swept):
    """As of 04-12, `on_time` was submitted (04-10) and not yet verified: rectified, so not on 整改清零重大隐患清单;
    a definition that counts acceptance only (`counts_as_rectified: accepted`) keeps it there."""
    from importlib import resources
    at = "2026-04-12T00:00"
    shipped = {r["case_id"] for r in _lists(service, list="major-to-clear", as_of=at)["major-to-clear"]}
    assert swept["on_time"] not in shipped and swept["overdue"] in shipped
    text = resources.files("engine.reports").joinpath("default.yaml").read_text(encoding="utf-8")
    accepted = service.reports.definition(text.replace("counts_as_rectified: rectified", "counts_as_rectified: accepted"),
                                          "accepted.yaml")
    assert accepted.counts_as_rectified == "accepted"
    listed = {r["case_id"] for r in _lists(service, list="major-to-clear", as_of=at, definition=accepted)["major-to-clear"]}
    assert listed == shipped | {swept["on_time"]}
