"""The `/leaders/` console of peer leaders: their corridors (alerts come with issue 11)."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
