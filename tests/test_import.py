"""`hazard import` as an office runs it: real layouts through the whole command, bad rows, skipping, dry runs,
double imports, permissions, and imported cases that replay, verify, trace and go back in time."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import cli
from engine.domain.clock import SHANGHAI
from tests.ledger_sheets import make_xlsx
from tests.conftest import PHOTO, cli_on

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "docs" / "example-ledger.xlsx")
NOW = "2026-04-01T09:00"
HEADER = "序号,企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态,复查日期"

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    """`hazard --db URL --now NOW --actor ACTOR ARGS` on a database with the usual users."""
    return cli_on(runner, seeded_url, actor="zhang", now=NOW)


def cases(hz, *filters) -> list[dict]:
    result = hz("--json", "case", "list", *filters)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ledger_csv(tmp_path, *rows: str, name="台账.csv", encoding="utf-8-sig") -> Path:
    """A CSV ledger as an office saves it: a title row, the header, the rows, a note."""
    path = tmp_path / name
    path.write_bytes("\n".join(["某县隐患排查治理台账", HEADER, *rows, "说明：每月25日前报送"]).encode(encoding))
    return path


GOOD = ["1,某化工有限公司,液氨储罐区未设泄漏报警,2026-01-05,重大,危化,执法检查,加装报警,王五,2026-06-30,整改中,",
        "2,某机械厂,配电箱未接地,2026/2/3,一般,工贸,企业自查,重新接地,孙强,2026-02-10,已销号,2026年2月9日"]


def test_the_example_ledger_imports_every_row_at_the_state_it_shows(hz):
    """docs/example-ledger.xlsx: 12 rows, 12 cases, each at its sheet's state, with the summary document."""
    result = hz("--json", "import", EXAMPLE, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {k: doc[k] for k in ("rows", "valid", "imported", "skipped", "errors", "dry_run")} == {
        "rows": 12, "valid": 12, "imported": 12, "skipped": 0, "errors": [], "dry_run": False}
    assert doc["mapping"]["隐患内容"] == "title" and doc["mapping"]["资金（万元）"] == "funds"
    assert doc["first_case"] == "HZ-2026-000001" and doc["last_case"] == "HZ-2026-000012"
    found = {c["title"]: c for c in cases(hz)}
    assert len(found) == 12
    ammonia = found["液氨储罐区未设置可燃有毒气体泄漏检测报警装置"]
    assert (ammonia["workflow"], ammonia["state"], ammonia["funds"], ammonia["deadline"]) == (
        "major-hazard", "verified", "150000.00", "2026-03-31")
    assert ammonia["rectified_at"] == "2026-03-25T00:00:00+08:00"
    assert found["液氨制冷车间速冻设备加工区作业人员超过9人"]["state"] == "reported"
    assert found["车间配电箱未可靠接地"]["state"] == "closed"  # a general hazard, checked: written off
    assert found["调压站安全阀超期未校验"]["state"] == "verifying"
    assert found["卸油区静电接地报警器损坏"]["overdue"] is True  # rectifying past its deadline of 2026-03-03
    shown = hz("case", "show", found["液氨制冷车间速冻设备加工区作业人员超过9人"]["id"])
    assert "五落实 missing" in shown.stdout and "emergency_plan" in shown.stdout  # the sheet had none of them


def test_a_hand_kept_xlsx_with_merged_two_row_header_serials_and_notes_imports(hz, tmp_path):
    """A title, a metadata row, 五落实 over its sub-headers, a merged enterprise, an Excel serial, a notes block."""
    rows = [["某县重大事故隐患排查治理台账"] + [""] * 11,
            ["填报单位：某县应急管理局", "", "", "", "", "", "", "", "填报人：张三"],
            ["序号", "企业名称", "隐患内容", "排查日期", "隐患级别", "五落实", "", "", "", "", "", "隐患状态"],
            ["", "", "", "", "", "整改措施", "责任单位", "责任人", "资金（万元）", "时限", "预案", ""],
            [1, "某化工有限公司", "液氨储罐区未设泄漏报警装置", 46082, "重大事故隐患", "加装报警并联锁", "某化工有限公司", "王五",
             15, "2026/4/30", "液氨泄漏专项应急预案", "整改中"],
            [2, "", "消防通道被杂物堵塞", date(2026, 3, 2), "一般隐患", "立即清理", "", "李四", "", "立即", "", "已销号"],
            ["说明：本表每月25日前报送。"]]
    merges = ("A1:L1", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "F3:K3", "L3:L4", "B5:B6")
    path = make_xlsx(tmp_path / "台账.xlsx", rows, merges=merges)
    result = hz("import", path, "--set", "region=371721", "--set", "industry=危险化学品", "--set", "source=inspection")
    assert result.exit_code == 0, result.output
    major, general = sorted(cases(hz), key=lambda c: c["level"], reverse=True)
    assert (major["state"], major["found_at"], major["funds"], major["deadline"], major["responsible_unit"]) == (
        "rectifying", "2026-03-01T00:00:00+08:00", "150000.00", "2026-04-30", "某化工有限公司")
    assert (general["enterprise"], general["state"], general["deadline"]) == ("某化工有限公司", "closed", "2026-03-02")


@pytest.mark.parametrize("encoding,separator", [("gb18030", "\t"), ("utf-8", ",")])
def test_a_csv_saved_by_a_chinese_excel_imports(hz, tmp_path, encoding, separator):
    """GB18030 tab-separated and UTF-8 without BOM read the same rows."""
    path = ledger_csv(tmp_path, *(r.replace(",", separator) for r in GOOD), encoding=encoding)
    path.write_bytes(path.read_bytes().replace(",".encode(encoding), separator.encode(encoding)))
    result = hz("--json", "import", path, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 2
    assert sorted((c["level"], c["state"], c["industry"], c["source"]) for c in cases(hz)) == [
        ("general", "closed", "工贸", "self_check"), ("major", "rectifying", "危险化学品", "inspection")]


def test_bad_rows_are_named_by_their_excel_row_and_nothing_is_written(hz, tmp_path):
    """Every problem as FILE:ROW (the row Excel shows: the title is row 1), exit 2, no case and no import record."""
    path = ledger_csv(tmp_path, GOOD[0],
                      "2,某机械厂,,2026-02-03,一般,工贸,企业自查,重新接地,孙强,2026-02-10,整改中,",
                      "3,某机械厂,配电箱未接地,2026-02-03,较大,工贸,企业自查,重新接地,孙强,2026-02-10,整改中,",
                      "4,某机械厂,配电箱未接地,2026-05-03,一般,工贸,企业自查,重新接地,孙强,2026-06-10,整改中,",
                      "5,某机械厂,配电箱未接地,2026-02-03,一般,工贸,上级交办,重新接地,孙强,2026-02-10,整改中,")
    result = hz("import", path, "--set", "region=371721")
    assert result.exit_code == 2
    errors = result.stderr
    assert f"{path}:4: no title: 隐患内容 is empty" in errors
    assert f"{path}:5: 隐患级别: '较大' is not a known level" in errors
    assert f"{path}:6: 排查日期 2026-05-03 is later than the import's time 2026-04-01T09:00:00+08:00" in errors
    assert f"{path}:7: 隐患来源: '上级交办' is not a known source" in errors
    assert "4 of 5 rows cannot be imported; nothing was written" in errors
    assert cases(hz) == []
    as_json = hz("--json", "import", path, "--set", "region=371721")
    doc = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and (doc["rows"], doc["valid"], doc["imported"]) == (5, 1, 0)
    assert [e["row"] for e in doc["errors"]] == [4, 5, 6, 7]
    assert hz("import", ledger_csv(tmp_path, GOOD[0], name="fixed.csv"), "--set", "region=371721").exit_code == 0


def test_an_unknown_region_code_is_a_bad_row(hz, tmp_path):
    """A six-digit code no administrative division has (371799) is refused in its row."""
    result = hz("import", ledger_csv(tmp_path, GOOD[0]), "--set", "region=371799")
    assert result.exit_code == 2 and "371799 is not a known administrative division code" in result.stderr


def test_skip_invalid_imports_the_good_rows_and_lists_the_skipped(hz, tmp_path):
    """--skip-invalid: the valid rows are written, each skipped row is listed on stderr and counted."""
    path = ledger_csv(tmp_path, GOOD[0], "2,某机械厂,,2026-02-03,一般,工贸,企业自查,重新接地,孙强,2026-02-10,整改中,", GOOD[1])
    result = hz("--json", "import", path, "--set", "region=371721", "--skip-invalid")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["rows"], doc["valid"], doc["imported"], doc["skipped"]) == (3, 2, 2, 1)
    assert doc["errors"] == [{"row": 4, "message": "no title: 隐患内容 is empty"}]
    assert f"skipped {path}:4: no title" in result.stderr
    assert len(cases(hz)) == 2


def test_a_dry_run_writes_nothing_and_shows_counts_mapping_and_first_rows(hz):
    """--dry-run: the summary with imported 0, counts by level and state, the mapping; no case, and the real
    import still runs afterwards (a dry run is not an import)."""
    result = hz("--json", "import", EXAMPLE, "--set", "region=371721", "--dry-run")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True and doc["imported"] == 0 and doc["valid"] == 12
    assert doc["by_level"] == {"major": 5, "general": 7}
    assert doc["by_state"]["major-hazard"] == {"closed": 1, "rectifying": 2, "reported": 1, "verified": 1}
    assert [r["row"] for r in doc["first_rows"]] == [5, 6, 7, 8, 9]
    text = hz("import", EXAMPLE, "--set", "region=371721", "--dry-run")
    assert "dry run: nothing written" in text.stdout and "responsible_person" in text.stdout
    assert cases(hz) == []
    assert hz("import", EXAMPLE, "--set", "region=371721").exit_code == 0


def test_importing_the_same_file_twice_is_refused_naming_the_earlier_import(hz, tmp_path):
    """The same bytes (and sheet) again: exit 6 naming who imported it and when; nothing is duplicated, also
    when the file was copied under another name."""
    assert hz("import", EXAMPLE, "--set", "region=371721").exit_code == 0
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(Path(EXAMPLE).read_bytes())
    again = hz("import", copy, "--set", "region=371721", actor="liu", now="2026-04-02T10:00")
    assert again.exit_code == 6
    assert "already imported by zhang at 2026-04-01T09:00:00+08:00" in again.stderr
    assert "example-ledger.xlsx" in again.stderr and "HZ-2026-000001 to HZ-2026-000012" in again.stderr
    assert len(cases(hz)) == 12


def test_only_departments_import_their_regions_and_enterprises_their_own_ledger(hz, tmp_path):
    """An inspector may not import (exit 4); a supervisor of another province's rows is refused per row (exit 4);
    an enterprise imports a ledger naming itself only."""
    path = ledger_csv(tmp_path, *GOOD)
    assert hz("import", path, "--set", "region=371721", actor="wang").exit_code == 4
    far = hz("import", path, "--set", "region=371721", actor="far")
    assert far.exit_code == 4 and "371721 is outside far's regions (4101)" in far.stderr
    mixed = hz("import", path, "--set", "region=371721", actor="ent")
    assert mixed.exit_code == 4 and "an enterprise imports its own ledger only" in mixed.stderr
    own = ledger_csv(tmp_path, GOOD[0], GOOD[0].replace("1,", "2,", 1).replace("泄漏报警", "液位报警"), name="own.csv")
    assert hz("import", own, "--set", "region=371721", actor="ent").exit_code == 0
    assert {c["enterprise"] for c in cases(hz)} == {"某化工有限公司"}


def test_imported_cases_replay_verify_trace_and_go_back_in_time(hz):
    """audit replay --all and verify pass; the trace names the importer in role import; --as-of shows the past."""
    assert hz("import", EXAMPLE, "--set", "region=371721").exit_code == 0
    assert hz("audit", "replay", "--all").exit_code == 0
    assert hz("audit", "verify", actor="audit").exit_code == 0  # verify is an auditor's or the committee's
    trace = json.loads(hz("--json", "audit", "trace", "HZ-2026-000001").stdout)
    assert {(a["trigger"], a["actor"], a["role"]) for a in trace["actions"]} >= {("verify", "zhang", "import")}
    before = {c["id"]: c["state"] for c in cases(hz, "--as-of", "2026-02-01")}
    assert before["HZ-2026-000001"] == "rectifying" and "HZ-2026-000010" not in before
    history = json.loads(hz("--json", "case", "history", "HZ-2026-000003").stdout)
    assert all(e["data"]["import"]["row"] == 7 and e["data"]["import"]["file"] == "example-ledger.xlsx"
               for e in history)


def test_rungs_due_before_the_import_are_skipped_and_later_ones_fire(hz, tmp_path):
    """An open major hazard 12 days past its deadline: warnings, notice and interview were due on paper, so
    they are recorded as skipped (rows and events); posted supervision (15 days after) fires at its time."""
    row = "1,某化工有限公司,液氨储罐区未设泄漏报警,2026-01-05,重大,危化,执法检查,加装报警,王五,2026-03-20,整改中,"
    assert hz("import", ledger_csv(tmp_path, row), "--set", "region=371721").exit_code == 0
    shown = json.loads(hz("--json", "case", "show", "HZ-2026-000001").stdout)
    assert shown["overdue"] is True
    assert {r["rung"]: r["status"] for r in shown["rungs"] if r["clock"] == "rectification"} == {
        "yellow-warning": "skipped", "red-warning": "skipped", "notice": "skipped", "interview": "skipped",
        "posted-supervision": "pending", "exposure": "pending", "suspension": "pending"}
    history = json.loads(hz("--json", "case", "history", "HZ-2026-000001").stdout)
    skips = [e["data"] for e in history if e["trigger"] == "escalate"]
    assert [(d["rung"], d["status"], d["reason"]) for d in skips] == [
        (r, "skipped", "due before the import") for r in ("yellow-warning", "red-warning", "notice", "interview")]
    assert json.loads(hz("--json", "escalate").stdout)["fired"] == 0
    later = json.loads(hz("--json", "escalate", now="2026-04-05T09:00").stdout)
    assert [(r["rung"], r["status"]) for r in later["rungs"]] == [("posted-supervision", "proposed")]
    assert hz("audit", "replay", "--all", now="2026-04-05T09:00").exit_code == 0


def test_an_imported_case_goes_on_live(hz, tmp_path):
    """After the import the case is an ordinary one: the enterprise submits, the department verifies."""
    assert hz("import", ledger_csv(tmp_path, GOOD[0]), "--set", "region=371721").exit_code == 0
    assert hz("case", "attach", "HZ-2026-000001", str(PHOTO), "--kind", "rectified", actor="ent").exit_code == 0
    assert hz("case", "advance", "HZ-2026-000001", "submit", actor="ent").exit_code == 0
    verified = hz("case", "advance", "HZ-2026-000001", "verify", "--set", "opinion=整改到位", actor="liu")
    assert verified.exit_code == 0, verified.output
    assert hz("audit", "replay", "--all").exit_code == 0


def test_the_importer_may_still_verify_what_the_ledger_says_was_submitted(hz, tmp_path):
    """Steps copied from a paper ledger are signed `import`, not as the importer's own: they bind no separation
    of duties, so the department that imported a case awaiting verification may verify it."""
    row = "1,某化工有限公司,液氨储罐区未设泄漏报警,2026-01-05,重大,危化,执法检查,加装报警,王五,2026-06-30,待验收,"
    assert hz("import", ledger_csv(tmp_path, row), "--set", "region=371721").exit_code == 0
    history = json.loads(hz("--json", "case", "history", "HZ-2026-000001").stdout)
    assert "submit" in [e["trigger"] for e in history if e["role"] == "import"]
    assert {e["actor"] for e in history if e["role"] == "import"} == {"zhang"}
    verified = hz("case", "advance", "HZ-2026-000001", "verify", "--set", "opinion=整改到位", actor="zhang")
    assert verified.exit_code == 0, verified.output
    assert hz("audit", "replay", "--all").exit_code == 0


def test_a_mapping_file_and_a_named_sheet_are_used(hz, tmp_path):
    """--mapping adds a header and a level word of the user's own; --sheet picks the sheet, and each sheet of a
    workbook is imported once."""
    import xlsxwriter

    mapping = tmp_path / "words.yaml"
    mapping.write_text("headers:\n  隐患点位及问题: title\nvalues:\n  level: {较大: major}\n", encoding="utf-8")
    book = tmp_path / "两个表.xlsx"
    workbook = xlsxwriter.Workbook(str(book))
    for sheet, title in (("二月", "消防通道堵塞"), ("三月", "罐区无报警")):
        ws = workbook.add_worksheet(sheet)
        ws.write_row(0, 0, ["企业名称", "隐患点位及问题", "排查日期", "隐患级别", "隐患状态"])
        ws.write_row(1, 0, ["某化工有限公司", title, "2026-03-02", "较大", "未整改"])
    workbook.close()
    sets = ("--set", "region=371721", "--set", "industry=危险化学品", "--set", "source=inspection")
    plain = hz("import", book, "--sheet", "三月", *sets)
    assert plain.exit_code == 2
    assert f"{book}:1: no title: the sheet has no 隐患内容 column" in plain.stderr  # once, at the header row
    assert f"{book}:2: 隐患级别: '较大' is not a known level" in plain.stderr
    result = hz("--json", "import", book, "--sheet", "三月", "--mapping", mapping, *sets)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["mapping"]["隐患点位及问题"] == "title"
    assert [(c["title"], c["level"], c["state"]) for c in cases(hz)] == [("罐区无报警", "major", "reported")]
    assert hz("import", book, "--mapping", mapping, *sets).exit_code == 0  # the first sheet, 二月
    assert hz("import", book, "--sheet", "三月", "--mapping", mapping, *sets).exit_code == 6
    assert len(cases(hz)) == 2


def _real(days: float = 0) -> datetime:
    """The real time (the CLI records with the wall clock), shifted by `days`."""
    return datetime.now(SHANGHAI) + timedelta(days=days)


def test_an_import_dated_after_the_real_time_is_refused_before_anything_is_read_or_written(hz, tmp_path):
    """--now a month ahead (rows dated before it, some after the real time): refused as every write is (rule
    future, exit 3), on a dry run too, with no progress, no case, no import record; at a past time it then runs."""
    ahead, found = _real(30), _real(20).date().isoformat()
    path = ledger_csv(tmp_path, GOOD[0], f"2,某机械厂,配电箱未接地,{found},一般,工贸,企业自查,重新接地,孙强,,整改中,")
    for extra in ((), ("--dry-run",), ("--skip-invalid",)):
        result = hz("--json", "import", path, "--set", "region=371721", *extra, now=ahead.isoformat())
        assert result.exit_code == 3, result.output
        error = json.loads(result.stdout)["error"]
        assert error["rule"] == "future" and f"the import of {path}" in error["message"]
        assert "later than the real time" in error["message"] and "HZ-" not in error["message"]
        assert "writing" not in result.stderr and "importing rows" not in result.stderr
    assert cases(hz) == []
    past = ledger_csv(tmp_path, GOOD[0], name="past.csv")
    assert hz("import", past, "--set", "region=371721").exit_code == 0  # nothing was recorded for the first


def test_a_row_dated_after_the_real_time_is_a_bad_row_at_validation(hz, tmp_path):
    """The import at the real time, a row found two days later: FILE:ROW at validation, so a dry run shows it
    invalid and --skip-invalid imports the rest; never a write-time error naming a case id."""
    now, later = _real().isoformat(timespec="seconds"), _real(2).date().isoformat()
    path = ledger_csv(tmp_path, GOOD[0], f"2,某机械厂,配电箱未接地,{later},一般,工贸,企业自查,重新接地,孙强,,整改中,")
    dry = hz("--json", "import", path, "--set", "region=371721", "--dry-run", now=now)
    assert dry.exit_code == 2, dry.output
    assert [e["row"] for e in json.loads(dry.stdout)["errors"]] == [4]
    assert f"{path}:4: 排查日期 {later} is later than the import's time" in dry.stderr
    skipping = hz("--json", "import", path, "--set", "region=371721", "--skip-invalid", now=now)
    assert skipping.exit_code == 0, skipping.output
    assert (json.loads(skipping.stdout)["imported"], json.loads(skipping.stdout)["skipped"]) == (1, 1)
    assert f"skipped {path}:4: 排查日期 {later}" in skipping.stderr and "HZ-" not in skipping.stderr


def test_a_row_past_the_engines_limits_is_named_and_nothing_is_written(hz, tmp_path):
    """A 2,005-character title and a 1995 found date: refused as `case report` refuses them, as FILE:ROW, exit 2."""
    long_title = "液氨储罐区" * 401
    path = ledger_csv(tmp_path, GOOD[0], f"2,某机械厂,{long_title},2026-02-03,一般,工贸,企业自查,重新接地,孙强,2026-02-10,整改中,",
                      "3,某机械厂,配电箱未接地,1995-02-03,一般,工贸,企业自查,重新接地,孙强,,整改中,")
    result = hz("import", path, "--set", "region=371721")
    assert result.exit_code == 2, result.output
    assert f"{path}:4: 隐患内容: 2,005 characters is more than the limit of 2,000" in result.stderr
    assert f"{path}:5: 排查日期: '1995-02-03' is outside the years 2000-2100 the engine accepts" in result.stderr
    assert cases(hz) == []
    report = hz("case", "report", "--title", long_title, "--enterprise", "某机械厂", "--region", "371721",
                "--industry", "工贸", "--level", "general", "--source", "self_check")
    assert report.exit_code == 2 and "more than the limit of 2,000" in report.stderr  # the same limit


def test_cases_of_several_years_are_reported_by_id_and_per_year(hz, tmp_path):
    """Nine rows found in 2026 and one, mid-sheet, in 2019: the summary, the import record and the double-import
    message name HZ-2019-000001 to HZ-2026-000009 (not the 2026 ones only), with a range per year."""
    rows = [f"{i},某机械厂,隐患{i},2026-01-{i:02d},一般,工贸,企业自查,整改,孙强,,整改中," for i in range(1, 10)]
    rows.insert(4, "99,某机械厂,旧隐患,2019-05-06,一般,工贸,企业自查,整改,孙强,,整改中,")
    path = ledger_csv(tmp_path, *rows)
    result = hz("--json", "import", path, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {k: doc[k] for k in ("rows", "valid", "imported", "skipped", "errors", "dry_run")} == {
        "rows": 10, "valid": 10, "imported": 10, "skipped": 0, "errors": [], "dry_run": False}
    assert (doc["first_case"], doc["last_case"]) == ("HZ-2019-000001", "HZ-2026-000009")
    assert doc["case_ranges"] == [{"year": 2019, "first": "HZ-2019-000001", "last": "HZ-2019-000001", "count": 1},
                                  {"year": 2026, "first": "HZ-2026-000001", "last": "HZ-2026-000009", "count": 9}]
    assert sorted(c["id"] for c in cases(hz))[0] == "HZ-2019-000001"
    again = hz("import", path, "--set", "region=371721")
    assert again.exit_code == 6
    assert "10 cases, HZ-2019-000001 to HZ-2026-000009 (ids of 2019-2026)" in again.stderr
    other = ledger_csv(tmp_path, *(r.replace("隐患", "另一隐患") for r in rows), name="other.csv")  # ten others
    text = hz("import", other, "--set", "region=371721")
    assert text.exit_code == 0, text.output
    assert "HZ-2019-000002 .. HZ-2019-000002 (1), HZ-2026-000010 .. HZ-2026-000018 (9)" in text.stdout
    corrected = tmp_path / "corrected.csv"  # the first sheet with the 2019 row's date corrected: that row only
    corrected.write_bytes(path.read_bytes().replace(b"2019-05-06", b"2019-05-07"))
    doc = json.loads(hz("--json", "import", corrected, "--set", "region=371721").stdout)
    assert (doc["imported"], len(doc["existing"]), doc["first_case"]) == (1, 9, "HZ-2019-000003")


def test_a_double_import_is_refused_before_any_progress_is_shown(hz, tmp_path, monkeypatch):
    """The second import of a file prints the exit-6 refusal only: no `writing N cases`, no progress bar; also
    when the earlier import committed between the second one's check and its write (the check inside the write
    transaction comes before any progress)."""
    path = ledger_csv(tmp_path, *GOOD)
    first = hz("import", path, "--set", "region=371721")
    assert first.exit_code == 0 and "writing 2 cases" in first.stderr
    again = hz("import", path, "--set", "region=371721")
    assert again.exit_code == 6
    assert "writing" not in again.stderr and "importing rows" not in again.stderr
    assert again.stderr.strip().startswith("Error:") and "already imported by zhang" in again.stderr

    from engine.store import records
    real, calls = records.earlier_import, []

    def not_yet_committed(conn, sha256, sheet):  # the first look (before the write transaction) sees nothing
        calls.append(sha256)
        return None if len(calls) == 1 else real(conn, sha256, sheet)
    monkeypatch.setattr(records, "earlier_import", not_yet_committed)
    raced = hz("import", path, "--set", "region=371721")
    assert len(calls) == 2 and raced.exit_code == 6, raced.output
    assert "writing" not in raced.stderr and "importing rows" not in raced.stderr
    assert len(cases(hz)) == 2


def test_a_drill_database_takes_an_import_at_a_future_time(tmp_path, runner):
    """On a database made with `init --drill` an import at 2099 runs, as every write there may; rows dated after
    the import's time are still bad rows."""
    url = f"sqlite:///{tmp_path / 'drill.db'}"

    def hz(*args, actor="zhang", now="2099-06-01"):
        return runner.invoke(cli, ["--db", url, "--now", now, "--actor", actor, *map(str, args)])
    assert runner.invoke(cli, ["--db", url, "init", "--drill", "--admin", "li", "--region", "37"]).exit_code == 0
    assert hz("user", "add", "zhang", "--role", "supervisor", "--region", "3717", actor="li").exit_code == 0
    path = ledger_csv(tmp_path, GOOD[0], "2,某机械厂,配电箱未接地,2099-07-01,一般,工贸,企业自查,重新接地,孙强,,整改中,")
    result = hz("--json", "import", path, "--set", "region=371721", "--skip-invalid")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["imported"], doc["skipped"], doc["at"]) == (1, 1, "2099-06-01T00:00:00+08:00")
    assert f"skipped {path}:4: 排查日期 2099-07-01 is later than the import's time" in result.stderr


def _cache_size(conn) -> int:
    return conn.connection.driver_connection.execute("PRAGMA cache_size").fetchone()[0]


def test_a_bulk_write_has_a_larger_page_cache_only_while_it_lasts(tmp_path):
    """An import's transaction (`Store.write(bulk=True)`) runs with BULK_CACHE_KIB of SQLite page cache; the
    pooled connection has its own cache size back afterwards, committed or rolled back."""
    from engine.store.database import BULK_CACHE_KIB, Store

    store = Store(f"sqlite:///{tmp_path / 'bulk.db'}", create=True)
    try:
        with store.write() as conn:
            usual = _cache_size(conn)
        with store.write(bulk=True) as conn:
            assert _cache_size(conn) == -BULK_CACHE_KIB != usual
        with pytest.raises(RuntimeError), store.write(bulk=True) as conn:
            raise RuntimeError("rolled back")
        with store.write() as conn:
            assert _cache_size(conn) == usual
    finally:
        store.dispose()
