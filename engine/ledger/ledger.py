"""Read a ledger file into checked rows: `read_ledger(path)` -> `Ledger`; nothing is written anywhere.

The reader raises InvalidInput only when the file as a whole cannot be used (unreadable, no such sheet, no
header row, a bad --mapping or --set); a bad row never raises: it comes back with its problems, each
shown as `FILE:ROW: what is wrong` with the row number Excel shows.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine.domain.errors import InvalidInput
from engine.domain.limits import DEFAULT_IMPORT_MAX_MB
from engine.ledger.grid import Grid, is_workbook, read_csv_stream, read_grid
from engine.ledger.layout import Column, data_rows, fill_merged_data, find_layout
from engine.ledger.rows import LedgerRow, RowReader, parse_defaults
from engine.ledger.words import STAGES, Words, load_words

PREVIEW_ROWS = 5


@dataclass(frozen=True)
class Ledger:
    file: str                      # the name as given, used in every message
    sheet: str | None              # None for CSV
    sha256: str                    # of the file's bytes
    header_row: int                # Excel's row number of the header (the lower one of two)
    columns: tuple[Column, ...]
    rows: tuple[LedgerRow, ...]
    titles: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)
    # Problems of the sheet as a whole (a required column it lacks, with no --set for it): said once, at the
    # header row, not on every row, though every row is short of it.
    sheet_problems: tuple[str, ...] = ()

    @property
    def valid_rows(self) -> list[LedgerRow]:
        return [r for r in self.rows if r.valid]

    def errors(self) -> list[dict]:
        """Every problem as {row, message}, in sheet order (what `--json` lists); a problem of the sheet as a
        whole once, at its header row, saying how many rows it leaves short."""
        return self.sheet_errors() + [{"row": r.number, "message": m} for r in self.rows for m in r.problems
                                      if m not in self.sheet_problems]

    def sheet_errors(self) -> list[dict]:
        short = len(self.rows)
        return [{"row": self.header_row, "message": f"{m} (so none of the {short} rows can be imported)"}
                for m in self.sheet_problems if short]

    def problems(self) -> list[str]:
        return [f"{self.file}:{e['row']}: {e['message']}" for e in self.errors()]

    def mapping(self) -> dict[str, str]:
        """Header as written -> field, for the columns read (a repeated header gets its column letter)."""
        out: dict[str, str] = {}
        for col in self.columns:
            if col.field:
                out[col.header if col.header not in out else f"{col.header} ({col.letter})"] = col.field
        return out

    def matched(self) -> list[dict]:
        """Each column read, with how its header was matched (`exact`, `contains 整改期限`, ...): the dry run shows it."""
        return [{"column": c.letter, "header": c.header, "field": c.field, "why": c.why} for c in self.columns
                if c.field]

    def unmapped(self) -> list[dict]:
        return [{"column": c.letter, "header": c.header, "why": c.note} for c in self.columns if not c.field]

    def preview(self, first: int = PREVIEW_ROWS) -> dict:
        """What `--dry-run` prints: counts of the rows that would be imported, the mapping, the first rows."""
        valid = self.valid_rows
        levels = Counter(r.values.get("level") for r in valid)
        stages = Counter(r.progress for r in valid)
        return {
            "file": self.file, "sheet": self.sheet, "sha256": self.sha256, "header_row": self.header_row,
            "rows": len(self.rows), "valid": len(valid), "invalid": len(self.rows) - len(valid),
            "by_level": {level: levels[level] for level in ("major", "general") if levels[level]},
            "by_progress": {stage: stages[stage] for stage in STAGES if stages[stage]},
            "mapping": self.mapping(), "unmapped": self.unmapped(),
            "titles": list(self.titles), "metadata": dict(self.metadata),
            "first_rows": [{"row": r.number, "progress": r.progress, "values": dict(r.values)} for r in valid[:first]],
            "errors": self.errors(),
        }


def read_ledger(path: str | Path, *, sheet: str | None = None, mapping: str | Path | Words | None = None,
                defaults: dict | None = None, name: str | None = None,
                max_bytes: int = DEFAULT_IMPORT_MAX_MB * 1_000_000, within: tuple[str, ...] = ()) -> Ledger:
    """Read and check every row of `path` (xlsx, xls, ods or CSV); `defaults` are the --set FIELD=VALUE pairs.

    A file larger than `max_bytes` is refused before it is read (the import's setting `import_max_mb`); a
    workbook is read whole (bounded so) and its zip checked before it is parsed; a CSV file is read in pieces.
    `within`: the importing user's regions, which narrow a division name several divisions share."""
    name = name or str(path)
    words = mapping if isinstance(mapping, Words) else load_words(mapping)  # a bad mapping: before reading the file
    parsed_defaults = parse_defaults(defaults, words, within)  # a bad --set is reported before the file is read
    try:
        with open(path, "rb") as binary:
            check_size(Path(path).stat().st_size, max_bytes, name=name)
            head = binary.read(8)
            binary.seek(0)
            if is_workbook(head) or not head:
                data = binary.read(max_bytes + 1)
                check_size(len(data), max_bytes, name=name)
                return _ledger(read_grid(data, name=name, sheet=sheet), words, parsed_defaults, name=name,
                               sha256=hashlib.sha256(data).hexdigest(), within=within)
            digest = hashlib.sha256()
            while piece := binary.read(1 << 20):
                digest.update(piece)
            binary.seek(0)
            grid = read_csv_stream(binary, name=name, sheet=sheet)
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    return _ledger(grid, words, parsed_defaults, name=name, sha256=digest.hexdigest(), within=within)


def check_size(size: int, max_bytes: int, *, name: str) -> None:
    if size > max_bytes:
        raise InvalidInput(f"{name}: {size:,} bytes is more than the {max_bytes:,} an import reads (the setting "
                           f"import_max_mb, {max_bytes // 1_000_000} MB, which the committee sets)",
                           field="file")


def read_ledger_bytes(data: bytes, *, name: str, sheet: str | None = None, mapping: str | Path | Words | None = None,
                      defaults: dict | None = None) -> Ledger:
    """As read_ledger, from the file's bytes; `name` is what every message calls the file."""
    words = mapping if isinstance(mapping, Words) else load_words(mapping)
    parsed_defaults = parse_defaults(defaults, words)  # a bad --set is reported before the file is read
    return _ledger(read_grid(data, name=name, sheet=sheet), words, parsed_defaults, name=name,
                   sha256=hashlib.sha256(data).hexdigest())


def _ledger(grid: Grid, words: Words, parsed_defaults, *, name: str, sha256: str,
            within: tuple[str, ...] = ()) -> Ledger:
    layout = find_layout(grid, words, name=name)
    fill_merged_data(grid, layout)
    reader = RowReader(layout.columns, words, defaults=parsed_defaults, within=within)
    rows = tuple(reader.read(number, cells) for number, cells in data_rows(grid, layout, words))
    return Ledger(file=name, sheet=grid.sheet, sha256=sha256, header_row=layout.header_row,
                  columns=layout.columns, rows=rows, titles=layout.titles, metadata=layout.metadata,
                  sheet_problems=reader.sheet_problems())
