"""The pure core stays pure: no database, CLI or scheduler package, and no reading of the wall clock.

Pure modules decide, fold and compute due times from their inputs only; the store and the clock are passed
in. `SystemClock` in engine/domain/clock.py is the one place allowed to read the wall clock.
"""
from __future__ import annotations

import ast
import re
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ENGINE = ROOT / "engine"
BANNED_PACKAGES = ("sqlalchemy", "sqlmodel", "click", "apscheduler")
# The layers are the folders: engine/domain/ is pure; engine/app/ is the application over a store passed in; the
# feature packages (engine/ledger/, engine/reports/) keep their application modules under names starting with
# `app`, and the rest of each is pure; engine/store/ is the only SQL.
FEATURES = ("ledger", "reports")


def is_app(path: Path) -> bool:
    parts = path.relative_to(ENGINE).parts
    return parts[0] == "app" or (parts[0] in FEATURES and len(parts) == 2 and path.stem.startswith("app"))


def pure_files() -> list[Path]:
    files = sorted((ENGINE / "domain").rglob("*.py"))
    for feature in FEATURES:
        files += [p for p in sorted((ENGINE / feature).rglob("*.py")) if not is_app(p)]
    return files


def app_files() -> list[Path]:
    files = sorted((ENGINE / "app").rglob("*.py"))
    for feature in FEATURES:
        files += [p for p in sorted((ENGINE / feature).glob("app*.py"))]
    return files


APP = app_files()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PURE = pure_files()
PURE_MODULES = [module_name(p) for p in PURE]


def top_level_imports(path: Path) -> set[str]:
    """Every module the file imports, at module level or inside a function (a deferred import still runs)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def import_closure(module: str) -> set[str]:
    """Every module `module` pulls in through module-level imports, following engine.* files."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.startswith("engine"):
            continue
        parts = name.split(".")
        candidates = [ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")]
        path = next((c for c in candidates if c.exists()), None)
        if path is None:
            continue  # `from engine.x import name` where name is not a module
        for parent in range(1, len(parts)):
            todo.append(".".join(parts[:parent]))  # importing engine.a.b runs engine/__init__ and engine/a/__init__
        todo.extend(top_level_imports(path))
    return seen


WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns")}
WALL_CLOCK_IMPORTS = {("time", "time"), ("time", "time_ns")}


def wall_clock_reads(source: str, *, allowed_class: str | None = None) -> list[int]:
    """Lines that read the wall clock (datetime.now(), date.today(), time.time(), ...), outside `allowed_class`."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == allowed_class:
            skip.update(n.lineno for n in ast.walk(node) if hasattr(n, "lineno"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (owner_name, node.func.attr) in WALL_CLOCK and node.lineno not in skip:
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in WALL_CLOCK_IMPORTS:
                    lines.append(node.lineno)
    return sorted(lines)


def test_every_engine_module_is_in_one_layer():
    """Each module of engine/ is pure, application or store by its folder (the package's own __init__ aside), and
    the pure set holds the modules the design calls pure, so the checks below look at real files."""
    stored = sorted((ENGINE / "store").rglob("*.py"))
    layered = set(PURE) | set(APP) | set(stored)
    assert [p for p in sorted(ENGINE.rglob("*.py")) if p not in layered] == [ENGINE / "__init__.py"]
    assert not set(PURE) & set(APP)
    assert {"engine.domain.machine", "engine.domain.case", "engine.domain.events", "engine.domain.definition.parse",
            "engine.domain.escalation.ladder"} <= set(PURE_MODULES)


@pytest.mark.parametrize("path", PURE, ids=module_name)
def test_pure_module_imports_no_database_cli_or_scheduler(path):
    """Importing a pure module pulls in neither sqlalchemy, sqlmodel, click nor apscheduler, even indirectly."""
    closure = import_closure(module_name(path))
    banned = sorted(m for m in closure if m.split(".")[0] in BANNED_PACKAGES)
    assert banned == [], f"{module_name(path)} imports {banned}"
    assert not any(m.startswith("engine.store") or m in ("engine.app", "engine.app.commands", "engine.app.scheduler")
                   for m in closure)


def test_importing_every_pure_module_loads_no_banned_package():
    """In a fresh interpreter, importing all pure modules (the reports' and the ledger's included) leaves
    sqlalchemy, sqlmodel, click and apscheduler unloaded, and xlsxwriter too until a workbook is asked for."""
    unloaded = BANNED_PACKAGES + ("xlsxwriter",)
    code = ("import importlib, json, sys\n"
            f"for name in {PURE_MODULES!r}:\n    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {unloaded!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("path", PURE, ids=module_name)
def test_pure_module_does_not_read_the_wall_clock(path):
    """No datetime.now(), datetime.utcnow(), date.today() or time.time() in a pure module (SystemClock excepted)."""
    allowed = "SystemClock" if path == ENGINE / "domain" / "clock.py" else None
    assert wall_clock_reads(path.read_text(encoding="utf-8"), allowed_class=allowed) == []


def test_system_clock_is_the_one_edge():
    """engine/domain/clock.py does read the wall clock, inside SystemClock only: the scan sees it when not excused."""
    source = (ENGINE / "domain" / "clock.py").read_text(encoding="utf-8")
    assert wall_clock_reads(source) != []
    assert wall_clock_reads(source, allowed_class="SystemClock") == []


@pytest.mark.parametrize("snippet", ["from datetime import datetime\nx = datetime.now()\n",
                                     "import datetime\nx = datetime.datetime.utcnow()\n",
                                     "from datetime import date\nx = date.today()\n",
                                     "import time\nx = time.time()\n", "from time import time\n"])
def test_the_scan_catches_each_way_of_reading_the_clock(snippet):
    """The wall-clock scan flags each of the forms it looks for, so a clean result means something."""
    assert wall_clock_reads(snippet) != []


def test_the_import_scan_follows_engine_modules():
    """The closure of engine.app.commands (an app module) does reach sqlalchemy, so the scan sees indirect imports."""
    closure = import_closure("engine.app.commands")
    assert any(m.split(".")[0] == "sqlalchemy" for m in closure)


def sql_files() -> list[Path]:
    """Every module of the engine and the CLI that is not part of the store."""
    return [p for p in sorted(ENGINE.rglob("*.py")) + sorted((ROOT / "cli").glob("*.py"))
            if "store" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("path", sql_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_lives_in_the_store_only(path):
    """Outside engine/store/ no module imports SQLAlchemy or SQLModel, not even inside a function."""
    imported = {name.split(".")[0] for name in top_level_imports(path)}
    assert not imported & {"sqlalchemy", "sqlmodel"}, f"{path.name} builds SQL outside engine/store/"


@pytest.mark.parametrize("path", APP, ids=lambda p: str(p.relative_to(ROOT)))
def test_app_modules_hold_no_sql(path):
    """The application modules reach the database only through engine/store/, and know no terminal."""
    assert not {n.split(".")[0] for n in top_level_imports(path)} & {"sqlalchemy", "sqlmodel", "click"}


# -- messages speak the domain --------------------------------------------------------------------------------
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+|\bhazard (?:case|audit|user|workflow|report|import|export|init|db|"
                   r"escalate|escalation|scheduler|calendar|campaign)\b")


def _raised_texts(tree: ast.AST):
    """The string parts of every exception raised in a module (what a user reads as its message)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for part in ast.walk(node.exc):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    yield part.lineno, part.value


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_errors_name_facts_not_command_line_options(path):
    """An engine error says what is wrong (`found: ... is later than the report`, `rule='requires'`,
    `missing=(...)`); the command line turns a field into the option the user typed (`--found`) and adds
    its hints. A web console calling the engine must not be told to pass `--set`."""
    found = [f"{path.name}:{line}: {text!r}" for line, text in _raised_texts(ast.parse(path.read_text()))
             if _FLAG.search(text)]
    assert not found, found


def test_the_message_scan_catches_an_option_in_a_raised_message():
    snippet = 'def f(x):\n    raise InvalidInput(f"{x}: give it with --set FIELD=VALUE", field=x)\n'
    assert [text for _, text in _raised_texts(ast.parse(snippet)) if _FLAG.search(text)] == [
        ": give it with --set FIELD=VALUE"]


# -- the layers' directions and no import circle -------------------------------------------------------------
ENGINE_FILES = {module_name(p): p for p in sorted(ENGINE.rglob("*.py")) if p != ENGINE / "__init__.py"}


def engine_imports(path: Path) -> set[str]:
    """The engine modules `path` imports anywhere in it (a function's deferred import included), each resolved
    to its module: `from engine.domain import clock` is engine.domain.clock (not the package), `from
    engine.domain.clock import X` is engine.domain.clock."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in ENGINE_FILES]
            names = submodules if len(submodules) == len(node.names) else [node.module, *submodules]
        else:
            continue
        for name in names:
            while name and name not in ENGINE_FILES:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


IMPORT_GRAPH = {name: engine_imports(path) for name, path in ENGINE_FILES.items()}


def layer(module: str) -> str:
    path = ENGINE_FILES[module]
    if path in PURE:
        return "pure"
    if path in APP:
        return "app"
    return "store"


# Which layer may import which: the pure core imports only the pure core; the store, the pure core and the store;
# the application, everything in the engine. No engine module imports a face (cli/, web/).
MAY_IMPORT = {"pure": {"pure"}, "store": {"pure", "store"}, "app": {"pure", "store", "app"}}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_engine_module_imports_in_a_circle():
    """No two engine modules import each other, directly or round a longer loop, not even from inside a function
    (a deferred import hides a circle; it does not remove it)."""
    assert import_circles(IMPORT_GRAPH) == []


def test_the_circle_scan_finds_a_circle_hidden_in_a_function():
    snippet_a = "from engine.domain import b\n"
    snippet_b = "def f():\n    from engine.domain.a import x\n"
    graph = {}
    for name, source in (("engine.domain.a", snippet_a), ("engine.domain.b", snippet_b)):
        graph[name] = {n for n in _imports_of(source) if n.startswith("engine.domain.") and n.count(".") == 2}
    assert import_circles(graph) == [["engine.domain.a", "engine.domain.b"]]


def _imports_of(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


@pytest.mark.parametrize("module", sorted(IMPORT_GRAPH))
def test_each_module_imports_only_its_own_layer_and_those_below(module):
    """engine/domain/ and the features' pure modules import only pure modules; engine/store/ only pure and store
    modules; the application anything in the engine. No engine module imports cli/ (or a web face)."""
    wrong = sorted(m for m in IMPORT_GRAPH[module] if layer(m) not in MAY_IMPORT[layer(module)])
    assert wrong == [], f"{module} ({layer(module)}) imports {[(m, layer(m)) for m in wrong]}"
    faces = sorted(n for n in top_level_imports(ENGINE_FILES[module]) if n.split(".")[0] in ("cli", "web"))
    assert faces == [], f"{module} imports the face {faces}"


FACES = sorted((ROOT / "cli").glob("*.py")) + sorted((ROOT / "web").rglob("*.py"))


@pytest.mark.parametrize("path", FACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_face_reaches_the_database_only_through_the_engine(path):
    """cli/ and web/ open an Engine and call it; they import nothing of engine/store/ (nor SQLAlchemy), so a
    script, an HTTP client or a web page gets every check the command line gets."""
    imported = top_level_imports(path)
    stored = sorted(n for n in imported if n.startswith("engine.store") or n.split(".")[0] in ("sqlalchemy", "sqlmodel"))
    assert stored == [], f"{path.relative_to(ROOT)} imports {stored}"


def test_the_faces_are_found():
    """The scan above looks at real files: both faces, the web's API routers among them."""
    names = {str(p.relative_to(ROOT)) for p in FACES}
    assert {"cli/main.py", "cli/serve.py", "web/app.py", "web/calls.py", "web/api/cases.py"} <= names


@pytest.mark.parametrize("path", sorted((ROOT / "web").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_web_face_imports_no_cli_and_reaches_the_engine_through_its_calls(path):
    """web/ does not borrow from cli/ (each face parses and presents on its own over the engine), and only
    web/calls.py calls the application: routes hand the engine's commands and queries nothing directly."""
    imported = top_level_imports(path)
    assert not [n for n in imported if n.split(".")[0] == "cli"], f"{path.relative_to(ROOT)} imports cli/"
    if path.name != "calls.py":
        source = path.read_text(encoding="utf-8")
        direct = re.findall(r"\.(?:commands|queries|audit|reports)\.\w+\(|engine\.(?:ledger|reports)\.app\w*", source)
        assert direct == [], f"{path.relative_to(ROOT)} calls the engine outside web/calls.py: {direct}"
