"""The web console's sessions and failed log-ins, as rows (engine/app/sessions.py says the rules)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from engine.store.tables import login_failures, web_sessions


def add(conn: Connection, *, session_hash: str, user: str, credential: str, csrf: str, at: datetime,
        expires_at: datetime) -> None:
    conn.execute(insert(web_sessions).values(id=session_hash, user_name=user, credential=credential, csrf=csrf,
                                             created_at=at, seen_at=at, expires_at=expires_at))


def get(conn: Connection, session_hash: str):
    """(user, credential, csrf, seen_at, expires_at) of a session, or None."""
    s = web_sessions.c
    return conn.execute(select(s.user_name, s.credential, s.csrf, s.seen_at, s.expires_at)
                        .where(s.id == session_hash)).first()


def touch(conn: Connection, session_hash: str, at: datetime) -> None:
    conn.execute(update(web_sessions).where(web_sessions.c.id == session_hash).values(seen_at=at))


def end(conn: Connection, session_hash: str) -> int:
    return conn.execute(delete(web_sessions).where(web_sessions.c.id == session_hash)).rowcount


def end_all_of(conn: Connection, user: str) -> int:
    return conn.execute(delete(web_sessions).where(web_sessions.c.user_name == user)).rowcount


def end_stale(conn: Connection, *, idle_before: datetime, now: datetime) -> int:
    s = web_sessions.c
    return conn.execute(delete(web_sessions).where((s.seen_at < idle_before) | (s.expires_at <= now))).rowcount


def failures(conn: Connection, keys: list[str]) -> dict[str, tuple[int, datetime]]:
    f = login_failures.c
    return {r[0]: (r[1], r[2]) for r in conn.execute(select(f.key, f.failures, f.last_at).where(f.key.in_(keys)))}


def record_failure(conn: Connection, key: str, *, count: int, at: datetime) -> None:
    f = login_failures.c
    if conn.execute(update(login_failures).where(f.key == key).values(failures=count, last_at=at)).rowcount == 0:
        conn.execute(insert(login_failures).values(key=key, failures=count, last_at=at))


def forget_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.key == key))
