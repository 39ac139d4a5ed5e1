"""The audit log of the `/admin/` console: newest first, filtered, a page at a time, each action
worded in the console's locale."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.audit import ACTIONS, AuditLog, Entry
from hub.auth import InvalidAccount, normalize_email
from hub.views.console.access import requires
from hub.views.console.page import console_page, gettext
from hub.views.signin import run

# Entries per page of the audit log.
AUDIT_PAGE = 50


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
        "content_saved": _("Content file saved"),
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
    log: AuditLog = request.app.state.audit
    page = functools.partial(log.page, **asked, before=before, limit=AUDIT_PAGE + 1)
    found: list[Entry] = await run(page)
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
