"""What a user may see and act on: the cases of their regions and, for a user bound to an enterprise, of that
enterprise only. One rule for reads and writes alike.

Reads take the reader (`actor=NAME` on every read of the application): a case outside the reader's `Reach` is not
found (the same NotFound as a case that does not exist) and is absent from every list, count, report and export;
the store writes the same rule as SQL (`engine.store.case_search.within_reach`) over the case as it stands today.
Writes: the region is the definitions' `in_region` guard; the enterprise binding holds for every command on a
case whatever its workflow says (`check_acts_for`, called where a command loads its case and its actor, and
where a case is reported).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from engine.domain.actor import Actor
from engine.domain.enterprises import acts_for
from engine.domain.errors import PermissionDenied


@dataclass(frozen=True)
class Reach:
    regions: tuple[str, ...]           # region code prefixes ('37', '3717', '371721'); '' covers every region
    enterprise: str | None = None      # the bound enterprise (a name or a credit code); None: every enterprise

    @classmethod
    def of(cls, actor: Actor) -> "Reach":
        return cls(tuple(actor.regions), actor.enterprise)

    def covers(self, *, region: str, enterprise: str, fields: Mapping | None = None) -> bool:
        return any(region.startswith(p) for p in self.regions) and acts_for(self.enterprise, enterprise, fields)

    def covers_case(self, case) -> bool:
        return self.covers(region=case.region, enterprise=case.enterprise, fields=case.fields)


def check_acts_for(actor: Actor, *, case_id: str | None, enterprise: str, fields: Mapping | None = None) -> None:
    """A user bound to an enterprise acts on that enterprise's cases only (PermissionDenied, rule `enterprise`)."""
    if acts_for(actor.enterprise, enterprise, fields):
        return
    which = case_id or "a case"
    raise PermissionDenied(f"{actor.name} acts for {actor.enterprise} only: {which} is {enterprise or 'another'}'s "
                           "(rule enterprise: a user bound to an enterprise acts on its cases only)",
                           actor=actor.name, rule="enterprise")
