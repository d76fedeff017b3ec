"""The daily digest (日报) of a supervisor or a committee member: what is overdue in their reach, what falls due in
the next days, what awaits their verification or their decision. Pure: the lists come in, the text goes out.

One message a day per person and channel; its key (`digest/DAY/NAME/CHANNEL`) makes a second copy impossible, so
`hazard notify digest` may run twice a morning (cron and a person) and write each message once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SHOWN = 10          # cases named per part; the rest counted
MAX_DAYS_AHEAD = 30


@dataclass(frozen=True)
class Listed:
    """A case as the digest names it."""

    case_id: str
    title: str
    enterprise: str
    deadline: str      # YYYY-MM-DD, or ""


@dataclass(frozen=True)
class Digest:
    day: date
    name: str
    overdue: tuple[Listed, ...]
    overdue_total: int
    due_soon: tuple[Listed, ...]
    due_soon_total: int
    days_ahead: int
    to_verify: int          # cases the person may verify now
    decisions: int          # proposals and extension applications awaiting the person's decision

    @property
    def empty(self) -> bool:
        return not (self.overdue_total or self.due_soon_total or self.to_verify or self.decisions)


def key(day: date, name: str, channel: str) -> str:
    return f"digest/{day.isoformat()}/{name}/{channel}"


def text(digest: Digest) -> str:
    """The digest as the inbox, an e-mail or a robot shows it: plain Chinese text, one part per line group."""
    lines = [f"【隐患日报】{digest.day.isoformat()} {digest.name}"]
    lines.extend(_part(f"逾期未整改 {digest.overdue_total} 件", digest.overdue, digest.overdue_total))
    lines.extend(_part(f"{digest.days_ahead} 日内到期 {digest.due_soon_total} 件", digest.due_soon,
                       digest.due_soon_total))
    if digest.to_verify:
        lines.append(f"待您验收 {digest.to_verify} 件")
    if digest.decisions:
        lines.append(f"待您决定 {digest.decisions} 项（处置提议、延期申请）")
    return "\n".join(lines)


def _part(head: str, listed: tuple[Listed, ...], total: int) -> list[str]:
    if not total:
        return []
    lines = [head + "："]
    for item in listed[:SHOWN]:
        deadline = f"，期限 {item.deadline}" if item.deadline else ""
        lines.append(f"  {item.case_id} {item.enterprise}：{item.title[:40]}{deadline}")
    if total > min(len(listed), SHOWN):
        lines.append(f"  …… 另有 {total - min(len(listed), SHOWN)} 件")
    return lines
