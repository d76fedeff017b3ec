"""Options shared by several commands, as decorators (sqlite-utils' `output_options` habit)."""
from __future__ import annotations

import click


def _set_json(ctx, _param, value):
    if value:
        ctx.find_root().obj.json = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_set_json,
                           help="Print one JSON document on stdout (same as the global --json).")


def _parse_sets(_ctx, _param, values):
    fields = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--set")
        fields[name.strip()] = value
    return fields


set_option = click.option("--set", "fields", multiple=True, metavar="FIELD=VALUE", callback=_parse_sets,
                          help="Set a case field (repeatable), e.g. --set deadline=2026-04-30.")


def is_json(ctx: click.Context) -> bool:
    return ctx.find_root().obj.json
