"""The `/leaders/` console of peer leaders: their corridors, and their alerts (compose, preview,
send, the list with each one's delivery report, withdraw).

Every check of an alert is the domain's (hub/push/alerts.py): the scope of a hand-made POST is
refused there, whatever this page offered. Each step is written to the audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.audit import AuditLog
from hub.auth import LOCALES, Account, Refused
from hub.auth.fields import CORRIDOR
from hub.console_guard import ACCOUNT
from hub.content import Library
from hub.i18n import I18n
from hub.push import TOPICS, URGENCIES
from hub.push.alerts import (
    Alerts,
    Checked,
    Draft,
    DraftRefused,
    InvalidAlert,
    NotAllowed,
    Reach,
    UnknownAlert,
    WrongState,
)
from hub.push.outbox import REASONS
from hub.push.payload import BODY_MAX, NEUTRAL_LINE, TITLE_MAX
from hub.views.console.access import UNLIMITED, require_scope, requires
from hub.views.console.page import console_page, gettext
from hub.views.signin import run

# How long an alert may be shown, offered as choices (hours): no time zone to get wrong, and
# none past the four weeks a push service keeps a message (hub/push/alerts.py, MAX_EXPIRY).
DURATIONS = (6, 12, 24, 48, 72, 168, 336, 672)
DEFAULT_HOURS = 168
# What the list of alerts says after a step (`?done=`).
DONE = frozenset({"submitted", "published", "withdrawn"})


def site_corridors(library: Library) -> list[str]:
    """Every corridor the site serves: each origin to each other destination ("PH-HK")."""
    site = library.site
    return [f"{o}-{d}" for o in site.origins for d in site.destinations if o != d]


def corridors_of(account: Account, library: Library) -> list[str]:
    """The corridors this account works on: her own, or all the site's for an admin."""
    return site_corridors(library) if account.role in UNLIMITED else list(account.corridors)


def locales_of(account: Account) -> list[str]:
    """The locales this account works in: her own, or all of them for an admin."""
    return list(LOCALES) if account.role in UNLIMITED else list(account.locales)


def _signed_in(request: Request) -> Account:
    account: Account = request.scope[ACCOUNT]
    return account


@requires("leader")
async def home(request: Request) -> Response:
    """Her corridors and languages, each corridor a link to its page."""
    account = _signed_in(request)
    library: Library = request.app.state.library
    context = {
        "corridors": [c.split("-") for c in corridors_of(account, library)],
        "work_locales": locales_of(account),
    }
    return console_page(request, "console/leaders_home.html", context)


@requires("leader")
async def corridor(request: Request) -> Response:
    """One of her corridors: the help entries readers of that corridor see, as an overview."""
    code = str(request.path_params["corridor"])
    match = CORRIDOR.fullmatch(code)
    if match is None or match[1] == match[2]:
        raise HTTPException(404)
    account = require_scope(request, corridor=code)
    library: Library = request.app.state.library
    if code not in site_corridors(library) and code not in account.corridors:
        raise HTTPException(404)
    origin, destination = match.groups()
    context = {
        "origin": origin,
        "destination": destination,
        "groups": library.help_groups(origin, destination),
    }
    return console_page(request, "console/leaders_corridor.html", context)


# -- alerts: the form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Compose:
    """What the compose form holds, as sent (or as a new form starts)."""

    texts: Mapping[str, Mapping[str, str]]
    corridors: Sequence[str]
    locales: Sequence[str]
    topic: str
    urgency: str
    hours: str
    link: str

    @classmethod
    def empty(cls, account: Account, library: Library) -> Compose:
        """A new form: her only corridor and her only language ticked, when she has one."""
        corridors, locales = corridors_of(account, library), locales_of(account)
        return cls(
            texts={},
            corridors=corridors if len(corridors) == 1 else [],
            locales=locales if len(locales) == 1 else [],
            topic="",
            urgency="normal",
            hours=str(DEFAULT_HOURS),
            link="",
        )

    @classmethod
    def of_form(cls, form: FormData) -> Compose:
        """The form as sent. Every locale's fields are read, not only the ones the page
        offered: a version out of her scope is for the domain to refuse, not to drop unseen."""
        texts: dict[str, dict[str, str]] = {}
        for code in LOCALES:
            title = str(form.get(f"title-{code}", ""))
            body = str(form.get(f"body-{code}", ""))
            if title.strip() or body.strip():
                texts[code] = {"title": title, "body": body}
        return cls(
            texts=texts,
            corridors=[str(v) for v in form.getlist("corridors")],
            locales=[str(v) for v in form.getlist("locales")],
            topic=str(form.get("topic", "")),
            urgency=str(form.get("urgency", "")),
            hours=str(form.get("hours", "")),
            link=str(form.get("link", "")),
        )

    def draft(self, now: datetime) -> Draft:
        """The draft this form asks for, its expiry `hours` from `now` (none for a number of
        hours the form does not offer: the domain then refuses it)."""
        hours = int(self.hours) if self.hours.isdigit() else 0
        expires = ""
        if hours in DURATIONS:
            expires = (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Draft(
            texts=self.texts,
            corridors=self.corridors,
            locales=self.locales,
            topic=self.topic,
            urgency=self.urgency,
            expires=expires,
            link=self.link or None,
        )

    def cleaned(self, checked: Checked) -> Compose:
        """The form as the domain cleaned it (trimmed, Zawgyi converted): what the preview
        shows and carries on to the submission, so she sends what she saw."""
        draft = checked.draft
        return Compose(
            texts=draft.texts,
            corridors=draft.corridors,
            locales=draft.locales,
            topic=draft.topic,
            urgency=draft.urgency,
            hours=self.hours,
            link=draft.link or "",
        )


Errors = dict[str, list[Markup]]


def worded(request: Request, refused: Refused) -> tuple[str, Markup]:
    """Where a refusal of the alerts' domain is shown (a field of the form, "title-fil" for a
    locale's title, or "form" above it) and what it says, in the console's locale."""
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
                "You wrote this version, but its language is not ticked among the languages to "
                "send to. Tick it, or empty this version."
            )
        if reason == "unknown":
            return "form", _("This is not a language of the hub: %(value)s", value=value)
        return "form", _("Write a title and a text in at least one language.")
    if field == "corridors":
        if reason == "required":
            return field, _("Choose at least one corridor.")
        if reason == "out_of_scope":
            return field, _("This corridor is not one of yours: %(value)s", value=value)
        if reason == "not_served":
            return field, _("The hub does not serve this corridor: %(value)s", value=value)
        return field, _("This is not a corridor: %(value)s", value=value)
    if field == "locales":
        if reason == "required":
            return field, _("Choose at least one language.")
        if reason == "out_of_scope":
            return field, _("This language is not one of yours: %(value)s", value=value)
        return field, _("This is not a language of the hub: %(value)s", value=value)
    if field == "topic":
        return field, _("Choose what the alert is about.")
    if field == "urgency":
        return field, _("Choose how urgent the alert is.")
    if field == "expires":
        return "hours", _("Choose how long the alert is shown.")
    if field == "link":
        if reason == "unknown":
            return field, _("The hub has no such page: %(value)s", value=value)
        return field, _(
            "A link must be a page of the hub, such as help or articles/keep-your-passport. "
            "Links to other sites are not allowed."
        )
    if field == "limit":
        return "form", _(
            "You have sent %(num)s alerts in the last 24 hours, the most allowed. Try again later.",
            num=limit,
        )
    if field == "network":
        return "form", _(
            "Your account has no network name yet, and readers see it with each alert. Ask an "
            "admin to set it on your account."
        )
    return "form", _("This value cannot be used.")


def error_map(request: Request, refused: Refused) -> Errors:
    """Every problem of a refusal, by where the form shows it."""
    problems: Sequence[Refused] = (
        refused.problems if isinstance(refused, DraftRefused) else (refused,)
    )
    errors: Errors = {}
    for problem in problems:
        key, message = worded(request, problem)
        errors.setdefault(key, []).append(message)
    return errors


async def _compose_page(
    request: Request, form: Compose, errors: Errors | None = None, status_code: int = 200
) -> Response:
    account = _signed_in(request)
    library: Library = request.app.state.library
    alerts: Alerts = request.app.state.alerts
    sent = await run(alerts.sent_today, account.id)
    context = {
        "form": form,
        "errors": errors or {},
        "offered_corridors": _offered(corridors_of(account, library), form.corridors),
        "offered_locales": _offered(locales_of(account), form.locales, order=LOCALES),
        "topics": TOPICS,
        "urgencies": URGENCIES,
        "durations": DURATIONS,
        "title_max": TITLE_MAX,
        "body_max": BODY_MAX,
        "per_day": alerts.per_day,
        "left_today": max(alerts.per_day - sent, 0),
    }
    return console_page(request, "console/alert_compose.html", context, status_code)


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


# -- alerts: the views --------------------------------------------------------------------------


@requires("leader")
async def alerts_list(request: Request) -> Response:
    """Her alerts, newest first: each one's state, the reason of a rejection, and where the
    delivery of a sent one stands."""
    account = _signed_in(request)
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


@requires("leader")
async def alert_new(request: Request) -> Response:
    """Write an alert (GET), check it and see its preview (POST action=preview), go back to
    the form (action=edit), or send it (action=submit)."""
    account = _signed_in(request)
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
        return await _compose_page(request, compose, error_map(request, refused), 400)
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
        "versions": _versions(request, draft),
        "network": account.network,
        "trusted": account.trusted,
    }
    return console_page(request, "console/alert_preview.html", context)


def _versions(request: Request, draft: Draft) -> list[dict[str, str]]:
    """Each version as a phone shows it: in full, and in discreet mode (the site's neutral
    name and a line that says nothing of the alert, in that version's language)."""
    library: Library = request.app.state.library
    i18n: I18n = request.app.state.i18n
    return [
        {
            "locale": code,
            "title": text["title"],
            "body": text["body"],
            "neutral_title": library.site.name(code, discreet=True),
            "neutral_body": i18n.gettext(code, NEUTRAL_LINE),
        }
        for code, text in draft.texts.items()
    ]


async def _submit(request: Request, account: Account, compose: Compose) -> Response:
    state = request.app.state
    try:
        doc = await run(_submit_and_record, state.alerts, state.audit, account, compose)
    except NotAllowed as exc:
        raise HTTPException(403) from exc
    except InvalidAlert as refused:
        await run(_record_refusal, state.audit, account, "submit", refused)
        return await _compose_page(request, compose, error_map(request, refused), 400)
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


async def _own_alert(request: Request, alerts: Alerts) -> dict[str, Any]:
    """The alert of the path, if it is hers (another's is not found: 404, not 403, so its
    existence is not told either)."""
    account = _signed_in(request)
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
    account = _signed_in(request)
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


ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    # Before "/{corridor}", which "alerts" would otherwise be taken for.
    Route("/alerts", alerts_list, name="alerts"),
    Route("/alerts/new", alert_new, methods=["GET", "POST"], name="alert_new"),
    Route("/alerts/{alert_id}", alert, name="alert"),
    Route("/alerts/{alert_id}/withdraw", alert_withdraw, methods=["POST"], name="alert_withdraw"),
    Route("/{corridor}", corridor, name="corridor"),
]
