"""Evidence over the web (issue 20): `POST /api/v1/cases/{id}/attachments` (multipart; the same bounds as `hazard case
attach`; 201 with the stored files' documents), `GET /api/v1/cases/{id}` listing the evidence, and the case page's
upload form (CSRF) and evidence list, the files served only to readers of the case. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io
import re

import pytest

from tests.conftest import report
from tests.test_web_api import api, as_user, error_of  # noqa: F401 - fixtures
from tests.test_web_pages import app, browser, engine, signed_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")]


@pytest.fixture(autouse=True)
def files_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZARD_FILES", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def photo_bytes(taken: str = "2026:01:05 10:00:00") -> bytes:
    from PIL import Image
    image = Image.new("RGB", (800, 600), (30, 60, 200))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "HUAWEI", "P60"
    exif.get_ifd(0x8769)[0x9003] = taken
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


PDF = b"%PDF-1.4\n% acceptance report\n"


def stored(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_api_attaches_files_and_answers_the_stored_files(api, as_user, service, files_dir):  # noqa: F811
    case = report(service)
    jpeg = photo_bytes()
    done = api.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("ent"),
                    files=[("files", ("../../整改后.jpg", jpeg, "image/jpeg")), ("files", ("验收.pdf", PDF, "text/plain"))],
                    data={"kind": "rectified", "note": "报警器已安装"})
    assert done.status_code == 201, done.text
    body = done.json()
    assert [(f["name"], f["media_type"], f["kind"]) for f in body] == [
        ("整改后.jpg", "image/jpeg", "rectified"), ("验收.pdf", "application/pdf", "rectified")]
    assert body[1]["sha256"] == hashlib.sha256(PDF).hexdigest() and body[1]["size"] == len(PDF)
    assert body[0]["taken_before_found"] is True
    assert done.headers["ETag"] == '"2"'
    shown = api.get(f"/api/v1/cases/{case.id}", headers=as_user("ent")).json()
    assert [e["sha256"] for e in shown["evidence"]] == [f["sha256"] for f in body]
    assert shown["evidence"][0]["device"] == "HUAWEI P60" and shown["evidence"][0]["by"] == "ent"
    assert len(stored(files_dir)) == 2


def test_the_api_refuses_what_the_cli_refuses_and_stores_nothing(api, as_user, service, files_dir):  # noqa: F811
    case = report(service)
    fake = api.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("ent"),
                    files=[("files", ("ok.pdf", PDF, "application/pdf")), ("files", ("x.jpg", PDF, "image/jpeg"))])
    assert "the name says image/jpeg but the bytes are application/pdf" in error_of(fake, 400)["message"]
    kind = api.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("ent"), data={"kind": "selfie"},
                    files=[("files", ("ok.pdf", PDF, "application/pdf"))])
    error_of(kind, 400)
    far = api.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("far"),
                   files=[("files", ("ok.pdf", PDF, "application/pdf"))])
    assert far.status_code in (403, 404), far.text
    many = api.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("ent"),
                    files=[("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(51)])
    assert "at most 50" in error_of(many, 400)["message"]
    assert stored(files_dir) == [] and len(service.queries.history(case.id)) == 1


def test_the_request_as_a_whole_is_bounded(service, as_user):  # noqa: F811
    from fastapi.testclient import TestClient

    from web.app import create_app
    case = report(service)
    with TestClient(create_app(service, max_attach=10_000)) as client:
        big = client.post(f"/api/v1/cases/{case.id}/attachments", headers=as_user("ent"),
                          files=[("files", ("big.pdf", PDF + b"0" * 20_000, "application/pdf"))])
    assert big.status_code == 413, big.text


def _page_case(engine):  # noqa: F811
    return report(engine)


def test_the_case_page_uploads_with_csrf_lists_evidence_and_serves_it_to_readers_only(browser, engine, files_dir):  # noqa: F811
    case = _page_case(engine)
    client = signed_in(browser, "ent")
    page = client.get(f"/cases/{case.id}")
    assert 'enctype="multipart/form-data"' in page.text and "尚无证据材料" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    jpeg = photo_bytes()
    # Without the session's token: 403 and nothing stored.
    refused = client.post(f"/cases/{case.id}/attachments", data={"csrf": "nope", "kind": "rectified"},
                          files=[("files", ("a.jpg", jpeg, "image/jpeg"))])
    assert refused.status_code == 403 and stored(files_dir) == []
    done = client.post(f"/cases/{case.id}/attachments", data={"csrf": csrf, "kind": "rectified", "note": "<b>x</b>"},
                       files=[("files", ("a.jpg", jpeg, "image/jpeg"))])
    assert done.status_code == 303, done.text
    page = client.get(f"/cases/{case.id}").text
    sha = hashlib.sha256(jpeg).hexdigest()
    assert sha in page and "拍摄早于隐患发现时间" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert f'src="/cases/{case.id}/files/{sha}/thumbnail"' in page
    served = client.get(f"/cases/{case.id}/files/{sha}")
    assert served.status_code == 200 and served.content == jpeg and served.headers["content-type"] == "image/jpeg"
    thumb = client.get(f"/cases/{case.id}/files/{sha}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg" and len(thumb.content) < len(jpeg)
    from PIL import Image
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert max(small.size) <= 320
    # A refusal is shown on the form, what was typed kept.
    bad = client.post(f"/cases/{case.id}/attachments", data={"csrf": csrf, "kind": "plan", "note": "保留"},
                      files=[("files", ("n.txt", b"plain", "text/plain"))])
    assert bad.status_code == 400 and "not an accepted type" in bad.text and "保留" in bad.text
    # Outside the case's region: the file is not there, nor any hash not sealed on this case.
    far = signed_in(browser, "far")
    assert far.get(f"/cases/{case.id}/files/{sha}").status_code == 404
    assert client.get(f"/cases/{case.id}/files/{'0' * 64}").status_code == 404
    # A file gone from the store: 404, and the page still shows the list.
    for path in stored(files_dir):
        path.chmod(0o644)
        path.unlink()
    assert client.get(f"/cases/{case.id}/files/{sha}").status_code == 404
    assert client.get(f"/cases/{case.id}").status_code == 200
