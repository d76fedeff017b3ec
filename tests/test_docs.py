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
    section = README[README.index("## Limits"):README.index("## Layout")]
    names = [name for name in vars(limits) if name.isupper() and not name.startswith("_")]
    missing = sorted(name for name in names if f"`{name}`" not in section)
    assert names and not missing, f"limits not in the README's Limits table: {missing}"

