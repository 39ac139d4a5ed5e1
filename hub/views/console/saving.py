"""`save_content`: the one way a console view writes a content file, and how a view shows a
save refused because the file changed since its form was opened (`conflict_response`).

A save writes the file atomically if its digest is still the one the form was opened with,
commits it to git when the content folder is a repository, records it in the audit log with
the text before and after, and reloads the content in the running server (hub/reload.py), so
the next request shows it: the response cache forgets, the search indexes, packs and the
service worker's version follow. Saves run one at a time in this process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hub.audit import AuditLog
from hub.curation.files import Conflict, UnsafePath, Written, write_file
from hub.curation.history import GitError, author_of, commit_file, is_repository
from hub.reload import reload_content
from hub.views.console.page import console_page, gettext
from hub.views.console.scope import signed_in

__all__ = [
    "Conflict",
    "SaveOutcome",
    "UnsafePath",
    "conflict_response",
    "last_save",
    "save_content",
    "save_warning",
    "saving_many",
    "warning_kind",
]

log = logging.getLogger(__name__)

# What `what` may be: the kinds of change the console makes (the history page words them).
WHATS = frozenset(
    {
        "article_edited",
        "article_created",
        "translation_saved",
        "translation_reviewed",
        "entry_edited",
        "entry_created",
        "entry_verified",
        "entry_retired",
        "entry_imported",
        "restored",
    }
)
# Where the request keeps what its save did (`last_save`).
SAVED = "hub.saved"
# Where a request saving many files (`saving_many`) keeps the paths saved but not yet reloaded.
BATCH = "hub.save_batch"


@dataclass(frozen=True)
class SaveOutcome:
    """What one save did: the file's new digest, its git commit (None when the folder is no
    repository or the file did not change), and whether the commit failed (the file is saved
    all the same) or the reload did (the site shows the change from the next reload)."""

    rel: str
    digest: str
    commit: str | None
    git_failed: bool
    reload_failed: bool


def _save_lock(request: Request) -> asyncio.Lock:
    """The app's one lock for saves (made on first use: the lifespan need not know of it)."""
    state = request.app.state
    lock: asyncio.Lock | None = getattr(state, "save_lock", None)
    if lock is None:
        lock = state.save_lock = asyncio.Lock()
    return lock


async def save_content(
    request: Request,
    rel: str,
    text: str,
    *,
    expected: str | None,
    what: str,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Write content file `rel` (e.g. `services/ph-dmw-hotline.yml`) if its digest is still
    `expected` (None: it must not exist yet), commit it to git when the content folder is a
    repository, audit it (`content_saved`, with the text before and after) and reload the
    content; the new digest. Line ends are written as LF. Conflict when the file changed;
    UnsafePath for a path the console may not write. `extra`: more fields for the audit
    entry's change (a restore's source). `last_save(request)` tells what else happened (a
    failed commit)."""
    if what not in WHATS:
        raise ValueError(f"{what!r} is not a kind of content change")
    # A browser sends a textarea's lines ended by CR LF: the files end theirs with LF alone.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    account = signed_in(request)
    state = request.app.state
    root: Path = state.settings.content_dir
    audit: AuditLog = state.audit
    async with _save_lock(request):
        written: Written = await anyio.to_thread.run_sync(
            functools.partial(write_file, root, rel, text, expected=expected)
        )
        commit, git_failed = await anyio.to_thread.run_sync(
            functools.partial(_commit, root, written, account.display_name, account.id, what)
        )
        change: dict[str, Any] = {
            **(extra or {}),
            "path": rel,
            "what": what,
            "before": written.before,
            "after": text,
            "commit": commit,
        }
        if git_failed:
            change["git_failed"] = True
        try:
            await anyio.to_thread.run_sync(
                functools.partial(
                    audit.record, "content_saved", actor=account.email, target=rel, change=change
                )
            )
        finally:
            # The file is written whatever the audit log did: serve what is on disk.
            batch: list[str] | None = request.scope.get(BATCH)
            if batch is None:
                reload_failed = not await _reload(request, rel)
            else:
                batch.append(rel)
                reload_failed = False
    request.scope[SAVED] = SaveOutcome(rel, written.digest, commit, git_failed, reload_failed)
    return written.digest


@asynccontextmanager
async def saving_many(request: Request) -> AsyncIterator[None]:
    """Within it, this request's saves reload the content once, at the end, instead of once
    each (half a second each on the starter content): for an import of many files. Each save
    is still written, committed and audited on its own."""
    batch: list[str] = []
    request.scope[BATCH] = batch
    try:
        yield
    finally:
        del request.scope[BATCH]
        if batch and not await _reload(request, f"{len(batch)} files"):
            outcome = last_save(request)
            if outcome is not None:
                request.scope[SAVED] = replace(outcome, reload_failed=True)


def _commit(
    root: Path, written: Written, name: str, account_id: str, what: str
) -> tuple[str | None, bool]:
    """The commit of a written file (None: no repository, or nothing changed) and whether git
    failed; a failure is logged, never raised: the file is saved."""
    if not is_repository(root):
        return None, False
    try:
        commit = commit_file(
            root,
            written.rel,
            author=author_of(name, account_id),
            message=f"{what} {written.rel}",
        )
    except GitError as exc:
        log.warning("content saved but not committed to git: %s: %s", written.rel, exc)
        return None, True
    return commit, False


async def _reload(request: Request, rel: str) -> bool:
    """Reload the content after saving `rel`; False (logged) when the reload failed."""
    try:
        await reload_content(request.app, cause=f"console save of {rel}")
    except Exception:
        log.exception("content reload after saving %s failed; the content before is served", rel)
        return False
    return True


def last_save(request: Request) -> SaveOutcome | None:
    """What this request's save did (None before a save)."""
    outcome: SaveOutcome | None = request.scope.get(SAVED)
    return outcome


def warning_kind(request: Request) -> str | None:
    """What went wrong in this request's save, as a word a redirect can carry (`?warn=`):
    "reload", "git", or None when all went well (or nothing was saved)."""
    outcome = last_save(request)
    if outcome is None:
        return None
    if outcome.reload_failed:
        return "reload"
    return "git" if outcome.git_failed else None


def save_warning(request: Request, kind: str | None = None) -> Markup | None:
    """What to tell the curator when part of a save failed (the file itself is saved), in the
    console's locale: of this request's save, or of `kind` (a warning_kind a redirect carried);
    None when all went well."""
    kind = kind or warning_kind(request)
    _ = gettext(request)
    if kind == "reload":
        return _(
            "The change is saved in the file, but the site could not load it yet: readers see "
            "the version before until the content is reloaded. The server log says why."
        )
    if kind == "git":
        return _(
            "The change is saved and readers see it, but it could not be committed to git. "
            "The server log says why; commit the file by hand."
        )
    return None


def conflict_response(
    request: Request,
    template: str,
    context: dict[str, Any],
    conflict: Conflict,
    mine: str,
) -> HTMLResponse:
    """The form's page again, answered 409, with the other change shown: `template` includes
    console/_conflict.html, which reads `conflict` and `mine` (the text the user tried to
    save). Put `conflict.current_digest` in the form's `digest` field: saving again then
    replaces the other change knowingly."""
    return console_page(
        request, template, {**context, "conflict": conflict, "mine": mine}, status_code=409
    )
