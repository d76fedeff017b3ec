"""One data row of a ledger, checked as a back-filled record: its values by field and what is wrong with it.

A back-filled row must carry a title, a found date, a level, and what the lists and reports need
(enterprise, region, industry, source), from the sheet or from `--set` defaults (a value in the sheet wins).
It need not carry what a live transition requires (funds, an emergency plan...): the case will show what is
missing. Dates given must be in order: found <= assigned <= rectified (整改完成) <= verified (复查/验收) <=
closed, and no deadline before found. Values come out as the text the engine stores: `2026-03-05`, `2026-03-05T09:30:00+08:00`,
`150000.00`, `major`; `progress` is the stage of the closed loop the row has reached.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from engine.domain import limits
from engine.domain.errors import InvalidInput
from engine.ledger.layout import Column
from engine.domain.values import cell_text, clean_text, date_text, parse_date, parse_money, parse_region
from engine.ledger.words import STAGES, Words, value_key

REQUIRED = ("title", "found_at", "level", "enterprise", "region", "industry", "source")
DATE_ORDER = ("found_at", "assigned_at", "rectified_at", "verified_at", "closed_at")
DATE_FIELDS = DATE_ORDER + ("deadline", "posting_deadline")
LONG_TEXT = frozenset({"measures", "emergency_plan", "opinion", "result", "closing_note", "note", "criterion"})
MULTILINE = LONG_TEXT
# Characters a text field may hold: the engine's limits (engine/domain/limits.py) as `case report` applies them to
# the attributes (title, enterprise, industry, source) and the workflows' field types to the rest (a person
# is a name; any other text, known to a workflow or not, MAX_TEXT_CHARS).
CHAR_LIMITS = {"title": limits.MAX_TITLE_CHARS, "enterprise": limits.MAX_NAME_CHARS,
               "credit_code": limits.MAX_CODE_CHARS,
               "industry": limits.MAX_CODE_CHARS, "source": limits.MAX_CODE_CHARS,
               "responsible_person": limits.MAX_NAME_CHARS, "verifier": limits.MAX_NAME_CHARS,
               "inspector": limits.MAX_NAME_CHARS}
NOT_TEXT = frozenset(DATE_FIELDS) | {"funds", "region", "level", "state", "posted", "posting_level", "handling"}
UNIQUE = LONG_TEXT | {"title"}  # different on nearly every row: not worth remembering
MEMO_LIMIT = 50_000
_MEMO_TYPES = (str, date, datetime)
_RANK = {stage: i for i, stage in enumerate(STAGES)}
# The stage a date shows the row reached: a completion date (整改完成日期) rectification complete, a check date
# (复查日期, 验收日期) accepted, a write-off date closed.
_IMPLIED = {"assigned_at": "assigned", "rectified_at": "verifying", "verified_at": "verified", "closed_at": "closed"}
# A row without a state that names its measures, the person responsible and a deadline is being rectified, as
# offices keep such a row (整改中), not merely reported.
_UNDER_WAY = ("measures", "responsible_person", "deadline")
PERSON_FIELDS = frozenset({"responsible_person", "verifier", "inspector"})
# The five implementations' 是/否 columns -> the implementations a 是 records (engine.domain.case.FIVE_IMPLEMENTATIONS).
FIVE_COLUMNS = {"five_measures": ("measures",), "five_people": ("responsible_unit", "responsible_person"),
                "five_plan": ("emergency_plan",), "five_funds": ("funds",), "five_time": ("deadline",)}
_DATE_LIKE = re.compile(r"^\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")


_CODE_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})\d{1,9}(?!\d)")


def found_in_code(code: str) -> date | None:
    """The found date a hazard code carries as YYYYMMDD followed by a serial (20260305001, YH-20260305-012),
    as one system's import template prescribes; None when it carries no valid date."""
    match = _CODE_DATE.search(code)
    if match is None:
        match = re.search(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)", code)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _looks_like_date(raw) -> bool:
    """A date cell, or text written as a date (2026-03-05, 2026年3月5日): no person's name."""
    return isinstance(raw, (date, datetime)) or isinstance(raw, str) and bool(_DATE_LIKE.match(raw))


@dataclass(frozen=True)
class LedgerRow:
    number: int                 # the row number Excel shows
    values: dict                # field -> normalised text
    progress: str | None        # reported .. closed; None when the row is too broken to tell
    problems: tuple[str, ...]   # each a sentence; the ledger prefixes FILE:ROW

    @property
    def valid(self) -> bool:
        return not self.problems


def parser_for(field: str, words: Words, *, scale: int = 1, within: tuple[str, ...] = ()):
    """The function that reads one cell of `field`: a value, '' or None for blank, or InvalidInput. `within`: the
    importing user's regions, which narrow a division name several share (鼓楼区 to Nanjing's for a user of 3201)."""
    if field in DATE_FIELDS:
        immediate = words.immediate if field == "deadline" else frozenset()
        return lambda raw: ("immediate" if immediate and isinstance(raw, str) and value_key(raw) in immediate
                            else parse_date(raw))
    if field == "funds":
        return lambda raw: parse_money(raw, scale=scale)
    if field == "region":
        return lambda raw: parse_region(raw, within=within)
    if field in FIVE_COLUMNS or field == "posted":
        table = words.values.get("yes_no", {})
        return lambda raw: _closed_word(raw, table, "是/否 answer", "是, 否, 已落实, 未落实")
    if field == "posting_level":
        table = words.values.get("posting_level", {})
        return lambda raw: _closed_word(raw, table, "posting level", "省级, 市级, 县级, 乡镇")
    if field == "handling":
        table = words.values.get("handling", {})
        return lambda raw: _closed_word(raw, table, "handling type", "即查即改, 限期整改")
    if field in ("level", "state"):
        vocabulary = "level" if field == "level" else "progress"
        table, labels = words.values.get(vocabulary, {}), words.value_labels.get(vocabulary, {})
        known = ", ".join(f"{label} = {canonical}" for canonical, label in labels.items())
        return lambda raw: _closed_word(raw, table, field, known)
    if field in ("source", "industry"):
        table = words.values.get(field, {})
        return lambda raw: _open_word(raw, table)
    multiline = field in MULTILINE
    return lambda raw: clean_text(raw, limit=None, multiline=multiline)  # the row reader bounds it (check_length)


def char_limit(field: str) -> int | None:
    """How many characters a field's text may hold (None: not a text field)."""
    return None if field in NOT_TEXT else CHAR_LIMITS.get(field, limits.MAX_TEXT_CHARS)


def check_length(field: str, value, label: str) -> None:
    """The engine's limit on a text value, refused with limits.check_text's message naming `label`."""
    bound = char_limit(field)
    if bound is not None and len(value) > bound:
        limits.check_text(value, field=field, label=label, max_chars=bound, multiline=True)


def parse_defaults(defaults: dict | None, words: Words, within: tuple[str, ...] = ()) -> dict:
    """The values set for every row (`--set FIELD=VALUE`) read like cells; a bad one is an error for the whole
    import (named `set FIELD=VALUE`, the field being the option's)."""
    parsed = {}
    for field, raw in (defaults or {}).items():
        if field not in words.labels:
            raise InvalidInput(f"set {field}=...: '{field}' is not a ledger field (fields: {', '.join(words.fields)})",
                               field="set")
        try:
            value = parser_for(field, words, within=within)(raw)
        except InvalidInput as exc:
            raise InvalidInput(f"set {field}={raw}: {exc.message}", field="set") from None
        if isinstance(value, str):
            check_length(field, value, f"set {field}")
        if value not in (None, ""):
            parsed[field] = value
    return parsed


def _remembered(parse, limit: int = MEMO_LIMIT):
    """`parse` with a memory of its results: a ledger repeats its dates, levels, states, units on every row."""
    memory: dict = {}
    numbers: dict = {}  # floats apart: 1.0, 1 and True are equal keys (a workbook gives every number as a float)

    def remembered(raw):
        kind = raw.__class__
        if kind is float and raw:  # not 0.0, equal to -0.0; any other float equal to another is the same number
            try:
                return numbers[raw]
            except KeyError:
                value = parse(raw)
                if len(numbers) < limit:
                    numbers[raw] = value
                return value
        if kind not in _MEMO_TYPES:  # ints, bools, zero: parsed each time
            return parse(raw)
        try:
            return memory[raw]
        except KeyError:
            value = parse(raw)  # a bad value raises here and is not remembered
            if len(memory) < limit:
                memory[raw] = value
            return value
    return remembered


class RowReader:
    """Parses and checks rows against one layout's columns; built once per file, so per row it only looks up."""

    def __init__(self, columns: tuple[Column, ...], words: Words, *, defaults: dict | None = None,
                 within: tuple[str, ...] = ()):
        self.words = words
        self.columns = [c for c in columns if c.field]
        self.header = {c.field: c.header for c in self.columns}
        self.parsers = [(c.field, c.header, _remembered(parser_for(c.field, words, scale=c.scale, within=within))
                         if c.field not in UNIQUE else parser_for(c.field, words, scale=c.scale), char_limit(c.field))
                        for c in self.columns]
        self.defaults = defaults or {}  # parsed, as parse_defaults gives them
        # A level word that is a grade of a system's own (1级, 较大隐患: engine/domain/data/vocabulary.yaml) is kept
        # as the field `grade` beside the level it maps to.
        from engine.domain import vocabularies
        self.grades = frozenset(value_key(g) for term in vocabularies.levels().terms.values() for g in term.grades)

    def read(self, number: int, cells: list) -> LedgerRow:
        values, dates, problems, unread = {}, {}, [], set()
        for (field, header, parse, bound), raw in zip(self.parsers, cells):
            if raw == "":
                continue
            try:
                value = parse(raw)
            except InvalidInput as exc:
                problems.append(f"{header}: {exc.message}{self._slipped(field, raw)}")
                unread.add(field)
                continue
            if value is None or value == "":
                continue
            if field in PERSON_FIELDS and _looks_like_date(raw):
                problems.append(f"{header}: '{cell_text(raw)}' is a date, not a person (the row's values slipped "
                                f"one column?)")
                unread.add(field)
                continue
            if bound is not None and len(value) > bound:
                try:
                    check_length(field, value, header)
                except InvalidInput as exc:
                    problems.append(exc.message)
                    unread.add(field)
                    continue
            if field in DATE_FIELDS and value != "immediate":
                dates[field] = value
            elif field == "level" and raw.__class__ is str and value_key(raw) in self.grades:
                values["grade"] = clean_text(raw)
            values[field] = value
        answered = [f for f in FIVE_COLUMNS if f in values]
        if answered:  # 是 under 经费物资: the funds are recorded as implemented, though the sheet gives no sum
            said = sorted({name for f in answered if values.pop(f) == "yes" for name in FIVE_COLUMNS[f]})
            if said:
                values["implemented"] = " ".join(said)
        if self.words.found_in_code and "found_at" not in values and "found_at" not in unread and values.get("id"):
            found = found_in_code(values["id"])  # 20260305001: an import template's code carries its found date
            if found is not None:
                values["found_at"] = dates["found_at"] = found
        if "enterprise" not in values and "enterprise" not in self.defaults:
            stand_in = next((values[f] for f in self.words.enterprise_from if values.get(f)), None)
            if stand_in:  # named by its code alone (kept as the code), or a project's construction unit
                values["enterprise"] = stand_in
        for field, value in self.defaults.items():
            if field not in values:
                values[field] = value
                if field in DATE_FIELDS and value != "immediate":
                    dates[field] = value
        if values.get("handling") == "immediate" and "deadline" not in values and "deadline" not in unread:
            values["deadline"] = "immediate"  # 即查即改: fixed on the spot, as an 立即 under the deadline says
        if values.get("deadline") == "immediate":
            del values["deadline"]
            if "found_at" in dates:
                dates["deadline"] = _day(dates["found_at"])
        for field in REQUIRED:
            if field not in values and field not in unread:
                problems.append(self._missing(field))
        problems.extend(self._order(dates))
        progress = self._progress(values, dates, problems)
        for field, value in dates.items():
            values[field] = date_text(value)
        return LedgerRow(number, values, progress, tuple(problems))

    def _slipped(self, field: str, raw) -> str:
        """What a value under a date column that is no date says of the row: a state word (已整改 under the
        completion date) is one column from its own."""
        if field in DATE_FIELDS and isinstance(raw, str) and value_key(raw) in self.words.values.get("progress", {}):
            return " (a state word: the row's values slipped one column?)"
        return ""

    def sheet_problems(self) -> tuple[str, ...]:
        """The required fields the sheet has no column for and no value for every row: the same problem on each
        row, which the ledger says once (but the found date, where the codes may carry it, row by row)."""
        absent = [f for f in REQUIRED if f not in self.header and f not in self.defaults
                  and not (f == "found_at" and "id" in self.header and self.words.found_in_code)]
        if "enterprise" in absent and any(f in self.header for f in self.words.enterprise_from):
            absent.remove("enterprise")  # a code or a construction unit stands for it, row by row
        return tuple(self._missing(f) for f in absent)

    def _missing(self, field: str) -> str:
        if field in self.header:
            return f"no {field}: {self.header[field]} is empty"
        label = self.words.labels.get(field, field)
        return f"no {field}: the sheet has no {label} column, nor a value for every row"

    def _label(self, field: str) -> str:
        return self.header.get(field) or f"{field} (the value for every row)"

    def _order(self, dates: dict) -> list[str]:
        problems, earlier = [], None
        for field in DATE_ORDER:
            if field not in dates:
                continue
            if earlier and _before(dates[field], dates[earlier]):
                problems.append(f"{self._label(field)} {date_text(dates[field])} is before "
                                f"{self._label(earlier)} {date_text(dates[earlier])}")
            else:
                earlier = field
        if "deadline" in dates and "found_at" in dates and _before(dates["deadline"], dates["found_at"]):
            problems.append(f"{self._label('deadline')} {date_text(dates['deadline'])} is before "
                            f"{self._label('found_at')} {date_text(dates['found_at'])}")
        return problems

    def _progress(self, values: dict, dates: dict, problems: list) -> str | None:
        """The latest stage the row shows evidence of; a state column saying 'still open' while dates say
        verified or closed is a contradiction to fix in the sheet, not to guess about."""
        stated = values.get("state")
        result_text = values.get("result", "")
        result = self.words.values.get("progress", {}).get(value_key(result_text)) if result_text else None
        failed = result == "rectifying"  # the check failed: neither its date nor the completion it checked stands
        implied = [stage for field, stage in _IMPLIED.items()
                   if field in dates and not (failed and stage in ("verifying", "verified"))]
        evidence = [s for s in (result, *implied) if s]
        if not stated and not evidence and all(values.get(f) for f in _UNDER_WAY):
            evidence = ["rectifying"]  # measures, a person and a deadline set, nothing done yet: 整改中
        progress = max([s for s in (stated, *evidence) if s], key=_RANK.__getitem__, default="reported")
        if stated and _RANK[stated] < _RANK["verifying"] and evidence:
            latest = max(evidence, key=_RANK.__getitem__)
            if _RANK[latest] >= _RANK["verified"]:
                problems.append(f"{self._label('state')} says {stated} but the row shows it {latest}"
                                f" ({self._evidence(latest, result, result_text)})")
        return progress

    def _evidence(self, stage: str, result: str | None, result_text: str) -> str:
        if result == stage:
            return f"{self._label('result')} '{result_text}'"
        field = next(f for f, s in _IMPLIED.items() if s == stage)
        return f"{self._label(field)} is given"


def _closed_word(raw, table: dict, field: str, known: str) -> str:
    text = clean_text(raw)
    if not text:
        return ""
    canonical = table.get(value_key(text))
    if canonical is None:
        raise InvalidInput(f"'{text[:40]}' is not a known {field} (such as {known}; add yours under values: "
                           f"in a mapping file)")
    return canonical


def _open_word(raw, table: dict) -> str:
    text = clean_text(raw)
    return table.get(value_key(text), text) if text else ""


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _before(later: date | datetime, earlier: date | datetime) -> bool:
    if isinstance(later, datetime) and isinstance(earlier, datetime):
        return later < earlier
    return _day(later) < _day(earlier)
