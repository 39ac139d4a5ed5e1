"""The hub's VAPID key pair (RFC 8292) and the signed headers made from it."""

from __future__ import annotations

from pathlib import Path


class Vapid:
    """The application server's P-256 key pair and the contact push services see."""

    def __init__(self, path: Path, *, private_key: str, subject: str) -> None:
        self.path = path
        self.subject = subject
        self._private_key = private_key

    @classmethod
    def load(cls, path: Path, *, private_key: str = "", subject: str = "") -> Vapid:
        """The key from `private_key` when given, else the one at `path` (made when missing)."""
        return cls(path, private_key=private_key, subject=subject)
