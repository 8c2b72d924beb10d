"""Tables of the web app (users, their centres, server-side sessions).

They are part of the store's schema (``cartlens.store.models``, Alembic migration 0002), so that every
database a cartlens store migrates has them; this module only gives them the short names the web code uses.
"""

from __future__ import annotations

from cartlens.store.models import web_sessions as sessions
from cartlens.store.models import web_user_centres as user_centres
from cartlens.store.models import web_users as users

__all__ = ["sessions", "user_centres", "users"]
