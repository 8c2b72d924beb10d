"""Server-rendered pages (Jinja2): calculators, login, cohort browser, upload with preview, audit."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cartlens.web import auth, services
from cartlens.web.access import (
    SESSION_COOKIE,
    check_csrf,
    current_session,
    patient_record,
    require_role,
    require_user,
    scoped_tables,
)
from cartlens.web.api import set_session_cookie

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "cartlens_login_csrf"
_PENDING_DIR = Path(tempfile.gettempdir()) / "cartlens-pending-uploads"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the current session (if any) in the context."""
    context.setdefault("session", current_session(request))
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status_code: int, detail: str) -> Response:
    """HTML error page; 401 on a page redirects to the login form."""
    if status_code == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render(request, "error.html", status_code=status_code, status_code_=status_code, detail=detail)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


# ---------------------------------------------------------------- calculators (no login, nothing stored)
def _calculator_names(request: Request) -> list[str]:
    from cartlens.scores import SCORES

    cfg = request.app.state.config
    names = []
    for name in SCORES:
        if name == "car-impi" and not cfg.car_impi_coefficients:
            continue
        if name == "inflamix" and not cfg.inflamix_model:
            continue
        names.append(name)
    return names


@router.get("/calculators", response_class=HTMLResponse)
def calculators(request: Request) -> HTMLResponse:
    from cartlens.scores import SCORES

    return render(request, "calculators.html", names=_calculator_names(request), scores=SCORES)


@router.get("/calculators/{name}", response_class=HTMLResponse)
def calculator(name: str, request: Request) -> HTMLResponse:
    """A calculator form; with inputs in the query string it also shows the result (GET: nothing stored)."""
    from cartlens.scores import SCORES

    if name not in _calculator_names(request):
        raise HTTPException(status_code=404, detail="no such calculator (or not configured)")
    meta = SCORES[name]
    fields = _input_fields(meta)
    query = dict(request.query_params)
    result = None
    if any(query.get(f["name"]) for f in fields):
        inputs: dict[str, Any] = {}
        for f in fields:
            raw = query.get(f["name"], "").strip()
            if raw:
                unit = query.get(f"{f['name']}__unit", "").strip()
                inputs[f["name"]] = f"{raw} {unit}" if unit and unit != f["unit"] else raw
        try:
            result = services.compute_score(name, inputs, request.app.state.config)
        except (ValueError, TypeError) as exc:
            result = {"computable": False, "value": None, "group": None, "points": {}, "messages": [str(exc)]}
    return render(request, "calculator.html", name=name, meta=meta, fields=fields, query=query, result=result)


def _input_fields(meta: Any) -> list[dict[str, Any]]:
    """Form fields from a score's registry entry (name, label, canonical unit, alternative units)."""
    from cartlens.web.forms import input_fields

    return input_fields(meta)


# ---------------------------------------------------------------------------------- login / logout
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/patients") -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next), error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.config.secure_cookies, max_age=900)
    return response


def _safe_next(target: str) -> str:
    """Only same-site relative redirects after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/patients"


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, username: str = Form(...), password: str = Form(...),
                 csrf_token: str = Form(""), next: str = Form("/patients")) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        raise HTTPException(status_code=403, detail="missing or invalid CSRF token")
    session = auth.authenticate(request.app.state.engine, username, password)
    if session is None:
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", status_code=401, login_csrf=token, next=_safe_next(next),
                          error="Invalid user name or password (accounts lock after repeated failures).")
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.app.state.config.secure_cookies, max_age=900)
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, session)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout_submit(request: Request, csrf_token: str = Form(""),
                  session: auth.Session = Depends(require_user)) -> Response:
    check_csrf(session, csrf_token)
    auth.logout(request.app.state.engine, session.token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------------------------------- cohort
@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, session: auth.Session = Depends(require_user)) -> HTMLResponse:
    patients = scoped_tables(request, session).get("patients", pd.DataFrame())
    rows = services.jsonable(patients.sort_values(["centre", "patient_id"])) if not patients.empty else []
    return render(request, "patients.html", rows=rows)


@router.get("/patients/{centre}/{patient_id}", response_class=HTMLResponse)
def patient_page(centre: str, patient_id: str, request: Request,
                 session: auth.Session = Depends(require_user)) -> HTMLResponse:
    record = patient_record(request, session, centre, patient_id)
    responses = services.responses_for(record)
    lesions = record.get("lesions", pd.DataFrame())
    by_scan = {sid: services.jsonable(g) for sid, g in lesions.groupby("scan_id")} if not lesions.empty else {}
    timeline = _timeline(record)
    return render(request, "patient.html", patient=services.jsonable(record["patient"]), timeline=timeline,
                  scans=services.jsonable(record.get("scans", pd.DataFrame())), lesions_by_scan=by_scan,
                  responses=services.jsonable(responses), scores=services.scores_for(record))


def _timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Scans, labs, toxicity and outcomes on one day axis (days from infusion)."""
    events: list[dict[str, Any]] = []
    for _, s in record.get("scans", pd.DataFrame()).iterrows():
        events.append({"day": s["day"], "kind": "scan", "what": f"{s['modality']} {s['scan_id']}"})
    for _, lab in record.get("labs", pd.DataFrame()).iterrows():
        events.append({"day": lab["day"], "kind": "lab", "what": f"{lab['analyte']} {lab['value']} {lab['unit']}"})
    tox = record.get("toxicity", pd.DataFrame())
    for _, t in tox.iterrows():
        events.append({"day": 0, "kind": "toxicity",
                       "what": f"CRS grade {t.get('crs_grade')}, ICANS grade {t.get('icans_grade')}"})
    p = record["patient"]
    for kind in ("pfs", "os"):
        days, event = p.get(f"{kind}_days"), p.get(f"{kind}_event")
        if days is not None and not pd.isna(days):
            label = {"pfs": "progression or death", "os": "death"}[kind] if event == 1 else "censored"
            events.append({"day": days, "kind": kind.upper(), "what": label})
    return sorted(services.jsonable(events), key=lambda e: (e["day"] is None, e["day"] or 0))


# ------------------------------------------------------------------------------ upload with preview
@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, session: auth.Session = Depends(require_role("editor"))) -> HTMLResponse:
    return render(request, "upload.html", errors=None, preview=None, pending=None)


@router.post("/upload", response_class=HTMLResponse)
async def upload_preview(request: Request, file: UploadFile = File(...), csrf_token: str = Form(""),
                         session: auth.Session = Depends(require_role("editor"))) -> HTMLResponse:
    """Validate the upload and show every error (or a preview); nothing is stored at this step."""
    check_csrf(session, csrf_token)
    cfg = request.app.state.config
    payload = await file.read(cfg.max_upload_bytes + 1)
    batch, errors = services.check_upload(file.filename or "upload", payload, session, max_bytes=cfg.max_upload_bytes)
    if errors:
        return render(request, "upload.html", status_code=422, errors=errors, preview=None, pending=None)
    pending = secrets.token_urlsafe(16)
    _PENDING_DIR.mkdir(mode=0o700, exist_ok=True)
    (_PENDING_DIR / f"{pending}.{session.user.id}").write_bytes(payload)
    (_PENDING_DIR / f"{pending}.{session.user.id}.name").write_text(Path(file.filename or "upload").name)
    preview = {name: len(df) for name, df in batch.tables.items() if df is not None}
    return render(request, "upload.html", errors=None, preview=preview, pending=pending)


@router.post("/upload/confirm", response_class=HTMLResponse)
def upload_confirm(request: Request, pending: str = Form(...), csrf_token: str = Form(""),
                   session: auth.Session = Depends(require_role("editor"))) -> HTMLResponse:
    """Store a previously previewed upload (re-validated; one transaction)."""
    check_csrf(session, csrf_token)
    if not pending.replace("-", "").replace("_", "").isalnum():
        raise HTTPException(status_code=404, detail="no such pending upload")
    path = _PENDING_DIR / f"{pending}.{session.user.id}"
    if not path.exists():
        raise HTTPException(status_code=404, detail="no such pending upload")
    name = (path.with_name(path.name + ".name")).read_text()
    payload = path.read_bytes()
    path.unlink()
    path.with_name(path.name + ".name").unlink(missing_ok=True)
    batch, errors = services.check_upload(name, payload, session,
                                          max_bytes=request.app.state.config.max_upload_bytes)
    result = {"errors": errors} if errors else services.commit_upload(batch, session,
                                                                      request.app.state.config.db_url)
    if "errors" in result:
        return render(request, "upload.html", status_code=422, errors=result["errors"], preview=None, pending=None)
    return render(request, "upload.html", errors=None, preview=None, pending=None, stored=result["summary"])


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: auth.Session = Depends(require_role("editor"))) -> HTMLResponse:
    """The audit trail of changes to the user's centres' data."""
    from cartlens.store import Store

    log = Store(request.app.state.config.db_url).audit_log(centres=list(session.user.centres))
    return render(request, "audit.html", rows=services.jsonable(log.tail(500)))


# ------------------------------------------------------------------------------- analyses and report
_REPORTS_DIR = Path(tempfile.gettempdir()) / "cartlens-web-reports"


def _report_dir(session: auth.Session) -> Path:
    return _REPORTS_DIR / f"user-{session.user.id}"


@router.get("/analyses", response_class=HTMLResponse)
def analyses_page(request: Request, session: auth.Session = Depends(require_user)) -> HTMLResponse:
    """Run the full study on the user's centres' data and download the report (the user's own runs only)."""
    report = _report_dir(session) / "report.html"
    return render(request, "analyses.html", has_report=report.exists(), error=None)


@router.post("/analyses/run")
def analyses_run(request: Request, csrf_token: str = Form(""),
                 session: auth.Session = Depends(require_role("editor"))) -> Response:
    """Run every study section (``cartlens.study``) on the scoped tables; the report replaces the previous one."""
    check_csrf(session, csrf_token)
    tables = scoped_tables(request, session)
    if tables.get("patients") is None or tables["patients"].empty:
        return render(request, "analyses.html", status_code=422, has_report=False,
                      error="There are no patients in your centres yet.")
    from cartlens.study.config import plan_from_dict
    from cartlens.study.pipeline import run_study

    plan = plan_from_dict({"study": {"title": f"cartlens study report ({', '.join(session.user.centres)})"},
                           "data": {"db": "cartlens", "centres": list(session.user.centres)}})
    out = _report_dir(session)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    run_study(plan, out_dir=out, tables=tables, progress=False)
    return RedirectResponse("/analyses", status_code=303)


@router.get("/analyses/report.html")
def analyses_report(session: auth.Session = Depends(require_user)) -> Response:
    """Download the report of the user's latest analysis run."""
    report = _report_dir(session) / "report.html"
    if not report.exists():
        raise HTTPException(status_code=404, detail="no report yet: run the analyses first")
    return Response(report.read_bytes(), media_type="text/html",
                    headers={"Content-Disposition": 'attachment; filename="cartlens-report.html"'})
