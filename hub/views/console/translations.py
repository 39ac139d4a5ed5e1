"""`/admin/articles/{slug}/{locale}`: one article's translation beside its English (issue 12,
point 3).

The page shows the English as readers get it (title, summary, the body rendered, and its
Markdown source), the translation's state (missing, draft, reviewed by whom and when, or
outdated), and for an outdated translation the change to the English since the revision it
was made from, word by word (hub/curation/translations.py finds that English in the audit log
or in git). Beside it, the form: title, summary, body. A POST saves it as a draft
(`action=draft`) or reviewed (`action=review`), recording the English revision translated,
through the console's one save path (hub/views/console/saving.py): checked first as
`hub check` checks the file (400 with the reasons by the fields, nothing written), refused
when the file changed since the form was opened (409, her text kept).

Who: a translator whose locales hold this one, a curator or an admin (403 for any other
translator; a translator reviews too, as the issue asks). Burmese typed in Zawgyi is handled
as alerts handle it (hub/push/drafts.py): converted when the conversion is sure, and then
shown back converted for her to read and save again (never saved silently); refused with a
message when it is not sure.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import AuditLog
from hub.content import Library
from hub.content.loader import Problem, check_article
from hub.content.markdown import links_from
from hub.content.model import Article
from hub.content.text import fields_in_unicode as burmese_in_unicode
from hub.curation.articles import text_reasons
from hub.curation.files import Conflict, UnsafePath, read_current
from hub.curation.translations import (
    EnglishChange,
    TranslationState,
    Written,
    english_change,
    english_in_changes,
    english_in_git,
    read_article,
    translation_state,
    translation_text,
)
from hub.views.console.access import require_scope, requires
from hub.views.console.articles_form import worded
from hub.views.console.page import Gettext, console_page, gettext
from hub.views.console.saving import save_content, save_warning
from hub.views.console.scope import public_name
from hub.views.signin import run

ACTIONS = ("draft", "review")
FIELDS = ("title", "summary", "body")
REVISION = re.compile(r"[0-9a-f]{12}")
# What the page says after a save (`?done=`).
DONE = frozenset({"draft", "review"})
# Audit entries of console saves read when looking for an old English: this many at a time,
# and no more than AUDIT_MOST in all (a log of years of saves is not read whole per page view).
AUDIT_PAGE = 500
AUDIT_MOST = 20_000


@dataclass
class Form:
    """What the form holds: the translation's fields, the digest of the file it was opened on
    ("" for a file that did not exist), and the revision of the English the page showed beside
    it: the English she translated, which a save records even if the English has changed
    since (the translation is then outdated, and the page shows what changed)."""

    title: str = ""
    summary: str = ""
    body: str = ""
    digest: str = ""
    english_revision: str = ""

    @classmethod
    def of_file(cls, written: Written | None, digest: str, english_revision: str) -> Form:
        """The form filled from the translation file as it is (empty when there is none)."""
        if written is None:
            return cls(english_revision=english_revision)
        return cls(written.title, written.summary, written.body, digest, english_revision)

    @classmethod
    def sent(cls, form: FormData, english_revision: str) -> Form:
        """The form as posted (`english_revision` when it names no revision)."""
        shown = str(form.get("english_revision", ""))
        title, summary, body, digest = (str(form.get(name, "")) for name in (*FIELDS, "digest"))
        revision = shown if REVISION.fullmatch(shown) else english_revision
        return cls(title, summary, body, digest, revision)


def _target(request: Request) -> tuple[Library, Article, str]:
    """The library, the article and the locale this request is for: 404 for an article the
    hub does not publish or a locale that is not one of the site's translations, 403 for a
    locale outside the account's scope."""
    library: Library = request.app.state.library
    slug = str(request.path_params["slug"])
    locale = str(request.path_params["locale"])
    article = library.articles.get(slug)
    if article is None or locale not in library.site.locales or locale == article.source_locale:
        raise HTTPException(404)
    require_scope(request, locale=locale)
    return library, article, locale


def _root(request: Request) -> Path:
    root: Path = request.app.state.settings.content_dir
    return root


def _rel(article: Article, locale: str) -> str:
    return f"articles/{article.slug}/{locale}.md"


@requires("translator")
async def translation(request: Request) -> Response:
    """The side-by-side page (GET), and a save as draft or reviewed (POST `action`)."""
    library, article, locale = _target(request)
    rel = _rel(article, locale)
    try:
        current = await run(read_current, _root(request), rel)
    except UnsafePath as exc:
        raise HTTPException(404) from exc
    written = read_article(current[0]) if current is not None else None
    if request.method == "GET":
        done = request.query_params.get("done", "")
        digest = current[1] if current is not None else ""
        form = Form.of_file(written, digest, article.source.revision)
        return await _page(request, article, locale, written, form, done=done)
    posted = await request.form()
    action = str(posted.get("action", ""))
    if action not in ACTIONS:
        raise HTTPException(400)
    form = Form.sent(posted, article.source.revision)
    _ = gettext(request)
    if locale == "my":
        fields, unsure = await run(
            burmese_in_unicode, {name: getattr(form, name) for name in FIELDS}
        )
        if unsure:
            errors = {name: [_zawgyi_refused(_)] for name in unsure}
            return await _page(request, article, locale, written, form, errors=errors)
        if any(fields[name] != getattr(form, name) for name in FIELDS):
            converted = Form(**fields, digest=form.digest, english_revision=form.english_revision)
            return await _page(request, article, locale, written, converted, converted=True)
    account = require_scope(request, locale=locale)
    reviewer = public_name(account) if action == "review" else None
    today = dt.date.today()
    write = functools.partial(
        translation_text,
        title=form.title,
        summary=form.summary,
        body=form.body,
        english_revision=form.english_revision,
        today=today,
        reviewer=reviewer,
    )
    try:
        text = write(current[0] if current is not None else None)
    except ValueError:
        # A file whose front matter cannot be edited in place: written anew from the form.
        text = write(None)
    check = functools.partial(check_article, locale=locale)
    problems = await run(check, _root(request), library, article.slug, text, today)
    errors = _errors(_, library, article, problems, form)
    if errors:
        return await _page(request, article, locale, written, form, errors=errors)
    what = "translation_reviewed" if action == "review" else "translation_saved"
    try:
        await save_content(request, rel, text, expected=form.digest or None, what=what)
    except Conflict as conflict:
        return await _conflict(request, article, locale, conflict, form, text)
    warning = save_warning(request)
    if warning is not None:
        # Saved, but not all went well (no commit, or no reload yet): say so on the page.
        article = _target(request)[1]
        current = await run(read_current, _root(request), rel)
        written = read_article(current[0]) if current is not None else None
        digest = current[1] if current is not None else ""
        saved = Form.of_file(written, digest, article.source.revision)
        return await _page(request, article, locale, written, saved, done=action, warning=warning)
    path = request.url_for("admin:article_translation", slug=article.slug, locale=locale).path
    return RedirectResponse(f"{path}?{urlencode({'done': action})}", 303)


def _zawgyi_refused(_: Gettext) -> Markup:
    return _(
        "This Burmese text seems to be typed in Zawgyi, and the hub cannot convert it surely. "
        "Please type it in Unicode (for example with your phone's Myanmar keyboard) so that "
        "every phone can read it."
    )


def _errors(
    _: Gettext, library: Library, article: Article, problems: list[Problem], form: Form
) -> dict[str, list[Markup]]:
    """The errors `hub check` finds in the file a save would write, by the field they concern
    ("form" for the others), in the console's locale where the hub words them."""
    errors: dict[str, list[Markup]] = {}

    def add(key: str, message: Markup) -> None:
        errors.setdefault(key, []).append(message)

    if not form.title.strip():
        add("title", _("Write a title."))
    if not form.summary.strip():
        add("summary", _("Write a summary."))
    # The same limits as the English's: one line of plain text for the title, no hidden
    # characters, a bounded length.
    for reason in text_reasons(form.title, form.summary):
        add(reason.field, worded(_, reason))
    if not form.body.strip():
        add("body", _("Write the text of the article."))
    for problem in problems:
        if problem.level != "error":
            continue
        message = problem.message
        if message.startswith("link '"):
            link = message.removeprefix("link '").partition("' does not lead")[0]
            add("body", _("This link leads to no page of the hub: %(link)s", link=link))
        elif message.startswith(("'title'", "'summary'", "has no body")):
            continue  # worded above, from the form itself
        else:
            add("form", Markup.escape(message))
    return errors


async def _english_then(
    request: Request, article: Article, revision: str
) -> tuple[Written | None, str]:
    """The English a translation was made from (revision `revision`) and where it was found
    ("audit" or "git"), or None and ""."""
    rel = _rel(article, article.source_locale)
    audit: AuditLog = request.app.state.audit
    found = await run(english_in_changes, _saved_changes(audit, rel), rel, revision)
    if found is not None:
        return found, "audit"
    found = await run(english_in_git, _root(request), rel, revision)
    return (found, "git") if found is not None else (None, "")


def _saved_changes(audit: AuditLog, rel: str) -> Iterator[Mapping[str, Any]]:
    """The changes of the audit log's console saves of `rel`, newest first, a page at a time."""
    before: str | None = None
    read = 0
    while read < AUDIT_MOST:
        entries = audit.page(action="content_saved", target=rel, before=before, limit=AUDIT_PAGE)
        for entry in entries:
            yield entry.change
        read += len(entries)
        if len(entries) < AUDIT_PAGE:
            return
        before = entries[-1].id


async def _page(
    request: Request,
    article: Article,
    locale: str,
    written: Written | None,
    form: Form,
    *,
    errors: dict[str, list[Markup]] | None = None,
    converted: bool = False,
    done: str = "",
    conflict: Conflict | None = None,
    mine: str = "",
    status_code: int | None = None,
    warning: Markup | None = None,
) -> Response:
    english = article.source
    state: TranslationState = translation_state(written, english.revision)
    change: EnglishChange | None = None
    found_in = ""
    if state.state == "outdated" and state.source_revision is not None:
        old, found_in = await _english_then(request, article, state.source_revision)
        if old is not None:
            # Up to a few tenths of a second for a long text rewritten: off the event loop.
            change = await run(english_change, old, english.title, english.summary, english.body)
    context = {
        "article": article,
        "english": english,
        # Its relative links as they lead on the reader's page, not under /admin/.
        "english_html": links_from(
            english.html, request.app.url_path_for("article", locale="en", slug=article.slug)
        ),
        "translation_locale": locale,
        "state": state,
        "change": change,
        "change_found_in": found_in,
        "form": form,
        "errors": errors or {},
        "converted": converted,
        "done": done if done in DONE else "",
        "conflict": conflict,
        "mine": mine,
        "warning": warning,
    }
    code = status_code or (400 if errors else 200)
    return console_page(request, "console/translation.html", context, code)


async def _conflict(
    request: Request,
    article: Article,
    locale: str,
    conflict: Conflict,
    form: Form,
    text: str,
) -> Response:
    """The form again (409) with her text kept, the other change shown, and the digest of the
    file as it is now: saving again, after reading it, replaces it knowingly."""
    written = read_article(conflict.current_text) if conflict.current_text is not None else None
    kept = Form(
        form.title, form.summary, form.body, conflict.current_digest or "", form.english_revision
    )
    return await _page(
        request, article, locale, written, kept, conflict=conflict, mine=text, status_code=409
    )
