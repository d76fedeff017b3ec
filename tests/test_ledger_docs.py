"""The manual's ledger page says what the shipped words do: every header and word it lists reads as it claims."""
from __future__ import annotations

import re

from engine.ledger.words import header_key, shipped_words, value_key

from tests.manual import section

DOC = section("Importing and exporting ledgers (台账)")
WORDS = shipped_words()


def table_rows(first_header: str) -> list[list[str]]:
    """The body rows of the markdown table whose header row starts with `| first_header |`."""
    block = DOC.split(f"| {first_header} |", 1)[1].split("\n\n", 1)[0]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.splitlines()[2:]]


def test_every_header_in_the_columns_table_reads_as_its_field():
    """Each header the table lists maps to the field on its row, and the first is the one export writes."""
    rows = table_rows("field")
    assert len(rows) >= 20
    for fields, headers, _ in rows:
        names = re.findall(r"`(\w+)`", fields)
        groups = headers.split(";") if len(names) > 1 else [headers]
        for name, group in zip(names, groups):
            listed = [h.strip() for h in group.split(",")]
            assert all(WORDS.headers.get(header_key(h)) == name for h in listed), (name, listed)
            assert WORDS.labels[name] == listed[0], name


def test_every_word_in_the_stages_table_lands_on_its_stage():
    """Each state or result word the stages table lists maps to the stage on its row."""
    for stage, words in table_rows("stage"):
        for word in words.split("(")[0].split(","):
            assert WORDS.values["progress"][value_key(word.strip())] == stage.strip("`"), word
