"""Files a command writes (an export, `--output`, `--heads`): whole or not at all.

Each is written to a temporary file beside its target (the same folder, so the same file system), flushed to
disk, and renamed over the target only once complete: a command that fails, or is killed, leaves the old file
or none, never half of one. A kill -9 may leave the hidden temporary file itself (`.NAME.XXXXXXXX.tmp.SUFFIX`,
which nothing reads; delete it at leisure). A file that cannot be written is a `WriteFailed` naming its path,
exit 8: input and output failed, the command was used right.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engine.domain.errors import WriteFailed


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A new empty temporary file beside `path` for the block to write; it becomes `path` when the block ends
    without an error and is removed otherwise. Made at once, so an unwritable folder fails before the work."""
    target = Path(path)
    if target.exists() and not target.is_dir() and not os.access(target, os.W_OK):
        raise WriteFailed(f"{path}: cannot write (the file is read-only)", path=str(path))
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")
    try:
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # the umask decides, as open() would
        if target.exists():
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))  # a file written again keeps its mode
    except OSError as exc:
        _remove(temp)
        note = ": the file is replaced whole by a new one made beside it, so its folder must take new files" \
            if target.exists() else ""
        raise failed(path, exc, note) from None
    try:
        yield temp
        _flush(temp)
        os.replace(temp, target)
    except OSError as exc:
        _remove(temp)
        raise failed(path, exc) from None
    except BaseException:
        _remove(temp)
        raise
    _flush_folder(target.parent)


def write_file(path: str | os.PathLike, data: str | bytes) -> None:
    """Text (UTF-8) or bytes to `path`, whole or not at all."""
    with replacing(path) as temp:
        if isinstance(data, bytes):
            temp.write_bytes(data)
        else:
            temp.write_text(data, encoding="utf-8")


def failed(path, exc: OSError, note: str = "") -> WriteFailed:
    return WriteFailed(f"{path}: cannot write ({exc.strerror or exc}){note}", path=str(path))


def _flush(path: Path) -> None:
    """The data on disk before the rename makes it the target: a crash after it never shows an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync folders; the rename itself is done
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
