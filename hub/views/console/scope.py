"""The account a console request is for, and the corridors and locales it works on."""

from __future__ import annotations

from starlette.requests import Request

from hub.auth import LOCALES, Account
from hub.console_guard import ACCOUNT
from hub.content import Library
from hub.views.console.access import UNLIMITED


def signed_in(request: Request) -> Account:
    """The account of the request's session (`@requires` let only such requests through)."""
    account: Account = request.scope[ACCOUNT]
    return account


def public_name(account: Account) -> str:
    """How an account is named in a content file it writes (a translation's `reviewed_by`, an
    entry's `verified_by`): its display name, or its id when it has none; never its email
    address, since content files may be published."""
    return account.display_name.strip() or f"account {account.id}"


def corridors_of(account: Account, library: Library) -> list[str]:
    """The corridors this account works on: her own, or all the site's for an admin."""
    return library.site.corridors() if account.role in UNLIMITED else list(account.corridors)


def locales_of(account: Account) -> list[str]:
    """The locales this account works in: her own, or all of them for an admin."""
    return list(LOCALES) if account.role in UNLIMITED else list(account.locales)
