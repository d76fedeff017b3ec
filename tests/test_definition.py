"""Workflow definitions: `hazard workflow validate` output, versioning, list/show/draw.

Each file in tests/definitions/bad/ holds one kind of mistake. Its header lists, as `# expect: LINE: message`,
exactly what validate must print after `FILE:`; every line validate points at carries a `# <-` marker, so
the numbers are checked against the file itself and not only against themselves.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli.main import cli
from engine.domain.definition.parse import parse_text
from engine.domain.errors import DefinitionInvalid
from engine.app.registry import load_definition

HERE = Path(__file__).parent
BAD = sorted((HERE / "definitions" / "bad").glob("*.yaml"))
GOOD = sorted((HERE / "definitions" / "good").glob("*.yaml"))
SHIPPED = sorted((HERE.parent / "workflows").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+): (.*)$")
MARKER = "# <-"


def expected(path: Path) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2)) for m in map(EXPECT.match, path.read_text().splitlines()) if m]


def validate(runner, *paths, json_output=False):
    args = ["workflow", "validate", *map(str, paths)]
    return runner.invoke(cli, (["--json"] if json_output else []) + args)


# -- the bad files -----------------------------------------------------------------------------------------

def test_there_is_a_bad_file_for_each_kind_of_mistake():
    """The catalogue covers at least the mistakes the contract names, each in its own file."""
    names = {p.stem for p in BAD}
    assert {"unknown-state", "unreachable", "trap-state", "unknown-role", "unknown-field", "duplicate-trigger",
            "no-initial", "yaml-syntax", "unknown-guard", "bad-due", "unknown-key", "yes-is-not-true",
            "several-problems"} <= names


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_validate_prints_exactly_the_expected_problems(runner, path):
    """validate prints each problem of the file as FILE:LINE: message, exactly the lines its header expects, and exits 7."""
    want = expected(path)
    assert want, f"{path.name} has no '# expect:' header"
    result = validate(runner, path)
    assert result.exit_code == 7, result.output
    assert result.stdout.splitlines() == [f"{path}:{line}: {msg}" for line, msg in want]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_line_numbers_point_at_the_marked_lines(path):
    """Every line the expected problems name is the line the file marks with '# <-', and no marked line is missed."""
    lines = path.read_text().splitlines()
    marked = {i for i, text in enumerate(lines, start=1) if MARKER in text}
    named = {line for line, _ in expected(path)}
    assert named == marked


def test_first_duplicate_is_named_by_its_line():
    """The duplicate-trigger message's 'first at line N' points at the earlier transition with that trigger."""
    path = HERE / "definitions" / "bad" / "duplicate-trigger.yaml"
    (_, message), = expected(path)
    first = int(re.search(r"first at line (\d+)", message).group(1))
    assert path.read_text().splitlines()[first - 1].strip() == "- trigger: assign"


def test_several_files_report_every_problem_of_every_file(runner):
    """Validating several bad files at once prints the problems of all of them, in the order the files were given."""
    files = [HERE / "definitions" / "bad" / "unknown-role.yaml", SHIPPED[0], HERE / "definitions" / "bad" / "trap-state.yaml"]
    result = validate(runner, *files)
    assert result.exit_code == 7
    want = [f"{p}:{line}: {msg}" for p in (files[0], files[2]) for line, msg in expected(p)]
    assert result.stdout.splitlines() == want
    assert f"{SHIPPED[0]}: ok" in result.stderr


def test_validate_json_lists_problems_with_file_and_line(runner):
    """With --json, validate prints one document: valid false and every problem with its file, line and message."""
    path = HERE / "definitions" / "bad" / "several-problems.yaml"
    result = validate(runner, path, json_output=True)
    assert result.exit_code == 7
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    assert [(p["file"], p["line"], p["message"]) for p in doc["problems"]] == [
        (str(path), line, msg) for line, msg in expected(path)]


def test_definition_invalid_carries_every_problem_as_facts():
    """load_definition raises DefinitionInvalid whose problems are (file, line, message) triples, one per mistake."""
    path = HERE / "definitions" / "bad" / "several-problems.yaml"
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(path.read_text(), "several.yaml")
    assert caught.value.problems == [("several.yaml", line, msg) for line, msg in expected(path)]
    assert caught.value.exit_code == 7


def test_a_key_written_twice_is_reported(runner, tmp_path):
    """A state written twice under 'states' is reported at the second occurrence instead of silently replacing the first."""
    path = tmp_path / "dup.yaml"
    path.write_text("workflow: dup\nroles: [inspector]\nstates:\n  reported: {initial: true}\n"
                    "  closed: {final: true}\n  closed: {}\nreport:\n  roles: [inspector]\n"
                    "transitions:\n  - trigger: close\n    from: reported\n    to: closed\n    roles: [inspector]\n")
    result = validate(runner, path)
    assert result.exit_code == 7
    messages = [line.removeprefix(f"{path}:6: ") for line in result.stdout.splitlines() if line.startswith(f"{path}:6: ")]
    assert any("'closed'" in m and ("twice" in m or "duplicate" in m) for m in messages), result.stdout


def test_python_tags_are_never_constructed(runner, tmp_path):
    """A !!python tag is refused as YAML, not turned into code: nothing runs and validate exits 7."""
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"workflow: !!python/object/apply:os.system ['touch {marker}']\nroles: [a]\n")
    result = validate(runner, path)
    assert result.exit_code == 7
    assert not marker.exists()
    path.write_text("workflow: !!python/name:os.system\nroles: [a]\n")
    result = validate(runner, path)
    assert result.exit_code == 7
    assert result.stdout.startswith(f"{path}:1: YAML syntax:")


def test_an_empty_file_and_a_list_are_not_definitions(runner, tmp_path):
    """An empty file and a top-level list are each reported at line 1 with what is wrong."""
    empty, listed = tmp_path / "empty.yaml", tmp_path / "list.yaml"
    empty.write_text("")
    listed.write_text("- a\n- b\n")
    result = validate(runner, empty, listed)
    assert result.exit_code == 7
    assert result.stdout.splitlines() == [f"{empty}:1: the file is empty",
                                          f"{listed}:1: a workflow definition must be a mapping of keys"]


# -- good files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED + GOOD, ids=lambda p: p.name)
def test_shipped_and_good_workflows_validate(runner, path):
    """Every shipped workflow and every good test definition validates with exit 0 and nothing on stdout."""
    result = validate(runner, path)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"{path}: ok" in result.stderr


def test_all_shipped_workflows_validate_together(runner):
    """`hazard workflow validate workflows/*.yaml` exits 0."""
    assert validate(runner, *SHIPPED).exit_code == 0


def test_on_off_yes_no_stay_names_and_values():
    """States, triggers and enum values called on/off/yes/no stay strings instead of turning into booleans."""
    d = parse_text((HERE / "definitions" / "good" / "yes-no-on-off.yaml").read_text(), "yes-no-on-off.yaml")
    assert d.initial == "off"
    assert [s.name for s in d.states] == ["off", "on", "done"]
    assert [t.trigger for t in d.transitions] == ["on", "off"]
    assert d.field_spec("answer").values == ("yes", "no")
    assert d.transitions[0].guards[0].value == "yes"


def test_major_hazard_has_the_contracted_loop():
    """The shipped major-hazard workflow has the states, triggers and field names other tools rely on."""
    d = load_definition((HERE.parent / "workflows" / "major-hazard.yaml").read_text(), "major-hazard.yaml")
    edges = {(src, t.trigger, t.dest) for t in d.transitions for src in t.sources}
    assert {("reported", "assign", "assigned"), ("assigned", "start", "rectifying"),
            ("rectifying", "submit", "verifying"), ("verifying", "verify", "verified"),
            ("verified", "close", "closed"), ("verifying", "reject", "rectifying")} <= edges
    assert d.initial == "reported" and d.final_states == {"closed"}
    assign = d.transition("reported", "assign")
    assert set(assign.requires) == {"responsible_unit", "responsible_person", "measures", "funds", "deadline",
                                    "emergency_plan"}
    for trigger in ("verify", "reject"):
        t = d.transition("verifying", trigger)
        assert "opinion" in t.requires
        assert any(g.kind == "actor_differs_from" and "submit" in g.triggers for g in t.guards)
    assert {"inspector", "enterprise", "supervisor", "committee", "auditor"} <= set(d.roles)


# -- versions ----------------------------------------------------------------------------------------------

MAJOR = (HERE.parent / "workflows" / "major-hazard.yaml").read_text()
# Version 2 renames 'start' to 'begin': a case on version 1 must keep 'start'.
MAJOR_V2 = MAJOR.replace("  - trigger: start\n", "  - trigger: begin\n")


def _major(service):
    return [v for v in service.queries.workflow_versions() if v.name == "major-hazard"]


def test_installing_the_same_text_twice_is_a_no_op(service):
    """Installing unchanged text reports the existing version and adds no row."""
    before = _major(service)
    assert service.commands.install_definition(MAJOR, "elsewhere/major-hazard.yaml", actor="li") == ("major-hazard", 1, False)
    assert _major(service) == before


def test_a_changed_file_becomes_version_2_and_keeps_version_1_text(service):
    """A changed text becomes version 2; version 1's exact text stays stored and showable."""
    assert MAJOR_V2 != MAJOR
    assert service.commands.install_definition(MAJOR_V2, "major-hazard.yaml", actor="li") == ("major-hazard", 2, True)
    assert [v.version for v in _major(service)] == [1, 2]
    old, old_def = service.queries.workflow("major-hazard", 1)
    new, new_def = service.queries.workflow("major-hazard")
    assert old.source_text == MAJOR and new.source_text == MAJOR_V2 and new.version == 2
    assert old_def.transition("assigned", "start") and not old_def.transition("assigned", "begin")
    assert new_def.transition("assigned", "begin") and not new_def.transition("assigned", "start")


def test_a_running_case_stays_on_its_version(service):
    """A case started on v1 keeps advancing under v1's rules after v2 renames a trigger; new cases run v2."""
    from engine.domain.errors import Refused
    from tests.conftest import FIVE, report

    old = report(service)
    service.commands.advance_case(old.id, "assign", actor="zhang", fields=FIVE)
    service.commands.install_definition(MAJOR_V2, "major-hazard.yaml", actor="li")
    with pytest.raises(Refused) as caught:
        service.commands.advance_case(old.id, "begin", actor="ent")
    assert caught.value.rule == "state"
    moved = service.commands.advance_case(old.id, "start", actor="ent")
    assert moved.state == "rectifying" and moved.workflow_version == 1
    assert {e.workflow_version for e in service.queries.history(old.id)} == {1}

    new = report(service)
    assert new.workflow_version == 2
    service.commands.advance_case(new.id, "assign", actor="zhang", fields=FIVE)
    with pytest.raises(Refused):
        service.commands.advance_case(new.id, "start", actor="ent")
    assert service.commands.advance_case(new.id, "begin", actor="ent").state == "rectifying"


def test_an_invalid_definition_is_not_installed(service):
    """Installing a definition with problems raises DefinitionInvalid and stores no version."""
    before = service.queries.workflow_versions()
    with pytest.raises(DefinitionInvalid):
        service.commands.install_definition(MAJOR.replace("to: closed", "to: shut"), "major-hazard.yaml", actor="li")
    assert service.queries.workflow_versions() == before


def test_reverting_the_file_makes_the_old_rules_current_again(service):
    """After v2 is installed, installing v1's text again makes new cases run v1's rules."""
    from tests.conftest import report

    service.commands.install_definition(MAJOR_V2, "major-hazard.yaml", actor="li")
    service.commands.install_definition(MAJOR, "major-hazard.yaml", actor="li")
    case = report(service)
    _, definition = service.queries.workflow("major-hazard", case.workflow_version)
    assert definition.transition("assigned", "start") is not None


def test_a_second_service_sees_a_version_installed_elsewhere(service, store, clock):
    """A service that already reported on v1 starts new cases on v2 once another service installed it."""
    from engine.app import Engine
    from tests.conftest import report

    other = Engine(store, clock=clock, trust_backdating=True)
    assert report(other).workflow_version == 1
    service.commands.install_definition(MAJOR_V2, "major-hazard.yaml", actor="li")
    assert report(other).workflow_version == 2



def test_parse_and_check_problems_are_reported_together(runner, tmp_path):
    """A file with an unknown key and an unknown state and role reports all three, not just the key."""
    path = tmp_path / "mix.yaml"
    path.write_text("workflow: mix\nroles: [inspector]\nstates:\n  reported: {initial: true, colour: red}\n"
                    "  closed: {final: true}\nreport:\n  roles: [inspector]\ntransitions:\n  - trigger: close\n"
                    "    from: reported\n    to: nowhere\n    roles: [mayor]\n")
    result = validate(runner, path)
    assert result.exit_code == 7
    assert f"{path}:4: state 'reported': unknown key 'colour' (allowed: accepted, final, initial, label, rectified)" in result.stdout
    assert "unknown state 'nowhere' in 'to'" in result.stdout
    assert "unknown role 'mayor'" in result.stdout


def _lines(value):
    """A loaded value with the lines it remembers, to compare two loads of one text."""
    if isinstance(value, dict):
        return (value.line, dict(value.key_lines), {k: _lines(v) for k, v in value.items()})
    if isinstance(value, list):
        return (value.line, list(value.item_lines), [_lines(v) for v in value])
    return (type(value).__name__, value)


@pytest.mark.parametrize("path", sorted(Path(__file__).parent.parent.glob("workflows/*.yaml"))
                         + sorted((Path(__file__).parent / "definitions").glob("*/*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_stored_definition_reads_as_its_file_did_values_types_and_lines(path):
    """The engine reads a stored, hash-checked text with libyaml: the same values, the same booleans (yes/no/on
    stay words) and the same lines as the bounded reader that installed it."""
    from engine.domain.definition import source
    text = path.read_text(encoding="utf-8")
    try:
        installed = source.load(text, path.name)
    except DefinitionInvalid:
        return  # a definition the suite keeps to be refused was never stored
    assert _lines(source.load(text, path.name, stored=True)) == _lines(installed)
