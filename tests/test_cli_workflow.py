"""`hazard workflow ...` through CliRunner: install and versions, list, show (exact old text), draw, validate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import cli
from engine.domain.definition.parse import parse_text

HERE = Path(__file__).parent
SHIPPED = sorted((HERE.parent / "workflows").glob("*.yaml"))
MAJOR = (HERE.parent / "workflows" / "major-hazard.yaml").read_text()
# Version 2 renames 'start' to 'begin': a case on version 1 must keep 'start'.
MAJOR_V2 = MAJOR.replace("  - trigger: start\n", "  - trigger: begin\n")
CASE = ["--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司", "--region", "371721",
        "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
FIVE = ["--set", "responsible_unit=某化工有限公司", "--set", "responsible_person=王五", "--set", "measures=加装报警",
        "--set", "funds=15万", "--set", "deadline=2026-04-30", "--set", "emergency_plan=预案"]


@pytest.fixture
def hz(runner, db_url):
    """Invoke `hazard` on an initialised database; returns the CliRunner result."""
    def invoke(*args):
        return runner.invoke(cli, ["--db", db_url, "--now", "2026-03-02T09:00", *args])
    assert invoke("init").exit_code == 0
    return invoke


def test_workflow_list_shows_every_installed_version(hz, tmp_path):
    """`workflow list --json` lists each workflow once per version, with v2 after installing a changed file."""
    v2 = tmp_path / "major-hazard.yaml"
    v2.write_text(MAJOR_V2, encoding="utf-8")
    assert hz("workflow", "install", str(v2)).exit_code == 0
    rows = json.loads(hz("workflow", "list", "--json").stdout)
    pairs = {(r["name"], r["version"]) for r in rows}
    assert pairs == {("general-hazard", 1), ("interview", 1), ("major-hazard", 1), ("major-hazard", 2),
                     ("posted-supervision", 1)}
    human = hz("workflow", "list")
    assert human.exit_code == 0
    assert all(name in human.stdout for name, _ in pairs)


def test_workflow_install_twice_says_unchanged(hz, tmp_path):
    """Installing the same file twice prints 'installed' then 'unchanged' and keeps one version."""
    v2 = tmp_path / "major-hazard.yaml"
    v2.write_text(MAJOR_V2, encoding="utf-8")
    first = json.loads(hz("--json", "workflow", "install", str(v2)).stdout)
    second = json.loads(hz("--json", "workflow", "install", str(v2)).stdout)
    assert first == [{"name": "major-hazard", "version": 2, "created": True}]
    assert second == [{"name": "major-hazard", "version": 2, "created": False}]


def test_workflow_show_version_1_prints_the_exact_old_text(hz, tmp_path):
    """`workflow show NAME --version 1` prints v1's exact YAML after v2 was installed; without --version, v2."""
    v2 = tmp_path / "major-hazard.yaml"
    v2.write_text(MAJOR_V2, encoding="utf-8")
    hz("workflow", "install", str(v2))
    old = hz("workflow", "show", "major-hazard", "--version", "1")
    assert old.exit_code == 0
    assert MAJOR in old.stdout and "trigger: begin" not in old.stdout
    doc = json.loads(hz("workflow", "show", "major-hazard", "--version", "1", "--json").stdout)
    assert doc["source"] == MAJOR and doc["version"] == 1
    newest = json.loads(hz("workflow", "show", "major-hazard", "--json").stdout)
    assert newest["source"] == MAJOR_V2 and newest["version"] == 2
    assert "begin" in {t["trigger"] for t in newest["transitions"]}


def test_workflow_show_unknown_version_is_not_found(hz):
    """Asking for a version that was never installed exits 5 (not found)."""
    result = hz("workflow", "show", "major-hazard", "--version", "9")
    assert result.exit_code == 5
    assert "version 9" in result.stderr


def test_workflow_draw_mermaid_has_every_transition(hz):
    """`workflow draw` prints Mermaid by default: stateDiagram-v2, the initial arrow and one arrow per transition."""
    result = hz("workflow", "draw", "major-hazard")
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[0] == "stateDiagram-v2"
    assert "[*] --> reported" in lines and "closed --> [*]" in lines
    d = parse_text(MAJOR, "major-hazard.yaml")
    arrows = [line for line in lines if "-->" in line and "[*]" not in line]
    assert len(arrows) == sum(len(t.sources) for t in d.transitions)
    for t in d.transitions:
        for src in t.sources:
            assert any(a.startswith(f"{src} --> {t.dest}: {t.trigger}") for a in arrows), (src, t.trigger)


def test_workflow_draw_dot_is_a_digraph(hz):
    """`workflow draw --format dot` prints a Graphviz digraph with an edge per transition."""
    result = hz("workflow", "draw", "general-hazard", "--format", "dot")
    assert result.exit_code == 0
    assert result.stdout.startswith('digraph "general-hazard" {') and result.stdout.rstrip().endswith("}")
    d = parse_text((HERE.parent / "workflows" / "general-hazard.yaml").read_text(), "g.yaml")
    for t in d.transitions:
        for src in t.sources:
            assert f'"{src}" -> "{t.dest}" [label="{t.trigger}' in result.stdout


def test_draw_mermaid_ids_have_no_dashes(hz):
    """Mermaid state ids replace '-' (which Mermaid rejects) so workflows with dashed state names still draw."""
    result = hz("workflow", "draw", "posted-supervision")
    assert result.exit_code == 0
    for line in result.stdout.splitlines():
        if "-->" in line:
            ends = line.split(":")[0].replace("-->", " ").split()
            assert all("-" not in e for e in ends), line


def test_draw_unknown_workflow_is_not_found(hz):
    """Drawing a workflow that is not installed exits 5."""
    assert hz("workflow", "draw", "no-such-flow").exit_code == 5


def test_install_a_changed_file_then_cases_keep_their_version(hz, tmp_path):
    """Through the CLI: a case reported on v1 still 'start's after v2 renamed it to 'begin'; a new case uses 'begin'."""
    for name, role, region in [("li", "committee", "37"), ("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")]:
        assert hz("--actor", "li", "user", "add", name, "--role", role, "--region", region).exit_code == 0
    old = hz("--actor", "ent", "case", "report", *CASE).stdout.strip()
    assert hz("--actor", "zhang", "case", "advance", old, "assign", *FIVE).exit_code == 0
    v2 = tmp_path / "major-hazard.yaml"
    v2.write_text(MAJOR_V2, encoding="utf-8")
    assert hz("--actor", "li", "workflow", "install", str(v2)).exit_code == 0
    assert hz("--actor", "ent", "case", "advance", old, "begin").exit_code == 3
    moved = json.loads(hz("--json", "--actor", "ent", "case", "advance", old, "start").stdout)
    assert (moved["state"], moved["workflow_version"]) == ("rectifying", 1)
    new = json.loads(hz("--json", "--actor", "ent", "case", "report", *CASE).stdout)
    assert new["workflow_version"] == 2
    hz("--actor", "zhang", "case", "advance", new["id"], "assign", *FIVE)
    assert hz("--actor", "ent", "case", "advance", new["id"], "start").exit_code == 3
    assert hz("--actor", "ent", "case", "advance", new["id"], "begin").exit_code == 0


def test_installing_an_invalid_file_exits_7_and_installs_nothing(hz, tmp_path):
    """`workflow install` of a definition with problems prints them FILE:LINE: and exits 7; no version is added."""
    bad = tmp_path / "major-hazard.yaml"
    bad.write_text(MAJOR.replace("to: closed", "to: shut"), encoding="utf-8")
    before = hz("--json", "workflow", "list").stdout
    result = hz("workflow", "install", str(bad))
    assert result.exit_code == 7
    assert f"{bad}:" in result.stderr and "unknown state 'shut' in 'to'" in result.stderr
    assert hz("--json", "workflow", "list").stdout == before


def test_workflow_show_human_has_table_and_text(hz):
    """The human `workflow show` lists the transitions and then prints the stored YAML text verbatim."""
    result = hz("workflow", "show", "general-hazard")
    assert result.exit_code == 0
    text = (HERE.parent / "workflows" / "general-hazard.yaml").read_text()
    assert result.stdout.endswith(text + "\n")
    assert "general-hazard version 1" in result.stdout and "fix" in result.stdout


def test_validate_needs_an_existing_file(runner, tmp_path):
    """Validating a path that does not exist is a usage error (exit 2)."""
    result = runner.invoke(cli, ["workflow", "validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2


def test_validate_shipped_json(runner):
    """`--json workflow validate workflows/*.yaml` says valid with no problems and lists every file."""
    result = runner.invoke(cli, ["--json", "workflow", "validate", *map(str, SHIPPED)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "files": list(map(str, SHIPPED)), "problems": []}


@pytest.mark.parametrize("sub", ["validate", "install", "list", "show", "draw"])
def test_every_workflow_command_has_help(runner, sub):
    """Each `hazard workflow` subcommand has help text that shows its usage."""
    result = runner.invoke(cli, ["workflow", sub, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and f" workflow {sub} " in result.stdout.splitlines()[0]


def test_version_0_is_not_found(hz):
    """There is no version 0 of a workflow: asking for it exits 5 rather than showing another version."""
    assert hz("workflow", "show", "major-hazard", "--version", "0").exit_code == 5
