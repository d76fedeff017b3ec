"""Ledgers (台账) in and out, with no database: read a hand-kept sheet into checked rows, write rows to a sheet.

    read_ledger(path, sheet=, mapping=, defaults=) -> Ledger   (ledger.py: the entry point)
      grid.py     the file as cells and merged ranges (calamine for xlsx/xls/ods; CSV in UTF-8/GB18030/UTF-16)
      layout.py   header row, logical columns, which rows are data (titles, metadata, notes, blanks skipped)
      words.py    header and value synonyms: headers.yaml plus a user's --mapping
      values.py   one cell as offices write it -> the text the engine stores (dates, money, codes, text)
      rows.py     one row checked as a back-filled record; its progress stage
    write_ledger(path, rows, columns=, headers=) (writer.py: xlsx with date cells and a frozen header, or CSV)
"""
from engine.ledger.ledger import Ledger, read_ledger, read_ledger_bytes
from engine.ledger.rows import LedgerRow
from engine.ledger.words import STAGES, Words, load_words
from engine.ledger.writer import header_labels, write_ledger

__all__ = ["Ledger", "LedgerRow", "STAGES", "Words", "header_labels", "load_words", "read_ledger", "read_ledger_bytes",
           "write_ledger"]
