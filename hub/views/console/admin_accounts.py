"""The accounts of the `/admin/` console: the list, inviting a person, and one account's page
with what an admin may do to it (hub/views/console/account_actions.py takes each step)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.auth import Account, Refused, UnknownAccount
from hub.auth.invitations import INVITATION_HOURS
from hub.views.console.access import holds, requires
from hub.views.console.account_actions import ACCOUNT_ACTIONS, Domain, invite_new
from hub.views.console.page import console_page, gettext, refusal
from hub.views.console.scope import signed_in
from hub.views.console.scope_form import ScopeForm, scope_context
from hub.views.signin import run

# What a finished change on an account's page says it did (`?done=`).
DONE = frozenset({"save", "disable", "enable", "end_sessions", "clear_two_factor", "network"})


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
            invite_new, Domain.of(request), signed_in(request), email, name, chosen
        )
    except Refused as refused:
        errors = {refused.field: worded(request, refused)}
        return _new_page(request, chosen, email=email, name=name, errors=errors)
    link = {"kind": "invite", "url": invitation_link(request, token)}
    return await _account_page(request, created, link=link)


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
