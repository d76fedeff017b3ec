"""How a ledger row becomes a history (pure): the state, the path the machine knows, the dates, the fields."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from engine.domain.clock import SHANGHAI
from engine.domain.errors import DefinitionInvalid, InvalidInput
from engine.domain.events import Event
from engine.ledger.history import check_workflow, instant, plan_row, stage_of, state_for
from engine.ledger.words import STAGES
from engine.app.registry import builtin_workflow_files, load_definition
from engine.domain.replay import InconsistentLog, check_event, replay

DEFINITIONS = {d.name: d for d in (load_definition(text, name) for name, text in builtin_workflow_files())}
MAJOR, GENERAL = DEFINITIONS["major-hazard"], DEFINITIONS["general-hazard"]
ROW = {"title": "液氨储罐区未设泄漏报警", "enterprise": "某化工有限公司", "region": "371721", "industry": "危险化学品",
       "level": "major", "source": "inspection", "found_at": "2026-01-12"}


def triggers(plan) -> list[str]:
    return [s.trigger for s in plan.steps]


def test_every_stage_lands_on_a_state_of_both_built_in_workflows():
    """The stage map names states the definitions have, each reachable from the initial state."""
    assert check_workflow(MAJOR) == [] and check_workflow(GENERAL) == []
    assert [state_for(GENERAL, s) for s in STAGES] == ["reported", "rectifying", "rectifying", "verifying",
                                                                "closed", "closed"]
    assert [state_for(MAJOR, s) for s in STAGES] == list(STAGES)


def test_a_workflow_without_a_stage_map_or_a_state_is_named():
    """A workflow without ledger stages takes no rows, and says why; a stage map naming a state the workflow lacks
    is the definition's own error (FILE:LINE), so it is never installed at all."""
    text = dict(builtin_workflow_files())["workflows/major-hazard.yaml"]
    renamed = text.replace("verifying", "inspecting").replace("  inspecting: inspecting", "  verifying: verifying")
    with pytest.raises(DefinitionInvalid) as raised:
        load_definition(renamed, "major-v2.yaml")
    line = text.splitlines().index("  verifying: verifying") + 1
    assert f"major-v2.yaml:{line}: ledger_stages: stage 'verifying' names unknown state 'verifying'" in str(raised.value)
    assert check_workflow(DEFINITIONS["interview"]) == [
        "workflow 'interview' takes no ledger rows: no ledger stages (it serves interviews, not hazards)"]


def test_a_closed_major_hazard_walks_the_whole_loop_dated_by_the_sheet():
    """report, assign, start, submit, verify, close; assign and start at the found date, the rest by their dates."""
    plan = plan_row({**ROW, "verified_at": "2026-03-25", "closed_at": "2026-03-30T15:00:00+08:00"}, "closed", MAJOR)
    assert triggers(plan) == ["assign", "start", "submit", "verify", "close"]
    assert [s.at for s in plan.steps] == [instant("2026-01-12")] * 2 + [instant("2026-03-25")] * 2 + [
        datetime(2026, 3, 30, 15, tzinfo=SHANGHAI)]
    assert plan.steps[-1].to_state == "closed"


def test_an_undated_step_takes_the_time_of_the_step_before_and_time_never_runs_back():
    """A verifying row without a check date is submitted when it was assigned; an assigned date before the
    found date (in a hand-typed sheet) cannot move the step before the report."""
    plan = plan_row({**ROW, "assigned_at": "2026-02-01"}, "verifying", MAJOR)
    assert [s.at for s in plan.steps] == [instant("2026-02-01")] * 3
    plan = plan_row({**ROW, "found_at": "2026-02-10", "assigned_at": "2026-02-01"}, "assigned", MAJOR)
    assert plan.steps[0].at == instant("2026-02-10")


def test_a_rectified_row_is_submitted_at_its_completion_date_and_verified_at_its_check_date():
    """整改完成日期 dates the submission (or the fix on the spot), 复查日期 the verification: the case is rectified
    when the sheet says the work was done, accepted when it was checked."""
    plan = plan_row({**ROW, "rectified_at": "2026-03-20"}, "verifying", MAJOR)
    assert triggers(plan) == ["assign", "start", "submit"]
    assert plan.steps[-1].at == instant("2026-03-20") and plan.steps[-1].to_state == "verifying"
    plan = plan_row({**ROW, "rectified_at": "2026-03-20", "verified_at": "2026-03-25"}, "verified", MAJOR)
    assert [(s.trigger, s.at) for s in plan.steps[2:]] == [("submit", instant("2026-03-20")),
                                                           ("verify", instant("2026-03-25"))]
    assert all("rectified_at" not in s.fields and "verified_at" not in s.fields for s in plan.steps)
    spot = plan_row({**ROW, "level": "general", "rectified_at": "2026-01-13"}, "verifying", GENERAL)
    assert [(s.trigger, s.at) for s in spot.steps] == [("fix", instant("2026-01-13"))]


def test_the_built_in_workflows_count_rectification_complete_as_rectified():
    """verifying (待验收 / 待复查) is rectified, not accepted; verified and closed are both (workflows/*.yaml)."""
    assert MAJOR.rectified_states == {"verifying", "verified", "closed"}
    assert MAJOR.accepted_states == {"verified", "closed"}
    assert GENERAL.rectified_states == {"verifying", "closed"} and GENERAL.accepted_states == {"closed"}


def test_a_general_hazard_with_a_deadline_is_assigned_and_one_fixed_at_once_is_fixed():
    """限期整改 (deadline after the found day) starts the deadline's clock; 立查立改 takes the shortest way."""
    general = {**ROW, "level": "general"}
    assert triggers(plan_row({**general, "deadline": "2026-02-28"}, "verifying", GENERAL)) == ["assign", "submit"]
    assert triggers(plan_row({**general, "deadline": "2026-01-12"}, "verifying", GENERAL)) == ["fix"]
    assert triggers(plan_row(general, "closed", GENERAL)) == ["fix", "verify"]
    assert triggers(plan_row(general, "assigned", GENERAL)) == ["assign"]


def test_each_value_goes_with_the_step_that_takes_it():
    """The five implementations with the report and the assignment, verifier and result with the verification,
    the sheet's own number as ledger_id; dates that date a step and the state are not fields."""
    values = {**ROW, "measures": "加装报警", "funds": "150000.00", "deadline": "2026-04-30", "responsible_person": "王五",
              "emergency_plan": "专项预案", "verified_at": "2026-03-25", "verifier": "张卫东", "result": "合格",
              "hazard_type": "中毒", "id": "2026-017", "state": "verified"}
    plan = plan_row(values, "verified", MAJOR)
    assert plan.report_fields == {"deadline": "2026-04-30", "responsible_person": "王五", "hazard_type": "中毒",
                                  "ledger_id": "2026-017"}
    by_trigger = {s.trigger: s.fields for s in plan.steps}
    assert by_trigger["assign"] == {"measures": "加装报警", "funds": "150000.00", "emergency_plan": "专项预案"}
    assert by_trigger["verify"] == {"verifier": "张卫东", "result": "合格"}
    assert by_trigger["start"] == by_trigger["submit"] == {}
    assert plan.attrs["found_at"] == "2026-01-11T16:00:00+00:00"


def test_a_check_date_of_a_stage_not_reached_stays_a_field():
    """A failed check (不合格, back to rectifying) keeps its date and result with the report."""
    plan = plan_row({**ROW, "verified_at": "2026-03-01", "result": "不合格"}, "rectifying", MAJOR)
    assert triggers(plan) == ["assign", "start"]
    assert plan.report_fields == {"verified_at": "2026-03-01", "result": "不合格"}


def test_a_stage_the_workflow_cannot_reach_is_refused():
    """A stage without a state raises InvalidInput (the importer checks workflows before any row)."""
    with pytest.raises(InvalidInput):
        plan_row(ROW, "nowhere", MAJOR)


def test_states_show_as_the_stage_an_import_reads_back():
    """Export writes each state as the stage that lands on it again."""
    assert [stage_of(GENERAL, s) for s in ("reported", "rectifying", "verifying", "closed")] == [
        "reported", "rectifying", "verifying", "closed"]
    assert stage_of(MAJOR, "verified") == "verified" and stage_of(DEFINITIONS["interview"], "held") is None


def imported_log(source: dict | None) -> list[Event]:
    """The report and assignment of a general hazard as the importer records them (role import)."""
    at = instant("2026-01-12")
    data = {"case": {**{k: ROW[k] for k in ("title", "enterprise", "region", "industry", "source")},
                     "level": "general", "found_at": "2026-01-11T16:00:00+00:00"}, "fields": {}}
    extra = {"import": source} if source is not None else {}
    first = Event("HZ-2026-000001", 1, "report", None, "reported", "zhang", "import", at, at, {**data, **extra},
                  "general-hazard", 1).sealed()
    second = Event("HZ-2026-000001", 2, "assign", "reported", "rectifying", "zhang", "import", at, at,
                   {"fields": {"measures": "清理"}, **extra}, "general-hazard", 1, first.hash).sealed()
    return [first, second]


def test_replay_accepts_the_import_role_only_with_the_rows_source():
    """A transition signed in role `import` replays when its data names the ledger row, and fails without it."""
    source = {"file": "台账.xlsx", "sheet": "台账", "row": 5, "sha256": "0" * 64}
    assert replay(imported_log(source), lambda name, version: GENERAL).state == "rectifying"
    with pytest.raises(InconsistentLog, match="role 'import'"):
        replay(imported_log(None), lambda name, version: GENERAL)
    first, second = imported_log(source)
    case = replay([first], lambda name, version: GENERAL)
    with pytest.raises(InconsistentLog):
        check_event(case, replace(second, data={"fields": {}, "import": "台账.xlsx"}), GENERAL)
