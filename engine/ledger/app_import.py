"""`import_ledger` (*app*): a hand-kept ledger into the register; every row checked first, then all of it in one
unit of work, or nothing.

0. The import's own time is refused, as every write's, when it is later than the real time by more than
   FUTURE_SKEW (rule `future`, engine/app/unit.py; a drill database takes it): before the file is even read.
1. Read (`read_ledger`, pure): the reader's problems of every row.
2. Check (`checks.py`, pure): the engine's, with the acting user and the import's time; and the file must not
   have been imported before (same SHA-256, same sheet): that is a Conflict naming the earlier import.
3. Recognise (`recognition.py`): rows the register holds already (the same code, or the same enterprise,
   title and found day) are not imported again, and a row repeating an earlier one of the sheet is imported
   once; both are reported, row by row. A copy differing by a byte, or a corrected copy, so brings in only
   its new rows. In a real import this is read inside the write transaction, after the case-number lock two
   imports of a year queue on, so two imports of overlapping sheets cannot both write a row.
4. Write, in one transaction: per new row a case at the state its stage lands on (`history.py`), one event per
   transition on the way, each dated by the sheet and signed by the importing user in the role `import`,
   each carrying `{"import": {file, sheet, row, sha256}}` (a row's events recorded at one real moment); then
   the import's own record (engine/store/records.py).
   The way goes only as far as the importing user's roles may take it (`history.Importer`: the transitions'
   `roles:`, as `case advance` judges them; a department's import also takes the enterprise's own steps): a
   row whose sheet says more lands at the last state the importer may reach, the sheet's claim kept as the
   fields claimed_stage, claimed_at, claimed_by for a department to confirm, and is listed in `claims`.
   Case numbers are reserved per year in one statement; the unit is flushed every `CHUNK` rows (cases, events
   and rungs, each kind in one executemany on SQLite, one COPY on PostgreSQL, each event and case row encoded
   once for its hash and its columns) and forgets what it wrote, so memory does not grow with the file. A kill
   part way leaves nothing: the transaction was never committed, and the same command completes it.

Rungs of an imported open case that fell due before the import are recorded as skipped (an `escalate` event
with status `skipped` each, and a skipped rung row), not fired: the register and the lists show the case
overdue from its deadline on, but the engine does not summon, post, expose or suspend on the morning after an
import for what was due months ago on paper; the rungs due after the import fire as for any case.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from engine.app.collector import collector_paused
from engine.domain.clock import iso, iso_seconds, local_date, parse_time
from engine.domain.errors import Conflict, InvalidInput, PermissionDenied
from engine.domain.limits import attach_max_bytes, import_max_bytes
from engine.domain.definition.model import LINKED_ACTIONS
from engine.domain.values import parse_region
from engine.domain.escalation import actions, ladder
from engine.ledger.checks import OWN_LEDGER_ROLE, RowChecker, import_role
from engine.ledger.history import Importer, check_workflow, instant, landing, plan_row, workflow_for
from engine.ledger.ledger import Ledger, read_ledger
from engine.ledger.words import Words, load_words
from engine.ledger.app_recognition import Recognition, recognise
from engine.domain.replay import IMPORT_ROLE
from engine.app.unit import check_not_future

CHUNK = 2000
MESSAGE_LINES = 50  # an error message lists this many problems; the report keeps them all


@dataclass
class ImportReport:
    file: str
    sheet: str | None
    sha256: str
    header_row: int
    rows: int
    valid: int
    dry_run: bool
    mapping: dict
    errors: list[dict]
    imported: int = 0
    skipped: int = 0                # bad rows left out (--skip-invalid)
    new: int = 0                    # valid rows not held already: imported, or to be on a dry run
    existing: list = field(default_factory=list)   # {row, case_id, by}: held already, not imported again
    repeated: list = field(default_factory=list)   # {row, same_as, by}: an earlier row of the sheet again
    claims: list = field(default_factory=list)     # {row, claimed_stage, state, trigger, roles, why}: new rows
                                                   # landing short of their sheet's stage (history.Held)
    not_permitted: bool = False  # some row is outside what the acting user may import
    by_level: dict = field(default_factory=dict)
    by_state: dict = field(default_factory=dict)   # workflow -> state -> rows landing there
    unmapped: list = field(default_factory=list)
    first_rows: list = field(default_factory=list)
    actor: str = ""
    at: datetime | None = None
    import_id: int | None = None
    first_case: str | None = None   # the smallest case id written (by year, then number)
    last_case: str | None = None    # the largest
    case_ranges: list = field(default_factory=list)  # per year: {year, first, last, count}, numbers contiguous
    mapping_file: str | None = None     # the --mapping file's name and its text's SHA-256, when one was given
    mapping_sha256: str | None = None
    matched: list = field(default_factory=list)  # {column, header, field, why}: how each column read was matched
    photos: dict | None = None          # --photos: {source, files, attached, rows, unmatched, held, ambiguous}
    postings: list = field(default_factory=list)  # {row, case_id, posting, authority, ...}: 是否挂牌督办 = 是

    def problems(self) -> list[str]:
        return [f"{self.file}:{e['row']}: {e['message']}" for e in self.errors]

    def document(self) -> dict:
        """The `--json` summary."""
        doc = {"file": self.file, "sheet": self.sheet, "sha256": self.sha256, "header_row": self.header_row,
               "rows": self.rows, "valid": self.valid, "imported": self.imported, "skipped": self.skipped,
               "new": self.new, "existing": self.existing, "repeated": self.repeated, "claims": self.claims,
               "errors": self.errors, "mapping": self.mapping, "dry_run": self.dry_run, "by_level": self.by_level,
               "by_state": self.by_state, "unmapped": self.unmapped, "actor": self.actor, "at": iso(self.at),
               "mapping_file": self.mapping_file, "mapping_sha256": self.mapping_sha256, "matched": self.matched}
        if self.photos is not None:
            doc["photos"] = self.photos
        if self.dry_run:
            doc["first_rows"] = self.first_rows
        else:
            doc.update(import_id=self.import_id, first_case=self.first_case, last_case=self.last_case,
                       case_ranges=self.case_ranges)
        doc["postings"] = self.postings
        return doc


class RowsInvalid(InvalidInput):
    """Rows that cannot be imported as they are; nothing was written. `report` has every problem."""

    def __init__(self, report: ImportReport):
        super().__init__(_listing(report), rule="rows")
        self.report = report


class RowsNotPermitted(PermissionDenied):
    """Rows outside what the acting user may import (and perhaps bad ones too); nothing was written."""

    def __init__(self, report: ImportReport):
        super().__init__(_listing(report), actor=report.actor, rule="rows")
        self.report = report


def _listing(report: ImportReport) -> str:
    lines = report.problems()
    more = len(lines) - MESSAGE_LINES
    bad = report.rows - report.valid
    head = f"{report.file}: {bad} of {report.rows} rows cannot be imported; nothing was written"
    return "\n".join([head, *lines[:MESSAGE_LINES]] + ([f"... and {more} more"] if more > 0 else []))


def import_ledger(engine, path: str | Path, *, actor: str | None, sheet: str | None = None, mapping=None,
                  defaults: dict | None = None, dry_run: bool = False, skip_invalid: bool = False,
                  now: datetime | str | None = None, name: str | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  workflows: dict[str, str] | None = None, photos: str | Path | None = None,
                  region: str | None = None) -> ImportReport:
    """Import the ledger at `path` as `actor` at the engine's time `now`; see the module docstring.

    Raises RowsInvalid (exit 2) or RowsNotPermitted (exit 4) when a row is bad and `skip_invalid` is not set,
    Conflict (exit 6) when the same bytes were imported before; with `dry_run` nothing is written either way.
    Rows held already are reported in `existing`, not written; when every row is, nothing is written at all.
    `on_progress(done, total)` is called as cases are written (first with done 0). `workflows` names the
    workflow of a level's rows (`{"major": "sd-major-hazard"}`; the key `*` for every level), else `LEVEL-hazard`:
    any installed hazard workflow with `ledger_stages` takes rows. `photos`: a folder or zip of photos named by
    the rows' codes, attached to the cases written (engine/ledger/app_photos.py); each is checked first.
    `region`: the division a region name of the sheet is looked up in (北仑区 inside 330200), instead of the
    importer's own regions; a code or a name as everywhere, bad input changes nothing.
    """
    from engine.store import records
    from engine.store import settings as setting_store
    from engine.store import users as user_store

    now = engine.clock.now() if now is None else parse_time(now) if isinstance(now, str) else now
    if not actor:
        raise PermissionDenied("no actor given", rule="actor")
    with engine.store.read() as conn:
        who = user_store.get_checked(conn, actor)
        if who is None:
            raise PermissionDenied(f"'{actor}' is not a registered user", actor=actor, rule="registered")
        role = import_role(who)
        importer = Importer(who.name, tuple(who.roles), department=role != OWN_LEDGER_ROLE)
        # The import's own time, as every write's: not later than the real time (a dry run shows what the
        # import would do, and it would be refused); checked before the file is read.
        check_not_future(now, engine.recorded_clock.now(), f"the import of {name or path}",
                         drill=lambda: setting_store.is_true(user_store.setting(conn, "drill")))
        max_bytes = import_max_bytes(user_store.setting(conn, "import_max_mb"))  # as the users' log set it
        photo_max_bytes = attach_max_bytes(user_store.setting(conn, "attach_max_mb"))
    words = mapping if isinstance(mapping, Words) else load_words(mapping)  # a bad mapping: before the file is read
    within = (_region_given(region),) if region else tuple(who.regions)
    with collector_paused():  # the rows read live until the import ends: the collector would walk them in vain
        ledger = read_ledger(path, sheet=sheet, mapping=words, defaults=defaults, name=name, max_bytes=max_bytes,
                             within=within)
    with engine.store.read() as conn:
        _refuse_earlier(records.earlier_import(conn, ledger.sha256, ledger.sheet), ledger)
        _name_coded_enterprises(conn, ledger)
        pick = _picker(workflows)
        names = sorted({pick(r.values["level"]) for r in ledger.rows if r.valid})
        definitions = {workflow: engine.registry.loaded(conn, workflow).definition for workflow in names}
    config = [problem for d in definitions.values() for problem in check_workflow(d)]
    if config:
        raise InvalidInput("; ".join(config), rule="workflow")
    with collector_paused():
        report, good, checker = _check(ledger, who, role, now, dry_run)
    report.mapping_file, report.mapping_sha256 = words.mapping_file, words.mapping_hash
    if report.errors and not skip_invalid:
        raise (RowsNotPermitted if report.not_permitted else RowsInvalid)(report)
    report.skipped = report.rows - len(good)
    if not good:
        return report
    album = _Album.open(engine, photos, good, photo_max_bytes) if photos is not None else None
    try:
        if dry_run:
            with engine.store.read() as conn:
                found = recognise(conn, good)
                _summarise(report, found, checker, pick, definitions, importer)
                if album:
                    report.photos = album.report(found)
            return report
        _write(engine, ledger, good, checker, report, actor=who.name, now=now, on_progress=on_progress, pick=pick,
               words=words, importer=importer, album=album)
        return report
    finally:
        if album:
            album.source.close()


def _name_coded_enterprises(conn, ledger: Ledger) -> None:
    """Rows whose enterprise is only its credit code get the enterprise's name where one is known: from a row of
    the same sheet giving both, else from the register (an earlier import or report recording the code). The
    code stays in `credit_code`; a code no one named stays the enterprise."""
    from engine.store.case_search import enterprise_names

    coded = [r for r in ledger.rows if r.valid and r.values.get("credit_code")
             and r.values.get("enterprise") == r.values["credit_code"]]
    if not coded:
        return
    named = {r.values["credit_code"]: r.values["enterprise"] for r in ledger.rows
             if r.valid and r.values.get("credit_code") and r.values.get("enterprise") not in (None, r.values["credit_code"])}
    unnamed = {r.values["credit_code"] for r in coded} - set(named)
    known = {**enterprise_names(conn, unnamed), **named} if unnamed else named
    for row in coded:
        name = known.get(row.values["credit_code"])
        if name:
            row.values["enterprise"] = name


def _region_given(raw: str) -> str:
    """`--region`: a division (code or name) to look region names up in; InvalidInput when it is none."""
    try:
        code = parse_region(raw)
    except InvalidInput as exc:
        raise InvalidInput(f"the division to look region names up in: {exc.message}", field="region",
                           rule="region") from None
    if code is None:
        raise InvalidInput("the division to look region names up in is empty", field="region", rule="region")
    return code


class _Album:
    """The --photos of an import: the source, what matched which code (checked), and where they are stored."""

    def __init__(self, source, matched, files, max_bytes: int, rows_by_code: dict):
        self.source, self.matched, self.files, self.max_bytes = source, matched, files, max_bytes
        self.rows_by_code = rows_by_code  # normalised code -> the numbers of the good rows carrying it

    @classmethod
    def open(cls, engine, path, good: list, max_bytes: int) -> "_Album":
        from engine.app.attach import files_of
        from engine.ledger import app_photos, photos as matching
        files = files_of(engine)  # no store: said before the import, dry run or not
        rows_by_code: dict[str, list[int]] = {}
        for row in good:
            code = matching.normalise(str(row.values.get("id") or ""))
            if code:
                rows_by_code.setdefault(code, []).append(row.number)
        source = app_photos.PhotoSource(str(path))
        try:
            matched = app_photos.plan(source, set(rows_by_code), max_bytes)
        except Exception:
            source.close()
            raise
        return cls(source, matched, files, max_bytes, rows_by_code)

    def of(self, row) -> list:
        """The photos of a row being written; none for a code several rows of the sheet carry (whose is it?)."""
        from engine.ledger import photos as matching
        code = matching.normalise(str(row.values.get("id") or ""))
        if not code or len(self.rows_by_code.get(code, ())) > 1:
            return []
        return self.matched.by_code.get(code, [])

    def report(self, found: Recognition) -> dict:
        new = {r.number for r in found.new}
        held = {e["row"]: e["case_id"] for e in found.existing}
        attached = rows = 0
        held_photos, ambiguous = [], []
        for code, photos in self.matched.by_code.items():
            numbers = self.rows_by_code[code]
            if len(numbers) > 1:
                ambiguous.extend({"name": p.name, "rows": numbers} for p in photos)
            elif numbers[0] in new:
                attached += len(photos)
                rows += 1
            elif numbers[0] in held:
                held_photos.extend({"name": p.name, "case_id": held[numbers[0]]} for p in photos)
        return {"source": self.source.path, "files": len(self.source.files), "attached": attached, "rows": rows,
                "unmatched": list(self.matched.unmatched), "held": held_photos, "ambiguous": ambiguous}

    def attach(self, unit, case, row, run, *, actor: str, now: datetime, source: dict):
        from engine.ledger import app_photos
        photos = self.of(row)
        if not photos:
            return case
        records = app_photos.store(self.files, self.source, photos, case, self.max_bytes)
        event = unit.event(case, trigger="attach", to_state=case.state, actor=actor, role=IMPORT_ROLE, at=now,
                           data={"files": records, "import": source}, run=run)
        return unit.append(case, [event], run, sync=False)


def _refuse_earlier(earlier, ledger: Ledger) -> None:
    if earlier is None:
        return
    cases = f"{earlier.imported} cases"
    if earlier.first_case:
        first_year, last_year = _id_key(earlier.first_case)[0], _id_key(earlier.last_case)[0]
        years = f" (ids of {first_year}-{last_year})" if first_year != last_year else ""
        cases += f", {earlier.first_case} to {earlier.last_case}{years}"
    where = f" (sheet {ledger.sheet})" if ledger.sheet else ""
    raise Conflict(f"{ledger.file}{where} was already imported by {earlier.actor} at {iso_seconds(earlier.at)} "
                   f"(import {earlier.id} of {earlier.file_name}: {cases}); nothing was written", case_id="")


def _check(ledger: Ledger, who, role: str, now: datetime, dry_run: bool) -> tuple[ImportReport, list, RowChecker]:
    """Every row checked; the report (errors in sheet order), the good rows and the checker (which gives their
    canonical values again when they are written: nothing per row is kept but the row itself)."""
    headers = {c.field: c.header for c in ledger.columns if c.field}
    checker = RowChecker(actor=who, role=role, now=now, headers=headers, rows=ledger.rows)
    errors, good = ledger.sheet_errors(), []
    sheet_wide = set(ledger.sheet_problems)
    not_permitted = False
    for row in ledger.rows:
        for message in row.problems:
            if message not in sheet_wide:
                errors.append({"row": row.number, "message": message})
        if not row.valid:
            continue
        problems, permission = checker.check(row.values)
        if problems:
            errors.extend({"row": row.number, "message": m} for m in problems)
            not_permitted = not_permitted or permission
            continue
        good.append(row)
    report = ImportReport(
        file=ledger.file, sheet=ledger.sheet, sha256=ledger.sha256, header_row=ledger.header_row,
        rows=len(ledger.rows), valid=len(good), dry_run=dry_run, mapping=ledger.mapping(), errors=errors,
        unmapped=ledger.unmapped(), actor=who.name, at=now, not_permitted=not_permitted, matched=ledger.matched())
    return report, good, checker


def _picker(workflows: dict[str, str] | None) -> Callable[[str], str]:
    """Level -> the workflow its rows become cases of: the one named for the level, or for every level (`*`),
    else the built-in `LEVEL-hazard`."""
    chosen = dict(workflows or {})
    return lambda level: chosen.get(level) or chosen.get("*") or workflow_for(level)


def _summarise(report: ImportReport, found: Recognition, checker: RowChecker, pick: Callable[[str], str],
               definitions: dict, importer: Importer) -> None:
    """What the new rows come to (by level, by the state each lands at, the first of them, the claims beyond
    what the importer may record) and which rows are held or repeated."""
    levels, states, landed, claims, postings = Counter(), Counter(), {}, [], []
    for row in found.new:
        level = row.values["level"]
        levels[level] += 1
        definition = definitions[pick(level)]
        state, held = landing(row.values, row.progress, definition, importer)
        states[(pick(level), state)] += 1
        if row.values.get("posted") == "yes" and not definition.state(state).final:
            postings.append({"row": row.number, "workflow": posting_workflow(definition)})
        if len(landed) < 5:
            landed[row.number] = state
        if held is not None:
            claims.append({"row": row.number, "claimed_stage": row.progress, "state": state, "trigger": held.trigger,
                           "roles": list(held.roles), "why": held.reason})
    by_state: dict = {}
    for (workflow, state), count in sorted(states.items()):
        by_state.setdefault(workflow, {})[state] = count
    report.by_level = {level: levels[level] for level in ("major", "general") if levels[level]}
    report.by_state = by_state
    report.new, report.existing, report.repeated = len(found.new), found.existing, found.repeated
    report.claims = claims
    report.postings = postings  # a real import replaces each with the case it opened
    report.first_rows = [{"row": r.number, "state": landed[r.number], "values": checker.canonical(r.values)}
                         for r in found.new[:5]]


def _write(engine, ledger: Ledger, good: list, checker: RowChecker, report: ImportReport, *, actor: str,
           now: datetime, on_progress, pick: Callable[[str], str], words: Words, importer: Importer,
           album: _Album | None = None) -> None:
    from engine.store import records
    from engine.store import rungs as rung_store

    sheet = ledger.sheet
    tag = f"import-{ledger.sha256[:12]}"
    with collector_paused(), engine.unit(bulk=True) as unit:
        for year in sorted({local_date(instant(r.values["found_at"])).year for r in good}):
            unit.reserve_case_ids(year, 0)  # no number yet: the lock two imports of one year queue on (PostgreSQL)
        _refuse_earlier(records.earlier_import(unit.conn, ledger.sha256, sheet), ledger)
        found = recognise(unit.conn, good)  # after the lock: what another import wrote meanwhile is seen
        _summarise(report, found, checker, pick, {w: unit.run(w).definition for w in {pick(r.values["level"])
                                                                                      for r in found.new}}, importer)
        if album:
            report.photos = album.report(found)
        good = found.new
        if not good:
            return  # every row is held already: nothing is written, not even an import record
        years = Counter(local_date(instant(r.values["found_at"])).year for r in good)
        for year, count in sorted(years.items()):
            unit.reserve_case_ids(year, count)
        unit.actor(actor)
        runs = {w: unit.run(w) for w in {pick(r.values["level"]) for r in good}}
        ladders = {id(run.definition): _ladder(run.definition) for run in runs.values()}  # once per workflow
        ranges: dict[int, list] = {}  # year -> [first, last, count, first's key, last's key] of the ids written
        settled: list[dict] = []
        postings: list[tuple] = []  # (hazard, its run, values, source) of open rows the sheet says are posted
        total = len(good)
        if on_progress:
            on_progress(0, total)
        file_name = Path(ledger.file).name
        mapping = {"file": words.mapping_file, "sha256": words.mapping_hash} if words.mapping_hash else None
        for done, row in enumerate(good, start=1):
            values = checker.canonical(row.values)
            run = runs[pick(values["level"])]
            source = {"file": file_name, "sheet": sheet, "row": row.number, "sha256": ledger.sha256}
            if mapping:  # the mapping that read the sheet, sealed in the chain with every event
                source["mapping"] = mapping
            case = _case_of(unit, run, row, values, source, actor=actor, now=now, tag=tag, settled=settled,
                            importer=importer, album=album, ladders=ladders)
            _count_id(ranges, case.id)
            if values.get("posted") == "yes" and not case.is_final:
                postings.append((case, run, values, source))
            if done % CHUNK == 0:
                _flush(unit, settled, rung_store)
                if on_progress:
                    on_progress(done, total)
        _flush(unit, settled, rung_store)
        report.postings = [_link_posting(engine, unit, *posting, actor=actor) for posting in postings]
        _flush(unit, settled, rung_store)
        report.case_ranges = [{"year": year, "first": ranges[year][0], "last": ranges[year][1], "count": ranges[year][2]}
                              for year in sorted(ranges)]
        first = report.case_ranges[0]["first"] if ranges else None
        last = report.case_ranges[-1]["last"] if ranges else None
        report.imported, report.first_case, report.last_case = len(good), first, last
        report.import_id = records.record_import(unit.conn, records.LedgerImport(
            sha256=ledger.sha256, file_name=Path(ledger.file).name, sheet=sheet or "", rows=report.rows,
            imported=report.imported, skipped=report.skipped, actor=actor, at=now,
            recorded_at=engine.recorded_clock.now(), first_case=first, last_case=last))
    if on_progress:
        on_progress(total, total)


def _posting_rung(definition):
    return next((r for r in definition.rungs if r.action == "post_supervision"), None)


def posting_workflow(definition) -> str:
    """The workflow a hazard's posted supervision runs under: its ladder's post_supervision rung names it."""
    rung = _posting_rung(definition)
    return (rung.param("workflow") if rung else None) or LINKED_ACTIONS["post_supervision"][1]


def _link_posting(engine, unit, hazard, run, values: dict, source: dict, *, actor: str) -> dict:
    """The posted-supervision case an open row's 是否挂牌督办 = 是 links to its hazard, as the ladder's rung
    opens one: listed, its level, 文号 and deadline from the sheet (the rung's authority where the sheet gives
    none), at the moment the sheet's history of the hazard reached."""
    rung = _posting_rung(run.definition)
    fields = {"authority": values.get("posting_level") or (rung.param("authority") if rung else None) or "city",
              "document_no": values.get("posting_document"), "deadline": values.get("posting_deadline")}
    case = engine.commands.create_linked(
        unit, hazard, workflow=posting_workflow(run.definition), title=f"挂牌督办: {hazard.title}",
        fields={k: v for k, v in fields.items() if v}, source=hazard.source, at=hazard.updated_at or hazard.found_at,
        actor=actor, role=IMPORT_ROLE, extra={"import": source})
    return {"row": source["row"], "case_id": hazard.id, "posting": case.id,
            **{k: case.fields[k] for k in fields if k in case.fields}}


def _id_key(case_id: str) -> tuple[int, int]:
    """HZ-2026-000012 -> (2026, 12): ids ordered by year, then number (not by the sheet's row order)."""
    _, year, number = case_id.split("-")
    return int(year), int(number)


def _count_id(ranges: dict, case_id: str) -> None:
    key = _id_key(case_id)  # once per case: the span keeps the keys of its ends beside them
    span = ranges.get(key[0])
    if span is None:
        ranges[key[0]] = [case_id, case_id, 1, key, key]
        return
    if key < span[3]:
        span[0], span[3] = case_id, key
    if key > span[4]:
        span[1], span[4] = case_id, key
    span[2] += 1


def _flush(unit, settled: list, rung_store) -> None:
    unit.flush()
    if settled:
        rung_store.insert_settled(unit.conn, settled)
        settled.clear()
    unit.forget()


def _ladder(definition) -> dict:
    """(clock, rung) -> (its place in the ladder, the rung); an import makes it once per workflow (`ladders`, by
    the id of a definition its runs hold)."""
    return {(r.clock, r.name): (i, r) for i, r in enumerate(definition.rungs)}


def _case_of(unit, run, row, values: dict, source: dict, *, actor: str, now: datetime, tag: str, settled: list,
             importer: Importer, album: _Album | None = None, ladders: dict | None = None):
    """One row's case: the report, the steps to its state (as far as `importer` may take it), the rungs already
    due recorded as skipped."""
    definition = run.definition
    plan = plan_row(values, row.progress, definition, importer)
    recorded_at = unit.recorded_clock.now()  # the row's history is recorded at one moment
    case = unit.create(run, actor=actor, role=IMPORT_ROLE, attrs=plan.attrs, fields=plan.report_fields,
                       at=plan.found_at, extra={"import": source}, sync=False, recorded_at=recorded_at)
    for step in plan.steps:
        event = unit.event(case, trigger=step.trigger, to_state=step.to_state, actor=actor, role=IMPORT_ROLE,
                           at=step.at, data={"fields": step.fields, "import": source}, run=run,
                           recorded_at=recorded_at)
        case = unit.append(case, [event], run, sync=False)
    if album:
        case = album.attach(unit, case, row, run, actor=actor, now=now, source=source)
    if not definition.clocks or case.is_final:
        return case  # a case imported closed has nothing left to escalate: no rung rows (not even cancelled ones)
    rest = None  # the ladder's plan once the rungs due are skipped
    if any(c.get("status") == "running" for c in case.clocks.values()):
        rungs = (ladders or {}).get(id(definition)) or _ladder(definition)
        plan = ladder.plan(definition, case.clocks, case.fields, case.fired, unit.calendar_of(case, run))
        clocks, fields = case.clocks, case.fields
        due = [p for p in plan if p.status == "pending" and p.due_at is not None and p.due_at <= now]
        for planned in sorted(due, key=lambda p: (p.due_at, rungs[(p.clock, p.rung)][0])):  # the ladder's order
            rung = rungs[(planned.clock, planned.rung)][1]
            out = actions.outcome(case, rung, cycle=planned.cycle, due_at=planned.due_at, decision="skip", now=now,
                                  sweep_id=tag)
            data = {**out.data, "reason": "due before the import", "import": source}
            event = unit.event(case, trigger="escalate", to_state=case.state, actor=actor, role=IMPORT_ROLE, at=now,
                               data=data, run=run, recorded_at=recorded_at)
            case = unit.append(case, [event], run, sync=False)
            settled.append({"case_id": case.id, "clock": planned.clock, "cycle": planned.cycle, "rung": planned.rung,
                            "action": planned.action, "due_at": planned.due_at, "provisional": planned.provisional,
                            "status": "skipped", "fired_at": now, "sweep_id": tag})
        # Skipping moves no clock and no field: the plan stands, less the rungs now skipped (planned once).
        skipped = {(p.clock, p.cycle, p.rung) for p in due}
        rest = [p for p in plan if (p.clock, p.cycle, p.rung) not in skipped] \
            if case.clocks is clocks and case.fields is fields else None
    unit.sync_rungs(case, run, planned=rest)
    return case
