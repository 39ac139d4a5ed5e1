"""What the article pages of the console share: the form's values read from a POST, the
choices the form offers, and the words for each reason a proposed article is refused."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request

from hub.content import Library, pick
from hub.curation.articles import ArticleForm, Reason
from hub.views.console.page import Gettext, gettext

# Empty source rows the form offers below the article's own (no JavaScript adds rows).
EMPTY_SOURCE_ROWS = 2
# The messages of a refusal, by the field the form shows them at ("form": above the form).
Errors = dict[str, list[Markup]]


def form_of_post(form: FormData) -> ArticleForm:
    """The article form's values as sent (sources: the rows of `source_url`/`source_title`)."""
    urls = [str(value) for value in form.getlist("source_url")]
    titles = [str(value) for value in form.getlist("source_title")]
    titles += [""] * (len(urls) - len(titles))
    summary = str(form.get("summary", ""))
    return ArticleForm(
        title=str(form.get("title", "")),
        # A textarea's line ends come as CRLF; the file holds "\n", as for the body.
        summary=summary.replace("\r\n", "\n").replace("\r", "\n"),
        topics=tuple(str(value) for value in form.getlist("topics")),
        # In capitals, as the directory's form reads a country typed in lower case.
        countries=tuple(str(value).strip().upper() for value in form.getlist("countries")),
        sources=tuple(zip(urls, titles, strict=False)),
        updated=str(form.get("updated", "")),
        status=str(form.get("status", "")),
        body=str(form.get("body", "")),
    )


def source_rows(form: ArticleForm) -> list[tuple[str, str]]:
    """The form's source rows: the article's, then empty ones to add more."""
    return [*form.sources, *([("", "")] * EMPTY_SOURCE_ROWS)]


def countries_of(library: Library) -> list[str]:
    """The countries an article may concern: the site's origins, then its destinations."""
    return list(dict.fromkeys((*library.site.origins, *library.site.destinations)))


def form_choices(library: Library) -> dict[str, Any]:
    """What the form offers to choose: the topics (id, English title) and the countries."""
    topics = [(topic.id, pick(topic.title, "en")) for topic in library.topics]
    return {
        "topic_choices": topics,
        "topic_titles": dict(topics),
        "country_choices": countries_of(library),
    }


def errors_of(request: Request, reasons: list[Reason]) -> Errors:
    """Each reason in the console's words, by the field the form shows it at."""
    _ = gettext(request)
    errors: Errors = {}
    for reason in reasons:
        errors.setdefault(reason.field, []).append(worded(_, reason))
    return errors


def worded(_: Gettext, reason: Reason) -> Markup:
    """What the form says of one reason; `hub check`'s own words for one it has none for."""
    code, value = reason.code, reason.value
    if code == "unknown_topic":
        return _("This is not a topic of the hub: %(value)s", value=value)
    if code == "broken_link":
        return _(
            "This link leads to no page of the hub: %(value)s. Link to an article by its "
            "address, like your-contract, or to the help page as ../help.",
            value=value,
        )
    if code == "no_body":
        return _("Write the article's text.")
    if code == "bad_url":
        return _("A source's address must start with https:// or http://.")
    if code == "no_url":
        return _("A source with a title needs its address too.")
    if code == "bad_date":
        return _("Write the date as year-month-day, like 2026-11-30.")
    if code == "future_date":
        return _("The date of the last change cannot be in the future.")
    if code == "bad_slug":
        return _(
            "An address is lowercase English words and digits joined by '-', like "
            "wages-and-payslips (at most 100 characters)."
        )
    if code == "not_utf8":
        return _(
            "The file on disk is not UTF-8 text, so the console cannot replace it. Fix it in a "
            "text editor (hub check names it), then open it here again."
        )
    if code == "taken":
        return _("This address is taken: %(value)s", value=value)
    if code == "windows_name":
        return _(
            "Windows keeps the name %(value)s for a device, so the article's folder could not "
            "be copied to a Windows computer. Choose another address.",
            value=value,
        )
    if code == "too_long":
        if reason.field == "title":
            return _("A title may have at most %(num)s characters.", num=value)
        return _("A text may have at most %(num)s characters.", num=value)
    if code == "control":
        if reason.field == "title":
            return _(
                "A title is one line: it cannot hold line breaks, control characters nor "
                "invisible formatting characters, such as marks that change the direction of "
                "text."
            )
        return _(
            "This cannot hold control characters (a line break in the text is fine) nor marks "
            "that change the direction of text."
        )
    if code == "required":
        if reason.field == "title":
            return _("Write a title.")
        if reason.field == "summary":
            return _("Write a summary: one or two plain sentences.")
        if reason.field == "topics":
            return _("Choose at least one topic.")
        if reason.field == "slug":
            return _("Choose the article's address.")
    # hub check's own words, as `hub check` prints them (English): escaped like any text.
    return Markup.escape(reason.message)
