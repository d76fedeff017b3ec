"""The methods `dataclasses` writes for the project's classes, compiled once and kept, as Python keeps a module's
bytecode.

A frozen dataclass gets six methods (__init__, __repr__, __eq__, __hash__, __setattr__, __delattr__), each written
as source text and compiled by `exec` when the class is made, at every start of every process: for the forty-odd
classes a `case advance` loads, about a tenth of the whole process, more than its SQL. The text is the same at
every start, so its compiled code is too: `dataclasses` is handed a stand-in for `exec` that looks the text up
among the code objects compiled before (kept in `__pycache__`, marshalled, one file per Python version, as .pyc
files are) and compiles only a text it has not seen. The classes are built by `dataclasses` itself from the same
code, so they are the same classes; a file that cannot be read or holds something else is ignored.

Only the classes of this project's modules are looked up (a library's import costs what it costs), and only the
console command takes it up (`run`, as it pauses the collector): a test that calls `cli` in its own process
compiles as usual. The file carries the interpreter's bytecode magic number and is ignored under another one.
Written at exit when something new was compiled, unless PYTHONDONTWRITEBYTECODE says not to write bytecode;
`make install` writes it either way, as it compiles the modules (`python -m cli.dataclass_code`).
"""
import atexit
import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER

OURS = ("engine.", "cli.", "web.")
KEPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "engine", "__pycache__",
                    f"dataclass-methods.{sys.implementation.cache_tag}.marshal")
MAX_TEXTS = 200    # of one module: more than any module's classes have methods; past it its part starts over

_run = exec
_CODE = type(compile("", "<string>", "exec"))
# The file is one part per module (its texts and their code, marshalled again), so a process unmarshals the
# parts of the modules it imports and not the six hundred texts of all of them.
_parts: dict[str, bytes] = {}
_codes: dict[str, dict] = {}   # module -> text -> code, for the modules this process made classes in
_changed: set[str] = set()


def use_kept_code() -> None:
    """From now on `dataclasses` runs the kept code of a method's text where there is some."""
    if dataclasses.__dict__.get("exec") is _exec:
        return
    dataclasses.exec = _exec  # the file is read when the first of the project's classes is made
    if not sys.dont_write_bytecode:
        atexit.register(keep)


def _exec(source, globals=None, locals=None):
    if type(source) is str:
        source = _code(source, globals.get("__name__") if isinstance(globals, dict) else None)
    return _run(source, globals, locals)


def _code(text: str, module):
    """The code of `text`: kept, or compiled as `exec` would compile it in dataclasses, whose module has no
    `from __future__` (dont_inherit: this module's own flags must not reach it, nor a library's classes)."""
    if not (isinstance(module, str) and module.startswith(OURS)):
        return compile(text, "<string>", "exec", dont_inherit=True)
    codes = _codes.get(module)
    if codes is None:
        if not _codes:  # the first of this process: `hazard --help` makes none and reads nothing
            _parts.update(_read())
        codes = _codes[module] = _unpacked(_parts.get(module))
    code = codes.get(text)
    if code is None:
        code = codes[text] = compile(text, "<string>", "exec", dont_inherit=True)
        _changed.add(module)
    return code


def _read() -> dict[str, bytes]:
    try:
        with open(KEPT, "rb") as handle:
            kept = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not (isinstance(kept, tuple) and len(kept) == 2 and kept[0] == MAGIC_NUMBER and isinstance(kept[1], dict)):
        return {}
    parts = kept[1]
    return {module: part for module, part in parts.items() if type(module) is str and type(part) is bytes}


def _unpacked(part: bytes | None) -> dict:
    if part is None:
        return {}
    try:
        codes = marshal.loads(part)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict) or len(codes) > MAX_TEXTS:
        return {}
    return {text: code for text, code in codes.items() if type(text) is str and type(code) is _CODE}


def keep(*, always: bool = False) -> None:
    """Write the parts again when some module's classes compiled something new (or `always`). Best effort: a
    read-only install compiles at every start, as it would without this module."""
    if not _changed and not always:
        return
    parts = dict(_parts)
    for module in _changed:
        parts[module] = marshal.dumps(_codes[module])
    partial = f"{KEPT}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(KEPT), exist_ok=True)
        with open(partial, "wb") as handle:
            handle.write(marshal.dumps((MAGIC_NUMBER, parts)))
        os.replace(partial, KEPT)  # whole or not at all, whichever process writes last
    except (OSError, ValueError):
        try:
            os.unlink(partial)
        except OSError:
            pass
        return
    _parts.update(parts)
    _changed.clear()


def warm() -> int:
    """Make every class of `engine` and `cli` once and keep their methods' code; returns how many texts are kept."""
    import importlib
    import pkgutil

    use_kept_code()
    for package in ("engine", "cli"):
        root = importlib.import_module(package)
        for found in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if ".schema_migrations" in found.name:
                continue  # Alembic's scripts, run only by Alembic
            try:
                importlib.import_module(found.name)
            except Exception:  # noqa: BLE001 - a module that cannot be imported here has no classes to keep
                continue
    keep(always=True)
    return sum(len(codes) for codes in _codes.values())


if __name__ == "__main__":
    print(f"{warm()} method texts kept in {KEPT}")
