"""What checking who acts costs: a token check per command, a password log-in, against raw baselines.

    .venv/bin/python bench/bench_credentials.py [--checks 2000] [--logins 20] [--db-dir /tmp]

Engine: `Commands.authenticate(name, token)` on a SQLite file with a few users and tokens (one read
transaction: the user, the token row, SHA-256 of the secret, compared in constant time), and
`Commands.login(name, password)` (argon2id at argon2-cffi's RFC 9106 low-memory parameters).

Baselines, same process, same file: plain `sqlite3` reading the same two rows by primary key and hashing the
secret once (the floor of a token check); one bare `argon2.PasswordHasher().verify` (the floor of a log-in,
which is the hash itself on purpose).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import Engine# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.domain.credentials import parse_token# noqa: E402
from engine.store.database import Store# noqa: E402


def timed(call, times: int) -> float:
    start = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - start) / times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--db-dir", default=None)
    args = parser.parse_args()
    folder = args.db_dir or tempfile.mkdtemp(prefix="bench_credentials_")
    path = os.path.join(folder, "credentials.db")
    engine = Engine(Store(f"sqlite:///{path}", create=True), clock=FixedClock(parse_time("2026-03-02T09:00")),
                    trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    for n in range(20):
        engine.commands.add_user(f"user{n}", roles=["supervisor"], regions=["3717"], actor="li")
        engine.commands.issue_token(f"user{n}", actor="li", expires_days=30)
    issued, _ = engine.commands.issue_token("user7", actor="li")
    engine.commands.set_password("user7", "液氨储罐 2026", actor="li")

    token_id, secret = parse_token(issued.text)
    raw = sqlite3.connect(path)

    def floor_check():
        raw.execute("SELECT name, roles, regions FROM app_user WHERE name = ?", ("user7",)).fetchone()
        row = raw.execute("SELECT user_name, token_hash, expires_at, revoked_at FROM user_token WHERE id = ?",
                          (token_id,)).fetchone()
        assert row[1] == hashlib.sha256(secret.encode()).hexdigest()

    engine_check = timed(lambda: engine.commands.authenticate("user7", issued.text), args.checks)
    raw_check = timed(floor_check, args.checks)
    from argon2 import PasswordHasher
    stored = raw.execute("SELECT password_hash FROM user_password WHERE name = 'user7'").fetchone()[0]
    hasher = PasswordHasher()
    engine_login = timed(lambda: engine.commands.login("user7", "液氨储罐 2026"), args.logins)
    raw_login = timed(lambda: hasher.verify(stored, "液氨储罐 2026"), args.logins)
    print(f"token check: engine {engine_check * 1e6:,.0f} us, raw sqlite3 + sha256 {raw_check * 1e6:,.0f} us "
          f"({engine_check / raw_check:.1f}x)")
    print(f"password log-in: engine {engine_login * 1e3:,.1f} ms, bare argon2 verify {raw_login * 1e3:,.1f} ms "
          f"({engine_login / raw_login:.2f}x)")
    raw.close()
    engine.close()


if __name__ == "__main__":
    main()
