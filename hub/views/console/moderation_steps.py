"""The steps a curator takes on an alert (approve, reject, edit its versions, withdraw, correct,
trust its author or not): each changes the alert through the domain and writes its audit entry,
in one worker-thread call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from hub.audit import AuditLog, diff
from hub.auth import Account, Accounts, InvalidAccount
from hub.push.alerts import Alerts, UnknownAlert, WrongState
from hub.push.outbox import Outbox
from hub.views.console.access import holds
from hub.views.console.account_actions import flag, set_network_and_trust
from hub.views.console.alert_forms import texts_of_form


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
    if doc["status"] != "published":
        # A curator rejects a pending alert, with a reason; even one she wrote herself is
        # withdrawn from her own alerts' page, not from the review.
        raise WrongState(doc["status"], "withdrawn")
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
    if str(form.get("was_trusted", "")) != flag(author.trusted):
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
