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

    \b
    Example:
      hazard workflow validate workflows/*.yaml
    """
    from cli.output import message, print_json
    from engine.domain.errors import DefinitionInvalid

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
    """Install definitions: a changed file becomes a new version, an unchanged one a no-op.

    Running cases stay on the version they started with; new cases take the newest. Every file is checked
    before any is installed: one invalid file installs none. Needs --actor with the committee role once
    the register has users.

    \b
    Example:
      hazard --actor li workflow install workflows/major-hazard.yaml
    """
    from cli.output import message, print_json
    from engine.domain.documents import installed_document
    from engine.domain.errors import DefinitionInvalid

    texts, problems = [], []
    for path in files:
        try:
            texts.append((path, _read_definition(path)))
        except DefinitionInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionInvalid(problems)
    app = ctx.obj
    results = app.engine.commands.install_definitions(texts, actor=app.actor_name, now=app.now)
    if is_json(ctx):
        print_json(installed_document(results))
    else:
        for name, version, created in results:
            message(f"{name}: version {version}" + (" installed" if created else " (unchanged)"))


def _read_definition(path: str) -> str:
    """The text of a definition file, parsed and checked; DefinitionInvalid lists its problems."""
    from engine.domain.definition.source import read_file
    from engine.app.registry import load_definition

    text = read_file(path)
    load_definition(text, path)
    return text


@workflow.command("list")
@json_option
@click.pass_context
def list_(ctx):
    """List installed workflows and their versions.

    \b
    Example:
      hazard workflow list --json
    """
    from cli.output import print_json, short_time, table
    from engine.domain.documents import workflow_version_document

    versions = ctx.obj.engine.queries.workflow_versions()
    if is_json(ctx):
        print_json([workflow_version_document(v) for v in versions])
    else:
        table(["name", "version", "file", "installed", "hash"],
              [[v.name, v.version, v.file_name, short_time(v.installed_at), v.content_hash[:12]] for v in versions])


@workflow.command()
@click.argument("name")
@click.option("--version", "version", type=version_type(), default=None, help="Show this version (default: the newest).")
@json_option
@click.pass_context
def show(ctx, name, version):
    """Show a workflow version: its states and transitions, and the exact YAML text that ran.

    \b
    Example:
      hazard workflow show major-hazard --version 1
    """
    from cli.output import print_json, table
    from engine.domain.documents import workflow_document

    stored, definition = ctx.obj.engine.queries.workflow(name, version)
    if is_json(ctx):
        print_json(workflow_document(stored, definition))
        return
    table(["trigger", "from", "to", "roles", "requires", "guards"],
          [[t.trigger, ", ".join(t.sources), t.dest, ", ".join(t.roles), ", ".join(t.requires),
            ", ".join(g.kind for g in t.guards)] for t in definition.transitions], text=("from", "requires", "guards"),
          title=f"{stored.name} version {stored.version}: {definition.title}")
    click.echo(f"# {stored.file_name}\n# sha256 {stored.content_hash}")
    click.echo(stored.source_text)


@workflow.command()
@click.argument("name")
@click.option("--version", "version", type=version_type(), default=None, help="Draw this version (default: the newest).")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.pass_context
def draw(ctx, name, version, fmt):
    """Print the state diagram as Mermaid (default) or Graphviz DOT text.

    \b
    Example:
      hazard workflow draw major-hazard --format dot | dot -Tsvg > major-hazard.svg
    """
    from engine.domain.definition import diagram

    _, definition = ctx.obj.engine.queries.workflow(name, version)
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

    \b
    Example:
      hazard --actor li workflow migrate major-hazard --to 2 --map verifying=inspecting --dry-run
    """
    from cli.output import message, print_json, short_time, table
    from engine.domain.documents import migration_document

    app = ctx.obj
    plans = app.engine.commands.migrate_cases(name, to_version=to_version, mapping=parse_map(pairs),
                                              actor=app.actor_name, dry_run=dry_run, now=app.now)
    if is_json(ctx):
        print_json(migration_document(name, to_version, dry_run, plans))
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


def parse_map(pairs) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"'{pair}' is not OLD=NEW", param_hint="--map")
        mapping[old.strip()] = new.strip()
    return mapping
