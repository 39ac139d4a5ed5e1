"""A peer leader's alerts in the `/leaders/` console: the list, one alert with where its delivery
stands, and withdrawing it (each step written to the audit log)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import AuditLog
from hub.auth import Account
from hub.push.alerts import Alerts, UnknownAlert, WrongState
from hub.push.outbox import REASONS
from hub.views.console.access import requires
from hub.views.console.page import console_page
from hub.views.console.scope import signed_in
from hub.views.signin import run

# What the list of alerts says after a step (`?done=`).
DONE = frozenset({"submitted", "published", "withdrawn"})


@requires("leader")
async def alerts_list(request: Request) -> Response:
    """Her alerts, newest first: each one's state, the reason of a rejection, and where the
    delivery of a sent one stands."""
    account = signed_in(request)
    state = request.app.state
    docs = await run(state.alerts.of_author, account.id)
    reports = {
        doc["id"]: await run(state.outbox.report, doc["id"]) for doc in docs if doc["published"]
    }
    sent = await run(state.alerts.sent_today, account.id)
    done = request.query_params.get("done", "")
    context = {
        "items": docs,
        "reports": reports,
        "reasons": REASONS,
        "done": done if done in DONE else "",
        "per_day": state.alerts.per_day,
        "left_today": max(state.alerts.per_day - sent, 0),
    }
    return console_page(request, "console/leaders_alerts.html", context)


async def _own_alert(request: Request, alerts: Alerts) -> dict[str, Any]:
    """The alert of the path, if it is hers (another's is not found: 404, not 403, so its
    existence is not told either)."""
    account = signed_in(request)
    doc = await run(alerts.get, str(request.path_params["alert_id"]))
    if doc is None or doc["account_id"] != account.id:
        raise HTTPException(404)
    return doc


@requires("leader")
async def alert(request: Request) -> Response:
    """One of her alerts: its versions as sent, its state and where its delivery stands."""
    state = request.app.state
    doc = await _own_alert(request, state.alerts)
    report = await run(state.outbox.report, doc["id"]) if doc["published"] else None
    done = request.query_params.get("done", "")
    context = {
        "item": doc,
        "report": report,
        "reasons": REASONS,
        "done": done if done in DONE else "",
        "may_withdraw": doc["status"] in ("pending", "published"),
    }
    return console_page(request, "console/alert_report.html", context)


@requires("leader")
async def alert_withdraw(request: Request) -> Response:
    """Take her alert down: gone from the readers' page, its undelivered messages cancelled."""
    state = request.app.state
    account = signed_in(request)
    doc = await _own_alert(request, state.alerts)
    try:
        await run(_withdraw_and_record, state.alerts, state.audit, account, doc)
    except (WrongState, UnknownAlert) as exc:
        raise HTTPException(409) from exc
    target = request.url_for("leaders:alert", alert_id=doc["id"]).path
    return RedirectResponse(f"{target}?{urlencode({'done': 'withdrawn'})}", 303)


def _withdraw_and_record(
    alerts: Alerts, audit: AuditLog, account: Account, doc: Mapping[str, Any]
) -> None:
    was = doc["status"]
    alerts.withdraw(doc["id"], account)
    change = {"status": {"from": was, "to": "withdrawn"}}
    audit.record("alert_withdrawn", actor=account.email, target=doc["id"], change=change)
