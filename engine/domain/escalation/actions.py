"""What each rung action produces: the data of its `escalate` event and, for interviews and posted
supervision, the linked case to open. Pure: the sweep writes what this returns.

- remind: a warning to the responsible party, yellow before the deadline and red from it on.
- notice: a naming notice (通报, or 实名通报 with `kind: real_name`) that goes into the next bulletin.
- interview: a summons interview (约谈) of the person named by the `summon` field, as a linked case of the
  `interview` workflow (its own clocks: held within a week, written follow-up within 5 working days).
- post_supervision: posted supervision (挂牌督办) by the `authority` level, as a linked case with its own
  `deadline`; the hazard's close transition can require it to be de-listed first (`no_open_linked`).
- expose: public exposure (公开曝光): flags the case `exposed`.
- suspend: an order to suspend production (责令停产停业整顿): flags the case `suspended` until a transition
  that `lifts: [suspended]` (verification) clears it.
A rung with `decided_by` is an administrative decision: the sweep only proposes it, and this outcome is what
an approval (`hazard case decide CASE RUNG approve`) carries out, at the moment of the decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.domain.case import Case
from engine.domain.clock import iso, local_date
from engine.domain.definition.model import LINKED_ACTIONS, Rung
from engine.domain.definition.parse import parse_duration

NOTICE_KINDS = {"notice": "通报", "real_name": "实名通报"}
# What a sweep's decision makes of a rung (engine.domain.escalation.ladder.triage): fired, proposed to the people who
# decide it (`decided_by`; `hazard case decide` then carries it out or declines it), or skipped as missed.
STATUS = {"fire": "fired", "propose": "proposed", "skip": "skipped"}


@dataclass(frozen=True)
class LinkedCase:
    workflow: str
    title: str
    fields: dict


@dataclass(frozen=True)
class Outcome:
    data: dict
    linked: LinkedCase | None = None


def outcome(case: Case, rung: Rung, *, cycle: int, due_at: datetime, decision: str, now: datetime,
            sweep_id: str, calendar=None) -> Outcome:
    data = {"clock": rung.clock, "cycle": cycle, "rung": rung.name, "action": rung.action,
            "status": STATUS[decision], "due_at": iso(due_at),
            "late_seconds": round(max((now - due_at).total_seconds(), 0.0), 3), "sweep": sweep_id}
    if rung.label:
        data["label"] = rung.label
    if decision == "propose":
        data["decided_by"] = list(rung.decided_by)
    if decision != "fire":
        return Outcome(data)
    action = rung.action
    if action == "remind":
        data["level"] = rung.param("level") or ("yellow" if rung.offset_days < 0 else "red")
    elif action == "notice":
        kind = rung.param("kind") or "notice"
        data["kind"] = kind
        data["kind_label"] = NOTICE_KINDS.get(kind, kind)
    elif action == "expose":
        data["flags"] = ["exposed"]
    elif action == "suspend":
        data["flags"] = ["suspended"]
    elif action == "interview":
        summon = rung.param("summon")
        person = case.fields.get(summon) if summon else None
        fields = {"summoned": person or case.enterprise}
        return Outcome(data, LinkedCase(rung.param("workflow") or LINKED_ACTIONS[action][1], f"约谈: {case.title}", fields))
    elif action == "post_supervision":
        fields = {"authority": rung.param("authority") or "city"}
        duration = parse_duration(rung.param("deadline") or "")
        if duration is not None:
            start = local_date(now)
            if duration.working and calendar is not None:
                day, _ = calendar.add_working_days(start, duration.days)
            else:
                day = start + timedelta(days=duration.days)
            fields["deadline"] = day.isoformat()
        return Outcome(data, LinkedCase(rung.param("workflow") or LINKED_ACTIONS[action][1], f"挂牌督办: {case.title}", fields))
    return Outcome(data)
