"""Who is calling: the dependency every API route takes, giving a `web.calls.Call` for the authenticated caller
(checked in the route's own thread: `in_one_thread`).

The API takes `Authorization: Bearer hzt_...`, the tokens `hazard user token` issues, checked by the engine's
token rule (the one the command line applies to HAZARD_TOKEN: live, not expired, not revoked, the user not
disabled, the users' log agreeing). Without credentials, or with credentials the engine does not take, the
answer is 401 with `WWW-Authenticate: Bearer` (`web.errors.Unauthenticated`). A page session, when the pages
bring one, is another source of the caller: `call` is the place to look for it, after the bearer token.
"""
from __future__ import annotations

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.domain.errors import InvalidInput, PermissionDenied, WriterBusy
from web import calls
from web.errors import Unauthenticated
from web.models import text_problem


# Declares the scheme in the OpenAPI document and reads `Authorization: Bearer TOKEN` (None without one, or with
# another scheme: both are "no credentials").
BEARER = HTTPBearer(auto_error=False, bearerFormat="hzt_<id>_<secret>",
                    description="A token of `hazard user token NAME`.")


SESSION_COOKIE = "hazard_session"
CSRF_HEADER = "x-csrf-token"
SAFE = ("GET", "HEAD", "OPTIONS")


async def call(request: Request,
               credentials: HTTPAuthorizationCredentials | None = Security(BEARER)) -> Pending:
    """The caller to be: said at once when there are no credentials at all (401, before a body is looked at);
    the credentials themselves are checked in the route's own thread (`in_one_thread`), which turns this into
    the route's `Call`. Async: it reads only headers, so it costs no trip to a thread. A route taking it must be
    added with `wrap=in_one_thread` (web.api.install does so for every API route): it gets a Pending otherwise.
    First of all, every query and path value must be text a database stores (`plain_text`)."""
    plain_text(request)
    if credentials is None and not request.cookies.get(SESSION_COOKIE):
        raise Unauthenticated(PermissionDenied("no credentials: send `Authorization: Bearer hzt_...` with a token "
                                               "of `user token`", rule="token-missing"))
    pending = Pending(request, credentials)
    request.scope[PENDING] = pending
    return pending


def plain_text(request: Request) -> None:
    """No control character, no lone surrogate in a query or path value (as the command line refuses them in its
    arguments): here, in the dependency every API route takes, rather than in one more of its own to solve."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        problem = text_problem(value)
        if problem:
            raise InvalidInput(f"{name} {problem}", field=name, rule="request")


PENDING = "hazard.caller"  # where a request's Pending waits, for an error handler that answers before the route


class Pending:
    """Credentials read but not yet checked. `resolve()` (blocking: it reads the database) gives the Call or
    raises Unauthenticated (401), or PermissionDenied for a page session's write without its CSRF token (403);
    once, whoever asks first: the route's thread, or the handler of a body that cannot be read (web/app.py),
    so a caller the engine does not take is 401 before their body is 400, as when this was checked first."""

    __slots__ = ("request", "credentials", "_call")

    def __init__(self, request: Request, credentials: HTTPAuthorizationCredentials | None):
        self.request, self.credentials, self._call = request, credentials, None

    def resolve(self, commands=None) -> calls.Call:
        """`commands`: bound to the write's unit of work (`one_unit`), where a bearer token is then checked."""
        if self._call is None:
            self._call = _checked(self.request, self.credentials, commands)
        return self._call


def one_unit(endpoint):
    """Marks a route whose whole work is one command: with a bearer token its caller is checked in the command's
    own transaction (`in_one_thread`), not in a read of its own before it."""
    endpoint.one_unit = True
    return endpoint


def in_one_thread(endpoint):
    """`endpoint` (a plain function: it calls the engine, which blocks) run with its caller checked first, both in
    one trip to the thread pool. FastAPI would otherwise run a plain dependency and a plain route each in a thread
    of its own: two trips, each a hand-over between threads (bench/bench_http.py).

    A `one_unit` write called with a bearer token on SQLite makes no trip at all when the database's write lock
    is free: it runs on the event loop, which it holds for the write alone (a few tenths of a millisecond; in WAL
    mode nothing in it waits for anybody once the lock is held), and the two hand-overs it saves cost more than
    that (bench/bench_http.py). When another writer holds the lock, waiting for it would stop every request of
    the worker: the write goes to the thread pool and waits its turn there. PostgreSQL writes always go there,
    as each of their statements is a round trip to the server."""
    import functools

    from starlette.concurrency import run_in_threadpool

    in_its_unit = getattr(endpoint, "one_unit", False)

    def checked_then_run(values: dict, at_once: bool = False):
        pending = [(name, value) for name, value in values.items() if isinstance(value, Pending)]
        if in_its_unit and pending and pending[0][1].credentials is not None:
            engine = pending[0][1].request.app.state.engine
            with engine.batch(at_once=at_once) as commands:  # nothing written unless all is well
                for name, value in pending:
                    values[name] = value.resolve(commands)
                return endpoint(**values)
        for name, value in pending:
            values[name] = value.resolve()
        return endpoint(**values)

    @functools.wraps(endpoint)  # FastAPI reads the parameters of `endpoint` through __wrapped__
    async def run(**values):
        if in_its_unit and _writes_on_the_loop(values):
            try:
                return checked_then_run(dict(values), at_once=True)
            except WriterBusy:
                pass  # nothing was done: wait for the other writer in a thread
        return await run_in_threadpool(checked_then_run, values)
    return run


def _writes_on_the_loop(values: dict) -> bool:
    """A bearer token's write on SQLite (a page session's write checks its session in a transaction of its own)."""
    for value in values.values():
        if isinstance(value, Pending):
            return value.credentials is not None and value.request.app.state.engine.store.dialect == "sqlite"
    return False


def _checked(request: Request, credentials: HTTPAuthorizationCredentials | None, commands=None) -> calls.Call:
    engine = request.app.state.engine
    if credentials is None:
        return _session_call(request, engine)
    try:
        caller = calls.caller_of(commands or engine.commands, credentials.credentials)
    except PermissionDenied as exc:
        raise Unauthenticated(exc) from None
    return calls.Call(engine, caller, engine.clock.now(), commands)


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
