"""`hazard import --photos PATH` (*app*): a folder or a zip of photos named by the rows' hazard codes, attached to
the cases the import writes (engine/ledger/photos.py matches names to rows).

Everything is checked before anything is written: each matched file's size (the `attach_max_mb` setting),
its type from its bytes against its name (engine/domain/evidence.py), at most MAX_ATTACH_FILES per row and
MAX_PHOTOS in all; in a zip, each member's inflated size is read, not trusted from its header, and a member
inflating more than MAX_RATIO times is refused as a zip bomb. A photo no row's code starts is listed, not
attached; a photo of a row the register holds already is listed with its case, not attached again.

Zip archives made on Chinese Windows name their members in GBK without saying so (no UTF-8 flag): such a
name is read as GBK, as the archiver that wrote it meant.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager

from engine.domain import evidence, limits
from engine.domain.errors import InvalidInput, NotFound
from engine.ledger import photos as matching

MAX_PHOTOS = 100_000
MAX_RATIO = 100  # photos and PDFs are compressed already: a member inflating 100 times is no photo
_UTF8_FLAG = 0x800


class PhotoSource:
    """The photos of a folder (its files, sub-folders included) or of a zip, by name."""

    def __init__(self, path: str):
        self.path = path
        self.zip = None
        if not os.path.exists(path):
            raise NotFound(f"{path}: no such folder or zip of photos", kind="file", key=path)
        if os.path.isdir(path):
            self.files = self._folder(path)
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InvalidInput(f"{path}: photos come as a folder or a zip ({exc})", field="photos") from None
            self.files = self._members()
        if len(self.files) > MAX_PHOTOS:
            raise InvalidInput(f"{path}: {len(self.files):,} files; at most {MAX_PHOTOS:,} photos are imported at once",
                               field="photos")

    def _folder(self, root: str) -> list[tuple[str, str]]:
        found = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found.extend((name, os.path.join(folder, name)) for name in sorted(names) if not name.startswith("."))
            if len(found) > MAX_PHOTOS:
                break
        return found

    def _members(self) -> list[tuple[str, str]]:
        found = []
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            name = _member_name(info).replace("\\", "/").rsplit("/", 1)[-1]
            if not name or name.startswith(".") or info.filename.startswith("__MACOSX/"):
                continue
            found.append((name, info.filename))
        return found

    def head_and_size(self, source: str, max_bytes: int, label: str) -> tuple[bytes, int]:
        if self.zip is None:
            try:
                with open(source, "rb") as handle:
                    return handle.read(evidence.SNIFF_BYTES), os.fstat(handle.fileno()).st_size
            except OSError as exc:
                raise InvalidInput(f"{label}: cannot be read ({exc.strerror or exc})", field="photos") from None
        info = self.zip.getinfo(source)
        evidence.check_size(info.file_size, max_bytes, label=label)
        if info.compress_size and info.file_size > MAX_RATIO * info.compress_size and info.file_size > 1 << 20:
            raise InvalidInput(f"{label}: inflates {info.file_size // max(info.compress_size, 1)} times; no photo "
                               f"does (a zip bomb?)", field="photos")
        with self.zip.open(info) as handle:
            return handle.read(evidence.SNIFF_BYTES), info.file_size

    @contextmanager
    def local(self, source: str, max_bytes: int, label: str):
        """A path to the file's bytes: the file itself, or a zip member inflated (bounded) into a temporary file."""
        if self.zip is None:
            yield source
            return
        folder = tempfile.mkdtemp(prefix="hazard-photo-")
        try:
            target = os.path.join(folder, "member")
            written = 0
            with self.zip.open(source) as member, open(target, "wb") as out:
                while chunk := member.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:  # the header's size is the archiver's word, not the bytes'
                        evidence.check_size(written, max_bytes, label=label)
                    out.write(chunk)
            yield target
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")  # zipfile decoded it as cp437: undo that
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def plan(source: PhotoSource, codes: set[str], max_bytes: int) -> matching.Matched:
    """The photos matched to `codes`, each checked (size, type against name, count per row); raises InvalidInput
    naming every bad one before anything is written."""
    matched = matching.match(source.files, codes)
    problems = []
    for code, photos in matched.by_code.items():
        if len(photos) > limits.MAX_ATTACH_FILES:
            problems.append(f"{code}: {len(photos)} photos; at most {limits.MAX_ATTACH_FILES} per row")
        for photo in photos:
            label = f"{source.path}: {photo.name}"
            try:
                limits.check_text(photo.name, field="photos", label="photo name", max_chars=limits.MAX_NAME_CHARS)
                head, size = source.head_and_size(photo.source, max_bytes, label)
                evidence.check_size(size, max_bytes, label=label)
                evidence.media_type_of(photo.name, head, label=label)
            except InvalidInput as exc:
                problems.append(str(exc))
    if problems:
        more = len(problems) - 20
        raise InvalidInput("\n".join([f"{source.path}: {len(problems)} photo(s) cannot be attached; nothing was "
                                      "written", *problems[:20]] + ([f"... and {more} more"] if more > 0 else [])),
                           field="photos", rule="photos")
    return matched


def store(files, source: PhotoSource, photos: list, case, max_bytes: int) -> list[dict]:
    """Each photo of a row written to the evidence store; the records the row's `attach` event seals (as
    `hazard case attach` writes them, one event per kind)."""
    from engine.app.attach import store_files
    records = []
    for photo in photos:
        label = f"{source.path}: {photo.name}"
        with source.local(photo.source, max_bytes, label) as path:
            with open(path, "rb") as handle:
                media_type = evidence.media_type_of(photo.name, handle.read(evidence.SNIFF_BYTES), label=label)
            records.extend(store_files(files, [(path, photo.name, media_type)], photo.kind, case))
    return records
