"""Fixtures for the web app: a two-centre database, users of each centre, an HTTPS test client."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cartlens.io import read_data_dir
from cartlens.store import Store, sqlite_url
from cartlens.web import auth
from cartlens.web.app import WebConfig, create_app

PASSWORD = "correct horse battery staple"

PATIENTS = """patient_id,centre,cohort,sex,age,histology,stage,ecog,extranodal_sites,prior_lines,bridging,product,mtv_ml,mtv_method,pfs_days,pfs_event,os_days,os_event
P1,A,development,F,64,DLBCL,3,1,bone_marrow,2,systemic,axi-cel,120.5,suv4,95,1,400,1
P2,A,development,M,58,tFL,2,0,,3,none,tisa-cel,12,suv4,700,0,700,0
Q1,B,validation,M,71,DLBCL,4,2,liver;lung,2,radiation,liso-cel,300,pct41,60,1,200,1
"""
LABS = """patient_id,centre,day,analyte,value,unit,uln
P1,A,-5,anc,1.2,10^9/L,
P1,A,-5,hb,90,g/L,
P1,A,-5,plt,110,10^9/L,
P1,A,-5,crp,45,mg/L,
P1,A,-5,ferritin,800,ng/mL,
P1,A,-5,ldh,400,U/L,250
Q1,B,-4,ldh,900,U/L,250
"""
TOX = """patient_id,centre,crs_grade,icans_grade,icu,tocilizumab,corticosteroids
P1,A,2,1,false,true,false
Q1,B,3,3,true,true,true
"""
SCANS = """patient_id,centre,scan_id,day,modality,spleen_cm,marrow,nontarget
P1,A,S0,-10,petct,11,not_involved,present
P1,A,S1,30,petct,11,not_involved,present
Q1,B,T0,-8,petct,12,not_involved,absent
Q1,B,T1,29,petct,12,not_involved,absent
"""
LESIONS = """patient_id,centre,scan_id,lesion_id,site,nodal,role,state,ldi_cm,sdi_cm,suvmax,deauville
P1,A,S0,L1,cervical,true,target,measured,4.0,3.0,18,5
P1,A,S0,L2,mediastinal,true,target,measured,3.0,2.0,12,5
P1,A,S1,L1,cervical,true,,measured,2.0,1.5,6,4
P1,A,S1,L2,mediastinal,true,,measured,1.5,1.0,5,4
Q1,B,T0,M1,axillary,true,target,measured,5.0,4.0,20,5
Q1,B,T1,M1,axillary,true,,measured,7.0,5.0,25,5
"""


def write_dir(path: Path, **tables: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (path / f"{name}.csv").write_text(text)
    return path


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "web.db")
    store = Store(url)
    store.migrate()
    batch = read_data_dir(write_dir(tmp_path / "data", patients=PATIENTS, labs=LABS, toxicity=TOX, scans=SCANS,
                                    lesions=LESIONS))
    assert batch.ok, [str(e) for e in batch.errors]
    store.import_batch(batch, user="fixture")
    return url


@pytest.fixture()
def app(db_url: str):
    application = create_app(WebConfig(db_url=db_url))
    engine = application.state.engine
    auth.add_user(engine, "alice", PASSWORD, "editor", ["A"])
    auth.add_user(engine, "viewa", PASSWORD, "viewer", ["A"])
    auth.add_user(engine, "bob", PASSWORD, "editor", ["B"])
    return application


@pytest.fixture()
def client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def login(client: TestClient, username: str) -> str:
    """Log in through the API; returns the CSRF token."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]
