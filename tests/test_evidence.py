"""Evidence on a case (issue 20): `hazard case attach`, the content-addressed store, the type and size bounds,
a photo's EXIF, `requires_attachments` on a transition, and `audit verify` over the sealed files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import FIVE, cli_on, report

pytestmark = pytest.mark.usefixtures("collected")

MAJOR = Path(__file__).resolve().parent.parent / "workflows" / "major-hazard.yaml"


@pytest.fixture
def files(tmp_path, monkeypatch):
    """The evidence store for this test (on PostgreSQL the setting is required); and a few files to attach."""
    store = tmp_path / "evidence"
    monkeypatch.setenv("HAZARD_FILES", str(store))
    from PIL import Image
    src = tmp_path / "in"
    src.mkdir()
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "HUAWEI", "P60"
    exif.get_ifd(0x8769)[0x9003] = "2026:01:05 10:00:00"  # before the hazard was found (2026-03-02)
    exif[0x8825] = {1: "N", 2: (35.0, 15.0, 0.0), 3: "E", 4: (115.0, 30.0, 0.0)}
    image.save(src / "old.jpg", exif=exif)
    Image.new("RGB", (64, 48), (0, 200, 0)).save(src / "after.png")
    (src / "report.pdf").write_bytes(b"%PDF-1.4\n% acceptance report\n")
    (src / "fake.jpg").write_bytes(b"%PDF-1.4\n% a PDF named as a photo\n")
    (src / "notes.txt").write_bytes(b"plain text")
    return store, src


def stored_files(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []


def test_attach_stores_by_hash_and_seals_the_event(runner, seeded_url, files):
    store, src = files
    hz = cli_on(runner, seeded_url, now="2026-03-03T09:00")
    case_id = hz("case", "report", "--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司",
                 "--region", "371721", "--industry", "危险化学品", "--level", "major", "--source", "inspection",
                 actor="ent").stdout.strip()
    done = hz("--json", "case", "attach", case_id, src / "old.jpg", src / "report.pdf", "--kind", "rectified",
              "--note", "报警器已安装", actor="ent")
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    assert [(f["name"], f["media_type"], f["kind"]) for f in printed] == [
        ("old.jpg", "image/jpeg", "rectified"), ("report.pdf", "application/pdf", "rectified")]
    import hashlib
    pdf = (src / "report.pdf").read_bytes()
    assert printed[1]["sha256"] == hashlib.sha256(pdf).hexdigest() and printed[1]["size"] == len(pdf)
    # Content-addressed: the stored bytes are under their hash; the EXIF is what the photo says of itself.
    assert (store / printed[1]["sha256"][:2] / printed[1]["sha256"]).read_bytes() == pdf
    assert printed[0]["exif"] == {"taken_at": "2026-01-05T10:00:00", "device": "HUAWEI P60", "gps": [35.25, 115.5]}
    assert printed[0]["taken_before_found"] is True
    # The same bytes again are reused, not written twice.
    again = hz("--json", "case", "attach", case_id, src / "report.pdf", "--kind", "acceptance", actor="ent")
    assert again.exit_code == 0, again.output
    assert len(stored_files(store)) == 2
    history = json.loads(hz("--json", "case", "history", case_id).stdout)
    attach = [e for e in history if e["trigger"] == "attach"]
    assert len(attach) == 2 and attach[0]["data"]["files"][1]["sha256"] == printed[1]["sha256"]
    assert attach[0]["data"]["note"] == "报警器已安装"
    assert hz("audit", "verify").exit_code == 0


@pytest.mark.parametrize("name,expected", [("fake.jpg", "the name says image/jpeg but the bytes are application/pdf"),
                                           ("notes.txt", "not an accepted type")])
def test_a_file_whose_bytes_contradict_its_name_or_of_another_type_is_refused(runner, seeded_url, files, name,
                                                                                expected):
    store, src = files
    hz = cli_on(runner, seeded_url, now="2026-03-03T09:00")
    case_id = hz("case", "report", "--title", "t", "--enterprise", "某化工有限公司", "--region", "371721",
                 "--industry", "危险化学品", "--level", "major", "--source", "inspection", actor="ent").stdout.strip()
    # A good file given with the bad one: nothing at all is stored or recorded.
    done = hz("case", "attach", case_id, src / "report.pdf", src / name, actor="ent")
    assert done.exit_code == 2, done.output
    assert expected in done.output
    assert stored_files(store) == []
    history = json.loads(hz("--json", "case", "history", case_id).stdout)
    assert [e["trigger"] for e in history] == ["report"]


def test_a_file_over_the_size_limit_is_refused(service, files, monkeypatch):
    from engine.domain import limits
    from engine.domain.errors import InvalidInput
    store, src = files
    case = report(service)
    monkeypatch.setattr(limits, "DEFAULT_ATTACH_MAX_MB", 1)
    big = src / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 1_000_001)
    with pytest.raises(InvalidInput, match="more than the limit of 1 MB"):
        service.commands.attach(case.id, [str(big)], actor="ent", kind="plan")
    assert stored_files(store) == []


def test_attach_is_refused_outside_the_case_region_and_for_an_unknown_kind(service, files):
    from engine.domain.errors import InvalidInput, PermissionDenied
    _, src = files
    case = report(service)
    with pytest.raises(PermissionDenied):
        service.commands.attach(case.id, [str(src / "report.pdf")], actor="far", kind="plan")
    with pytest.raises(InvalidInput, match="kind 'photo' is not one of"):
        service.commands.attach(case.id, [str(src / "report.pdf")], actor="ent", kind="photo")


def test_on_sqlite_the_store_defaults_to_a_folder_beside_the_database(service, tmp_path, monkeypatch):
    if not service.store.is_sqlite:
        pytest.skip("the default is SQLite's")
    monkeypatch.delenv("HAZARD_FILES", raising=False)
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% plan\n")
    case = report(service)
    _, stored = service.commands.attach(case.id, [str(pdf)], actor="ent", kind="plan")
    assert os.path.isfile(f"{service.store.path}.files/{stored[0]['sha256'][:2]}/{stored[0]['sha256']}")


def test_on_postgresql_without_a_store_attach_says_what_to_set(service, tmp_path, monkeypatch):
    from engine.domain.errors import InvalidInput
    if service.store.is_sqlite:
        pytest.skip("PostgreSQL has no default store")
    monkeypatch.delenv("HAZARD_FILES", raising=False)
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    case = report(service)
    with pytest.raises(InvalidInput, match="set HAZARD_FILES"):
        service.commands.attach(case.id, [str(pdf)], actor="ent", kind="plan")


def test_the_shipped_major_hazard_workflow_requires_evidence_to_submit():
    """workflows/major-hazard.yaml as shipped: `submit` requires a rectification photo or acceptance material."""
    from engine.domain.definition.parse import parse_text
    definition = parse_text(MAJOR.read_text(encoding="utf-8"), str(MAJOR))
    assert definition.transition("rectifying", "submit").requires_attachments == ("rectified", "acceptance")
    assert definition.transition("reported", "assign").issues == "rectification-order"


def test_submit_requiring_evidence_is_refused_until_one_kind_is_attached(service, files):
    """The shipped major-hazard workflow: submit is refused until a rectified photo or acceptance material is
    attached (any one)."""
    from engine.domain.errors import Refused
    _, src = files
    case = report(service)
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    service.commands.advance_case(case.id, "start", actor="ent")
    with pytest.raises(Refused) as refused:
        service.commands.advance_case(case.id, "submit", actor="ent")
    assert refused.value.rule == "requires_attachments"
    assert refused.value.missing == ("rectified", "acceptance")
    assert "rectified (整改照片) or acceptance (验收材料)" in str(refused.value)
    service.commands.attach(case.id, [str(src / "report.pdf")], actor="ent", kind="plan")  # not a kind it takes
    with pytest.raises(Refused):
        service.commands.advance_case(case.id, "submit", actor="ent")
    service.commands.attach(case.id, [str(src / "report.pdf")], actor="ent", kind="acceptance")  # any one will do
    assert service.commands.advance_case(case.id, "submit", actor="ent").state == "verifying"


def test_requires_attachments_names_kinds_of_the_vocabulary(runner, tmp_path):
    from engine.app.registry import load_definition
    from engine.domain.errors import DefinitionInvalid
    text = MAJOR.read_text(encoding="utf-8").replace(
        "    requires_attachments: [rectified, acceptance]", "    requires_attachments: [selfie]", 1)
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(text, "major-hazard.yaml")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("    requires_attachments: [selfie]"))
    assert f"major-hazard.yaml:{line}: " in str(caught.value) and "'selfie'" in str(caught.value)


def test_audit_verify_names_each_sealed_file_missing_or_altered(runner, seeded_url, files):
    store, src = files
    hz = cli_on(runner, seeded_url, now="2026-03-03T09:00")
    case_id = hz("case", "report", "--title", "t", "--enterprise", "某化工有限公司", "--region", "371721",
                 "--industry", "危险化学品", "--level", "major", "--source", "inspection", actor="ent").stdout.strip()
    printed = json.loads(hz("--json", "case", "attach", case_id, src / "report.pdf", src / "after.png",
                            "--kind", "rectified", actor="ent").stdout)
    assert hz("audit", "verify").exit_code == 0
    pdf, png = (store / f["sha256"][:2] / f["sha256"] for f in printed)
    os.chmod(pdf, 0o644)
    pdf.write_bytes(b"%PDF-1.4\n% altered\n")
    png.unlink()
    done = hz("--json", "audit", "verify")
    assert done.exit_code == 10, done.output
    problems = [b["problem"] for b in json.loads(done.stdout)["breaks"]]
    assert any("evidence file 'report.pdf'" in p and "altered" in p for p in problems), problems
    assert any("evidence file 'after.png'" in p and "missing" in p for p in problems), problems


def _reported_with_evidence(hz, src):
    case_id = hz("case", "report", "--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司",
                 "--region", "371721", "--industry", "危险化学品", "--level", "major", "--source", "inspection",
                 actor="ent", now="2026-03-03T08:00").stdout.strip()
    done = hz("--json", "case", "attach", case_id, src / "old.jpg", src / "report.pdf", "--kind", "rectified",
              actor="ent")
    assert done.exit_code == 0, done.output
    return case_id, json.loads(done.stdout)


def test_case_show_lists_the_evidence_with_hashes_and_what_a_photo_says(runner, seeded_url, files):
    _, src = files
    hz = cli_on(runner, seeded_url, now="2026-03-03T09:00")
    case_id, printed = _reported_with_evidence(hz, src)
    shown = json.loads(hz("--json", "case", "show", case_id).stdout)
    photo, pdf = shown["evidence"]
    assert photo == {"sha256": printed[0]["sha256"], "name": "old.jpg", "size": printed[0]["size"],
                     "media_type": "image/jpeg", "kind": "rectified", "attached_at": "2026-03-03T09:00:00+08:00",
                     "by": "ent", "taken_at": "2026-01-05T10:00:00", "gps": [35.25, 115.5], "device": "HUAWEI P60",
                     "taken_before_found": True}
    assert pdf["sha256"] == printed[1]["sha256"] and "taken_at" not in pdf and "taken_before_found" not in pdf
    text = hz("case", "show", case_id).stdout
    assert "evidence" in text and "old.jpg" in text and printed[1]["sha256"][:16] in text
    assert "taken before the hazard was found" in text
    # As of a moment before the attach: nothing was attached then.
    early = json.loads(hz("--json", "case", "show", case_id, "--as-of", "2026-03-03T08:30").stdout)
    assert early["evidence"] == []


def test_the_dossier_lists_evidence_and_embeds_thumbnails_leaving_originals_untouched(runner, seeded_url, files):
    import base64
    import hashlib
    import io

    from PIL import Image
    store, src = files
    hz = cli_on(runner, seeded_url, now="2026-03-03T09:00")
    case_id, printed = _reported_with_evidence(hz, src)
    photo = store / printed[0]["sha256"][:2] / printed[0]["sha256"]
    before = photo.read_bytes()
    data = json.loads(hz("audit", "dossier", case_id, "--format", "json").stdout)
    shown = {e["name"]: e for e in data["evidence"]}
    assert shown["old.jpg"]["stored"] is True and shown["old.jpg"]["taken_before_found"] is True
    thumb = shown["old.jpg"]["thumbnail"]
    assert thumb.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1]))) as small:
        assert max(small.size) <= 320 and small.size[0] < 640
    assert "thumbnail" not in shown["report.pdf"]  # a PDF is listed, not pictured
    assert photo.read_bytes() == before and hashlib.sha256(before).hexdigest() == printed[0]["sha256"]
    html = hz("audit", "dossier", case_id, "--format", "html").stdout
    assert "证据材料" in html and printed[1]["sha256"] in html and "<img class='thumb' src='data:image/jpeg" in html
    assert "taken before the hazard was found" in html
    # A stored file gone: the dossier says so instead of failing.
    photo.unlink()
    html = hz("audit", "dossier", case_id, "--format", "html").stdout
    assert "missing from the store" in html and "<img" not in html
