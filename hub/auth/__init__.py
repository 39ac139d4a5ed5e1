"""Console accounts and roles, passwords, sessions, invitation links, throttling and TOTP."""

from __future__ import annotations

from hub.auth import totp
from hub.auth.accounts import Account, Accounts, EmailTaken, UnknownAccount
from hub.auth.errors import Refused
from hub.auth.fields import LOCALES, ROLES, InvalidAccount, check_scope, normalize_email
from hub.auth.invitations import INVITATION_HOURS, Invitation, InvitationInvalid, Invitations
from hub.auth.passwords import PasswordRejected, Passwords, check_password
from hub.auth.sessions import Session, Sessions
from hub.auth.throttle import SignInThrottle

__all__ = [
    "INVITATION_HOURS",
    "LOCALES",
    "ROLES",
    "Account",
    "Accounts",
    "EmailTaken",
    "InvalidAccount",
    "Invitation",
    "InvitationInvalid",
    "Invitations",
    "PasswordRejected",
    "Passwords",
    "Refused",
    "Session",
    "Sessions",
    "SignInThrottle",
    "UnknownAccount",
    "check_password",
    "check_scope",
    "normalize_email",
    "totp",
]
