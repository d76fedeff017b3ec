"""`attach`: files of evidence sealed on a case (engine.domain.evidence says what is accepted).

Order matters: every file is checked (size, type against name, kind, note) before anything is written; then
each is written to the storage adapter (engine/store/files.py); only then is the `attach` event appended and
committed. A commit that fails after the files were written leaves files no event names (harmless: the same
bytes are reused by the next attach); a sealed event whose file is not stored cannot happen.

Who may attach: anyone who may act on the case at all, i.e. whose regions cover the case's region and who,
when bound to an enterprise, is bound to the case's one (the reach every case command checks). A workflow
needs no rule for it: evidence adds to the record and changes no state.
"""
from __future__ import annotations

import os
from datetime import datetime

from engine.app import rulings
from engine.app.photos import exif_of
from engine.domain import evidence, limits
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.preconditions import check_expected, check_time_order
from engine.domain.values import read_case_id
from engine.domain.vocabularies import evidence as evidence_kinds


def files_of(engine):
    from engine.store.files import FileStore
    files = getattr(engine, "files", None)
    if files is None:
        files = FileStore.for_database(engine.store.path)
    if files is None:
        raise InvalidInput("no evidence store: set HAZARD_FILES to a directory (on PostgreSQL there is no default; "
                           "for several machines, a shared mount)", field="HAZARD_FILES", rule="files")
    return files


def checked_files(unit, paths: list[str], names: list[str]) -> list[tuple[str, str, str]]:
    """(path, name, media type) of each file, once every one is readable, within the size limit and of an
    accepted type its bytes confirm; raises before anything is stored."""
    from engine.store import users as user_store
    max_bytes = limits.attach_max_bytes(user_store.setting(unit.conn, "attach_max_mb"))
    checked = []
    for path, name in zip(paths, names):
        label = name
        limits.check_text(name, field="file", label="file name", max_chars=limits.MAX_NAME_CHARS)
        try:
            size = os.stat(path).st_size
            if not os.path.isfile(path):
                raise InvalidInput(f"{path}: not a file", field="file")
            with open(path, "rb") as handle:
                head = handle.read(evidence.SNIFF_BYTES)
        except FileNotFoundError:
            raise NotFound(f"{path}: no such file", kind="file", key=path) from None
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot be read ({exc.strerror or exc})", field="file") from None
        evidence.check_size(size, max_bytes, label=label)
        media_type = evidence.media_type_of(name, head, label=label)
        checked.append((path, name, media_type))
    return checked


def store_files(files, checked: list[tuple[str, str, str]], kind: str, case) -> list[dict]:
    """Write each checked file to the store; the records an `attach` event seals."""
    stored = []
    for path, name, media_type in checked:
        sha256, size, _ = files.put(path)
        record = {"sha256": sha256, "name": name, "size": size, "media_type": media_type, "kind": kind}
        if media_type in evidence.PHOTO_TYPES:
            said = exif_of(files.path_of(sha256))
            if said:
                record["exif"] = said
                if evidence.taken_before_found(kind, said.get("taken_at"), case.found_at):
                    record["taken_before_found"] = True
        stored.append(record)
    return stored


def attach(commands, case_id: str, paths: list[str], *, actor: str | None, kind: str | None, note: str | None,
           now: datetime, expected_version: int | None = None, names: list[str] | None = None):
    """Attach the files at `paths` (shown under `names`, default their base names) to the case; returns
    (case after, the stored files' records)."""
    case_id = read_case_id(case_id)
    kind = evidence_kinds().check(kind or "other")
    if note is not None:
        note = limits.check_text(note.strip(), field="note", label="note", max_chars=limits.MAX_TEXT_CHARS,
                                 multiline=True) or None
    if not paths:
        raise InvalidInput("give at least one FILE to attach", field="file")
    if len(paths) > limits.MAX_ATTACH_FILES:
        raise InvalidInput(f"{len(paths)} files: at most {limits.MAX_ATTACH_FILES} are attached at once", field="file")
    names = names or [os.path.basename(p) for p in paths]
    engine = commands._engine
    files = files_of(engine)
    with commands.unit() as unit:
        case, who = unit.case_and_actor(case_id, actor)
        check_expected(case, expected_version)
        rulings.check_not_void(case)
        check_time_order(case, now)
        unit.check_effective(now, f"attaching to {case_id}")
        rulings._in_region(case, who, f"attach to {case_id}")
        stored = store_files(files, checked_files(unit, paths, names), kind, case)
        run = unit.run(case.workflow, case.workflow_version)
        data = {"files": stored}
        if note:
            data["note"] = note
        event = unit.event(case, trigger="attach", to_state=case.state, actor=who.name, role=who.roles[0] if who.roles
                           else "", at=now, data=data, run=run)
        return unit.append(case, [event], run), stored
