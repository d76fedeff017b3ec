"""Credentials, pure: API tokens and passwords, made and checked without the database or the clock.

Tokens are `hzt_<id>_<secret>`: the id (12 hex digits) is public and names the token in the log and in
`hazard user revoke`; the secret is 32 random bytes. The store keeps only SHA-256 of the secret. A fast
hash is right here, unlike for passwords: 256 random bits cannot be guessed however fast each guess is,
and no two secrets are alike, so neither a salt nor a slow hash would add anything but the time every
command would then spend (argon2 costs tens of milliseconds a check; SHA-256 a microsecond).

Passwords are chosen by people and guessable, so they get argon2id (argon2-cffi, its RFC 9106 low-memory
profile: a salt per password, 64 MiB and 3 passes a hash).

The users' log keeps neither a token hash nor a password hash, only `digest(stored)`, a SHA-256 of what the
store holds: enough for `audit verify` to prove the stored credential is the one the log granted, while an
old password's hash does not stay readable in the log after it is changed.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from engine.domain.errors import InvalidInput

TOKEN_PREFIX = "hzt"
_TOKEN = re.compile(r"^hzt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
PASSWORD_MIN = 8      # NIST SP 800-63B's floor for a chosen password
PASSWORD_MAX = 256    # long enough for any passphrase; bounds the work a hash is asked to do


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    text: str = field(repr=False)          # shown to the user once, never stored
    stored_hash: str = field(repr=False)   # what the store keeps


def issue_token() -> IssuedToken:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedToken(token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}", token_hash(secret))


def parse_token(text: str | None) -> tuple[str, str] | None:
    """(id, secret) of a token as a user gives it, or None when it is not one of ours."""
    found = _TOKEN.fullmatch((text or "").strip())
    return (found.group(1), found.group(2)) if found else None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_matches(stored_hash: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hash, token_hash(secret))


def digest(stored: str) -> str:
    """What the users' log keeps of a stored credential."""
    return hashlib.sha256(stored.encode()).hexdigest()


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash of nothing anyone knows, to check a password against when the user has none."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def check_password_text(password: str) -> str:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters", field="password",
                           rule="password")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise InvalidInput("a password may not contain control characters", field="password", rule="password")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(check_password_text(password))


def password_matches(stored_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError
    if not stored_hash or not isinstance(password, str) or len(password) > PASSWORD_MAX:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- the web console's sessions ------------------------------------------------------------------------------------
SESSION_PREFIX = "hzs"
_SESSION = re.compile(r"^hzs_([A-Za-z0-9_-]{43})$")
LOGIN_FREE_FAILURES = 4       # failures before log-ins of that name (or from that address) are slowed down
LOGIN_MAX_DELAY = 15 * 60     # seconds: the longest wait the growing delay reaches
LOGIN_FAILURE_WINDOW = 3600   # seconds: failures older than this are forgotten


@dataclass(frozen=True)
class IssuedSession:
    cookie: str = field(repr=False)        # the cookie's value: shown to the browser once, never stored
    stored_hash: str = field(repr=False)   # what the store keeps
    csrf: str = field(repr=False)          # the token every state-changing form of the session carries


def issue_session() -> IssuedSession:
    secret = secrets.token_urlsafe(32)
    return IssuedSession(f"{SESSION_PREFIX}_{secret}", token_hash(secret), secrets.token_urlsafe(32))


def session_hash(cookie: str | None) -> str | None:
    """The stored hash of a session cookie's value, or None when it is not one of ours."""
    found = _SESSION.fullmatch(cookie or "")
    return token_hash(found.group(1)) if found else None


def login_delay(failures: int) -> int:
    """Seconds to wait after `failures` failed log-ins in a row: none for the first few, then doubling (2, 4, 8,
    ... s) up to LOGIN_MAX_DELAY."""
    if failures <= LOGIN_FREE_FAILURES:
        return 0
    return min(2 ** (failures - LOGIN_FREE_FAILURES), LOGIN_MAX_DELAY)
