"""`hazard case ...`: report, advance, extend, show, list and the history of hazard cases."""
from __future__ import annotations

import click

from cli.options import case_filter_options, is_json, json_option, set_option, version_type


@click.group()
def case():
    """Report hazards and move them through their workflow."""


@case.command()
@click.option("--workflow", default=None, help="Workflow name (default: major-hazard for --level major, "
                                                "general-hazard for general).")
@click.option("--title", required=True, help="What the hazard is (隐患内容).")
@click.option("--enterprise", required=True, help="The production unit (生产经营单位).")
@click.option("--region", required=True, help="Where: a division of the national list, by code (371721; 3717 = "
                                              "371700) or name (曹县, 菏泽市).")
@click.option("--industry", required=True, help="Key sector, e.g. 危险化学品, 非煤矿山, 工贸 (the vocabulary's words).")
@click.option("--level", required=True, help="Hazard level: major (重大) or general (一般).")
@click.option("--source", required=True, help="How it was found: self_check, inspection, cross_region, "
                                              "unannounced, whistleblower, supervision_group, special_campaign.")
@click.option("--found", "found_at", default=None, metavar="TIME", help="When it was found (default: now).")
@set_option
@json_option
@click.pass_context
def report(ctx, workflow, title, enterprise, region, industry, level, source, found_at, fields):
    """Report a hazard; prints the new case's id.

    \b
    Example:
      hazard --actor wang case report --title 液氨储罐区未设泄漏报警 --enterprise 某化工有限公司 --region 371721 --industry 危险化学品 --level major --source inspection
    """
    from cli.output import print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    created = app.engine.commands.report_case(
        actor=app.actor_name, workflow=workflow, title=title, enterprise=enterprise, region=region,
        industry=industry, level=level, source=source, fields=fields, found_at=found_at, now=app.now)
    if is_json(ctx):
        print_json(case_document(created, app.now))
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

    \b
    Example:
      hazard --actor zhang case advance HZ-2026-000001 verify --set opinion=整改到位
    """
    from cli.output import message, print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    after = app.engine.commands.advance_case(case_id, trigger, actor=app.actor_name, fields=fields,
                                             expected_version=expect_version, now=app.now, backfill=app.backfill)
    if is_json(ctx):
        print_json(case_document(after, app.now))
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

    \b
    Example:
      hazard --actor zhang case extend HZ-2026-000001 --until 2026-06-30 --reason 设备到货延迟
    """
    from cli.output import message, print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    after = app.engine.commands.extend_deadline(case_id, actor=app.actor_name, until=until, reason=reason,
                                                clock=clock, now=app.now)
    if is_json(ctx):
        print_json(case_document(after, app.now))
        return
    pending = after.decisions.get("extension")
    if pending is None:
        message(f"{after.id}: deadline now {until} (version {after.version})")
    else:
        by = f" by {pending['decide_by']}" if pending.get("decide_by") else ""
        message(f"{after.id}: extension to {until} applied for; it awaits a decision{by} "
                f"(hazard case decide {after.id} extension approve|decline --reason TEXT)")


@case.command()
@click.argument("case_id", metavar="CASE")
@click.argument("files", metavar="FILE...", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--kind", default="other", show_default=True,
              help="What the files are: found (隐患照片), rectified (整改照片), plan (治理方案), acceptance (验收材料), "
                   "minutes (会议纪要), notice (送达回执), other.")
@click.option("--note", default=None, help="A note recorded with the files (sealed in the event).")
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def attach(ctx, case_id, files, kind, note, expect_version):
    """Attach files of evidence to CASE: photos (JPEG, PNG, HEIC), PDF and Office documents.

    Each file is stored by its SHA-256 (in HAZARD_FILES, default a folder beside the SQLite file) and sealed in
    an `attach` event with its name, size, media type (read from the bytes), kind and, for a photo, what its
    EXIF says (time taken, position, device). Anyone who may act on the case (its region, their enterprise)
    may attach.

    \b
    Example:
      hazard --actor ent case attach HZ-2026-000001 after.jpg --kind rectified --note 报警器已安装
    """
    from cli.output import message, print_json

    app = ctx.obj
    after, stored = app.engine.commands.attach(case_id, list(files), actor=app.actor_name, kind=kind, note=note,
                                               expected_version=expect_version, now=app.now)
    if is_json(ctx):
        print_json(stored)
        return
    for item in stored:
        flag = "  (taken before the hazard was found)" if item.get("taken_before_found") else ""
        click.echo(f"{item['sha256']}  {item['name']}  {item['kind']}  {item['media_type']}  {item['size']}{flag}")
    message(f"{after.id}: {len(stored)} file{'s' if len(stored) != 1 else ''} attached (version {after.version})")


@case.command()
@click.argument("case_id", metavar="CASE")
@click.argument("rung", metavar="RUNG")
@click.argument("decision", type=click.Choice(["approve", "decline"]))
@click.option("--reason", required=True, help="Why (recorded in the event, shown in the trace and the dossier).")
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def decide(ctx, case_id, rung, decision, reason, expect_version):
    """Decide what awaits a decision on CASE: the proposal of the ladder's RUNG (interview, posted-supervision,
    exposure, suspension: `case show` lists what is proposed), or RUNG `extension` for an extension application.

    An approved sanction is carried out now (the case is flagged, an interview or a posted supervision opens);
    a declined one stays on the record. Only the roles the workflow names for it may decide, in the case's
    region, and never the applicant of an extension.

    \b
    Example:
      hazard --actor li case decide HZ-2026-000001 suspension approve --reason 逾期一个月仍未整改
      hazard --actor zhang case decide HZ-2026-000001 extension decline --reason 理由不充分
    """
    from cli.output import message, print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    after = app.engine.commands.decide(case_id, rung, decision, actor=app.actor_name, reason=reason,
                                       expected_version=expect_version, now=app.now, backfill=app.backfill)
    if is_json(ctx):
        print_json(case_document(after, app.now))
        return
    ruled = [p for p in (after.decisions.get("proposals") or {}).values() if p["rung"] == rung and p.get("by")]
    linked = max(ruled, key=lambda p: p["cycle"]).get("linked_case") if ruled else None
    message(f"{after.id}: {rung} {'approved' if decision == 'approve' else 'declined'} (version {after.version})"
            + (f"; opened {linked}" if linked else "")
            + (f"; flags: {', '.join(after.flags)}" if decision == "approve" and after.flags else ""))


@case.command()
@click.argument("case_id", metavar="CASE")
@click.option("--reason", required=True, help="Why the case is void (a duplicate of which case, a test...).")
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def void(ctx, case_id, reason, expect_version):
    """Void a case recorded by mistake: it leaves every figure, list and ladder, and stays in the log.

    \b
    Example:
      hazard --actor zhang case void HZ-2026-000007 --reason 与HZ-2026-000003重复
    """
    from cli.output import message, print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    after = app.engine.commands.void_case(case_id, actor=app.actor_name, reason=reason,
                                          expected_version=expect_version, now=app.now, backfill=app.backfill)
    if is_json(ctx):
        print_json(case_document(after, app.now))
    else:
        message(f"{after.id}: voided (version {after.version}); it is left out of every figure, list and ladder")


@case.command()
@click.argument("case_id", metavar="CASE")
@set_option
@click.option("--reason", required=True, help="Why (recorded with the old and the new values).")
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def correct(ctx, case_id, fields, reason, expect_version):
    """Correct what a case was reported with: --set title=, enterprise=, region=, industry= or source=.

    \b
    Example:
      hazard --actor zhang case correct HZ-2026-000001 --set title=液氨储罐区未设泄漏报警装置 --reason 标题笔误
    """
    from cli.output import message, print_json
    from engine.domain.documents import case_document

    app = ctx.obj
    after = app.engine.commands.correct_case(case_id, actor=app.actor_name, changes=fields, reason=reason,
                                             expected_version=expect_version, now=app.now)
    if is_json(ctx):
        print_json(case_document(after, app.now))
    else:
        message(f"{after.id}: corrected {', '.join(sorted(fields))} (version {after.version})")


@case.command()
@click.argument("case_id", metavar="CASE")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="The case as it stood at TIME, replayed from its events.")
@json_option
@click.pass_context
def show(ctx, case_id, as_of):
    """Show a case: its fields, state, deadline, escalation rungs and linked cases.

    \b
    Example:
      hazard case show HZ-2026-000001
      hazard case show HZ-2026-000001 --as-of 2026-04-01T09:00 --json
    """
    from cli.output import pairs, print_json, short_time, table
    from engine.domain import vocabularies
    from engine.domain.documents import case_document

    app = ctx.obj
    queries = app.engine.queries
    if as_of:
        from engine.domain.clock import parse_time
        now = parse_time(as_of, field="--as-of")
        found, rungs, linked = queries.case_as_of(case_id, now, actor=app.actor_name), [], []
        evidence = queries.evidence(case_id, actor=app.actor_name, as_of=now)
        if is_json(ctx):
            print_json({**case_document(found, now, evidence=evidence), "as_of": now})
            return
    else:
        view = queries.case_view(case_id, actor=app.actor_name)
        found, rungs, linked, now = view.case, view.rungs, view.linked, app.now
        evidence = queries.evidence(case_id, actor=app.actor_name)
        if is_json(ctx):
            print_json(case_document(found, now, rungs=rungs, linked=linked, evidence=evidence))
            return
    doc = case_document(found, now)
    rows = [("id", found.id), ("title", found.title), ("state", found.state),
            ("level", f"{vocabularies.levels().label(found.level)} ({found.level})"),
            ("enterprise", found.enterprise), ("region", found.region), ("industry", found.industry),
            ("source", f"{vocabularies.sources().label(found.source)} ({found.source})"),
            ("workflow", f"{found.workflow} v{found.workflow_version}"), ("version", found.version),
            ("deadline", found.deadline), ("due", short_time(found.due_at)), ("overdue", doc["overdue"]),
            ("found_at", short_time(found.found_at)), ("flags", ", ".join(found.flags) or "-")]
    if doc["original_deadline"] and doc["original_deadline"] != found.deadline:
        rows.insert(rows.index(("deadline", found.deadline)) + 1, ("original deadline", doc["original_deadline"]))
    if found.voided_at:
        void = found.decisions.get("void") or {}
        rows.insert(2, ("VOID", f"voided {short_time(found.voided_at)} by {void.get('by', '?')}: "
                                f"{void.get('reason', '')} (counted nowhere, kept in the log)"))
    rows += [(f"  {k}", v) for k, v in doc["fields"].items() if k != "deadline"]
    if found.missing_implementations:
        rows.append(("五落实 missing", ", ".join(found.missing_implementations)))
    if found.parent_id:
        rows.append(("parent", found.parent_id))
    pairs(rows, title=f"{found.id} {found.title}" + (f" (as of {short_time(now)})" if as_of else ""))
    if doc["pending_decisions"]:
        table(["rung", "action", "since", "decided by", "details"],
              [[p["rung"], p["label"] or p["action"], p["since"][:16].replace("T", " "),
                "、".join(vocabularies.label_of("roles", r) for r in p.get("decided_by") or [])
                + ("" if p["kind"] == "proposal" else f" (not {p['applied_by']})"),
                f"until {p['until']}" + (f", decide by {p['decide_by']}" if p.get("decide_by") else "")
                if p["kind"] == "extension" else f"due {p['due_at'][:16].replace('T', ' ')}"]
               for p in doc["pending_decisions"]],
              title="awaiting a decision (hazard case decide CASE RUNG approve|decline --reason TEXT)",
              optional=("details",))
    decided = sorted([p for p in doc["proposals"] if p["status"] != "proposed"] + doc["extensions"],
                     key=lambda p: p.get("at") or "")
    if decided:
        table(["rung", "status", "by", "at", "reason"],
              [[p.get("rung", "extension"), p["status"] + (f" -> {p['until']}" if "until" in p else ""),
                p.get("by") or "", (p.get("at") or "")[:16].replace("T", " "),
                (p.get("decision_reason") or "") if "until" in p else (p.get("reason") or "")] for p in decided],
              title="decisions")
    if rungs:
        table(["rung", "status", "due", "fired", "action", "clock", "cycle"],
              [[r.rung, r.status, short_time(r.due_at) + (" (provisional)" if r.provisional else ""),
                short_time(r.fired_at), r.action, r.clock, r.cycle] for r in rungs], title="escalation rungs",
              optional=("fired", "action", "clock", "cycle"))
    if linked:
        table(["case", "workflow", "state", "deadline"], [[c.id, c.workflow, c.state, c.deadline] for c in linked],
              title="linked cases")
    if evidence:
        # One block per file (a table would cut the hash): kind, name, type, size, who attached it when, the
        # full SHA-256 sealed, and what a photo says of itself beside it.
        from engine.domain.clock import parse_time
        lines = ["", "evidence"]
        for e in evidence:
            lines.append(f"  {vocabularies.label_of('evidence', e['kind'])} ({e['kind']})  {e['name']}  "
                         f"{e['media_type']}, {e['size']:,} bytes, attached "
                         f"{short_time(parse_time(e['attached_at'], field='attached_at'))} by {e['by']}")
            lines.append(f"    sha256 {e['sha256']}")
            said = [f"taken {e['taken_at'][:16].replace('T', ' ')}"] if e.get("taken_at") else []
            said += [e["device"]] if e.get("device") else []
            said += [f"GPS {e['gps'][0]}, {e['gps'][1]}"] if e.get("gps") else []
            if e.get("taken_before_found"):
                said.append("! taken before the hazard was found")
            if said:
                lines.append("    " + " · ".join(said))
            if e.get("note"):
                lines.append(f"    note: {e['note']}")
        click.echo("\n".join(lines))


@case.command("list")
@case_filter_options
@json_option
@click.pass_context
def list_(ctx, as_of, **filters):
    """List cases, filtered as offices search; with --as-of, as they stood at that moment.

    \b
    Example:
      hazard case list --region 3717 --overdue --sort -due_at
      hazard case list --enterprise 化工 --found-from 2026-03-01 --as-of 2026-05-01
    """
    from cli.output import deadline_forms, level_forms, message, print_json, region_forms, table
    from engine.domain.documents import case_document
    from engine.domain.filters import TABLE_PAGE, CaseFilter

    app = ctx.obj
    as_json = is_json(ctx)
    if filters["limit"] is None and not as_json:
        filters["limit"] = TABLE_PAGE
    spec = CaseFilter.of(**filters)
    moment = parse_as_of(as_of) or app.now
    page = app.engine.queries.cases(spec, now=moment, as_of=moment if as_of else None, actor=app.actor_name)
    if as_json:
        print_json([case_document(c, moment) for c in page.cases])
        return
    # What a user acts on stays at any width: the case, its state, whether it is overdue, the deadline, and
    # the title and enterprise it is recognised by; level and region narrow first, then region, then level go.
    table(["case", "state", "level", "region", "enterprise", "title", "deadline", "overdue"],
          [[c.id, c.state, level_forms(c.level), region_forms(c.region), c.enterprise, c.title, deadline_forms(c),
            "overdue" if c.overdue(moment) else ""] for c in page.cases], optional=("level", "region"))
    if page.more:
        message(f"{len(page.cases)} of {page.total} cases shown; {page.more} more (--limit, --offset, or --json for all)")
    if any(c.decisions.get("extensions") for c in page.cases):
        message("a deadline with * was extended: --wide shows the original beside it")


def parse_as_of(text):
    from engine.domain.clock import parse_time
    return parse_time(text, field="--as-of") if text else None


@case.command()
@click.argument("case_id", metavar="CASE")
@json_option
@click.pass_context
def history(ctx, case_id):
    """Every event of a case, oldest first, with who, when (effective and recorded) and the hash chain.

    \b
    Example:
      hazard case history HZ-2026-000001
      hazard case history HZ-2026-000001 --json
    """
    from cli.output import key_values, print_json, short_time, table
    from engine.domain.documents import event_document, shown
    from engine.domain.vocabularies import label_of

    found = ctx.obj.engine.queries.history(case_id, actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json([event_document(e) for e in found])
        return
    # What was signed reads in the order the workflow declares its fields (the log keeps them sorted by name).
    orders = {key: _field_order(ctx.obj.engine, *key) for key in {(e.workflow, e.workflow_version) for e in found}}
    # Who did what when, and what they signed, stay; the recording time, the state left (the row above says
    # it), the short hash and the role go first where the terminal is narrow, before what was signed is cut
    # below 20 columns.
    table(["seq", "trigger", "from", "to", "actor", "role", "at", "recorded", "data", "hash"],
          [[e.seq, e.trigger, e.from_state or "", e.to_state, e.actor, label_of("roles", e.role), short_time(e.at),
            short_time(e.recorded_at),
            key_values(shown(_ordered(e.data["fields"], orders[(e.workflow, e.workflow_version)])
                             if e.data.get("fields") else _summary(e.data))),
            e.hash[:12]] for e in found], title=case_id, optional=("role", "hash", "from", "recorded"),
          readable={"data": 20})


def _field_order(engine, workflow: str, version: int) -> dict[str, int]:
    from engine.domain.errors import NotFound
    try:
        _, definition = engine.queries.workflow(workflow, version)
    except NotFound:  # a version not stored (a database edited by hand): the names' own order will do
        return {}
    return {spec.name: i for i, spec in enumerate(definition.fields)}


def _ordered(fields: dict, order: dict[str, int]) -> dict:
    return dict(sorted(fields.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


# What an engine event did, first: a narrow table cuts the data column after these.
TELLING = ("rung", "status", "linked_case", "flags", "until", "reason", "to_version", "map")


def _summary(data: dict) -> dict:
    rest = {k: v for k, v in data.items() if k not in ("case", "fields")}
    return {**{k: rest[k] for k in TELLING if k in rest}, **rest}
