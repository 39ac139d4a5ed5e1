"""The `/admin/` console: its home, accounts (invite, role and scope, disable, reset) and the
audit log."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio.to_thread
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.audit import ACTIONS, AuditLog, Entry, diff
from hub.auth import (
    LOCALES,
    ROLES,
    Account,
    Accounts,
    InvalidAccount,
    Refused,
    UnknownAccount,
    normalize_email,
)
from hub.auth.invitations import INVITATION_HOURS, Invitations
from hub.auth.sessions import Sessions
from hub.console_guard import ACCOUNT
from hub.content.model import Site
from hub.views.console.access import requires
from hub.views.console.page import console_page, gettext, refusal

T = TypeVar("T")

# Entries per page of the audit log.
AUDIT_PAGE = 50
# What a finished change on an account's page says it did (`?done=`).
DONE = frozenset({"save", "disable", "enable", "end_sessions", "clear_two_factor"})


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


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call blocking domain code (argon2, fsync) in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


def signed_in(request: Request) -> Account:
    """The account of the request's session (`@requires` let only such requests through)."""
    account: Account = request.scope[ACCOUNT]
    return account


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


def worded(request: Request, refused: Refused) -> Markup:
    """What the page says next to a refused field or button, in the console's locale."""
    _ = gettext(request)
    if refused.reason == "disabled":
        return _("This account is disabled. Enable it first: a disabled account cannot use a link.")
    if refused.reason == "own_two_factor":
        return _(
            "Turn off your own two-step sign-in on your account page: it asks for your password "
            "and a code."
        )
    return refusal(request, refused)


def invitation_link(request: Request, token: str) -> str:
    """The absolute link a person opens to set her password (the token in the query: the
    access log never writes queries)."""
    return f"{request.url_for('invitation')}?{urlencode({'token': token})}"


# -- home ---------------------------------------------------------------------------------------


@requires("translator")
async def home(request: Request) -> Response:
    """The console's home: what this account may do here."""
    return console_page(request, "console/admin_home.html", {})


# -- accounts -----------------------------------------------------------------------------------


@requires("admin")
async def accounts(request: Request) -> Response:
    """Every account, by email."""
    found = await run(Domain.of(request).accounts.all)
    return console_page(request, "console/admin_accounts.html", {"accounts": found})


@requires("admin")
async def account_new(request: Request) -> Response:
    """Invite a person: her account, without a password, and a link to set one (shown once)."""
    if request.method == "GET":
        empty = ScopeForm("leader", frozenset(), frozenset())
        return _new_page(request, empty, email="", name="", errors={})
    form = await request.form()
    chosen = ScopeForm.of_form(form)
    email, name = str(form.get("email", "")), str(form.get("display_name", ""))
    try:
        created, token = await run(
            _invite_new, Domain.of(request), signed_in(request), email, name, chosen
        )
    except Refused as refused:
        errors = {refused.field: worded(request, refused)}
        return _new_page(request, chosen, email=email, name=name, errors=errors)
    link = {"kind": "invite", "url": invitation_link(request, token)}
    return await _account_page(request, created, link=link)


def _invite_new(
    domain: Domain, actor: Account, email: str, name: str, chosen: ScopeForm
) -> tuple[Account, str]:
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


def _new_page(
    request: Request, chosen: ScopeForm, *, email: str, name: str, errors: Mapping[str, Markup]
) -> Response:
    context = {
        "email": email,
        "display_name": name,
        "errors": errors,
        "invitation_hours": INVITATION_HOURS,
    }
    status = 400 if errors else 200
    return console_page(
        request,
        "console/admin_account_new.html",
        {**context, **scope_context(request, chosen)},
        status,
    )


@requires("admin")
async def account(request: Request) -> Response:
    """One account: its role and scope, and what an admin may do to it (POST: `action`)."""
    domain = Domain.of(request)
    found = await run(domain.accounts.get_by_id, str(request.path_params["account_id"]))
    if found is None:
        raise HTTPException(404)
    if request.method == "GET":
        done = request.query_params.get("done")
        return await _account_page(request, found, done=done if done in DONE else None)
    form = await request.form()
    action = str(form.get("action", ""))
    act = ACCOUNT_ACTIONS.get(action)
    if act is None:
        raise HTTPException(400)
    try:
        outcome = await run(act, domain, signed_in(request), found, form)
    except UnknownAccount as exc:  # removed since it was read
        raise HTTPException(404) from exc
    except Refused as refused:
        chosen = ScopeForm.of_form(form) if action == "save" else ScopeForm.of_account(found)
        # A button's refusal is shown by that button; the form's next to its field.
        key = refused.field if action == "save" else action
        errors = {key: worded(request, refused)}
        return await _account_page(request, found, chosen=chosen, errors=errors)
    if outcome is None:
        me = signed_in(request)
        if found.id == me.id and action == "save" and str(form.get("role")) != "admin":
            # She gave up her own admin role: this page is no longer hers to see.
            home = "leaders:home" if form.get("role") == "leader" else "admin:home"
            return RedirectResponse(request.url_for(home).path, 303)
        target = request.url_for("admin:account", account_id=found.id).path
        return RedirectResponse(f"{target}?{urlencode({'done': action})}", 303)
    kind, token = outcome
    changed = await run(domain.accounts.get_by_id, found.id) or found
    link = {"kind": kind, "url": invitation_link(request, token)}
    return await _account_page(request, changed, link=link)


async def _account_page(
    request: Request,
    shown: Account,
    *,
    chosen: ScopeForm | None = None,
    errors: Mapping[str, Markup] | None = None,
    link: Mapping[str, str] | None = None,
    done: str | None = None,
) -> Response:
    sessions = await run(Domain.of(request).sessions.count, shown.id)
    context = {
        "shown": shown,
        "sessions": sessions,
        "errors": errors or {},
        "link": link,
        "done": done,
        "invitation_hours": INVITATION_HOURS,
        **scope_context(request, chosen or ScopeForm.of_account(shown)),
    }
    return console_page(request, "console/admin_account.html", context, 400 if errors else 200)


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
}


# -- audit --------------------------------------------------------------------------------------


def action_labels(request: Request) -> dict[str, Markup]:
    """What the audit page calls each action of hub.audit.ACTIONS, in the console's locale.

    The one place that words them: an action added to ACTIONS without a label here shows its
    raw name (and fails tests/test_console_admin.py)."""
    _ = gettext(request)
    return {
        "sign_in": _("Signed in"),
        "sign_in_failed": _("Sign-in failed"),
        "sign_in_throttled": _("Sign-in refused after too many failed attempts"),
        "sign_out": _("Signed out"),
        "account_created": _("Account created"),
        "account_invited": _("Invitation link made"),
        "invitation_accepted": _("Password set with a link"),
        "role_changed": _("Role or scope changed"),
        "account_disabled": _("Account disabled"),
        "account_enabled": _("Account enabled"),
        "password_reset": _("Password reset"),
        "password_changed": _("Password changed"),
        "two_factor_enabled": _("Two-step sign-in turned on"),
        "two_factor_disabled": _("Two-step sign-in turned off"),
        "sessions_ended": _("Sessions ended"),
        "name_changed": _("Name changed"),
    }


@requires("admin")
async def audit(request: Request) -> Response:
    """The audit log, newest first, filtered by actor, action and target, a page at a time."""
    query = request.query_params
    filters = {name: query.get(name, "").strip() for name in ("actor", "action", "target")}
    if filters["action"] and filters["action"] not in ACTIONS:
        raise HTTPException(400)
    before = query.get("before", "").strip() or None
    asked = {name: _looked_up(value) or None for name, value in filters.items()}
    found: list[Entry] = await run(
        Domain.of(request).audit.page, **asked, before=before, limit=AUDIT_PAGE + 1
    )
    entries = found[:AUDIT_PAGE]
    kept = {name: value for name, value in filters.items() if value}
    path = request.url_for("admin:audit").path
    older = None
    if len(found) > AUDIT_PAGE:
        older = _with_query(path, {**kept, "before": entries[-1].id})
    labels = action_labels(request)
    context = {
        "entries": entries,
        "filters": filters,
        "action_labels": labels,
        # By what the menu shows; each option's value stays the action itself.
        "actions": sorted(ACTIONS, key=lambda name: (labels.get(name, name), name)),
        "newest": _with_query(path, kept) if before else None,
        "older": older,
    }
    return console_page(request, "console/audit.html", context)


def _with_query(path: str, params: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _looked_up(text: str) -> str:
    """A filter's text as the log holds it: an email normalised, anything else as typed."""
    try:
        return normalize_email(text)
    except InvalidAccount:
        return text


ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/accounts", accounts, name="accounts"),
    Route("/accounts/new", account_new, methods=["GET", "POST"], name="account_new"),
    Route("/accounts/{account_id}", account, methods=["GET", "POST"], name="account"),
    Route("/audit", audit, name="audit"),
]
