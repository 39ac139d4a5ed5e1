"""The form a peer leader writes an alert in: what it holds (and the draft it asks for), and
what it says of each value the alerts' domain refuses."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup
from starlette.datastructures import FormData

from hub.auth import Account
from hub.content import Library
from hub.push.alerts import Checked, Draft
from hub.views.console.alert_forms import Worded, texts_of_form
from hub.views.console.page import Gettext
from hub.views.console.scope import corridors_of, locales_of

# How long an alert may be shown, offered as choices (hours): no time zone to get wrong, and
# none past the four weeks a push service keeps a message (hub/push/alerts.py, MAX_EXPIRY).
DURATIONS = (6, 12, 24, 48, 72, 168, 336, 672)
DEFAULT_HOURS = 168


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
        return cls(
            texts=texts_of_form(form),
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
        # Only the values the form offers, as it writes them: str.isdigit() also takes "²"
        # and "٢٤", and int() refuses "²" and more than 4,300 digits.
        hours = next((h for h in DURATIONS if str(h) == self.hours), None)
        expires = ""
        if hours is not None:
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


def worded_for(shown: Collection[str], names: Mapping[str, str]) -> Worded:
    """`worded` for a form that shows the versions of the `shown` locales: a version in another
    language (a hand-made form: one not hers, not ticked) is named above the form, by its name
    in `names` (locale -> the language's own name), since it has no field on the page."""

    def word(
        _: Gettext, field: str, reason: str, value: str, limit: int | None
    ) -> tuple[str, Markup]:
        if field == "texts" and reason == "not_target" and value not in shown:
            return "form", _(
                "The form held a version in %(language)s, which is not one of your languages. "
                "Nothing was sent, and that version is left out below.",
                language=names.get(value, value),
            )
        return worded(_, field, reason, value, limit)

    return word


def worded(
    _: Gettext, field: str, reason: str, value: str, limit: int | None
) -> tuple[str, Markup]:
    """Where the compose form shows a refused value other than a title or a text (by its
    field, by a version's title, or "form" above the form) and what it says."""
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
    if field == "network":
        return "form", _(
            "Your account has no network name yet, and readers see it with each alert. Ask an "
            "admin to set it on your account."
        )
    return "form", _("This value cannot be used.")
