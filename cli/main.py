"""The `hazard` command: global options, lazily loaded subcommands, and the one place errors become exits.

Only click is imported at start: every subcommand module imports the engine inside its functions, so
`hazard --help` does not pay for SQLAlchemy. The global options (`--db`, `--actor`, `--now`, `--json`,
`--wide`) are accepted before the subcommand and after it alike.
"""
from __future__ import annotations

import gc
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
    "db": ("cli.db", "db"),
    "report": ("cli.report", "report"),
    "campaign": ("cli.campaign", "campaign"),
    "import": ("cli.ledger", "import_ledger"),
    "export": ("cli.ledger", "export_register"),
    "serve": ("cli.serve", "serve"),
    "document": ("cli.document", "document"),
    "notify": ("cli.notify", "notify"),
    "inbox": ("cli.notify", "inbox"),
}
SHORT_HELP = {
    "init": "Create the tables and install the built-in workflows.",
    "user": "Register who may act, in which roles and regions, with which credentials.",
    "workflow": "Workflow definitions: validate, install, list, show, draw, migrate.",
    "case": "Report hazards and move them through their workflow.",
    "escalate": "Run one escalation sweep at the engine's time.",
    "scheduler": "Sweep on an interval until stopped.",
    "escalation": "Inspect escalation rungs: what is due, what is late.",
    "audit": "Replay, verify, trace responsibility, write dossiers.",
    "calendar": "Working-day calendars (holidays and make-up days).",
    "db": "The schema's revision; upgrading an older database.",
    "report": "Figures, the four lists, bulletins and rankings (read-only).",
    "campaign": "Campaigns (专项整治): install, list, status per stage.",
    "import": "Import a hand-kept ledger (台账, xlsx or csv): one case per row.",
    "export": "Write the register as a ledger (xlsx or csv) that import reads back.",
    "serve": "Serve the HTTP API (/api/v1) until stopped.",
    "document": "Notices (文书) issued by workflow steps: list, show, print.",
    "notify": "Deliver notifications (e-mail, webhook); their channels and status.",
    "inbox": "The acting user's in-app messages.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attr = SUBCOMMANDS[name]
        if _KEEP_DATACLASS_CODE:  # before the command's modules make their classes; `hazard --help` makes none
            from cli.dataclass_code import use_kept_code
            use_kept_code()
        return with_global_options(getattr(importlib.import_module(module), attr))

    def format_commands(self, ctx, formatter):
        # `hazard --help` lists the commands without importing a single command module.
        with formatter.section("Commands"):
            formatter.write_dl(list(SHORT_HELP.items()))

    def format_epilog(self, ctx, formatter):
        # The exit codes from the one table the engine keeps (the README's is checked against it too).
        from engine.domain.errors import EXIT_CODES
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(code), meaning) for code, meaning in EXIT_CODES.items()])
        super().format_epilog(ctx, formatter)

    def parse_args(self, ctx, args):
        from cli.options import check_arguments
        ctx.meta["argument_error"] = check_arguments(args)
        ctx.meta["arguments"] = tuple(args)  # raised in invoke, where errors are reported
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        from engine.domain.errors import HazardError
        try:
            if ctx.meta.get("argument_error"):
                raise ctx.meta["argument_error"]
            return super().invoke(ctx)
        except HazardError as exc:
            ctx.exit(report_error(exc))
        except BrokenPipeError:
            # The reader closed the pipe (`hazard audit trace X | head -1`): it has what it wanted.
            _quiet_pipe()
            ctx.exit(0)
        except OSError as exc:
            # A file the command reads or writes (--output, --heads, a sheet) cannot be: the user's to fix.
            from engine.domain.errors import InvalidInput
            where = exc.filename if exc.filename is not None else "a file"
            ctx.exit(report_error(InvalidInput(f"{where}: {exc.strerror or exc}", field="file")))
        except click.UsageError as exc:
            if _wants_json(ctx):
                from cli.output import print_json
                print_json({"error": {"type": "UsageError", "message": exc.format_message(),
                                      "exit_code": exc.exit_code}})
            raise
        finally:
            if isinstance(ctx.obj, AppContext):
                ctx.obj.close()  # the database connections go back now, not whenever the process ends


class AppContext:
    """What every command needs, built lazily: the engine only when a command touches it.

    `actor_name` is where acting starts: on a database that requires tokens, reading it checks the token
    given (--token or HAZARD_TOKEN) first, so every command that acts as a user is covered and commands that
    only read never ask for one."""

    def __init__(self, db: str, actor: str | None, now: str | None, json: bool, wide: bool = False,
                 token: str | None = None, backfill: str | None = None):
        self.db, self._actor_name, self.now_text, self.json, self.wide = db, actor, now, json, wide
        self.token, self.backfill = token, backfill
        self.create = False  # `hazard init` may create a new SQLite file; nothing else does
        self.drill = False
        self._engine = None
        self._now = None
        self._settings: dict | None = None
        self._authenticated = False

    @property
    def now(self):
        """The engine's time of this command: --now, or the wall clock once, read here at the edge."""
        if self._now is None:
            from engine.domain.clock import SystemClock, parse_time
            self._now = parse_time(self.now_text, field="--now") if self.now_text else SystemClock().now()
        return self._now

    @property
    def engine(self):
        if self._engine is None:
            from engine.app import Engine
            from engine.domain.clock import FixedClock
            self._engine = Engine.open(self.db, create=self.create, clock=FixedClock(self.now))
            _collect_again()
            self.announce_drill()
        return self._engine

    def close(self) -> None:
        """Hand the database connections back when the command ends (a test runs hundreds in one process)."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @property
    def settings(self) -> dict:
        if self._settings is None:
            from engine.app.accounts import database_settings
            self._settings = database_settings(self.engine)
        return self._settings

    def announce_drill(self, *, again: bool = False) -> None:
        """Every command on a drill database says so first (on stderr), and its JSON documents carry it."""
        if again:
            self._settings = None
        if self.settings.get("drill") == "true" and not self.drill:
            self.drill = True
            click.echo("DRILL DATABASE: times may be in the future", err=True)

    @property
    def actor_name(self) -> str | None:
        if self._actor_name and not self._authenticated and self.settings.get("require_token") == "true":
            self.engine.commands.authenticate(self._actor_name, self.token)
            self._authenticated = True
        return self._actor_name

    @actor_name.setter
    def actor_name(self, value: str | None) -> None:
        self._actor_name, self._authenticated = value, False


def _set(attr: str):
    def callback(ctx, _param, value):
        if value is not None and value is not False:
            setattr(ctx.find_root().obj, attr, value)
        return value
    return callback


# The global options again, for a leaf command: given after the subcommand, they win over the group's.
_LEAF_OPTIONS = (
    click.Option(["--db"], expose_value=False, callback=_set("db"), metavar="URL", help="As the global --db."),
    click.Option(["--actor"], expose_value=False, callback=_set("actor_name"), metavar="NAME",
                 help="As the global --actor."),
    click.Option(["--now"], expose_value=False, callback=_set("now_text"), metavar="TIME", help="As the global --now."),
    click.Option(["--token"], expose_value=False, callback=_set("token"), metavar="TOKEN",
                 help="As the global --token."),
    click.Option(["--backfill"], expose_value=False, callback=_set("backfill"), metavar="REASON",
                 help="As the global --backfill."),
    click.Option(["--json"], is_flag=True, default=False, expose_value=False, callback=_set("json"),
                 help="Print one JSON document on stdout."),
    click.Option(["--wide"], is_flag=True, default=False, expose_value=False, callback=_set("wide"),
                 help="Tables show long text whole instead of cutting it."),
)


def with_global_options(command: click.Command) -> click.Command:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_options(sub)
        return command
    have = {opt for p in command.params for opt in getattr(p, "opts", ())}
    command.params.extend(o for o in _LEAF_OPTIONS if o.opts[0] not in have)
    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="HAZARD_DB", default="sqlite:///hazard.db", show_default=True,
              help="Database URL: a SQLite file (default ./hazard.db) or postgresql+psycopg://user@host/db. Env: HAZARD_DB.")
@click.option("--actor", envvar="HAZARD_ACTOR", help="Registered user acting (e.g. zhang). Env: HAZARD_ACTOR.")
@click.option("--now", "now", envvar="HAZARD_NOW", metavar="TIME",
              help="Engine time, ISO 8601 (Asia/Shanghai if no offset), for drills, back-filling and tests. "
                   "The real recording time is stored beside it. Env: HAZARD_NOW.")
@click.option("--token", envvar="HAZARD_TOKEN", metavar="TOKEN",
              help="The actor's API token, on a database that requires tokens (prefer the environment: a "
                   "command line is visible to other users of the machine). Env: HAZARD_TOKEN.")
@click.option("--backfill", envvar="HAZARD_BACKFILL", metavar="REASON",
              help="Record a paper record at its own --now, as a supervisor or the committee, for this reason: it is "
                   "then judged at that time, not at its recording (see Time). Env: HAZARD_BACKFILL.")
@click.option("--json", "as_json", is_flag=True, envvar="HAZARD_JSON", help="Print one JSON document on stdout.")
@click.option("--wide", is_flag=True, help="Tables show long text whole instead of cutting it to the terminal.")
@click.version_option(package_name="hazard-closure")
@click.pass_context
def cli(ctx, db, actor, now, token, backfill, as_json, wide):
    """hazard-closure: declarative workflows that close major safety hazards (重大事故隐患闭环治理).

    Supervisors report and advance hazard cases, a scheduler escalates overdue ones, auditors replay
    histories. Global options may also follow the subcommand. The exit codes are listed below.
    """
    ctx.obj = AppContext(db, actor, now, as_json, wide, token=token, backfill=backfill)
    ctx.call_on_close(ctx.obj.close)


# What the shell user can do about a refusal: the engine names the rule, the CLI knows the options.
HINTS = {
    ("Refused", "requires"): "give them with --set FIELD=VALUE",
    ("PermissionDenied", "actor"): "use --actor NAME or set HAZARD_ACTOR",
    ("PermissionDenied", "registered"): "a committee member adds users: `hazard --actor ADMIN user add NAME --role "
                                        "ROLE --region CODE`",
    ("PermissionDenied", "enterprise"): "`hazard user list` shows which enterprise each user acts for; a committee "
                                        "member changes it with `hazard user change NAME --enterprise ...`",
    ("PermissionDenied", "token-missing"): "set HAZARD_TOKEN (or give --token); `hazard user token NAME` issues one",
    ("PermissionDenied", "token-expired"): "have a new one issued: `hazard user token NAME`",
    ("PermissionDenied", "token-revoked"): "have a new one issued: `hazard user token NAME`",
    ("Refused", "first-admin"): "make the first user with --role committee, or `hazard init --admin NAME --region CODE`",
    ("Conflict", "user-exists"): "change their roles or regions with `hazard user change NAME --role ... --region ...`",
    ("Conflict", "user-disabled"): "`hazard user enable NAME` lets them act again",
    ("Conflict", "user-lookalike"): "`hazard user list --all` shows the names taken",
    ("Refused", "disabled"): "`hazard user enable NAME` first",
    ("Refused", "needs-admin"): "add --admin NAME --region CODE",
    ("Refused", "lockout"): "`hazard --actor NAME user token NAME` first",
    ("Refused", "future"): "`hazard init --drill` makes one",
    ("StoreUnavailable", "no-database"): "create one with `hazard --db URL init` (on PostgreSQL `createdb` it first), "
                                         "or give another --db",
    ("StoreError", "no-tables"): "run `hazard init` on a new database, or `hazard db upgrade` on an older one",
    ("StoreError", "old-schema"): "back it up, then run `hazard db upgrade`",
    ("NotFound", "not-installed"): "run `hazard init` or `hazard workflow install FILE`",
    ("Refused", "map"): "with `--map OLD=NEW`, repeatable",
    ("Refused", "after_now"): "to back-fill an older record, give --now its own date",
    ("Refused", "time-order"): "back-filled events go in the order they happened",
    ("NotFound", "no-campaign"): "install it with `hazard campaign install FILE`; `hazard campaign list` shows them",
}


def report_error(exc: Exception) -> int:
    """Print an engine error (and its JSON document with --json); return its exit code."""
    hint = HINTS.get((type(exc).__name__, getattr(exc, "rule", None)))
    ctx = click.get_current_context(silent=True)
    text = as_option(str(exc), getattr(exc, "field", None), ctx)
    if _wants_json(ctx):
        from cli.output import print_json
        from engine.domain.documents import error_document
        document = error_document(exc, hint=hint)
        document["error"]["message"] = text
        print_json(document)
    prefix = "" if type(exc).__name__ == "DefinitionInvalid" else "Error: "
    click.echo(f"{prefix}{text}" + (f" ({hint})" if hint else ""), err=True)
    return exc.exit_code


def as_option(text: str, field: str | None, ctx) -> str:
    """The engine names the input (`found_from: ...`); on the command line it is the option the user typed
    (`--found-from: ...`), when they typed one by that name."""
    if not field or ctx is None or not (text.startswith(f"{field}:") or text.startswith(f"{field} ")):
        return text
    option = "--" + field.replace("_", "-")
    typed = ctx.find_root().meta.get("arguments", ())
    if any(arg == option or arg.startswith(option + "=") for arg in typed):
        return option + text[len(field):]
    return text


def _wants_json(ctx) -> bool:
    root = ctx.find_root() if ctx else None
    env = os.environ.get("HAZARD_JSON", "").strip().lower() in ("1", "true", "t", "yes", "y", "on")
    parsed = bool(root and root.params.get("as_json"))  # before the group's callback made the AppContext
    return bool(root and isinstance(root.obj, AppContext) and root.obj.json) or parsed or "--json" in sys.argv[1:] or env


def run() -> None:
    """The `hazard` console command: `cli` without the cyclic garbage collector while the command's modules load.
    Importing click, SQLAlchemy and the engine creates some hundred thousand objects and no garbage, and the
    collector walks them again and again (about 8% of a short command's CPU); it comes back, with everything
    loaded so far frozen out of its walks, once the engine is open (`_collect_again`). The project's dataclasses
    are made from their methods' kept code (cli/dataclass_code.py) instead of compiling it again. Neither in
    `cli` itself: a test runs hundreds of commands in one process, which must keep collecting."""
    global _COLLECTOR_PAUSED, _KEEP_DATACLASS_CODE
    _KEEP_DATACLASS_CODE = True
    if gc.isenabled():
        gc.disable()
        _COLLECTOR_PAUSED = True
    try:
        cli()
    finally:
        _collect_again()


_COLLECTOR_PAUSED = False
_KEEP_DATACLASS_CODE = False  # the console command's own, like the collector's pause: cli/dataclass_code.py


def _collect_again() -> None:
    global _COLLECTOR_PAUSED
    if _COLLECTOR_PAUSED:
        _COLLECTOR_PAUSED = False
        gc.freeze()  # what the imports made lives as long as the process: never walked again
        gc.enable()


def _quiet_pipe() -> None:
    # Python would complain again when it flushes stdout at exit; point it at /dev/null first.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass
