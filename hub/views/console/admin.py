"""The `/admin/` console: its home, accounts (invite, role and scope, disable, reset) and the
audit log."""

from __future__ import annotations

import functools
import hashlib
import json
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
from hub.auth.accounts import clean_network
from hub.auth.invitations import INVITATION_HOURS, Invitations
from hub.auth.sessions import Sessions
from hub.console_guard import ACCOUNT
from hub.content.model import Site
from hub.i18n import I18n
from hub.push.alerts import (
    Alerts,
    DraftRefused,
    NotAllowed,
    UnknownAlert,
    WrongState,
)
from hub.push.outbox import REASONS, Outbox
from hub.push.payload import BODY_MAX, NEUTRAL_LINE, TITLE_MAX
from hub.views.console.access import holds, requires
from hub.views.console.page import console_page, gettext, refusal

T = TypeVar("T")

# Entries per page of the audit log.
AUDIT_PAGE = 50
# What a finished change on an account's page says it did (`?done=`).
DONE = frozenset({"save", "disable", "enable", "end_sessions", "clear_two_factor", "network"})


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
    if refused.field == "network":
        if refused.reason == "stale":
            return _(
                "Someone changed the network or the trust of this account after you opened this "
                "page. Nothing was saved: read them again below."
            )
        if refused.reason == "not_allowed":
            return _("Only peer leaders have a network.")
        if refused.reason == "too_long":
            return _("A network name may have at most 100 characters.")
        if refused.reason == "invisible":
            return _(
                "A network name cannot hold invisible formatting characters, such as marks that "
                "change the direction of text."
            )
        return _("A network name cannot hold control characters.")
    return refusal(request, refused)


def invitation_link(request: Request, token: str) -> str:
    """The absolute link a person opens to set her password (the token in the query: the
    access log never writes queries)."""
    return f"{request.url_for('invitation')}?{urlencode({'token': token})}"


# -- home ---------------------------------------------------------------------------------------


@requires("translator")
async def home(request: Request) -> Response:
    """The console's home: what this account may do here (for a curator, how many alerts
    wait for her)."""
    waiting = None
    if holds(signed_in(request), ["curator"]):
        waiting = len(await run(request.app.state.alerts.pending))
    return console_page(request, "console/admin_home.html", {"alerts_waiting": waiting})


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
        # Whether the account writes alerts, so has a network readers see and may be trusted.
        "writes_alerts": holds(shown, ["leader"]),
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


def _network(domain: Domain, actor: Account, shown: Account, form: FormData) -> Outcome:
    """The public name of her peer network and whether she is trusted (her alerts go out
    without a curator's review)."""
    if not holds(shown, ["leader"]):
        raise InvalidAccount("network", "not_allowed", f"{shown.email} writes no alerts")
    # A form opened before another admin's change would undo it unseen.
    if str(form.get("was_network", "")) != shown.network or str(
        form.get("was_trusted", "")
    ) != _flag(shown.trusted):
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


def _flag(value: bool) -> str:
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
        "alert_previewed": _("Alert previewed"),
        "alert_submitted": _("Alert submitted"),
        "alert_refused": _("Alert refused on submission"),
        "alert_withdrawn": _("Alert withdrawn"),
        "alert_corrected": _("Alert corrected"),
        "alert_approved": _("Alert approved"),
        "alert_rejected": _("Alert rejected"),
        "alert_edited": _("Alert translations edited"),
        "network_changed": _("Network name changed"),
        "trust_changed": _("Trust for alerts changed"),
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


# -- alerts: moderation -------------------------------------------------------------------------

# The states the list of past alerts filters by (`?state=`), the first one by default.
ALERT_STATES = ("published", "rejected", "withdrawn", "superseded")
# Past alerts listed for one state, newest first.
ALERT_LIST = 100
# What an alert's page says after a step (`?done=`).
ALERT_DONE_OF = {
    "approve": "approved",
    "reject": "rejected",
    "edit": "edited",
    "withdraw": "withdrawn",
    "correct": "corrected",
    "trust": "trust",
}
ALERT_DONE = frozenset(ALERT_DONE_OF.values())

Errors = dict[str, list[Markup]]


def fingerprint(doc: Mapping[str, Any]) -> str:
    """What a curator saw of an alert when she opened its page: a form carries it back, so a
    step on an alert that changed since (a curator's edit, another's approval) is refused."""
    seen = {
        key: doc.get(key)
        for key in ("status", "version", "texts", "locales", "expires", "urgency", "link")
    }
    text = json.dumps(seen, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def texts_of_form(form: FormData, locales: Iterable[str] = LOCALES) -> dict[str, dict[str, str]]:
    """The versions an alert form holds: a locale with a title or a text (both empty: none)."""
    texts: dict[str, dict[str, str]] = {}
    for code in locales:
        title = str(form.get(f"title-{code}", ""))
        body = str(form.get(f"body-{code}", ""))
        if title.strip() or body.strip():
            texts[code] = {"title": title, "body": body}
    return texts


def alert_worded(request: Request, refused: Refused) -> tuple[str, Markup]:
    """Where the alert's page shows a refusal of the alerts' domain ("title-fil" for a
    version's title, "reason", "texts" above the versions) and what it says."""
    _ = gettext(request)
    field, reason, value = refused.field, refused.reason, refused.value or ""
    limit = getattr(refused, "limit", None)
    if field in ("title", "body"):
        key = f"{field}-{value}"
        if reason == "required":
            return key, _("Write a title.") if field == "title" else _("Write the text.")
        if reason == "too_long":
            if field == "title":
                return key, _("A title may have at most %(num)s characters.", num=limit)
            return key, _("A text may have at most %(num)s characters.", num=limit)
        if reason == "zawgyi":
            return key, _(
                "This Burmese text seems to be typed in Zawgyi, and the hub cannot convert it "
                "surely. Please type it in Unicode (for example with your phone's Myanmar "
                "keyboard) so that every phone can read it."
            )
        return key, _(
            "This cannot hold control characters (a line break in the text is fine) nor marks "
            "that change the direction of text."
        )
    if field == "texts":
        if reason == "not_target":
            return f"title-{value}", _(
                "A correction goes to the languages of the alert it corrects, and this is not "
                "one of them. Empty this version."
            )
        return "texts", _("Keep a title and a text in at least one language.")
    if field == "reason":
        if reason == "too_long":
            return "reason", _("A reason may have at most %(num)s characters.", num=limit)
        if reason == "control":
            return "reason", _("A reason cannot hold control characters.")
        return "reason", _("Say why the alert is rejected: its author reads it.")
    if field == "expires":
        return "texts", _(
            "This alert expires within the hour: it is too late to correct it. Withdraw it if "
            "it is wrong."
        )
    return "texts", _("This value cannot be used.")


def alert_errors(request: Request, refused: Refused) -> Errors:
    """Every problem of a refusal, by where the alert's page shows it."""
    problems = refused.problems if isinstance(refused, DraftRefused) else (refused,)
    errors: Errors = {}
    for problem in problems:
        key, message = alert_worded(request, problem)
        errors.setdefault(key, []).append(message)
    return errors


def stale_worded(request: Request, status: str) -> Markup:
    """Why a step on an alert that changed since its page was opened was refused."""
    _ = gettext(request)
    if status == "expired":
        return _("This alert has expired: it can no longer be sent. Nothing was done.")
    if status == "trust":
        return _(
            "Someone changed whether this author is trusted after you opened this page. Nothing "
            "was done: read it again below, then choose."
        )
    return _(
        "This alert changed after you opened this page (someone else acted on it). Nothing was "
        "done: read it again below, as it is now, then choose."
    )


@requires("curator")
async def alerts(request: Request) -> Response:
    """The alerts waiting for a curator, oldest first; and the past ones of one state, newest
    first, each with where its delivery stands."""
    state = request.app.state
    chosen = request.query_params.get("state", "").strip() or ALERT_STATES[0]
    if chosen not in ALERT_STATES:
        raise HTTPException(400)
    waiting = await run(state.alerts.pending)
    past = (await run(state.alerts.with_status, chosen))[:ALERT_LIST]
    outbox: Outbox = state.outbox
    reports = {doc["id"]: await run(outbox.report, doc["id"]) for doc in past if doc["published"]}
    context = {
        "waiting": waiting,
        "past": past,
        "chosen_state": chosen,
        "alert_states": ALERT_STATES,
        "reports": reports,
        "reasons": REASONS,
        "list_limit": ALERT_LIST,
    }
    return console_page(request, "console/admin_alerts.html", context)


@requires("curator")
async def alert(request: Request) -> Response:
    """One alert in full, each version as a phone shows it (in full and discreet), and the
    steps open to it (POST `action`): approve, reject, edit the versions, withdraw, correct,
    and trust its author or not."""
    state = request.app.state
    doc = await run(state.alerts.get, str(request.path_params["alert_id"]))
    if doc is None:
        raise HTTPException(404)
    if request.method == "GET":
        done = request.query_params.get("done", "")
        return await _alert_page(request, doc, done=done if done in ALERT_DONE else None)
    form = await request.form()
    action = str(form.get("action", ""))
    step = ALERT_STEPS.get(action)
    if step is None:
        raise HTTPException(400)
    actor = signed_in(request)
    if action != "trust" and form.get("seen") != fingerprint(doc):
        return await _alert_page(request, doc, stale=stale_worded(request, doc["status"]))
    try:
        target = await run(step, AlertDomain.of(request), actor, doc, form)
    except UnknownAlert as exc:
        raise HTTPException(404) from exc
    except NotAllowed as exc:
        raise HTTPException(403) from exc
    except WrongState as wrong:
        current = await run(state.alerts.get, doc["id"]) or doc
        return await _alert_page(request, current, stale=stale_worded(request, wrong.reason))
    except Refused as refused:
        if refused.field == "trusted":
            return await _alert_page(request, doc, stale=stale_worded(request, "trust"))
        return await _alert_page(
            request, doc, errors=alert_errors(request, refused), sent=form, action=action
        )
    path = request.url_for("admin:alert", alert_id=target).path
    done = ALERT_DONE_OF[action]
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", 303)


@dataclass(frozen=True)
class AlertDomain:
    """What a step on an alert calls."""

    alerts: Alerts
    outbox: Outbox
    accounts: Accounts
    audit: AuditLog

    @classmethod
    def of(cls, request: Request) -> AlertDomain:
        """The app's alerts, outbox, accounts and audit log."""
        state = request.app.state
        return cls(state.alerts, state.outbox, state.accounts, state.audit)


# Each step changes the alert through the domain, writes its audit entry, and gives the id of
# the alert to show next (a correction's new version).
Step = Callable[[AlertDomain, Account, Mapping[str, Any], FormData], str]


def _approve(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    published = domain.alerts.approve(doc["id"], actor)
    change = {
        **diff({"status": doc["status"]}, {"status": published["status"]}),
        "queued": domain.outbox.report(doc["id"]).targeted,
    }
    if doc.get("replaces"):
        change["replaces"] = doc["replaces"]
    domain.audit.record("alert_approved", actor=actor.email, target=doc["id"], change=change)
    return str(doc["id"])


def _reject(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    rejected = domain.alerts.reject(doc["id"], actor, str(form.get("reason", "")))
    change = diff(
        {"status": doc["status"], "reason": doc.get("reason")},
        {"status": rejected["status"], "reason": rejected["reason"]},
    )
    domain.audit.record("alert_rejected", actor=actor.email, target=doc["id"], change=change)
    return str(doc["id"])


def _edit(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    edited = domain.alerts.edit_texts(doc["id"], actor, texts_of_form(form))
    change = diff(
        {"locales": doc["locales"], **_versions_of(doc)},
        {"locales": edited["locales"], **_versions_of(edited)},
    )
    if change:
        domain.audit.record("alert_edited", actor=actor.email, target=doc["id"], change=change)
    return str(doc["id"])


def _withdraw(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    withdrawn = domain.alerts.withdraw(doc["id"], actor)
    change = diff({"status": doc["status"]}, {"status": withdrawn["status"]})
    domain.audit.record("alert_withdrawn", actor=actor.email, target=doc["id"], change=change)
    return str(doc["id"])


def _correct(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    new = domain.alerts.correct(doc["id"], actor, texts_of_form(form, doc["locales"]))
    change = {
        **diff(
            {"version": doc["version"], **_versions_of(doc)},
            {"version": new["version"], **_versions_of(new)},
        ),
        "replaces": doc["id"],
        "status": new["status"],
        "push_topic": new["push_topic"],
    }
    domain.audit.record("alert_corrected", actor=actor.email, target=new["id"], change=change)
    return str(new["id"])


def _trust(domain: AlertDomain, actor: Account, doc: Mapping[str, Any], form: FormData) -> str:
    author = domain.accounts.get_by_id(doc["account_id"])
    if author is None or not holds(author, ["leader"]):
        raise UnknownAlert(doc["id"])
    if str(form.get("was_trusted", "")) != _flag(author.trusted):
        raise InvalidAccount("trusted", "stale", f"{author.email} changed since it was read")
    set_network_and_trust(
        domain.accounts, domain.audit, actor, author, trusted=form.get("trusted") == "1"
    )
    return str(doc["id"])


def _versions_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An alert's versions as the audit log compares them: one field per locale."""
    return {f"text_{code}": dict(text) for code, text in doc["texts"].items()}


ALERT_STEPS: dict[str, Step] = {
    "approve": _approve,
    "reject": _reject,
    "edit": _edit,
    "withdraw": _withdraw,
    "correct": _correct,
    "trust": _trust,
}


async def _alert_page(
    request: Request,
    doc: Mapping[str, Any],
    *,
    done: str | None = None,
    stale: Markup | None = None,
    errors: Errors | None = None,
    sent: FormData | None = None,
    action: str = "",
) -> Response:
    state = request.app.state
    report = await run(state.outbox.report, doc["id"]) if doc["published"] else None
    author: Account | None = await run(state.accounts.get_by_id, doc["account_id"])
    # What the version fields hold: what was sent with a refused edit, else the alert's own.
    texts: Mapping[str, Mapping[str, str]] = doc["texts"]
    if sent is not None and action in ("edit", "correct"):
        texts = {
            code: {
                "title": str(sent.get(f"title-{code}", "")),
                "body": str(sent.get(f"body-{code}", "")),
            }
            for code in LOCALES
        }
    context = {
        "item": doc,
        "seen": fingerprint(doc),
        "author": author,
        "author_trusted_flag": _flag(author.trusted) if author else "",
        "report": report,
        "reasons": REASONS,
        "versions": _phone_versions(request, doc),
        "written": [code for code in doc["locales"] if code in doc["texts"]],
        "missing": [code for code in doc["locales"] if code not in doc["texts"]],
        # A pending alert may gain versions in any language; a correction keeps the alert's.
        "editable": list(LOCALES) if doc["status"] == "pending" else list(doc["locales"]),
        "texts": texts,
        "reason": str(sent.get("reason", "")) if sent is not None else "",
        "title_max": TITLE_MAX,
        "body_max": BODY_MAX,
        "done": done,
        "stale": stale,
        "errors": errors or {},
        "action": action,
    }
    status = 409 if stale else 400 if errors else 200
    return console_page(request, "console/admin_alert.html", context, status)


def _phone_versions(request: Request, doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each version as a phone shows it: in full, and in discreet mode (the site's neutral
    name and a line that says nothing of the alert, in that version's language)."""
    library = request.app.state.library
    i18n: I18n = request.app.state.i18n
    return [
        {
            "locale": code,
            "title": text["title"],
            "body": text["body"],
            "neutral_title": library.site.name(code, discreet=True),
            "neutral_body": i18n.gettext(code, NEUTRAL_LINE),
        }
        for code, text in doc["texts"].items()
    ]


ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/accounts", accounts, name="accounts"),
    Route("/accounts/new", account_new, methods=["GET", "POST"], name="account_new"),
    Route("/accounts/{account_id}", account, methods=["GET", "POST"], name="account"),
    Route("/audit", audit, name="audit"),
    Route("/alerts", alerts, name="alerts"),
    Route("/alerts/{alert_id}", alert, methods=["GET", "POST"], name="alert"),
]
