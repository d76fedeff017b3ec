"""`hazard case ...`: report, advance, extend, show, list and the history of hazard cases."""
from __future__ import annotations

import click

from cli.options import is_json, json_option, limit_type, set_option, version_type


@click.group()
def case():
    """Report hazards and move them through their workflow."""


@case.command()
@click.option("--workflow", default=None, help="Workflow name (default: major-hazard for --level major, "
                                                "general-hazard for general).")
@click.option("--title", required=True, help="What the hazard is (隐患内容).")
@click.option("--enterprise", required=True, help="The production unit (生产经营单位).")
@click.option("--region", required=True, help="6-digit administrative division code, e.g. 371721.")
@click.option("--industry", required=True, help="Key sector, e.g. 危险化学品, 非煤矿山, 工贸.")
@click.option("--level", required=True, type=click.Choice(["major", "general"]), help="Hazard level.")
@click.option("--source", required=True, help="How it was found: self_check, inspection, cross_region, "
                                              "unannounced, whistleblower, supervision_group...")
@click.option("--found", "found_at", default=None, metavar="TIME", help="When it was found (default: now).")
@set_option
@json_option
@click.pass_context
def report(ctx, workflow, title, enterprise, region, industry, level, source, found_at, fields):
    """Report a hazard; prints the new case's id.

    Example: hazard --actor wang case report --title 液氨储罐区未设泄漏报警 --enterprise 某化工有限公司
    --region 371721 --industry 危险化学品 --level major --source inspection
    """
    from cli.output import print_json
    from engine.documents import case_document

    svc = ctx.obj.service
    created = svc.report_case(actor=ctx.obj.actor_name, workflow=workflow or f"{level}-hazard", title=title,
                              enterprise=enterprise, region=region, industry=industry, level=level, source=source,
                              fields=fields, found_at=found_at)
    if is_json(ctx):
        print_json(case_document(created, svc.clock.now()))
    else:
        click.echo(created.id)


@case.command()
@click.argument("case_id", metavar="CASE")
@click.argument("trigger")
@set_option
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def advance(ctx, case_id, trigger, fields, expect_version):
    """Fire TRIGGER on CASE, e.g. assign, start, submit, verify, reject, close.

    Example: hazard --actor zhang case advance HZ-2026-000001 verify --set opinion=整改到位
    """
    from cli.output import message, print_json
    from engine.documents import case_document

    svc = ctx.obj.service
    after = svc.advance_case(case_id, trigger, actor=ctx.obj.actor_name, fields=fields,
                             expected_version=expect_version)
    if is_json(ctx):
        print_json(case_document(after, svc.clock.now()))
    else:
        message(f"{after.id}: {trigger} -> {after.state} (version {after.version})")


@case.command()
@click.argument("case_id", metavar="CASE")
@click.option("--until", required=True, metavar="DATE", help="The new deadline (YYYY-MM-DD or ISO time).")
@click.option("--reason", required=True, help="Why the deadline moves (recorded in the event).")
@click.option("--clock", default=None, help="Which clock to extend (default: the one running on the deadline field).")
@json_option
@click.pass_context
def extend(ctx, case_id, until, reason, clock):
    """Extend a deadline; every escalation rung not yet fired moves with it.

    Example: hazard --actor zhang case extend HZ-2026-000001 --until 2026-06-30 --reason 设备到货延迟
    """
    from cli.output import message, print_json
    from engine.documents import case_document

    svc = ctx.obj.service
    after = svc.extend_deadline(case_id, actor=ctx.obj.actor_name, until=until, reason=reason, clock=clock)
    if is_json(ctx):
        print_json(case_document(after, svc.clock.now()))
    else:
        message(f"{after.id}: deadline now {until} (version {after.version})")


@case.command()
@click.argument("case_id", metavar="CASE")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="The case as it stood at TIME, replayed from its events.")
@json_option
@click.pass_context
def show(ctx, case_id, as_of):
    """Show a case: its fields, state, deadline, escalation rungs and linked cases."""
    from cli.output import pairs, print_json, short_time, table
    from engine.documents import case_document

    svc = ctx.obj.service
    if as_of:
        from engine.clock import parse_time
        now = parse_time(as_of, field="--as-of")
        found = svc.register_as_of(now, case_id=case_id)[0]
        if is_json(ctx):
            print_json({**case_document(found, now), "as_of": now})
            return
        rungs, linked = [], []
    else:
        found, rungs, linked = svc.case_view(case_id)
        now = svc.clock.now()
    if is_json(ctx):
        print_json(case_document(found, now, rungs=rungs, linked=linked))
        return
    doc = case_document(found, now)
    rows = [(key, doc[key]) for key in ("id", "title", "state", "level", "enterprise", "region", "industry",
                                         "source", "workflow", "workflow_version", "version", "deadline", "overdue")]
    rows += [("found_at", short_time(found.found_at)), ("flags", ", ".join(found.flags) or "-")]
    rows += [(f"  {k}", v) for k, v in found.fields.items() if k != "deadline"]
    if found.parent_id:
        rows.append(("parent", found.parent_id))
    pairs(rows, title=f"{found.id} {found.title}")
    if rungs:
        table(["clock", "cycle", "rung", "action", "due", "fired", "status"],
              [[r.clock, r.cycle, r.rung, r.action, short_time(r.due_at) + (" (provisional)" if r.provisional else ""),
                short_time(r.fired_at), r.status] for r in rungs], title="escalation rungs")
    if linked:
        table(["case", "workflow", "state", "deadline"], [[c.id, c.workflow, c.state, c.deadline] for c in linked],
              title="linked cases")


@case.command("list")
@click.option("--state", default=None, help="Only cases in this state.")
@click.option("--region", default=None, help="Region code prefix: 37, 3717, 371721 (371700 = 3717).")
@click.option("--level", type=click.Choice(["major", "general"]), default=None)
@click.option("--workflow", default=None, help="Only cases of this workflow.")
@click.option("--overdue", is_flag=True, help="Only open cases past their deadline at the engine's time.")
@click.option("--limit", type=limit_type(), default=None, help="At most this many cases.")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="The register as it stood at TIME, replayed from the events (not today's rows).")
@json_option
@click.pass_context
def list_(ctx, state, region, level, workflow, overdue, limit, as_of):
    """List cases, filtered; with --as-of, as they stood at that moment.

    Example: hazard case list --region 3717 --overdue --as-of 2026-05-01
    """
    from cli.output import print_json, table
    from engine.documents import case_document

    svc = ctx.obj.service
    if as_of:
        from engine.clock import parse_time
        now = parse_time(as_of, field="--as-of")
        found = svc.register_as_of(now, state=state, region=region, level=level, workflow=workflow,
                                   overdue=overdue, limit=limit)
    else:
        found = svc.list_cases(state=state, region=region, level=level, workflow=workflow, overdue=overdue,
                               limit=limit)
        now = svc.clock.now()
    if is_json(ctx):
        print_json([case_document(c, now) for c in found])
        return
    table(["case", "state", "level", "region", "enterprise", "title", "deadline", "overdue"],
          [[c.id, c.state, c.level, c.region, c.enterprise, c.title, c.deadline or "",
            "overdue" if c.overdue(now) else ""] for c in found])


@case.command()
@click.argument("case_id", metavar="CASE")
@json_option
@click.pass_context
def history(ctx, case_id):
    """Every event of a case, oldest first, with who, when (effective and recorded) and the hash chain."""
    import json as _json

    from cli.output import print_json, short_time, table
    from engine.documents import event_document

    found = ctx.obj.service.history(case_id)
    if is_json(ctx):
        print_json([event_document(e) for e in found])
        return
    table(["seq", "trigger", "from", "to", "actor", "role", "at", "recorded", "data", "hash"],
          [[e.seq, e.trigger, e.from_state or "", e.to_state, e.actor, e.role, short_time(e.at),
            short_time(e.recorded_at), _json.dumps(e.data.get("fields") or _summary(e.data), ensure_ascii=False),
            e.hash[:12]] for e in found], title=case_id)


def _summary(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("case", "fields")}
