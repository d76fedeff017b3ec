"""Who may act and where: the users' log (`user_grant`) and its projection, the users, tokens and passwords.

`record` appends a sealed grant and applies it to the tables in the caller's transaction, mirroring
`engine.domain.grants.apply`; `audit verify` folds the log and compares (`projection`). A disabled user's row
leaves `app_user` (the table is who may act); the log keeps them, and an `enable` writes the row again.
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from engine.domain.credentials import digest
from engine.domain.errors import PermissionDenied, TamperDetected
from engine.domain.grants import Grant, bound
from engine.domain.actor import Actor
from engine.store import settings as setting_store
from engine.store.prepared import Prepared
from engine.store.tables import STANDING_ACTIONS, user_grants, user_passwords, user_tokens, users

_COLUMNS = (users.c.name, users.c.roles, users.c.regions, users.c.enterprise)
_GET = Prepared(select(*_COLUMNS).where(users.c.name == bindparam("name")))
_TOKEN = Prepared(select(user_tokens.c.user_name, user_tokens.c.token_hash, user_tokens.c.expires_at,
                         user_tokens.c.revoked_at).where(user_tokens.c.id == bindparam("id")))


def _actor(name: str, roles: str, regions: str, enterprise: str | None) -> Actor:
    return Actor(name, _split(roles), _split(regions), enterprise or None)


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def get(conn: Connection, name: str) -> Actor | None:
    row = _GET.first(conn, {"name": name})
    return None if row is None else _actor(*row)


def get_checked(conn: Connection, name: str) -> Actor | None:
    """`get`, checked against the users' log (`checked_actor`)."""
    return checked_actor(conn, name, get(conn, name))


def all_users(conn: Connection) -> list[Actor]:
    rows = conn.execute(select(*_COLUMNS).order_by(users.c.name))
    return [_actor(*r) for r in rows]


def missing(conn: Connection, name: str) -> PermissionDenied:
    """Why `name` may not act, when it is not in the users table: never registered, or disabled."""
    known = conn.execute(select(exists().where(user_grants.c.subject == name,
                                               user_grants.c.action == "add"))).scalar()
    if known:
        return PermissionDenied(f"user '{name}' is disabled", actor=name, rule="disabled")
    return PermissionDenied(f"'{name}' is not a registered user", actor=name, rule="registered")


def roster_is_empty(conn: Connection) -> bool:
    """No user was ever added (a table of users from before the log counts too): the first may bootstrap."""
    return not conn.execute(select(exists().where(user_grants.c.action == "add"))).scalar() \
        and not conn.execute(select(exists().select_from(users))).scalar()


# -- the log ---------------------------------------------------------------------------------------------------
def head(conn: Connection) -> tuple[int, str] | None:
    """The (seq, hash) of the last grant, as the settings row says."""
    value = setting_store.get(conn, setting_store.HEAD)
    if not value:
        return None
    seq, _, hash_ = value.partition(":")
    return (int(seq), hash_) if seq.isdigit() else (-1, value)  # an edited head still compares (unequal)


def grants(conn: Connection) -> list[Grant]:
    return [_grant(tuple(r)) for r in conn.execute(select(user_grants).order_by(user_grants.c.seq))]


def record(conn: Connection, grant: Grant, *, stored: str | None = None) -> None:
    """Append `grant` and apply it to the tables; `stored` is the token's or password's hash it grants."""
    conn.execute(insert(user_grants), [{
        "seq": grant.seq, "actor": grant.actor, "action": grant.action, "subject": grant.subject,
        "roles": ",".join(grant.roles), "regions": ",".join(grant.regions), "at": grant.at,
        "recorded_at": grant.recorded_at, "data": grant.data, "prev_hash": grant.prev_hash, "hash": grant.hash}])
    setting_store.put(conn, setting_store.HEAD, f"{grant.seq}:{grant.hash}")
    name, data = grant.subject, grant.data
    values = {"roles": ",".join(grant.roles), "regions": ",".join(grant.regions), "enterprise": bound(grant)}
    if grant.action == "add":
        conn.execute(insert(users), [{"name": name, "created_at": grant.at, **values}])
    elif grant.action == "change":
        conn.execute(update(users).where(users.c.name == name), values)
    elif grant.action == "disable":
        conn.execute(delete(users).where(users.c.name == name))
    elif grant.action == "enable":  # the row comes back as the log first added it (the fold keeps that date)
        added = conn.execute(select(user_grants.c.at).where(user_grants.c.subject == name,
                                                            user_grants.c.action == "add")).scalar()
        conn.execute(insert(users), [{"name": name, "created_at": added, **values}])
    elif grant.action == "token":
        conn.execute(insert(user_tokens), [{"id": data["token"], "user_name": name, "token_hash": stored,
                                            "created_at": grant.recorded_at, "expires_at": _expires(data)}])
    elif grant.action == "revoke":
        conn.execute(update(user_tokens).where(user_tokens.c.id.in_(data["tokens"]),
                                               user_tokens.c.revoked_at.is_(None)),
                     {"revoked_at": grant.recorded_at})
    elif grant.action == "password":
        if not conn.execute(update(user_passwords).where(user_passwords.c.name == name),
                            {"password_hash": stored, "set_at": grant.recorded_at}).rowcount:
            conn.execute(insert(user_passwords), [{"name": name, "password_hash": stored,
                                                   "set_at": grant.recorded_at}])
    elif grant.action == "setting":  # a secret's grant keeps its digest; the table keeps the secret (`stored`)
        setting_store.put(conn, name, stored if stored is not None else str(data["value"]))
    elif grant.action == "contact":
        from engine.store import notifications as notification_store
        notification_store.put_contact(conn, name, data)


def _expires(data: dict):
    from datetime import datetime
    return datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None


# -- what the log says of one user, token or setting (checked when they are loaded) --------------------------------
# Prepared statements take no expanding IN: the actions are spelled out as equalities.
_STANDING = Prepared(select(user_grants).where(user_grants.c.subject == bindparam("name"),
                                                or_(*(user_grants.c.action == a for a in STANDING_ACTIONS)))
                     .order_by(user_grants.c.seq.desc()).limit(1))
_CREDENTIALS = Prepared(select(user_grants).where(user_grants.c.subject == bindparam("name"),
                                                   or_(user_grants.c.action == "token", user_grants.c.action == "revoke"))
                        .order_by(user_grants.c.seq))
_SETTING = Prepared(select(user_grants).where(user_grants.c.subject == bindparam("key"),
                                               user_grants.c.action == "setting")
                    .order_by(user_grants.c.seq.desc()).limit(1))


def _grant(row: tuple) -> Grant:
    """A grant from a row of `select(user_grants)` (the table's column order)."""
    seq, actor, action, subject, roles, regions, at, recorded_at, data, prev_hash, hash_ = row
    return Grant(seq, actor, action, subject, _split(roles), _split(regions), at, recorded_at, data or {},
                 prev_hash, hash_)


def standing_seq(subject):
    """The seq of the last grant that made `subject` (a bind parameter, or a column of the enclosing query) who
    they are: what a query reading a user with something else joins to get the row `checked_actor` takes."""
    later = user_grants.alias("standing_grant")
    return select(func.max(later.c.seq)).where(
        later.c.subject == subject, or_(*(later.c.action == a for a in STANDING_ACTIONS))).scalar_subquery()


def standing(conn: Connection, name: str) -> Grant | None:
    """The last grant that made `name` who they are (added, changed, disabled or enabled)."""
    row = _STANDING.first(conn, {"name": name})
    return None if row is None else _grant(row)


def credential_grants(conn: Connection, name: str) -> list[Grant]:
    """`name`'s token grants and revocations, in order."""
    return [_grant(r) for r in _CREDENTIALS.rows(conn, {"name": name})]


_PASSWORD = Prepared(select(user_grants).where(user_grants.c.subject == bindparam("name"),
                                                user_grants.c.action == "password")
                     .order_by(user_grants.c.seq.desc()).limit(1))


def password_grant(conn: Connection, name: str) -> Grant | None:
    row = _PASSWORD.first(conn, {"name": name})
    return None if row is None else _grant(row)


def setting_grant(conn: Connection, key: str) -> Grant | None:
    row = _SETTING.first(conn, {"key": key})
    return None if row is None else _grant(row)


def setting(conn: Connection, key: str) -> str | None:
    """A database setting (`drill`, `require_token`), as the users' log granted it: a row edited, added or
    deleted outside the engine is refused (exit 10) rather than obeyed."""
    from engine.domain.grants import setting_problem
    value = setting_store.get(conn, key)
    problem = setting_problem(key, value, setting_grant(conn, key))
    if problem:
        raise TamperDetected(f"{problem}; nothing was done", rule="setting")
    return value


_READ = object()


def checked_actor(conn: Connection, name: str, actor: Actor | None, standing_row=_READ) -> Actor | None:
    """`actor` (the users table's row of `name`, None when there is none) if the users' log agrees; else
    TamperDetected: a user promoted, moved or revived in the table alone grants nothing. `standing_row`: the row of
    `name`'s standing grant (None: there is none) when the caller read it with the user (`cases.load_for`)."""
    from engine.domain.grants import account_problem
    if standing_row is _READ:
        last = standing(conn, name)
    else:
        last = None if standing_row is None else _grant(tuple(standing_row))
    problem = account_problem(name, actor, last)
    if problem:
        raise TamperDetected(f"{problem}; nothing was done", rule="user")
    return actor


# -- credentials -----------------------------------------------------------------------------------------------
def token(conn: Connection, token_id: str):
    """(user, token hash, expires_at, revoked_at) of a token, or None."""
    return _TOKEN.first(conn, {"id": token_id})


# A token, its holder's row and the last grant of the users' log that made them who they are, in one round trip:
# every request of the HTTP API checks all three (engine.app.accounts.authenticate_bearer).
_CREDENTIAL = user_grants.alias("credential")
# One row per token or revoke grant of the holder (one row with NULLs there if none): the token, its holder, the
# standing grant and what `grants.token_problem` checks the token against, in one round trip.
_TOKEN_HOLDER = Prepared(
    select(user_tokens.c.user_name, user_tokens.c.token_hash, user_tokens.c.expires_at, user_tokens.c.revoked_at,
           *_COLUMNS, *user_grants.c, *_CREDENTIAL.c)
    .select_from(user_tokens.outerjoin(users, users.c.name == user_tokens.c.user_name)
                 .outerjoin(user_grants, user_grants.c.seq == standing_seq(user_tokens.c.user_name))
                 .outerjoin(_CREDENTIAL, and_(_CREDENTIAL.c.subject == user_tokens.c.user_name,
                                              or_(_CREDENTIAL.c.action == "token", _CREDENTIAL.c.action == "revoke"))))
    .where(user_tokens.c.id == bindparam("id")).order_by(_CREDENTIAL.c.seq))
_GRANT_WIDTH = len(user_grants.c)


def token_and_holder(conn: Connection, token_id: str):
    """(the token's row as `token` gives it, its holder as `get` gives them, the holder's standing grant's row as
    `checked_actor` takes it, the holder's grants as `credential_grants` gives them), or None for no such token."""
    rows = _TOKEN_HOLDER.rows(conn, {"id": token_id})
    if not rows:
        return None
    row = rows[0]
    name = row[4]
    grant = row[8:8 + _GRANT_WIDTH]
    credentials = [_grant(r[8 + _GRANT_WIDTH:]) for r in rows if r[8 + _GRANT_WIDTH] is not None]
    return (tuple(row[:4]), None if name is None else _actor(*row[4:8]), None if grant[0] is None else grant,
            credentials)


def live_tokens(conn: Connection, name: str, *, at=None) -> list[str]:
    """Ids of `name`'s tokens not revoked (and, given the real time `at`, not expired then)."""
    query = select(user_tokens.c.id).where(user_tokens.c.user_name == name, user_tokens.c.revoked_at.is_(None))
    if at is not None:
        query = query.where((user_tokens.c.expires_at.is_(None)) | (user_tokens.c.expires_at > at))
    return [r[0] for r in conn.execute(query.order_by(user_tokens.c.id))]


def password_hash(conn: Connection, name: str) -> str | None:
    row = conn.execute(select(user_passwords.c.password_hash).where(user_passwords.c.name == name)).first()
    return None if row is None else row[0]


def projection(conn: Connection) -> dict:
    """The tables in the shape `engine.domain.grants.compare` takes."""
    from engine.domain.grants import SECRET_SETTINGS, secret_digest
    from engine.store import notifications as notification_store
    return {
        "users": {r.name: (_split(r.roles), _split(r.regions), r.created_at, r.enterprise or None)
                  for r in conn.execute(select(users))},
        "tokens": {r.id: (r.user_name, digest(r.token_hash), r.created_at, r.expires_at, r.revoked_at is not None)
                   for r in conn.execute(select(user_tokens))},
        "passwords": {r.name: digest(r.password_hash) for r in conn.execute(select(user_passwords))},
        "settings": {k: secret_digest(v) if k in SECRET_SETTINGS else v
                     for k, v in setting_store.get_all(conn).items() if k != setting_store.HEAD},
        "contacts": {name: found for name, found in notification_store.all_contacts(conn).items() if found},
    }


def unlogged(conn: Connection) -> list[tuple[str, str, str, object]]:
    """(name, roles, regions, created_at) of users in the table that the users' log never added, oldest first
    (a first-release database had users and no log)."""
    logged = {r.subject for r in conn.execute(select(user_grants.c.subject).where(user_grants.c.action == "add"))}
    rows = conn.execute(select(users.c.name, users.c.roles, users.c.regions, users.c.created_at)
                        .order_by(users.c.created_at, users.c.name))
    return [tuple(r) for r in rows if r.name not in logged]


def forget_row(conn: Connection, name: str) -> None:
    conn.execute(delete(users).where(users.c.name == name))
