"""A peer leader's new alert in the `/leaders/` console: the form, its preview (checked by the
domain, with how many phones it would reach) and its submission.

Every check of an alert is the domain's (hub/push/alerts.py): the scope of a hand-made POST is
refused there, whatever this page offered. Each step is written to the audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import AuditLog
from hub.auth import LOCALES, Account, Refused
from hub.content import Library
from hub.i18n import I18n
from hub.push import TOPICS, URGENCIES
from hub.push.alerts import (
    Alerts,
    Draft,
    DraftRefused,
    InvalidAlert,
    LimitReached,
    NotAllowed,
    Reach,
)
from hub.push.payload import BODY_MAX, TITLE_MAX
from hub.views.console.access import requires
from hub.views.console.alert_forms import Errors, errors_of, phone_versions
from hub.views.console.compose_form import DURATIONS, Compose, worded_for
from hub.views.console.page import console_locale, console_page
from hub.views.console.scope import corridors_of, locales_of, signed_in
from hub.views.signin import run


@requires("leader")
async def alert_new(request: Request) -> Response:
    """Write an alert (GET), check it and see its preview (POST action=preview), go back to
    the form (action=edit), or send it (action=submit)."""
    account = signed_in(request)
    library: Library = request.app.state.library
    if request.method == "GET":
        return await _compose_page(request, Compose.empty(account, library))
    form = await request.form()
    action = str(form.get("action", ""))
    compose = Compose.of_form(form)
    if action == "edit":
        return await _compose_page(request, compose)
    if action == "preview":
        return await _preview(request, account, compose)
    if action == "submit":
        return await _submit(request, account, compose)
    raise HTTPException(400)


async def _compose_page(
    request: Request, form: Compose, errors: Errors | None = None, status_code: int = 200
) -> Response:
    account = signed_in(request)
    library: Library = request.app.state.library
    alerts: Alerts = request.app.state.alerts
    sent = await run(alerts.sent_today, account.id)
    context = {
        "form": form,
        "errors": errors or {},
        "offered_corridors": _offered(corridors_of(account, library), form.corridors),
        "offered_locales": _offered_locales(account, form),
        "topics": TOPICS,
        "urgencies": URGENCIES,
        "durations": DURATIONS,
        "title_max": TITLE_MAX,
        "body_max": BODY_MAX,
        "per_day": alerts.per_day,
        "left_today": max(alerts.per_day - sent, 0),
    }
    return console_page(request, "console/alert_compose.html", context, status_code)


def _offered_locales(account: Account, form: Compose) -> list[str]:
    """The languages the form offers, each with its version's fields."""
    return _offered(locales_of(account), form.locales, order=LOCALES)


def _errors(request: Request, account: Account, form: Compose, refused: InvalidAlert) -> Errors:
    """What the form says of a refusal, each problem where the form shows it."""
    if isinstance(refused, LimitReached):
        i18n: I18n = request.app.state.i18n
        ngettext = i18n.gettext_callables(console_locale(request))["ngettext"]
        limit = refused.limit or 0
        message: Markup = ngettext(
            "You have sent %(num)s alert in the last 24 hours, the most allowed in any 24 "
            "hours. You can send the next one when it is more than 24 hours old.",
            "You have sent %(num)s alerts in the last 24 hours, the most allowed in any 24 "
            "hours. You can send the next one when the first of them is more than 24 hours old.",
            limit,
            num=limit,
        )
        return {"form": [message]}
    i18n = request.app.state.i18n
    names = {code: info.native_name for code, info in i18n.info.items()}
    return errors_of(request, refused, worded_for(_offered_locales(account, form), names))


def _offered(
    held: Sequence[str], chosen: Sequence[str], order: Sequence[str] | None = None
) -> list[str]:
    """What a list of checkboxes offers: her own, and anything a sent form held beyond them (so
    a refusal shows the value it names ticked, next to its message)."""
    extra = [code for code in chosen if code not in held]
    found = list(dict.fromkeys([*held, *extra]))
    if order is not None:
        found.sort(key=lambda code: order.index(code) if code in order else len(order))
    return found


async def _preview(request: Request, account: Account, compose: Compose) -> Response:
    state = request.app.state
    alerts: Alerts = state.alerts
    try:
        checked = await run(alerts.check, account, compose.draft(alerts.clock()))
    except NotAllowed as exc:
        raise HTTPException(403) from exc
    except DraftRefused as refused:
        if any(p.reason == "out_of_scope" for p in refused.problems):
            await run(_record_refusal, state.audit, account, "preview", refused)
        return await _compose_page(
            request, compose, _errors(request, account, compose, refused), 400
        )
    draft = checked.draft
    reach: Reach = await run(alerts.reach, draft.corridors, list(draft.texts), draft.topic)
    change = {**_summary(draft), "reach": reach.phones, "missed": reach.missed}
    record = functools.partial(state.audit.record, actor=account.email, change=change)
    await run(record, "alert_previewed")
    context = {
        "form": compose.cleaned(checked),
        "draft": draft,
        "converted": checked.converted,
        "reach": reach,
        "versions": phone_versions(request, draft.texts),
        "network": account.network,
        "trusted": account.trusted,
    }
    return console_page(request, "console/alert_preview.html", context)


async def _submit(request: Request, account: Account, compose: Compose) -> Response:
    state = request.app.state
    try:
        doc = await run(_submit_and_record, state.alerts, state.audit, account, compose)
    except NotAllowed as exc:
        raise HTTPException(403) from exc
    except InvalidAlert as refused:
        await run(_record_refusal, state.audit, account, "submit", refused)
        return await _compose_page(
            request, compose, _errors(request, account, compose, refused), 400
        )
    done = "published" if doc["status"] == "published" else "submitted"
    target = request.url_for("leaders:alert", alert_id=doc["id"]).path
    return RedirectResponse(f"{target}?{urlencode({'done': done})}", 303)


def _submit_and_record(
    alerts: Alerts, audit: AuditLog, account: Account, compose: Compose
) -> dict[str, Any]:
    draft = compose.draft(alerts.clock())
    doc = alerts.submit(account, draft)
    change = {**_summary(draft), "status": doc["status"], "version": doc["version"]}
    audit.record("alert_submitted", actor=account.email, target=doc["id"], change=change)
    return doc


def _record_refusal(audit: AuditLog, account: Account, step: str, refused: Refused) -> None:
    """A refused submission (or a preview out of her scope: a form the page did not offer)."""
    problems = refused.problems if isinstance(refused, DraftRefused) else (refused,)
    change = {
        "step": step,
        "problems": [{"field": p.field, "reason": p.reason, "value": p.value} for p in problems],
    }
    audit.record("alert_refused", actor=account.email, change=change)


def _summary(draft: Draft) -> dict[str, Any]:
    """What the audit log keeps of a draft: where it goes and its titles (not its texts)."""
    return {
        "corridors": list(draft.corridors),
        "locales": list(draft.locales),
        "topic": draft.topic,
        "urgency": draft.urgency,
        "expires": draft.expires,
        "link": draft.link,
        "titles": {code: text.get("title", "") for code, text in draft.texts.items()},
    }
