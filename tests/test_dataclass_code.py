"""The console command's kept dataclass methods (cli/dataclass_code.py): the classes are the ones `dataclasses`
makes by compiling, the kept code is used on the next start, and a file that is not what it should be is ignored."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Makes classes of engine modules, with the kept code (`kept`) or as dataclasses alone (`plain`), and says how
# they behave and which modules compiled a method text this time.
PROBE = """
import dataclasses, inspect, json, sys
from cli import dataclass_code
dataclass_code.KEPT = sys.argv[1]
if sys.argv[2] == "kept":
    dataclass_code.use_kept_code()
from engine.domain.definition.model import Command, Definition, Guard
from engine.domain.events import Event
guard = Guard("equals", field="level", value="major", line=3)
same = Guard("equals", field="level", value="major", line=3)
try:
    guard.kind = "present"
    frozen = "assigned"
except dataclasses.FrozenInstanceError as exc:
    frozen = str(exc)
print(json.dumps({
    "repr": repr(guard), "repr_command": repr(Command(roles=("supervisor",), guards=(guard,))),
    "equal": guard == same, "unequal": guard == Guard("present"), "hash": hash(guard) == hash(same),
    "frozen": frozen, "signatures": [str(inspect.signature(c)) for c in (Command, Definition, Guard, Event)],
    "fields": [f.name for f in dataclasses.fields(Definition)],
    "compiled": sorted(dataclass_code._changed),
}))
dataclass_code.keep()
"""


def _probe(kept: Path, how: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(kept), how], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_kept_methods_make_the_same_classes_and_are_used_on_the_next_start(tmp_path):
    kept = tmp_path / "methods.marshal"
    plain = _probe(kept, "plain")
    assert not kept.exists()
    first = _probe(kept, "kept")
    assert "engine.domain.definition.model" in first["compiled"] and kept.exists()
    again = _probe(kept, "kept")
    assert again["compiled"] == []  # every method of those classes came from the file
    for found in (first, again):
        assert {k: v for k, v in found.items() if k != "compiled"} == {k: v for k, v in plain.items() if k != "compiled"}
    assert plain["frozen"] == "cannot assign to field 'kind'" and plain["equal"] and not plain["unequal"]


def test_a_file_that_is_not_kept_code_is_ignored(tmp_path):
    kept = tmp_path / "methods.marshal"
    plain = _probe(kept, "plain")
    import marshal
    other_python = marshal.dumps((b"\x00\x00\r\n", {"engine.domain.definition.model": marshal.dumps({})}))
    for body in (b"", b"not marshal at all", b"\x00" * 64, other_python):
        kept.write_bytes(body)
        found = _probe(kept, "kept")
        assert "engine.domain.definition.model" in found["compiled"]
        assert {k: v for k, v in found.items() if k != "compiled"} == {k: v for k, v in plain.items() if k != "compiled"}
