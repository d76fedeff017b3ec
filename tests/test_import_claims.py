"""Issue 17, "Who may act": an enterprise imported its own ledger with a major hazard already verified and written
off (复查人 free text): six events by `ent` in role import, counted as rectified on time, no department's
signature. An import records steps only as far as the importing user's roles may take them (the transitions'
`roles:`, the rule `case advance` applies); beyond that the row lands at the last state the importer may reach,
with the sheet's claim kept as fields (claimed_stage, claimed_at, claimed_by) for the department to confirm, and
the dry run and the summary say so. A supervisor's or the committee's import records the whole chain as before."""
from __future__ import annotations

import json

import pytest
from tests.conftest import PHOTO, cli_on


NOW = "2026-04-01T09:00"
HEADER = "企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态,整改完成日期,复查人,复查日期,销号日期"
# Row 3: a major hazard the sheet says was verified by 张工 (free text) and written off; row 4: a general hazard
# fixed on the spot (立即) and passed its check.
MAJOR = "某化工有限公司,液氨储罐区未设泄漏报警,2026-02-02,重大,危化,企业自查,加装报警,王五,2026-03-15,已销号,2026-03-01,张工,2026-03-05,2026-03-10"
GENERAL = "某化工有限公司,配电箱未接地,2026-02-03,一般,危化,企业自查,重新接地,王五,立即,已验收,2026-02-03,张工,2026-02-06,"

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, actor="ent", now=NOW)


def sheet(tmp_path, *rows: str):
    path = tmp_path / "自查台账.csv"
    path.write_bytes("\n".join(["某化工有限公司隐患排查治理台账", HEADER, *rows]).encode("utf-8-sig"))
    return path


def imported(hz, path, *options, actor="ent") -> dict:
    result = hz("--json", "import", path, "--set", "region=371721", *options, actor=actor)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def shown(hz, case_id: str) -> dict:
    return json.loads(hz("--json", "case", "show", case_id).stdout)


def events(hz, case_id: str) -> list[dict]:
    history = json.loads(hz("--json", "case", "history", case_id).stdout)
    return history["events"] if isinstance(history, dict) else history


def stats(hz) -> dict:
    result = hz("--json", "report", "stats", "--region", "3717", actor="zhang")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["total"]


def test_an_enterprise_s_verified_and_closed_major_hazard_lands_where_the_enterprise_may_take_it(hz, tmp_path):
    """Only the report is the enterprise's to record (assign is the department's): the case is `reported`, the
    sheet's claim in its fields, no assign, verify or close signed by `ent`, not rectified, not accepted."""
    doc = imported(hz, sheet(tmp_path, MAJOR))
    case = shown(hz, doc["first_case"])
    assert case["state"] == "reported"
    assert {k: case["fields"].get(k) for k in ("claimed_stage", "claimed_at", "claimed_by")} == {
        "claimed_stage": "closed", "claimed_at": "2026-03-10", "claimed_by": "张工"}
    assert case["rectified_at"] is None and case["accepted_at"] is None
    assert [(e["trigger"], e["actor"]) for e in events(hz, doc["first_case"]) if e["trigger"] != "escalate"] == [
        ("report", "ent")]
    total = stats(hz)
    assert (total["found"], total["rectified"], total["rectified_on_time"], total["accepted"]) == (1, 0, 0, 0)
    dossier = json.loads(hz("audit", "dossier", doc["first_case"], "--format", "json", actor="li").stdout)
    assert dossier["claim"] == {"claimed_stage": "closed", "claimed_at": "2026-03-10", "claimed_by": "张工"}
    page = hz("audit", "dossier", doc["first_case"], "--format", "html", actor="li").stdout
    assert "台账所报（待确认）" in page and "张工" in page


def test_the_enterprise_s_own_steps_are_recorded_and_the_department_s_are_not(hz, tmp_path):
    """A general hazard fixed on the spot: `fix` is the enterprise's (recorded), the check (`verify`) is not: the
    case waits at `verifying` (rectified, not accepted) with the claim of the check."""
    doc = imported(hz, sheet(tmp_path, GENERAL))
    case = shown(hz, doc["first_case"])
    assert case["state"] == "verifying"
    assert [e["trigger"] for e in events(hz, doc["first_case"])] == ["report", "fix"]
    assert {k: case["fields"].get(k) for k in ("claimed_stage", "claimed_at", "claimed_by")} == {
        "claimed_stage": "verified", "claimed_at": "2026-02-06", "claimed_by": "张工"}
    assert case["accepted_at"] is None and stats(hz)["accepted"] == 0


def test_the_dry_run_says_which_rows_land_short_of_the_sheet_and_why(hz, tmp_path):
    """Per row, in text and in --json `claims`: what the sheet says, where the row lands, the step the importer
    may not take and the roles that may; the counts by state are where the rows land."""
    path = sheet(tmp_path, MAJOR, GENERAL)
    text = hz("import", path, "--set", "region=371721", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "自查台账.csv:3: the sheet says closed; would land at reported: ent (role enterprise) may not assign; " \
           "allowed roles: supervisor, committee (rule role)" in text.output
    assert "自查台账.csv:4: the sheet says verified; would land at verifying: ent (role enterprise) may not verify" \
           in text.output
    doc = imported(hz, path, "--dry-run")
    assert [(c["row"], c["claimed_stage"], c["state"], c["trigger"], c["roles"]) for c in doc["claims"]] == [
        (3, "closed", "reported", "assign", ["supervisor", "committee"]),
        (4, "verified", "verifying", "verify", ["inspector", "supervisor", "committee"])]
    assert doc["by_state"] == {"general-hazard": {"verifying": 1}, "major-hazard": {"reported": 1}}
    assert [r["state"] for r in doc["first_rows"]] == ["reported", "verifying"]


def test_the_import_reports_how_many_rows_await_a_department(hz, tmp_path):
    path = sheet(tmp_path, MAJOR, GENERAL)
    result = hz("import", path, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    assert "the sheet says closed; lands at reported" in result.output
    assert "claims to confirm" in result.output and "2" in result.output.split("claims to confirm")[1].splitlines()[0]


def test_a_department_confirms_the_claim_by_taking_the_steps_itself(hz, tmp_path):
    """The department assigns, the enterprise starts and submits, the department verifies and closes: the case
    goes on as any other, and the log replays."""
    case_id = imported(hz, sheet(tmp_path, MAJOR))["first_case"]
    five = ["--set", "responsible_unit=某化工有限公司", "--set", "responsible_person=王五", "--set", "measures=加装报警",
            "--set", "funds=15万", "--set", "deadline=2026-05-30", "--set", "emergency_plan=预案"]
    steps = [("assign", "zhang", five), ("start", "ent", []), ("submit", "ent", []),
             ("verify", "liu", ["--set", "opinion=整改到位"]), ("close", "li", [])]
    for trigger, actor, given in steps:
        if trigger == "submit":  # the rectification photo a major hazard's submit requires
            assert hz("case", "attach", case_id, str(PHOTO), "--kind", "rectified", actor=actor).exit_code == 0
        result = hz("case", "advance", case_id, trigger, *given, actor=actor)
        assert result.exit_code == 0, result.output
    assert shown(hz, case_id)["state"] == "closed"
    assert hz("audit", "replay", "--all", actor="li").exit_code == 0


@pytest.mark.parametrize("department", ["zhang", "li"])
def test_a_supervisor_or_the_committee_records_the_whole_chain_as_before(hz, tmp_path, department):
    """The same sheet imported by the department (or the committee): closed and verified, every step signed by
    the importer in role import, no claim."""
    doc = imported(hz, sheet(tmp_path, MAJOR, GENERAL), actor=department)
    assert doc["claims"] == []
    major, general = doc["first_case"], doc["last_case"]
    assert (shown(hz, major)["state"], shown(hz, general)["state"]) == ("closed", "closed")
    assert [e["trigger"] for e in events(hz, major) if e["trigger"] != "escalate"] == [
        "report", "assign", "start", "submit", "verify", "close"]
    assert {(e["actor"], e["role"]) for e in events(hz, major)} == {(department, "import")}
    assert "claimed_stage" not in shown(hz, major)["fields"]
