"""Server-rendered pages: login form with CSRF, scoped cohort pages, calculators, upload preview, audit."""

from __future__ import annotations

import io
import re
import zipfile

from tests.web.conftest import PASSWORD, PATIENTS


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_login(client, username: str) -> str:
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text),
                                    "next": "/patients"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return _csrf(client.get("/patients").text)


def test_login_form_rejects_missing_csrf(client):
    client.get("/login")
    r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403


def test_pages_redirect_to_login_when_anonymous(client):
    r = client.get("/patients", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_patient_list_page_shows_only_own_centre(client):
    form_login(client, "bob")
    html = client.get("/patients").text
    assert "Q1" in html and ">P1<" not in html and ">P2<" not in html
    assert client.get("/patients/A/P1").status_code == 404


def test_patient_page_shows_response_table_and_lesions(client):
    form_login(client, "alice")
    html = client.get("/patients/A/P1").text
    assert 'id="responses"' in html
    for criterion in ("lugano", "cheson2007", "recil", "lyric"):
        assert f"<td>{criterion}</td>" in html
    assert "cervical" in html and "mediastinal" in html


def test_calculator_page_with_unit_change(client):
    # Hb 90 g/L selected as g/L = 9.0 g/dL: same result as the canonical input (hand: total 5, see test_api)
    q = "anc=1.2&hb=90&hb__unit=g/L&plt=110&crp=45&crp__unit=mg/L&ferritin=800"
    html = client.get(f"/calculators/car-hematotox?{q}").text
    assert re.search(r'id="result-value">5<', html), html[-2000:]
    assert client.get("/calculators/car-impi").status_code == 404  # not configured
    assert "unverified" in client.get("/calculators/impi").text.lower()


def test_upload_preview_lists_errors_then_stores_after_confirm(client):
    token = form_login(client, "alice")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("patients.csv", PATIENTS.replace("58,tFL,2", "58,tFL,7"))  # stage 7
    r = client.post("/upload", data={"csrf_token": token}, files={"file": ("d.zip", buf.getvalue())})
    assert r.status_code == 422 and "patients.csv:3:stage" in r.text
    good = io.BytesIO()
    lines = [ln for ln in PATIENTS.replace("64,DLBCL", "65,DLBCL").splitlines() if ",B," not in ln]
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("patients.csv", "\n".join(lines) + "\n")
    r = client.post("/upload", data={"csrf_token": token}, files={"file": ("d.zip", good.getvalue())})
    assert r.status_code == 200 and 'id="preview"' in r.text
    pending = re.search(r'name="pending" value="([^"]+)"', r.text).group(1)
    assert client.post("/upload/confirm", data={"csrf_token": "forged", "pending": pending}).status_code == 403
    r = client.post("/upload/confirm", data={"csrf_token": token, "pending": pending})
    assert r.status_code == 200 and 'id="stored"' in r.text
    assert ">65<" in client.get("/patients").text
    audit = client.get("/audit").text
    assert "64" in audit and "65" in audit


def test_viewer_cannot_upload(client):
    form_login(client, "viewa")
    assert client.get("/upload").status_code == 403


def test_logout_form_requires_csrf(client):
    token = form_login(client, "alice")
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_audit_page_is_scoped(client):
    form_login(client, "bob")
    html = client.get("/audit").text
    # the fixture import audited rows of both centres; bob (centre B) sees B's rows only
    assert "Q1" in html and "P1" not in html and "P2" not in html


def test_analyses_run_on_own_centre_only_and_report_download(client, tmp_path, monkeypatch):
    import cartlens.web.pages as pages

    monkeypatch.setattr(pages, "_REPORTS_DIR", tmp_path / "reports")
    token = form_login(client, "alice")
    assert client.get("/analyses/report.html").status_code == 404          # nothing run yet
    assert client.post("/analyses/run", data={"csrf_token": "forged"}).status_code == 403
    r = client.post("/analyses/run", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    report = client.get("/analyses/report.html")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    html = report.text
    assert "Cohort" in html and "(A)" in html
    # centre B's patient (Q1, age 71) never reaches a centre-A report: Table 1 has 2 patients, ages 64 and 58,
    # so the median (Q1, Q3) age is 61 (59.5, 62.5) -> printed "61 (60, 62)"; with Q1 it would be 64 (61, 67.5)
    assert "patients: 2" in html and "all (n = 2)" in html and "61 (60, 62)" in html


def test_viewer_cannot_run_analyses(client):
    token = form_login(client, "viewa")
    assert client.post("/analyses/run", data={"csrf_token": token}).status_code == 403
