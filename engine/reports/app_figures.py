"""Where a report's numbers come from (*app*): today's register in SQL, or the events folded as of a moment.

`Figures(engine, at=T)` answers from the register with the GROUP BY of engine/store/reports.py, looking at
each row as of `T`; `Figures(engine, at=T, replayed=True)` folds every hazard in scope from its events as of
`T` (as `hazard case list --as-of` does) and applies the same rules in Python (engine/reports/tally.py).
Both answer the same questions, so a report is written once and runs either way. `basis` is what counts as
rectified (the report definition's `counts_as_rectified`: `rectified` or `accepted`), in every answer.
"""
from __future__ import annotations

from datetime import datetime
from itertools import groupby

from engine.domain.case import Case
from engine.reports.figures import Counts
from engine.reports.tally import CaseScope, overdue_at, rectified_by, tally
from engine.domain.replay import replay


class Figures:
    def __init__(self, engine, *, at: datetime, replayed: bool = False, basis: str = "rectified"):
        self.engine, self.at, self.replayed, self.basis = engine, at, replayed, basis
        self._folded: dict[CaseScope, list[Case]] = {}

    def _read(self):
        return self.engine.store.read()

    def cases_as_of(self, scope: CaseScope) -> list[Case]:
        """The hazards in scope as they stood at `at`, folded from their events.

        The fold is kept per region (with its industries and tag): a report asks several scopes of one region
        (a period and the one before, major hazards only, each week of a campaign) and each is a filter of it.
        """
        wide = CaseScope(region=scope.region, industries=scope.industries, tag=scope.tag, reach=scope.reach)
        found = self._folded.get(wide)
        if found is None:
            from engine.store import reports as report_store
            registry = self.engine.registry
            found = []
            with self._read() as conn:
                definition_for = lambda name, version: registry.loaded(conn, name, version).definition  # noqa: E731
                stream = report_store.hazard_events(conn, wide, as_of=self.at)
                for _, log in groupby(stream, key=lambda e: e.case_id):
                    case = replay(log, definition_for, as_of=self.at)
                    if case is not None and wide.matches(case):
                        found.append(case)
            self._folded[wide] = found
        return [case for case in found if scope.matches(case)]

    def counts(self, scope: CaseScope, columns: tuple[str, ...]) -> dict[tuple, Counts]:
        if self.replayed:
            return tally(self.cases_as_of(scope), columns=columns, at=self.at, basis=self.basis)
        from engine.store import reports as report_store
        with self._read() as conn:
            return report_store.counts(conn, scope, columns=columns, at=self.at, basis=self.basis)

    def open_hazards(self, scope: CaseScope, *, overdue_only: bool) -> list[Case]:
        if self.replayed:
            test = overdue_at if overdue_only else (lambda case, at, basis: not rectified_by(case, at, basis))
            found = [case for case in self.cases_as_of(scope) if test(case, self.at, self.basis)]
            return sorted(found, key=lambda case: (case.due_at is None, case.due_at or self.at, case.region, case.id))
        from engine.store import reports as report_store
        with self._read() as conn:
            return report_store.open_hazards(conn, scope, at=self.at, overdue_only=overdue_only, basis=self.basis)

    def found_regions(self, scope: CaseScope) -> set[str]:
        if self.replayed:
            return {case.region for case in self.cases_as_of(scope)}
        from engine.store import reports as report_store
        with self._read() as conn:
            return report_store.found_regions(conn, scope)

    def major_enterprises(self, scope: CaseScope) -> list[tuple[str, str, int, int]]:
        """(county code, enterprise, major hazards, rectified) per enterprise with a major hazard in scope."""
        if self.replayed:
            counted = tally([case for case in self.cases_as_of(scope) if case.level == "major"],
                            columns=("region", "enterprise"), at=self.at, basis=self.basis)
            return [(region, enterprise, n.found, n.rectified) for (region, enterprise), n in counted.items()]
        from engine.store import reports as report_store
        with self._read() as conn:
            return report_store.major_enterprises(conn, scope, at=self.at, basis=self.basis)
