"""Cyclic garbage collection paused over a pass through a great many rows (an import, a replay of every case)."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block, restored as it was afterwards. A pass's objects (rows read, events,
    the fold's cases) die by reference count once their batch is done, and the collector would otherwise walk the
    batch in hand and everything kept alive again and again: about a tenth of an import of 100,000 rows, more of
    a replay of every case. What little cyclic garbage such a pass makes (a caught error's traceback) waits until
    the block ends, bounded by what the pass reads."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
