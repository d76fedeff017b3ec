"""Evidence attached to a case: what a stored file is, judged from its bytes, and the rules on it.

Pure: the bytes (or their first few kilobytes) come in, a media type or the error saying why the file is refused
goes out. The storage adapter (engine/store/files.py) writes the bytes; the command (engine/app/attach.py) seals
what is decided here in an `attach` event.

The accepted types are a closed list (`MEDIA_TYPES`): photos from cameras and phones (JPEG, PNG, HEIC) and
documents (PDF, Office: OOXML and the legacy OLE formats). The type is sniffed from the magic numbers, never
taken from the name; a name whose extension says another type (a .jpg that is a PDF) is refused.
"""
from __future__ import annotations

from datetime import datetime

from engine.domain.errors import InvalidInput

# Media type -> the file-name extensions that may carry it.
MEDIA_TYPES = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/heic": (".heic", ".heif"),
    "application/pdf": (".pdf",),
    # OOXML is a zip; told apart by the name (a zip's members say which, but any of the three is accepted).
    "application/vnd.openxmlformats-officedocument": (".docx", ".xlsx", ".pptx"),
    # The legacy Office formats are OLE compound files.
    "application/x-ole-storage": (".doc", ".xls", ".ppt"),
}
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/heic"})
_HEIC_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx")
# How many leading bytes `sniff` needs.
SNIFF_BYTES = 64


def sniff(head: bytes) -> str | None:
    """The media type the file's first bytes say, among MEDIA_TYPES; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/vnd.openxmlformats-officedocument"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    return None


def accepted_extensions() -> str:
    return ", ".join(ext for exts in MEDIA_TYPES.values() for ext in exts)


def media_type_of(name: str, head: bytes, *, label: str) -> str:
    """The media type of a file named `name` whose bytes start with `head`, or InvalidInput (exit 2): a type
    not on the list, or bytes that contradict the name's extension."""
    found = sniff(head)
    if found is None:
        raise InvalidInput(f"{label}: not an accepted type (the bytes are none of JPEG, PNG, HEIC, PDF or an Office "
                           f"document; accepted: {accepted_extensions()})", field="file")
    lowered = name.lower()
    dot = lowered.rfind(".")
    extension = lowered[dot:] if dot > 0 else ""
    claimed = next((t for t, exts in MEDIA_TYPES.items() if extension in exts), None)
    if claimed is None:
        raise InvalidInput(f"{label}: the name's extension {extension or '(none)'} is not an accepted one "
                           f"({accepted_extensions()})", field="file")
    if claimed != found:
        raise InvalidInput(f"{label}: the name says {claimed} but the bytes are {found}; rename or re-export the "
                           "file, nothing was stored", field="file")
    return found


def check_size(size: int, max_bytes: int, *, label: str) -> None:
    if size > max_bytes:
        raise InvalidInput(f"{label}: {size:,} bytes, more than the limit of {max_bytes // 1_000_000} MB per file "
                           "(attach_max_mb, which the committee sets)", field="file")
    if size == 0:
        raise InvalidInput(f"{label}: the file is empty", field="file")


def taken_before_found(kind: str, taken_at: str | None, found_at: datetime | None) -> bool:
    """A rectification photo whose camera says it was taken before the hazard was found: flagged wherever the
    evidence is shown (the photo may show another place, or the state before)."""
    if kind != "rectified" or not taken_at or found_at is None:
        return False
    try:
        taken = datetime.fromisoformat(taken_at)
    except ValueError:
        return False
    if taken.tzinfo is None:  # EXIF times carry no zone: read as the offices' local time (UTC+8)
        from engine.domain.clock import SHANGHAI
        taken = taken.replace(tzinfo=SHANGHAI)
    return taken < found_at


def attachments_of(events) -> list[dict]:
    """Every file attached to a case, from its events (oldest first): each the event's file record with the
    `seq`, `at` and `actor` of its `attach` event."""
    found = []
    for event in events:
        if event.trigger != "attach":
            continue
        for item in event.data.get("files") or ():
            found.append({**item, "seq": event.seq, "at": event.at, "actor": event.actor,
                          "note": event.data.get("note")})
    return found


def missing_kinds(required: tuple[str, ...], attached: set[str]) -> tuple[str, ...]:
    """What `requires_attachments` still misses: any ONE of the kinds listed satisfies it (any-of), so the
    whole list is missing when none of them is attached, and nothing otherwise."""
    if not required or attached.intersection(required):
        return ()
    return tuple(required)


def evidence_document(events, *, as_of: datetime | None = None) -> list[dict]:
    """The evidence on a case as `hazard case show --json` (key `evidence`), the API and the dossier list it:
    each sealed file with its hash, name, size, media type, kind, when and by whom it was attached, and what a
    photo says of itself (taken_at, gps, device) with the flag of a rectification photo taken before the hazard
    was found. With `as_of`, only what was attached by then."""
    from engine.domain.clock import iso
    shown = []
    for item in attachments_of(events):
        if as_of is not None and item["at"] > as_of:
            continue
        doc = {"sha256": item["sha256"], "name": item["name"], "size": item["size"],
               "media_type": item["media_type"], "kind": item["kind"], "attached_at": iso(item["at"]),
               "by": item["actor"]}
        said = item.get("exif") or {}
        for key in ("taken_at", "gps", "device"):
            if said.get(key) is not None:
                doc[key] = said[key]
        if item.get("taken_before_found"):
            doc["taken_before_found"] = True
        if item.get("note"):
            doc["note"] = item["note"]
        shown.append(doc)
    return shown
