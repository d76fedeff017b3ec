"""Who acts: a registered user's name, roles and region code prefixes (a value the store reads and rules judge)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]
