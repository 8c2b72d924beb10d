"""Users, password hashes, sessions, CSRF tokens and login throttling for the web app.

Access model (spec ``web_and_security.md``, REDCap-style data access groups): every user has one role
(``viewer`` < ``editor`` < ``admin``) and belongs to one or more centres; the centre is the access unit.

* Passwords are hashed with Argon2id (``argon2-cffi``, the OWASP-recommended default parameters of the
  library); no default password exists — the first admin is created with ``cartlens users add``.
* Sessions are server-side rows keyed by the SHA-256 of a random 256-bit token; the cookie holds only the
  token. Sessions expire after ``SESSION_TTL`` of inactivity and after ``SESSION_MAX_AGE`` in all.
* Each session carries its own CSRF token (synchroniser-token pattern), returned by the login response
  and embedded in every form; state-changing requests must echo it.
* Login throttling: after ``MAX_FAILED_LOGINS`` consecutive failures a user is locked for ``LOCKOUT``;
  failures are counted per user name (also for unknown names, in memory, so existence does not leak).

This module is storage-agnostic SQLAlchemy Core on the tables of :mod:`cartlens.web.tables`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cartlens.web.tables import sessions, user_centres, users

ROLES = ("viewer", "editor", "admin")
SESSION_TTL = timedelta(hours=2)
SESSION_MAX_AGE = timedelta(hours=12)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")

_hasher = PasswordHasher()


class AuthError(Exception):
    """Invalid user-management request (bad name, role, password, unknown user)."""


@dataclass(frozen=True)
class User:
    """A logged-in or stored user (never carries the password hash)."""

    id: int
    username: str
    role: str
    centres: tuple[str, ...]
    disabled: bool = False

    def can(self, role: str) -> bool:
        """True if this user's role is at least ``role`` (viewer < editor < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Session:
    """An authenticated session: the user, its CSRF token and the raw token for the cookie."""

    user: User
    token: str
    csrf_token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (raises :class:`AuthError` if shorter than 12 characters)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _load_user(conn: sa.Connection, row: sa.Row) -> User:
    centres = conn.execute(
        sa.select(user_centres.c.centre).where(user_centres.c.user_id == row.id).order_by(user_centres.c.centre)
    ).scalars()
    return User(row.id, row.username, row.role, tuple(centres), bool(row.disabled))


def add_user(engine: sa.Engine, username: str, password: str, role: str, centres: list[str]) -> User:
    """Create a user with ``role`` in ``centres``; raises :class:`AuthError` on invalid input or duplicates."""
    if not _USERNAME_RE.match(username or ""):
        raise AuthError("username: 2-64 characters of letters, digits, '_', '.', '@', '-'")
    if role not in ROLES:
        raise AuthError(f"role: must be one of {', '.join(ROLES)}")
    centres = sorted({c.strip() for c in centres if c and c.strip()})
    if not centres:
        raise AuthError("centre: at least one centre is required")
    pw_hash = hash_password(password)
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
            raise AuthError(f"username: {username!r} already exists")
        uid = conn.execute(
            users.insert().values(username=username, password_hash=pw_hash, role=role, disabled=False,
                                  created_at=_now(), failed_logins=0)
        ).inserted_primary_key[0]
        conn.execute(user_centres.insert(), [{"user_id": uid, "centre": c} for c in centres])
    return User(int(uid), username, role, tuple(centres))


def list_users(engine: sa.Engine) -> list[User]:
    """All users, ordered by name."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(users).order_by(users.c.username)).all()
        return [_load_user(conn, r) for r in rows]


def disable_user(engine: sa.Engine, username: str) -> None:
    """Disable ``username`` and end all its sessions."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
        if row is None:
            raise AuthError(f"username: no user {username!r}")
        conn.execute(users.update().where(users.c.id == row.id).values(disabled=True))
        conn.execute(sessions.delete().where(sessions.c.user_id == row.id))


_unknown_failures: dict[str, tuple[int, datetime]] = {}


def authenticate(engine: sa.Engine, username: str, password: str) -> Session | None:
    """Check credentials and open a session; ``None`` on failure, lockout or a disabled account.

    The same answer (``None``) is given for unknown users, wrong passwords and locked accounts, so the
    response does not reveal which it was.
    """
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            count, _ = _unknown_failures.get(username, (0, now))
            _unknown_failures[username] = (count + 1, now)
            _hasher.hash("timing-equaliser")  # similar cost to a real verification
            return None
        if row.disabled or (row.locked_until is not None and row.locked_until > now):
            return None
        try:
            _hasher.verify(row.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failed = (row.failed_logins or 0) + 1
            values: dict[str, object] = {"failed_logins": failed}
            if failed >= MAX_FAILED_LOGINS:
                values = {"failed_logins": 0, "locked_until": now + LOCKOUT}
            conn.execute(users.update().where(users.c.id == row.id).values(**values))
            return None
        conn.execute(users.update().where(users.c.id == row.id).values(failed_logins=0, locked_until=None))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + SESSION_TTL
        conn.execute(sessions.insert().values(token_hash=_token_hash(token), user_id=row.id, csrf_token=csrf,
                                              created_at=now, expires_at=expires))
        return Session(_load_user(conn, row), token, csrf, expires)


def resolve_session(engine: sa.Engine, token: str | None) -> Session | None:
    """The live session for a cookie token (sliding expiry), or ``None`` if absent/expired/disabled."""
    if not token:
        return None
    now = _now()
    th = _token_hash(token)
    with engine.begin() as conn:
        srow = conn.execute(sa.select(sessions).where(sessions.c.token_hash == th)).first()
        if srow is None:
            return None
        if srow.expires_at <= now or srow.created_at + SESSION_MAX_AGE <= now:
            conn.execute(sessions.delete().where(sessions.c.token_hash == th))
            return None
        urow = conn.execute(sa.select(users).where(users.c.id == srow.user_id)).first()
        if urow is None or urow.disabled:
            return None
        expires = min(now + SESSION_TTL, srow.created_at + SESSION_MAX_AGE)
        conn.execute(sessions.update().where(sessions.c.token_hash == th).values(expires_at=expires))
        return Session(_load_user(conn, urow), token, srow.csrf_token, expires)


def logout(engine: sa.Engine, token: str | None) -> None:
    """End the session of ``token`` (no-op if unknown)."""
    if token:
        with engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == _token_hash(token)))


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Constant-time comparison of a presented CSRF token with the session's."""
    return bool(presented) and secrets.compare_digest(session.csrf_token, presented or "")
