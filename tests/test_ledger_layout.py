"""Ledgers laid out as offices keep them by hand: titles, metadata, merged and two-row headers, notes, CSV encodings."""
from __future__ import annotations

import zipfile
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_sheets import make_xlsx

from engine.domain.errors import InvalidInput
from engine.ledger import read_ledger, read_ledger_bytes

SET = {"region": "371721", "industry": "危险化学品", "source": "self_check"}

# Row 1 a merged title, row 2 metadata, rows 3-4 a two-row header (五落实 over its six sub-headers, the others
# merged over both rows), row 5 column numbers, then data with a blank row, a pre-numbered empty row, an
# enterprise merged down over two hazards, an Excel serial and text dates, and a notes block.
HAND_KEPT = [
    ["某县2026年重大事故隐患排查治理台账"] + [""] * 14,
    ["填报单位：某县应急管理局    填报时间：2026年3月5日", "", "", "", "", "", "", "", "", "", "", "填报人：张三"],
    ["序号", "企业名称", "隐患内容", "排查日期", "隐患级别", "五落实", "", "", "", "", "", "复查日期", "复查人", "复查结果",
     "隐患状态"],
    ["", "", "", "", "", "整改措施", "责任单位", "责任人", "资金（万元）", "时限", "预案", "", "", "", ""],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [1, "某化工有限公司", "液氨储罐区未设泄漏报警装置", 46082, "重大事故隐患", "加装报警并联锁切断", "某化工有限公司", "王五", 15,
     "2026/4/30", "液氨泄漏专项应急预案", "", "", "", "整改中"],
    [2, "", "消防通道被杂物堵塞", "2026年3月2日", "一般隐患", "立即清理", "", "李四", "", "立即", "", date(2026, 3, 2), "赵六",
     "合格", "已整改"],
    [],
    [3],
    [4, "某机械厂", "配电箱未接地", date(2026, 3, 3), "一般", "", "", "", "", "", "", "", "", "", ""],
    ["说明：1. 本表每月25日前报送。"],
    ["2. 重大隐患须附治理方案。"],
    ["", "", "", "", "", "", "", "", "", "", "", "审核人：李主任"],
]
HAND_KEPT_MERGES = ("A1:O1", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "F3:K3", "L3:L4", "M3:M4", "N3:N4", "O3:O4",
                    "B6:B7", "A11:O11")


@pytest.fixture
def hand_kept(tmp_path):
    return make_xlsx(tmp_path / "台账.xlsx", HAND_KEPT, merges=HAND_KEPT_MERGES)


def test_a_hand_kept_sheet_reads_as_its_data_rows_with_excel_row_numbers(hand_kept):
    """Title, metadata, the two-row header, column numbers, blank and numbered rows and notes are not data."""
    ledger = read_ledger(hand_kept, defaults=SET)
    assert ledger.header_row == 4
    assert [r.number for r in ledger.rows] == [6, 7, 10]
    assert ledger.problems() == []
    assert ledger.titles == ("某县2026年重大事故隐患排查治理台账",)
    assert ledger.metadata == {"填报单位": "某县应急管理局", "填报时间": "2026年3月5日", "填报人": "张三"}


def test_the_two_row_header_is_read_as_its_sub_headers(hand_kept):
    """五落实 is a group title: its six sub-headers are the columns; headers merged over both rows count too."""
    mapping = read_ledger(hand_kept, defaults=SET).mapping()
    assert mapping == {"企业名称": "enterprise", "隐患内容": "title", "排查日期": "found_at", "隐患级别": "level",
                       "整改措施": "measures", "责任单位": "responsible_unit", "责任人": "responsible_person",
                       "资金（万元）": "funds", "时限": "deadline", "预案": "emergency_plan", "复查日期": "verified_at",
                       "复查人": "verifier", "复查结果": "result", "隐患状态": "state"}


def test_values_are_read_as_offices_write_them(hand_kept):
    """An Excel serial, 2026/4/30, 2026年3月2日, 15 under 资金（万元）, 立即, and the enterprise merged over two rows."""
    first, second, third = read_ledger(hand_kept, defaults=SET).rows
    assert first.values == {"enterprise": "某化工有限公司", "title": "液氨储罐区未设泄漏报警装置", "found_at": "2026-03-01",
                            "level": "major", "measures": "加装报警并联锁切断", "responsible_unit": "某化工有限公司",
                            "responsible_person": "王五", "funds": "150000.00", "deadline": "2026-04-30",
                            "emergency_plan": "液氨泄漏专项应急预案", "state": "rectifying", **SET}
    assert first.progress == "rectifying"
    assert second.values["enterprise"] == "某化工有限公司"
    assert second.values["found_at"] == second.values["deadline"] == second.values["verified_at"] == "2026-03-02"
    assert second.progress == "verified"
    assert third.values["found_at"] == "2026-03-03" and third.progress == "reported"


def test_a_header_merged_across_columns_is_one_column(tmp_path):
    """隐患内容 merged over C:D is one title column, whether the text sits in C or is split over C and D."""
    rows = [["企业名称", "隐患级别", "隐患内容", "", "排查日期"],
            ["甲公司", "一般", "配电箱未接地", "", "2026-03-01"],
            ["乙公司", "一般", "护栏缺失", "（二层平台）", "2026-03-02"]]
    ledger = read_ledger(make_xlsx(tmp_path / "m.xlsx", rows, merges=("C1:D1", "C2:D2")), defaults=SET)
    assert ledger.mapping() == {"企业名称": "enterprise", "隐患级别": "level", "隐患内容": "title", "排查日期": "found_at"}
    assert ledger.unmapped() == []
    assert [r.values["title"] for r in ledger.rows] == ["配电箱未接地", "护栏缺失 （二层平台）"]


def test_a_two_row_header_without_merges_keeps_headers_of_the_upper_row(tmp_path):
    """A column headed only in the upper row (nothing under it) keeps that header; the group title is not one."""
    rows = [["企业名称", "隐患内容", "排查日期", "隐患级别", "五落实", "", ""],
            ["", "", "", "", "整改措施", "责任人", "整改期限"],
            ["甲公司", "配电箱未接地", "2026-03-01", "一般", "接地", "王五", "2026-03-10"]]
    ledger = read_ledger(make_xlsx(tmp_path / "two.xlsx", rows), defaults=SET)
    assert ledger.header_row == 2
    assert set(ledger.mapping().values()) == {"enterprise", "title", "found_at", "level", "measures",
                                              "responsible_person", "deadline"}
    assert [r.number for r in ledger.rows] == [3] and ledger.rows[0].valid


def test_field_names_are_headers_too(tmp_path):
    """A sheet headed with the engine's own field names (an export with --headers fields) maps one to one."""
    rows = [["title", "Found_At", "level", "enterprise", "region", "industry", "source"],
            ["配电箱未接地", "2026-03-01", "general", "甲公司", 371721, "工贸", "inspection"]]
    ledger = read_ledger(make_xlsx(tmp_path / "f.xlsx", rows))
    assert ledger.rows[0].valid and ledger.rows[0].values["region"] == "371721"


def test_a_header_with_line_breaks_full_width_colon_and_unit_is_recognised(tmp_path):
    """`整改\\n期限：`, `整改资金（元）` and `隐患 级别` read as their fields."""
    rows = [["隐患\n内容", "排查日期：", "隐患 级别", "整改资金（元）", "整改\n期限："],
            ["配电箱未接地", "2026-03-01", "一般", 800, "2026-03-10"]]
    ledger = read_ledger(make_xlsx(tmp_path / "h.xlsx", rows))
    assert list(ledger.mapping().values()) == ["title", "found_at", "level", "funds", "deadline"]
    assert ledger.rows[0].values["funds"] == "800.00"


def test_unknown_headers_are_listed_not_guessed(tmp_path):
    """A column the words do not know is reported as unmapped, with its letter; 序号 as ignored."""
    rows = [["序号", "隐患内容", "排查日期", "整改验收单位"], [1, "配电箱未接地", "2026-03-01", "某局"]]
    ledger = read_ledger(make_xlsx(tmp_path / "u.xlsx", rows))
    assert ledger.unmapped() == [{"column": "A", "header": "序号", "why": "ignored"},
                                 {"column": "D", "header": "整改验收单位", "why": "not a known header"}]


def test_the_first_visible_sheet_is_read_unless_one_is_named(tmp_path):
    """Default: the first visible sheet; --sheet picks another; a missing one is refused listing the sheet names."""
    path = make_xlsx(tmp_path / "s.xlsx", [["隐患内容", "排查日期"], ["配电箱未接地", "2026-03-01"]],
                     sheet="2026年", hidden=("隐藏",))
    assert read_ledger(path).sheet == "2026年"
    assert read_ledger(path, sheet="2026年").rows[0].values["title"] == "配电箱未接地"
    with pytest.raises(InvalidInput, match=r"s\.xlsx: no sheet named '2025年' \(the sheets are: 隐藏, 2026年\)"):
        read_ledger(path, sheet="2025年")


CSV_TEXT = ("某县隐患台账\n填报人：张三\n序号,隐患内容,排查日期,隐患级别,企业名称,隐患状态\n"
            "1,液氨储罐区未设泄漏报警,2026/3/1,重大隐患,某化工有限公司,整改中\n"
            "2,\"消防通道堵塞，杂物\n未清\",2026年3月2日,一般,某化工有限公司,已销号\n,,,,,\n说明：每月报送\n")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_csv_in_every_encoding_and_separator_offices_save(tmp_path, encoding, delimiter):
    """GB18030 (a Chinese Excel's CSV), UTF-8 with or without BOM, UTF-16 (Unicode text), comma or tab."""
    path = tmp_path / "台账.csv"
    path.write_bytes(CSV_TEXT.replace(",", delimiter).encode(encoding))
    ledger = read_ledger(path, defaults=SET)
    assert ledger.header_row == 3 and ledger.sheet is None
    assert [r.number for r in ledger.rows] == [4, 5]
    assert ledger.rows[1].values["title"] == "消防通道堵塞，杂物未清"
    assert [r.progress for r in ledger.rows] == ["rectifying", "closed"]
    assert ledger.problems() == []


def test_a_file_that_cannot_be_used_is_refused_naming_it(tmp_path):
    """Empty, damaged, sheetless CSV with --sheet, or without any header: InvalidInput naming the file."""
    cases = {"empty.csv": b"", "broken.xlsx": b"PK\x03\x04not really a zip",
             "noheader.csv": "甲,乙,丙\n1,2,3\n".encode(), "binary.csv": bytes(range(256)) * 3}
    for name, data in cases.items():
        with pytest.raises(InvalidInput, match=name.replace(".", r"\.")):
            read_ledger_bytes(data, name=name)
    with pytest.raises(InvalidInput, match="a CSV file has no sheets"):
        read_ledger_bytes(CSV_TEXT.encode(), name="a.csv", sheet="Sheet1")
    with pytest.raises(InvalidInput, match="missing.xlsx: cannot read"):
        read_ledger(tmp_path / "missing.xlsx", name="missing.xlsx")


def test_the_sha256_is_of_the_files_bytes(hand_kept):
    """The digest recorded with an import is the plain SHA-256 of the file as given."""
    import hashlib
    assert read_ledger(hand_kept, defaults=SET).sha256 == hashlib.sha256(hand_kept.read_bytes()).hexdigest()


def test_the_merged_ranges_come_from_the_workbook(hand_kept):
    """The sheet really carries the merges the layout relies on (so the tests above test merges, not blanks)."""
    with zipfile.ZipFile(hand_kept) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert all(f'<mergeCell ref="{ref}"/>' in sheet for ref in HAND_KEPT_MERGES)


cells = st.one_of(st.just(""), st.sampled_from(["隐患内容", "排查日期", "隐患级别", "说明：x", "填报人：张", "1", "重大",
                                                "2026/3/1", "/"]),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, max_size=6), max_size=14), st.sampled_from([",", "\t"]))
def test_any_csv_gives_rows_or_invalid_input(rows, delimiter):
    """Whatever a CSV holds, reading it gives a ledger or InvalidInput, never another exception."""
    import csv
    import io
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    try:
        ledger = read_ledger_bytes(out.getvalue().encode("utf-8"), name="x.csv")
    except InvalidInput:
        return
    assert all(r.number > ledger.header_row for r in ledger.rows)


def test_the_example_ledger_in_docs_is_what_its_script_writes_and_reads_cleanly(tmp_path):
    """docs/example-ledger.xlsx matches docs/make_example_ledger.py and its 12 rows import with --set region."""
    import importlib.util
    from pathlib import Path
    docs = Path(__file__).resolve().parent.parent / "docs"
    spec = importlib.util.spec_from_file_location("make_example_ledger", docs / "make_example_ledger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = read_ledger(module.write(tmp_path / "example.xlsx"), defaults={"region": "371721"})
    committed = read_ledger(docs / "example-ledger.xlsx", defaults={"region": "371721"})
    assert [r.values for r in committed.rows] == [r.values for r in fresh.rows]
    assert len(committed.rows) == 12 and committed.problems() == []
    assert committed.preview()["by_level"] == {"major": 5, "general": 7}


def test_a_sheet_reaching_past_a_million_rows_is_refused_before_it_is_expanded(tmp_path):
    """One stray cell in row 1,048,576 would make a million empty rows: refused, naming the row reached."""
    import xlsxwriter
    path = tmp_path / "far.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, ["隐患内容", "排查日期"])
    sheet.write(1_048_575, 0, "x")
    book.close()
    with pytest.raises(InvalidInput, match="far.xlsx: sheet '台账' reaches row 1,048,576"):
        read_ledger(path)


def test_a_header_repeated_below_is_not_a_data_row(tmp_path):
    """Two months pasted one under the other: the second header row is skipped, not reported as a bad row."""
    header = ["隐患内容", "排查日期", "隐患级别"]
    rows = [header, ["配电箱未接地", "2026-03-01", "一般"], [], ["某县4月台账"], header, ["护栏缺失", "2026-04-02", "一般"]]
    ledger = read_ledger(make_xlsx(tmp_path / "two-months.xlsx", rows))
    assert [r.number for r in ledger.rows] == [2, 4, 6]
    assert ledger.rows[1].problems[0] == "no found_at: 排查日期 is empty"  # a title row amid the data is reported


def test_an_upper_header_merged_sideways_with_nothing_under_it_is_the_columns_header(tmp_path):
    """隐患内容 merged B2:C2 with B3:C3 empty heads B:C (one title column), while 五落实 merged F2:K2 over its six
    sub-headers is a group title: the title is not dropped and every row reads."""
    rows = [["某县隐患排查治理台账"] + [""] * 11,
            ["序号", "隐患内容", "", "企业名称", "排查日期", "五落实", "", "", "", "", "", "隐患级别"],
            ["", "", "", "", "", "整改措施", "责任单位", "责任人", "资金", "时限", "预案", ""],
            [1, "配电箱未接地", "", "甲公司", "2026-03-01", "接地", "甲公司", "王五", 800, "2026-03-10", "无", "一般"],
            [2, "护栏缺失", "（二层平台）", "乙公司", "2026-03-02", "加装", "乙公司", "孙强", "", "2026-03-20", "", "一般"]]
    merges = ("A1:L1", "A2:A3", "B2:C2", "D2:D3", "E2:E3", "F2:K2", "L2:L3")
    ledger = read_ledger(make_xlsx(tmp_path / "sideways.xlsx", rows, merges=merges), defaults=SET)
    assert ledger.header_row == 3
    assert ledger.mapping() == {"隐患内容": "title", "企业名称": "enterprise", "排查日期": "found_at",
                                "整改措施": "measures", "责任单位": "responsible_unit", "责任人": "responsible_person",
                                "资金": "funds", "时限": "deadline", "预案": "emergency_plan", "隐患级别": "level"}
    assert ledger.problems() == []
    assert [r.values["title"] for r in ledger.rows] == ["配电箱未接地", "护栏缺失 （二层平台）"]
    assert "五落实" not in [u["header"] for u in ledger.unmapped()]


def test_a_known_header_over_unknown_sub_headers_is_not_lost(tmp_path):
    """隐患内容 merged over two sub-headers none of which is a known header still heads its columns (joined)."""
    rows = [["企业名称", "隐患内容", "", "五落实", "", "排查日期", "隐患级别"],
            ["", "所在场所", "具体情况", "整改措施", "责任人", "", ""],
            ["甲公司", "配电室", "配电箱未接地", "接地", "王五", "2026-03-01", "一般"]]
    merges = ("A1:A2", "B1:C1", "D1:E1", "F1:F2", "G1:G2")
    ledger = read_ledger(make_xlsx(tmp_path / "unknown-subs.xlsx", rows, merges=merges), defaults=SET)
    assert ledger.header_row == 2
    assert ledger.mapping() == {"企业名称": "enterprise", "隐患内容": "title", "整改措施": "measures",
                                "责任人": "responsible_person", "排查日期": "found_at", "隐患级别": "level"}
    assert [r.number for r in ledger.rows] == [3] and ledger.problems() == []
    assert ledger.rows[0].values["title"] == "配电室 配电箱未接地"


def test_totals_rows_under_and_between_the_data_are_not_data(tmp_path):
    """A 小计 row after an enterprise's hazards, a merged 合 计 row with the funds' sum and a count (共3项), a 总计：
    row: skipped like blank rows, not refused as bad rows; a title that merely begins with 总计 is data."""
    rows = [["序号", "企业名称", "隐患内容", "排查日期", "隐患级别", "整改资金"],
            [1, "甲公司", "配电箱未接地", "2026-03-01", "一般", 800],
            [2, "甲公司", "护栏缺失", "2026-03-02", "一般", 200],
            ["", "小计", "", "", "", 1000],
            [3, "乙公司", "总计量器具未检定", "2026-03-03", "一般", 500],
            ["合 计", "", "", "共3项", "", 1500],
            ["总计：", "", "", "", "", 1500],
            ["说明：资金单位为元。"]]
    ledger = read_ledger(make_xlsx(tmp_path / "totals.xlsx", rows, merges=("A6:C6",)), defaults=SET)
    assert [r.number for r in ledger.rows] == [2, 3, 5]
    assert ledger.problems() == []
    assert ledger.rows[2].values["title"] == "总计量器具未检定"


def test_a_mapping_file_adds_totals_words(tmp_path):
    """`totals:` in --mapping adds a label of the user's own (汇总)."""
    rows = [["隐患内容", "排查日期", "隐患级别"], ["配电箱未接地", "2026-03-01", "一般"], ["汇总", "", ""]]
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("totals: [汇总]\n", encoding="utf-8")
    path = make_xlsx(tmp_path / "mine.xlsx", rows)
    assert [r.number for r in read_ledger(path, defaults=SET).rows] == [2, 3]
    assert [r.number for r in read_ledger(path, defaults=SET, mapping=str(mapping)).rows] == [2]
