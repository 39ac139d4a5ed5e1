"""The error a console form shows next to one field: which field, and a machine-readable reason."""

from __future__ import annotations


class Refused(ValueError):
    """A value refused for a reason the console can show next to its field.

    `field` names the form field (email, password, role, corridors, locales, display_name),
    `reason` is a stable code to pick a translated message by (too_short, taken, unknown, ...),
    `value` the offending item when there are several (one corridor of a list), else None.
    The text (`str()`) is English, for the CLI and logs."""

    def __init__(self, field: str, reason: str, message: str, *, value: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.value = value
