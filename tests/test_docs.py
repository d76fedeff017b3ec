"""The manual (README.md and docs/) cannot go stale: every command is documented and has help; the exit-code table
is the code's; every link leads somewhere."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from cli.main import cli
from engine.domain.definition.parse import CLOCK_KEYS, COMMAND_KEYS, FIELD_KEYS, RUNG_KEYS, STATE_KEYS, TOP_KEYS, TRANSITION_KEYS
from engine.domain.definition.model import GUARD_KINDS, RUNG_ACTIONS
from engine.domain.errors import EXIT_CODES

from tests.manual import MANUAL, PAGES, ROOT, block, headings, section


def all_commands(group: click.Group, ctx: click.Context, prefix=("hazard",)):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, ctx, path)
        else:
            yield " ".join(path), command


COMMANDS = list(all_commands(cli, click.Context(cli)))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_has_help(path, command):
    """Each `hazard ...` command appears in the manual and explains itself in --help."""
    assert f"`{path}" in MANUAL, f"{path} is not documented in the manual (README.md, docs/)"
    assert command.help and len(command.help.strip()) > 20


def test_the_readme_exit_code_table_is_the_code():
    """The README's exit-code table lists exactly the codes and meanings engine/domain/errors.py uses."""
    rows = dict(re.findall(r"^\| (\d+) \| ([^|]+?) \|$", section("Exit codes"), flags=re.M))
    assert {int(k): v for k, v in rows.items()} == EXIT_CODES


@pytest.mark.parametrize("keys", [TOP_KEYS, FIELD_KEYS, STATE_KEYS, TRANSITION_KEYS, COMMAND_KEYS, CLOCK_KEYS,
                                  RUNG_KEYS, GUARD_KINDS, RUNG_ACTIONS])
def test_every_accepted_yaml_key_is_in_the_reference(keys):
    """The YAML reference mentions every key and vocabulary word the parser accepts."""
    section_ = section("Workflow definition reference (YAML)")
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}\b", section_))
    assert not missing, f"undocumented in the YAML reference: {missing}"


def test_every_limit_is_in_the_readme_limits_table():
    """Each bound in engine/domain/limits.py is named in the manual's Limits table, so none is a surprise."""
    from engine.domain import limits
    table = section("Limits")
    names = [name for name in vars(limits) if name.isupper() and not name.startswith("_")]
    missing = sorted(name for name in names if f"`{name}`" not in table)
    assert names and not missing, f"limits not in the manual's Limits table: {missing}"

def _example_lines(command) -> list[str]:
    """The command lines of the `Example:` paragraph its docstring gives (the lines after it, indented)."""
    lines = (command.help or "").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("Example")), None)
    if start is None:
        return []
    found = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        found.append(line.strip())
    return found


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_an_example_kept_verbatim_in_its_help(path, command):
    """`--help` of each command shows an example that survives click's re-wrapping whole, at 80 columns."""
    from click.testing import CliRunner

    examples = _example_lines(command)
    assert examples, f"{path} has no Example in its help"
    shown = CliRunner().invoke(cli, path.split()[1:] + ["--help"], terminal_width=80).stdout
    for line in examples:
        assert line in shown.splitlines() or any(l.strip() == line for l in shown.splitlines()), \
            f"{path}: the example line is not shown whole: {line!r}"


def _run_demo(db: str) -> str:
    """docs/demo.sh on `db`, stderr into stdout (so each refusal and the line claiming it come in the order they
    were printed); asserts it ran to the end."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")},
           "HAZARD_DB": db, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", f"bash '{root / 'docs' / 'demo.sh'}' 2>&1"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    return done.stdout


def _check_refusals(output: str) -> None:
    ordered = output.splitlines()
    claims = {"whoever submitted may not verify": "rule 'actor_differs_from'",
              "an enterprise may not assign": "may not fire 'assign'",
              "an enterprise may not verify its own rectification": "(role enterprise) may not fire 'verify'",
              "only the committee office decides an interview": "may not decide 'interview'"}
    for claim, refusal in claims.items():
        at = next(i for i, line in enumerate(ordered) if f"(refused as expected: {claim})" in line)
        assert refusal in ordered[at - 1], (claim, ordered[at - 1])


def _reported(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("reported: "))


STORY = "reported: HZ-2026-000001 HZ-2026-000002 HZ-2026-000003 HZ-2026-000004"


@pytest.mark.slow
def test_the_demo_shows_the_refusals_it_claims(tmp_path):
    """docs/demo.sh runs to the end on SQLite, and each '(refused as expected: ...)' follows the refusal it names.

    CI runs `make demo` first (one of the README's two commands) and hands its output here in HAZARD_DEMO_LOG,
    written by that same run; the demo then runs once per CI run, not twice. Without it, the demo runs here."""
    import os
    log = os.environ.get("HAZARD_DEMO_LOG")
    output = Path(log).read_text(encoding="utf-8") if log else _run_demo(f"sqlite:///{tmp_path / 'demo.db'}")
    _check_refusals(output)
    assert _reported(output) == STORY


@pytest.mark.slow
@pytest.mark.postgres
def test_the_demo_starts_over_on_postgresql():
    """On PostgreSQL the demo starts from a new database of its own each time: run over a database a previous
    run left (initialised, the usual users in it) it tells the same story (it once stopped at `user add`: the
    users of the first run were still there)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import BACKENDS, PG_URL, seed

    if "postgres" not in BACKENDS:
        pytest.skip("HAZARD_TEST_DB runs SQLite only")
    name = f"hazard_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = make_url(PG_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means: no server here
        if os.environ.get("HAZARD_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}")
    db = server.set(database=name, query={}).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        seed(db)  # what a first run leaves that a second one trips over: an initialised database, its users
        output = _run_demo(db)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    _check_refusals(output)
    assert _reported(output) == STORY


def _block(after: str, language: str) -> str:
    """The manual's first fenced block of `language` after the line `after` (in the page holding that line)."""
    return block(after, language)


@pytest.mark.slow
def test_the_readmes_first_session_runs_as_written(tmp_path):
    """The shell block of "A first session", verbatim, in a new folder: every command succeeds (its deadline
    was refused as already past once the README's dates were behind us), and the case ends up overdue."""
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")},
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = "set -euo pipefail\n" + _block("## A first session", "sh") + 'echo "ID=$ID"\n'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    case_id = done.stdout.strip().splitlines()[-1].removeprefix("ID=")
    assert case_id.startswith("HZ-2026-") and case_id in done.stdout.split("ID=")[0]


@pytest.mark.slow
def test_the_readmes_python_example_runs_as_written(tmp_path):
    """docs/architecture.md's script, verbatim, in a new folder (twice: it is safe to run again)."""
    import subprocess
    import sys

    script = tmp_path / "example.py"
    script.write_text(_block("A script uses the same API as the command line:", "python"), encoding="utf-8")
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    assert first.startswith("HZ-2026-000001 液氨储罐区未设泄漏报警 2026-05-01T00:00:00+08:00"), done.stdout
    assert "deadline" in done.stdout and "'found':" in done.stdout


def test_the_top_level_help_lists_every_exit_code():
    """`hazard --help` names each exit code the engine uses, with its meaning (it stopped at 8 once)."""
    from click.testing import CliRunner

    shown = CliRunner().invoke(cli, ["--help"], terminal_width=100).stdout
    listed = dict(re.findall(r"^  (\d+) +(.+?)$", shown[shown.index("Exit codes:"):], flags=re.M))
    assert {int(code): meaning for code, meaning in listed.items()} == EXIT_CODES


# Options and commands whose argument is a file the command reads (a file it writes need not exist).
READS = {"--weights", "--definition", "--mapping"}
READ_COMMANDS = (("import",), ("workflow", "validate"), ("workflow", "install"), ("campaign", "install"))


def _example_commands() -> list[str]:
    """Every `hazard ...` line of the manual's shell blocks and of each command's `Example:` in its help."""
    blocks = re.findall(r"```sh\n(.*?)```", MANUAL, re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    lines += [line for _, command in COMMANDS for line in _example_lines(command)]
    return [line.split("  #")[0].strip() for line in lines if line.strip().startswith("hazard ")]


def _files_read(line: str) -> list[str]:
    """The files a command line reads: after --weights, --definition, --mapping; the first file-like
    argument of import, workflow validate / install and campaign install."""
    import shlex
    words = shlex.split(line.split(" > ")[0])
    found = [words[i + 1] for i, w in enumerate(words[:-1]) if w in READS]
    for command in READ_COMMANDS:
        for i in range(len(words) - len(command) + 1):
            if tuple(words[i:i + len(command)]) == command:
                found += [w for w in words[i + len(command):] if not w.startswith("-") and "." in w][:1]
    return found


def test_every_file_an_example_reads_ships_with_the_project():
    """The manual's commands and every `--help` example name only input files that are in the repository
    (weights.yaml, my-office.yaml and 自查台账.csv were named and did not ship)."""
    root = Path(__file__).resolve().parent.parent
    named = {path for line in _example_commands() for path in _files_read(line)}
    assert {"docs/examples/weights.yaml", "docs/examples/my-office.yaml", "docs/examples/自查台账.csv"} <= named
    missing = sorted(path for path in named if not list(root.glob(path)))
    assert not missing, f"examples read files that do not ship: {missing}"


def test_the_shipped_example_files_do_what_the_readme_says(runner, seeded_url):
    """The weights rank, the office's definition prints whole percent and 无, the self-check ledger reads with
    the row that has no 隐患内容 left out under --skip-invalid."""
    root = Path(__file__).resolve().parent.parent
    base = ["--db", seeded_url, "--now", "2026-05-01T10:00"]
    ranked = runner.invoke(cli, base + ["report", "ranking", "--weights", str(root / "docs/examples/weights.yaml"),
                                        "--by", "region", "--region", "3717"])
    assert ranked.exit_code == 0 and "县区隐患排查治理考核排序" in ranked.stdout, ranked.output
    stats = runner.invoke(cli, base + ["report", "stats", "--by", "county", "--region", "3717", "--definition",
                                       str(root / "docs/examples/my-office.yaml")])
    assert stats.exit_code == 0 and "无" in stats.stdout, stats.output
    ledger = runner.invoke(cli, base + ["--actor", "ent", "--json", "import", str(root / "docs/examples/自查台账.csv"),
                                        "--set", "region=371721", "--set", "industry=危险化学品", "--skip-invalid",
                                        "--dry-run"])
    assert ledger.exit_code == 0, ledger.output
    import json
    document = json.loads(ledger.stdout)
    assert (document["rows"], document["valid"], document["skipped"]) == (5, 4, 1), document


def test_the_editable_install_is_a_plain_path_without_the_transitional_compat_mode():
    """`make install` no longer asks for setuptools' `compat` editable mode (whose warning `make demo` printed);
    pyproject's `package-dir` gives the same result in the default mode: a .pth naming the repository, so no
    import hook is loaded at every start-up."""
    import site
    import sysconfig

    root = Path(__file__).resolve().parent.parent
    installs = [line for line in (root / "Makefile").read_text(encoding="utf-8").splitlines() if "pip install" in line]
    assert installs and not any("compat" in line for line in installs), installs
    folders = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    pth = [p for folder in folders for p in Path(folder).glob("__editable__.hazard_closure-*.pth")]
    if not pth:
        pytest.skip("hazard-closure is not installed in editable mode here")
    lines = [line for line in pth[0].read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines == [str(root)], lines
    assert not list(Path(pth[0].parent).glob("__editable___hazard_closure*finder.py"))


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (CJK kept), spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _links(text: str) -> list[str]:
    """The targets of the Markdown links and images of `text`, fenced blocks and code spans aside."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return re.findall(r"\]\(([^)\s]+)\)", prose)


LINKS = [(path, target) for path, text in PAGES.items() for target in _links(text)
         if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("path,target", LINKS, ids=[f"{p.name}->{t}" for p, t in LINKS])
def test_every_relative_link_of_the_manual_leads_to_a_file_and_anchor(path, target):
    """A link of README.md or docs/*.md names a file that is in the repository and, after `#`, a heading it has."""
    name, _, anchor = target.partition("#")
    linked = (path.parent / name).resolve() if name else path
    assert linked.exists(), f"{path.relative_to(ROOT)}: link to {target}: no such file"
    if anchor:
        assert linked.suffix == ".md", f"{path.relative_to(ROOT)}: link to {target}: an anchor outside Markdown"
        anchors = {_anchor(title) for _, _, title in headings(linked.read_text(encoding="utf-8"))}
        assert anchor in anchors, f"{path.relative_to(ROOT)}: link to {target}: no heading with that anchor"


def test_the_link_check_sees_the_manual_and_its_anchors():
    """The check above has links to look at (anchors among them), and reads GitHub's anchors as GitHub does."""
    assert len(LINKS) >= 30 and sum("#" in target for _, target in LINKS) >= 10
    assert _anchor("The event log's anchor") == "the-event-logs-anchor"
    assert _anchor("Workflow definition reference (YAML)") == "workflow-definition-reference-yaml"
    assert _anchor("Ranking weights (`--weights FILE`)") == "ranking-weights---weights-file"
    assert _anchor("The four lists (四个清单)") == "the-four-lists-四个清单"


def test_every_engine_and_cli_path_the_architecture_page_names_exists():
    """Each `engine/...` or `cli/...` path docs/architecture.md names (a file, a folder, or `app*.py`) is in the
    repository, so the drawing of the layers follows the folders."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.])((?:engine|cli)/[\w/.*]*[\w/*])", text))
    assert len(named) >= 20, named
    missing = sorted(path for path in named if not list(ROOT.glob(path.rstrip("/"))))
    assert not missing, f"docs/architecture.md names paths that are not in the repository: {missing}"
