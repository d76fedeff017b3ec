"""Ledgers as offices and systems really write them (issue 21): headers in more words than the known ones, a
bracket listing the level words, signature and instruction rows, grades of a system's own, the 双重预防
standard's check kinds, rows under way without a state, long titles, and a missing column said once.

The sheets are generated here, in the layouts of templates and exports in use (a power plant's 隐患排查治理台账,
a railway construction register's graded hazards, a chemical park's 双重预防 export), not copied from anywhere."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st
from ledger_sheets import make_xlsx

from engine.domain import vocabularies
from engine.ledger import read_ledger, read_ledger_bytes
from engine.ledger.words import IGNORE, load_words
from tests.conftest import cli_on

SET = {"region": "371721", "industry": "危险化学品"}


def csv(rows: list[list], **options):
    text = "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"
    return read_ledger_bytes(text.encode("utf-8"), name="台账.csv", **options)


def imported(hz, path, *options, **who) -> dict:
    """`hazard --json import PATH OPTIONS...`, which must succeed: its document."""
    done = hz("--json", "import", path, *options, **who)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


# -- headers in more words ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header,field,why", [
    ("隐患整改截止时间", "deadline", "contains 整改截止时间"),       # a longer header around a known one
    ("整改责任人员姓名", "responsible_person", "contains 整改责任人"),
    ("隐患问题详细描述", "title", "contains 隐患问题"),
    ("计划整改完成期限", "deadline", "contains 期限"),
    ("所属区县区县编码", "region", "contains 区县编码"),
    ("事故隐患名称与内容", "title", "contains 事故隐患名称"),
    ("责任人联系电话", IGNORE, "contains 联系电话 (not imported)"),  # the longer word wins over 责任人
])
def test_a_header_is_matched_by_the_longest_known_word_it_contains(header, field, why):
    match = load_words().match(header)
    assert (match.target, match.why) == (field, why)


def test_a_header_two_fields_tie_on_is_a_question_not_a_guess():
    match = load_words().match("企业编号")  # 企业 (enterprise) and 编号 (a serial number, ignored): which?
    assert match.target is None
    assert match.why == "ambiguous: it could be enterprise (企业) or ignore (编号); name it in a mapping file"


def test_a_bracket_listing_level_words_makes_the_level_column_whatever_its_head_says():
    """隐患类别（一般、重大） is the level column; 隐患类别 alone is the accident type."""
    ledger = csv([["企业名称", "隐患描述", "发现日期", "隐患类别（一般、重大）", "隐患类别", "检查方式"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "重大", "触电", "执法检查"]], defaults=SET)
    assert ledger.problems() == []
    assert ledger.rows[0].values["level"] == "major" and ledger.rows[0].values["hazard_type"] == "触电"
    assert {m["header"]: m["why"] for m in ledger.matched()}["隐患类别（一般、重大）"] == \
        "its bracket lists level words (一般、重大)"


def test_an_exact_header_claims_its_field_before_one_that_only_contains_a_word_of_it():
    ledger = csv([["企业编码", "企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["91370000MA3C", "甲公司", "配电箱未接地", "2026-03-01", "一般", "日常排查"]], defaults=SET)
    assert ledger.rows[0].values["enterprise"] == "甲公司"
    assert ledger.rows[0].values["credit_code"] == "91370000MA3C"


def test_an_enterprise_given_only_by_its_code_is_kept_as_the_code():
    ledger = csv([["统一社会信用代码", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["91370000MA3C4XYZ1K", "配电箱未接地", "2026-03-01", "一般", "日常排查"]], defaults=SET)
    assert ledger.problems() == []
    assert ledger.rows[0].values["enterprise"] == ledger.rows[0].values["credit_code"] == "91370000MA3C4XYZ1K"


def test_an_enterprise_known_only_by_its_code_is_named_where_a_name_is_known(runner, seeded_url, tmp_path):
    """A code alone is named by a row of the same sheet giving both, else by the register (an earlier import of
    the code with its name); a code no one named stays the enterprise."""
    hz = cli_on(runner, seeded_url, actor="li", now="2026-04-01T09:00")
    first = tmp_path / "名称台账.csv"
    first.write_text("企业名称,统一社会信用代码,隐患内容,排查日期,隐患级别,隐患来源,所属区县\n"
                     "甲化工有限公司,91370000MA3C4XYZ1K,配电箱未接地,2026-03-01,一般,日常排查,371721\n",
                     encoding="utf-8-sig")
    imported(hz, first, "--set", "industry=危险化学品")
    second = tmp_path / "编码台账.csv"
    second.write_text("企业名称,统一社会信用代码,隐患内容,排查日期,隐患级别,隐患来源,所属区县\n"
                      ",91370000MA3C4XYZ1K,护栏缺失,2026-03-02,一般,日常排查,371721\n"
                      ",91370000MA3C5ABC2P,消防通道堵塞,2026-03-02,一般,日常排查,371721\n"
                      "乙公司,91370000MA3C5ABC2P,安全出口锁闭,2026-03-03,一般,日常排查,371721\n"
                      ",91370000MA3C6DEF3Q,应急照明损坏,2026-03-03,一般,日常排查,371721\n", encoding="utf-8-sig")
    preview = imported(hz, second, "--set", "industry=危险化学品", "--dry-run")
    assert [r["values"]["enterprise"] for r in preview["first_rows"]] == [
        "甲化工有限公司", "乙公司", "乙公司", "91370000MA3C6DEF3Q"]
    imported(hz, second, "--set", "industry=危险化学品")
    held = {c["title"]: (c["enterprise"], c["fields"]["credit_code"])
            for c in json.loads(hz("--json", "case", "list").stdout)}
    assert held["护栏缺失"] == ("甲化工有限公司", "91370000MA3C4XYZ1K")
    assert held["消防通道堵塞"] == ("乙公司", "91370000MA3C5ABC2P")
    assert held["应急照明损坏"] == ("91370000MA3C6DEF3Q", "91370000MA3C6DEF3Q")


def test_a_row_posted_for_supervision_links_a_posted_supervision_case(runner, seeded_url, tmp_path):
    """是否挂牌督办 = 是 with its level, 文号 and 督办期限 opens a posted-supervision case linked to the open hazard,
    as the ladder's rung opens one; a closed hazard and a 否 link none; the dry run says which rows will."""
    hz = cli_on(runner, seeded_url, actor="li", now="2026-04-01T09:00")
    sheet = tmp_path / "重大事故隐患情况表.csv"
    sheet.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,所属区县,整改截止时间,隐患状态,是否挂牌督办,挂牌督办级别,"
                     "挂牌督办文号,督办期限\n"
                     "甲公司,储罐区防火堤破损,2026-02-01,重大,执法检查,371721,2026-06-30,整改中,是,市级,菏安委〔2026〕3号,"
                     "2026-06-30\n"
                     "乙公司,液氨管道腐蚀,2026-02-02,重大,执法检查,371721,2026-03-30,已销号,是,县级,曹安委〔2026〕1号,\n"
                     "丙公司,配电室无挡鼠板,2026-02-03,一般,执法检查,371721,2026-03-30,整改中,否,,,\n",
                     encoding="utf-8-sig")
    preview = imported(hz, sheet, "--set", "industry=危险化学品", "--dry-run")
    assert preview["postings"] == [{"row": 2, "workflow": "posted-supervision"}]
    done = imported(hz, sheet, "--set", "industry=危险化学品")
    [posting] = done["postings"]
    assert (posting["row"], posting["authority"], posting["document_no"], posting["deadline"]) == (
        2, "city", "菏安委〔2026〕3号", "2026-06-30")
    shown = json.loads(hz("--json", "case", "show", posting["posting"]).stdout)
    assert shown["workflow"] == "posted-supervision" and shown["state"] == "listed"
    assert shown["parent"] == posting["case_id"] and shown["fields"]["authority"] == "city"
    hazard = json.loads(hz("--json", "case", "show", posting["case_id"]).stdout)
    assert [(c["id"], c["workflow"]) for c in hazard["linked"]] == [(posting["posting"], "posted-supervision")]
    for audit in (("audit", "verify"), ("audit", "replay", "--all")):
        checked = hz(*audit)
        assert checked.exit_code == 0, checked.output
    wrong = tmp_path / "坏级别.csv"
    wrong.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,所属区县,是否挂牌督办,挂牌督办级别\n"
                     "丁公司,安全出口锁闭,2026-02-03,重大,执法检查,371721,是,国家级\n", encoding="utf-8-sig")
    refused = hz("import", wrong, "--set", "industry=危险化学品")
    assert refused.exit_code == 2 and "'国家级' is not a known posting level" in refused.output


def test_a_hazard_posted_on_its_ledger_is_not_proposed_for_posting_again(runner, seeded_url, tmp_path):
    """The ladder's posted-supervision rung, due once the deadline is 15 days past, is skipped (saying why) for a
    hazard whose ledger linked an open posting; the interview rung before it is still proposed."""
    hz = cli_on(runner, seeded_url, actor="li", now="2026-03-01T09:00")
    sheet = tmp_path / "重大事故隐患情况表.csv"
    sheet.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,所属区县,整改截止时间,隐患状态,整改措施,整改责任人,是否挂牌督办,"
                     "挂牌督办级别\n"
                     "甲公司,储罐区防火堤破损,2026-02-01,重大,执法检查,371721,2026-03-10,整改中,修复防火堤,王五,是,市级\n",
                     encoding="utf-8-sig")
    [posting] = imported(hz, sheet, "--set", "industry=危险化学品")["postings"]
    rungs = {}
    for moment in ("2026-03-18T09:00", "2026-03-26T09:00"):  # the interview due 7 days past, the posting 15
        swept = hz("--json", "--now", moment, "escalate", actor="li")
        assert swept.exit_code == 0, swept.output
        rungs.update({e["rung"]: e for e in json.loads(swept.stdout)["rungs"] if e["case_id"] == posting["case_id"]})
    assert rungs["interview"]["status"] == "proposed"
    assert rungs["posted-supervision"]["status"] == "skipped"
    assert "posted-supervision case of this hazard is open already" in rungs["posted-supervision"]["reason"]
    for audit in (("audit", "verify"), ("audit", "replay", "--all")):
        checked = hz(*audit)
        assert checked.exit_code == 0, checked.output


# -- a power plant's template: merged header, signature and instruction rows -------------------------------------

def power_plant_ledger(tmp_path, rows: int = 3):
    """A 隐患排查治理台账 as a power-plant group's template lays it out: a title, a 填报单位 line, a two-row header
    with 五落实 over its sub-headers in the group's own words, the data, a signature row and a 填写要求 block."""
    top = [["XX发电有限公司隐患排查治理台账"] + [""] * 10,
           ["填报单位：XX发电有限公司（盖章）", "", "", "", "", "", "", "", "填报时间：2026年3月31日", "", ""],
           ["序号", "隐患编码", "隐患问题描述", "隐患发现日期", "隐患等级（一般、重大）", "检查场所", "五落实", "", "",
            "整改截止时间", "隐患状态"],
           ["", "", "", "", "", "", "控制措施", "整改责任人姓名", "整改资金（万元）", "", ""]]
    data = [[i + 1, f"YH-2026-{i + 1:03d}", f"#{i + 1}机组磨煤机防护罩缺失", "2026-03-02", "一般" if i else "重大",
             "输煤栈桥", "加装防护罩", "王五", 1.5, "2026-04-30", "整改中"] for i in range(rows)]
    tail = [["填报人：张三", "", "", "审核：李四", "", "", "批准：", "", "", "", ""],
            ["填写要求：1.隐患编码按“单位代码-年份-序号”填写；2.隐患状态填写整改中、已整改或已验收。"],
            ["注意：（1）重大隐患须同时报送治理方案。"]]
    merges = ("A1:K1", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "F3:F4", "G3:I3", "J3:J4", "K3:K4")
    return make_xlsx(tmp_path / "隐患排查治理台账.xlsx", top + data + tail, merges=merges)


def test_a_power_plants_template_reads_with_no_mapping_and_its_signature_rows_are_not_data(tmp_path):
    ledger = read_ledger(power_plant_ledger(tmp_path), defaults={**SET, "source": "self_check",
                                                                 "enterprise": "XX发电有限公司"})
    assert ledger.problems() == []
    assert [r.number for r in ledger.rows] == [5, 6, 7]  # not the 填报人/审核/批准 row, nor the instructions
    first = ledger.rows[0].values
    assert (first["level"], first["deadline"], first["responsible_person"], first["funds"], first["location"]) == (
        "major", "2026-04-30", "王五", "15000.00", "输煤栈桥")
    assert ledger.metadata["填报单位"] == "XX发电有限公司（盖章）"


# -- a missing column is said once ----------------------------------------------------------------------------

def test_a_column_the_sheet_lacks_is_said_once_at_the_header_not_on_every_row():
    rows = [["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"]]
    rows += [["甲公司", f"隐患{i}", "2026-03-01", "一般", "日常排查"] for i in range(41)]
    rows += [["甲公司", "", "2026-03-01", "一般", "日常排查"]]  # the one real row problem
    ledger = csv(rows, defaults={"industry": "工贸"})
    assert ledger.problems() == [
        "台账.csv:1: no region: the sheet has no 行政区划 column, nor a value for every row (so none of the 42 rows "
        "can be imported)",
        "台账.csv:43: no title: 隐患内容 is empty"]


# -- what a row says ------------------------------------------------------------------------------------------

def test_an_open_row_with_measures_a_person_and_a_deadline_but_no_state_is_being_rectified():
    header = ["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源", "整改措施", "责任人", "整改期限"]
    ledger = csv([header, ["甲公司", "配电箱未接地", "2026-03-01", "一般", "日常排查", "重新接地", "王五", "2026-03-20"],
                  ["甲公司", "护栏缺失", "2026-03-01", "一般", "日常排查", "", "王五", "2026-03-20"]], defaults=SET)
    assert [r.progress for r in ledger.rows] == ["rectifying", "reported"]


def test_a_title_as_long_as_real_rows_hold_is_taken():
    title = "；".join(f"（{i}）作业点{i}号脚手架连墙件缺失、剪刀撑不连续，临边防护栏杆高度不足" for i in range(1, 22))
    assert 600 < len(title) < 2000
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["中铁某局项目部", title, "2026-03-01", "一般", "日常排查"]], defaults=SET)
    assert ledger.problems() == [] and ledger.rows[0].values["title"] == title


@pytest.mark.parametrize("word,level", [("1级", "major"), ("Ⅰ级", "major"), ("Ⅱ级重大", "major"), ("3级", "general"),
                                        ("一般3级", "general"), ("较大隐患", "general"), ("重点隐患", "general"),
                                        ("突出隐患", "general")])
def test_a_grade_of_a_systems_own_maps_to_a_level_and_is_kept_as_grade(word, level):
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["甲公司", "配电箱未接地", "2026-03-01", word, "日常排查"]], defaults=SET)
    assert ledger.rows[0].values["level"] == level and ledger.rows[0].values["grade"] == word


def test_the_engines_own_level_words_are_no_grade():
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "重大事故隐患", "日常排查"],
                  ["甲公司", "护栏缺失", "2026-03-01", "一般隐患", "日常排查"]], defaults=SET)
    assert ["grade" in r.values for r in ledger.rows] == [False, False]


@pytest.mark.parametrize("word", ["日常排查", "综合性排查", "专业性排查", "季节性排查", "重点时段及节假日前排查", "事故类比排查",
                                  "复产复工前排查", "外聘专家诊断式排查", "管控措施实效"])
def test_the_dual_prevention_standards_check_kinds_are_the_enterprises_own_checks(word):
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "排查类型"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "一般", word]], defaults=SET)
    assert ledger.problems() == [] and ledger.rows[0].values["source"] == "self_check"


def test_a_handling_type_of_fixed_on_the_spot_makes_the_deadline_the_found_date():
    """治理类型 即查即改 (the 双重预防 standard's handling type) is a deadline of the found date; 限期整改 keeps the
    deadline column's own date; an unknown handling word is the row's problem."""
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "排查类型", "治理类型", "整改期限"],
                  ["甲公司", "灭火器过期", "2026-03-01", "一般", "日常排查", "即查即改", ""],
                  ["甲公司", "配电箱未接地", "2026-03-01", "一般", "季节性排查", "限期整改", "2026-03-20"],
                  ["甲公司", "护栏缺失", "2026-03-01", "一般", "日常排查", "马上改", ""]], defaults=SET)
    first, second, third = ledger.rows
    assert first.values["deadline"] == "2026-03-01" and first.values["handling"] == "immediate"
    assert second.values["deadline"] == "2026-03-20" and second.values["handling"] == "deadline"
    assert third.problems == ("治理类型: '马上改' is not a known handling type (such as 即查即改, 限期整改; add yours "
                              "under values: in a mapping file)",)


def test_one_vocabulary_one_answer_for_the_import_and_case_report():
    """专项检查 is one source to a ledger and to `case report` alike (special_campaign)."""
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "一般", "专项检查"]], defaults=SET)
    assert ledger.rows[0].values["source"] == vocabularies.sources().resolve("专项检查") == "special_campaign"


# -- the whole way, as an office runs it -----------------------------------------------------------------------

@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, actor="zhang", now="2026-04-01T09:00")


def test_the_template_imports_as_it_is_and_the_dry_run_says_how_each_header_matched(hz, tmp_path):
    path = power_plant_ledger(tmp_path)
    sets = ("--set", "region=371721", "--set", "industry=电力", "--set", "source=self_check", "--set",
            "enterprise=XX发电有限公司")  # facts the sheet does not hold at all (its 填报单位 line is not a column)
    dry = hz("--json", "import", path, *sets, "--dry-run")
    assert dry.exit_code == 0, dry.output
    matched = {m["header"]: (m["field"], m["why"]) for m in json.loads(dry.stdout)["matched"]}
    assert matched["隐患等级（一般、重大）"] == ("level", "its bracket lists level words (一般、重大)")
    assert matched["整改责任人姓名"][0] == "responsible_person"
    shown = hz("import", path, *sets, "--dry-run")
    assert "matched by" in shown.stdout and "its bracket lists level words" in shown.stdout
    assert imported(hz, path, *sets)["imported"] == 3
    states = sorted(c["state"] for c in json.loads(hz("--json", "case", "list").stdout))
    assert states == ["rectifying"] * 3


def test_a_grade_is_kept_on_the_case_and_written_back_by_export(hz, tmp_path):
    sheet = tmp_path / "铁路隐患台账.csv"
    sheet.write_text("隐患编号,企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源\n"
                     "TL-1,中铁某局项目部,隧道二衬背后空洞,2026-03-01,1级,建筑施工,日常排查\n", encoding="utf-8-sig")
    first = imported(hz, sheet, "--set", "region=371721")["first_case"]
    case = json.loads(hz("--json", "case", "show", first).stdout)
    assert (case["level"], case["fields"]["grade"]) == ("major", "1级")
    out = tmp_path / "register.csv"
    assert hz("export", out).exit_code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    header, row = lines[1], lines[2]  # under the export's title line
    assert row.split(",")[header.split(",").index("隐患分级")] == "1级"
    for moment in ((), ("--as-of", "2026-04-01T09:00")):  # grouped by grade, live and replayed alike
        stats = json.loads(hz("--json", "report", "stats", "--by", "grade", *moment, actor="li").stdout)
        assert [(r["grade"], r["found"]) for r in stats["rows"]] == [("1级", 1)]


# -- the matcher on any header --------------------------------------------------------------------------------

@given(st.text(alphabet="隐患整改责任人期限日期措施企业名称编号电话内容时间描述", max_size=12))
def test_any_header_gets_one_answer_that_says_why(header):
    words = load_words()
    match = words.match(header)
    assert match.why
    if match.target is not None and not match.exact and "bracket" not in match.why:
        word = match.why.split()[1]
        assert word in header and words.headers[word] == match.target


def test_a_region_name_several_divisions_share_is_narrowed_by_the_importers_regions(runner, seeded_url, tmp_path):
    """河东区 is in Tianjin and in Linyi; for the provincial office of Shandong and Henan (37, 41) it is Linyi's,
    and 鼓楼区 (four cities) is Kaifeng's; `--set region=3717` is as good as 371700."""
    hz = cli_on(runner, seeded_url, actor="li", now="2026-04-01T09:00")
    sheet = tmp_path / "台账.csv"
    sheet.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,所属区县\n"
                     "甲公司,配电箱未接地,2026-03-01,一般,日常排查,河东区\n"
                     "乙公司,护栏缺失,2026-03-01,一般,日常排查,鼓楼区\n", encoding="utf-8-sig")
    imported(hz, sheet, "--set", "industry=工贸")
    assert sorted(c["region"] for c in json.loads(hz("--json", "case", "list").stdout)) == ["371312", "410204"]
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "一般", "日常排查"]],
                 defaults={"region": "3717", "industry": "工贸"})
    assert ledger.rows[0].values["region"] == "371700"


def test_region_names_are_looked_up_inside_the_division_region_names(runner, seeded_url, tmp_path):
    """--region names the division region names are looked up in, instead of the importer's regions: 河东区 is
    Tianjin's inside 1201 and Linyi's inside 临沂市; a --region that is no division changes nothing and says so."""
    hz = cli_on(runner, seeded_url, actor="li", now="2026-04-01T09:00")
    sheet = tmp_path / "台账.csv"
    sheet.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,所属区县\n"
                     "甲公司,配电箱未接地,2026-03-01,一般,日常排查,河东区\n", encoding="utf-8-sig")
    refused = hz("import", sheet, "--set", "industry=工贸", "--region", "火星市")
    assert refused.exit_code == 2 and "the division to look region names up in: region '火星市'" in refused.output
    assert json.loads(hz("--json", "case", "list").stdout) == []
    # 河东区 inside 1201 (天津市) is Tianjin's, not the Linyi one the user's own regions would give
    done = hz("import", sheet, "--set", "industry=工贸", "--region", "1201")
    assert done.exit_code in (2, 4), done.output  # Tianjin is outside the user's regions: refused, not guessed
    assert "120102" in done.output or "河东区" in done.output
    imported(hz, sheet, "--set", "industry=工贸", "--region", "临沂市")
    assert [c["region"] for c in json.loads(hz("--json", "case", "list").stdout)] == ["371312"]


def test_values_slipped_one_column_are_named_as_such():
    """A date under 责任人 and 已整改 under the completion date: the row's problem says the values slipped."""
    ledger = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源", "责任人", "整改完成日期", "隐患状态"],
                  ["甲公司", "配电箱未接地", "2026-03-01", "一般", "日常排查", "2026-03-05", "已整改", ""]],
                 defaults=SET)
    assert ledger.problems() == [
        "台账.csv:2: 责任人: '2026-03-05' is a date, not a person (the row's values slipped one column?)",
        "台账.csv:2: 整改完成日期: '已整改' is not a date (e.g. 2026-03-05, 2026/3/5, 2026年3月5日) (a state word: the "
        "row's values slipped one column?)"]


def test_the_five_implementations_recorded_as_yes_count_as_recorded_not_missing(hz, tmp_path):
    """The official major-hazard table's 是/否 columns: a 是 records the implementation though the sheet gives no
    value (no sum under 经费物资); a 否 leaves it missing; another word is the row's problem."""
    sheet = tmp_path / "重大事故隐患情况表.csv"
    sheet.write_text("企业名称,隐患内容,排查日期,隐患级别,隐患来源,行业,落实治理目标,落实机构人员,落实安全措施及应急预案,落实经费物资,"
                     "落实治理时间\n"
                     "甲公司,液氨储罐区未设泄漏报警,2026-03-01,重大,执法检查,危化,是,是,否,是,是\n", encoding="utf-8-sig")
    first = imported(hz, sheet, "--set", "region=371721")["first_case"]
    case = json.loads(hz("--json", "case", "show", first).stdout)
    assert case["missing_implementations"] == ["emergency_plan"]
    bad = csv([["企业名称", "隐患内容", "排查日期", "隐患级别", "隐患来源", "落实经费物资"],
               ["甲公司", "储罐无报警", "2026-03-01", "重大", "日常排查", "部分"]], defaults=SET)
    assert bad.problems() == ["台账.csv:2: 落实经费物资: '部分' is not a known 是/否 answer (such as 是, 否, 已落实, 未落实; "
                              "add yours under values: in a mapping file)"]


def test_a_found_date_that_lives_only_in_the_hazard_code_is_read_from_it(tmp_path):
    """An import template's code YYYYMMDD + serial carries the found date; a row whose code carries none says
    so in its own row; a mapping's `found_in_code: false` turns the rule off (then the sheet lacks the column)."""
    rows = [["隐患编号", "企业名称", "隐患内容", "隐患级别", "隐患来源"],
            ["20260305001", "甲公司", "配电箱未接地", "一般", "日常排查"],
            ["YH-20260306-002", "甲公司", "护栏缺失", "一般", "日常排查"],
            ["YH-007", "甲公司", "灭火器过期", "一般", "日常排查"]]
    ledger = csv(rows, defaults=SET)
    assert [r.values.get("found_at") for r in ledger.rows] == ["2026-03-05", "2026-03-06", None]
    assert ledger.problems() == ["台账.csv:4: no found_at: the sheet has no 排查日期 column, nor a value for every row"]
    off = tmp_path / "words.yaml"
    off.write_text("found_in_code: false\n", encoding="utf-8")
    plain = csv(rows, defaults=SET, mapping=off)
    assert plain.problems()[0].startswith("台账.csv:1: no found_at: the sheet has no 排查日期 column")


def test_a_group_header_over_the_projects_units_gives_four_columns_and_the_construction_unit_is_the_enterprise(
        tmp_path):
    """A railway construction register: 整改责任单位 merged over 建设 / 设计 / 施工 / 监理 is four columns, not one
    joined text; with no enterprise column, the construction unit (施工) is the enterprise the hazard belongs to."""
    rows = [["某铁路建设指挥部隐患排查治理台账"] + [""] * 9,
            ["序号", "隐患编号", "隐患内容", "排查日期", "隐患级别", "整改责任单位", "", "", "", "整改期限"],
            ["", "", "", "", "", "建设", "设计", "施工", "监理", ""],
            [1, "TL-20260302-001", "隧道二衬背后空洞", "2026-03-02", "1级", "某铁路公司", "某设计院",
             "中铁某局某项目部", "某监理公司", "2026-04-30"]]
    merges = ("A1:J1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:I2", "J2:J3")
    ledger = read_ledger(make_xlsx(tmp_path / "铁路隐患台账.xlsx", rows, merges=merges),
                         defaults={**SET, "source": "inspection"})
    assert ledger.problems() == []
    values = ledger.rows[0].values
    assert (values["enterprise"], values["construction_unit"], values["owner_unit"], values["design_unit"],
            values["supervision_unit"]) == ("中铁某局某项目部", "中铁某局某项目部", "某铁路公司", "某设计院", "某监理公司")
    assert (values["level"], values["grade"]) == ("major", "1级")


def test_a_unit_word_inside_a_longer_header_says_nothing():
    assert load_words().match("施工部位").target == "location"


def test_an_enterprise_user_bound_by_credit_code_reaches_the_cases_its_code_was_imported_with(runner, seeded_url,
                                                                                           tmp_path):
    """The code column is the case's credit_code: an enterprise user bound by that code sees the case."""
    from engine.domain.enterprises import check_character
    body = "91371721MA3C4XYW1"
    code = body + check_character(body)
    hz = cli_on(runner, seeded_url, now="2026-04-01T09:00")
    assert hz("user", "add", "qiye", "--role", "enterprise", "--region", "371721", "--enterprise", code,
              actor="li").exit_code == 0
    sheet = tmp_path / "台账.csv"
    sheet.write_text(f"统一社会信用代码,隐患内容,排查日期,隐患级别,隐患来源\n{code},配电箱未接地,2026-03-01,一般,日常排查\n"
                     "91370000MA00000000,护栏缺失,2026-03-01,一般,日常排查\n", encoding="utf-8-sig")
    imported(hz, sheet, "--set", "region=371721", "--set", "industry=工贸", actor="zhang")
    seen = json.loads(hz("--json", "case", "list", actor="qiye").stdout)
    assert [(c["enterprise"], c["title"]) for c in seen] == [(code, "配电箱未接地")]
