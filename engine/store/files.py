"""The evidence files' storage adapter: a directory of files named by their SHA-256 (content-addressed).

`HAZARD_FILES` names the directory (for several machines, a shared mount); on SQLite the default is a folder
beside the database file (`hazard.db` -> `hazard.db.files/`); on PostgreSQL there is no default: the setting is
required before anything is attached. A file is stored under `ab/abcdef...` (the first two hex digits a
folder, so no directory grows past a few thousand entries), written under a temporary name in that folder,
flushed to disk (fsync), then renamed into place: a reader never sees half a file, and a crash leaves at most
a temporary file. A stored file is never overwritten: the same hash is the same bytes, and is reused (the copy
just made is then discarded without being synced: the bytes that count were synced when they were stored).
"""
from __future__ import annotations

import hashlib
import os
import tempfile

from engine.domain.errors import InvalidInput, WriteFailed

CHUNK = 1 << 20


class FileStore:
    def __init__(self, root: str):
        self.root = root

    @classmethod
    def for_database(cls, sqlite_path: str | None, configured: str | None = None) -> "FileStore | None":
        """The store `HAZARD_FILES` (or `configured`) names, else the folder beside the SQLite file; None on a
        server database with no setting (attaching then says what to set)."""
        configured = configured if configured is not None else os.environ.get("HAZARD_FILES", "").strip()
        if configured:
            return cls(configured)
        if sqlite_path:
            return cls(f"{sqlite_path}.files")
        return None

    def path_of(self, sha256: str) -> str:
        return os.path.join(self.root, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return os.path.isfile(self.path_of(sha256))

    def put(self, source: str, expected: str | None = None) -> tuple[str, int, bool]:
        """Store the file at path `source`: (sha256, size, newly written). Hashes while copying to a temporary
        file beside the target, fsyncs it and renames it into place; a hash already stored is left as it is."""
        folder = None
        try:
            os.makedirs(self.root, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        except OSError as exc:
            raise WriteFailed(f"{self.root}: cannot write the evidence store ({exc.strerror or exc}); "
                              "nothing was attached") from None
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                sha256 = digest.hexdigest()
                target = self.path_of(sha256)
                held = os.path.isfile(target)
                if not held:  # a copy about to be discarded need not reach the disk first
                    os.fsync(out.fileno())
            if expected is not None and sha256 != expected:
                raise InvalidInput(f"{source}: the file changed while it was being stored; nothing was attached",
                                   field="file")
            if held:
                os.unlink(temporary)
                return sha256, size, False
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            os.chmod(temporary, 0o444)
            # link(2) fails if the name exists: a file written meanwhile by another process is never replaced.
            try:
                os.link(temporary, target)
            except FileExistsError:
                pass
            except OSError:
                os.replace(temporary, target)  # a file system without hard links: same bytes for the same name
            if os.path.exists(temporary):
                os.unlink(temporary)
            _fsync_dir(folder)
            return sha256, size, True
        except OSError as exc:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise WriteFailed(f"{self.root}: cannot write the evidence store ({exc.strerror or exc}); "
                              "nothing was attached") from None
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def check(self, sha256: str) -> str | None:
        """What is wrong with the stored file sealed as `sha256`: None when it exists and still hashes to it."""
        path = self.path_of(sha256)
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
        except FileNotFoundError:
            return "missing from the evidence store"
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
        if digest.hexdigest() != sha256:
            return f"altered: its bytes now hash to {digest.hexdigest()}"
        return None


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
