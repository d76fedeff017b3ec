"""Issue 17: a mapping file could turn 重大 into general silently and the import did not record it. Now the
mapping's name and text SHA-256 are sealed in every imported event's `import` source (so in the hash chain),
in the import's summary and in the case's dossier."""
from __future__ import annotations

import hashlib
import json

import pytest

from cli.main import cli

NOW = "2026-04-01T09:00"
SHEET = ("隐患内容,企业名称,排查日期,隐患级别,行业,隐患来源,隐患状态\n"
         "液氨储罐区未设泄漏报警,某化工有限公司,2026-01-05,较大,危化,执法检查,整改中\n")
MAPPING = "values:\n  level: {较大: general}\n"


@pytest.fixture
def hz(runner, seeded_url):
    def invoke(*args, actor="zhang", now=NOW):
        return runner.invoke(cli, ["--db", seeded_url, "--now", now, "--actor", actor, *map(str, args)])
    return invoke


def test_the_mapping_file_is_sealed_with_the_import_and_shown_in_the_dossier(hz, tmp_path):
    sheet = tmp_path / "台账.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    mapping = tmp_path / "words.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    digest = hashlib.sha256(MAPPING.encode()).hexdigest()
    result = hz("--json", "import", sheet, "--mapping", mapping, "--set", "region=371721")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["mapping_file"], doc["mapping_sha256"]) == ("words.yaml", digest)
    case_id = doc["first_case"]
    history = json.loads(hz("--json", "case", "history", case_id).stdout)
    events = history["events"] if isinstance(history, dict) else history
    sources = [e["data"]["import"] for e in events if "import" in (e.get("data") or {})]
    assert sources and all(s["mapping"] == {"file": "words.yaml", "sha256": digest} for s in sources)
    dossier = json.loads(hz("audit", "dossier", case_id, "--format", "json", actor="li").stdout)
    assert dossier["import"]["mapping"] == {"file": "words.yaml", "sha256": digest}
    assert hz("audit", "verify", actor="li").exit_code == 0


def test_the_dossier_page_shows_where_an_imported_case_came_from_and_the_mapping(hz, tmp_path):
    """The HTML dossier (what an auditor prints) names the sheet, its row and SHA-256, and the --mapping file with
    its SHA-256, as the JSON does; a case imported without a mapping says which words read it."""
    sheet = tmp_path / "台账.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    mapping = tmp_path / "words.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    digest = hashlib.sha256(MAPPING.encode()).hexdigest()
    doc = json.loads(hz("--json", "import", sheet, "--mapping", mapping, "--set", "region=371721").stdout)
    page = hz("audit", "dossier", doc["first_case"], "--format", "html", actor="li").stdout
    assert "台账.csv" in page and doc["sha256"] in page
    assert "words.yaml" in page and digest in page
    plain = tmp_path / "plain.csv"
    plain.write_text(SHEET.replace("液氨储罐区未设泄漏报警", "配电箱未接地").replace("较大", "一般"), encoding="utf-8")
    other = json.loads(hz("--json", "import", plain, "--set", "region=371721").stdout)
    page = hz("audit", "dossier", other["first_case"], "--format", "html", actor="li").stdout
    assert "plain.csv" in page and "engine/ledger/headers.yaml" in page
