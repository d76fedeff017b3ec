"""The web console's sessions (*app*): signing in with a password, the session a browser then holds, signing out.

A session is a row of the database (engine/store/sessions.py), so every worker and every server on one
PostgreSQL knows it and a log-out ends it everywhere. The browser holds `hzs_<secret>` in a cookie; the row
keeps only the secret's SHA-256, the user, the CSRF token of the session's forms, when it was last used and
when it ends at the latest. A session ends:
- at log-out (`close`): the row is deleted, so the same cookie replayed later is refused;
- after `idle` without a request (default 30 minutes), and at the latest `lifetime` after signing in (12 hours);
- at once when the user is disabled (they leave the users table) or their password changes (the row holds the
  digest of the password they signed in with).

Log-ins are rate-limited per user name and per address (`engine.domain.credentials.login_delay`: a few
failures free, then a doubling wait, up to 15 minutes); the failures are counted in the database, so several
workers count them together, and each is logged (`hazard.web` logger) with the name and the address, never
the password. Times are the real clock's (`engine.recorded_clock`), as for tokens: no `--now` moves them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.domain import credentials
from engine.domain.actor import Actor
from engine.domain.errors import PermissionDenied

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)   # a session's last use is written at most this often
log = logging.getLogger("hazard.web")


@dataclass(frozen=True)
class Session:
    user: Actor
    csrf: str = field(repr=False)
    cookie: str | None = field(default=None, repr=False)  # only when just opened: the value to set in the cookie


def _keys(name: str, address: str | None) -> list[str]:
    keys = [f"name:{(name or '')[:200]}"]
    if address:
        keys.append(f"addr:{address[:100]}")
    return keys


def open_session(engine, name: str, password: str, *, address: str | None, now: datetime | None = None,
                 lifetime: timedelta = LIFETIME) -> Session:
    """Sign `name` in with `password` (the engine's log-in rule, `commands.login`): a new session, or
    PermissionDenied (rule `login` for a wrong name or password, `login-throttled` while the growing delay
    after repeated failures runs, `disabled` for a disabled user)."""
    from engine.app.accounts import login
    from engine.store import sessions as session_store
    from engine.store import users as user_store
    now = now or engine.recorded_clock.now()
    keys = _keys(name, address)
    with engine.store.read() as conn:
        seen = session_store.failures(conn, keys)
    for key, (count, last_at) in seen.items():
        if (now - last_at).total_seconds() > credentials.LOGIN_FAILURE_WINDOW:
            continue
        wait = credentials.login_delay(count) - (now - last_at).total_seconds()
        if wait > 0:
            log.warning("log-in refused (throttled, %s failures of %s) for %r from %s", count, key.split(":")[0],
                        name, address)
            raise PermissionDenied(f"too many failed log-ins: try again in {int(wait) + 1} seconds", actor=name,
                                   rule="login-throttled")
    try:
        user = login(engine, name, password)
    except PermissionDenied as exc:
        if exc.rule == "login":
            with engine.store.write() as conn:
                for key in keys:
                    count, last_at = seen.get(key, (0, now))
                    fresh = (now - last_at).total_seconds() <= credentials.LOGIN_FAILURE_WINDOW
                    session_store.record_failure(conn, key, count=(count if fresh else 0) + 1, at=now)
            log.warning("failed log-in for %r from %s", name, address)
        raise
    issued = credentials.issue_session()
    with engine.store.write() as conn:
        stored = user_store.password_hash(conn, user.name) or ""
        session_store.add(conn, session_hash=issued.stored_hash, user=user.name,
                          credential=credentials.digest(stored), csrf=issued.csrf, at=now, expires_at=now + lifetime)
        session_store.forget_failures(conn, keys[0])
    log.info("log-in of %r from %s", user.name, address)
    return Session(user, issued.csrf, issued.cookie)


def check_session(engine, cookie: str | None, *, now: datetime | None = None, idle: timedelta = IDLE) -> Session:
    """The session a browser's cookie names, still live; PermissionDenied (rule `session-missing`,
    `session-ended`, `session-expired`, `disabled`, `password-changed`) otherwise, the row deleted where it
    was one."""
    from engine.store import sessions as session_store
    from engine.store import users as user_store
    now = now or engine.recorded_clock.now()
    hashed = credentials.session_hash(cookie)
    if hashed is None:
        raise PermissionDenied("not signed in", rule="session-missing")
    with engine.store.read() as conn:
        row = session_store.get(conn, hashed)
        if row is None:
            raise PermissionDenied("the session has ended: sign in again", rule="session-ended")
        name, credential, csrf, seen_at, expires_at = row
        problem = None
        if seen_at + idle <= now or expires_at <= now:
            problem = PermissionDenied("the session expired: sign in again", actor=name, rule="session-expired")
        else:
            user = user_store.get_checked(conn, name)
            stored = user_store.password_hash(conn, name)
            if user is None:
                problem = user_store.missing(conn, name)
            elif stored is None or credentials.digest(stored) != credential:
                problem = PermissionDenied("the password was changed: sign in again", actor=name,
                                           rule="password-changed")
    if problem is not None:
        with engine.store.write() as conn:
            session_store.end(conn, hashed)
        raise problem
    if now - seen_at >= TOUCH_EVERY:
        with engine.store.write() as conn:
            session_store.touch(conn, hashed, now)
    return Session(user, csrf)


def close_session(engine, cookie: str | None) -> bool:
    """End the session the cookie names (log-out); whether there was one."""
    from engine.store import sessions as session_store
    hashed = credentials.session_hash(cookie)
    if hashed is None:
        return False
    with engine.store.write() as conn:
        return session_store.end(conn, hashed) > 0
