"""The moderation of alerts in the `/admin/` console (curators): the alerts waiting for review
and the past ones, and one alert's page with the steps open to it
(hub/views/console/moderation_steps.py takes each step)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.auth import LOCALES, Account, Refused
from hub.push.alerts import NotAllowed, UnknownAlert, WrongState
from hub.push.outbox import REASONS, Outbox
from hub.push.payload import BODY_MAX, TITLE_MAX
from hub.views.console.access import requires
from hub.views.console.account_actions import flag
from hub.views.console.alert_forms import Errors, errors_of, phone_versions
from hub.views.console.moderation_steps import ALERT_STEPS, AlertDomain
from hub.views.console.page import Gettext, console_page, gettext
from hub.views.console.scope import signed_in
from hub.views.signin import run

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


def fingerprint(doc: Mapping[str, Any]) -> str:
    """What a curator saw of an alert when she opened its page: a form carries it back, so a
    step on an alert that changed since (a curator's edit, another's approval) is refused."""
    seen = {
        key: doc.get(key)
        for key in ("status", "version", "texts", "locales", "expires", "urgency", "link")
    }
    text = json.dumps(seen, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def alert_worded(
    _: Gettext, field: str, reason: str, value: str, limit: int | None
) -> tuple[str, Markup]:
    """Where the alert's page shows a refused value other than a title or a text (by a
    version's title, "reason", or "texts" above the versions) and what it says."""
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
        if wrong.reason == doc["status"]:
            # Refused for the state her page showed: never possible, not a change meanwhile.
            return await _alert_page(request, current, impossible=action)
        return await _alert_page(request, current, stale=stale_worded(request, wrong.reason))
    except Refused as refused:
        if refused.field == "trusted":
            return await _alert_page(request, doc, stale=stale_worded(request, "trust"))
        return await _alert_page(
            request, doc, errors=errors_of(request, refused, alert_worded), sent=form, action=action
        )
    path = request.url_for("admin:alert", alert_id=target).path
    done = ALERT_DONE_OF[action]
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", 303)


async def _alert_page(
    request: Request,
    doc: Mapping[str, Any],
    *,
    done: str | None = None,
    stale: Markup | None = None,
    impossible: str | None = None,
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
        "author_trusted_flag": flag(author.trusted) if author else "",
        "report": report,
        "reasons": REASONS,
        "versions": phone_versions(request, doc["texts"]),
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
        # The step (`action`) refused because the alert's state does not allow it.
        "impossible": impossible,
        "errors": errors or {},
        "action": action,
    }
    status = 409 if stale or impossible else 400 if errors else 200
    return console_page(request, "console/admin_alert.html", context, status)
