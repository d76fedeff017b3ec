"""Issue 17: input that would take the machine down is refused before it is parsed, naming the bound and the
file, exit 2: the file's size (the setting import_max_mb), a workbook part's inflated size and compression
ratio, a sheet's cells from A1, a CSV line's length. A zip bomb and an endless line are refused in a real
process under a memory cap, with bounded memory."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from cli.main import cli
from ledger_bombs import far_cell, long_line_csv, ods, ods_repeated, sheet_bomb

ROOT = Path(__file__).resolve().parent.parent
HAZARD = Path(sys.executable).parent / "hazard"
NOW = "2026-04-01T09:00"
CAP = 1536 << 20          # address space of the importing process
PEAK = 500 << 10          # ru_maxrss is in KiB: 500 MB


@pytest.fixture
def hz(runner, seeded_url):
    def invoke(*args, actor="zhang", now=NOW):
        return runner.invoke(cli, ["--db", seeded_url, "--now", now, "--actor", actor, *map(str, args)])
    invoke.url = seeded_url
    return invoke


def capped_import(url: str, path: Path) -> tuple[int, str, int]:
    """`hazard import --dry-run` in a process of its own under RLIMIT_AS; (exit code, stderr, peak RSS KiB)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    args = [str(HAZARD), "--db", url, "--actor", "zhang", "--now", NOW, "import", str(path), "--dry-run",
            "--set", "region=371721"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=cap,
                               env={**os.environ, "COLUMNS": "200"})
    stderr = process.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.stderr.close()
    return os.waitstatus_to_exitcode(status), stderr, usage.ru_maxrss


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_zip_bomb_and_an_endless_line_are_refused_with_bounded_memory(tmp_path, sqlite_templates, backend):
    """A 7 MB xlsx whose sheet inflates to 1.06 GiB took gigabytes (a bigger one aborted the process, exit 134);
    a 40 MB CSV of one line was read whole. Now both exit 2 naming the bound and the file, under 500 MB."""
    import shutil
    db = tmp_path / "hazard.db"
    shutil.copyfile(sqlite_templates["seeded"], db)
    url = f"sqlite:///{db}"
    bomb = sheet_bomb(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 16 << 20
    code, stderr, peak = capped_import(url, bomb)
    assert code == 2, stderr
    assert "bomb.xlsx: part xl/worksheets/sheet1.xml: more than 134,217,728 bytes inflated" in stderr
    assert "Traceback" not in stderr and peak < PEAK, (peak, stderr)
    line = long_line_csv(tmp_path / "line.csv")
    code, stderr, peak = capped_import(url, line)
    assert code == 2, stderr
    assert "line.csv:2: a line of more than 1,000,000 characters (the bound on a CSV line)" in stderr
    assert "Traceback" not in stderr and peak < PEAK, (peak, stderr)


def test_a_cell_far_from_a1_is_refused_before_the_reader_fills_the_rectangle(hz, tmp_path):
    """One cell at RR900000 would make a 437-million-cell rectangle: refused naming the sheet and the bound."""
    result = hz("import", far_cell(tmp_path / "far.xlsx", "RR900000"), "--dry-run", "--set", "region=371721")
    assert result.exit_code == 2, result.output
    assert "far.xlsx: sheet '台账' holds 437,400,000 cells" in result.stderr and "at most 3,000,000" in result.stderr


def test_a_part_compressed_past_the_ratio_is_refused(hz, tmp_path):
    """A part that packs more than 200:1 (2 MiB of spaces in a few KB) is a bomb's shape: refused, naming it."""
    path = far_cell(tmp_path / "packed.xlsx", "B2")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("docProps/custom.xml", b" " * (2 << 20))
    result = hz("import", path, "--dry-run", "--set", "region=371721")
    assert result.exit_code == 2, result.output
    assert "packed.xlsx: part docProps/custom.xml: compressed more than 200:1" in result.stderr


def test_a_file_over_the_size_setting_is_refused_before_it_is_read(hz, tmp_path):
    """import_max_mb (default 50) is a setting of the users' log: the committee sets it with `hazard init
    --import-max-mb N`, a supervisor cannot; a file over it is refused naming its size and the setting."""
    path = tmp_path / "big.csv"
    path.write_bytes("隐患内容,排查日期,隐患级别\n".encode() + b"x,2026-03-01,\xe4\xb8\x80\xe8\x88\xac\n" * 80_000)
    assert 1_000_000 < path.stat().st_size < 50_000_000
    assert hz("import", path, "--dry-run", "--set", "region=371721").exit_code in (0, 2)  # read: rows judged
    assert "an import reads" not in hz("import", path, "--dry-run").stderr
    assert hz("init", "--import-max-mb", "1", actor="zhang").exit_code == 4  # a supervisor grants nothing
    done = hz("--json", "init", "--import-max-mb", "1", actor="li")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["settings"]["import_max_mb"] == "1"
    result = hz("import", path, "--dry-run", "--set", "region=371721")
    assert result.exit_code == 2, result.output
    assert (f"big.csv: {path.stat().st_size:,} bytes is more than the 1,000,000 an import reads (the setting "
            "import_max_mb, 1 MB") in result.stderr
    assert hz("init", "--import-max-mb", "0", actor="li").exit_code == 2
    assert hz("audit", "verify", actor="li").exit_code == 0  # the setting is a grant the log proves


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_ods_s_repeated_rows_and_columns_count_against_the_cell_bound(tmp_path, sqlite_templates, backend):
    """An .ods of 862 bytes whose one filled cell is repeated 500 columns across and its row 100,000 times down
    (table:number-columns-repeated, number-rows-repeated) aborted the process inside the reader (exit 134, under a
    1.5 GiB cap); now refused before the reader sees it, exit 2, naming the sheet, the cells and the bound."""
    import shutil
    db = tmp_path / "hazard.db"
    shutil.copyfile(sqlite_templates["seeded"], db)
    bomb = ods_repeated(tmp_path / "repeated.ods", rows=100_000, columns=500)
    assert bomb.stat().st_size < 2000
    code, stderr, peak = capped_import(f"sqlite:///{db}", bomb)
    assert code == 2, stderr
    assert "repeated.ods: sheet '台账' holds 50,000,500 cells" in stderr and "at most 3,000,000" in stderr
    assert "Traceback" not in stderr and peak < PEAK, (peak, stderr)


def test_an_ods_as_libreoffice_writes_it_is_read_its_trailing_repeats_reaching_nothing(hz, tmp_path):
    """LibreOffice repeats an empty cell to column AMJ after the data and an empty row to row 1,048,576: they hold
    nothing, the reader does not fill them, and they count for nothing against the bounds."""
    def cell(text):
        return f'<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    def row(*texts):
        return ('<table:table-row table:style-name="ro1">' + "".join(cell(t) for t in texts)
                + f'<table:table-cell table:number-columns-repeated="{1024 - len(texts)}"/></table:table-row>')
    rows = (row("隐患内容", "排查日期", "隐患级别", "企业名称", "行业", "隐患来源", "隐患状态")
            + row("液氨储罐区未设泄漏报警", "2026-03-05", "一般", "某化工有限公司", "危化", "执法检查", "整改中")
            + '<table:table-row table:style-name="ro1" table:number-rows-repeated="1048574">'
              '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
    path = ods(tmp_path / "libreoffice.ods", '<table:table-column table:style-name="co1" '
               'table:number-columns-repeated="1024" table:default-cell-style-name="Default"/>' + rows, header=False)
    result = hz("--json", "import", path, "--dry-run", "--set", "region=371721")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["header_row"], doc["rows"], doc["valid"]) == (1, 1, 1), doc


_CELL = st.tuples(st.integers(1, 4), st.booleans())                   # (columns repeated, holds a value)
_ROW = st.tuples(st.integers(1, 3), st.lists(_CELL, max_size=5))       # (rows repeated, cells)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, max_size=6), piece=st.integers(16, 400))
def test_the_ods_count_is_the_extent_the_reader_fills(rows, piece):
    """For any small sheet of repeated rows and cells, filled or not, the count made before reading (fed in pieces
    of any size) is the rectangle python-calamine fills: its last row and column holding a value."""
    import io

    import python_calamine

    from engine.ledger.bounds import _OdsContent

    def cell(repeat, filled):
        times = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
        return (f'<table:table-cell{times} office:value-type="string"><text:p>x</text:p></table:table-cell>'
                if filled else f"<table:table-cell{times}/>")
    xml = "".join(f'<table:table-row{f" table:number-rows-repeated=" + chr(34) + str(n) + chr(34) if n > 1 else ""}>'
                  + "".join(cell(*c) for c in cells) + "</table:table-row>" for n, cells in rows)
    buffer = io.BytesIO()
    ods(buffer, xml, header=False)
    data = buffer.getvalue()
    content = zipfile.ZipFile(io.BytesIO(data)).read("content.xml")
    scan = _OdsContent()
    for i in range(0, len(content), piece):
        scan.feed(content[i:i + piece])
    scan.check(name="t.ods")
    _, counted_rows, counted_columns = scan.tables[0]
    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
        end = book.get_sheet_by_name("台账").end
    assert (counted_rows, counted_columns) == ((end[0] + 1, end[1] + 1) if end else (0, 0))
