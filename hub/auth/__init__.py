"""Accounts, roles and scopes, password hashing and policy (sessions, CSRF and throttling next)."""

from __future__ import annotations

from hub.auth.accounts import Account, Accounts, EmailTaken, UnknownAccount
from hub.auth.errors import Refused
from hub.auth.fields import LOCALES, ROLES, InvalidAccount, check_scope, normalize_email
from hub.auth.passwords import PasswordRejected, Passwords, check_password

__all__ = [
    "LOCALES",
    "ROLES",
    "Account",
    "Accounts",
    "EmailTaken",
    "InvalidAccount",
    "PasswordRejected",
    "Passwords",
    "Refused",
    "UnknownAccount",
    "check_password",
    "check_scope",
    "normalize_email",
]
