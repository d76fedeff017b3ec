"""Report rendering costs: region names, rates, ranking, and a province-sized bulletin in md/html/xlsx.

Each figure is printed beside a raw baseline run in the same process (a dict lookup, a Decimal quantize,
sorting the same numbers, joining the same cells as text), so the ratios survive a busy machine.
    .venv/bin/python bench/bench_report_render.py
"""
from __future__ import annotations

import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from engine.domain import regions# noqa: E402
from engine.reports import bulletin, ranking# noqa: E402
from engine.reports.figures import rate# noqa: E402
from report_sample import sample_document  # noqa: E402


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    code = "import time; t = time.perf_counter(); import engine.domain.regions as r; r.name('371721'); " \
           "print((time.perf_counter() - t) * 1000)"
    first = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    bare = float(subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); "
                                 "print((time.perf_counter() - t) * 1000)"], capture_output=True, text=True).stdout)
    print(f"regions: first lookup in a fresh process {first:.1f} ms (import + table)")
    del bare

    codes = list(regions._table())
    names = {c: d.name for c, d in regions._table().items()}
    n = 200_000
    ours = timed(lambda: [regions.name(codes[i % len(codes)]) for i in range(n)])
    raw = timed(lambda: [names.get(codes[i % len(codes)]) for i in range(n)])
    print(f"regions.name: {n / ours:,.0f}/s, raw dict {n / raw:,.0f}/s, ratio {ours / raw:.1f}x")

    pairs = [(i * 7919 % 100_003, 100_003) for i in range(n)]
    ours = timed(lambda: [rate(a, b) for a, b in pairs])
    q = Decimal("0.01")
    raw = timed(lambda: [(Decimal(a) * 100 / Decimal(b)).quantize(q, ROUND_HALF_UP) for a, b in pairs])
    print(f"figures.rate: {n / ours:,.0f}/s, Decimal divide+quantize {n / raw:,.0f}/s, ratio {ours / raw:.2f}x")

    spec = ranking.parse_text("ranking: r\nindicators: [{indicator: rate, weight: 60}, "
                              "{indicator: overdue_count, weight: 40}]\n", "w.yaml")
    groups = {f"g{i}": {"rate": i * 37 % 101, "overdue_count": i * 13 % 50} for i in range(3000)}
    ours = timed(lambda: ranking.rank(spec, groups))
    raw = timed(lambda: sorted(groups, key=lambda g: -(groups[g]["rate"] * 60 - groups[g]["overdue_count"] * 40)))
    print(f"ranking of 3,000 groups: {ours * 1000:.1f} ms (exact fractions), plain sort {raw * 1000:.2f} ms, "
          f"ratio {ours / raw:.0f}x")

    doc = sample_document()
    template = doc["units"][2]
    doc["units"] = [dict(template, region=c) for c in regions.units("37", "county")]  # Shandong's 136 counties
    doc["overdue_major"] = doc["overdue_major"] * 100
    page = bulletin.page(doc)
    raw = timed(lambda: "\n".join("|".join(str(v) for v in row.values()) for t in page.tables() for row in t.rows), 5)
    for label, fn in (("md", bulletin.to_markdown_text), ("html", bulletin.to_html_text), ("xlsx", bulletin.to_xlsx_bytes)):
        took = timed(lambda: fn(doc), 3)
        print(f"bulletin, 136 counties + 300 named cases, {label}: {took * 1000:.0f} ms "
              f"(joining the same cells as text: {raw * 1000:.1f} ms, ratio {took / raw:.0f}x)")


if __name__ == "__main__":
    main()
