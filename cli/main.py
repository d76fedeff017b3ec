"""The `hazard` command: global options, lazily loaded subcommands, and the one place errors become exits.

Only click is imported at start: every subcommand module imports the engine inside its functions, so
`hazard --help` does not pay for SQLAlchemy.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

# name -> (module, attribute): loaded only when the command runs or help lists it.
SUBCOMMANDS = {
    "init": ("cli.admin", "init"),
    "user": ("cli.admin", "user"),
    "workflow": ("cli.workflow", "workflow"),
    "case": ("cli.case", "case"),
    "escalate": ("cli.escalation", "escalate"),
    "scheduler": ("cli.escalation", "scheduler"),
    "escalation": ("cli.escalation", "escalation"),
    "audit": ("cli.audit", "audit"),
    "calendar": ("cli.calendar", "calendar"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attr = SUBCOMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def parse_args(self, ctx, args):
        from cli.options import check_arguments
        ctx.meta["argument_error"] = check_arguments(args)  # raised in invoke, where errors are reported
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        from engine.errors import HazardError
        try:
            if ctx.meta.get("argument_error"):
                raise ctx.meta["argument_error"]
            return super().invoke(ctx)
        except HazardError as exc:
            ctx.exit(report_error(exc))
        except click.UsageError as exc:
            if _wants_json(ctx):
                from cli.output import print_json
                print_json({"error": {"type": "UsageError", "message": exc.format_message(),
                                      "exit_code": exc.exit_code}})
            raise



class AppContext:
    """What every command needs, built lazily: the store and clock only when a command touches them."""

    def __init__(self, db: str, actor: str | None, now: str | None, json: bool):
        self.db, self.actor_name, self.now_text, self.json = db, actor, now, json
        self._service = None

    @property
    def clock(self):
        from engine.clock import FixedClock, SystemClock, parse_time
        return FixedClock(parse_time(self.now_text, field="--now")) if self.now_text else SystemClock()

    @property
    def service(self):
        if self._service is None:
            from engine.service import HazardService
            from engine.store.database import Store
            self._service = HazardService(Store(self.db), self.clock)
        return self._service


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="HAZARD_DB", default="sqlite:///hazard.db", show_default=True,
              help="Database URL: a SQLite file (default ./hazard.db) or postgresql+psycopg://user@host/db. Env: HAZARD_DB.")
@click.option("--actor", envvar="HAZARD_ACTOR", help="Registered user acting (e.g. zhang). Env: HAZARD_ACTOR.")
@click.option("--now", "now", envvar="HAZARD_NOW", metavar="TIME",
              help="Engine time, ISO 8601 (Asia/Shanghai if no offset), for drills, back-filling and tests. "
                   "The real recording time is stored beside it. Env: HAZARD_NOW.")
@click.option("--json", "as_json", is_flag=True, envvar="HAZARD_JSON", help="Print one JSON document on stdout.")
@click.version_option(package_name="hazard-closure")
@click.pass_context
def cli(ctx, db, actor, now, as_json):
    """hazard-closure: declarative workflows that close major safety hazards (重大事故隐患闭环治理).

    Supervisors report and advance hazard cases, a scheduler escalates overdue ones, auditors replay
    histories. Exit codes: 0 ok, 2 usage or unreadable value, 3 refused by a rule, 4 permission denied,
    5 not found, 6 conflict, 7 invalid definition, 8 database error (full table in the README).
    """
    ctx.obj = AppContext(db, actor, now, as_json)


def report_error(exc: Exception) -> int:
    """Print an engine error (and its JSON document with --json); return its exit code."""
    if _wants_json(click.get_current_context(silent=True)):
        from cli.output import error_document, print_json
        print_json(error_document(exc))
    prefix = "" if type(exc).__name__ == "DefinitionInvalid" else "Error: "
    click.echo(f"{prefix}{exc}", err=True)
    return exc.exit_code


def _wants_json(ctx) -> bool:
    root = ctx.find_root() if ctx else None
    env = os.environ.get("HAZARD_JSON", "").strip().lower() in ("1", "true", "t", "yes", "y", "on")
    parsed = bool(root and root.params.get("as_json"))  # before the group's callback made the AppContext
    return bool(root and isinstance(root.obj, AppContext) and root.obj.json) or parsed or "--json" in sys.argv[1:] or env
