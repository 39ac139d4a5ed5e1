"""The history of the content files in the `/admin/` console (curators): the saves of one file,
newest first, each with who, when, what and its line diff (and its git commit when the content
folder is a repository); restoring the version before a change, or the one it made.

The audit log is the history (every save records the text before and after), so it works
with or without git. A restore is a save like any other (`what`: restored), refused when the
file changed since the page was opened.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import TABLE, AuditLog, Entry
from hub.content import Library
from hub.content.loader import check_article
from hub.curation.directory_form import check_entry
from hub.curation.files import (
    Conflict,
    DiffLine,
    UnsafePath,
    check_rel,
    file_digest,
    line_diff,
    read_current,
)
from hub.curation.history import is_repository
from hub.views.console.access import requires
from hub.views.console.page import console_page, gettext
from hub.views.console.saving import (
    conflict_response,
    save_content,
    save_warning,
    warning_kind,
)
from hub.views.signin import run

ACTION = "content_saved"
# Saves listed on one page of a file's history, and on the page of recent saves.
HISTORY_PAGE = 20
# Which text of a save a restore writes back: the one before it, or the one it made.
SIDES = ("before", "after")
# The longest name of a file or folder that Linux, macOS and Windows file systems take (in
# bytes; the console's names are ASCII): a longer part of a path names no file anyone can have.
NAME_MAX = 255


@dataclass(frozen=True)
class Change:
    """One save of a file as the history page shows it."""

    entry: Entry
    what: str
    diff: list[DiffLine]
    created: bool
    commit: str | None
    git_failed: bool
    # The file holds the text this save made, or the one before it (restoring it does nothing).
    after_is_current: bool
    before_is_current: bool


def what_labels(request: Request) -> dict[str, Markup]:
    """What the history page calls each kind of save (saving.WHATS), in the console's locale."""
    _ = gettext(request)
    return {
        "article_edited": _("Article edited"),
        "article_created": _("Article created"),
        "translation_saved": _("Translation saved"),
        "translation_reviewed": _("Translation reviewed"),
        "entry_edited": _("Directory entry edited"),
        "entry_created": _("Directory entry created"),
        "entry_verified": _("Directory entry verified"),
        "entry_retired": _("Directory entry retired"),
        "entry_imported": _("Directory entry imported"),
        "restored": _("Earlier version restored"),
    }


def _change(entry: Entry, current: str | None) -> Change:
    """How a save shows on the history of a file whose digest now is `current`."""
    before = entry.change.get("before")
    after = entry.change.get("after")
    commit = entry.change.get("commit")
    return Change(
        entry=entry,
        what=str(entry.change.get("what", "")),
        diff=line_diff(before if isinstance(before, str) else "", str(after or "")),
        created=before is None,
        commit=commit if isinstance(commit, str) else None,
        git_failed=bool(entry.change.get("git_failed")),
        after_is_current=_digest_of(after) == current,
        before_is_current=_digest_of(before) == current,
    )


def _digest_of(text: object) -> str | None:
    """The digest a file holding `text` would have (None for no text)."""
    return file_digest(text.encode("utf-8")) if isinstance(text, str) else None


def _rel_of(request: Request, value: str) -> str:
    """A content path from a query or form, or 400 (before the path reaches the file system:
    a name too long for it raises there, it is not refused)."""
    if any(len(part.encode("utf-8")) > NAME_MAX for part in value.split("/")):
        raise HTTPException(400)
    try:
        check_rel(value)
    except UnsafePath as exc:
        raise HTTPException(400) from exc
    return value


def _read_current(root: Path, rel: str) -> tuple[str, str] | None:
    """The file's text and digest now (None: no such file); 404 for one the console may not
    read (a symlink)."""
    try:
        return read_current(root, rel)
    except UnsafePath as exc:
        raise HTTPException(404) from exc


@requires("curator")
async def history(request: Request) -> Response:
    """One file's saves (`?path=articles/<slug>/<locale>.md` or `services/<id>.yml`), newest
    first, with their diffs and a restore form each; without a path, the latest saves of any
    file."""
    query = request.query_params
    path = query.get("path", "").strip()
    before = query.get("before", "").strip() or None
    if not path:
        return await _recent(request, before)
    rel = _rel_of(request, path)
    done = query.get("done", "")
    warning = save_warning(request, query.get("warn") or None)
    return await _file_page(request, rel, before, done=done == "restored", warning=warning)


async def _recent(request: Request, before: str | None) -> Response:
    log: AuditLog = request.app.state.audit
    page = functools.partial(log.page, action=ACTION, before=before, limit=HISTORY_PAGE + 1)
    found: list[Entry] = await run(page)
    entries = found[:HISTORY_PAGE]
    path = request.url_for("admin:history").path
    older = None
    if len(found) > HISTORY_PAGE:
        older = f"{path}?{urlencode({'before': entries[-1].id})}"
    context = {
        "rel": None,
        "entries": entries,
        "what_labels": what_labels(request),
        "older": older,
        "newest": path if before else None,
    }
    return console_page(request, "console/history.html", context)


async def _file_page(
    request: Request,
    rel: str,
    before: str | None,
    *,
    done: bool = False,
    warning: Markup | None = None,
    conflict: Conflict | None = None,
    mine: str = "",
    refused: list[str] | None = None,
) -> Response:
    state = request.app.state
    root: Path = state.settings.content_dir
    log: AuditLog = state.audit
    page = functools.partial(
        log.page, action=ACTION, target=rel, before=before, limit=HISTORY_PAGE + 1
    )
    found: list[Entry] = await run(page)
    current = await run(_read_current, root, rel)
    entries = found[:HISTORY_PAGE]
    changes = [_change(entry, current[1] if current else None) for entry in entries]
    path = request.url_for("admin:history").path
    older = None
    if len(found) > HISTORY_PAGE:
        older = f"{path}?{urlencode({'path': rel, 'before': entries[-1].id})}"
    context: dict[str, Any] = {
        "rel": rel,
        "changes": changes,
        "exists": current is not None,
        "digest": current[1] if current is not None else "",
        "git": is_repository(root),
        "what_labels": what_labels(request),
        "done": done,
        "warning": warning,
        "refused": refused or [],
        "older": older,
        "newest": f"{path}?{urlencode({'path': rel})}" if before else None,
    }
    if conflict is not None:
        context["conflict_form"] = False
        return conflict_response(request, "console/history.html", context, conflict, mine)
    return console_page(request, "console/history.html", context, 400 if refused else 200)


async def _entry(request: Request, rel: str, entry_id: str) -> Entry | None:
    """The save `entry_id` of file `rel`, or None."""
    log: AuditLog = request.app.state.audit
    where = {"id": entry_id, "action": ACTION, "target": rel}
    docs = await run(functools.partial(log.store.page, TABLE, where, limit=1))
    return Entry.from_document(docs[0]) if docs else None


def restore_problems(
    root: Path, library: Library, rel: str, text: str, today: dt.date, source_max_age_years: int
) -> list[str]:
    """The errors `hub check` would find in content file `rel` if it held `text` (none: it may
    be written), with the same code the article and directory editors check with."""
    parts = rel.split("/")
    if parts[0] == "articles":
        slug, locale = parts[1], parts[2].removesuffix(".md")
        found = check_article(
            root,
            library,
            slug,
            text,
            today,
            source_max_age_years=source_max_age_years,
            locale=locale,
        )
        return [problem.message for problem in found if problem.level == "error"]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return ["cannot be read as YAML"]
    if not isinstance(data, dict):
        return ["is not a mapping of fields"]
    service_id = parts[1].removesuffix(".yml")
    checked = check_entry(
        service_id, data, library, today, source_max_age_years=source_max_age_years
    )
    return list(checked.errors.values())


@requires("curator")
async def restore(request: Request) -> Response:
    """Write back the text before a save (`side=before`) or the one it made (`side=after`),
    through save_content (what: restored), if the file is still as the page showed it
    (`digest`; empty: it did not exist); a conflict is shown on the history page (409)."""
    form = await request.form()
    rel = _rel_of(request, str(form.get("path", "")).strip())
    side = str(form.get("side", ""))
    entry_id = str(form.get("entry", "")).strip()
    if side not in SIDES or not entry_id:
        raise HTTPException(400)
    entry = await _entry(request, rel, entry_id)
    if entry is None:
        raise HTTPException(404)
    text = entry.change.get(side)
    if not isinstance(text, str):
        # The version before a file's first save is no file: a restore never deletes one.
        raise HTTPException(400)
    expected = str(form.get("digest", "")).strip() or None
    state = request.app.state
    settings = state.settings
    check = functools.partial(
        restore_problems,
        settings.content_dir,
        state.library,
        rel,
        text,
        dt.date.today(),
        settings.source_max_age_years,
    )
    problems: list[str] = await run(check)
    if problems:
        # An older version may name a topic, a page or a number the site no longer has: it
        # is not written, as no console save that `hub check` would refuse is.
        return await _file_page(request, rel, None, refused=problems)
    try:
        await save_content(
            request,
            rel,
            text,
            expected=expected,
            what="restored",
            extra={"restored_from": entry.id, "restored_side": side},
        )
    except Conflict as conflict:
        return await _file_page(request, rel, None, conflict=conflict, mine=text)
    except UnsafePath as exc:
        # A symlink now where the file was: the console writes no file it may not read.
        raise HTTPException(404) from exc
    query = {"path": rel, "done": "restored"}
    kind = warning_kind(request)
    if kind is not None:
        query["warn"] = kind
    target = f"{request.url_for('admin:history').path}?{urlencode(query)}"
    return RedirectResponse(target, 303)
