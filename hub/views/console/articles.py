"""The articles of the `/admin/` console (issue 12, point 2): the list of every article of the
content folder, drafts included, with filters; one article's English as a form, with a
preview by the readers' renderer and the check `hub check` makes; and a new article.

Curators edit and create; a translator may open the list and an article's page to reach its
translations, and nothing more (her POST is a 403). What an article may hold is decided by
the loader's own code (hub/curation/articles.py's `check`); a save goes through
hub/views/console/saving.py's `save_content`, which refuses a file changed since the form
was opened.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound

from hub.content import Library
from hub.content import fields as f
from hub.content.markdown import links_from, render_markdown
from hub.curation.articles import (
    FILTER_TEXT_MAX,
    STATUSES,
    ArticleFiles,
    ArticleForm,
    Filters,
    Reason,
    article_slugs,
    body_of_form,
    check,
    filter_rows,
    form_of_text,
    slug_reasons,
    usable_slug,
)
from hub.curation.files import UnsafePath, content_path, file_digest, read_file
from hub.curation.translations import STATES
from hub.views.console.access import holds, requires
from hub.views.console.articles_form import (
    countries_of,
    errors_of,
    form_choices,
    form_of_post,
    source_rows,
)
from hub.views.console.page import console_page, gettext
from hub.views.console.saving import Conflict, conflict_response, save_content, save_warning
from hub.views.console.scope import locales_of, signed_in
from hub.views.signin import run

# Articles on one page of the list.
PAGE_SIZE = 50
# What an article's page says after a save (`?done=`).
DONE = frozenset({"saved", "created"})


def _root(request: Request) -> Path:
    root: Path = request.app.state.settings.content_dir
    return root


def _article_files(request: Request) -> ArticleFiles:
    """The app's one ArticleFiles (made on first use: the lifespan need not know of it)."""
    state = request.app.state
    files: ArticleFiles | None = getattr(state, "article_files", None)
    if files is None:
        files = state.article_files = ArticleFiles()
    return files


def _is_curator(request: Request) -> bool:
    return holds(signed_in(request), ["curator"])


def _preview(request: Request, slug: str, body: str) -> str:
    """The body as readers will see it, its relative links leading where they will on its page."""
    # Relative links resolve from the page's folder, the same for every article: a new article's
    # slug may not be a valid one yet (it is refused beside the form).
    name = slug if f.SLUG.match(slug) else "x"
    page = request.app.url_path_for("article", locale="en", slug=name)
    return links_from(render_markdown(body_of_form(body)).html, page)


@requires("translator")
async def articles(request: Request) -> Response:
    """Every article of the content folder, drafts included, with its English state and its
    translations' states; filtered by topic, status, country and text, a page at a time."""
    library: Library = request.app.state.library
    _ = gettext(request)
    params = request.query_params
    filters = Filters(
        topic=params.get("topic", "").strip(),
        status=params.get("status", "").strip(),
        # In capitals, as the directory's form reads a country typed in lower case.
        country=params.get("country", "").strip().upper(),
        text=params.get("q", "").strip(),
    )
    problems = []
    if filters.topic and library.topic(filters.topic) is None:
        problems.append(_("This is not a topic of the hub: %(value)s", value=filters.topic))
    if filters.status and filters.status not in STATUSES:
        problems.append(_("An article is either published or a draft."))
    if filters.country and filters.country not in countries_of(library):
        problems.append(_("This is not a country of the hub: %(value)s", value=filters.country))
    if len(filters.text) > FILTER_TEXT_MAX:
        problems.append(_("Search for at most %(num)s characters.", num=FILTER_TEXT_MAX))
    page_text = params.get("page", "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() else 0
    if page < 1:
        problems.append(_("This is not a page of the list."))
    locales = [code for code in library.site.locales if code != "en"]
    own = set(locales_of(signed_in(request)))
    found = [] if problems else await run(_article_files(request).rows, _root(request), locales)
    rows = filter_rows(found, filters)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if not problems and page > pages:
        problems.append(_("This is not a page of the list."))
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE] if not problems else []
    query = {
        key: value
        for key, value in (
            ("topic", filters.topic),
            ("status", filters.status),
            ("country", filters.country),
            ("q", filters.text),
        )
        if value
    }
    context: dict[str, Any] = {
        "rows": shown,
        "total": len(rows),
        "filters": filters,
        "problems": problems,
        "page": page,
        "pages": pages,
        "query": query,
        "page_url": lambda number: "?" + urlencode({**query, "page": number}),
        "locales_shown": [code for code in locales if code in own],
        "statuses": STATUSES,
        "states": STATES,
        "curator": _is_curator(request),
        "translation_url": lambda slug, code: translation_url(request, slug, code),
        **form_choices(library),
    }
    return console_page(request, "console/articles.html", context, 400 if problems else 200)


def translation_url(request: Request, slug: str, locale: str) -> str:
    """The side-by-side translation page of an article in a locale."""
    try:
        return str(request.url_for("admin:article_translation", slug=slug, locale=locale).path)
    except NoMatchFound:
        return f"{request.app.url_path_for('admin:articles')}/{slug}/{locale}"


def _article_context(
    request: Request,
    slug: str | None,
    form: ArticleForm,
    saved: ArticleForm | None = None,
    **more: Any,
) -> dict[str, Any]:
    """What article_edit.html reads: `form` fills the fields, `saved` (the file as it is;
    `form` when None) the page's heading and facts."""
    library: Library = request.app.state.library
    locales = [code for code in library.site.locales if code != "en"]
    own = set(locales_of(signed_in(request)))
    context: dict[str, Any] = {
        "slug": slug,
        "form": form,
        "saved": saved or form,
        "source_rows": source_rows(form),
        "statuses": STATUSES,
        "curator": _is_curator(request),
        "published_page": slug is not None and slug in library.articles,
        "translations": [
            (code, translation_url(request, slug, code)) for code in locales if code in own
        ]
        if slug
        else [],
        "errors": {},
        "warnings": [],
        "preview": None,
        "checked": False,
        "save_warning": None,
        "conflict": None,
        "done": None,
        "digest": "",
        "new_slug": "",
        **form_choices(library),
    }
    context.update(more)
    return context


def _read(root: Path, rel: str) -> tuple[str, str]:
    """The text and digest of an article file; one that is not UTF-8 is read with its
    undecodable bytes replaced, so the form can mend it. 404 for a path the console may not
    read (a symlink)."""
    try:
        return read_file(root, rel)
    except UnsafePath as exc:
        raise HTTPException(404) from exc
    except UnicodeDecodeError:
        data = content_path(root, rel).read_bytes()
        text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        return text, file_digest(data)


def _slug_of(request: Request) -> str:
    """The article of the path; 404 when the folder holds no such article."""
    slug = str(request.path_params["slug"])
    if not f.SLUG.match(slug) or slug not in article_slugs(_root(request)):
        raise HTTPException(404)
    return slug


@requires("translator")
async def article(request: Request) -> Response:
    """One article's English: its front matter as fields, its body, its translations; POST
    (curators) `action=preview` shows it as readers will and what `hub check` finds, writing
    nothing; `action=save` writes it when `hub check` finds no error."""
    slug = await run(_slug_of, request)
    rel = f"articles/{slug}/en.md"
    if request.method == "GET":
        text, digest = await run(_read, _root(request), rel)
        done = request.query_params.get("done", "")
        context = _article_context(
            request,
            slug,
            form_of_text(text),
            digest=digest,
            done=done if done in DONE else None,
        )
        return console_page(request, "console/article_edit.html", context)
    if not _is_curator(request):
        raise HTTPException(403)
    sent = await request.form()
    action = str(sent.get("action", ""))
    if action not in ("preview", "save"):
        raise HTTPException(400)
    form = form_of_post(sent)
    digest = str(sent.get("digest", ""))
    current, _digest_now = await run(_read, _root(request), rel)
    return await _checked(request, slug, rel, current, form, digest, action)


@requires("curator")
async def article_new(request: Request) -> Response:
    """A new article: its address (slug) and the same fields; written as
    `articles/<slug>/en.md`. `updated` is today unless she says otherwise."""
    if request.method == "GET":
        form = ArticleForm(updated=dt.date.today().isoformat(), status="draft")
        context = _article_context(request, None, form, digest="", new_slug="")
        return console_page(request, "console/article_edit.html", context)
    sent = await request.form()
    action = str(sent.get("action", ""))
    if action not in ("preview", "save"):
        raise HTTPException(400)
    form = form_of_post(sent)
    slug = str(sent.get("slug", "")).strip()
    reasons = await run(slug_reasons, _root(request), slug)
    rel = f"articles/{slug}/en.md"
    return await _checked(request, slug, rel, None, form, "", action, slug_problems=reasons)


async def _checked(
    request: Request,
    slug: str,
    rel: str,
    current: str | None,
    form: ArticleForm,
    digest: str,
    action: str,
    *,
    slug_problems: list[Reason] | None = None,
) -> Response:
    """Check the form's article as `hub check` would; show it (preview, or refused: 400), or
    save it and go to its page."""
    new = current is None
    library: Library = request.app.state.library
    settings = request.app.state.settings
    # The fields are checked even under a slug that cannot be used (then as an article at a
    # reserved address no folder holds), so every reason shows at once. A refused slug never
    # names a path: one longer than the file system takes would fail there, not be refused.
    usable = not new or (usable_slug(slug) and not slug_problems)
    checked_slug = slug if usable else "new"
    text, found, warnings = await run(
        functools.partial(
            check,
            _root(request),
            library,
            checked_slug,
            current,
            form,
            source_max_age_years=settings.source_max_age_years,
        )
    )
    errors = [*(slug_problems or []), *found]
    template = "console/article_edit.html"
    more: dict[str, Any] = {"digest": digest, "checked": True, "warnings": warnings}
    if current is not None:
        more["saved"] = form_of_text(current)
    if new:
        more["new_slug"] = slug
    if action == "preview" or errors:
        context = _article_context(
            request,
            None if new else slug,
            form,
            errors=errors_of(request, errors),
            preview=_preview(request, slug, form.body) if action == "preview" else None,
            **more,
        )
        return console_page(request, template, context, 400 if errors else 200)
    what = "article_created" if new else "article_edited"
    try:
        await save_content(request, rel, text, expected=digest or None, what=what)
    except Conflict as conflict:
        context = _article_context(request, None if new else slug, form, **more)
        context["digest"] = conflict.current_digest or ""
        return conflict_response(request, template, context, conflict, text)
    except UnicodeDecodeError:
        # The save layer keeps the text before in the audit log, and this file has none.
        refused = [Reason("form", "not_utf8")]
        context = _article_context(request, slug, form, errors=errors_of(request, refused), **more)
        return console_page(request, template, context, 400)
    warning = save_warning(request)
    if warning is not None:
        # Part of the save failed (git, the reload): say so now, on the page as saved.
        saved, digest_now = await run(_read, _root(request), rel)
        context = _article_context(
            request, slug, form_of_text(saved), digest=digest_now, save_warning=warning
        )
        return console_page(request, template, context)
    path = request.url_for("admin:article", slug=slug).path
    done = "created" if new else "saved"
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", 303)
