"""The register's filters as offices search it, checked once and applied alike to today's rows and replays.

`CaseFilter.of(...)` reads what a user typed (dates, region codes, vocabulary words, a sort key) and refuses
what cannot be read with InvalidInput; the store turns a filter into SQL over the register
(`engine/store/case_search.py`), and `matches` applies the same filter to a case replayed as of a moment.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields
from datetime import date, datetime

from engine.domain.case import Case
from engine.domain.clock import end_of_day, local_date, parse_day, start_of_day
from engine.domain.errors import InvalidInput
from engine.domain import regions, vocabularies
from engine.domain.reach import Reach

SORTABLE = ("id", "found_at", "deadline", "due_at", "state", "level", "region", "enterprise", "industry",
            "source", "title", "created_at", "updated_at")
# A table shows this many rows unless --limit says otherwise; --json and the API give all.
TABLE_PAGE = 100
MAX_TEXT = 200   # a search term longer than this is not a search


def region_prefix(code: str, *, within=()) -> str:
    """A region as a filter takes it: a code (`370000` -> `37`, `371700` -> `3717`) or a name (菏泽 -> `3717`)
    of the national list, read by `engine.domain.regions.read`."""
    return regions.read(code, within=within)


def state_named(text: str, states: list[tuple[str, str, str]], where: str) -> str:
    """The state `text` names among `states` ((workflow, state, label) of the installed workflows): its name, or
    its label as offices write it (整改中 -> rectifying), full-width forms and spaces folded. A label two
    states share under different names is refused naming both; an unknown word lists the states."""
    if any(name == text for _, name, _ in states):
        return text
    folded = vocabularies.fold(text).casefold()
    named = {name for _, name, label in states
             if folded in (vocabularies.fold(name).casefold(), vocabularies.fold(label).casefold())}
    if len(named) == 1:
        return named.pop()
    if named:
        raise InvalidInput(f"state '{text}' is the label of {len(named)} states: "
                           f"{', '.join(f'{n} ({w})' for w, n, label in states if n in named)}; give the state's name",
                           field="state", rule="vocabulary")
    listed = ", ".join(dict.fromkeys(f"{name} ({label})" if label else name for _, name, label in states))
    raise InvalidInput(f"no state '{text}' in {where} (states: {listed})", field="state", rule="vocabulary")


@dataclass(frozen=True)
class CaseFilter:
    state: str | None = None
    region: str | None = None          # a code prefix: 37, 3717, 371721
    level: str | None = None
    workflow: str | None = None
    overdue: bool = False
    enterprise: str | None = None      # substring, as typed
    industry: str | None = None        # a vocabulary term
    source: str | None = None          # a vocabulary term
    responsible_unit: str | None = None
    responsible_person: str | None = None
    found_from: date | None = None     # found on or after this day (Asia/Shanghai)
    found_to: date | None = None       # found on or before this day
    deadline_before: date | None = None  # deadline earlier than this day
    search: str | None = None          # substring of the title
    sort: str | None = None            # a SORTABLE name, `-name` for descending
    limit: int | None = None
    offset: int = 0
    reach: Reach | None = None         # the reader's (engine.domain.reach), set by the engine, never typed: None reads all

    @classmethod
    def of(cls, **given) -> "CaseFilter":
        """A filter from what a user gave (strings for dates and codes); InvalidInput names what is wrong."""
        known = {f.name for f in dataclass_fields(cls)} - {"reach"}
        unknown = sorted(set(given) - known)
        if unknown:
            raise InvalidInput(f"unknown filter {', '.join(unknown)} (filters: {', '.join(sorted(known))})")
        values = {k: v for k, v in given.items() if v not in (None, "", ())}
        for name in ("enterprise", "responsible_unit", "responsible_person", "search", "state", "workflow"):
            if name in values:
                text = str(values[name]).strip()
                if len(text) > MAX_TEXT:
                    raise InvalidInput(f"{name} is longer than {MAX_TEXT} characters", field=name)
                values[name] = text
        if "region" in values:
            values["region"] = region_prefix(values["region"])
        if "level" in values:
            values["level"] = vocabularies.levels().check(values["level"])
        if "industry" in values:
            values["industry"] = vocabularies.industries().check(values["industry"])
        if "source" in values:
            values["source"] = vocabularies.sources().check(values["source"])
        for name in ("found_from", "found_to", "deadline_before"):
            if name in values and not isinstance(values[name], date):
                values[name] = _day(values[name], name)
        if "sort" in values:
            key = str(values["sort"]).strip()
            if key.lstrip("-") not in SORTABLE:
                raise InvalidInput(f"cannot sort by '{key}' (sort by: {', '.join(SORTABLE)}; -NAME descending)",
                                   field="sort")
            values["sort"] = key
        for name in ("limit", "offset"):
            if name in values:
                number = values[name]
                if not isinstance(number, int) or isinstance(number, bool) or number < 0 or number > 10_000_000:
                    raise InvalidInput(f"{name} must be a whole number from 0 to 10000000", field=name)
        values["overdue"] = bool(values.get("overdue"))
        return cls(**values)

    def matches(self, case: Case, now: datetime) -> bool:
        """Whether `case` (as it stood at `now`) passes the filter; sorting and paging aside."""
        fields = case.fields
        checks = (
            case.voided_at is None,  # a voided case is in no list
            self.state is None or case.state == self.state,
            self.region is None or case.region.startswith(self.region),
            self.level is None or case.level == self.level,
            self.workflow is None or case.workflow == self.workflow,
            not self.overdue or case.overdue(now),
            self.enterprise is None or _contains(case.enterprise, self.enterprise),
            self.industry is None or case.industry == self.industry,
            self.source is None or case.source == self.source,
            self.responsible_unit is None or _contains(fields.get("responsible_unit"), self.responsible_unit),
            self.responsible_person is None or _contains(fields.get("responsible_person"), self.responsible_person),
            self.found_from is None or (case.found_at is not None and local_date(case.found_at) >= self.found_from),
            self.found_to is None or (case.found_at is not None and local_date(case.found_at) <= self.found_to),
            self.deadline_before is None or (case.deadline is not None
                                             and case.deadline[:10] < self.deadline_before.isoformat()),
            self.search is None or _contains(case.title, self.search),
        )
        return all(checks)

    def sort_key(self):
        """(field name, descending) of the sort, the register's id order by default."""
        if not self.sort:
            return "id", False
        return self.sort.lstrip("-"), self.sort.startswith("-")

    @property
    def found_range(self) -> tuple[datetime | None, datetime | None]:
        """The instants bounding `found_from` .. `found_to` (the end is exclusive)."""
        return (start_of_day(self.found_from) if self.found_from else None,
                end_of_day(self.found_to) if self.found_to else None)


def _contains(value: str | None, part: str) -> bool:
    return value is not None and part.lower() in value.lower()


def _day(text, name: str) -> date:
    return parse_day(str(text), name)


def sort_cases(found: list[Case], spec: CaseFilter) -> list[Case]:
    """Cases in the filter's order (for replayed registers; the store sorts in SQL)."""
    key, descending = spec.sort_key()

    def raw(case: Case):
        return case.deadline if key == "deadline" else getattr(case, key, None)

    # As the store sorts: cases without the value last either way, ties by id ascending.
    by_id = sorted(found, key=lambda case: case.id)
    having = sorted((case for case in by_id if raw(case) is not None), key=raw, reverse=descending)
    return having + [case for case in by_id if raw(case) is None]
