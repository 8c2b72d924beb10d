"""End to end in headless Chromium (Playwright from PyPI driving Debian's /usr/bin/chromium; no download).

Log in, browse a patient, see the four-criteria response table, upload a file with errors and see them
listed, use the CAR-HEMATOTOX calculator with a unit change, log out.  Screenshots go to
``test-artifacts/`` (or ``$CARTLENS_ARTIFACTS``).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, PATIENTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium not installed (apt-get install chromium)", allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture()
def server(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture()
def artifacts() -> Path:
    path = Path(os.environ.get("CARTLENS_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_clinician_journey(server, artifacts, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("patients.csv", PATIENTS.replace("58,tFL,2", "58,tFL,7"))
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{server}/login")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url("**/patients")
        assert page.locator("#patients").inner_text().count("P") >= 2
        assert "Q1" not in page.locator("#patients").inner_text()
        page.screenshot(path=str(artifacts / "01-patients.png"))

        page.click("text=P1")
        page.wait_for_selector("#responses")
        table = page.locator("#responses").inner_text()
        for criterion in ("lugano", "cheson2007", "recil", "lyric"):
            assert criterion in table
        page.screenshot(path=str(artifacts / "02-patient.png"), full_page=True)

        page.goto(f"{server}/upload")
        page.set_input_files("#file", str(bad))
        page.click("#upload-submit")
        page.wait_for_selector("#upload-errors")
        assert "patients.csv:3:stage" in page.locator("#upload-errors").inner_text()
        page.screenshot(path=str(artifacts / "03-upload-errors.png"))

        page.goto(f"{server}/calculators/car-hematotox")
        for field, value in (("anc", "1.2"), ("hb", "90"), ("plt", "110"), ("crp", "45"), ("ferritin", "800")):
            page.fill(f"#in-{field}", value)
        page.select_option("#unit-hb", "g/L")
        page.select_option("#unit-crp", "mg/L")
        page.click("#calculate")
        page.wait_for_selector("#result")
        # hand calculation (spec scores.md §7): 1 + 1 + 1 + 1 + 1 = 5
        assert page.locator("#result-value").inner_text().strip() == "5"
        page.screenshot(path=str(artifacts / "04-calculator.png"))

        page.click("#logout")
        page.wait_for_selector("#login-link")
        page.goto(f"{server}/patients")
        page.wait_for_selector("#login-form")
        browser.close()
