"""JSON API under ``/api/v1`` (fixed routes of spec ``web_and_security.md``)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Depends, File, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from cartlens.web import auth, services
from cartlens.web.access import (
    SESSION_COOKIE,
    check_csrf,
    patient_record,
    require_role,
    require_user,
    scoped_tables,
)

router = APIRouter(prefix="/api/v1", tags=["api"])


class LoginRequest(BaseModel):
    """Credentials for ``POST /api/v1/auth/login``."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


def set_session_cookie(request: Request, response: Response, session: auth.Session) -> None:
    """Attach the session cookie (HttpOnly, SameSite=Strict, Secure unless disabled for tests)."""
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="strict",
        secure=request.app.state.config.secure_cookies, max_age=int(auth.SESSION_MAX_AGE.total_seconds()),
        path="/",
    )


@router.post("/auth/login")
def login(body: LoginRequest, request: Request) -> Response:
    """Open a session: 200 with the user and its CSRF token plus a cookie, 401 otherwise."""
    session = auth.authenticate(request.app.state.engine, body.username, body.password)
    if session is None:
        return JSONResponse({"detail": "invalid credentials"}, status_code=401)
    response = JSONResponse({"username": session.user.username, "role": session.user.role,
                             "centres": list(session.user.centres), "csrf_token": session.csrf_token})
    set_session_cookie(request, response, session)
    return response


@router.post("/auth/logout")
def logout(request: Request, session: auth.Session = Depends(require_user),
           x_csrf_token: str | None = Header(default=None)) -> Response:
    """End the session (needs the CSRF header)."""
    check_csrf(session, x_csrf_token)
    auth.logout(request.app.state.engine, session.token)
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/patients")
def list_patients(request: Request, session: auth.Session = Depends(require_user)) -> list[dict[str, Any]]:
    """The caller's centres' patients only."""
    patients = scoped_tables(request, session).get("patients")
    if patients is None or patients.empty:
        return []
    return services.jsonable(patients.sort_values(["centre", "patient_id"]))


@router.get("/patients/{centre}/{patient_id}")
def get_patient(centre: str, patient_id: str, request: Request,
                session: auth.Session = Depends(require_user)) -> dict[str, Any]:
    """One patient with scans, lesions, labs, scores and responses; 404 outside the caller's centres."""
    return services.patient_detail(patient_record(request, session, centre, patient_id))


@router.post("/scores/{name}")
def score(name: str, inputs: dict[str, Any], request: Request) -> Any:
    """One pre-infusion score (no login, nothing stored); same JSON as ``cartlens score NAME``."""
    from cartlens.scores import SCORES

    if name not in SCORES:
        raise HTTPException(status_code=404, detail=f"unknown score {name!r}")
    try:
        return services.compute_score(name, inputs, request.app.state.config)
    except (ValueError, TypeError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)


@router.post("/import")
async def import_upload(request: Request, file: UploadFile = File(...),
                        session: auth.Session = Depends(require_role("editor")),
                        x_csrf_token: str | None = Header(default=None)) -> Response:
    """Validate and store an uploaded data folder (zip) or workbook: 200 summary or 422 error list."""
    check_csrf(session, x_csrf_token)
    cfg = request.app.state.config
    payload = await file.read(cfg.max_upload_bytes + 1)
    batch, errors = services.check_upload(file.filename or "upload", payload, session, max_bytes=cfg.max_upload_bytes)
    if errors:
        return JSONResponse({"errors": errors}, status_code=422)
    result = services.commit_upload(batch, session, cfg.db_url)
    if "errors" in result:
        return JSONResponse(result, status_code=422)
    return JSONResponse(result)


@router.get("/export")
def export(request: Request, session: auth.Session = Depends(require_user)) -> Response:
    """The caller's centres' canonical tables as a zip of CSV files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, df in scoped_tables(request, session).items():
            if df is not None:
                archive.writestr(f"{name}.csv", df.to_csv(index=False))
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="cartlens-export.zip"'})
