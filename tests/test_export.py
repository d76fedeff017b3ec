"""`hazard export`: the register as a ledger people open, and back in through `hazard import` unchanged."""
from __future__ import annotations

import csv
import gc
import json
import uuid
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from cli.main import cli
from engine.domain.clock import parse_time
from tests.conftest import FIVE, PG_URL, rectified, report, seed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "docs" / "example-ledger.xlsx")
NOW = "2026-04-01T09:00"
# The completion date (整改完成日期) and the check date (复查日期) both come back, and with them the time a live
# case waited for its verification, which moved its due time later.
REGISTER = ("title", "state", "level", "workflow", "deadline", "found_at", "rectified_at", "accepted_at", "due_at",
            "closed_at", "enterprise", "region", "industry", "source", "overdue")
FIVE_FIELDS = ("responsible_unit", "responsible_person", "measures", "funds", "deadline", "emergency_plan")


@pytest.fixture(autouse=True)
def collected():
    """Each CLI invocation leaves its engine's connection pool to the garbage collector: collect after every
    test, so a PostgreSQL run does not pile up connections on a shared server."""
    yield
    gc.collect()


def invoke(runner, url, *args, actor="zhang", now=NOW):
    return runner.invoke(cli, ["--db", url, "--now", now, "--actor", actor, *map(str, args)])


def register(runner, url) -> list[dict]:
    """The register's rows as compared across databases: ids and the sheet's own number aside."""
    result = invoke(runner, url, "--json", "case", "list", "--workflow", "major-hazard")
    rows = json.loads(result.stdout)
    result = invoke(runner, url, "--json", "case", "list", "--workflow", "general-hazard")
    rows += json.loads(result.stdout)
    return sorted(({**{k: c[k] for k in REGISTER}, **{k: c["fields"].get(k) for k in FIVE_FIELDS}} for c in rows),
                  key=lambda c: (c["found_at"], c["title"]))


@pytest.fixture
def fresh_url(db_url, tmp_path):
    """A second, newly initialised database on the same backend as `db_url` (the usual users in it)."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        seed(url)
        yield url
        return
    from sqlalchemy import create_engine, text
    schema = f"hz_fresh_{uuid.uuid4().hex[:8]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    seed(url)
    yield url
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def kept(service, runner, seeded_url):
    """The example ledger imported, and two cases entered live: one verified, one still rectifying."""
    assert invoke(runner, seeded_url, "import", EXAMPLE, "--set", "region=371721").exit_code == 0
    live = report(service, title="危化品仓库未设防爆电气", now="2026-03-10T10:00")
    for trigger, actor, fields, now in [("assign", "zhang", FIVE, "2026-03-11T09:30"), ("start", "ent", {}, "2026-03-12"),
                                        ("submit", "ent", {}, "2026-03-20"),
                                        ("verify", "liu", {"opinion": "整改到位"}, "2026-03-25T10:00")]:
        if trigger == "submit":  # the rectification photo a major hazard's submit requires
            rectified(service, live.id, actor=actor, now=now)
        service.commands.advance_case(live.id, trigger, actor=actor, fields=fields, now=now)
    pending = report(service, title="煤气管道未设泄漏报警", enterprise="某钢铁有限公司", level="general",
                     workflow="general-hazard", industry="冶金", source="self_check", now="2026-03-12T10:00")
    service.commands.advance_case(pending.id, "assign", actor="zhang", now="2026-03-12T11:00", fields={
        "responsible_person": "赵七", "measures": "加装报警", "deadline": "2026-04-30"})
    return seeded_url


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_into_a_fresh_database_gives_the_same_register(runner, kept, fresh_url, tmp_path, suffix):
    """Title, state, level, deadline, the five implementations, the dates and the due times come back as they were."""
    path = tmp_path / f"台账{suffix}"
    result = invoke(runner, kept, "export", path)
    assert result.exit_code == 0, result.output
    assert "14 cases written" in result.stderr
    back = invoke(runner, fresh_url, "--json", "import", path)
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["imported"] == 14
    assert register(runner, fresh_url) == register(runner, kept)
    assert invoke(runner, fresh_url, "audit", "replay", "--all").exit_code == 0


def test_the_xlsx_has_chinese_headers_date_cells_widths_and_a_frozen_header(runner, kept, tmp_path):
    """A title row, the header bold and frozen under it, 排查日期 as a date cell, 资金 as a number, 隐患状态 in words."""
    path = tmp_path / "台账.xlsx"
    assert invoke(runner, kept, "export", path).exit_code == 0
    sheet = openpyxl.load_workbook(path).active
    assert sheet.freeze_panes == "A3"
    assert str(sheet["A1"].value).startswith("隐患排查治理台账")
    headers = [c.value for c in sheet[2]]
    assert headers[:7] == ["隐患编号", "隐患内容", "企业名称", "行政区划", "行业", "隐患级别", "隐患来源"]
    first = dict(zip(headers, (c.value for c in sheet[3])))
    assert first["隐患编号"] == "HZ-2026-000001" and first["排查日期"] == datetime(2026, 1, 12)
    assert (first["隐患级别"], first["隐患状态"], first["隐患来源"], first["整改资金"]) == ("重大", "已验收", "执法检查", 150000)
    assert sheet.column_dimensions["B"].width > 20


def test_field_name_headers_and_filters(runner, kept, tmp_path):
    """--headers fields writes field names and terms; the filters of case list choose the rows."""
    path = tmp_path / "major.csv"
    result = invoke(runner, kept, "--json", "export", path, "--level", "major", "--headers", "fields")
    assert result.exit_code == 0 and json.loads(result.stdout)["rows"] == 6
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["level"] for r in rows} == {"major"} and {r["source"] for r in rows} <= {"inspection", "unannounced",
                                                                                    "supervision_group", "cross_region"}
    assert rows[0]["found_at"] == "2026-01-12" and rows[0]["state"] == "verified"


def test_as_of_exports_the_register_as_it_stood(runner, kept, tmp_path):
    """--as-of 2026-02-01: only hazards found by then, each in the state it was in then."""
    path = tmp_path / "then.csv"
    assert invoke(runner, kept, "export", path, "--as-of", "2026-02-01", "--headers", "fields").exit_code == 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"HZ-2026-000001", "HZ-2026-000002", "HZ-2026-000003", "HZ-2026-000004"}
    assert rows["HZ-2026-000003"]["state"] == "rectifying" and rows["HZ-2026-000003"]["closed_at"] == ""
    assert rows["HZ-2026-000004"]["state"] == "closed"


def test_linked_cases_are_not_rows_of_the_ledger(service, runner, seeded_url, tmp_path):
    """An interview opened by the ladder is in the register but not in the exported ledger."""
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    service.sweep(now=parse_time("2026-05-08T09:00"))
    service.commands.decide(case.id, "interview", "approve", actor="li", reason="约谈", now="2026-05-08T09:00")
    assert any(c.parent_id == case.id for c in service.queries.cases().cases)
    path = tmp_path / "台账.csv"
    result = invoke(runner, seeded_url, "--json", "export", path, now="2026-05-08T09:00")
    assert json.loads(result.stdout)["rows"] == 1
    assert path.read_text(encoding="utf-8-sig").count("HZ-") == 1
