"""The four lists and the stats table rendered from rows: the rule selects, regions show by name, xlsx is real."""
from __future__ import annotations

import io

import openpyxl

from engine.reports import definition, lists
from engine.reports.figures import Counts, Rounding, stats_row, total
from engine.reports.output import to_html, to_markdown, to_xlsx


def open_major(case_id: str, region: str, **more) -> dict:
    return {"case_id": case_id, "region": region, "enterprise": "某化工有限公司", "title": "液氨储罐区未设泄漏报警",
            "deadline": "2018-09-30", "days_overdue": 12, "responsible_unit": "某化工有限公司", "responsible_person": "王某",
            "rung_reached": "post_supervision", "level": "major", "open": True, "overdue": True, "flags": [],
            "industry": "危险化学品", **more}


def test_the_list_to_clear_takes_open_major_hazards_only():
    """Of three cases, the closed one and the general one stay off 整改清零重大隐患清单."""
    spec = definition.default().list("major-to-clear")
    rows = [open_major("HZ-1", "371725"), open_major("HZ-2", "371721", open=False),
            open_major("HZ-3", "371721", level="general")]
    chosen = lists.select(spec, rows)
    assert [r["case_id"] for r in chosen] == ["HZ-1"]
    text = to_markdown(lists.lists_page([(spec, chosen)], region="3717", as_of="2018-10-31"))
    assert text.startswith("# 山东省菏泽市整改清零重大隐患清单")
    assert "| 1 | HZ-1 | 郓城县 | 某化工有限公司 | 液氨储罐区未设泄漏报警 | 2018-09-30 | 12 | 某化工有限公司 | 王某 | 挂牌督办 |" in text


def test_an_enterprise_is_on_the_suspension_list_when_any_of_its_cases_matches():
    """拟停产企业清单 takes the enterprise with one suspended case among several."""
    spec = definition.default().list("to-suspend")
    rows = [{"region": "371721", "enterprise": "甲公司", "industry": "工贸", "major_open": 1, "rung_reached": "suspend",
             "flags": ["suspended"], "cases_detail": [open_major("a", "371721"), open_major("b", "371721", flags=["suspended"])]},
            {"region": "371722", "enterprise": "乙公司", "industry": "工贸", "major_open": 1, "rung_reached": "notice",
             "flags": [], "cases_detail": [open_major("c", "371722", rung_reached="notice")]}]
    assert [r["enterprise"] for r in lists.select(spec, rows)] == ["甲公司"]


def test_all_four_lists_in_one_workbook_one_sheet_each():
    """The four lists go to four sheets named by their titles, an empty list saying it is empty."""
    d = definition.default()
    entries = [(spec, []) for spec in d.lists]
    entries[2] = (d.list("major-to-clear"), [open_major("HZ-1", "371725")])
    page = lists.lists_page(entries, region="3717")
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(page)))
    assert book.sheetnames == ["概要", "行业企业清单", "重点监控企业风险点清单", "整改清零重大隐患清单", "拟停产企业清单"]
    sheet = book["整改清零重大隐患清单"]
    assert [c.value for c in sheet[3]][:3] == [1, "HZ-1", "郓城县"]
    assert book["行业企业清单"]["A3"].value == "行业企业清单暂无条目"
    assert "行业企业清单暂无条目" in to_html(page)


def test_the_stats_table_shows_names_codes_counts_and_rates():
    """Grouped by county: the name and the six-digit code, exact counts, rates; the total from the sums."""
    rows = [stats_row({"county": "371721"}, Counts(found=7538, rectified=6920, overdue=100, rectified_on_time=6800)),
            stats_row({"county": "371725"}, Counts(found=0))]
    page = lists.stats_page(rows, ["county"], total=total(rows), title="菏泽市隐患统计")
    text = to_markdown(page)
    assert "| 曹县 | 371721 | 7538 | 6920 | 618 | 100 | 6800 | 518 | 91.80% | 96.87% |" in text
    assert "| 郓城县 | 371725 | 0 | 0 | 0 | 0 | 0 | 0 | / | / |" in text
    assert "| **合计** |" in text
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(page)))["统计"]
    assert sheet["I3"].value == 0.918 and sheet["I3"].number_format == "0.00%" and sheet["I4"].value == "/"


def test_whole_percent_rounding_gives_a_whole_percent_format():
    """With decimals: 0 the xlsx format is 0% and the text 92%."""
    d = definition.ReportDefinition(name="x", title="t", rounding=Rounding(decimals=0))
    rows = [stats_row({"industry": "工贸"}, Counts(found=13, rectified=12), d.rounding)]
    page = lists.stats_page(rows, ["industry"], definition=d)
    assert "| 工贸 | 13 | 12 | 1 | 0 | 0 | 1 | 92% |" in to_markdown(page)
    assert openpyxl.load_workbook(io.BytesIO(to_xlsx(page)))["统计"]["H3"].number_format == "0%"
