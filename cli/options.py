"""Options shared by several commands, as decorators (sqlite-utils' `output_options` habit)."""
from __future__ import annotations

import click


def _set_json(ctx, _param, value):
    if value:
        ctx.find_root().obj.json = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_set_json,
                           help="Print one JSON document on stdout (same as the global --json).")


def parse_sets(_ctx, _param, values):
    fields = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--set")
        fields[name.strip()] = value
    return fields


set_option = click.option("--set", "fields", multiple=True, metavar="FIELD=VALUE", callback=parse_sets,
                          help="Set a case field (repeatable), e.g. --set deadline=2026-04-30.")


def is_json(ctx: click.Context) -> bool:
    return ctx.find_root().obj.json


# The register's filters, as `case list` takes them; `hazard export` takes the same (one definition, one help).
_CASE_FILTERS = (
    click.option("--state", default=None, help="Only cases in this state."),
    click.option("--region", default=None, help="Region code prefix: 37, 3717, 371721 (371700 = 3717)."),
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
    click.option("--limit", type=int, default=None, help="At most N cases (a table shows 100 unless told)."),
    click.option("--offset", type=int, default=0, help="Skip the first N cases."),
    click.option("--as-of", "as_of", default=None, metavar="TIME",
                 help="The register as it stood at TIME, replayed from the events (not today's rows)."),
)


def case_filter_options(command):
    """The filters of `case list` (passed as keyword arguments named like CaseFilter's fields, and `as_of`)."""
    for option in reversed(_CASE_FILTERS):
        command = option(command)
    return command
