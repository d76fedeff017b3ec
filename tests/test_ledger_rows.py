"""Each ledger row checked as a back-filled record: what it must carry, dates in order, --set, --mapping, the preview."""
from __future__ import annotations

import pytest
from ledger_sheets import make_xlsx

from engine.domain.errors import InvalidInput
from engine.ledger import read_ledger, read_ledger_bytes

HEADER = ["隐患内容", "排查日期", "隐患级别", "企业名称", "行政区划", "行业", "隐患来源"]
GOOD = ["配电箱未接地", "2026-03-01", "一般", "甲公司", "371721", "工贸", "执法检查"]


def csv_ledger(rows: list[list], *, name: str = "台账.csv", **options):
    text = "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"
    return read_ledger_bytes(text.encode("utf-8"), name=name, **options)


def test_a_complete_row_is_valid_and_normalised():
    """Title, found date, level, enterprise, region, industry and source make a row; source words map to codes."""
    row = csv_ledger([HEADER, GOOD]).rows[0]
    assert row.valid
    assert row.values == {"title": "配电箱未接地", "found_at": "2026-03-01", "level": "general", "enterprise": "甲公司",
                          "region": "371721", "industry": "工贸", "source": "inspection"}


def test_missing_fields_are_named_with_the_row_number_excel_shows(tmp_path):
    """Under a title row and a two-row header, each problem is FILE:ROW with Excel's row number."""
    rows = [["某县台账"], HEADER, [""] * 7, GOOD, ["", "2026-03-02", "一般", "甲公司", "371721", "工贸", "自查"],
            ["漏油", "", "特大", "甲公司", "37172a", "工贸", "自查"]]
    path = make_xlsx(tmp_path / "台账.xlsx", rows, merges=("A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:F3", "G2:G3"))
    ledger = read_ledger(path, name="台账.xlsx")
    assert [r.number for r in ledger.rows] == [4, 5, 6]
    assert ledger.problems() == [
        "台账.xlsx:5: no title: 隐患内容 is empty",
        "台账.xlsx:6: 隐患级别: '特大' is not a known level (such as 一般 = general, 重大 = major; add yours under "
        "values: in a mapping file)",
        "台账.xlsx:6: 行政区划: region '37172a' is not a region code (2, 4 or 6 digits, e.g. 37, 3717, 371721)",
        "台账.xlsx:6: no found_at: 排查日期 is empty",
    ]
    assert ledger.errors()[0] == {"row": 5, "message": "no title: 隐患内容 is empty"}


def test_a_field_the_sheet_lacks_is_named_with_how_to_give_it():
    """An enterprise's own ledger has no region column: the problem says so (the command line adds --set)."""
    ledger = csv_ledger([HEADER[:4], GOOD[:4]])
    assert ledger.rows[0].problems == (
        "no region: the sheet has no 行政区划 column, nor a value for every row",
        "no industry: the sheet has no 行业 column, nor a value for every row",
        "no source: the sheet has no 隐患来源 column, nor a value for every row")


def test_set_fills_what_the_sheet_lacks_and_the_sheet_wins():
    """--set gives every row a field; a value in the sheet takes precedence over it; an empty cell takes the --set."""
    ledger = csv_ledger([HEADER[:5], GOOD[:5], ["漏油", "2026-03-02", "重大", "乙公司", ""]],
                        defaults={"region": "菏泽", "industry": "危化", "source": "self_check"})
    assert [r.values["region"] for r in ledger.rows] == ["371721", "371700"]
    assert all(r.valid and r.values["industry"] == "危险化学品" for r in ledger.rows)


@pytest.mark.parametrize("defaults, says", [({"region": "菏泽县"}, "^set region=菏泽县: region '菏泽县' is neither"),
                                            ({"colour": "red"}, "'colour' is not a ledger field"),
                                            ({"found_at": "昨天"}, "^set found_at=昨天: '昨天' is not a date")])
def test_a_bad_set_is_an_error_for_the_whole_import(defaults, says):
    """A --set value that cannot be read stops the import before any row is read."""
    with pytest.raises(InvalidInput, match=says):
        csv_ledger([HEADER, GOOD], defaults=defaults)


def test_a_major_hazard_need_not_carry_the_five_implementations():
    """A back-filled major hazard without funds or emergency plan is valid: the case will show what is missing."""
    row = csv_ledger([HEADER, ["液氨泄漏", "2026-03-01", "重大事故隐患", "甲公司", "371721", "危化", "自查"]]).rows[0]
    assert row.valid and row.values["level"] == "major" and "funds" not in row.values


def test_dates_out_of_order_are_problems():
    """found <= assigned <= verified <= closed where given, and no deadline before the found date."""
    header = HEADER + ["交办日期", "复查日期", "销号日期", "整改期限"]
    ledger = csv_ledger([header, GOOD + ["2026-03-05", "2026-03-04", "2026-03-06", "2026-02-28"],
                         GOOD + ["2026-02-01", "", "", ""], GOOD + ["2026-03-02", "2026-03-03", "2026-03-03", "2026-03-01"]])
    assert ledger.rows[0].problems == ("复查日期 2026-03-04 is before 交办日期 2026-03-05",
                                       "整改期限 2026-02-28 is before 排查日期 2026-03-01")
    assert ledger.rows[1].problems == ("交办日期 2026-02-01 is before 排查日期 2026-03-01",)
    assert ledger.rows[2].valid and ledger.rows[2].progress == "closed"


def test_a_deadline_of_at_once_is_the_found_date():
    """整改期限 立即 / 立查立改 means fixed at once: the deadline is the day it was found."""
    ledger = csv_ledger([HEADER + ["整改期限"], GOOD + ["立查立改"]])
    assert ledger.rows[0].values["deadline"] == "2026-03-01"


@pytest.mark.parametrize("state, result, verified, progress", [
    ("已整改", "合格", "2026-03-05", "verified"),     # 已整改 plus a passed check: verified
    ("已整改", "", "", "verifying"),
    ("", "", "2026-03-05", "verified"),               # dates alone tell how far it got
    ("", "不合格", "2026-03-05", "rectifying"),       # a failed check's date is no verification
    ("已销号", "", "", "closed"),
    ("", "", "", "reported"),
    ("开放", "", "", "reported"),
])
def test_progress_is_the_latest_stage_the_row_shows(state, result, verified, progress):
    """The state column, the result column and the dates together give the stage of the closed loop."""
    row = csv_ledger([HEADER + ["隐患状态", "复查结果", "复查日期"], GOOD + [state, result, verified]]).rows[0]
    assert row.valid and row.progress == progress


@pytest.mark.parametrize("state, result, completed, checked, progress", [
    ("", "", "2026-03-04", "", "verifying"),            # a completion date alone: rectification complete
    ("已整改", "", "2026-03-04", "", "verifying"),
    ("已整改", "合格", "2026-03-04", "2026-03-05", "verified"),
    ("", "不合格", "2026-03-04", "2026-03-05", "rectifying"),  # the completion its check failed does not stand
])
def test_a_completion_date_is_rectification_complete_and_a_check_date_acceptance(state, result, completed, checked,
                                                                                    progress):
    """整改完成日期 is its own column (rectified_at), no longer read as the check date (复查日期, verified_at)."""
    header = HEADER + ["隐患状态", "复查结果", "整改完成日期", "复查日期"]
    row = csv_ledger([header, GOOD + [state, result, completed, checked]]).rows[0]
    assert row.valid and row.progress == progress
    assert row.values["rectified_at"] == "2026-03-04" and row.values.get("verified_at", "") == checked


def test_a_completion_date_after_the_check_date_is_a_problem():
    """found <= assigned <= rectified <= verified <= closed."""
    header = HEADER + ["整改完成日期", "复查日期"]
    row = csv_ledger([header, GOOD + ["2026-03-06", "2026-03-05"]]).rows[0]
    assert row.problems == ("复查日期 2026-03-05 is before 整改完成日期 2026-03-06",)


def test_a_state_contradicted_by_the_row_is_a_problem():
    """状态 整改中 with a passed check is a contradiction to fix in the sheet, not to guess about."""
    row = csv_ledger([HEADER + ["隐患状态", "复查结果"], GOOD + ["整改中", "验收合格"]]).rows[0]
    assert row.problems == ("隐患状态 says rectifying but the row shows it verified (复查结果 '验收合格')",)


def test_an_unknown_state_word_is_a_problem_and_an_unknown_result_is_kept():
    """A state must be a known word; a result is free text (its known words only add evidence)."""
    row = csv_ledger([HEADER + ["隐患状态", "复查结果"], GOOD + ["搁置", "已按要求整改"]]).rows[0]
    assert row.problems[0].startswith("隐患状态: '搁置' is not a known state")
    assert row.values["result"] == "已按要求整改"


def test_a_repeated_field_is_read_from_its_first_column():
    """Two columns for one field: the first is read, the second listed as unmapped with the reason."""
    ledger = csv_ledger([HEADER + ["问题描述"], GOOD + ["另一个描述"]])
    assert ledger.rows[0].values["title"] == "配电箱未接地"
    assert ledger.unmapped() == [{"column": "H", "header": "问题描述", "why": "title is read from column A"}]


def test_a_mapping_file_adds_header_and_value_words(tmp_path):
    """--mapping: a header of the user's own and a level word of their own, added to the shipped ones."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text("headers:\n  整改负责人姓名: responsible_person\n  title: [隐患点]\n"
                       "values:\n  level: {较大: major}\n  state: {已闭合: closed}\n", encoding="utf-8")
    ledger = csv_ledger([["隐患点", "排查日期", "隐患级别", "整改负责人姓名", "状态"], ["漏油", "2026-03-01", "较大", "王五", "已闭合"]],
                        mapping=mapping, defaults={"enterprise": "甲", "region": "371721", "industry": "工贸",
                                                   "source": "自查"})
    assert ledger.problems() == []
    assert ledger.rows[0].values["responsible_person"] == "王五" and ledger.rows[0].progress == "closed"


def test_a_bad_mapping_file_reports_every_problem_with_its_line(tmp_path):
    """Unknown keys, unknown fields, bad values and a word given twice, each as FILE:LINE, all at once."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text("headers:\n  负责人: responsible_persn\n  责任人: verifier\n  甲: title\n  甲: level\n"
                       "values:\n  level: {较大: big}\n  colour: {红: red}\ncolumns: 3\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        csv_ledger([HEADER, GOOD], mapping=mapping)
    lines = caught.value.message.splitlines()
    assert lines[0].endswith("map.yaml:5: '甲' is written twice in this mapping (first at line 4)")
    mapping.write_text("headers:\n  负责人: responsible_persn\nvalues:\n  level: {较大: big}\n  colour: {红: red}\n"
                       "columns: 3\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        csv_ledger([HEADER, GOOD], mapping=mapping)
    name = str(mapping)
    lines = caught.value.message.splitlines()
    assert lines[0].startswith(f"{name}:2: headers: 'responsible_persn' is not one of assigned_at, closed_at,")
    assert lines[1:] == [
        f"{name}:4: values: level: 'big' is not one of general, major",
        f"{name}:5: values for 'colour' are not read (values are read for level, state, result, source, industry, yes_no, posting_level, handling)",
        f"{name}:6: unknown key 'columns' (known: headers, ignore, values, immediate, metadata, notes, totals, found_in_code, whole_only, enterprise_from)",
    ]


def test_a_mapping_file_with_aliases_deep_nesting_or_not_a_mapping_is_refused(tmp_path):
    """YAML anchors could expand without bound, deep nesting recurses; a list is not a mapping file: each refused."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("headers: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"deep.yaml:1: nested more than 8 levels deep"):
        csv_ledger([HEADER, GOOD], mapping=deep)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x]\nb: [*a, *a]\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bomb.yaml:1: anchors and aliases"):
        csv_ledger([HEADER, GOOD], mapping=bomb)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"list.yaml:1: a mapping file must be a mapping"):
        csv_ledger([HEADER, GOOD], mapping=listed)


def test_the_preview_counts_what_would_be_imported():
    """--dry-run data: counts of valid rows by level and stage, the mapping, the first rows, the errors."""
    rows = [HEADER + ["隐患状态"], GOOD + ["整改中"], GOOD[:2] + ["重大"] + GOOD[3:] + ["已销号"],
            GOOD[:2] + ["重大"] + GOOD[3:] + ["待验收"], [""] + GOOD[1:] + ["整改中"]]
    preview = csv_ledger(rows).preview(first=2)
    assert (preview["rows"], preview["valid"], preview["invalid"]) == (4, 3, 1)
    assert preview["by_level"] == {"major": 2, "general": 1}
    assert preview["by_progress"] == {"rectifying": 1, "verifying": 1, "closed": 1}
    assert preview["mapping"]["隐患内容"] == "title"
    assert [r["row"] for r in preview["first_rows"]] == [2, 3]
    assert preview["errors"] == [{"row": 5, "message": "no title: 隐患内容 is empty"}]


def test_rows_are_held_to_the_engines_limits_as_case_report_is():
    """A 2,001-character title, a 1995 found date (or serial), a 201-character enterprise, a 101-character industry,
    a 20,001-character measure and a fraction of a fen are each refused in their row, with the limits of
    engine/domain/limits.py; at the limits the row is valid."""
    from engine.domain import limits
    header = HEADER + ["整改措施", "资金"]
    at_limits = ["隐" * limits.MAX_TITLE_CHARS, "2000-01-01", "一般", "企" * limits.MAX_NAME_CHARS, "371721",
                 "行" * limits.MAX_CODE_CHARS, "执法检查", "措" * limits.MAX_TEXT_CHARS, "1200.50"]
    past = ["隐" * (limits.MAX_TITLE_CHARS + 1), "1995-03-01", "一般", "企" * (limits.MAX_NAME_CHARS + 1), "371721",
            "行" * (limits.MAX_CODE_CHARS + 1), "执法检查", "措" * (limits.MAX_TEXT_CHARS + 1), "1200.505"]
    serial = ["配电箱未接地", "34759", "一般", "甲公司", "371721", "工贸", "执法检查", "", ""]  # 1995-02-28
    ledger = csv_ledger([header, at_limits, past, serial])
    first, second, third = ledger.rows
    assert first.valid, first.problems
    assert ledger.problems() == [
        "台账.csv:3: 隐患内容: 2,001 characters is more than the limit of 2,000",
        "台账.csv:3: 排查日期: '1995-03-01' is outside the years 2000-2100 the engine accepts",
        "台账.csv:3: 企业名称: 201 characters is more than the limit of 200",
        "台账.csv:3: 行业: 101 characters is more than the limit of 100",
        "台账.csv:3: 整改措施: 20,001 characters is more than the limit of 20,000",
        "台账.csv:3: 资金: '1200.505' has a fraction of a fen (0.01 yuan)",
        "台账.csv:4: 排查日期: '34759' is outside the years 2000-2100 the engine accepts",
    ]


def test_a_set_value_past_a_limit_stops_the_import():
    """--set title=... (given to every row) longer than MAX_TITLE_CHARS is refused for the whole import."""
    with pytest.raises(InvalidInput, match="^set title: 2,001 characters is more than the limit of 2,000"):
        csv_ledger([HEADER[1:], GOOD[1:]], defaults={"title": "隐" * 2001})
