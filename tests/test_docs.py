"""The README cannot go stale: every command is documented and has help; the exit-code table is the code's."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from cli.main import cli
from engine.definition.parse import CLOCK_KEYS, COMMAND_KEYS, FIELD_KEYS, RUNG_KEYS, STATE_KEYS, TOP_KEYS, TRANSITION_KEYS
from engine.definition.model import GUARD_KINDS, RUNG_ACTIONS
from engine.errors import EXIT_CODES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group, ctx: click.Context, prefix=("hazard",)):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, ctx, path)
        else:
            yield " ".join(path), command


COMMANDS = list(all_commands(cli, click.Context(cli)))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_has_help(path, command):
    """Each `hazard ...` command appears in the README and explains itself in --help."""
    assert f"`{path}" in README, f"{path} is not documented in README.md"
    assert command.help and len(command.help.strip()) > 20


def test_the_readme_exit_code_table_is_the_code():
    """The README's exit-code table lists exactly the codes and meanings engine/errors.py uses."""
    rows = dict(re.findall(r"^\| (\d+) \| ([^|]+?) \|$", README, flags=re.M))
    assert {int(k): v for k, v in rows.items()} == EXIT_CODES


@pytest.mark.parametrize("keys", [TOP_KEYS, FIELD_KEYS, STATE_KEYS, TRANSITION_KEYS, COMMAND_KEYS, CLOCK_KEYS,
                                  RUNG_KEYS, GUARD_KINDS, RUNG_ACTIONS])
def test_every_accepted_yaml_key_is_in_the_reference(keys):
    """The YAML reference mentions every key and vocabulary word the parser accepts."""
    section = README[README.index("## Workflow definition reference"):]
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}\b", section))
    assert not missing, f"undocumented in the YAML reference: {missing}"


def test_every_limit_is_in_the_readme_limits_table():
    """Each bound in engine/limits.py is named in the README's Limits table, so none is a surprise."""
    from engine import limits
    start = README.index("## Limits")
    section = README[start:README.index("\n## ", start + 1)]
    names = [name for name in vars(limits) if name.isupper() and not name.startswith("_")]
    missing = sorted(name for name in names if f"`{name}`" not in section)
    assert names and not missing, f"limits not in the README's Limits table: {missing}"

def _example_lines(command) -> list[str]:
    """The command lines of the `Example:` paragraph its docstring gives (the lines after it, indented)."""
    lines = (command.help or "").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("Example")), None)
    if start is None:
        return []
    found = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        found.append(line.strip())
    return found


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_an_example_kept_verbatim_in_its_help(path, command):
    """`--help` of each command shows an example that survives click's re-wrapping whole, at 80 columns."""
    from click.testing import CliRunner

    examples = _example_lines(command)
    assert examples, f"{path} has no Example in its help"
    shown = CliRunner().invoke(cli, path.split()[1:] + ["--help"], terminal_width=80).stdout
    for line in examples:
        assert line in shown.splitlines() or any(l.strip() == line for l in shown.splitlines()), \
            f"{path}: the example line is not shown whole: {line!r}"


@pytest.mark.slow
def test_the_demo_shows_the_refusals_it_claims(tmp_path):
    """docs/demo.sh runs to the end, and each '(refused as expected: ...)' follows the refusal it names."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")},
           "HAZARD_DB": f"sqlite:///{tmp_path / 'demo.db'}", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    # stderr into stdout, so each refusal and the line claiming it come in the order they were printed
    done = subprocess.run(["bash", "-c", f"bash '{root / 'docs' / 'demo.sh'}' 2>&1"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    ordered = done.stdout.splitlines()
    claims = {"whoever submitted may not verify": "rule 'actor_differs_from'",
              "an enterprise may not assign": "may not fire 'assign'",
              "an enterprise may not verify its own rectification": "(role enterprise) may not fire 'verify'",
              "only the committee office decides an interview": "may not decide 'interview'"}
    for claim, refusal in claims.items():
        at = next(i for i, line in enumerate(ordered) if f"(refused as expected: {claim})" in line)
        assert refusal in ordered[at - 1], (claim, ordered[at - 1])


def _block(after: str, language: str) -> str:
    """The README's first fenced block of `language` after the line `after`."""
    found = re.search(re.escape(after) + r".*?```" + language + r"\n(.*?)```", README, re.S)
    assert found, f"no {language} block after {after!r} in the README"
    return found.group(1)


@pytest.mark.slow
def test_the_readmes_first_session_runs_as_written(tmp_path):
    """The shell block of "A first session", verbatim, in a new folder: every command succeeds (its deadline
    was refused as already past once the README's dates were behind us), and the case ends up overdue."""
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")},
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = "set -euo pipefail\n" + _block("## A first session", "sh") + 'echo "ID=$ID"\n'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    case_id = done.stdout.strip().splitlines()[-1].removeprefix("ID=")
    assert case_id.startswith("HZ-2026-") and case_id in done.stdout.split("ID=")[0]


@pytest.mark.slow
def test_the_readmes_python_example_runs_as_written(tmp_path):
    """The Architecture section's script, verbatim, in a new folder (twice: it is safe to run again)."""
    import subprocess
    import sys

    script = tmp_path / "example.py"
    script.write_text(_block("A script uses the same API as the command line:", "python"), encoding="utf-8")
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    assert first.startswith("HZ-2026-000001 液氨储罐区未设泄漏报警 2026-05-01T00:00:00+08:00"), done.stdout
    assert "deadline" in done.stdout and "'found':" in done.stdout
