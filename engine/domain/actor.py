"""Who acts: a registered user's name, roles, region code prefixes and, for a user who acts for one enterprise
only, that enterprise (a value the store reads and rules judge; `engine.domain.reach` says what it covers)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    enterprise: str | None = None   # a bound enterprise user's enterprise: its name or credit code; None: unbound
