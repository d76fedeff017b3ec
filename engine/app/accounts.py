"""Administering who may act (*app*): users, their credentials and the database settings, each change a grant.

Every function here checks who asks (`engine.domain.grants`: the committee role over every region a grant
touches; a user's own credentials are theirs), appends one sealed grant to the users' log and applies it
to the tables in the same transaction (`engine.store.users.record`). On an empty roster the first user
added, who must hold the committee role, is the first administrator and needs no actor.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from engine.domain import credentials, grants, limits
from engine.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused, StoreError, TamperDetected
from engine.domain.grants import Grant
from engine.domain.actor import Actor

MAX_TOKEN_DAYS = 3650   # ten years: a token meant to outlive that should be re-issued, not kept


def region_prefixes(given, *, within=()) -> tuple[str, ...]:
    """The regions of a grant, each a division of the national list given by code or name (`engine.domain.regions.read`;
    a name several divisions share is narrowed to those within the granting user's `within`)."""
    from engine.domain import regions  # the national list's reader: administering users, not every command
    found = tuple(dict.fromkeys(regions.read(r, within=within) for r in given))
    if not found:
        raise InvalidInput("a user needs at least one region", field="region", rule="requires")
    return found


def _append(unit, *, actor: str, action: str, subject: str, roles=(), regions=(), data=None, at: datetime,
            stored: str | None = None) -> Grant:
    from engine.store import users as user_store
    unit.check_effective(at, f"{action} of user '{subject}'")
    last = user_store.head(unit.conn)
    grant = Grant(seq=(last[0] if last else 0) + 1, actor=actor, action=action, subject=subject,
                  roles=tuple(roles), regions=tuple(regions), at=at, recorded_at=unit.recorded_clock.now(),
                  data=data or {}, prev_hash=last[1] if last else grants.GENESIS).sealed()
    user_store.record(unit.conn, grant, stored=stored)
    return grant


def _roster(unit) -> grants.Roster:
    """The roster as the log says (the log is short: one grant per change of a user)."""
    from engine.store import users as user_store
    return grants.fold(user_store.grants(unit.conn))[0]


def _account(roster: grants.Roster, name: str, *, active: bool = True) -> grants.Account:
    """The user as the log says; NotFound when never added, Refused when disabled and `active` is asked."""
    found = roster.accounts.get(name)
    if found is None:
        raise NotFound(f"no user '{name}'", kind="user", key=name)
    if active and not found.active:
        raise Refused(f"user '{name}' is disabled", rule="disabled")
    return found


def _exists_error(name: str, account: grants.Account | None) -> Conflict:
    """The name is taken: by a user who may act (change them), or by a disabled one (enable them)."""
    if account is not None and not account.active:
        return Conflict(f"user '{name}' exists and is disabled", case_id="", rule="user-disabled")
    return Conflict(f"user '{name}' exists", case_id="", rule="user-exists")


def _binding(enterprise: str | None) -> dict:
    """The data a grant binds its user to an enterprise with (nothing for an unbound user: the log stays as it was)."""
    return {"enterprise": enterprise} if enterprise else {}


def add_user(commands, name: str, *, roles, regions, actor: str | None, now: datetime,
             enterprise: str | None = None) -> Actor:
    from engine.store import users as user_store

    limits.check_user(name or "", list(roles))  # sizes and control characters, as every input is bounded
    name, roles = grants.check_name(name), grants.check_roles(roles)
    enterprise = grants.check_binding(roles, enterprise)
    with commands.unit() as unit:
        if user_store.roster_is_empty(unit.conn):
            given = region_prefixes(regions)
            if grants.GRANTING_ROLE not in roles:
                raise Refused(f"the roster is empty: its first user is the administrator and needs the "
                              f"{grants.GRANTING_ROLE} role", rule="first-admin")
            if actor and actor != name:
                raise user_store.missing(unit.conn, actor)
            _append(unit, actor=name, action="add", subject=name, roles=roles, regions=given,
                    data={"first": True, **_binding(enterprise)}, at=now)
            return Actor(name, roles, given, enterprise)
        who = unit.actor(actor)
        given = region_prefixes(regions, within=who.regions)
        grants.check_grantor(who, given, f"add user '{name}'")
        roster = _roster(unit)
        account = roster.accounts.get(name)
        if user_store.get(unit.conn, name) is not None or account is not None:
            raise _exists_error(name, account)
        grants.check_distinct(name, roster)
        _append(unit, actor=who.name, action="add", subject=name, roles=roles, regions=given,
                data=_binding(enterprise), at=now)
    return Actor(name, roles, given, enterprise)


def change_user(commands, name: str, *, roles=None, regions=None, actor: str | None, now: datetime,
                enterprise: str | None = None, contact: dict | None = None) -> Actor:
    """New roles, regions, binding and/or contacts; `enterprise` None keeps the binding, "" unbinds the user;
    `contact` ({email, phone, webhook}, "" clearing one) is a grant of its own, which the user may give themselves."""
    if not roles and not regions and enterprise is None and not contact:
        raise InvalidInput("a change needs new roles, new regions, an enterprise binding or a contact", field="role",
                           rule="requires")
    with commands.unit() as unit:
        who = unit.actor(actor)
        roster = _roster(unit)
        account = _account(roster, name)
        if contact:
            grants.check_self_or_grantor(who, account, f"change the contacts of '{name}'")
            merged = {k: v for k, v in {**account.contact, **contact}.items() if v}
            _append(unit, actor=who.name, action="contact", subject=name, roles=account.roles,
                    regions=account.regions, data=merged, at=now)
            if not roles and not regions and enterprise is None:
                return account.actor()
        limits.check_user(name, list(roles or ()))
        new_roles = grants.check_roles(roles) if roles else account.roles
        new_regions = region_prefixes(regions, within=who.regions) if regions else account.regions
        if enterprise is None and account.enterprise and grants.BOUND_ROLE not in new_roles:
            raise InvalidInput(f"'{name}' is bound to {account.enterprise}, and only a user with the "
                               f"{grants.BOUND_ROLE} role is: unbind them in the same change", field="enterprise",
                               rule="enterprise-role")
        new_enterprise = account.enterprise if enterprise is None else \
            grants.check_binding(new_roles, enterprise) if enterprise.strip() else None
        grants.check_grantor(who, account.regions + new_regions, f"change user '{name}'")
        _keep_an_administrator(roster, name, keeps=new_regions if grants.GRANTING_ROLE in new_roles else ())
        _append(unit, actor=who.name, action="change", subject=name, roles=new_roles, regions=new_regions,
                data=_binding(new_enterprise), at=now)
    return Actor(name, new_roles, new_regions, new_enterprise)


def disable_user(commands, name: str, *, actor: str | None, now: datetime) -> Actor:
    with commands.unit() as unit:
        who = unit.actor(actor)
        roster = _roster(unit)
        account = _account(roster, name)
        grants.check_grantor(who, account.regions, f"disable user '{name}'")
        _keep_an_administrator(roster, name, keeps=())
        _append(unit, actor=who.name, action="disable", subject=name, roles=account.roles,
                regions=account.regions, at=now)
    return account.actor()


def enable_user(commands, name: str, *, actor: str | None, now: datetime) -> Actor:
    """A disabled user may act again, with the roles and regions they had; granted by a committee `actor` over
    those regions. Their tokens do not come back: those still live when they were disabled are revoked in the
    same transaction (whoever held one meanwhile is not let back in); their password stays theirs."""
    from engine.store import users as user_store
    with commands.unit() as unit:
        who = unit.actor(actor)
        account = _account(_roster(unit), name, active=False)
        grants.check_grantor(who, account.regions, f"enable user '{name}'")
        if account.active:
            raise Refused(f"user '{name}' is not disabled: nothing to enable", rule="enabled")
        _append(unit, actor=who.name, action="enable", subject=name, roles=account.roles,
                regions=account.regions, data=_binding(account.enterprise), at=now)
        stale = user_store.live_tokens(unit.conn, name)
        if stale:
            _append(unit, actor=who.name, action="revoke", subject=name, at=now,
                    data={"tokens": stale, "reason": "issued before the user was disabled"})
    return account.actor()


def list_users(engine, *, disabled: bool = False) -> list[tuple[Actor, bool]]:
    """(user, active) of every user who may act; with `disabled`, those disabled too (from the users' log, which
    keeps them: the table holds only who may act), by name."""
    from engine.store import users as user_store
    with engine.store.read() as conn:
        if not disabled:
            return [(user, True) for user in user_store.all_users(conn)]
        roster = grants.fold(user_store.grants(conn))[0]
        return [(a.actor(), a.active) for a in sorted(roster.accounts.values(), key=lambda a: a.name)]


def _keep_an_administrator(roster: grants.Roster, name: str, *, keeps: tuple[str, ...]) -> None:
    """Every region a committee member administers now must still have one after `name` keeps the committee
    role over `keeps` only (nothing, when disabled or demoted): nobody could add a province's users otherwise."""
    account = roster.accounts.get(name)
    if account is None or not account.active or grants.GRANTING_ROLE not in account.roles:
        return
    others = [a.regions for a in roster.accounts.values()
              if a.name != name and a.active and grants.GRANTING_ROLE in a.roles]
    orphaned = [r for r in account.regions
                if not grants.covers(tuple(keeps), r) and not any(grants.covers(regions, r) for regions in others)]
    if orphaned:
        last = "the last user" if not others else "the only user"
        raise Refused(f"'{name}' is {last} with the {grants.GRANTING_ROLE} role over {', '.join(orphaned)}: nobody "
                      "could administer it after this; give the role there to another user first", rule="last-admin")


def issue_token(commands, name: str, *, actor: str | None, expires_days: int | None,
                now: datetime) -> tuple[credentials.IssuedToken, datetime | None]:
    """A new API token for `name`: its text is in the result and nowhere else."""
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token expires after 1 to {MAX_TOKEN_DAYS} days", field="expires", rule="bounds")
    with commands.unit() as unit:
        who = unit.actor(actor)
        account = _account(_roster(unit), name)
        grants.check_self_or_grantor(who, account, f"issue a token for '{name}'")
        issued = credentials.issue_token()
        # Expiry counts on the real clock: a back-dated --now must not issue a token already past its end
        # (or one that lasts from a forged start).
        expires = unit.recorded_clock.now() + timedelta(days=expires_days) if expires_days else None
        _append(unit, actor=who.name, action="token", subject=name, at=now, stored=issued.stored_hash,
                data={"token": issued.token_id, "expires_at": expires.isoformat() if expires else None,
                      "digest": credentials.digest(issued.stored_hash)})
    return issued, expires


def revoke_tokens(commands, name: str, *, actor: str | None, token_id: str | None = None,
                  now: datetime) -> list[str]:
    """Revoke one token of `name`, or all their live ones; returns the ids revoked."""
    from engine.store import users as user_store
    with commands.unit() as unit:
        who = unit.actor(actor)
        account = _account(_roster(unit), name, active=False)
        grants.check_self_or_grantor(who, account, f"revoke tokens of '{name}'")
        live = user_store.live_tokens(unit.conn, name)
        if token_id is not None:
            if token_id not in live:
                raise NotFound(f"'{name}' has no live token '{token_id}'", kind="token", key=token_id)
            live = [token_id]
        if live:
            _append(unit, actor=who.name, action="revoke", subject=name, data={"tokens": live}, at=now)
    return live


def set_password(commands, name: str, password: str, *, actor: str | None, now: datetime) -> None:
    stored = credentials.hash_password(password)
    with commands.unit() as unit:
        who = unit.actor(actor)
        account = _account(_roster(unit), name)
        grants.check_self_or_grantor(who, account, f"set the password of '{name}'")
        _append(unit, actor=who.name, action="password", subject=name, stored=stored,
                data={"digest": credentials.digest(stored)}, at=now)


def change_setting(unit, key: str, value: str, *, actor: str) -> None:
    """A database setting, as a grant; it takes effect when it is recorded (it is no record to back-fill). A
    secret's grant holds its digest only; the settings table holds the secret."""
    if key not in grants.SETTINGS + grants.CHANNEL_SETTINGS:
        raise InvalidInput(f"unknown setting '{key}' (settings: {', '.join(grants.SETTINGS)})", field="key")
    if key in grants.SECRET_SETTINGS:
        _append(unit, actor=actor, action="setting", subject=key, data={"value": grants.secret_digest(value)},
                at=unit.recorded_clock.now(), stored=value)
        return
    _append(unit, actor=actor, action="setting", subject=key, data={"value": value}, at=unit.recorded_clock.now())


# -- who is asking -----------------------------------------------------------------------------------------------


def login(engine, name: str, password: str) -> Actor:
    """The user `name` if `password` is theirs (the web console's log-in); PermissionDenied otherwise."""
    from engine.store import users as user_store
    with engine.store.read() as conn:
        stored = user_store.password_hash(conn, name or "")
        user = user_store.get(conn, name or "")
        # An unknown name is checked against a hash too: how long a refusal takes does not tell which names exist.
        matches = credentials.password_matches(stored or credentials.dummy_hash(), password or "")
        if not (stored and matches):
            raise PermissionDenied("wrong user name or password", actor=name, rule="login")
        problem = grants.password_problem(name, stored, user_store.password_grant(conn, name))
        if problem:  # a hash copied into the table alone logs nobody in
            raise TamperDetected(f"{problem}; nothing was done", rule="password")
        user_store.checked_actor(conn, name, user)
        if user is None:
            raise user_store.missing(conn, name)
    return user


def authenticate(engine, name: str | None, token: str | None) -> Actor | None:
    """`name`'s Actor if `token` is a live token of theirs, checked on the real clock; PermissionDenied naming
    why not. None when the roster is still empty (the first administrator has nothing to show yet)."""
    if not name:
        raise PermissionDenied("no actor given", rule="actor")
    with engine.store.read() as conn:
        return _token_holder(engine, conn, name, token)


def authenticate_bearer(engine, token: str | None, *, conn=None) -> Actor:
    """The user whose live token `token` is (the HTTP API's `Authorization: Bearer hzt_...`): the token names
    its holder, who is then checked by the same rule as `authenticate` (the command line's HAZARD_TOKEN);
    PermissionDenied naming why not. In `conn`, a transaction of the caller's, when given (a write checks its
    caller in its own transaction: one trip to the database fewer, and the user read is the one it acts as)."""
    from contextlib import nullcontext

    from engine.store import users as user_store
    if not token:
        raise PermissionDenied("no token given: send `Authorization: Bearer hzt_...` with a token of `user token`",
                               rule="token-missing")
    parsed = credentials.parse_token(token)
    if parsed is None:
        raise PermissionDenied("the token given is not an API token (a token reads hzt_<id>_<secret>, as `user "
                               "token` prints it)", rule="token-wrong")
    with engine.store.read() if conn is None else nullcontext(conn) as conn:
        found = user_store.token_and_holder(conn, parsed[0])
        if found is None:
            raise PermissionDenied("the token given is not a token of any user", rule="token-wrong")
        row, holder, standing, credential_grants = found
        user = _token_holder(engine, conn, row[0], token, token_row=row, holder=(holder, standing),
                             credential_grants=credential_grants)
    if user is None:  # a token row on a database whose users' log is empty: made in the table alone
        raise PermissionDenied("the token given is not a token of any user", rule="token-wrong")
    return user


def _token_holder(engine, conn, name: str, token: str | None, token_row=None, holder=None,
                  credential_grants=None) -> Actor | None:
    """`authenticate`'s rule, in the read transaction `conn`; `token_row`, `holder` (the user's row and their
    standing grant's) and `credential_grants`: what the caller read in `conn` already (a bearer token names its
    holder, read with it)."""
    from engine.store import users as user_store
    if holder is None:
        user = user_store.get_checked(conn, name)
    else:
        user = user_store.checked_actor(conn, name, holder[0], holder[1])
    if user is None and user_store.roster_is_empty(conn):
        return None
    if not token:
        raise PermissionDenied(f"this database requires a token for every actor, and none was given for "
                               f"'{name}'", actor=name, rule="token-missing")
    parsed = credentials.parse_token(token)
    if parsed is None:
        raise PermissionDenied("the token given is not an API token (a token reads hzt_<id>_<secret>, as `user "
                               "token` prints it)", actor=name, rule="token-wrong")
    row = token_row if token_row is not None else user_store.token(conn, parsed[0])
    if row is None or row[0] != name or not credentials.token_matches(row[1], parsed[1]):
        raise PermissionDenied(f"the token given is not a token of '{name}'", actor=name, rule="token-wrong")
    if credential_grants is None:
        credential_grants = user_store.credential_grants(conn, name)
    problem = grants.token_problem(parsed[0], row, credential_grants)
    if problem:  # a token revived, copied or made in the table alone logs nobody in
        raise TamperDetected(f"{problem}; nothing was done", rule="token")
    if user is None:
        raise user_store.missing(conn, name)
    _, _, expires_at, revoked_at = row
    if revoked_at is not None:
        raise PermissionDenied(f"the token {parsed[0]} of '{name}' was revoked", actor=name, rule="token-revoked")
    if expires_at is not None and expires_at <= engine.recorded_clock.now():
        raise PermissionDenied(f"the token {parsed[0]} of '{name}' expired", actor=name, rule="token-expired")
    return user


def database_settings(engine) -> dict[str, str]:
    """The settings of the engine's database; none on a database without tables yet (before `init`)."""
    from engine.domain.grants import SETTINGS
    from engine.store import settings as setting_store
    from engine.store import users as user_store
    try:
        with engine.store.read() as conn:
            found = setting_store.get_all(conn)
            for key in SETTINGS:  # what decides who needs a token and which times are taken: as the log set them
                user_store.setting(conn, key)
            return found
    except StoreError as exc:
        if exc.rule == "no-tables":
            return {}
        raise


def grant_log(engine) -> list[Grant]:
    from engine.store import users as user_store
    with engine.store.read() as conn:
        return user_store.grants(conn)


USERS_LOG = "user-log"  # how a problem of the users' log is named among the cases' chain breaks


def users_log_breaks(conn) -> list:
    from engine.domain.events import ChainBreak
    return [ChainBreak(USERS_LOG, seq, problem) for seq, problem in verify_log(conn)]


def verify_log(conn) -> list[tuple[int, str]]:
    """Every problem of the users' log: breaks of its chain, grants that do not fit, tables that disagree."""
    from engine.store import users as user_store
    log = user_store.grants(conn)
    problems = grants.verify_grants(log, head=user_store.head(conn))
    roster, misfits = grants.fold(log)
    last = log[-1].seq if log else 0
    return problems + misfits + [(last, p) for p in grants.compare(roster, **user_store.projection(conn))]


def adopt_unlogged_users(unit) -> int:
    """Write an `add` grant for every user the table holds and the users' log does not (the first release
    kept users without a log): signed by `system`, dated when the user was registered. Returns how many."""
    from engine.store import users as user_store
    found = user_store.unlogged(unit.conn)
    for name, roles, region_codes, created_at in found:
        user_store.forget_row(unit.conn, name)  # the grant writes the row again, as its projection
        _append(unit, actor="system", action="add", subject=name, roles=tuple(r for r in roles.split(",") if r),
                regions=tuple(r for r in region_codes.split(",") if r), at=created_at,
                data={"adopted": "registered before the users' log existed (an earlier release)"})
    return len(found)
