"""`init` (*app*): the built-in workflows, the first administrator and the database's settings, in one unit.

Safe to run again: what is already there is left as it is. What would change a database already in use
(a changed built-in workflow, a new setting) needs a committee actor, as every grant does; the first
administrator is made only on a database without users; a database becomes a drill database only while it holds
neither users nor cases (a drill's future times must never mix with real records).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.app import accounts
from engine.domain import grants
from engine.domain.credentials import IssuedToken
from engine.domain.errors import Conflict, Refused
from engine.domain.limits import (DEFAULT_ATTACH_MAX_MB, DEFAULT_IMPORT_MAX_MB, check_attach_max_mb,
                                  check_import_max_mb)
from engine.domain.machine import pick_role
from engine.app.registry import builtin_workflow_files


@dataclass(frozen=True)
class Initialised:
    installed: list[tuple[str, int, bool]]     # (workflow, version, newly installed)
    admin_created: bool = False
    admin_token: IssuedToken | None = None      # the first administrator's first token, when tokens are required


def initialise(batch, *, now: datetime, admin: str | None, admin_regions: tuple[str, ...], require_token: bool,
               drill: bool, actor: str | None, import_max_mb: int | None = None,
               attach_max_mb: int | None = None) -> Initialised:
    from engine.store import audit_reads as audit_store
    from engine.store import settings as setting_store
    from engine.store import users as user_store

    from engine.store.database import take_setup_lock

    with batch.unit() as unit:
        conn = unit.conn
        take_setup_lock(conn)  # two `init`s at once: the second sees the first's administrator and versions
        empty = user_store.roster_is_empty(conn)
        settings = setting_store.get_all(conn)
        wanted = [key for key, on in (("drill", drill), ("require_token", require_token))
                  if on and not setting_store.is_true(settings.get(key))]
        values = {key: "true" for key in wanted}
        if import_max_mb is not None:
            check_import_max_mb(import_max_mb)
            if str(import_max_mb) != settings.get("import_max_mb", str(DEFAULT_IMPORT_MAX_MB)):
                values["import_max_mb"] = str(import_max_mb)
        if attach_max_mb is not None:
            check_attach_max_mb(attach_max_mb)
            if str(attach_max_mb) != settings.get("attach_max_mb", str(DEFAULT_ATTACH_MAX_MB)):
                values["attach_max_mb"] = str(attach_max_mb)
        if "drill" in wanted and (not empty or audit_store.count_cases(conn)):
            raise Refused("this database already holds users or cases: a drill runs on a database made for "
                          "drills (a new one)", rule="drill")
        if "require_token" in wanted:
            _check_no_lockout(unit, empty=empty, admin=admin, actor=actor)
        if values and not empty:
            pick_role(unit.actor(actor), (grants.GRANTING_ROLE,), "change the database's settings")
        for key, value in values.items():  # first: a drill database's built-ins are installed at the drill's time
            accounts.change_setting(unit, key, value, actor=actor if not empty else "system")
        installed = batch.install_definitions(builtin_workflow_files(), actor=actor, now=now, only_if_changed=True)
        token = None
        if admin:
            _first_admin(batch, unit, admin, admin_regions, empty=empty, now=now)
            if empty and (require_token or setting_store.is_true(settings.get("require_token"))):
                token, _ = batch.issue_token(admin, actor=admin, now=now)
    return Initialised(installed, admin_created=bool(admin and empty), admin_token=token)


def _check_no_lockout(unit, *, empty: bool, admin: str | None, actor: str | None) -> None:
    """Requiring tokens must leave someone able to act: the new administrator gets one, or the committee
    member who asks holds one already."""
    from engine.store import users as user_store
    if empty:
        if not admin:
            raise Refused("a database that requires tokens needs its first administrator named now, who gets the "
                          "first token", rule="needs-admin")
        return
    if actor and not user_store.live_tokens(unit.conn, actor, at=unit.recorded_clock.now()):
        raise Refused(f"'{actor}' holds no live token and could not act once tokens are required", rule="lockout")


def _first_admin(batch, unit, name: str, regions: tuple[str, ...], *, empty: bool, now: datetime) -> None:
    from engine.store import users as user_store

    if empty:
        batch.add_user(name, roles=[grants.GRANTING_ROLE], regions=list(regions), now=now)
        return
    existing = user_store.get(unit.conn, name)
    wanted = accounts.region_prefixes(regions) if regions else ()
    if existing is None or grants.GRANTING_ROLE not in existing.roles or \
            not all(grants.covers(existing.regions, r) for r in wanted):
        raise _admin_conflict(name)


def _admin_conflict(name: str) -> Conflict:
    return Conflict(f"the register already has users: the first administrator is made only on an empty one "
                    f"(have a committee member add '{name}')", case_id="", rule="first-admin")
