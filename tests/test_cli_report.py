"""`hazard report ...` on the command line: regions by name, --json with exact counts, formats, documented errors."""
from __future__ import annotations

import inspect
import json

import click
import pytest

from cli.main import cli
from report_cases import report_scenario

NOW = "2026-04-20T09:00"


@pytest.fixture
def hazard(service, runner, db_url):
    report_scenario(service)

    def run(*args):
        return runner.invoke(cli, ["--db", db_url, "--now", NOW, *args])
    return run


def test_stats_shows_counties_by_name_with_the_code_beside_and_a_total(hazard):
    """The table names 曹县 and 定陶区 (no hazards), their six-digit codes, the counts and the rates, then 合计."""
    result = hazard("report", "stats", "--by", "county", "--region", "3717")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    caoxian = next(line for line in lines if "曹县" in line).split()
    assert caoxian[:4] == ["曹县", "371721", "7", "4"]
    silent = next(line for line in lines if "定陶区" in line).split()
    assert silent[-1] == "/" and silent.count("/") >= 2  # rates of nothing found are "/", not 0%
    assert next(line for line in lines if line.strip().startswith("合计")).split()[1] == "8"


def test_stats_json_is_the_apis_document(hazard, service):
    """--json prints the exact counts, rates as numbers and as printed, and each region's name."""
    doc = json.loads(hazard("report", "stats", "--by", "county", "--region", "3717", "--json").stdout)
    assert doc["total"]["found"] == 8 and doc["total"]["rate_text"] == "50.00%"
    row = next(r for r in doc["rows"] if r["county"] == "371721")
    assert row["county_name"] == "曹县" and row["rate"] == 57.14
    assert doc == json.loads(json.dumps(service.reports.stats(by=["county"], region="3717", now=NOW).as_dict(),
                                        default=__import__("engine.domain.documents", fromlist=["x"]).json_default))


def test_stats_as_of_says_it_was_replayed(hazard):
    """--as-of computes from the events and says so."""
    result = hazard("report", "stats", "--as-of", "2026-03-21T00:00")
    assert result.exit_code == 0 and "replayed from the events" in result.stdout
    assert json.loads(hazard("report", "stats", "--as-of", "2026-03-21T00:00", "--json").stdout)["as_of"] is True


def test_lists_print_markdown_html_and_write_xlsx_to_a_redirected_stdout(hazard):
    """The four lists as Markdown by default, one HTML page, or an xlsx workbook on stdout when it is not a terminal."""
    md = hazard("report", "lists", "--region", "3717")
    assert md.exit_code == 0 and "# 山东省菏泽市隐患排查治理四个清单" in md.stdout and "整改清零重大隐患清单" in md.stdout
    html = hazard("report", "lists", "--list", "major-to-clear", "--format", "html")
    assert html.stdout.startswith("<!DOCTYPE html>") and "曹县" in html.stdout
    xlsx = hazard("report", "lists", "--format", "xlsx")
    assert xlsx.exit_code == 0 and xlsx.stdout_bytes[:2] == b"PK"


@pytest.mark.parametrize("args, code, says", [
    (["report", "stats", "--region", "3x"], 2, "not a region code"),
    (["report", "stats", "--by", "colour"], 2, "colour"),
    (["report", "stats", "--from", "2026-04-01", "--to", "2026-03-01"], 2, "before it starts"),
    (["report", "lists", "--list", "majors"], 2, "major-to-clear"),
    (["report", "bulletin", "--period", "year", "--format", "md"], 2, "year"),
    (["campaign", "status", "nothing"], 5, "no campaign 'nothing'"),
])
def test_what_cannot_be_done_exits_with_its_documented_code(hazard, args, code, says):
    """Bad values exit 2, an unknown campaign 5, each with a message saying what is wrong."""
    result = hazard(*args)
    assert result.exit_code == code and says in result.output


def test_a_bad_report_definition_lists_every_problem_with_its_line(hazard, tmp_path):
    """--definition FILE with two problems: both, as FILE:LINE: message, exit 7."""
    path = tmp_path / "mine.yaml"
    path.write_text("report: mine\nrounding: {decimals: 9}\nlists:\n  - list: x\n    title: X\n    columns: [colour]\n",
                    encoding="utf-8")
    result = hazard("report", "stats", "--definition", str(path))
    assert result.exit_code == 7
    assert f"{path}:2:" in result.stderr and f"{path}:6:" in result.stderr


def _leaf_commands(group: click.Group, prefix: str):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


@pytest.mark.parametrize("module, attr", [("cli.report", "report"), ("cli.campaign", "campaign"),
                                          ("cli.audit", "audit")])
def test_every_command_has_an_example_kept_verbatim(module, attr):
    """Each command's help ends with an `Example:` paragraph after a \\b line, so click does not rewrap it."""
    import importlib
    group = getattr(importlib.import_module(module), attr)
    for path, command in _leaf_commands(group, attr):
        assert "\b\nExample:\n  hazard " in inspect.cleandoc(command.help), path
