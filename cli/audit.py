"""`hazard audit ...`: replay cases, verify the hash chains, trace responsibility, write a dossier.

`replay` and `verify` are reports: their findings go to stdout (one JSON document with --json) and the exit
code says whether they found a problem (11 a replay disagrees, 10 a chain breaks), so the report is printed
whole instead of being replaced by an error document.
"""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group()
def audit():
    """Replay cases, verify the event log, trace who did what (责任倒查), write case dossiers."""


def _auditor(ctx):
    return ctx.obj.engine.audit


def _as_of(text: str | None):
    from engine.domain.clock import parse_time
    return parse_time(text, field="--as-of") if text else None


def _finish(ctx, error) -> None:
    """End a report that found a problem: the message on stderr, the error's documented exit code."""
    from cli.output import message
    message(f"Error: {error}")
    ctx.exit(error.exit_code)


@audit.command()
@click.argument("case_id", metavar="CASE", required=False)
@click.option("--all", "all_cases", is_flag=True, help="Replay every case (progress on stderr) and report every "
                                                      "disagreement with the stored rows.")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="Show the case as it stood at this effective time (Asia/Shanghai if no offset).")
@json_option
@click.pass_context
def replay(ctx, case_id, all_cases, as_of):
    """Rebuild CASE from its events with the definition version each ran under; say if the stored row agrees.

    Prints the state, fields, open rungs and linked cases as of --as-of (default: all events). Exits 11 when
    the stored projection disagrees with the replay or the log does not fit its definition.

    \b
    Example:
      hazard audit replay HZ-2026-000001 --as-of 2026-04-01T09:00
    """
    if all_cases == bool(case_id):
        raise click.UsageError("give a CASE or --all")
    if all_cases:
        if as_of:
            raise click.UsageError("--as-of goes with one CASE (for the whole register: hazard case list --as-of)")
        return _replay_all(ctx)
    from engine.domain.errors import ReplayMismatch

    result = _auditor(ctx).replay_case(case_id, as_of=_as_of(as_of), now=ctx.obj.now, actor=ctx.obj.actor_name)
    print_case_replay(result, is_json(ctx), ctx.obj.now)
    if not result.agrees:
        _finish(ctx, ReplayMismatch(f"{case_id}: the stored case disagrees with the replay of its events: "
                                    + "; ".join(result.differences)))


def _replay_all(ctx):
    from engine.domain.errors import ReplayMismatch

    auditor, actor = _auditor(ctx), ctx.obj.actor_name
    with progress("replaying cases", auditor.count_cases(actor=actor)) as advance:
        result = auditor.replay_all(on_case=lambda: advance(1), actor=actor)
    print_replay_report(result, is_json(ctx))
    if result.disagreements:
        _finish(ctx, ReplayMismatch(f"{len(result.disagreements)} of {result.cases} cases disagree with the "
                                    "replay of their events"))


@audit.command()
@click.option("--anchor", "anchor_line", metavar="VALUE", default=None,
              help="Also check the log against this published anchor: the whole line `audit anchor` printed, "
                   "its root all 64 hex digits.")
@click.option("--heads", "heads_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The heads file published with the anchor: names each case that differs.")
@json_option
@click.pass_context
def verify(ctx, anchor_line, heads_file):
    """Check every event's hash chain; name the case and sequence number of any edited, removed or reordered event.

    Streams the log (constant memory). With --anchor, also recomputes the anchor at its moment: a case that
    vanished, an event removed, or a chain, the users' log or a stored definition rewritten and re-hashed since
    it was published is reported. Exits 10 when any chain breaks or the anchor does not hold, 0 when all verify.
    Give the whole line as `audit anchor` printed it (the heads file's first line is the same): a shortened
    hash is refused.

    \b
    Example:
      hazard audit verify --anchor "anchor 2026-03-31T23:59:59+08:00 cases=830 events=2413 root=8dba52a85a6da5d1e9f26bda08a73c10b12ebd3a45c221808b1d8d90c548424c users=7:30a6fc71a1dbbfa97e13bf3046030e2c8083b90a42c0539d7a67246b6f6f8f4c definitions=82c903d9702462a7b1f6920f03a7e1c44d4e1291ae878aca30884a8d4a191706"
      hazard audit verify --anchor "$(head -1 heads-2026-03.txt)" --heads heads-2026-03.txt
    """
    from engine.domain.errors import TamperDetected

    auditor, actor = _auditor(ctx), ctx.obj.actor_name
    if anchor_line is not None:
        return _verify_anchor(ctx, auditor, anchor_line, heads_file)
    with progress("verifying events", auditor.count_events(actor=actor)) as advance:
        result = auditor.verify(on_events=advance, actor=actor)
    print_verify_report(result, is_json(ctx))
    if result.breaks:
        cases = sorted({b.case_id for b in result.breaks})
        _finish(ctx, TamperDetected(f"the event log does not verify: {len(result.breaks)} break(s) in "
                                    f"{len(cases)} case(s): {', '.join(cases[:5])}{' ...' if len(cases) > 5 else ''}",
                                    breaks=result.breaks))


def _verify_anchor(ctx, auditor, anchor_line: str, heads_file: str | None):
    """The chains, then the published anchor against today's log; exit 10 if either fails."""
    from cli.output import message, print_json, short_time
    from engine.domain.documents import verify_report_document
    from engine.domain.errors import TamperDetected

    heads = None
    if heads_file:
        try:
            with open(heads_file, encoding="utf-8") as handle:
                heads = handle.read()
        except UnicodeDecodeError:
            from engine.domain.errors import InvalidInput
            raise InvalidInput(f"{heads_file} is not a heads file (not UTF-8 text)", field="heads") from None
    actor = ctx.obj.actor_name
    check = auditor.check_anchor(anchor_line, heads=heads)  # a bad anchor or heads file fails before the long read
    with progress("verifying events", auditor.count_events(actor=actor)) as advance:
        result = auditor.verify(on_events=advance, actor=actor)
    if is_json(ctx):
        print_json(verify_report_document(result, check))
    else:
        print_verify_report(result, False)
        for line in check.differences:
            click.echo(f"anchor: {line}")
        covered = "the log as of then is the one published" if check.published.users is not None else \
            "the case chains as of then are the ones published (the line covers the case chains only: it names no " \
            "users' log head nor definitions' digest)"
        message(f"anchor of {short_time(check.published.as_of)}: " + (f"holds: {covered}" if check.holds else
                f"does NOT hold ({len(check.differences)} difference(s))"))
    if result.breaks or not check.holds:
        what = [f"{len(result.breaks)} chain break(s)"] * bool(result.breaks) + ["the anchor does not hold"] * \
            (not check.holds)
        _finish(ctx, TamperDetected(f"the event log does not verify: {' and '.join(what)}", breaks=result.breaks))


@audit.command()
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="The moment to anchor (default: now): events with an effective time up to it count.")
@click.option("--heads", "heads_file", type=click.Path(dir_okay=False), default=None,
              help="Also write every case's chain head to this file, to archive beside the anchor (whole or not at "
                   "all: a failed write leaves the old file).")
@json_option
@click.pass_context
def anchor(ctx, as_of, heads_file):
    """Print the event log's anchor: one line with a Merkle root over every case's chain head, the users' log head
    and a digest of the stored definitions as of a moment.

    Publish the line (every bulletin prints it); `hazard audit verify --anchor LINE` later proves the log up to
    that moment was not changed. With --heads, the heads file lets verify name each case that differs.

    \b
    Example:
      hazard audit anchor --as-of 2026-11-30T23:59:59
    """
    from cli.output import message, print_json
    from engine.domain import anchor as anchors

    found, heads = _auditor(ctx).anchor(as_of=_as_of(as_of))
    if heads_file:
        from cli.files import write_file
        write_file(heads_file, anchors.heads_text(found, heads))
        message(f"{found.cases} chain heads written to {heads_file}")
    if is_json(ctx):
        print_json(found.as_dict())
    else:
        click.echo(found.line())


@audit.command()
@click.argument("case_id", metavar="CASE")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="Trace up to this effective time (default: the engine's now).")
@json_option
@click.pass_context
def trace(ctx, case_id, as_of):
    """The responsibility trace (责任倒查): who acted in which role, what they signed and when, who held the
    case how long, and which deadlines and rungs were missed while whom held it.

    \b
    Example:
      hazard audit trace HZ-2026-000001
    """
    case, found = _auditor(ctx).trace_case(case_id, as_of=_as_of(as_of) or ctx.obj.now, actor=ctx.obj.actor_name)
    print_trace(case, found, is_json(ctx))


@audit.command()
@click.argument("case_id", metavar="CASE")
@click.option("--format", "fmt", type=click.Choice(["html", "json"]), default="html", show_default=True,
              help="A self-contained, printable HTML page or a JSON document.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (whole or not at all: a failed write leaves the old file).")
@click.pass_context
def dossier(ctx, case_id, fmt, output):
    """Write the case file (案卷) of CASE: timeline, five implementations, rungs fired, linked interviews and
    supervisions, signatures and the hash of the last event.

    \b
    Example:
      hazard audit dossier HZ-2026-000001 --format html --output HZ-2026-000001.html
    """
    from cli.output import message
    from engine.domain.dossier import to_html, to_json

    data = _auditor(ctx).dossier(case_id, now=ctx.obj.now, actor=ctx.obj.actor_name)
    text = to_html(data) if fmt == "html" else to_json(data)
    if output:
        from cli.files import write_file
        write_file(output, text)
        message(f"{case_id}: dossier written to {output}")
    else:
        click.echo(text)


# -- printing --------------------------------------------------------------------------------------------------
class progress:
    """A progress bar on stderr (stdout stays clean for --json); yields `advance(n)`."""

    def __init__(self, label: str, total: int):
        self.label, self.total = label, total

    def __enter__(self):
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(file=sys.stderr), transient=False)
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda n=1: self.bar.advance(task, n)

    def __exit__(self, *exc):
        self.bar.stop()
        return False


def print_case_replay(result, as_json: bool, now) -> None:
    from cli.output import message, pairs, print_json, short_time, table
    from engine.domain.documents import case_replay_document

    moment = result.as_of or now
    if as_json:
        print_json(case_replay_document(result, now))
        return
    when = short_time(result.as_of) if result.as_of else "all events"
    if result.case is None:
        message(f"{result.case_id}: not reported yet as of {when}" if not result.differences else
                f"{result.case_id}: cannot be replayed")
    else:
        c = result.case
        rows = [("as of", when), ("state", c.state), ("version", f"{result.events} of {result.total_events} events"),
                ("workflow", f"{c.workflow} v{c.workflow_version}"), ("deadline", c.deadline),
                ("overdue", c.overdue(moment)), ("flags", ", ".join(c.flags) or "-")]
        rows += [(f"  {k}", v) for k, v in c.fields.items()]
        pairs(rows, title=f"{c.id} {c.title}")
    if result.rungs:
        table(["clock", "cycle", "rung", "action", "status", "due", "fired"],
              [[r.clock, r.cycle, r.rung, r.action, r.status,
                short_time(r.due_at) + (" (provisional)" if r.provisional else ""), short_time(r.at)]
               for r in result.rungs], title="escalation rungs", optional=("clock", "cycle"))
    if result.linked:
        table(["case", "workflow", "state", "deadline"], [[c.id, c.workflow, c.state, c.deadline] for c in result.linked],
              title="linked cases")
    if result.agrees:
        message(f"{result.case_id}: the stored case agrees with the replay of its {result.total_events} events")


def print_replay_report(result, as_json: bool) -> None:
    from cli.output import counted, message, print_json
    from engine.domain.documents import replay_report_document

    if as_json:
        print_json(replay_report_document(result))
        return
    for case_id, differences in result.disagreements:
        for difference in differences:
            click.echo(f"{case_id}: {difference}")
    message(f"replayed {counted(result.cases, 'case')} ({counted(result.events, 'event')}): "
            f"{len(result.disagreements)} disagree with their stored rows")


def print_verify_report(result, as_json: bool) -> None:
    from cli.output import counted, message, print_json
    from engine.domain.documents import verify_report_document

    if as_json:
        print_json(verify_report_document(result))
        return
    for b in result.breaks:
        click.echo(f"{b.case_id} #{b.seq}: {b.problem}")
    message(f"verified {counted(result.tally.events, 'event')} in {counted(result.tally.cases, 'case')}: "
            + ("every chain verifies" if not result.breaks else f"{len(result.breaks)} break(s)"))


def print_trace(case, found: dict, as_json: bool) -> None:
    from cli.output import print_json, short_time, table
    from engine.domain.documents import trace_document
    from engine.domain.vocabularies import label_of

    if as_json:
        print_json(trace_document(case, found))
        return
    table(["seq", "at", "recorded", "actor", "role", "action", "state", "signed"],
          [[a["seq"], short_time(a["at"]), short_time(a["recorded_at"]), a["actor"], label_of("roles", a["role"]),
            f"{a['label']} ({a['trigger']})", a["to"] if a["from"] in (None, a["to"]) else f"{a['from']} -> {a['to']}",
            _details(a)] for a in found["actions"]],
          title=f"{case.id} {case.title}: who did what", text=("action", "state"),
          optional=("state", "role", "recorded"), readable={"signed": 24})
    table(["holder", "state", "since", "until", "days", "released by"],
          [[label_of("roles", p["holder"]), p["state"], short_time(p["since"]), "(still)" if p["open"] else short_time(p["until"]),
            f"{p['seconds'] / 86400:.1f}", p["released_by"] or ""] for p in found["holding"]],
          title="who held the case")
    table(["holder", "days"], [[label_of("roles", h["holder"]), f"{h['days']:.1f}"] for h in found["held_for"]], title="held in total")
    table(["missed", "due", "at", "until", "days", "status", "held by", "state"],
          [[m["what"] if m["kind"] == "rung" else f"deadline {m['deadline']}", short_time(m["due_at"]),
            short_time(m["at"]), ("(still)" if m.get("open") else short_time(m.get("until"))) if m["kind"] == "deadline"
            else "", f"{m['days']:.1f}" if "days" in m else "", m["status"],
            label_of("roles", m["holder"]), m["state"]] for m in found["missed"]],
          title="deadlines and rungs missed", optional=("state", "until"))
    if found.get("notices"):
        table(["number", "kind", "issued", "served", "by", "signed for by"],
              [[n["number"], n["kind"], short_time(n["issued_at"]),
                n["served"]["served_at"][:16].replace("T", " ") if n["served"] else "(not served)",
                (n["served"] or {}).get("by") or "", (n["served"] or {}).get("signed_by") or ""]
               for n in found["notices"]], title="notices issued and served")


def _details(action: dict) -> str:
    """What an action signed or, for engine events, what it did (the extension, the rung fired)."""
    from cli.output import key_values
    from engine.domain.documents import shown as in_shanghai
    shown = dict(in_shanghai(action["signed"]))
    for key in ("extension", "escalation", "migration", "notification"):
        shown.update({k: v for k, v in (action.get(key) or {}).items()
                      if k in ("until", "reason", "rung", "status", "linked_case", "to_version", "map", "recipient",
                               "channel", "sent_at", "error")})
    return key_values(shown)
