"""Bulletins from a document: the Markdown reads like a published one, the HTML is self-contained, the xlsx real."""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from engine.reports import bulletin, definition
from report_sample import DOCS, sample_document


@pytest.fixture(scope="module")
def doc():
    return sample_document()


@pytest.fixture(scope="module")
def markdown(doc):
    return bulletin.to_markdown_text(doc)


def test_totals_read_as_the_seed_prints_them(markdown):
    """The lead paragraph gives 21521 found, 18622 rectified, 86.53%, and the change since September."""
    assert "2018年10月，菏泽市共排查隐患 21521 条，已整改 18622 条，全部隐患整改率 86.53%" in markdown
    assert "排查隐患数较上期增加 1647 条（+8.29%），全部隐患整改率上升 1.48 个百分点。" in markdown


def test_each_county_gets_the_published_paragraph(markdown):
    """A paragraph per county: general hazards in 条 with their rate, major ones in 条 and their enterprises in 家."""
    assert "郓城县：报送整改一般隐患 1180 条，一般隐患整改率 90.68%；重大隐患 6 条，涉及企业 5 家，已整改 3 家，" \
           "重大隐患整改率（按企业计）60.00%。" in markdown
    assert "定陶区：本期未报送隐患排查治理情况。" in markdown
    assert "| **合计** | **7538** | **6920** | **91.80%** |" in markdown  # the seed's counties: 91.80%


def test_departments_on_time_and_named_cases(markdown):
    """Departments 13983 / 11702 = 83.69%; on-time rate with the count not yet due; overdue majors named."""
    assert "市安委会重点成员单位排查隐患 13983 条，已整改 11702 条，全部隐患整改率 83.69%。" in markdown
    assert re.search(r"全部隐患按期整改率 \d+\.\d\d%；逾期未整改 795 条；尚有 2104 条未到整改期限", markdown)
    assert "| HZ-2018-000317 | 郓城县 | 郓城县某化工有限公司 | 液氨储罐区未设置泄漏报警装置 | 2018-09-30 | 31 |" in markdown
    assert "| 2018-10-12 | 实名通报 | 郓城县某化工有限公司 | 王某 |" in markdown
    assert "本期挂牌督办重大隐患 1 条，摘牌销号 1 条。" in markdown
    assert "本期未报送隐患排查治理情况的单位：定陶区。" in markdown
    assert "事件日志锚点（截至 2018-10-31 23:59，案件 21521 件，事件 97410 条）：sha256:" in markdown


def test_regions_appear_by_name_never_as_bare_codes(markdown, doc):
    """No county code stands alone in the text: every region is printed by its name."""
    for unit in doc["units"]:
        assert unit["region"] not in markdown
    assert "3717" not in markdown.replace("HZ-", "")


def test_sections_are_numbered_in_the_definitions_order(markdown):
    """Headings run 一、二、... in the layout's order, past ten as 十一、十二、十三."""
    headings = re.findall(r"^## (\S+?)、(\S+)", markdown, re.M)
    assert [n for n, _ in headings][:3] == ["一", "二", "三"] and headings[-1][0] == "十三"
    assert headings[0][1] == "总体情况" and headings[-1][1] == "数据核验"


def test_a_definition_changes_units_rounding_and_sections(doc):
    """Whole percent, major hazards in items (条), '—' for nothing found and only three sections."""
    d = definition.parse_text("report: x\nrounding: {decimals: 0, zero: '—'}\nbulletin:\n  sections: [totals, units, silent]\n"
                              "  general_unit: 项\n  major_unit: 条\n", "x.yaml")
    text = bulletin.to_markdown_text(doc, d)
    assert "全部隐患整改率 87%" in text and "郓城县：报送整改一般隐患 1180 项，一般隐患整改率 91%；重大隐患 6 条，已整改 4 条" in text
    assert "| 定陶区 | 0 | 0 | — |" in text
    assert [h for h in re.findall(r"^## (.+)$", text, re.M)] == ["一、总体情况", "二、各县（区）情况", "三、未报送单位"]


def test_the_html_is_one_self_contained_printable_page(doc):
    """Inline CSS and SVG, A4 page rule, Chinese language; no script, link, image or URL to fetch."""
    html = bulletin.to_html_text(doc)
    for needle in ('<html lang="zh-CN">', '<meta charset="utf-8">', "@page { size: A4", "<svg class=\"chart\"",
                   "WenQuanYi Micro Hei", "菏泽市安全生产委员会办公室", "郓城县"):
        assert needle in html, needle
    for banned in ("<script", "<link", "<img", "http://", "https://", "url(", "@import", "src="):
        assert banned not in html, banned


def test_the_chart_marks_counties_below_the_target(doc):
    """The SVG draws one bar per county with a rate, red under the 90% line, and '/' for the silent one."""
    html = bulletin.to_html_text(doc)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count("<rect") == 8 and svg.count("#c0392b\" rx") == 1  # 鄄城县 88.40%
    assert "目标 90%" in svg and ">/</text>" in svg


def test_markup_in_the_data_is_escaped(doc):
    """An enterprise name with markup prints as text in HTML and Markdown, never as a tag."""
    hostile = dict(doc, overdue_major=[dict(doc["overdue_major"][0], enterprise="<script>x</script>|某公司*")])
    html = bulletin.to_html_text(hostile)
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert "\\|某公司\\*" in bulletin.to_markdown_text(hostile)


HOSTILE = ["[点此查看](javascript:alert(1))", "![图](https://evil.example/p.png)", "<javascript:alert(1)>",
           "<img src=x onerror=alert(1)>", "[ref]: javascript:alert(1)", "# 假标题", "1. 假列表", "- 假列表", "> 假引用",
           "`代码`", "~~~", "**粗体** _斜体_", "a | b", "&lt;script&gt;"]


def _tags(markdown: str) -> list[str]:
    """The tags CommonMark (with tables) renders the Markdown into: its structure, without the text. Links are let
    through whatever their scheme, as renderers less careful than markdown-it's own default do."""
    from markdown_it import MarkdownIt
    renderer = MarkdownIt("commonmark").enable("table")
    renderer.validateLink = lambda url: True
    html = renderer.render(markdown)
    return re.findall(r"<(/?[a-z0-9]+)", html)


@pytest.mark.parametrize("text", HOSTILE)
def test_link_and_markup_syntax_in_the_data_stays_text_in_the_markdown(doc, text):
    """An enterprise and a title from the register holding link, image, HTML or block syntax render (CommonMark) to
    exactly the tags a plain name does: no live `javascript:` link, no image, no tag, no heading or list."""
    plain = dict(doc, overdue_major=[dict(doc["overdue_major"][0], enterprise="某公司", title="某隐患")])
    hostile = dict(doc, overdue_major=[dict(doc["overdue_major"][0], enterprise=text, title=text)])
    assert _tags(bulletin.to_markdown_text(hostile)) == _tags(bulletin.to_markdown_text(plain))


@pytest.mark.parametrize("text", HOSTILE)
def test_a_title_paragraph_and_footer_from_the_data_make_no_markup_of_their_own(text):
    """Where the text starts a line (the page title, a paragraph, the masthead, the footer) it is no block either."""
    from engine.reports.blocks import Column, Page, Paragraph, Table
    from engine.reports.output import to_html, to_markdown

    def page(words: str) -> Page:
        return Page(title=words, issuer=words, footer=words, blocks=[
            Paragraph(words), Paragraph(words, "note"), Paragraph(words, "anchor"),
            Table(words, [Column("name", words)], [{"name": words}])])
    assert _tags(to_markdown(page(text))) == _tags(to_markdown(page("某公司")))
    html = to_html(page(text))
    assert "javascript:alert" not in re.sub(r">[^<]*<", "><", html)  # only ever inside text, never in a tag
    assert "<img" not in html and "<script" not in html


def test_the_xlsx_has_a_sheet_per_table_with_real_numbers(doc):
    """Counts are numbers, rates numbers with a 0.00% format, '/' where there is no rate, widths set, a chart."""
    data = bulletin.to_xlsx_bytes(doc)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["概要", "总体情况", "各县区", "部门", "逾期重大隐患", "通报", "约谈", "挂牌督办", "摘牌销号", "排名"]
    sheet = book["各县区"]
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["县（区）", "排查隐患（条）", "已整改（条）", "全部隐患整改率"]
    mudan, dingtao = sheet[3], sheet[4]
    assert mudan[0].value == "牡丹区" and mudan[1].value == 1210 and mudan[1].number_format == "#,##0"
    assert mudan[3].value == pytest.approx(0.924) and mudan[3].number_format == "0.00%"
    assert dingtao[3].value == "/"
    total = sheet[sheet.max_row]
    assert total[0].value == "合计" and total[1].value == 7538 and total[3].value == pytest.approx(0.918)
    assert sheet.column_dimensions["A"].width > 8
    assert book["概要"]["A1"].value == "菏泽市安全生产隐患排查治理月通报"
    assert any(name.startswith("xl/charts/chart") for name in zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_a_document_without_its_required_parts_is_refused():
    """A caller that forgets the period, region or totals gets a clear ValueError, not a half bulletin."""
    with pytest.raises(ValueError, match="period, region, totals"):
        bulletin.page({})


def test_the_readme_example_is_what_the_code_renders(markdown):
    """docs/bulletin-example.md is the sample rendered today (regenerate: python tests/report_sample.py; its
    picture, docs/bulletin-example.png, is compared with the page in a browser: tests/test_report_browser.py)."""
    assert (DOCS / "bulletin-example.md").read_text(encoding="utf-8") == markdown


def test_a_county_without_major_hazards_keeps_the_published_form(doc):
    """A county that found general hazards but no major one still reads `重大隐患 0 条，涉及企业 0 家，已整改 0 家，
    重大隐患整改率（按企业计）/` (the definition's zero text), never a shortened `无重大隐患`."""
    units = [dict(u) for u in doc["units"]]
    yun = next(u for u in units if u["region"] == "371725")
    yun.update(major_enterprises=0, major_enterprises_rectified=0, major_found=0, major_rectified=0)
    text = bulletin.to_markdown_text(dict(doc, units=units))
    assert "郓城县：报送整改一般隐患 1180 条，一般隐患整改率 90.68%；重大隐患 0 条，涉及企业 0 家，已整改 0 家，" \
           "重大隐患整改率（按企业计）/。" in text
    assert "无重大隐患" not in text
    d = definition.parse_text("report: x\nrounding: {zero: '—'}\n", "x.yaml")
    assert "涉及企业 0 家，已整改 0 家，重大隐患整改率（按企业计）—。" in bulletin.to_markdown_text(dict(doc, units=units), d)


def _column(sheet, label):
    header = [c.value for c in sheet[2]]
    return [row[header.index(label)] for row in sheet.iter_rows(min_row=3) if row[0].value is not None]


def test_the_xlsx_rates_ranks_and_dates_are_real_values(doc):
    """总体情况's 全部隐患整改率 row is a percentage number (not the text '86.53%'), 排名's 名次 integers, and every date
    (整改期限, 日期, 挂牌日期) a date cell with a date format, so a spreadsheet sorts and sums them."""
    book = openpyxl.load_workbook(io.BytesIO(bulletin.to_xlsx_bytes(doc)))
    totals = book["总体情况"]
    rate_row = next(row for row in totals.iter_rows(min_row=3) if row[0].value == "全部隐患整改率")
    assert rate_row[1].value == pytest.approx(0.8653) and rate_row[1].number_format == "0.00%"
    assert isinstance(rate_row[2].value, float) and rate_row[2].number_format == "0.00%"  # the previous period's
    places = [c.value for c in _column(book["排名"], "名次")]
    assert places[0] == 1 and all(isinstance(p, int) for p in places if p != "不参与排名")
    for sheet, label in (("逾期重大隐患", "整改期限"), ("通报", "日期"), ("挂牌督办", "挂牌日期"), ("摘牌销号", "摘牌日期")):
        cells = _column(book[sheet], label)
        assert cells and all(c.is_date and c.number_format == "yyyy-mm-dd" for c in cells), (sheet, label)
    deadline = _column(book["逾期重大隐患"], "整改期限")[0].value
    assert deadline.date().isoformat() == "2018-09-30"


def _table(markdown: str, first_header: str) -> tuple[list[str], list[list[str]]]:
    """The Markdown table whose header starts with `first_header`: its headings and its rows' cells."""
    lines = markdown.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    cells = lambda line: [c.strip().strip("*") for c in line.strip("|").split(" | ")]  # noqa: E731
    rows = []
    for line in lines[at + 2:]:
        if not line.startswith("|"):
            break
        rows.append(cells(line))
    return cells(lines[at]), rows


def test_every_count_in_the_totals_says_what_it_counts(markdown, doc):
    """The issue's 其中重大隐患 2 家 over a row 重大隐患 4: the paragraph gives the major hazards in 条 and the enterprises
    in 家, and each row of 总体情况 names its unit, the enterprises' rows apart from the hazards'."""
    t = doc["totals"]
    assert (f"其中重大隐患 {t['major_found']} 条，涉及企业 {t['major_enterprises']} 家，已整改 "
            f"{t['major_enterprises_rectified']} 家，重大隐患整改率（按企业计）") in markdown
    headings, rows = _table(markdown, "指标")
    items = {row[0]: row[1] for row in rows}
    assert items["排查隐患（条）"] == str(t["found"]) and items["重大隐患（条）"] == str(t["major_found"])
    assert items["涉及重大隐患企业（家）"] == str(t["major_enterprises"])
    assert items["已整改企业（家）"] == str(t["major_enterprises_rectified"])
    assert "全部隐患整改率" in items and "重大隐患整改率（按企业计）" in items
    counts = [label for label in items if "率" not in label]
    assert counts and all(label.endswith(("（条）", "（家）")) for label in counts), counts


def test_a_countys_rate_says_which_levels_it_covers(markdown):
    """The paragraph's rate is of general hazards and says so; the table's is of all levels and says so."""
    assert "郓城县：报送整改一般隐患 1180 条，一般隐患整改率 90.68%；重大隐患 6 条，涉及企业 5 家，已整改 3 家，" \
           "重大隐患整改率（按企业计）60.00%。" in markdown
    headings, _ = _table(markdown, "县（区）")
    assert headings == ["县（区）", "排查隐患（条）", "已整改（条）", "全部隐患整改率", "逾期未整改（条）", "全部隐患按期整改率",
                        "重大隐患（条）", "涉及重大隐患企业（家）", "已整改企业（家）", "重大隐患整改率（按企业计）"]


def test_other_tables_and_paragraphs_name_their_units(markdown):
    """Departments, the on-time paragraph, the overdue and posted major hazards: hazards in 条, rates named."""
    headings, _ = _table(markdown, "部门")
    assert headings == ["部门", "排查隐患（条）", "已整改（条）", "全部隐患整改率", "逾期未整改（条）"]
    assert "市安委会重点成员单位排查隐患 13983 条，已整改 11702 条，全部隐患整改率 83.69%。" in markdown
    assert re.search(r"按期整改 \d+ 条，全部隐患按期整改率 \d+\.\d\d%；", markdown)
    assert "逾期未整改重大隐患 3 条，现予点名" in markdown and "本期挂牌督办重大隐患 1 条，摘牌销号 1 条。" in markdown
    assert not re.search(r"\d 项", markdown)  # the report's word for hazards is 条 throughout


def test_major_hazards_in_items_name_one_unit_throughout(doc):
    """With major_unit 条 the major hazards are items everywhere: no enterprises' rows, no 家."""
    d = definition.parse_text("report: x\nbulletin:\n  major_unit: 条\n", "x.yaml")
    text = bulletin.to_markdown_text(doc, d)
    assert "郓城县：报送整改一般隐患 1180 条，一般隐患整改率 90.68%；重大隐患 6 条，已整改 4 条，重大隐患整改率 66.67%。" in text
    assert "家" not in text


@pytest.mark.parametrize("kind,name", [("week", "周简报"), ("month", "月通报"), ("quarter", "季度通报")])
def test_the_title_names_the_period_kind(doc, kind, name):
    """A week's brief is a 周简报, a month's bulletin a 月通报: the title follows the period, not always the monthly one."""
    text = bulletin.to_markdown_text(dict(doc, period={**doc["period"], "kind": kind}))
    assert text.startswith(f"# 菏泽市安全生产隐患排查治理{name}\n")


def test_the_ranking_shows_each_value_beside_its_score(markdown):
    """综合排名 has a value column and a score column per indicator, each headed as what it is, and says what a
    score is."""
    headings, rows = _table(markdown, "名次")
    assert headings == ["名次", "县（区）", "综合得分", "全部隐患整改率", "全部隐患整改率得分", "逾期未整改（条）", "逾期未整改得分"]
    first = rows[0]
    assert first[:2] == ["1", "单县"] and first[3] == "93.49%" and first[5] == "12"
    assert "得分：每项指标在参与排名的单位中最好的记 100 分、最差的记 0 分" in markdown


def test_a_ranking_of_one_county_prints_its_values_and_no_scores(doc):
    """The issue's 曹县, the only county with figures: its rate 36.00% is printed, and no score, never 100.00."""
    from engine.domain import regions
    from engine.reports import ranking
    spec = ranking.parse_text(RANKING_WEIGHTS, "weights.yaml")
    values = {"371721": {"rate": Decimal("36.00"), "overdue_count": 5}, "371722": {"rate": None, "overdue_count": None}}
    rows = ranking.rank(spec, values)
    section = ranking.section(spec, rows, names={g: regions.label(g) for g in values})
    text = bulletin.to_markdown_text(dict(doc, ranking=section))
    _, table = _table(text, "名次")
    assert table[0] == ["1", "曹县", "不计分", "36.00%", "不计分", "5", "不计分"]
    assert table[1][:3] == ["不参与排名", "单县", "—"]
    assert "无从比较，不计算得分" in text


RANKING_WEIGHTS = """
ranking: r
missing: exclude
indicators:
  - {indicator: rate, weight: 60}
  - {indicator: overdue_count, weight: 40}
"""


def test_interviews_and_postings_cite_the_numbers_of_their_notices(doc, markdown):
    """Where a notice (文书) was issued for an interview or a posted supervision, its row cites the number (文号);
    a bulletin over cases that issued none keeps its columns."""
    assert "文号" not in markdown
    interviews = [dict(doc["interviews"][0], notices=["371725安监约〔2018〕3号"])]
    opened = [dict(doc["postings"]["opened"][0], notices=["3717安监督〔2018〕1号", "371725安监责改〔2018〕9号"])]
    text = bulletin.to_markdown_text(dict(doc, interviews=interviews, postings=dict(doc["postings"], opened=opened)))
    assert "文号" in text and "371725安监约〔2018〕3号" in text
    assert "3717安监督〔2018〕1号、371725安监责改〔2018〕9号" in text
