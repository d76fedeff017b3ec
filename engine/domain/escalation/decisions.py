"""Decisions people take on a case, folded from its events: the sanctions a ladder proposes and the deadline
extensions applied for. Pure: `engine.domain.case.apply` calls `fold` for every event.

A case's `decisions` is a plain dict, so it lives in the case row as JSON and is compared after replay:
- `proposals`: one entry per rung that raised a proposal, keyed `clock/cycle/rung`, with `status` proposed
  (awaiting a decision), approved or declined (by whom, when, why), or lapsed (its clock stopped first: the
  hazard was rectified, the case closed or voided, before anyone decided);
- `extension`: the pending extension application, if any (until, previous deadline, reason, who applied, when,
  by when it is to be decided);
- `extensions`: every decided application, oldest first, with the decision (an extension made at once by a
  definition that has no `decided_by` for extensions is recorded here as approved by whoever made it);
- `void`: who voided the case, when and why.
Times are UTC ISO text, as the clocks keep them, so a projection and its replay write the same bytes.
"""
from __future__ import annotations

from datetime import timezone

from engine.domain.definition import EXTENSION

PENDING = "proposed"


def key(clock: str, cycle: int, rung: str) -> str:
    return f"{clock}/{cycle}/{rung}"


def pending_proposals(decisions: dict) -> list[dict]:
    """The proposals still awaiting a decision, oldest first."""
    found = [p for p in (decisions.get("proposals") or {}).values() if p["status"] == PENDING]
    return sorted(found, key=lambda p: (p["proposed_at"], p["clock"], p["cycle"], p["rung"]))


def has_pending(decisions: dict) -> bool:
    """Whether a decision awaits someone: a proposal not yet decided, or an extension application (the case row's
    `pending_decision` column, which 我的待办 reads the cases with decisions by)."""
    return bool(pending_proposals(decisions)) or decisions.get("extension") is not None


def pending_for(decisions: dict, rung: str) -> dict | None:
    """The pending proposal of the rung named `rung` (of its newest cycle), if any."""
    found = [p for p in pending_proposals(decisions) if p["rung"] == rung]
    return max(found, key=lambda p: p["cycle"]) if found else None


def original_deadline(decisions: dict, current: str | None) -> str | None:
    """The deadline before any extension: the first approved extension's previous deadline, or the current one."""
    for extension in decisions.get("extensions") or ():
        if extension["status"] == "approved":
            return extension.get("previous") or current
    return current


def fold(decisions: dict, event, clocks_after: dict, *, ends: bool) -> dict:
    """`decisions` after `event`; `clocks_after` are the case's clocks after it, `ends` whether the event ends
    the case (a final state, or voided). The very same dict comes back when nothing changed."""
    trigger, data = event.trigger, event.data
    if not decisions and trigger == "escalate" and data.get("status") != PENDING:
        return decisions  # a rung fired or skipped on a case with nothing to decide: nothing to fold, nothing lapses
    result = decisions
    at = _utc(event)
    if trigger == "escalate" and data.get("status") == PENDING:
        proposals = dict(result.get("proposals") or {})
        proposals[key(data["clock"], data["cycle"], data["rung"])] = {
            "clock": data["clock"], "cycle": data["cycle"], "rung": data["rung"], "action": data.get("action"),
            "label": data.get("label", ""), "due_at": data.get("due_at"), "proposed_at": at,
            "decided_by": list(data.get("decided_by") or ()), "status": PENDING}
        result = {**result, "proposals": proposals}
    elif trigger == "decide" and data.get("rung") == EXTENSION:
        pending = result.get("extension")
        if pending is not None:
            status = "approved" if data.get("decision") == "approve" else "declined"
            decided = {**pending, "status": status, "by": event.actor, "at": at, "decision_reason": data.get("reason")}
            result = {k: v for k, v in result.items() if k != "extension"}
            result["extensions"] = [*(result.get("extensions") or ()), decided]
    elif trigger == "decide":
        name = key(data.get("clock"), data.get("cycle"), data.get("rung"))
        proposal = (result.get("proposals") or {}).get(name)
        if proposal is not None and proposal["status"] == PENDING:
            status = "approved" if data.get("decision") == "approve" else "declined"
            ruled = {**proposal, "status": status, "by": event.actor, "at": at, "reason": data.get("reason")}
            if data.get("linked_case"):
                ruled["linked_case"] = data["linked_case"]
            proposals = {**result["proposals"], name: ruled}
            result = {**result, "proposals": proposals}
    elif trigger == "extend" and data.get("application"):
        result = {**result, "extension": {
            "clock": data.get("clock"), "until": data.get("until"), "previous": data.get("previous"),
            "reason": data.get("reason"), "applied_by": event.actor, "applied_at": at,
            "decide_by": data.get("decide_by"), "decided_by": list(data.get("decided_by") or ())}}
    elif trigger == "void":
        result = {**result, "void": {"by": event.actor, "at": at, "reason": data.get("reason")}}
    elif trigger == "extend":
        result = {**result, "extensions": [*(result.get("extensions") or ()), {
            "clock": data.get("clock"), "until": data.get("until"), "previous": data.get("previous"),
            "reason": data.get("reason"), "applied_by": event.actor, "applied_at": at, "status": "approved",
            "by": event.actor, "at": at, "decision_reason": None}]}
    return _lapse(result, clocks_after, ends, at)


def _lapse(decisions: dict, clocks: dict, ends: bool, at: str) -> dict:
    """Proposals (and an extension application) whose clock cycle is over lapse: nothing is left to decide."""
    if not decisions:
        return decisions
    result = decisions
    proposals = result.get("proposals")
    if proposals:
        # A back-filled record may end the clock at a moment before the proposal was raised: it lapses then.
        lapsed = {name: {**p, "status": "lapsed", "at": max(at, p["proposed_at"], key=_instant)}
                  for name, p in proposals.items()
                  if p["status"] == PENDING and (ends or not _running(clocks, p["clock"], p["cycle"]))}
        if lapsed:
            result = {**result, "proposals": {**proposals, **lapsed}}
    pending = result.get("extension")
    if pending is not None and (ends or not _running(clocks, pending["clock"], None)):
        result = {k: v for k, v in result.items() if k != "extension"}
        result["extensions"] = [*(result.get("extensions") or ()),
                                {**pending, "status": "lapsed", "by": None, "at": at, "decision_reason": None}]
    return result


def _running(clocks: dict, clock: str, cycle: int | None) -> bool:
    """The clock's cycle (any, for None) is still running or paused."""
    state = clocks.get(clock)
    return state is not None and state["status"] != "stopped" and (cycle is None or state["cycle"] == cycle)


def _instant(text: str):
    from datetime import datetime
    return datetime.fromisoformat(text)


def _utc(event) -> str:
    return event.at.astimezone(timezone.utc).isoformat()


def awaiting(decisions: dict, actor, extension_deciders: tuple[str, ...]) -> list[dict]:
    """The decisions pending on a case that `actor` may take, as `engine.app.rulings` would let them: each
    proposal whose `decided_by` holds one of their roles, and an extension application when they hold a deciding
    role and did not apply for it themselves. Each a dict with `rung` (`extension` for the application)."""
    roles = set(actor.roles)
    found = [{**p, "kind": "proposal"} for p in pending_proposals(decisions) if roles & set(p.get("decided_by") or ())]
    pending = decisions.get("extension")
    if pending is not None and roles & set(extension_deciders) and pending.get("applied_by") != actor.name:
        found.append({**pending, "rung": EXTENSION, "kind": "extension", "label": "延期申请"})
    return found
