"""A ledger imported again: a corrected copy after --skip-invalid, a copy differing by a trailing newline, a sheet
whose rows were already reported live. The rows the register holds are recognised, not written twice, and said so."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import event

from engine.domain.clock import parse_time, start_of_day
from engine.store import held
from tests.conftest import cli_on

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "docs" / "example-ledger.xlsx")
NOW = "2026-04-01T09:00"
HEADER = "隐患编号,企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态,整改完成日期"
ROWS = ["YH-001,某化工有限公司,液氨储罐区未设泄漏报警,2026-01-05,重大,危化,执法检查,加装报警,王五,2026-06-30,整改中,",
        "YH-002,某机械厂,配电箱未接地,2026/2/3,一般,工贸,企业自查,重新接地,孙强,2026-02-10,已整改,2026-02-09",
        "YH-003,某木业有限公司,除尘系统未设锁气卸灰装置,2026-02-20,一般,工贸,企业自查,加装卸灰阀,李四,2026-03-20,整改中,"]
BAD = "YH-004,某木业有限公司,,2026-02-21,一般,工贸,企业自查,清理通道,李四,2026-03-01,整改中,"
FIXED = "YH-004,某木业有限公司,成品库消防通道被杂物堵塞,2026-02-21,一般,工贸,企业自查,清理通道,李四,2026-03-01,整改中,"

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, actor="zhang", now=NOW)


def sheet(tmp_path, *rows: str, name="台账.csv", tail="") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(["某县隐患排查治理台账", HEADER, *rows]) + tail).encode("utf-8-sig"))
    return path


def imported(hz, path, *options) -> dict:
    result = hz("--json", "import", path, "--set", "region=371721", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def hazards(hz) -> list[dict]:
    return json.loads(hz("--json", "case", "list").stdout)


def test_a_corrected_copy_after_skip_invalid_imports_only_the_row_it_corrected(hz, tmp_path):
    """The office imports with --skip-invalid, fixes the skipped row and imports the sheet again: one new case,
    the three rows it held named with their cases, and every figure counts each hazard once."""
    first = imported(hz, sheet(tmp_path, *ROWS, BAD), "--skip-invalid")
    assert (first["imported"], first["skipped"], first["existing"]) == (3, 1, [])
    again = imported(hz, sheet(tmp_path, *ROWS, FIXED, name="台账（修正）.csv"))
    assert (again["imported"], again["new"], again["skipped"], again["repeated"]) == (1, 1, 0, [])
    assert again["existing"] == [{"row": 3, "case_id": "HZ-2026-000001", "by": "code"},
                                 {"row": 4, "case_id": "HZ-2026-000002", "by": "code"},
                                 {"row": 5, "case_id": "HZ-2026-000003", "by": "code"}]
    assert again["first_case"] == again["last_case"] == "HZ-2026-000004"
    assert sorted(c["title"] for c in hazards(hz)) == sorted(
        ["液氨储罐区未设泄漏报警", "配电箱未接地", "除尘系统未设锁气卸灰装置", "成品库消防通道被杂物堵塞"])
    stats = json.loads(hz("--json", "report", "stats", "--region", "3717").stdout)["total"]
    assert (stats["found"], stats["rectified"]) == (4, 1)


def test_the_summary_says_which_rows_were_held(hz, tmp_path):
    """Without --json: each held row on stderr as FILE:ROW with its case, and the count in the summary."""
    imported(hz, sheet(tmp_path, *ROWS, BAD), "--skip-invalid")
    path = sheet(tmp_path, *ROWS, FIXED, name="b.csv")
    result = hz("import", path, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    assert f"held {path}:3: already HZ-2026-000001 (the same 隐患编号 of the enterprise)" in result.stderr
    assert "held already" in result.stdout and "HZ-2026-000004 .. HZ-2026-000004" in result.stdout


def test_the_same_rows_and_a_trailing_newline_import_nothing_again(hz, tmp_path):
    """Issue 17: "exactly once" by bytes let the same rows plus a newline in again. Now: exit 0, nothing
    written (no case, no import record), every row named as held; the identical bytes are still refused."""
    path = sheet(tmp_path, *ROWS)
    assert imported(hz, path)["imported"] == 3
    copy = sheet(tmp_path, *ROWS, name="copy.csv", tail="\n")
    result = hz("--json", "import", copy, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["imported"], doc["new"], len(doc["existing"]), doc["import_id"]) == (0, 0, 3, None)
    assert len(hazards(hz)) == 3
    text = hz("import", copy, "--set", "region=371721")
    assert text.exit_code == 0 and "nothing new: every valid row is held already" in text.stderr
    assert hz("import", path, "--set", "region=371721").exit_code == 6  # the very same bytes: refused as before


def test_a_dry_run_lists_the_rows_held_already(hz, tmp_path):
    """--dry-run: `new` rows would be imported, `existing` names each held row's case; the table shows them."""
    imported(hz, sheet(tmp_path, *ROWS[:2]))
    path = sheet(tmp_path, *ROWS, name="more.csv")
    doc = imported(hz, path, "--dry-run")
    assert (doc["dry_run"], doc["imported"], doc["new"], doc["valid"]) == (True, 0, 1, 3)
    assert [(e["row"], e["case_id"]) for e in doc["existing"]] == [(3, "HZ-2026-000001"), (4, "HZ-2026-000002")]
    assert [r["row"] for r in doc["first_rows"]] == [5] and doc["by_level"] == {"general": 1}
    text = hz("import", path, "--set", "region=371721", "--dry-run")
    assert "held already: not imported again" in text.stdout and "HZ-2026-000002" in text.stdout
    assert "1 of 3 rows would be imported" in text.stderr
    assert len(hazards(hz)) == 2


def test_the_sheet_code_recognises_a_corrected_title_within_its_enterprise_only(hz, tmp_path):
    """A row whose title and date were corrected keeps its 隐患编号: held. Another enterprise's YH-001 is its own
    hazard (enterprises number their own): imported."""
    imported(hz, sheet(tmp_path, ROWS[0]))
    corrected = ROWS[0].replace("液氨储罐区未设泄漏报警", "液氨储罐区未设置泄漏检测报警装置").replace("2026-01-05", "2026-01-06")
    other = ROWS[0].replace("某化工有限公司", "另一化工有限公司")
    doc = imported(hz, sheet(tmp_path, corrected, other, name="b.csv"))
    assert doc["existing"] == [{"row": 3, "case_id": "HZ-2026-000001", "by": "code"}]
    assert doc["imported"] == 1 and doc["first_case"] == "HZ-2026-000002"


def test_a_row_written_twice_in_one_sheet_is_imported_once(hz, tmp_path):
    """The same enterprise, title and found day twice (a copied row): one case; the later row is named as
    repeating the earlier; imported again, both rows are held by that one case."""
    twice = ROWS[1].replace("YH-002,", ",")
    path = sheet(tmp_path, ROWS[0], twice, twice)
    doc = imported(hz, path)
    assert (doc["imported"], doc["repeated"]) == (2, [{"row": 5, "same_as": 4, "by": "title"}])
    again = imported(hz, sheet(tmp_path, ROWS[0], twice, twice, name="b.csv", tail="\n"))
    assert [(e["row"], e["case_id"], e["by"]) for e in again["existing"]] == [
        (3, "HZ-2026-000001", "code"), (4, "HZ-2026-000002", "title"), (5, "HZ-2026-000002", "title")]


def test_a_hazard_reported_live_is_held_by_its_enterprise_title_and_day(hz, tmp_path, service):
    """A hazard the department reported with `case report` is in the register: its row in the enterprise's
    ledger is recognised (the found day in Asia/Shanghai, whatever the hour)."""
    live = service.commands.report_case(actor="zhang", workflow="general-hazard", title="配电箱未接地",
                                        enterprise="某机械厂", region="371721", industry="工贸", level="general",
                                        source="inspection", found_at="2026-02-03T23:30", now="2026-02-04T09:00")
    doc = imported(hz, sheet(tmp_path, *ROWS))
    assert doc["existing"] == [{"row": 4, "case_id": live.id, "by": "title"}] and doc["imported"] == 2


def test_an_export_imported_back_into_the_same_register_writes_nothing(hz, tmp_path):
    """export, then import the exported sheet into the same database: every row is held."""
    assert hz("import", EXAMPLE, "--set", "region=371721").exit_code == 0
    path = tmp_path / "台账.xlsx"
    assert hz("export", path).exit_code == 0
    doc = imported(hz, path)
    assert (doc["imported"], len(doc["existing"])) == (0, 12)


def test_the_held_rows_are_looked_up_a_few_hundred_at_a_time(service, store):
    """1,000 enterprises and 1,000 codes: two statements each, not 2,000 (bench/bench_import.py times it)."""
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(store.db_engine, "before_cursor_execute", listener)
    try:
        with store.read() as conn:
            day = start_of_day(parse_time("2026-03-01T00:00").date())
            spans = {f"企业 {i}": (day, day.replace(day=2)) for i in range(1000)}
            assert held.by_enterprises(conn, spans) == []
            assert held.by_codes(conn, [f"YH-{i}" for i in range(1000)]) == []
    finally:
        event.remove(store.db_engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "hazard_case" in s]) == 2 + 2


def test_two_imports_of_overlapping_sheets_write_each_row_once(service, tmp_path, monkeypatch):
    """The first import holds its write transaction just after looking its rows up; the second, of a sheet
    sharing a row, waits on the case-number lock and then finds that row held: three cases, not four."""
    import threading
    import time

    from engine.ledger import app_import

    real, calls = app_import.recognise, []
    holding, release = threading.Event(), threading.Event()

    def first_one_waits(conn, rows):
        found = real(conn, rows)
        calls.append(len(found.new))
        if len(calls) == 1:
            holding.set()
            release.wait(60)
        return found
    monkeypatch.setattr(app_import, "recognise", first_one_waits)
    results: dict = {}

    def run(name: str, path: Path) -> None:
        results[name] = app_import.import_ledger(service, path, actor="zhang", defaults={"region": "371721"})
    first = threading.Thread(target=run, args=("first", sheet(tmp_path, ROWS[0], ROWS[1], name="a.csv")))
    second = threading.Thread(target=run, args=("second", sheet(tmp_path, ROWS[1], ROWS[2], name="b.csv")))
    first.start()
    assert holding.wait(60)
    second.start()
    time.sleep(0.5)  # let the second reach the lock (were there none, it would look up and write meanwhile)
    assert calls == [2]
    release.set()
    first.join(60)
    second.join(60)
    assert (results["first"].imported, results["second"].imported) == (2, 1)
    assert results["second"].existing == [{"row": 3, "case_id": "HZ-2026-000002", "by": "code"}]
    assert len(service.queries.cases().cases) == 3
