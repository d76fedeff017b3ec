"""`hazard workflow ...`: check, install, list, show and draw workflow definitions."""
from __future__ import annotations

import click

from cli.options import is_json, json_option, version_type


@click.group()
def workflow():
    """Workflow definitions: YAML files, versioned in the database."""


@workflow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@json_option
@click.pass_context
def validate(ctx, files):
    """Check definitions; print every problem as FILE:LINE: message. Exit 0 when all are valid, 7 otherwise.

    Example: hazard workflow validate workflows/*.yaml
    """
    from cli.output import message, print_json
    from engine.errors import DefinitionInvalid

    found, ok = [], []
    for path in files:
        try:
            _read_definition(path)
            ok.append(path)
        except DefinitionInvalid as exc:
            found.extend(exc.problems)
    if is_json(ctx):
        print_json({"valid": not found, "files": list(files),
                    "problems": [{"file": f, "line": line, "message": m} for f, line, m in found]})
    else:
        for f, line, m in found:
            click.echo(f"{f}:{line}: {m}")
        for path in ok:
            message(f"{path}: ok")
    if found:
        ctx.exit(DefinitionInvalid.exit_code)


@workflow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@json_option
@click.pass_context
def install(ctx, files):
    """Install definitions: a changed file becomes a new version, an unchanged one is a no-op.

    Running cases stay on the version they started with; new cases take the newest. Every file is checked
    before any is installed: one invalid file installs none.
    """
    from cli.output import message, print_json
    from engine.errors import DefinitionInvalid

    texts, problems = [], []
    for path in files:
        try:
            texts.append((path, _read_definition(path)))
        except DefinitionInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionInvalid(problems)
    svc = ctx.obj.service
    svc.store.create_schema()
    results = [svc.install_definition(text, path) for path, text in texts]
    if is_json(ctx):
        print_json([{"name": n, "version": v, "created": c} for n, v, c in results])
    else:
        for name, version, created in results:
            message(f"{name}: version {version}" + (" installed" if created else " (unchanged)"))


def _read_definition(path: str) -> str:
    """The text of a definition file, parsed and checked; DefinitionInvalid lists its problems."""
    from engine.definition.source import read_file
    from engine.service import load_definition

    text = read_file(path)
    load_definition(text, path)
    return text


@workflow.command("list")
@json_option
@click.pass_context
def list_(ctx):
    """List installed workflows and their versions."""
    from cli.output import print_json, short_time, table

    versions = ctx.obj.service.workflow_versions()
    if is_json(ctx):
        print_json([{"name": v.name, "version": v.version, "content_hash": v.content_hash, "file": v.file_name,
                     "installed_at": v.installed_at} for v in versions])
    else:
        table(["name", "version", "file", "installed", "hash"],
              [[v.name, v.version, v.file_name, short_time(v.installed_at), v.content_hash[:12]] for v in versions])


@workflow.command()
@click.argument("name")
@click.option("--version", "version", type=version_type(), default=None, help="Show this version (default: the newest).")
@json_option
@click.pass_context
def show(ctx, name, version):
    """Show a workflow version: its states and transitions, and the exact YAML text that ran."""
    from cli.output import print_json, table

    stored, definition = ctx.obj.service.workflow(name, version)
    if is_json(ctx):
        print_json({
            "name": stored.name, "version": stored.version, "content_hash": stored.content_hash,
            "file": stored.file_name, "installed_at": stored.installed_at, "title": definition.title,
            "initial": definition.initial,
            "states": [{"name": s.name, "label": s.label, "final": s.final} for s in definition.states],
            "transitions": [{"trigger": t.trigger, "from": list(t.sources), "to": t.dest, "roles": list(t.roles),
                             "requires": list(t.requires), "sets": list(t.sets),
                             "guards": [g.kind for g in t.guards]} for t in definition.transitions],
            "source": stored.source_text,
        })
        return
    table(["trigger", "from", "to", "roles", "requires", "guards"],
          [[t.trigger, ", ".join(t.sources), t.dest, ", ".join(t.roles), ", ".join(t.requires),
            ", ".join(g.kind for g in t.guards)] for t in definition.transitions],
          title=f"{stored.name} version {stored.version}: {definition.title}")
    click.echo(f"# {stored.file_name}, sha256 {stored.content_hash}")
    click.echo(stored.source_text)


@workflow.command()
@click.argument("name")
@click.option("--version", "version", type=version_type(), default=None, help="Draw this version (default: the newest).")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.pass_context
def draw(ctx, name, version, fmt):
    """Print the state diagram as Mermaid (default) or Graphviz DOT text.

    Example: hazard workflow draw major-hazard --format dot | dot -Tsvg > major-hazard.svg
    """
    from engine.definition import diagram

    _, definition = ctx.obj.service.workflow(name, version)
    click.echo(diagram.mermaid(definition) if fmt == "mermaid" else diagram.dot(definition), nl=False)


@workflow.command()
@click.argument("name")
@click.option("--to", "to_version", type=version_type(), required=True, help="The version to move running cases to.")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="Where cases in state OLD land (repeatable); states the new version also has map to themselves.")
@click.option("--dry-run", is_flag=True, help="Show per case the state mapping and every rung that would move.")
@json_option
@click.pass_context
def migrate(ctx, name, to_version, pairs, dry_run):
    """Move running cases of NAME to another version; each move is a `migrate` event in the case's log.

    Needs an actor with the committee role. All cases move or none does.

    Example: hazard --actor li workflow migrate major-hazard --to 2 --map verifying=inspecting --dry-run
    """
    from cli.output import message, print_json, short_time, table
    from engine.migration import parse_map

    plans = ctx.obj.service.migrate_cases(name, to_version=to_version, mapping=parse_map(pairs),
                                          actor=ctx.obj.actor_name, dry_run=dry_run)
    if is_json(ctx):
        print_json({"workflow": name, "to_version": to_version, "dry_run": dry_run, "cases": [
            {"case_id": p.case_id, "from_version": p.from_version, "to_version": p.to_version,
             "from_state": p.from_state, "to_state": p.to_state, "deadline": p.deadline,
             "rungs": [{"clock": r.clock, "rung": r.rung, "due_before": r.before, "due_after": r.after,
                        "status_before": r.status_before, "status_after": r.status_after} for r in p.rung_changes]}
            for p in plans]})
        return
    rows = []
    for p in plans:
        rows.append([p.case_id, f"v{p.from_version} -> v{p.to_version}", f"{p.from_state} -> {p.to_state}",
                     p.deadline or "", "", "", ""])
        for r in p.rung_changes:
            rows.append(["", "", "", "", f"{r.clock}/{r.rung}", short_time(r.before) or "-",
                         (short_time(r.after) or "-") + (f" ({r.status_after})" if r.status_after else " (removed)")])
    table(["case", "version", "state", "deadline", "rung", "due before", "due after"], rows)
    message(("dry run: would migrate " if dry_run else "migrated ") + f"{len(plans)} case(s) of {name} to version {to_version}")
