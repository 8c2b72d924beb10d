"""FastAPI application factory: security middleware, session resolution, routers.

Centre scoping is enforced in exactly one place, :func:`cartlens.web.access.scoped_tables`, which every
page, API route and export calls; nothing reads study data from the store any other way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from cartlens import __version__

HERE = Path(__file__).parent
SESSION_COOKIE = "cartlens_session"


@dataclass
class WebConfig:
    """Settings of one web-app instance.

    Parameters
    ----------
    db_url : SQLAlchemy URL of the cartlens database (SQLite file or PostgreSQL).
    secure_cookies : set the ``Secure`` flag on cookies (browsers honour it on http://localhost too).
    car_impi_coefficients : optional TOML file with reviewed CAR-IMPI coefficients (enables that calculator).
    inflamix_model : optional path to the official InflaMix ``model.RData`` (enables that calculator).
    max_upload_bytes : upload size limit.
    """

    db_url: str
    secure_cookies: bool = True
    car_impi_coefficients: str | None = None
    inflamix_model: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    extra: dict[str, object] = field(default_factory=dict)


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(config: WebConfig) -> FastAPI:
    """Build the web app for ``config`` (the database must already be migrated)."""
    from cartlens.web import api, pages
    from cartlens.web.forms import is_unverified

    app = FastAPI(title="cartlens", version=__version__, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/openapi.json")
    app.state.config = config
    app.state.engine = _engine(config.db_url)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["meta_unverified"] = is_unverified
    app.state.templates.env.filters["num"] = _num
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > config.max_upload_bytes + 64 * 1024:
            return JSONResponse({"errors": ["upload: request body too large"]}, status_code=413)
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith(("/api/v1/patients", "/patients", "/audit", "/api/v1/export", "/analyses")):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return pages.error_page(request, exc.status_code, str(exc.detail))

    app.include_router(api.router)
    app.include_router(pages.router)
    return app


def _num(value: object) -> object:
    """Template filter: whole floats without '.0', None as empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _engine(url: str) -> sa.Engine:
    from cartlens.store import Store

    store = Store(url)
    store.migrate()
    return store.engine
