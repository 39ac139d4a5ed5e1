"""The `/admin/` console: its home, accounts (invite, role and scope, disable, reset) and the
audit log."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
