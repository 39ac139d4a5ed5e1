"""`console_page`: a console template rendered in the console's locale with what
console/base.html reads (the account, the roles it holds, the CSRF token); and the
translated words for what a console form refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_time, get_datetime_format
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hub.auth import Account, Refused
from hub.console_guard import ACCOUNT, CONSOLE_LOCALE, CSRF
from hub.i18n import I18n
from hub.views.console.access import HOLDS
from hub.views.render import render

Gettext = Callable[..., Markup]


def console_locale(request: Request) -> str:
    """The console's locale for this request (hub/console_guard.py chose it)."""
    return str(request.scope.get(CONSOLE_LOCALE, "en"))


def gettext(request: Request) -> Gettext:
    """The templates' `_` in the console's locale, for messages a view builds."""
    i18n: I18n = request.app.state.i18n
    translate: Gettext = i18n.gettext_callables(console_locale(request))["gettext"]
    return translate


def format_moment(i18n: I18n, locale: str, stamp: str) -> str:
    """A stored UTC time ("2025-03-01T08:30:05Z") as the locale writes a date and a time: the
    hub's long date (I18n.date) and CLDR's long time, with its seconds and "UTC", joined by
    the locale's own pattern as babel.dates.format_datetime joins them. Any other text is
    given back as it is."""
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return stamp
    babel_locale = i18n.info[locale].babel
    time = format_time(moment, format="long", tzinfo=UTC, locale=babel_locale)
    return (
        str(get_datetime_format("long", locale=babel_locale))
        .replace("'", "")
        .replace("{0}", time)
        .replace("{1}", i18n.date(moment.date(), locale))
    )


def console_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render `template` (under console/) for this request; never stored by any cache."""
    scope = request.scope
    locale = scope["hub.locale"] = console_locale(request)
    account: Account | None = scope.get(ACCOUNT)
    i18n: I18n = request.app.state.i18n
    page = {
        "account": account,
        "held_roles": HOLDS.get(account.role, frozenset()) if account else frozenset(),
        "csrf_token": scope.get(CSRF, ""),
        # A stored UTC time in the console's locale (audit entries, sign-ins).
        "format_moment": lambda stamp: format_moment(i18n, locale, stamp),
        **context,
    }
    response = render(request, template, page, status_code)
    response.headers["cache-control"] = "no-store"
    return response


def refusal(request: Request, refused: Refused) -> Markup:
    """What a console form says, in the console's locale, of a value the domain refused."""
    _ = gettext(request)
    reason = refused.reason
    if refused.field == "password":
        if reason == "too_short":
            return _("A password needs at least %(num)s characters.", num=_limit(refused, 12))
        if reason == "too_long":
            return _("A password may have at most %(num)s characters.", num=_limit(refused, 1024))
        if reason == "personal":
            return _("A password must not be made of your email address or name.")
        if reason == "common":
            return _("This password is too common or too easy to guess. Try a longer phrase.")
    if refused.field == "email":
        if reason == "taken":
            return _("An account with this email address already exists.")
        if reason == "unknown":
            return _("No account has this email address.")
        return _("This is not an email address.")
    if refused.field == "display_name":
        if reason == "too_long":
            return _("A name may have at most 100 characters.")
        if reason == "invisible":
            return _(
                "A name cannot hold invisible formatting characters, such as marks that change "
                "the direction of text."
            )
        return _("A name cannot hold control characters.")
    if refused.field == "role" and reason == "last_admin":
        return _("This is the only active admin: another admin is needed first.")
    if refused.field == "corridors":
        if reason == "required":
            return _("A peer leader needs at least one corridor.")
        if reason == "not_allowed":
            return _("Only peer leaders have corridors.")
        return _("This is not a corridor of the hub: %(value)s", value=refused.value or "")
    if refused.field == "locales":
        if reason == "required":
            return _("This role needs at least one language.")
        if reason == "not_allowed":
            return _("This role has no languages to choose.")
        return _("This is not a language of the hub: %(value)s", value=refused.value or "")
    if refused.field == "otp":
        return _("That code is not right. Enter the code your app shows now.")
    if refused.field == "token":
        return _("This link cannot be used.")
    return _("This value cannot be used.")


def _limit(refused: Refused, default: int) -> int:
    limit = getattr(refused, "limit", None)
    return limit if isinstance(limit, int) else default
