"""Ledger reading throughput: 100,000 rows x 15 columns from CSV and from xlsx, read and validated, in rows per second
against a bare reader of the same file in the same run.

    .venv/bin/python bench/bench_ledger_read.py [--rows 100000] [--keep DIR]

Generation (untimed): one CSV (UTF-8 with BOM, dates written several ways as offices do) and one xlsx (xlsxwriter,
date cells, Excel serials, a title row and a metadata row above the header) of the same rows.

Engine: `read_ledger(path, defaults=...)`: read the file, find the header, map the columns, parse and check
every row as `hazard import` would before writing anything.
Floors, same process, same files: the csv module reading the decoded file into lists; python-calamine's
`to_python()` of the same sheet. The floors check nothing. Goals: CSV under 10 s, xlsx under 5 s.
Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import python_calamine  # noqa: E402
import xlsxwriter  # noqa: E402

from engine.ledger import read_ledger# noqa: E402

HEADER = ["序号", "企业名称", "隐患内容", "排查日期", "隐患级别", "行政区划", "行业", "隐患来源", "整改措施", "责任单位", "责任人",
          "整改资金", "整改期限", "隐患状态", "复查日期"]
LEVELS = ["一般", "一般隐患", "重大事故隐患", "重大"]
STATES = ["整改中", "已整改", "未整改", "已销号", "待验收"]
SOURCES = ["企业自查", "执法检查", "暗查暗访", "举报"]
INDUSTRIES = ["危险化学品", "工贸", "非煤矿山", "建筑施工", "燃气"]
FUNDS = ["15万", "150000", "1,200.50元", "3.5万元", ""]


def make_rows(n: int) -> list[list]:
    """Rows of Python values: dates as dates (the CSV writer spells them out in varied forms)."""
    rnd = random.Random(7)
    start = date(2024, 1, 1)
    rows = []
    for i in range(n):
        found = start + timedelta(days=rnd.randrange(900))
        state = STATES[i % len(STATES)]
        verified = found + timedelta(days=rnd.randrange(1, 60)) if state == "已销号" else ""
        rows.append([i + 1, f"菏泽市第{i % 3000}号化工有限公司", f"第{i}号储罐区液位计失效，未设置高低液位报警", found,
                     LEVELS[i % 4], f"3717{21 + i % 9:02d}", INDUSTRIES[i % 5], SOURCES[i % 4], "更换液位计并加装高低液位报警联锁",
                     "设备部", f"王{i % 100}", FUNDS[i % 5], found + timedelta(days=30), state, verified])
    return rows


def date_forms(day: date, i: int) -> str:
    return (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日",
            day.strftime("%Y%m%d"))[i % 4]


def write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["某县隐患排查治理台账"])
        writer.writerow(HEADER)
        for i, row in enumerate(rows):
            writer.writerow([date_forms(v, i) if isinstance(v, date) else v for v in row])


def write_xlsx(path: Path, rows: list[list]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("台账")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.write(0, 0, "某县隐患排查治理台账")
    ws.write(1, 0, "填报单位：某县应急管理局    填报时间：2026年3月5日")
    ws.write_row(2, 0, HEADER)
    epoch = date(1899, 12, 30)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            if isinstance(value, date):
                if c == 3 and r % 3 == 0:
                    ws.write_number(r, c, (value - epoch).days)  # a bare Excel serial, as pasted ledgers have
                else:
                    ws.write_datetime(r, c, value, day)
            elif value != "":
                ws.write(r, c, value)
    book.close()


def timed(fn):
    """Wall seconds (the figure the goals are in) and CPU seconds (steadier when other work shares the cores)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), result


def bare_csv(path: Path) -> int:
    text = path.read_bytes().decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text, newline=""))))


def bare_xlsx(path: Path) -> int:
    with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
        return len(book.get_sheet_by_index(0).to_python(skip_empty_area=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", help="write the generated files into this directory and keep them")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.rows
    try:
        rows = make_rows(n)
        csv_path, xlsx_path = folder / "ledger.csv", folder / "ledger.xlsx"
        (gen_csv, _), _ = timed(lambda: write_csv(csv_path, rows))
        (gen_xlsx, _), _ = timed(lambda: write_xlsx(xlsx_path, rows))
        del rows
        print(f"generated {n:,} rows x {len(HEADER)} columns: CSV {csv_path.stat().st_size / 1e6:.1f} MB in {gen_csv:.1f} s, "
              f"xlsx {xlsx_path.stat().st_size / 1e6:.1f} MB in {gen_xlsx:.1f} s (untimed)")
        figures = {}
        for kind, path, bare in (("csv", csv_path, bare_csv), ("xlsx", xlsx_path, bare_xlsx)):
            floor_s, _ = timed(lambda: bare(path))
            engine_s, ledger = timed(lambda: read_ledger(path, defaults={"region": "371721"}))
            valid = len(ledger.valid_rows)
            if len(ledger.rows) != n or valid != n:
                print(f"  {kind}: read {len(ledger.rows):,} rows, {valid:,} valid; first problems: {ledger.problems()[:3]}")
            figures[kind] = (floor_s, engine_s)
        print(f"{'':32}{'seconds':>9}{'cpu s':>8}{'rows/s':>10}{'x floor':>9}")
        for kind, ((floor_s, floor_cpu), (engine_s, engine_cpu)) in figures.items():
            floor_name = "csv module" if kind == "csv" else "calamine to_python"
            print(f"{kind + ' floor (' + floor_name + ')':32}{floor_s:9.2f}{floor_cpu:8.2f}{n / floor_s:10,.0f}{1:9.2f}")
            print(f"{kind + ' read + validate':32}{engine_s:9.2f}{engine_cpu:8.2f}{n / engine_s:10,.0f}"
                  f"{engine_s / floor_s:9.2f}")
        (csv_floor, _), (csv_s, _) = figures["csv"]
        (xlsx_floor, _), (xlsx_s, _) = figures["xlsx"]
        print(f"goals    : CSV {csv_s:.1f} s (under 10 s), xlsx {xlsx_s:.1f} s (under 5 s)")
        print(f"ratio    : {xlsx_s / xlsx_floor:8.2f}x the calamine floor (xlsx), {csv_s / csv_floor:.2f}x the csv floor (CSV)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
