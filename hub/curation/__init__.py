"""Curating the content: what needs doing (worklists); later, writing it back. No Starlette."""

from __future__ import annotations
