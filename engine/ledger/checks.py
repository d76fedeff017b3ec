"""The engine's checks of a ledger row, after the reader's own: vocabularies, region codes, who may import it, and
no date later than the import's time. Pure: the importer passes in the acting user and the time.

Who may import (`IMPORT_ROLES`): a supervising department or a safety committee, for the rows within its
regions; an enterprise, for its own ledger only, which means every row lies in the enterprise user's regions
and every row names one and the same enterprise (the one most of the sheet's rows name; for a user bound to an
enterprise, that enterprise). A ledger of several enterprises is a department's to import. A row outside these bounds is a problem of that row, as a bad value
is; the import then exits as permission denied rather than as bad input.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from engine.domain import regions, vocabularies
from engine.domain.clock import iso_seconds
from engine.domain.enterprises import acts_for
from engine.domain.errors import PermissionDenied
from engine.ledger.history import instant
from engine.domain.machine import Actor

IMPORT_ROLES = ("supervisor", "committee", "enterprise")
OWN_LEDGER_ROLE = "enterprise"
NOT_AFTER_NOW = ("found_at", "assigned_at", "rectified_at", "verified_at", "closed_at")  # a deadline may lie ahead


def import_role(actor: Actor) -> str:
    """The role `actor` imports in (a department's before an enterprise's), or PermissionDenied."""
    for role in IMPORT_ROLES:
        if role in actor.roles:
            return role
    raise PermissionDenied(f"{actor.name} (role {', '.join(actor.roles) or 'none'}) may not import a ledger; allowed "
                           f"roles: supervisor, committee, enterprise (its own ledger)", actor=actor.name, rule="role")


class RowChecker:
    """Checks rows for one import: built once, so per row it only looks up."""

    def __init__(self, *, actor: Actor, role: str, now: datetime, headers: dict, rows: list):
        self.actor, self.role, self.now = actor, role, now
        self.headers = headers  # field -> the sheet's header for it
        self.sources, self.industries = vocabularies.sources(), vocabularies.industries()
        self._known_regions: dict[str, bool] = {}
        self._terms: dict[tuple, str | None] = {}  # (kind, word) -> term: a ledger repeats a few words
        self.own = None
        if role == OWN_LEDGER_ROLE and actor.enterprise is None:  # a bound user's own is their enterprise
            names = Counter(r.values.get("enterprise") for r in rows if r.valid)
            self.own = names.most_common(1)[0][0] if names else None

    def label(self, field: str) -> str:
        return self.headers.get(field) or f"{field} (the value for every row)"

    def check(self, values: dict) -> tuple[list[str], bool]:
        """The problems of one row the reader found valid, and whether one of them is about permission."""
        problems, permission = [], False
        for field, vocabulary in (("source", self.sources), ("industry", self.industries)):
            if self._term(vocabulary, values[field]) is None:
                problems.append(f"{self.label(field)}: '{values[field][:40]}' is not a known {field} (one of: "
                                f"{', '.join(vocabulary.choices()[:12])}{', ...' if len(vocabulary.terms) > 12 else ''})")
        region = values["region"]
        known = self._known_regions.get(region)
        if known is None:
            known = self._known_regions[region] = regions.known(region)
        if not known:
            problems.append(f"{self.label('region')}: {region} is not a known administrative division code")
        if not any(region.startswith(p) for p in self.actor.regions):
            problems.append(f"{self.label('region')}: {region} is outside {self.actor.name}'s regions "
                            f"({', '.join(self.actor.regions) or 'none'})")
            permission = True
        if not acts_for(self.actor.enterprise, values["enterprise"], values):
            problems.append(f"{self.label('enterprise')}: {self.actor.name} acts for {self.actor.enterprise} only; "
                            f"the row names {values['enterprise'][:60]}")
            permission = True
        elif self.own is not None and values["enterprise"] != self.own:
            problems.append(f"{self.label('enterprise')}: an enterprise imports its own ledger only; this one is "
                            f"{self.own}'s, the row names {values['enterprise'][:60]}")
            permission = True
        for field in NOT_AFTER_NOW:
            text = values.get(field)
            if text and instant(text) > self.now:
                problems.append(f"{self.label(field)} {text} is later than the import's time {iso_seconds(self.now)}")
        return problems, permission

    def canonical(self, values: dict) -> dict:
        """The row's values with source and industry as the vocabulary's terms (what cases are counted by)."""
        return {**values, "source": self._term(self.sources, values["source"]),
                "industry": self._term(self.industries, values["industry"])}

    def _term(self, vocabulary, word: str) -> str | None:
        key = (vocabulary.kind, word)
        found = self._terms.get(key)
        if found is None:
            found = self._terms[key] = vocabulary.resolve(word)
        return found
