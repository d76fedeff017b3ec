"""The committee's users page, `/users`: the users (`?all=1`: the disabled too), and one form per action of
`hazard user ...`: add (roles, regions by code or name, an enterprise binding), change roles/regions/enterprise,
disable and enable, reset a password (typed twice, or a random one shown once), issue a token (shown once) and
revoke tokens.

Each form calls the same engine command as the CLI (engine.app.accounts through Commands, via web/calls.py with
the caller), so each is an event of the users' log (`hazard user log`) and `audit verify` checks it. Who may do
what is the engine's rule (a committee member over the user's regions; a user may set their own password and
tokens): a refusal is shown in the rule's words with its status (403 for a user outside the rule). The forms are
drawn for the committee only; a POST from anyone else reaches the engine and is refused there, nothing written.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from engine.domain import grants, vocabularies
from engine.domain.errors import HazardError, InvalidInput
from web import errors
from web.pages import Page, posted, signed_in

router = APIRouter(include_in_schema=False)
_SPLIT = re.compile(r"[\s,，、;；]+")


def _listing(current: Page, *, show_all: bool, status: int = 200, error: str | None = None,
             typed: dict | None = None, shown: dict | None = None, done: str | None = None):
    users = current.call.users(disabled=show_all)
    return current.render("users.html", status, users=users, show_all=show_all, error=error, typed=typed or {},
                          shown=shown, done=done, roles=list(vocabularies.roles().terms.values()),
                          may_grant=grants.GRANTING_ROLE in current.call.caller.roles,
                          bound_role=grants.BOUND_ROLE)


@router.get("/users")
async def users(request: Request, all: str | None = None, done: str | None = None):  # noqa: A002 - `--all`
    current = await signed_in(request)
    return await run_in_threadpool(lambda: _listing(current, show_all=bool(all), done=(done or "")[:200] or None))


def _roles(given: dict) -> list[str]:
    return [k[5:] for k, v in given.items() if k.startswith("role.") and v]


def _regions(given: dict) -> list[str]:
    return [r for r in _SPLIT.split(given.get("regions", "").strip()) if r]


async def _act(request: Request, act, *, done: str):
    """Run one users' command from a posted form: back to the list saying what was done, or the list with the
    engine's refusal (its status) and what was typed; `act` may return a page of its own (a secret shown once)."""
    current, given = await posted(request)
    try:
        shown = await run_in_threadpool(act, current.call, given)
    except HazardError as exc:
        given.pop("password", None), given.pop("password2", None)   # a password is never sent back
        return await run_in_threadpool(lambda: _listing(current, show_all=True, status=errors.status_of(exc),
                                                        error=exc.message, typed=given))
    if shown is not None:
        return await run_in_threadpool(lambda: _listing(current, show_all=True, shown=shown))
    return RedirectResponse("/users?all=1&done=" + quote(done), status_code=303)


@router.post("/users/add")
async def add(request: Request):
    def act(call, given):
        enterprise = given.get("enterprise", "").strip() or None
        call.add_user(given.get("name", "").strip(), roles=_roles(given), regions=_regions(given),
                      enterprise=enterprise)
    return await _act(request, act, done="已添加用户")


@router.post("/users/{name}/change")
async def change(request: Request, name: str):
    def act(call, given):
        enterprise = "" if given.get("unbind") else (given.get("enterprise", "").strip() or None)
        call.change_user(name, roles=_roles(given) or None, regions=_regions(given) or None, enterprise=enterprise)
    return await _act(request, act, done=f"已修改 {name}")


@router.post("/users/{name}/disable")
async def disable(request: Request, name: str):
    return await _act(request, lambda call, _given: call.disable_user(name) and None, done=f"已停用 {name}")


@router.post("/users/{name}/enable")
async def enable(request: Request, name: str):
    return await _act(request, lambda call, _given: call.enable_user(name) and None, done=f"已启用 {name}")


@router.post("/users/{name}/password")
async def password(request: Request, name: str):
    def act(call, given):
        if given.get("mode") == "generate":
            chosen = secrets.token_urlsafe(12)   # 16 characters, shown once on the answer and stored only hashed
            call.set_password(name, chosen)
            return {"kind": "password", "user": name, "secret": chosen}
        typed, again = given.get("password", ""), given.get("password2", "")
        if typed != again:
            raise InvalidInput("the two passwords differ: type the same password twice", field="password",
                               rule="confirm")
        call.set_password(name, typed)
        return None
    return await _act(request, act, done=f"已重设 {name} 的密码")


@router.post("/users/{name}/token")
async def token(request: Request, name: str):
    def act(call, given):
        days = given.get("expires", "").strip()
        if days and not (days.isdigit() and len(days) < 6):
            raise InvalidInput(f"expires: '{days[:20]}' is not a number of days", field="expires", rule="bounds")
        issued, expires_at = call.issue_token(name, expires_days=int(days) if days else None)
        return {"kind": "token", "user": name, "secret": issued.text, "id": issued.token_id,
                "expires_at": expires_at}
    return await _act(request, act, done="")


@router.post("/users/{name}/revoke")
async def revoke(request: Request, name: str):
    def act(call, given):
        call.revoke_tokens(name, token_id=given.get("token_id", "").strip() or None)
    return await _act(request, act, done=f"已吊销 {name} 的令牌")
