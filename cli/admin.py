"""`hazard init` and `hazard user ...`: setting up a database and who may act where, with which credentials."""
from __future__ import annotations


import click

from cli.options import is_json, json_option

_REGION_HELP = ("Region (repeatable): a code of the national list, 37 a province, 3717 a city, 371721 a county "
                "(371700 = 3717), or a name (山东, 菏泽市, 曹县).")
_ROLE_HELP = "Role (repeatable): inspector, enterprise, supervisor, committee, auditor."
_ENTERPRISE_HELP = ("Bind an enterprise user to one enterprise: its name as cases name it, or its 18-character "
                    "unified social credit code. A bound user sees and acts on that enterprise's cases only; an "
                    "unbound one, every case of their regions.")


@click.command()
@click.option("--admin", metavar="NAME", help="On a database without users: make NAME the first administrator "
                                              "(committee role over the --region codes).")
@click.option("--region", "regions", multiple=True, metavar="CODE", help="The first administrator's regions.")
@click.option("--require-token", is_flag=True, help="From now on every actor must show a valid token of theirs "
                                                    "(HAZARD_TOKEN or --token).")
@click.option("--drill", is_flag=True, help="Make a new database for drills: it takes future --now times, and "
                                            "every command on it says so.")
@click.option("--import-max-mb", type=click.IntRange(1, 1024), metavar="MB",
              help="The largest ledger file `hazard import` reads, in MB (default 50).")
@click.option("--attach-max-mb", type=click.IntRange(1, 200), metavar="MB",
              help="The largest evidence file `hazard case attach` stores, in MB (default 20).")
@json_option
@click.pass_context
def init(ctx, admin, regions, require_token, drill, import_max_mb, attach_max_mb):
    """Create the tables and install the built-in workflows (safe to run again).

    On a database without users, --admin makes the first administrator. On a database in use, a changed built-in
    workflow, --require-token, --import-max-mb or --attach-max-mb needs --actor with the committee role; --drill only works on a
    new one.

    \b
    Example:
      hazard --db sqlite:///hazard.db init --admin li --region 37
    """
    from cli.output import message, print_json
    from engine.domain.documents import installed_document

    app = ctx.obj
    app.create = True
    if regions and not admin:
        raise click.UsageError("--region names the first administrator's regions: give --admin NAME too")
    if admin and not regions:
        raise click.UsageError("the first administrator needs --region CODE (repeatable)")
    # A refused init on a new SQLite file (a reserved name, a bad region) leaves no half-made database: the
    # engine takes the file it made away again.
    done = app.engine.commands.initialise(now=app.now, admin=admin, admin_regions=regions,
                                          require_token=require_token, drill=drill, actor=app.actor_name,
                                          import_max_mb=import_max_mb, attach_max_mb=attach_max_mb)
    app.announce_drill(again=True)
    token = done.admin_token
    if is_json(ctx):
        doc = {"db": app.engine.store.safe_url, "workflows": installed_document(done.installed),
               "settings": _public(app.settings)}
        print_json({**doc, "admin_token": token.text} if token else doc)
        return
    for name, version, created in done.installed:
        message(f"{name}: version {version}" + (" installed" if created else " (unchanged)"))
    if done.admin_created:
        message(f"first administrator: {admin}")
    for key, value in _public(app.settings).items():
        message(f"setting: {key} = {value}")
    if token:
        click.echo(token.text)
        message(f"the token above is {admin}'s (id {token.token_id}): keep it now, it is not shown again")
    message(f"database ready: {app.engine.store.safe_url}")


def _public(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k in ("require_token", "drill", "import_max_mb", "attach_max_mb")}


@click.group()
def user():
    """Register who may act, in which roles and regions, and with which credentials."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help=_ROLE_HELP)
@click.option("--region", "regions", multiple=True, required=True, help=_REGION_HELP)
@click.option("--enterprise", metavar="ENTERPRISE", help=_ENTERPRISE_HELP)
@json_option
@click.pass_context
def user_add(ctx, name, roles, regions, enterprise):
    """Add a new user; needs --actor with the committee role over every region given.

    On a database without users the first user needs no actor and must have the committee role: the first
    administrator. An existing name is refused (exit 6): `hazard user change` changes one.

    \b
    Example:
      hazard --actor li user add zhang --role supervisor --region 371700
      hazard --actor li user add ent-a --role enterprise --region 371721 --enterprise 某化工有限公司
    """
    from cli.output import message, print_json
    from engine.domain.documents import user_document

    app = ctx.obj
    _check_enterprise(enterprise)
    actor, created = app.engine.commands.add_user(name, roles=list(roles), regions=list(regions),
                                                  actor=app.actor_name, now=app.now, enterprise=enterprise)
    if is_json(ctx):
        print_json(user_document(actor, created))
    else:
        message(f"added {actor.name}: {_standing(actor)}")


def _check_enterprise(enterprise: str | None) -> None:
    """`--enterprise ''` (an unset shell variable) binds nobody and unbinds nobody: `--no-enterprise` unbinds."""
    if enterprise is not None and not enterprise.strip():
        raise click.UsageError("--enterprise is empty: give the enterprise's name or credit code (`user change "
                               "--no-enterprise` unbinds a user)")


def _standing(actor) -> str:
    return f"roles {', '.join(actor.roles)}; regions {', '.join(actor.regions)}" + \
        (f"; acts for {actor.enterprise} only" if actor.enterprise else "")


@user.command("change")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="New roles (repeatable), replacing the old ones. " + _ROLE_HELP)
@click.option("--region", "regions", multiple=True, help="New regions (repeatable), replacing the old ones.")
@click.option("--enterprise", metavar="ENTERPRISE", help="Bind the user to this enterprise instead (name or credit "
                                                         "code); the user needs the enterprise role.")
@click.option("--no-enterprise", "unbind", is_flag=True, help="Unbind the user: they act across their regions again.")
@click.option("--email", metavar="ADDR", help="Where e-mail notifications reach the user (\"\" clears it).")
@click.option("--phone", metavar="NUMBER", help="The user's phone number (\"\" clears it).")
@click.option("--webhook", metavar="URL", help="Where webhook notifications reach the user: an SMS gateway or a "
                                               "WeCom/DingTalk robot (\"\" clears it).")
@click.option("--channels", metavar="LIST", help="The channels the user wants beside the inbox: email, webhook, "
                                                 "both (email,webhook) or none (\"\": every one they gave); add "
                                                 "digest for the daily digest instead of single e-mails and webhooks "
                                                 "(email,digest).")
@click.option("--quiet", metavar="HH:MM-HH:MM", help="Quiet hours, Shanghai time (22:00-07:00): e-mail and webhook "
                                                     "wait until they end (\"\" clears them).")
@json_option
@click.pass_context
def user_change(ctx, name, roles, regions, enterprise, unbind, email, phone, webhook, channels, quiet):
    """Replace a user's roles, regions and/or enterprise binding; needs --actor with the committee role over the old
    and new regions.

    \b
    Example:
      hazard --actor li user change zhang --role supervisor --region 3717 --region 3716
      hazard --actor li user change ent-a --enterprise 91371721MA3C5K8P0C
      hazard --actor ent-a user change ent-a --email ent-a@example.cn --webhook https://sms.example.cn/hook

    Contacts are recorded in the users' log too; a user may set their own.
    """
    from cli.output import message, print_json
    from engine.domain.documents import user_document

    app = ctx.obj
    _check_enterprise(enterprise)
    if unbind and enterprise is not None:
        raise click.UsageError("--enterprise binds and --no-enterprise unbinds: give one")
    actor = app.engine.commands.change_user(name, roles=list(roles), regions=list(regions), actor=app.actor_name,
                                            now=app.now, enterprise="" if unbind else enterprise, email=email,
                                            phone=phone, webhook=webhook, channels=channels, quiet=quiet)
    if is_json(ctx):
        print_json(user_document(actor))
    else:
        message(f"changed {actor.name}: {_standing(actor)}")


@user.command("disable")
@click.argument("name")
@json_option
@click.pass_context
def user_disable(ctx, name):
    """Disable a user: they may no longer act, log in or use their tokens; their history stays.

    \b
    Example:
      hazard --actor li user disable liu
    """
    from cli.output import message, print_json

    app = ctx.obj
    actor = app.engine.commands.disable_user(name, actor=app.actor_name, now=app.now)
    if is_json(ctx):
        print_json({"name": actor.name, "disabled": True})
    else:
        message(f"disabled {actor.name}")


@user.command("enable")
@click.argument("name")
@json_option
@click.pass_context
def user_enable(ctx, name):
    """Enable a disabled user again, with the roles and regions they had; needs --actor with the committee role
    over those regions. Tokens they held stay revoked (issue a new one); their password stays theirs.

    \b
    Example:
      hazard --actor li user enable liu
    """
    from cli.output import message, print_json
    from engine.domain.documents import user_document

    app = ctx.obj
    actor = app.engine.commands.enable_user(name, actor=app.actor_name, now=app.now)
    if is_json(ctx):
        print_json(user_document(actor, active=True))
    else:
        message(f"enabled {actor.name}: {_standing(actor)}")


@user.command("token")
@click.argument("name")
@click.option("--expires", type=click.IntRange(1, 3650), metavar="DAYS",
              help="Days (real time) until the token stops working; default: until revoked.")
@json_option
@click.pass_context
def user_token(ctx, name, expires):
    """Issue an API token for NAME and print it once (stdout); only its hash is stored.

    The user themself or a committee member over their regions may issue one. Give it to commands as
    HAZARD_TOKEN (or --token).

    \b
    Example:
      export HAZARD_TOKEN=$(hazard --actor li user token zhang --expires 90)
    """
    from cli.output import message, print_json, short_time

    app = ctx.obj
    issued, expires_at = app.engine.commands.issue_token(name, actor=app.actor_name, expires_days=expires,
                                                         now=app.now)
    if is_json(ctx):
        from engine.domain.clock import iso
        print_json({"user": name, "id": issued.token_id, "token": issued.text, "expires_at": iso(expires_at)})
        return
    click.echo(issued.text)
    message(f"token {issued.token_id} for {name}" + (f", expires {short_time(expires_at)}" if expires_at else "")
            + ": keep it now, it is not shown again")


@user.command("revoke")
@click.argument("name")
@click.option("--token", "token_id", metavar="ID", help="Revoke only this token (its id, as `user log` shows); "
                                                        "default: every live token of NAME.")
@json_option
@click.pass_context
def user_revoke(ctx, name, token_id):
    """Revoke NAME's tokens: commands given them are refused from now on.

    \b
    Example:
      hazard --actor li user revoke zhang --token 3f2a9c01be47
    """
    from cli.output import message, print_json

    app = ctx.obj
    revoked = app.engine.commands.revoke_tokens(name, actor=app.actor_name, token_id=token_id, now=app.now)
    if is_json(ctx):
        print_json({"user": name, "revoked": revoked})
    else:
        message(f"revoked {len(revoked)} token(s) of {name}" + (f": {', '.join(revoked)}" if revoked else ""))


@user.command("password")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_password(ctx, name, from_stdin):
    """Set NAME's password (for the web console's log-in, hazard serve); asked twice, or from stdin.

    The user themself or a committee member over their regions may set it. It is stored as an argon2id hash.

    \b
    Example:
      hazard --actor zhang user password zhang
    """
    import sys

    from cli.output import message

    app = ctx.obj
    actor = app.actor_name  # checked before the password is asked for
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt="password again", err=True)
    app.engine.commands.set_password(name, password, actor=actor, now=app.now)
    message(f"password of {name} set")


@user.command("list")
@click.option("--all", "show_all", is_flag=True, help="The disabled users too (status: active or disabled).")
@json_option
@click.pass_context
def user_list(ctx, show_all):
    """List the users who may act, with their roles, regions (code and name) and the enterprise a bound enterprise
    user acts for (empty: unbound, the whole of their regions); --all adds the disabled.

    \b
    Example:
      hazard user list --all --json
    """
    from cli.output import print_json, table
    from engine.domain.documents import user_document

    found = ctx.obj.engine.queries.user_accounts(disabled=show_all)
    if is_json(ctx):
        print_json([user_document(a, active=active) for a, active in found])
        return
    rows = [[a.name, ", ".join(a.roles), _regions(a.regions), a.enterprise or ""]
            + (["active" if active else "disabled"] if show_all else []) for a, active in found]
    table(["name", "roles", "regions", "enterprise"] + (["status"] if show_all else []), rows)


@user.command("log")
@json_option
@click.pass_context
def user_log(ctx):
    """The users' log: every grant (who gave what to whom, when), hash-chained; `audit verify` checks it.

    \b
    Example:
      hazard user log --json
    """
    from cli.output import print_json, short_time, table
    from engine.app.accounts import grant_log
    from engine.domain.grants import grant_document

    log = grant_log(ctx.obj.engine)
    if is_json(ctx):
        print_json([grant_document(g) for g in log])
        return
    table(["seq", "at", "actor", "action", "user", "roles", "regions", "detail", "recorded"],
          [[g.seq, short_time(g.at), g.actor, g.action, g.subject, ", ".join(g.roles), _regions(g.regions),
            _detail(g), short_time(g.recorded_at)] for g in log], optional=("detail", "recorded"))


def _regions(codes) -> str:
    """`3717 菏泽市, 371721 曹县`: the codes an administrator types, with the names they read."""
    from engine.domain.regions import code_and_name
    return ", ".join(code_and_name(code) for code in codes)


def _detail(grant) -> str:
    data = grant.data or {}
    if grant.action == "token":
        return f"token {data.get('token')}" + (f" until {data['expires_at'][:10]}" if data.get("expires_at") else "")
    if grant.action == "revoke":
        return "tokens " + ", ".join(data.get("tokens", []))
    if grant.action == "setting":
        return f"= {data.get('value')}"
    if grant.action == "contact":
        return "; ".join(f"{k} {v}" for k, v in data.items())
    parts = (["first administrator"] if data.get("first") else []) + \
        ([f"enterprise {data['enterprise']}"] if data.get("enterprise") else [])
    return "; ".join(parts)
