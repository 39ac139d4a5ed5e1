"""The steps an admin takes on an account (invite, role and scope, disable, reset, network and
trust): each changes the account and writes its audit entry, in one worker-thread call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from hub.audit import AuditLog, diff
from hub.auth import Account, Accounts, InvalidAccount
from hub.auth.accounts import clean_network
from hub.auth.invitations import Invitations
from hub.auth.sessions import Sessions
from hub.views.console.access import holds
from hub.views.console.scope_form import ScopeForm


@dataclass(frozen=True)
class Domain:
    """The domain objects the admin console calls (made by create_app's lifespan)."""

    accounts: Accounts
    sessions: Sessions
    invitations: Invitations
    audit: AuditLog

    @classmethod
    def of(cls, request: Request) -> Domain:
        """The app's domain objects."""
        state = request.app.state
        return cls(state.accounts, state.sessions, state.invitations, state.audit)


def invite_new(
    domain: Domain, actor: Account, email: str, name: str, chosen: ScopeForm
) -> tuple[Account, str]:
    """Create a person's account, without a password, and a link to set one: (account, token)."""
    created = domain.accounts.create(
        email,
        None,
        role=chosen.role,
        display_name=name,
        corridors=chosen.corridors,
        locales=chosen.locales,
    )
    change = {"display_name": created.display_name, **_scope_of(created)}
    domain.audit.record("account_created", actor=actor.email, target=created.email, change=change)
    token = domain.invitations.issue(created, kind="invite", by=actor.email)
    domain.audit.record(
        "account_invited", actor=actor.email, target=created.email, change={"kind": "invite"}
    )
    return created, token


# Each action changes the account and writes its audit entry in one worker-thread call. It
# gives None (the page then redirects to itself) or the kind of link it made and its token
# (the page shows that link, once).
Outcome = tuple[str, str] | None
Action = Callable[[Domain, Account, Account, FormData], Outcome]


def _save(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    chosen = ScopeForm.of_form(form)
    changed = domain.accounts.set_role(
        shown.email, chosen.role, corridors=chosen.corridors, locales=chosen.locales
    )
    change = diff(_scope_of(shown), _scope_of(changed))
    if change:
        domain.audit.record("role_changed", actor=actor.email, target=shown.email, change=change)
    return None


def _scope_of(account: Account) -> dict[str, Any]:
    return {
        "role": account.role,
        "corridors": list(account.corridors),
        "locales": list(account.locales),
    }


def _disable(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    if shown.active:
        domain.accounts.disable(shown.email)
        ended = domain.sessions.end_all(shown.id)
        # Enabling again must not bring back a link sent before: she would be let in by it.
        domain.invitations.revoke(shown.id)
        domain.audit.record(
            "account_disabled",
            actor=actor.email,
            target=shown.email,
            change={**diff({"active": True}, {"active": False}), "sessions_ended": ended},
        )
    return None


def _enable(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    if not shown.active:
        domain.accounts.enable(shown.email)
        domain.audit.record(
            "account_enabled",
            actor=actor.email,
            target=shown.email,
            change=diff({"active": False}, {"active": True}),
        )
    return None


def _clear_two_factor(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    """Turn off another account's second factor (a lost phone): its sessions end, and the
    person signs in with her password alone until she sets up a new one."""
    if shown.id == actor.id:
        # Her own goes through /account/two-factor, which asks for the password and a code.
        raise InvalidAccount(
            "two_factor", "own_two_factor", f"{shown.email} is the admin signed in"
        )
    if shown.two_factor:
        domain.accounts.clear_two_factor(shown.email)
        # A session that passed the second factor should not outlive its removal either.
        ended = domain.sessions.end_all(shown.id)
        domain.audit.record(
            "two_factor_disabled",
            actor=actor.email,
            target=shown.email,
            change={**diff({"two_factor": True}, {"two_factor": False}), "sessions_ended": ended},
        )
    return None


def _end_sessions(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    ended = domain.sessions.end_all(shown.id)
    domain.audit.record(
        "sessions_ended", actor=actor.email, target=shown.email, change={"ended": ended}
    )
    return None


def _reset(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    _refuse_disabled(shown, "reset")
    cleared = domain.accounts.clear_password(shown.email)
    ended = domain.sessions.end_all(shown.id)
    token = domain.invitations.issue(cleared, kind="reset", by=actor.email)
    domain.audit.record(
        "password_reset", actor=actor.email, target=shown.email, change={"sessions_ended": ended}
    )
    return "reset", token


def _invite(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    _refuse_disabled(shown, "invite")
    token = domain.invitations.issue(shown, kind="invite", by=actor.email)
    domain.audit.record(
        "account_invited", actor=actor.email, target=shown.email, change={"kind": "invite"}
    )
    return "invite", token


def _network(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    """The public name of her peer network and whether she is trusted (her alerts go out
    without a curator's review)."""
    if not holds(shown, ["leader"]):
        raise InvalidAccount("network", "not_allowed", f"{shown.email} writes no alerts")
    # A form opened before another admin's change would undo it unseen.
    if str(form.get("was_network", "")) != shown.network or str(
        form.get("was_trusted", "")
    ) != flag(shown.trusted):
        raise InvalidAccount("network", "stale", f"{shown.email} changed since the form was read")
    set_network_and_trust(
        domain.accounts,
        domain.audit,
        actor,
        shown,
        network=str(form.get("network", "")),
        trusted=form.get("trusted") == "1",
    )
    return None


def set_network_and_trust(
    accounts: Accounts,
    audit: AuditLog,
    actor: Account,
    shown: Account,
    *,
    network: str | None = None,
    trusted: bool | None = None,
) -> Account:
    """Change an author's network name and trust (None: as it is), each change audited. The
    name is checked before anything is written: a refused name changes nothing."""
    changed = shown
    if network is not None:
        cleaned = clean_network(network)
        if cleaned != shown.network:
            changed = accounts.set_network(shown.email, cleaned)
            audit.record(
                "network_changed",
                actor=actor.email,
                target=shown.email,
                change=diff({"network": shown.network}, {"network": changed.network}),
            )
    if trusted is not None and trusted != shown.trusted:
        changed = accounts.set_trusted(shown.email, trusted)
        audit.record(
            "trust_changed",
            actor=actor.email,
            target=shown.email,
            change=diff({"trusted": shown.trusted}, {"trusted": trusted}),
        )
    return changed


def flag(value: bool) -> str:
    """A boolean as a form carries it."""
    return "1" if value else "0"


def _refuse_disabled(shown: Account, field: str) -> None:
    """A disabled account cannot use a link: making one would only mislead."""
    if not shown.active:
        raise InvalidAccount(field, "disabled", f"{shown.email} is disabled")


ACCOUNT_ACTIONS: dict[str, Action] = {
    "save": _save,
    "disable": _disable,
    "enable": _enable,
    "end_sessions": _end_sessions,
    "reset": _reset,
    "invite": _invite,
    "clear_two_factor": _clear_two_factor,
    "network": _network,
}
