"""The ledger's cell readers now live in `engine.domain.values`, the one reader of values for every way in (the import,
the live commands, the web console); this module keeps the names the ledger's modules import."""
from engine.domain.values import (BLANK, EARLIEST_YEAR, LATEST_YEAR, MONEY_LIMIT, TEXT_LIMIT, cell_text,  # noqa: F401
                           clean_text, date_text, lookup, parse_date, parse_money, parse_region)
