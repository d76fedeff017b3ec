"""Definition files that used to break the engine: each is now a `FILE:LINE: message` problem (exit 7).

Fuzzing found tracebacks (NUL or ESC in a value, 5,000 levels of nesting, a 5,000-digit number), a hang (an
alias bomb ran past 60 s and 290 MB) and durations that validated and then broke every `submit`. The bounds
live in engine/domain/limits.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import cli
from engine.domain import limits
from engine.domain.definition import source
from engine.domain.errors import DefinitionInvalid
from engine.app.registry import load_definition

HERE = Path(__file__).parent
HAZARD = Path(sys.executable).with_name("hazard")
MAJOR = (HERE.parent / "workflows" / "major-hazard.yaml").read_text(encoding="utf-8")


def problems(text: str, filename: str = "wf.yaml") -> list[tuple[str, int, str]]:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(text, filename)
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["workflow: bomb", 'a0: &a0 ["lol"' + ', "lol"' * (width - 1) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# -- YAML ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("char,name", [("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x07", "U+0007")])
def test_a_control_character_in_a_value_is_a_problem_on_its_line(char, name):
    """NUL, ESC or BEL in a value is reported at its line, not raised as a ReaderError."""
    text = MAJOR.replace("title: 重大事故隐患闭环治理", f"title: 重大{char}事故隐患")
    assert problems(text) == [("wf.yaml", line_of(MAJOR, "title: 重大"),
                               f"character {name} is not allowed in a definition "
                               "(YAML allows no control characters and no undecodable bytes)")]


@pytest.mark.parametrize("escape,name", [("\\0", "U+0000 (NUL)"), ("\\e", "U+001B (ESC)"), ("\\x07", "U+0007")])
def test_a_control_character_escaped_in_quotes_is_a_problem_on_its_line(escape, name):
    """`"rect\\0ifying"` as a state name validated and installed, then broke cases differently per database:
    an escape making a control character is refused like the character itself."""
    text = MAJOR.replace("title: 重大事故隐患闭环治理", f'title: "重大{escape}事故隐患"')
    ((_, line, message),) = problems(text)
    assert line == line_of(MAJOR, "title: 重大") and f"holds the control character {name}" in message


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000],
                         ids=["sequences", "mappings"])
def test_five_thousand_levels_of_nesting_are_a_problem_not_a_recursion_error(nested):
    """Nesting past the depth limit is refused at the line it starts on."""
    found = problems(f"workflow: deep\ndescription: x\nextra: {nested}\n")
    assert found == [("wf.yaml", 3, f"too large to read: nested more than {limits.MAX_YAML_DEPTH} levels deep "
                                    "(definitions need under 10)")]


def test_an_alias_bomb_is_refused_without_expanding_it():
    """A small bomb (5 levels of 9 aliases: 59,049 values) stops at the expanded-size limit. The full billion
    laughs runs in a process of its own below, so that a regression cannot exhaust this one's memory."""
    found = problems(alias_bomb(levels=5))
    assert [msg for _, _, msg in found] == [
        f"too large to read: more than {limits.MAX_YAML_NODES:,} values once aliases are expanded"]


def test_an_alias_bomb_through_validate_exits_7_promptly(tmp_path):
    """`hazard workflow validate` on an alias bomb exits 7 (it used to run past 60 s and 290 MB)."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    # The timeout only keeps a regression from hanging the suite; it is no measurement.
    done = subprocess.run([str(HAZARD), "workflow", "validate", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 7 and "values once aliases are expanded" in done.stdout
    assert "Traceback" not in done.stderr


def test_more_aliases_than_the_limit_are_refused_at_the_first_one_too_many():
    """Alias number MAX_YAML_ALIASES + 1 is the problem, at its line."""
    count = limits.MAX_YAML_ALIASES + 1
    text = "workflow: many\nroles: &r [a]\n" + "".join(f"k{i}: *r\n" for i in range(count))
    assert problems(text) == [("wf.yaml", 2 + count, f"too large to read: more than {limits.MAX_YAML_ALIASES} "
                                                     "aliases (*name) in one definition")]


def test_a_few_aliases_still_work():
    """Anchors reused a few times stay a legitimate way to write a definition."""
    text = MAJOR.replace("roles: [inspector, enterprise, supervisor, committee, auditor]",
                         "roles: &everyone [inspector, enterprise, supervisor, committee, auditor]")
    text = text.replace("  roles: [inspector, enterprise, supervisor, committee]\n", "  roles: *everyone\n", 1)
    assert "auditor" in load_definition(text, "wf.yaml").report.roles


def test_a_definition_over_the_size_limit_is_refused_before_parsing(tmp_path):
    """A text or a file past MAX_DEFINITION_BYTES is one problem at line 1, for load and for read_file."""
    big = MAJOR + "# " + "x" * limits.MAX_DEFINITION_BYTES + "\n"
    assert problems(big) == [("wf.yaml", 1, "larger than the limit of 256 KiB for a definition")]
    path = tmp_path / "big.yaml"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(DefinitionInvalid) as caught:
        source.read_file(str(path))
    assert caught.value.problems == [(str(path), 1, "is larger than the limit of 256 KiB for a definition")]


@pytest.mark.parametrize("value,reason", [("2026-13-45", "month must be in 1..12"), ("9" * 5000, "4300 digits")])
def test_a_value_yaml_cannot_construct_is_a_problem_on_its_line(value, reason):
    """A timestamp with month 13 or a 5,000-digit integer is reported at its line, not raised as ValueError."""
    found = [(line, msg) for _, line, msg in problems(f"workflow: x\nroles: [a]\ndescription: {value}\n")
             if msg.startswith("cannot read")]
    assert len(found) == 1 and found[0][0] == 3
    assert found[0][1].startswith(f"cannot read {repr(value[:40] + ('...' if len(value) > 40 else ''))}: ")
    assert reason in found[0][1]


def test_validate_names_every_unreadable_file_at_once(runner, tmp_path):
    """Non-UTF-8, binary, a directory and an empty file: each its own FILE:LINE problem, one run, exit 7."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("workflow: 隐患\n".encode("gbk"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result = runner.invoke(cli, ["--json", "workflow", "validate", str(latin), str(binary), str(folder), str(empty)])
    assert result.exit_code == 7, result.output
    found = {(p["file"], p["line"], p["message"]) for p in json.loads(result.stdout)["problems"]}
    assert found == {
        (str(latin), 1, "not UTF-8 text (byte 0xd2 at offset 10); save the file as UTF-8"),
        (str(binary), 2, "not UTF-8 text (byte 0x80 at offset 128); save the file as UTF-8"),  # after the \n
        (str(folder), 1, "is a directory, not a workflow file"),
        (str(empty), 1, "the file is empty"),
    }


def test_a_utf8_file_with_a_byte_order_mark_validates(runner, tmp_path):
    """Windows editors write a BOM; it is not part of the definition."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MAJOR.encode("utf-8"))
    assert runner.invoke(cli, ["workflow", "validate", str(path)]).exit_code == 0


def test_install_checks_every_file_first_and_installs_none_if_one_is_bad(runner, db_url, tmp_path):
    """A changed good file beside a non-UTF-8 one: exit 7, the bad file named, no new version stored."""
    good = tmp_path / "major-hazard.yaml"
    good.write_text(MAJOR.replace("title: 重大事故隐患闭环治理", "title: 重大事故隐患闭环治理 v2"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"workflow: \xff\n")
    assert runner.invoke(cli, ["--db", db_url, "init"]).exit_code == 0
    result = runner.invoke(cli, ["--db", db_url, "workflow", "install", str(good), str(bad)])
    assert result.exit_code == 7 and f"{bad}:1: not UTF-8 text" in result.stderr
    listed = json.loads(runner.invoke(cli, ["--db", db_url, "--json", "workflow", "list"]).stdout)
    assert [v["version"] for v in listed if v["name"] == "major-hazard"] == [1]


# -- numbers in a definition ----------------------------------------------------------------------------------

NUMBER_CASES = [
    ("duration: 10 days", "duration: 99999999999 days",
     "clock 'verification': a duration of 99,999,999,999 days is past the limit of 3,650 days (ten years)"),
    ("duration: 10 days", "duration: " + "9" * 5000 + " days",
     "clock 'verification': a duration of more than 10^18 days is past the limit of 3,650 days (ten years)"),
    ("due: 7 days after", "due: 3651 days after",
     "rung 'interview': an offset of 3,651 days is past the limit of 3,650 days (ten years)"),
    ("due: 3 days before", "due: 100000 working days before",
     "rung 'yellow-warning': an offset of 100,000 days is past the limit of 3,650 days (ten years)"),
    ("deadline: 90 days", "deadline: 4000 days",
     "rung 'posted-supervision': a deadline of 4,000 days is past the limit of 3,650 days (ten years)"),
    ("grace_minutes: 60", "grace_minutes: 99999999",
     "escalation: 'grace_minutes' must be a whole number from 0 to 10080 (a week)"),
]


@pytest.mark.parametrize("old,new,message", NUMBER_CASES, ids=["duration", "5000-digit-duration", "offset-after",
                                                                "offset-before", "supervision-deadline", "grace"])
def test_every_number_in_a_definition_is_bounded(old, new, message):
    """A number past its bound is a problem at its line (it used to validate and then break every submit)."""
    assert old in MAJOR, old
    assert problems(MAJOR.replace(old, new, 1)) == [("wf.yaml", line_of(MAJOR, old), message)]


def test_too_many_states_is_a_problem():
    """A generated definition with more states than MAX_STATES is refused at its `states:` line."""
    extra = "".join(f"  extra{i}: {{final: true}}\n" for i in range(limits.MAX_STATES))
    text = MAJOR.replace("states:\n", "states:\n" + extra, 1)
    found = problems(text)
    assert ("wf.yaml", line_of(MAJOR, "states:\n"),
            f"{limits.MAX_STATES + 6} states is more than the limit of {limits.MAX_STATES} for one definition") in found


def test_the_largest_numbers_allowed_run_a_case_to_its_end(service):
    """At the bounds (3,650-day offsets, duration and supervision deadline; a sweep in 2100) a case is assigned,
    submitted, rejected, extended and escalated: the bounds leave room for all the date arithmetic."""
    from datetime import timedelta

    from engine.domain.clock import FixedClock, parse_time
    from tests.conftest import FIVE, rectified, report

    text = (MAJOR.replace("duration: 10 days", "duration: 3650 working days")
            .replace("due: 7 days after", "due: 3650 days after").replace("due: 3 days before", "due: 3650 days before")
            .replace("deadline: 90 days", "deadline: 3650 working days"))
    commands = service.commands
    commands.install_definition(text, "workflows/major-hazard.yaml", actor="li")
    case = report(service)
    commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "deadline": "2099-01-01"})
    commands.advance_case(case.id, "start", actor="ent")
    rectified(commands, case.id, actor="ent")
    commands.advance_case(case.id, "submit", actor="ent")
    commands.advance_case(case.id, "reject", actor="zhang", fields={"opinion": "未到位"})
    commands.extend_deadline(case.id, actor="zhang", until="2099-03-31", reason="设备到货延迟")
    commands.decide(case.id, "extension", "approve", actor="liu", reason="同意")
    service.recorded_clock = FixedClock(parse_time(f"{limits.MAX_YEAR}-12-31T12:00"))  # really swept then
    result = service.sweep(now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00"))
    assert result.counts["fired"] >= 1 and result.counts["proposed"] >= 1  # the red warning; the sanctions
    commands.decide(case.id, "exposure", "approve", actor="li", reason="曝光",
                    now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00"))
    with_posting = text.replace("due: 30 days after", "due: 3650 days after")  # the posting is the current one
    commands.install_definition(with_posting, "workflows/major-hazard.yaml", actor="li")
    case = report(service, now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00") - timedelta(days=400))
    commands.advance_case(case.id, "assign", actor="zhang", fields={**FIVE, "deadline": "2100-01-01"},
                          now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00") - timedelta(days=399))
    service.sweep(now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00"))
    commands.decide(case.id, "posted-supervision", "approve", actor="li", reason="挂牌",
                    now=parse_time(f"{limits.MAX_YEAR}-12-31T12:00"))
    _, rungs, linked = service.queries.case_view(case.id)
    assert max(r.due_at for r in rungs).year == 2109  # the interview, 3,650 days after 2099-03-31
    supervision = next(c for c in linked if c.workflow == "posted-supervision")
    assert supervision.deadline > f"{limits.MAX_YEAR}"  # 3,650 working days after the sweep: computed, not typed
