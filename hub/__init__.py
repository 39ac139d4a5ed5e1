"""Hub: offline-first, translated information and help for women migrant workers."""

from __future__ import annotations

__version__ = "0.1.0"


def N_(message: str) -> str:
    """Mark a message for the catalogs (pybabel extracts `N_`); it is translated where shown.

    Here, in the base layer, so that the domain's messages (a delivery's failure reason, the
    neutral line of a discreet notification) can be marked where they are defined."""
    return message
