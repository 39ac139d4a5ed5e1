"""Importing directory entries from CSV in the `/admin/` console (curators): the columns are
on the page; a dry run lists every row's problems (row, column, message) and writes nothing;
only a clean file is imported, each entry a new file written through `save_content`.

The file is sent as a file of a multipart form (the one console form that may be:
hub/console_guard.py), or its text in the form's text box (pasted; a chosen file is also read
into it by the page's script, so she sees it). The import step checks the text again as the
dry run did, so what is written is what was shown."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.content import Library
from hub.content.text import fields_in_unicode as burmese_in_unicode
from hub.curation import directory as d
from hub.curation import directory_csv as dc
from hub.curation.files import Conflict
from hub.curation.yamltext import new_mapping
from hub.views.console.access import requires
from hub.views.console.directory import content_root
from hub.views.console.page import console_page
from hub.views.console.saving import save_content, save_warning, saving_many, warning_kind
from hub.views.signin import run

TEMPLATE = "console/directory_import.html"


@requires("curator")
async def directory_import(request: Request) -> Response:
    """The import page (GET); its dry run (POST `action=check`), and the import of a clean
    file (POST `action=import`): 400 with every problem when it is not clean."""
    library: Library = request.app.state.library
    context: dict[str, Any] = {
        "columns": dc.columns(library.site.locales),
        "required": dc.REQUIRED,
        "max_kb": dc.MAX_BYTES // 1024,
        "max_rows": dc.MAX_ROWS,
        "csv": "",
        "result": None,
        "imported": [],
        "save_warning": None,
        "not_utf8": None,
    }
    if request.method == "GET":
        return console_page(request, TEMPLATE, context)
    form = await request.form()
    action = form.get("action")
    text = form.get("csv")
    chosen = form.get("file")
    if action not in ("check", "import") or not isinstance(text, (str, type(None))):
        raise HTTPException(400)
    if isinstance(chosen, UploadFile) and chosen.filename:
        # A file chosen without JavaScript: its text stands for the box's.
        raw = await chosen.read(dc.MAX_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            context["not_utf8"] = chosen.filename
            return console_page(request, TEMPLATE, context, 400)
    if text is None:
        raise HTTPException(400)
    # Pasted text keeps a spreadsheet's byte order mark (a chosen file's goes in decoding).
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")
    root = content_root(request)
    age: int = request.app.state.settings.source_max_age_years
    checking = functools.partial(dc.dry_run, source_max_age_years=age, burmese=burmese_in_unicode)
    result = await run(checking, text, library, d.entry_files(root).keys(), dt.date.today())
    context.update(csv=text, result=result)
    if not result.clean:
        return console_page(request, TEMPLATE, context, 400)
    if action == "check":
        return console_page(request, TEMPLATE, context)
    imported: list[str] = []
    appeared: list[str] = []
    # One reload at the end, not one per entry: each entry is still its own save and commit.
    async with saving_many(request):
        for service_id, data in dc.entries(result):
            try:
                await save_content(
                    request,
                    f"services/{service_id}.yml",
                    new_mapping(data),
                    expected=None,
                    what="entry_imported",
                )
            except Conflict:
                # Made by someone else since the check: never overwritten; the rest go on.
                appeared.append(service_id)
                continue
            imported.append(service_id)
    if appeared:
        context.update(imported=imported, appeared=appeared)
        context["save_warning"] = save_warning(request)
        return console_page(request, TEMPLATE, context, 409)
    query = {"imported": str(len(imported))}
    warn = warning_kind(request)
    if warn is not None:
        query["warn"] = warn
    path = request.app.url_path_for("admin:directory")
    return RedirectResponse(f"{path}?{urlencode(query)}", 303)
