"""Who is calling: the dependency every API route takes, giving a `web.calls.Call` for the authenticated caller.

The API takes `Authorization: Bearer hzt_...`, the tokens `hazard user token` issues, checked by the engine's
token rule (the one the command line applies to HAZARD_TOKEN: live, not expired, not revoked, the user not
disabled, the users' log agreeing). Without credentials, or with credentials the engine does not take, the
answer is 401 with `WWW-Authenticate: Bearer` (`web.errors.Unauthenticated`). A page session, when the pages
bring one, is another source of the caller: `call` is the place to look for it, after the bearer token.
"""
from __future__ import annotations

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.domain.errors import PermissionDenied
from web import calls
from web.errors import Unauthenticated


# Declares the scheme in the OpenAPI document and reads `Authorization: Bearer TOKEN` (None without one, or with
# another scheme: both are "no credentials").
BEARER = HTTPBearer(auto_error=False, bearerFormat="hzt_<id>_<secret>",
                    description="A token of `hazard user token NAME`.")


SESSION_COOKIE = "hazard_session"
CSRF_HEADER = "x-csrf-token"
SAFE = ("GET", "HEAD", "OPTIONS")


def call(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(BEARER)) -> calls.Call:
    engine = request.app.state.engine
    if credentials is None and request.cookies.get(SESSION_COOKIE):
        return _session_call(request, engine)
    if credentials is None:
        raise Unauthenticated(PermissionDenied("no credentials: send `Authorization: Bearer hzt_...` with a token "
                                               "of `user token`", rule="token-missing"))
    try:
        caller = calls.caller_of(engine, credentials.credentials)
    except PermissionDenied as exc:
        raise Unauthenticated(exc) from None
    return calls.Call(engine, caller, engine.clock.now())


def _session_call(request: Request, engine) -> calls.Call:
    """A page session (the cookie of /login) calling the API: the same user; a write needs the session's CSRF
    token in `X-CSRF-Token` (403 without it), as a form needs it in its `csrf` field."""
    import hmac
    try:
        session = calls.session_of(engine, request.cookies.get(SESSION_COOKIE), idle=request.app.state.session_idle)
    except PermissionDenied as exc:
        raise Unauthenticated(exc) from None
    if request.method not in SAFE:
        token = request.headers.get(CSRF_HEADER, "")
        if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
            raise PermissionDenied("a write with a page session needs its CSRF token in X-CSRF-Token",
                                   actor=session.user.name, rule="csrf")
    return calls.Call(engine, session.user, engine.clock.now())
