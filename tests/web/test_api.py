"""JSON API: authentication, centre scoping (404 outside), scores equal to the CLI, import 422/200, CSRF."""

from __future__ import annotations

import io
import json
import zipfile

from typer.testing import CliRunner

from cartlens.cli import app as cli_app
from tests.web.conftest import LABS, PASSWORD, PATIENTS, login


def _zip(**tables: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in tables.items():
            z.writestr(f"data/{name}.csv", text)
    return buf.getvalue()


def test_login_wrong_password_is_401_and_cookie_flags(client):
    assert client.post("/api/v1/auth/login", json={"username": "alice", "password": "nope" * 4}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"username": "ghost", "password": PASSWORD}).status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert r.json()["centres"] == ["A"]


def test_patients_list_is_scoped_to_own_centre(client):
    assert client.get("/api/v1/patients").status_code == 401
    login(client, "alice")
    ids = {(p["centre"], p["patient_id"]) for p in client.get("/api/v1/patients").json()}
    assert ids == {("A", "P1"), ("A", "P2")}


def test_patient_outside_centre_is_404_like_a_missing_one(client):
    login(client, "alice")
    assert client.get("/api/v1/patients/B/Q1").status_code == 404
    assert client.get("/api/v1/patients/A/NOPE").status_code == 404
    assert client.get("/patients/B/Q1").status_code == 404
    detail = client.get("/api/v1/patients/A/P1").json()
    assert detail["patient_id"] == "P1" and len(detail["scans"]) == 2 and len(detail["lesions"]) == 4
    # CRP 45 mg/L stored canonically as 4.5 mg/dL (1 mg/dL = 10 mg/L)
    crp = [lab for lab in detail["labs"] if lab["analyte"] == "crp"][0]
    assert abs(crp["value"] - 4.5) < 1e-12


def test_patient_detail_has_four_criteria_responses(client):
    login(client, "alice")
    responses = client.get("/api/v1/patients/A/P1").json()["responses"]
    assert {r["criterion"] for r in responses} == {"lugano", "cheson2007", "recil", "lyric"}
    # SPD baseline 4*3 + 3*2 = 18 cm^2; FU1 2*1.5 + 1.5*1 = 4.5 cm^2 -> -75 % (hand calculation)
    lugano = [r for r in responses if r["criterion"] == "lugano"][0]
    assert abs(lugano["spd"] - 4.5) < 1e-9
    assert abs(lugano["spd_change_baseline_pct"] - (-75.0)) < 1e-9


def test_export_is_scoped(client):
    login(client, "bob")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/v1/export").content))
    patients = archive.read("patients.csv").decode()
    assert "Q1" in patients and "P1" not in patients and "P2" not in patients


def test_scores_endpoint_equals_cli(client):
    body = {"anc": 1.2, "hb": "90 g/L", "plt": 110, "crp": "45 mg/L", "ferritin": 800}
    api = client.post("/api/v1/scores/car-hematotox", json=body).json()
    cli = CliRunner().invoke(cli_app, ["score", "car-hematotox", "--anc", "1.2", "--hb", "90 g/L", "--plt", "110",
                                       "--crp", "45 mg/L", "--ferritin", "800", "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert api == json.loads(cli.output)
    # CAR-HEMATOTOX (Rejeski, Blood 2021; point table and equality conventions of spec scores.md §7), by hand:
    # ANC 1.2 <= 1.2 -> 1; Hb 90 g/L = 9.0 g/dL <= 9.0 -> 1; PLT 110 in 75-175 -> 1; CRP 45 mg/L = 4.5 mg/dL
    # >= 3.0 -> 1; ferritin 800 in 650-2000 -> 1; total 5.
    assert api["computable"] is True and api["value"] == 5
    assert client.post("/api/v1/scores/no-such-score", json={}).status_code == 404


def test_import_needs_editor_and_csrf(client):
    login(client, "viewa")
    files = {"file": ("d.zip", _zip(patients=PATIENTS.replace("A,dev", "A,dev")), "application/zip")}
    assert client.post("/api/v1/import", files=files).status_code in (403,)
    client.cookies.clear()
    token = login(client, "alice")
    assert client.post("/api/v1/import", files=files).status_code == 403  # no CSRF header
    r = client.post("/api/v1/import", files=files, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    del token


def test_import_with_errors_is_422_with_every_error_and_stores_nothing(client):
    token = login(client, "alice")
    bad_patients = PATIENTS.replace("P2,A,development,M,58", "P1,A,development,M,158")  # duplicate id, age > 100
    bad_labs = LABS.replace("P1,A,-5,hb,90,g/L", "P1,A,-5,hb,90,mg/L")  # unit not valid for Hb
    before = client.get("/api/v1/patients").json()
    r = client.post("/api/v1/import", files={"file": ("d.zip", _zip(patients=bad_patients, labs=bad_labs),
                                                       "application/zip")}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any("patients.csv:3:age" in e for e in errors), errors
    assert any("patients.csv:3:patient_id" in e for e in errors), errors
    assert any(e.startswith("labs.csv:3:unit") for e in errors), errors
    assert client.get("/api/v1/patients").json() == before


def test_import_into_another_centre_is_refused(client):
    token = login(client, "alice")
    other = PATIENTS.replace("P1,A,", "P9,B,")
    lines = [ln for ln in other.splitlines() if ",B," in ln or ln.startswith("patient_id")]
    r = client.post("/api/v1/import", files={"file": ("d.zip", _zip(patients="\n".join(lines) + "\n"),
                                                       "application/zip")}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert all("not one of your centres" in e for e in r.json()["errors"])


def test_valid_import_stores_and_is_audited(client):
    token = login(client, "alice")
    changed = PATIENTS.replace("P2,A,development,M,58", "P2,A,development,M,59")
    lines = [ln for ln in changed.splitlines() if ",A," in ln or ln.startswith("patient_id")]
    r = client.post("/api/v1/import", files={"file": ("d.zip", _zip(patients="\n".join(lines) + "\n"),
                                                       "application/zip")}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    p2 = client.get("/api/v1/patients/A/P2").json()
    assert p2["age"] == 59


def test_path_traversal_and_garbage_uploads_are_rejected(client):
    token = login(client, "alice")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../etc/patients.csv", PATIENTS)
    r = client.post("/api/v1/import", files={"file": ("evil.zip", buf.getvalue(), "application/zip")},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "traversal" in r.json()["errors"][0]
    r = client.post("/api/v1/import", files={"file": ("x.zip", b"not a zip at all", "application/zip")},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "not a valid zip" in r.json()["errors"][0]


def test_logout_needs_csrf_and_ends_session(client):
    token = login(client, "alice")
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token}).status_code == 200
    assert client.get("/api/v1/patients").status_code == 401


def test_lockout_after_repeated_failures(client):
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong password!!"})
    # the right password is now refused too (locked for 15 minutes)
    assert client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}).status_code == 401


def test_security_headers_and_openapi(client):
    r = client.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/patients",
                  "/api/v1/patients/{centre}/{patient_id}", "/api/v1/scores/{name}", "/api/v1/import"):
        assert route in paths


def test_xlsx_workbook_upload_errors_name_sheet_and_row(client, tmp_path):
    import pandas as pd

    token = login(client, "alice")
    rows = [ln.split(",") for ln in PATIENTS.strip().splitlines()]
    frame = pd.DataFrame(rows[1:3], columns=rows[0])
    frame.loc[1, "stage"] = "9"  # spreadsheet row 3 (header is row 1)
    path = tmp_path / "cohort.xlsx"
    frame.to_excel(path, sheet_name="patients", index=False)
    r = client.post("/api/v1/import", files={"file": ("cohort.xlsx", path.read_bytes())},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert any(e.startswith("cohort.xlsx[patients]:3:stage") for e in r.json()["errors"]), r.json()
