"""Attaching N photos of S MB to cases and verifying them, against a bare hash-and-copy of the same files.

    .venv/bin/python bench/bench_attach.py [--photos 1000] [--mb 3] [--per-command 10] [--repeat 1] [--db URL]

Photos: N distinct JPEGs of S MB each (a real 640x480 JPEG with EXIF: time taken, device, GPS; then random bytes
after its end marker, so every file hashes differently and Pillow still reads its EXIF), written once to a
temporary folder before anything is timed.

Engine: `Commands.attach` as `hazard case attach` runs it, `--per-command` files a command on 20 cases: each file
statted, its first bytes sniffed, hashed while copied to a temporary name in the store, fsynced, linked into
place (and its folder fsynced), its EXIF read with Pillow, then one `attach` event per command sealing them
all. Then `Auditor.verify()` as `hazard audit verify` runs it: every chain and every sealed file re-hashed.

Floors, same process, same files: `hash-and-copy` reads each file in 1 MB chunks, hashes it with SHA-256 and
writes it to a new file, fsynced (the same durability the store gives, without the folder fsync, the rename,
the sniffing, the EXIF or any event); `hash-and-copy, no fsync` the same without fsync (the page cache only,
for reference: nothing a crash would keep); `re-hash` reads and hashes every copy (the floor of verify).
Each figure is the best of `--repeat` runs, engine and floors alternating which goes first, with `os.sync()`
before each timed part (no part pays for the writes of the one before), so a busy machine slows both alike.
Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import Engine  # noqa: E402
from engine.domain.clock import FixedClock, parse_time  # noqa: E402
from engine.store.database import Store  # noqa: E402
from engine.store.files import CHUNK  # noqa: E402

CASES = 20


def make_photos(folder: Path, count: int, megabytes: float) -> list[Path]:
    from PIL import Image
    image = Image.new("RGB", (640, 480), (120, 130, 140))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "HUAWEI", "P60"
    exif.get_ifd(0x8769)[0x9003] = "2026:03:05 10:00:00"
    exif[0x8825] = {1: "N", 2: (35.0, 15.0, 0.0), 3: "E", 4: (115.0, 30.0, 0.0)}
    head = io.BytesIO()
    image.save(head, "JPEG", exif=exif)
    pad = max(0, int(megabytes * 1_000_000) - len(head.getvalue()))
    paths = []
    for i in range(count):
        path = folder / f"HZ-{i:05d}.jpg"
        with open(path, "wb") as out:
            out.write(head.getvalue())
            out.write(os.urandom(pad))
        paths.append(path)
    return paths


def new_engine(url: str, files_root: str) -> tuple[Engine, list[str]]:
    from engine.store.files import FileStore
    engine = Engine(Store(url, create=True), clock=FixedClock(parse_time("2026-03-06T09:00")), trust_backdating=True)
    engine.files = FileStore(files_root)
    engine.init(admin="li", admin_regions=["37"])
    engine.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    ids = [engine.commands.report_case(actor="ent", workflow="major-hazard", title=f"液氨储罐区泄漏报警 {i}",
                                       enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                       level="major", source="self_check", now="2026-03-02T09:00").id
           for i in range(CASES)]
    return engine, ids


def run_engine(engine: Engine, ids: list[str], photos: list[Path], per_command: int) -> tuple[float, float]:
    start = time.perf_counter()
    for n, at in enumerate(range(0, len(photos), per_command)):
        engine.commands.attach(ids[n % len(ids)], [str(p) for p in photos[at:at + per_command]], actor="ent",
                               kind="rectified")
    attached = time.perf_counter() - start
    start = time.perf_counter()
    report = engine.audit.verify()
    verified = time.perf_counter() - start
    assert not report.breaks, report.breaks[:3]
    return attached, verified


def hash_and_copy(photos: list[Path], folder: Path, *, sync: bool) -> float:
    folder.mkdir()
    start = time.perf_counter()
    for i, source in enumerate(photos):
        digest = hashlib.sha256()
        with open(source, "rb") as handle, open(folder / f"{i}", "wb") as out:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        digest.hexdigest()
    return time.perf_counter() - start


def rehash(folder: Path) -> float:
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        digest.hexdigest()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=3.0, help="each photo's size in MB (10^6 bytes)")
    parser.add_argument("--per-command", type=int, default=10, help="files per `case attach` (at most 50)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--db", default=None, help="a database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-attach-"))
    try:
        t0 = time.perf_counter()
        photos = make_photos(work, args.photos, args.mb)
        total_mb = sum(p.stat().st_size for p in photos) / 1e6
        print(f"{args.photos} photos of {args.mb:g} MB ({total_mb:,.0f} MB) made in {time.perf_counter() - t0:.1f} s; "
              f"{args.per_command} a command on {CASES} cases")
        best = {}
        for run in range(args.repeat):
            root = work / f"run{run}"
            root.mkdir()
            url = args.db or f"sqlite:///{root / 'hazard.db'}"
            engine, ids = new_engine(url, str(root / "files"))
            # os.sync() before each timed part: no part pays for the previous one's pages still being written.
            # Odd runs time the floors first, so neither side always runs on a disk the other just filled.
            timings = {}

            def engine_part():
                os.sync()
                timings["attach"], timings["verify"] = run_engine(engine, ids, photos, args.per_command)

            def floor_part():
                os.sync()
                timings["copy"] = hash_and_copy(photos, root / "copy", sync=True)
                os.sync()
                timings["plain"] = hash_and_copy(photos, root / "plain", sync=False)
                os.sync()
                timings["rehash"] = rehash(root / "copy")
            for part in ((engine_part, floor_part) if run % 2 == 0 else (floor_part, engine_part)):
                part()
            attached, verified, synced, plain, again = (timings[k] for k in ("attach", "verify", "copy", "plain",
                                                                             "rehash"))
            for key, value in (("attach", attached), ("verify", verified), ("copy", synced), ("plain", plain),
                               ("rehash", again)):
                best[key] = min(best.get(key, value), value)
            shutil.rmtree(root, ignore_errors=True)
            if args.db:
                break  # a server database keeps its rows: one run (use a fresh database per run)

        def line(name, seconds, floor, floor_name):
            print(f"{name:<28} {seconds:8.2f} s  {total_mb / seconds:8.0f} MB/s   {seconds / floor:5.2f}x {floor_name}")
        line("engine attach", best["attach"], best["copy"], "hash-and-copy (fsync)")
        line("engine attach", best["attach"], best["plain"], "hash-and-copy, no fsync")
        line("hash-and-copy (fsync)", best["copy"], best["copy"], "")
        line("hash-and-copy, no fsync", best["plain"], best["plain"], "")
        line("engine audit verify", best["verify"], best["rehash"], "re-hash")
        line("re-hash", best["rehash"], best["rehash"], "")
        print(f"attach {best['attach'] / best['copy']:.2f}x hash-and-copy; verify {best['verify'] / best['rehash']:.2f}x "
              "re-hash")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
