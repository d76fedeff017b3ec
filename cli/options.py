"""Options shared by several commands, as decorators (sqlite-utils' `output_options` habit)."""
from __future__ import annotations

import os

import click


def _set_json(ctx, _param, value):
    if value:
        ctx.find_root().obj.json = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_set_json,
                           help="Print one JSON document on stdout (same as the global --json).")


def parse_sets(_ctx, _param, values):
    from engine.domain.errors import InvalidInput
    from engine.domain.values import read_assignments

    try:
        return read_assignments(values)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message, param_hint="--set") from None


set_option = click.option("--set", "fields", multiple=True, metavar="FIELD=VALUE", callback=parse_sets,
                          help="Set a case field (repeatable), e.g. --set deadline=2026-04-30.")


def is_json(ctx: click.Context) -> bool:
    return ctx.find_root().obj.json


# Counts the database stores as integers: bounded so a 30-digit number is a usage error, not a driver crash.
def limit_type() -> click.IntRange:
    from engine.domain.limits import MAX_LIST_LIMIT
    return click.IntRange(1, MAX_LIST_LIMIT)


def version_type() -> click.IntRange:
    """Versions, expected versions and offsets: whole numbers from 0."""
    from engine.domain.limits import MAX_VERSION
    return click.IntRange(0, MAX_VERSION)


offset_type = version_type


# Tab and line breaks may stand in a text (`--set measures=...`); no other control character may.
_ARGUMENT_WHITESPACE = frozenset("\t\n\r")


def check_arguments(args: list[str]) -> click.UsageError | None:
    """The error for the first argument that is not UTF-8 (Python hands undecodable bytes on as lone
    surrogates, which no database driver can encode) or that holds a control character; None if all are fine."""
    for position, arg in enumerate(args, 1):
        for char in arg:
            if "\ud800" <= char <= "\udfff":
                escaped = all(c < "\ud800" or "\udc80" <= c <= "\udcff" or c > "\udfff" for c in arg)
                raw = os.fsencode(arg) if escaped else arg
                return click.UsageError(f"argument {position} ({_cut(raw)!r}) is not UTF-8 text: "
                                        "give it in UTF-8 (check the terminal's or the script's encoding)")
            if (char < " " or "\x7f" <= char <= "\x9f") and char not in _ARGUMENT_WHITESPACE:
                return click.UsageError(f"argument {position} ({_cut(arg)!r}) holds the control character "
                                        f"U+{ord(char):04X}, which is not allowed")
    return None


def _cut(value, width: int = 40):
    return value if len(value) <= width else value[:width]


# The register's filters, as `case list` takes them; `hazard export` takes the same (one definition, one help).
_CASE_FILTERS = (
    click.option("--state", default=None, help="Only cases in this state: its name or label (rectifying, 整改中)."),
    click.option("--region", default=None, help="Region: a code of the national list, 37, 3717, 371721 (371700 = "
                                                "3717), or a name (山东, 菏泽, 曹县)."),
    click.option("--level", default=None, help="major or general."),
    click.option("--workflow", default=None, help="Only cases of this workflow."),
    click.option("--overdue", is_flag=True, help="Only open cases past their deadline (paused time counted, as the "
                                                 "ladder counts it) at the engine's time."),
    click.option("--enterprise", default=None, metavar="TEXT", help="Enterprise name contains TEXT."),
    click.option("--industry", default=None, metavar="TEXT", help="Key sector (a vocabulary word or alias)."),
    click.option("--source", default=None, metavar="S", help="How it was found (self_check, inspection, ...)."),
    click.option("--responsible-unit", default=None, metavar="TEXT", help="Responsible unit contains TEXT."),
    click.option("--responsible-person", default=None, metavar="TEXT", help="Responsible person contains TEXT."),
    click.option("--found-from", default=None, metavar="DATE", help="Found on or after DATE."),
    click.option("--found-to", default=None, metavar="DATE", help="Found on or before DATE."),
    click.option("--deadline-before", default=None, metavar="DATE", help="Deadline earlier than DATE."),
    click.option("--search", default=None, metavar="TEXT", help="Title contains TEXT."),
    click.option("--sort", default=None, metavar="FIELD",
                 help="Order by FIELD (id, found_at, deadline, due_at, state, level, region, enterprise, industry, "
                      "source, title, created_at, updated_at); -FIELD descending."),
    click.option("--limit", type=limit_type(), default=None, help="At most N cases (a table shows 100 unless told)."),
    click.option("--offset", type=offset_type(), default=0, help="Skip the first N cases."),
    click.option("--as-of", "as_of", default=None, metavar="TIME",
                 help="The register as it stood at TIME, replayed from the events (not today's rows)."),
)


def case_filter_options(command):
    """The filters of `case list` (passed as keyword arguments named like CaseFilter's fields, and `as_of`)."""
    for option in reversed(_CASE_FILTERS):
        command = option(command)
    return command
