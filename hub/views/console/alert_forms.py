"""What the two alert forms share (a leader's compose form, a curator's review of an alert): the
versions a form holds, what it says of a refused title or text, and each version as a phone
shows it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request

from hub.auth import LOCALES, Refused
from hub.i18n import I18n
from hub.push.alerts import DraftRefused
from hub.push.payload import NEUTRAL_LINE
from hub.views.console.page import Gettext, gettext

# The messages of a refusal, by where the form shows them ("title-fil", "form", a field).
Errors = dict[str, list[Markup]]
# Where a form shows a refused value (other than a title or a text), and what it says there:
# given the console's `_`, the field, the reason, the value and the limit it passed (if any).
Worded = Callable[[Gettext, str, str, str, int | None], tuple[str, Markup]]


def texts_of_form(form: FormData, locales: Iterable[str] = LOCALES) -> dict[str, dict[str, str]]:
    """The versions an alert form holds: a locale with a title or a text (both empty: none)."""
    texts: dict[str, dict[str, str]] = {}
    for code in locales:
        title = str(form.get(f"title-{code}", ""))
        body = str(form.get(f"body-{code}", ""))
        if title.strip() or body.strip():
            texts[code] = {"title": title, "body": body}
    return texts


def errors_of(request: Request, refused: Refused, worded: Worded) -> Errors:
    """Every problem of a refusal, by where the form shows it, in the console's locale: a
    refused title or text by its version ("title-fil"), any other value where `worded` says."""
    _ = gettext(request)
    problems: Sequence[Refused] = (
        refused.problems if isinstance(refused, DraftRefused) else (refused,)
    )
    errors: Errors = {}
    for problem in problems:
        field, reason, value = problem.field, problem.reason, problem.value or ""
        word = _version_worded if field in ("title", "body") else worded
        key, message = word(_, field, reason, value, getattr(problem, "limit", None))
        errors.setdefault(key, []).append(message)
    return errors


def _version_worded(
    _: Gettext, field: str, reason: str, value: str, limit: int | None
) -> tuple[str, Markup]:
    """A refused title or text: shown by its version ("title-fil" for a title in Filipino)."""
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


def phone_versions(
    request: Request, texts: Mapping[str, Mapping[str, str]]
) -> list[dict[str, str]]:
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
        for code, text in texts.items()
    ]
