"""The report modules and the region names are pure: no database, CLI or scheduler, no wall clock, no network."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_pure_core import BANNED_PACKAGES, ENGINE, ROOT, import_closure, module_name, wall_clock_reads

# engine/reports/app*.py are the reports' application modules: they read through engine/store/ (checked with
# the other application modules in test_pure_core.py); everything else in engine/reports/ is pure.
REPORT_FILES = [ENGINE / "domain" / "regions.py", ENGINE / "domain" / "anchor.py"] + sorted(
    p for p in (ENGINE / "reports").glob("*.py") if not p.name.startswith("app"))
REPORT_MODULES = [module_name(p) for p in REPORT_FILES]


@pytest.mark.parametrize("path", REPORT_FILES, ids=module_name)
def test_report_module_imports_no_database_cli_or_scheduler(path):
    """Importing a report module pulls in neither sqlalchemy, sqlmodel, click nor apscheduler, even indirectly."""
    closure = import_closure(module_name(path))
    assert sorted(m for m in closure if m.split(".")[0] in BANNED_PACKAGES) == []
    assert not any(m.startswith("engine.store") or m in ("engine.service", "engine.app.scheduler") for m in closure)


@pytest.mark.parametrize("path", REPORT_FILES, ids=module_name)
def test_report_module_does_not_read_the_wall_clock(path):
    """Reports take their dates from the document; none reads datetime.now() or date.today()."""
    assert wall_clock_reads(path.read_text(encoding="utf-8")) == []


def test_importing_the_report_modules_loads_no_banned_package_nor_the_heavy_ones():
    """In a fresh interpreter the report modules load no database or CLI package, and xlsxwriter only when asked."""
    code = ("import importlib, json, sys\n"
            f"for name in {REPORT_MODULES!r}:\n    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {BANNED_PACKAGES + ('xlsxwriter',)!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
