"""Authentication dependencies and THE single place where centre scoping is applied.

Every route that shows or changes study data obtains it through :func:`scoped_tables` or
:func:`patient_record`; both pass the user's centres down to ``Store.load_tables(centres=…)`` so that a
query can never return another centre's rows.  A patient outside the caller's centres is answered with
404 (not 403) so that its existence does not leak.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import Depends, HTTPException, Request

from cartlens.web import auth
from cartlens.web.app import SESSION_COOKIE

CSRF_HEADER = "X-CSRF-Token"


def current_session(request: Request) -> auth.Session | None:
    """The session of the request's cookie, or ``None``."""
    cached = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    session = auth.resolve_session(request.app.state.engine, request.cookies.get(SESSION_COOKIE))
    request.state.session = session
    return session


def require_user(request: Request) -> auth.Session:
    """Dependency: a logged-in session (401 otherwise)."""
    session = current_session(request)
    if session is None:
        raise HTTPException(status_code=401, detail="login required")
    return session


def require_role(role: str):  # type: ignore[no-untyped-def]
    """Dependency factory: a logged-in user whose role is at least ``role`` (403 otherwise)."""

    def _dep(session: auth.Session = Depends(require_user)) -> auth.Session:
        if not session.user.can(role):
            raise HTTPException(status_code=403, detail=f"{role} role required")
        return session

    return _dep


def check_csrf(session: auth.Session, presented: str | None) -> None:
    """Reject a cookie-authenticated state-changing request without the session's CSRF token."""
    if not auth.csrf_ok(session, presented):
        raise HTTPException(status_code=403, detail="missing or invalid CSRF token")


def _store(request: Request):  # type: ignore[no-untyped-def]
    from cartlens.store import Store

    return Store(request.app.state.config.db_url)


def scoped_tables(request: Request, session: auth.Session) -> dict[str, pd.DataFrame]:
    """Canonical tables restricted to the session user's centres (the only data path of the web app)."""
    return _store(request).load_tables(centres=list(session.user.centres))


def patient_record(request: Request, session: auth.Session, centre: str, patient_id: str) -> dict[str, Any]:
    """All rows of one patient, or 404 if the patient does not exist *or* is outside the user's centres."""
    if centre not in session.user.centres:
        raise HTTPException(status_code=404, detail="patient not found")
    tables = _store(request).load_tables(centres=[centre], patient_ids=[patient_id])
    patients = tables.get("patients", pd.DataFrame())
    hit = patients[(patients["centre"] == centre) & (patients["patient_id"] == patient_id)]
    if hit.empty:
        raise HTTPException(status_code=404, detail="patient not found")
    record: dict[str, Any] = {"patient": hit.iloc[0].to_dict()}
    for name, df in tables.items():
        if name == "patients" or df is None or df.empty or "patient_id" not in df.columns:
            continue
        record[name] = df[(df["centre"] == centre) & (df["patient_id"] == patient_id)].reset_index(drop=True)
    return record
