"""`hazard import` and `hazard export`: hand-kept ledgers (台账) into the register, and the register out as one."""
from __future__ import annotations

import click

from cli.options import parse_sets, case_filter_options, is_json, json_option


def parse_workflows(_ctx, _param, values) -> dict[str, str]:
    """`--workflow NAME` (every level) or `--workflow LEVEL=NAME`, repeatable: level (or `*`) -> workflow."""
    chosen: dict[str, str] = {}
    if not values:
        return chosen
    from engine.domain.limits import shown
    from engine.ledger.words import LEVELS

    for value in values:
        level, sep, name = value.partition("=")
        level, name = (level.strip(), name.strip()) if sep else ("*", level.strip())
        if level not in (*LEVELS, "*") or not name:
            raise click.BadParameter(f"{shown(value)} is not NAME or LEVEL=NAME (levels: {', '.join(LEVELS)})",
                                     param_hint="--workflow")
        if chosen.get(level, name) != name:
            raise click.BadParameter(f"two workflows for {'every level' if level == '*' else level}: "
                                     f"{shown(chosen[level])} and {shown(name)}", param_hint="--workflow")
        chosen[level] = name
    return chosen


@click.command("import")
@click.argument("file", metavar="FILE.xlsx|FILE.csv")
@click.option("--sheet", default=None, metavar="NAME", help="The sheet to read (default: the first visible one).")
@click.option("--mapping", default=None, metavar="FILE",
              help="A YAML file of your own header and value words (headers:, values:), added to the shipped ones.")
@click.option("--set", "defaults", multiple=True, metavar="FIELD=VALUE", callback=parse_sets,
              help="Give every row a field the sheet lacks (repeatable), e.g. --set region=371721; a value in the "
                   "sheet wins.")
@click.option("--dry-run", is_flag=True, help="Write nothing; show what would be imported: counts by level and "
                                              "state, the column mapping, the first rows, the rows held already.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the skipped ones (default: any "
                                                   "bad row stops the import, exit 2, nothing written).")
@click.option("--workflow", "workflows", multiple=True, metavar="[LEVEL=]NAME", callback=parse_workflows,
              help="The installed hazard workflow (one with ledger_stages) the rows of a level become cases of, "
                   "e.g. --workflow major=sd-major-hazard (repeatable; NAME alone: every level). Default: "
                   "major-hazard and general-hazard.")
@click.option("--photos", default=None, metavar="PATH",
              help="A folder or zip of photos named by the rows' 隐患编号 (CODE-1.jpg, CODE-整改-1.jpg), attached "
                   "to the cases written; a word after the code says the kind (整改 rectified, 验收 acceptance; "
                   "else the hazard as found).")
@json_option
@click.option("--region", default=None, metavar="CODE|NAME",
              help="Look the sheet's region names up inside this division (北仑区 inside 3302), instead of inside "
                   "your own regions. It narrows names; it fills no missing region (that is --set region=...).")
@click.pass_context
def import_ledger(ctx, file, sheet, mapping, defaults, dry_run, skip_invalid, workflows, photos, region):
    """Import a ledger (台账) as kept by hand: one case per row, at the state the sheet shows, with its dates.

    Steps are recorded only as far as your roles may take them (an enterprise does not sign a department's
    verification): a row whose sheet goes further lands at the last state you may reach, the sheet's claim kept
    as claimed_stage, claimed_at and claimed_by for a department to confirm, and is listed (`claimed FILE:ROW`).

    Every row is checked before anything is written; a bad row is reported as FILE:ROW: what is wrong (the
    row Excel shows) and nothing is written, unless --skip-invalid. All rows are written in one transaction;
    importing the same file (and sheet) again is refused (exit 6) naming the earlier import. A row the register
    holds already (the same 隐患编号 of the enterprise, or the same enterprise, title and found date) is not
    imported again: a corrected copy of a sheet brings in only its new rows, and says which rows it held.

    \b
    Example:
      hazard --actor zhang --now 2026-04-01 import docs/example-ledger.xlsx --set region=371721 --dry-run
      hazard --actor ent import docs/examples/自查台账.csv --set region=371721 --set industry=危险化学品 --skip-invalid
      hazard --actor zhang import docs/examples/编号台账.csv --set region=371721 --photos docs/examples/隐患照片
    """
    from cli.audit import progress
    from cli.output import counted, message, print_json
    from engine.ledger.app_import import RowsInvalid, RowsNotPermitted, import_ledger as run_import

    app = ctx.obj
    bar: dict = {}

    def on_progress(done: int, total: int) -> None:
        if "advance" not in bar:
            message(f"{file}: writing {counted(total, 'case')}")
            bar["context"] = progress("importing rows", total)
            bar["advance"] = bar["context"].__enter__()
        bar["advance"](done - bar.get("done", 0))
        bar["done"] = done

    try:
        report = run_import(app.engine, file, actor=app.actor_name, sheet=sheet, mapping=mapping,
                            defaults=defaults, dry_run=dry_run, skip_invalid=skip_invalid, now=app.now,
                            on_progress=on_progress, workflows=workflows, photos=photos, region=region)
    except (RowsInvalid, RowsNotPermitted) as exc:
        if is_json(ctx):
            print_json(exc.report.document())
        message(f"Error: {exc}")
        _hints(str(exc))
        ctx.exit(exc.exit_code)
    finally:
        if "context" in bar:
            bar["context"].__exit__(None, None, None)
    for line in report.problems():
        message(f"skipped {line}")
    _hints("\n".join(report.problems()))
    _print_held(report)
    _print_photos(report)
    if is_json(ctx):
        print_json(report.document())
    elif dry_run:
        _print_preview(report)
    else:
        _print_summary(report)


def _print_preview(report) -> None:
    from cli.output import level_forms, message, pairs, table

    pairs([("file", report.file), ("sheet", report.sheet or "-"), ("header row", report.header_row),
           ("rows", report.rows), ("would import", report.new), ("held already", len(report.existing)),
           ("repeated in the sheet", len(report.repeated)), ("would skip", report.skipped),
           ("claims to confirm", len(report.claims)), ("would link a posted supervision", len(report.postings))]
          + [(f"  {level}", n) for level, n in report.by_level.items()]
          + [(f"  {workflow}: {state}", n) for workflow, states in report.by_state.items()
             for state, n in states.items()], title="dry run: nothing written")
    table(["column", "header", "field", "matched by"], [[m["column"], m["header"], m["field"], m["why"]]
                                                        for m in report.matched], title="columns")
    if report.unmapped:
        table(["column", "header", "why"], [[u["column"], u["header"], u["why"]] for u in report.unmapped],
              title="not imported")
    if report.first_rows:
        table(["row", "state", "level", "found_at", "enterprise", "title"],
              [[r["row"], r["state"], level_forms(r["values"]["level"]), r["values"]["found_at"],
                r["values"]["enterprise"], r["values"]["title"]] for r in report.first_rows], title="first rows")
    if report.existing:
        shown = report.existing[:HELD_LINES]
        table(["row", "case", "held by"], [[e["row"], e["case_id"], HELD_BY[e["by"]]] for e in shown],
              title="held already: not imported again")
        if len(report.existing) > HELD_LINES:
            message(f"... and {len(report.existing) - HELD_LINES} more held rows (--json lists them all)")
    message(f"{report.file}: {report.new} of {report.rows} rows would be imported")


def _print_summary(report) -> None:
    from cli.output import message, pairs

    cases = ", ".join(f"{r['first']} .. {r['last']}" + (f" ({r['count']})" if len(report.case_ranges) > 1 else "")
                      for r in report.case_ranges) or "-"  # per year: the numbers of each year are contiguous
    pairs([("file", report.file), ("sheet", report.sheet or "-"), ("sha256", report.sha256), ("rows", report.rows),
           ("imported", report.imported), ("held already", len(report.existing)),
           ("repeated in the sheet", len(report.repeated)), ("skipped", report.skipped),
           ("claims to confirm", len(report.claims)), ("cases", cases),
           ("posted supervisions linked", len(report.postings)),
           ("import", report.import_id if report.import_id is not None else "-")],
          title=f"imported by {report.actor}")
    if report.valid and not report.new:
        message(f"{report.file}: nothing new: every valid row is held already; nothing was written")


def _print_photos(report) -> None:
    """What --photos brought: attached (or would be), and each photo left out with why (on stderr)."""
    from cli.output import message
    found = report.photos
    if found is None:
        return
    verb = "would attach" if report.dry_run else "attached"
    message(f"{found['source']}: {verb} {found['attached']} of {found['files']} photo(s) to {found['rows']} case(s)")
    lines = [f"photo {name}: no row's 隐患编号 starts its name; not attached" for name in found["unmatched"]]
    lines += [f"photo {h['name']}: its row is held already as {h['case_id']}; not attached again "
              f"(hazard case attach {h['case_id']} FILE)" for h in found["held"]]
    lines += [f"photo {a['name']}: rows {', '.join(map(str, a['rows']))} carry its 隐患编号; not attached "
              f"(whose is it?)" for a in found["ambiguous"]]
    for line in lines[:HELD_LINES]:
        message(line)
    if len(lines) > HELD_LINES:
        message(f"... and {len(lines) - HELD_LINES} more (--json lists them all)")


HELD_LINES = 50  # rows held or repeated listed one by one; --json lists them all
HELD_BY = {"code": "the same 隐患编号 of the enterprise", "title": "the same enterprise, title and found date"}


def _print_held(report) -> None:
    """Which rows were not imported because the register holds them, or because they repeat an earlier row,
    and which land short of what their sheet says (the importer may not take the steps beyond): on stderr, as
    skipped rows are (a dry run shows the held ones as a table instead)."""
    from cli.output import message
    lines = [] if report.dry_run else [
        f"held {report.file}:{e['row']}: already {e['case_id']} ({HELD_BY[e['by']]})" for e in report.existing]
    once = "would be imported once" if report.dry_run else "imported once"
    lines += [f"repeated {report.file}:{r['row']}: the same hazard as row {r['same_as']} ({HELD_BY[r['by']]}): "
              f"{once}" for r in report.repeated]
    lands = "would land" if report.dry_run else "lands"
    lines += [f"claimed {report.file}:{c['row']}: the sheet says {c['claimed_stage']}; {lands} at {c['state']}: "
              f"{c['why']} (rule role); the claim is kept for a department to confirm" for c in report.claims]
    for line in lines[:HELD_LINES]:
        message(line)
    if len(lines) > HELD_LINES:
        message(f"... and {len(lines) - HELD_LINES} more (--json lists them all)")


@click.command("export")
@click.argument("file", metavar="FILE.xlsx|FILE.csv")
@case_filter_options
@click.option("--headers", type=click.Choice(["chinese", "fields"]), default="chinese", show_default=True,
              help="Column headers: the Chinese ones ledgers use (隐患内容, 排查日期, ...) or the field names.")
@json_option
@click.pass_context
def export_register(ctx, file, as_of, headers, **filters):
    """Write the register (filtered as `case list` filters it) as a ledger: dates as date cells, widths set,
    the header frozen; `hazard import` reads it back into the same register. The file is written whole or not
    at all: a failed or killed export leaves the old one. A case whose workflow has no ledger_stages (the
    interviews and posted supervisions the ladder opens) is no row: each such workflow's cases are counted on
    stderr ("N cases of workflow X not written: ...") and in --json's not_written.

    \b
    Example:
      hazard export 台账.xlsx --region 3717 --level major
      hazard export 2026-04-01.csv --as-of 2026-04-01 --headers fields
    """
    import dataclasses

    from cli.case import parse_as_of
    from cli.files import replacing
    from cli.output import counted, message, print_json
    from engine.domain.errors import InvalidInput
    from engine.domain.filters import CaseFilter
    from engine.ledger.app_export import export_register as run_export

    app = ctx.obj
    spec, moment, actor = CaseFilter.of(**filters), parse_as_of(as_of), app.actor_name
    with replacing(file) as temp:  # whole or not at all: a failed or killed export leaves the old file
        try:
            report = run_export(app.engine, temp, spec=spec, as_of=moment, now=app.now, headers=headers, actor=actor)
        except InvalidInput as exc:
            raise _about(exc, temp, file) from None
    report = dataclasses.replace(report, file=file)
    if is_json(ctx):
        print_json(report.document())
    else:
        message(f"{report.file}: {counted(report.rows, 'case')} written")
    for line in report.notes():  # never dropped unsaid: the cases of a workflow without ledger stages
        message(line)


def _about(exc, temp, file: str):
    """The writer's error about the temporary file, said of the file the user named; a write that failed (the
    writer reports an OSError as `PATH: cannot write (...)`) is a WriteFailed, exit 8."""
    from engine.domain.errors import InvalidInput, WriteFailed
    text = exc.message.replace(str(temp), file)
    if exc.message.startswith(f"{temp}: cannot write"):
        return WriteFailed(text, path=file)
    return InvalidInput(text, field=exc.field, rule=exc.rule)


def _hints(problems: str) -> None:
    """The engine names what is missing; how to give it from here is the command line's to say."""
    from cli.output import message
    if "a value for every row" in problems or "(the value for every row)" in problems:
        message("(a field the sheet lacks is given for every row with --set FIELD=VALUE)")
    if "in a mapping file" in problems:
        message("(header and value words of your own: --mapping FILE, see docs/ledgers.md)")
