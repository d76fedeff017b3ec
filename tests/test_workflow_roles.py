"""No code per workflow: what a workflow serves (hazard, interview, posting) and how a ledger's stages land on its
states are data of its definition (`serves:`, `ledger_stages:`), so a province's own workflow imports, exports
and is counted like the built-ins, and an export never leaves a case out without saying so."""
from __future__ import annotations

import csv
import gc
import json
import re
from pathlib import Path

import pytest

from cli.main import cli
from engine.app.registry import builtin_workflow_files, load_definition
from engine.domain.clock import parse_time
from engine.domain.definition.model import LEDGER_STAGES
from engine.domain.errors import DefinitionInvalid
from engine.ledger.words import STAGES
from tests.conftest import FIVE, report

BUILTIN = dict(builtin_workflow_files())
MAJOR_TEXT = BUILTIN["workflows/major-hazard.yaml"]
INTERVIEW_TEXT = BUILTIN["workflows/interview.yaml"]
NOW = "2026-04-01T09:00"


@pytest.fixture(autouse=True)
def collected():
    yield
    gc.collect()


def invoke(runner, url, *args, actor="zhang", now=NOW):
    return runner.invoke(cli, ["--db", url, "--now", now, "--actor", actor, *map(str, args)])


def province_major(interview: str = "interview") -> str:
    """The shipped major-hazard under a province's own name, its interview rung opening `interview`."""
    return (MAJOR_TEXT.replace("workflow: major-hazard", "workflow: sd-major-hazard", 1)
            .replace("      workflow: interview\n", f"      workflow: {interview}\n", 1))


def without_keys(text: str) -> str:
    """A definition as written before `serves` and `ledger_stages` existed."""
    text = re.sub(r"^ledger_stages:\n(?:  .*\n)+", "", text, flags=re.M)
    return re.sub(r"^serves: .*\n", "", text, flags=re.M)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


# -- the definition ------------------------------------------------------------------------------------------------
def test_the_shipped_workflows_declare_what_they_serve_and_their_ledger_stages():
    """Each shipped file says it: the two hazard workflows map every stage, the linked ones serve their kind."""
    loaded = {d.name: d for d in (load_definition(text, name) for name, text in BUILTIN.items())}
    assert {name: d.serves for name, d in loaded.items()} == {
        "major-hazard": "hazard", "general-hazard": "hazard", "interview": "interview", "posted-supervision": "posting"}
    assert loaded["major-hazard"].stage_states == {stage: stage for stage in STAGES}
    assert loaded["general-hazard"].stage_states == {
        "reported": "reported", "assigned": "rectifying", "rectifying": "rectifying", "verifying": "verifying",
        "verified": "closed", "closed": "closed"}
    assert loaded["interview"].stage_states == {} and loaded["posted-supervision"].stage_states == {}
    for text in BUILTIN.values():
        assert re.search(r"^serves: ", text, flags=re.M)
    assert LEDGER_STAGES == STAGES  # the definition's stages are the words a ledger's 隐患状态 reads into


def test_a_text_stored_before_the_keys_existed_reads_as_its_name_said():
    """The migration fallback: without the keys, the four built-in names keep what they meant; any other name is
    a hazard workflow without a stage map."""
    for name, text in BUILTIN.items():
        old, new = load_definition(without_keys(text), name), load_definition(text, name)
        assert (old.serves, old.stage_states) == (new.serves, new.stage_states)
    other = load_definition(without_keys(province_major()), "sd.yaml")
    assert (other.serves, other.stage_states) == ("hazard", {})


BAD = [
    ("serves: hazard      #", "serves: complaint   #", "serves: hazard",
     "workflow: 'serves' must be one of hazard, interview, posting, not 'complaint'"),
    ("  verified: verified", "  checked: verified", "  verified: verified",
     "ledger_stages: unknown stage 'checked' (stages: reported, assigned, rectifying, verifying, verified, closed)"),
    ("  closed: closed", "  closed: written-off", "  closed: closed",
     "ledger_stages: stage 'closed' names unknown state 'written-off' (states: reported, assigned, rectifying, "
     "verifying, verified, closed)"),
    ("  verified: verified\n", "", "ledger_stages:",
     "ledger_stages: no state for the stage verified (a ledger row may be at any of reported, assigned, "
     "rectifying, verifying, verified, closed)"),
    ("  assigned: assigned", "  assigned: [assigned]", "  assigned: assigned",
     "ledger_stages: stage 'assigned' must name a state, not ['assigned']"),
    ("serves: hazard      #", "serves: interview   #", "ledger_stages:",
     "ledger_stages: a workflow that serves 'interview' takes no ledger rows; only a hazard workflow "
     "(serves: hazard) maps ledger stages onto states"),
]


@pytest.mark.parametrize("old,new,at,problem", BAD, ids=["serves", "unknown-stage", "unknown-state", "missing-stage",
                                                         "not-a-name", "not-a-hazard"])
def test_a_wrong_role_or_stage_map_is_named_with_its_file_and_line(runner, tmp_path, old, new, at, problem):
    """`workflow validate` prints FILE:LINE: what is wrong and exits 7; the file is never installed."""
    assert old in MAJOR_TEXT
    path = tmp_path / "sd-major-hazard.yaml"
    path.write_text(province_major().replace(old, new, 1), encoding="utf-8")
    line = line_of(MAJOR_TEXT, at)
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 7, result.output
    assert f"{path}:{line}: {problem}" in result.stdout.splitlines()
    with pytest.raises(DefinitionInvalid):
        load_definition(path.read_text(encoding="utf-8"), str(path))


def test_a_rung_opening_a_workflow_of_another_kind_is_not_installed(runner, seeded_url, tmp_path):
    """An interview rung that opens a hazard workflow (or one not serving interviews) is named at its line, exit 7,
    and nothing is installed; one opening a workflow installed in the same command is judged by that file."""
    path = tmp_path / "sd-major-hazard.yaml"
    path.write_text(province_major("general-hazard"), encoding="utf-8")
    result = invoke(runner, seeded_url, "workflow", "install", path, actor="li")
    assert result.exit_code == 7, result.output
    line = line_of(MAJOR_TEXT, "- rung: interview")
    assert (f"{path}:{line}: rung 'interview': action 'interview' opens workflow 'general-hazard', which serves "
            "hazards, not interviews (its 'serves:')") in result.output
    assert "sd-major-hazard" not in invoke(runner, seeded_url, "workflow", "list").stdout
    summons = tmp_path / "summons.yaml"
    summons.write_text(INTERVIEW_TEXT.replace("workflow: interview", "workflow: summons", 1)
                       .replace("serves: interview", "serves: posting"), encoding="utf-8")
    path.write_text(province_major("summons"), encoding="utf-8")
    result = invoke(runner, seeded_url, "workflow", "install", path, summons, actor="li")
    assert result.exit_code == 7 and "opens workflow 'summons', which serves postings, not interviews" in result.output
    summons.write_text(INTERVIEW_TEXT.replace("workflow: interview", "workflow: summons", 1), encoding="utf-8")
    assert invoke(runner, seeded_url, "workflow", "install", path, summons, actor="li").exit_code == 0


def test_the_workflow_document_shows_its_role_and_stages(runner, seeded_url):
    shown = json.loads(invoke(runner, seeded_url, "--json", "workflow", "show", "general-hazard").stdout)
    assert shown["serves"] == "hazard" and shown["ledger_stages"]["verified"] == "closed"
    shown = json.loads(invoke(runner, seeded_url, "--json", "workflow", "show", "interview").stdout)
    assert (shown["serves"], shown["ledger_stages"]) == ("interview", {})


# -- a province's own workflows ------------------------------------------------------------------------------------
@pytest.fixture
def province(service):
    """sd-major-hazard (the shipped major-hazard renamed, its interview rung opening `summons`) and `summons` (the
    shipped interview renamed) installed by the committee."""
    summons = INTERVIEW_TEXT.replace("workflow: interview", "workflow: summons", 1)
    service.commands.install_definitions([("sd-major-hazard.yaml", province_major("summons")), ("summons.yaml", summons)],
                                actor="li")
    return service


def overdue_interview(service, workflow: str) -> str:
    """A major hazard of `workflow` left overdue past its interview rung, and the interview approved."""
    case = report(service, workflow=workflow)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    service.sweep(now=parse_time("2026-05-08T09:00"))
    service.commands.decide(case.id, "interview", "approve", actor="li", reason="约谈", now="2026-05-08T09:00")
    return case.id


def test_a_provinces_own_hazard_workflow_exports_and_imports_like_the_built_ins(province, runner, seeded_url,
                                                                              tmp_path):
    """Its cases are rows of the export (they were dropped, "0 cases written"), and --workflow imports them back
    into it (a dry run first: the states its stage map gives)."""
    case = report(province, workflow="sd-major-hazard", title="储罐区未设防火堤", now="2026-03-10T10:00")
    province.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE, now="2026-03-11T09:00")
    path = tmp_path / "台账.csv"
    result = invoke(runner, seeded_url, "--json", "export", path, "--headers", "fields")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 1 and json.loads(result.stdout)["not_written"] == []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], r["title"], r["state"]) for r in rows] == [(case.id, "储罐区未设防火堤", "assigned")]

    other = tmp_path / "other.csv"  # the same row as a new hazard of another enterprise
    text = path.read_text(encoding="utf-8-sig")
    other.write_text(text.replace("某化工有限公司", "某新材料有限公司").replace(case.id, ""), encoding="utf-8-sig")
    dry = invoke(runner, seeded_url, "--json", "import", other, "--workflow", "major=sd-major-hazard", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["by_state"] == {"sd-major-hazard": {"assigned": 1}}
    done = invoke(runner, seeded_url, "--json", "import", other, "--workflow", "sd-major-hazard")
    assert done.exit_code == 0, done.output
    listed = json.loads(invoke(runner, seeded_url, "--json", "case", "list", "--workflow", "sd-major-hazard").stdout)
    assert sorted((c["enterprise"], c["state"]) for c in listed) == [("某化工有限公司", "assigned"),
                                                                     ("某新材料有限公司", "assigned")]
    stats = province.reports.stats(from_="2026-03-01", to="2026-03-31", region="3717")
    assert stats.total.counts.found == 2  # counted as the built-ins are
    assert invoke(runner, seeded_url, "audit", "replay", "--all").exit_code == 0


def test_import_into_a_workflow_that_takes_no_rows_or_is_not_installed_is_refused(province, runner, seeded_url,
                                                                                  tmp_path):
    path = tmp_path / "台账.csv"
    report(province, now="2026-03-10T10:00")
    assert invoke(runner, seeded_url, "export", path).exit_code == 0
    path.write_text(path.read_text(encoding="utf-8-sig").replace("某化工有限公司", "某新材料有限公司"),
                    encoding="utf-8-sig")
    result = invoke(runner, seeded_url, "import", path, "--workflow", "summons")
    assert result.exit_code == 2
    assert "workflow 'summons' takes no ledger rows: no ledger stages (it serves interviews, not hazards)" in result.stderr
    result = invoke(runner, seeded_url, "import", path, "--workflow", "major=no-such-hazard")
    assert result.exit_code == 5 and "no workflow 'no-such-hazard' installed" in result.stderr
    result = invoke(runner, seeded_url, "import", path, "--workflow", "minor=sd-major-hazard")
    assert result.exit_code == 2 and "is not NAME or LEVEL=NAME" in result.stderr


def test_export_names_the_cases_it_does_not_write(province, runner, seeded_url, tmp_path):
    """An interview opened by the ladder is no row of a ledger, and the export says so: on stderr and in --json."""
    overdue_interview(province, "major-hazard")
    path = tmp_path / "台账.csv"
    result = invoke(runner, seeded_url, "export", path, now="2026-05-08T09:00")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{path}: 1 case written",
        "1 case of workflow interview not written: no ledger stages (it serves interviews, not hazards)"]
    result = invoke(runner, seeded_url, "--json", "export", path, now="2026-05-08T09:00")
    assert json.loads(result.stdout)["not_written"] == [
        {"workflow": "interview", "cases": 1, "why": "no ledger stages (it serves interviews, not hazards)"}]


def test_export_names_a_hazard_workflow_written_without_a_stage_map(service, runner, seeded_url, tmp_path):
    service.commands.install_definition(without_keys(province_major()), "sd-major-hazard.yaml", actor="li")
    report(service, workflow="sd-major-hazard")
    report(service)
    path = tmp_path / "台账.csv"
    result = invoke(runner, seeded_url, "export", path)
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == ("1 case of workflow sd-major-hazard not written: no ledger stages "
                                              "(its definition has no 'ledger_stages')")


def test_a_bulletin_lists_the_interviews_of_a_renamed_interview_workflow(province):
    """The interview the province's ladder opens in its own `summons` workflow is an interview of the bulletin
    (it was not: interviews were the workflow named `interview`)."""
    case_id = overdue_interview(province, "sd-major-hazard")
    linked = [c for c in province.queries.cases().cases if c.parent_id == case_id]
    assert [c.workflow for c in linked] == ["summons"]
    doc = province.reports.bulletin(period="month", date="2026-05-31", region="3717",
                                    now="2026-05-31T18:00").document
    assert [(i["case_id"], i["person"]) for i in doc["interviews"]] == [(linked[0].id, "王五")]
    from engine.reports.app import state_labels
    assert "scheduled" not in state_labels(province)  # summons serves interviews: its states are no hazard's
