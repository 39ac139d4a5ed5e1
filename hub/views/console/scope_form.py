"""The role and scope form of an account (console/_admin_fields.html's scope_fields): what it
offers and what it shows as chosen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from hub.auth import LOCALES, ROLES, Account
from hub.content.model import Site


def corridor_choices(
    site: Site, held: Iterable[str] = ()
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The corridors a scope form offers, by origin: (origin, [(corridor, destination)]).

    Every pair of the site's origins and destinations, and any other corridor an account holds
    (kept from the CLI or an older site), so none of them is lost unseen on a save."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for origin in site.origins:
        for destination in site.destinations:
            if origin != destination:
                groups.setdefault(origin, []).append((f"{origin}-{destination}", destination))
    offered = {code for pairs in groups.values() for code, _ in pairs}
    for code in sorted(set(held) - offered):
        origin, _, destination = code.partition("-")
        groups.setdefault(origin, []).append((code, destination))
    return list(groups.items())


@dataclass(frozen=True)
class ScopeForm:
    """What a role and scope form shows as chosen."""

    role: str
    corridors: frozenset[str]
    locales: frozenset[str]

    @classmethod
    def of_account(cls, account: Account) -> ScopeForm:
        """The account's role and scope as they are."""
        return cls(account.role, frozenset(account.corridors), frozenset(account.locales))

    @classmethod
    def of_form(cls, form: FormData) -> ScopeForm:
        """The role and scope a submitted form asks for."""
        corridors = frozenset(str(v) for v in form.getlist("corridors"))
        locales = frozenset(str(v) for v in form.getlist("locales"))
        return cls(str(form.get("role", "")), corridors, locales)


def scope_context(request: Request, form: ScopeForm) -> dict[str, Any]:
    """What console/_admin_fields.html's scope_fields reads."""
    return {
        "roles": ROLES,
        "scope_locales": LOCALES,
        "corridor_groups": corridor_choices(request.app.state.library.site, form.corridors),
        "chosen": form,
    }
