"""Hub: offline-first, translated information and help for women migrant workers."""

from __future__ import annotations

__version__ = "0.1.0"
