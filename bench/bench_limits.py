"""What the input bounds cost, and how long the worst input the bounds still let in takes to refuse.

    .venv/bin/python bench/bench_limits.py [--repeat 20] [--scale 1]

`--scale 0.05` makes the hostile texts of section 3 that big a part of the limits (the test suite's smoke run,
a couple of seconds: the same code paths, without the refusals' size).

1. The built-in definitions: `engine.domain.definition.source.load` (bounded: depth, aliases, expanded size) against
   plain `yaml.safe_load` of the same texts, in the same process. Caches are bypassed (`source.load`, not the
   cached `parse_text`).
2. Field values: `vocabulary.coerce` (type, control characters, length, money and year bounds) against
   `str.strip`, the floor, for the five implementations.
3. Hostile definitions near the limits, each refused: seconds to answer (before the bounds, the alias bomb
   ran past 60 s and 290 MB, and 5,000 levels of nesting raised RecursionError).
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from engine.domain import limits# noqa: E402
from engine.domain.definition import source# noqa: E402
from engine.domain.definition.model import FieldSpec# noqa: E402
from engine.domain.definition.fields_and_guards import coerce# noqa: E402
from engine.domain.errors import DefinitionInvalid# noqa: E402
from engine.app.registry import load_definition# noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "workflows").glob("*.yaml"))]
FIVE = [(FieldSpec("responsible_unit", "text"), "某化工有限公司"), (FieldSpec("responsible_person", "person"), "王五"),
        (FieldSpec("measures", "text"), "加装泄漏报警并联锁"), (FieldSpec("funds", "money"), "1,200.50元"),
        (FieldSpec("deadline", "date"), "2026-04-30"), (FieldSpec("emergency_plan", "text"), "液氨泄漏专项应急预案")]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def hostile(scale: float = 1.0) -> dict[str, str]:
    levels = 9 if scale >= 1 else 3
    bomb = ["workflow: bomb", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    room = int((limits.MAX_DEFINITION_BYTES - 100) * scale)
    deep, items, kib = int(5000 * scale), int(60_000 * scale), room // 1024
    return {
        f"alias bomb (9 x {levels}, 10^{levels} values)": "\n".join(bomb) + "\n",
        f"{deep:,} levels of [": "workflow: deep\nx: " + "[" * deep + "]" * deep + "\n",
        f"flow list, {items:,} items": "workflow: wide\nx: [" + ", ".join(["1"] * items) + "]\n",
        f"block list, {kib} KiB": "workflow: long\nx:\n" + "- a\n" * (room // 4),
        f"one plain scalar, {kib} KiB": "workflow: one\ndescription: " + "隐患 " * (room // 7) + "\n",
        f"unknown keys, {kib} KiB": "workflow: keys\n" + "".join(f"k{i}: v\n" for i in range(room // 12)),
        f"NUL at the end of {kib} KiB": "workflow: nul\ndescription: " + "a" * (room - 40) + "\x00\n",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0, help="hostile texts at this part of the limits")
    args = parser.parse_args()
    repeat = args.repeat

    raw = best(lambda: [yaml.safe_load(t) for t in SHIPPED], repeat)
    bounded = best(lambda: [source.load(t, "w.yaml") for t in SHIPPED], repeat)
    print(f"built-in definitions ({len(SHIPPED)} files, {sum(map(len, SHIPPED)):,} chars), best of {repeat}:")
    print(f"  yaml.safe_load      {raw * 1000:8.2f} ms  (1.00x)")
    print(f"  source.load bounded {bounded * 1000:8.2f} ms  ({bounded / raw:.2f}x)")

    rounds = 2000 if args.scale >= 1 else 200
    floor = best(lambda: [str(v).strip() for _ in range(rounds) for _, v in FIVE], repeat)
    checked = best(lambda: [coerce(spec, v) for _ in range(rounds) for spec, v in FIVE], repeat)
    per = len(FIVE) * rounds
    print(f"field values ({per:,} coerced), best of {repeat}:")
    print(f"  str.strip           {floor / per * 1e6:8.3f} us per value  (1.00x)")
    print(f"  vocabulary.coerce   {checked / per * 1e6:8.3f} us per value  ({checked / floor:.1f}x)")

    print("hostile definitions, each refused: seconds (one run), then peak memory (a second run, traced)")
    for name, text in hostile(args.scale).items():
        start = time.perf_counter()
        outcome = refusal(text)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        refusal(text)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {name:34} {seconds:6.2f} s  peak {peak / 2 ** 20:6.1f} MiB  {outcome}")


def refusal(text: str) -> str:
    try:
        load_definition(text, "hostile.yaml")
        return "accepted (!)"
    except DefinitionInvalid as exc:
        return f"{len(exc.problems)} problem(s): {exc.problems[0][2][:60]}"

if __name__ == "__main__":
    main()
