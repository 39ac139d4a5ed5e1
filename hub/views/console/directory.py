"""The directory in the `/admin/` console (curators; issue 12, point 4): every entry with its
verification state and filters, one entry's form with every field of the content format, "I
verified this today", retiring, a new entry, and the phone check the form's script asks for as
she types. Importing from CSV is hub/views/console/directory_import.py.

The checks are `hub check`'s (hub/curation/directory.py and directory_form.py); every write is
hub/views/console/saving.py's `save_content`, on the file as it is, through yamltext (so the
keys the form does not change keep their order and comments)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from ruamel.yaml.error import YAMLError as RoundTripError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from hub.audit import AuditLog
from hub.content import Library
from hub.content.model import SERVICE_KINDS
from hub.content.text import fields_in_unicode as burmese_in_unicode
from hub.content.text import has_myanmar
from hub.curation import directory as d
from hub.curation import directory_form as df
from hub.curation.files import Conflict, file_digest, read_current
from hub.curation.yamltext import edit_mapping, new_mapping
from hub.views.console.access import requires
from hub.views.console.page import console_page, gettext
from hub.views.console.saving import (
    conflict_response,
    save_content,
    save_warning,
    warning_kind,
)
from hub.views.console.scope import public_name, signed_in
from hub.views.signin import run

FILTERS = ("corridor", "kind", "verification", "q")
MAX_QUERY = 100
# What an entry's page says after a step (`?done=`).
DONE = frozenset({"edited", "verified", "created", "retired", "imported"})
ENTRY_TEMPLATE = "console/directory_entry.html"
# What a redirect after a save may carry in `?warn=` (saving.warning_kind).
WARNINGS = frozenset({"reload", "git"})
# The fields of the "I verified this today" form.
VERIFY_FIELDS = frozenset({"source_url", "source_date", "numbers", "verified_note", "sources"})
# How many of a file's latest saves a conflict on the verify form looks through for the text
# the form was opened on (the change that came between is nearly always the last one or two).
OPENED_LOOKBACK = 20


def content_root(request: Request) -> Path:
    """The content folder the app serves."""
    root: Path = request.app.state.settings.content_dir
    return root


def _settings_age(request: Request) -> int:
    age: int = request.app.state.settings.source_max_age_years
    return age


def _chosen(request: Request, name: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = request.query_params.get(name, "")
    if value and value not in allowed:
        raise HTTPException(400)
    return value


@requires("curator")
async def directory_list(request: Request) -> Response:
    """Every entry, with its kind, countries, corridors and verification state, filtered by
    corridor, kind, state and a text; the retired entries apart."""
    library: Library = request.app.state.library
    corridors = library.site.corridors()
    filters = {
        "corridor": _chosen(request, "corridor", corridors),
        "kind": _chosen(request, "kind", SERVICE_KINDS),
        "verification": _chosen(request, "verification", d.ENTRY_STATES),
        "q": request.query_params.get("q", "").strip(),
    }
    if len(filters["q"]) > MAX_QUERY or any(ord(c) < 32 for c in filters["q"]):
        raise HTTPException(400)
    imported = request.query_params.get("imported", "")
    today = dt.date.today()
    listing = functools.partial(d.directory, source_max_age_years=_settings_age(request))
    rows, retired = await run(listing, library, content_root(request), today)
    counts = {state: sum(1 for r in rows if r.state == state) for state in d.ENTRY_STATES}
    context: dict[str, Any] = {
        "rows": d.filtered(
            rows,
            corridor=filters["corridor"] or None,
            kind=filters["kind"] or None,
            state=filters["verification"] or None,
            text=filters["q"] or None,
        ),
        "retired": d.retired_filtered(
            retired, kind=filters["kind"] or None, text=filters["q"] or None
        ),
        "total": len(rows),
        # How many entries an import just wrote (the import's redirect says it).
        "imported": int(imported) if imported.isdigit() and len(imported) < 5 else None,
        "save_warning": save_warning(request, carried_warning(request)),
        "counts": counts,
        "filters": filters,
        "choices": {
            "corridor": tuple(corridors),
            "kind": d.kinds(),
            "verification": d.ENTRY_STATES,
        },
    }
    return console_page(request, "console/directory.html", context)


def carried_warning(request: Request) -> str | None:
    """The save warning a redirect carried (`?warn=`), if it is one."""
    warn = request.query_params.get("warn")
    return warn if warn in WARNINGS else None


def _entry_path(request: Request, service_id: str) -> Path:
    path = d.entry_files(content_root(request)).get(service_id)
    if path is None:
        raise HTTPException(404)
    return path


def _rel(path: Path) -> str:
    return f"services/{path.name}"


def _current(request: Request, path: Path) -> tuple[str, str, dict[str, Any]]:
    found = read_current(content_root(request), _rel(path))
    if found is None:
        raise HTTPException(404)
    text, digest = found
    return text, digest, _data_of(text)


def _data_of(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    return data if isinstance(data, dict) else {}


def _form_values(form: FormData) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _rows(values: dict[str, str], group: str) -> list[int]:
    """The numbered rows the form shows: those that hold something and one empty more."""
    used = df.rows_of(values, group)
    return [*used, (used[-1] if used else 0) + 1]


def entry_context(
    request: Request,
    service_id: str,
    values: dict[str, str],
    *,
    data: dict[str, Any],
    digest: str,
    errors: dict[str, str] | None = None,
    warnings: list[str] | None = None,
    new: bool = False,
) -> dict[str, Any]:
    """What console/directory_entry.html reads."""
    library: Library = request.app.state.library
    service = library.services.get(service_id)
    numbers = [df.scalar(data.get(key)) for key in df.PHONE_FIELDS if data.get(key) is not None]
    done = request.query_params.get("done", "")
    return {
        "service_id": service_id,
        "service": service,
        "new": new,
        "values": values,
        "data": data,
        "digest": digest,
        "errors": errors or {},
        "warnings": warnings or [],
        "state": (
            d.state_of(service, dt.date.today(), data.get("last_verified_on"))
            if service is not None
            else None
        ),
        "retired": data.get("retired_on") is not None,
        "numbers": numbers,
        # hub check verifies only an entry that has one of these: the form is not offered
        # where it cannot succeed.
        "verifiable": any(data.get(key) is not None for key in ("phone", "short_number")),
        "kinds": d.kinds(),
        "costs": df.COSTS,
        "source_rows": _rows(values, "source"),
        "chat_rows": _rows(values, "chat"),
        "done": done if done in DONE else None,
        "save_warning": save_warning(request, carried_warning(request)),
        "linked": d.linking_articles(library, service_id) if not new else [],
        "verify": {},
        "verify_errors": {},
        "retire_errors": {},
        "today": dt.date.today(),
    }


def _done(request: Request, service_id: str, done: str) -> Response:
    path = request.url_for("admin:directory_entry", service_id=service_id).path
    query = {"done": done}
    warn = warning_kind(request)
    if warn is not None:
        # The file is saved but git or the reload failed: the page says so.
        query["warn"] = warn
    return RedirectResponse(f"{path}?{urlencode(query)}", 303)


async def _saved(
    request: Request,
    service_id: str,
    rel: str,
    text: str,
    *,
    expected: str | None,
    what: str,
    done: str,
    context: dict[str, Any],
) -> Response:
    """Save through save_content; a conflict is the form again (409) with the other change."""
    try:
        await save_content(request, rel, text, expected=expected, what=what)
    except Conflict as conflict:
        # The page's forms carry the file's digest now: sending again replaces the other
        # change knowingly, as on the articles' and translations' conflict pages.
        context["digest"] = conflict.current_digest or ""
        return conflict_response(request, ENTRY_TEMPLATE, context, conflict, text)
    return _done(request, service_id, done)


def _check(request: Request, service_id: str, data: dict[str, Any]) -> df.Checked:
    library: Library = request.app.state.library
    age = _settings_age(request)
    return df.check_entry(service_id, data, library, dt.date.today(), source_max_age_years=age)


def _written_check(
    service_id: str, text: str, expected: dict[str, Any], library: Library, age: int
) -> df.Checked:
    """The check of the text about to be written, as the loader will read it: a value that
    would not read back as it was typed is refused here rather than written."""
    read = yaml.safe_load(text)
    if not isinstance(read, dict) or not df.same(read, expected):
        return df.Checked(errors={"entry": "this entry cannot be written as typed"})
    return df.check_entry(service_id, read, library, dt.date.today(), source_max_age_years=age)


async def _burmese(
    request: Request, values: dict[str, str], context: dict[str, Any]
) -> Response | None:
    """Burmese typed in Zawgyi, as alerts and translations handle it: converted to Unicode and
    the form shown again to read (200, nothing written), or refused where the conversion is not
    sure (400); None when every text is Unicode already."""
    fields = {name: value for name, value in values.items() if has_myanmar(value)}
    if not fields:
        return None
    kept, unsure = await run(burmese_in_unicode, fields)
    _ = gettext(request)
    if unsure:
        # The words the translation page says it in (one entry in the catalogs).
        refused = _(
            "This Burmese text seems to be typed in Zawgyi, and the hub cannot convert it "
            "surely. Please type it in Unicode (for example with your phone's Myanmar "
            "keyboard) so that every phone can read it."
        )
        context["errors"] = {**context["errors"], **dict.fromkeys(unsure, refused)}
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    if kept == fields:
        return None
    context["values"] = {**values, **kept}
    context["converted"] = True
    context["errors"], context["warnings"] = {}, []
    return console_page(request, ENTRY_TEMPLATE, context)


@requires("curator")
async def entry(request: Request) -> Response:
    """One entry's form (GET), and saving it (POST): 400 with the reasons next to the fields
    when `hub check` would refuse it, 409 when the file changed since the form was opened."""
    service_id = str(request.path_params["service_id"])
    library: Library = request.app.state.library
    locales = library.site.locales
    path = _entry_path(request, service_id)
    text, digest, data = await run(_current, request, path)
    if request.method == "GET":
        values = df.form_values(data, locales)
        checked = _check(request, service_id, data)
        context = entry_context(
            request,
            service_id,
            values,
            data=data,
            digest=digest,
            errors=checked.errors,
            warnings=checked.warnings,
        )
        return console_page(request, ENTRY_TEMPLATE, context)
    form = await request.form()
    values = _form_values(form)
    sent_digest = values.get("digest", "")
    shown = entry_context(request, service_id, values, data=data, digest=sent_digest)
    burmese = await _burmese(request, values, shown)
    if burmese is not None:
        return burmese
    wanted, errors = df.entry_data(values, locales, data)
    changed = df.changes(data, wanted)
    merged = df.applied(data, changed)
    checked = df.Checked(errors=errors)
    new_text = text
    if not errors:
        checked = _check(request, service_id, merged)
    if checked.ok and changed:
        new_text = edit_mapping(text, changed)
        checked = _written_check(service_id, new_text, merged, library, _settings_age(request))
    context = entry_context(
        request,
        service_id,
        values,
        data=data,
        digest=sent_digest,
        errors=checked.errors,
        warnings=checked.warnings,
    )
    if not checked.ok:
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    if not changed:
        return _done(request, service_id, "edited")
    return await _saved(
        request,
        service_id,
        _rel(path),
        new_text,
        expected=sent_digest,
        what="entry_edited",
        done="edited",
        context=context,
    )


@requires("curator")
async def entry_new(request: Request) -> Response:
    """A new entry's form, and writing it: its id checked as the loader checks file names and
    refused when an entry (retired ones too) has it."""
    library: Library = request.app.state.library
    locales = library.site.locales
    if request.method == "GET":
        values = {"cost": "unknown", "verification": "needed"}
        context = entry_context(request, "", values, data={}, digest="", new=True)
        return console_page(request, ENTRY_TEMPLATE, context)
    form = await request.form()
    values = _form_values(form)
    service_id = values.get("id", "").strip()
    shown = entry_context(request, service_id, values, data={}, digest="", new=True)
    burmese = await _burmese(request, values, shown)
    if burmese is not None:
        return burmese
    wanted, errors = df.entry_data(values, locales)
    taken = d.entry_files(content_root(request))
    problem = df.id_problem(service_id, taken)
    checked = df.Checked(errors=errors)
    text = ""
    if not errors and problem is None:
        checked = _check(request, service_id, wanted)
        if checked.ok:
            text = new_mapping(wanted)
            checked = _written_check(service_id, text, wanted, library, _settings_age(request))
    if problem is not None:
        checked.errors["id"] = problem
    context = entry_context(
        request,
        service_id,
        values,
        data={},
        digest="",
        errors=checked.errors,
        warnings=checked.warnings,
        new=True,
    )
    if not checked.ok:
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    return await _saved(
        request,
        service_id,
        f"services/{service_id}.yml",
        text,
        expected=None,
        what="entry_created",
        done="created",
        context=context,
    )


def verifier_name(request: Request) -> str:
    """Who verified: the account's display name (it is written into a public file, so never
    the email address), or its id when it has no name."""
    return public_name(signed_in(request))


def _verification(
    request: Request, data: dict[str, Any], values: dict[str, str], ticked: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    return d.verification_changes(
        data,
        url=values.get("source_url", ""),
        page_date=values.get("source_date", ""),
        numbers=ticked,
        note=values.get("note", ""),
        who=verifier_name(request),
        today=dt.date.today(),
    )


def _opened_text(audit: AuditLog, rel: str, digest: str) -> str | None:
    """The text file `rel` had when a form carrying `digest` was opened, when a console save
    made it or replaced it lately (the audit log keeps both texts); None when it is not there
    (changed by hand, or long ago)."""
    if not digest:
        return None
    for entry in audit.page(action="content_saved", target=rel, limit=OPENED_LOOKBACK):
        for key in ("after", "before"):
            text = entry.change.get(key)
            if isinstance(text, str) and file_digest(text.encode("utf-8")) == digest:
                return text
    return None


async def _verify_conflict(
    request: Request,
    rel: str,
    current: tuple[str, str],
    values: dict[str, str],
    ticked: list[str],
    context: dict[str, Any],
) -> Response:
    """The verify form sent on a file changed since it was opened (a number, maybe): what she
    checked is not what the file holds, so nothing is written and the other change is shown,
    as the edit form shows it (409). Her version is her verification of the text she opened,
    when the audit log still has that text; else of the file now."""
    text, digest = current
    opened = await run(_opened_text, request.app.state.audit, rel, values.get("digest", ""))
    base = text if opened is None else opened
    data = _data_of(base)
    # On the file now, a number she ticked may be gone: her verification of those still there.
    held = {df.scalar(data.get(key)) for key in df.PHONE_FIELDS if data.get(key) is not None}
    mine = base
    changed, errors = _verification(request, data, values, [n for n in ticked if n in held])
    if not errors:
        try:
            mine = edit_mapping(base, changed)
        except (ValueError, RoundTripError):
            # A text the round trip cannot read (a key twice): the other change alone.
            mine = base
    context["digest"] = digest
    return conflict_response(request, ENTRY_TEMPLATE, context, Conflict(rel, text, digest), mine)


async def _posted(
    request: Request,
) -> tuple[str, Path, tuple[str, str, dict[str, Any]], FormData, dict[str, Any]]:
    """What a form posted to one entry's page starts from: its id, its file's path, the file
    (text, digest, data) as it is now, the form, and the page's context with the digest the
    form carried (so a page shown again keeps it)."""
    service_id = str(request.path_params["service_id"])
    library: Library = request.app.state.library
    path = _entry_path(request, service_id)
    current = await run(_current, request, path)
    form = await request.form()
    context = entry_context(
        request,
        service_id,
        df.form_values(current[2], library.site.locales),
        data=current[2],
        digest=_form_values(form).get("digest", ""),
    )
    return service_id, path, current, form, context


@requires("curator")
async def entry_verify(request: Request) -> Response:
    """ "I verified this today": `verified_on` today, who, the source page (it joins the
    sources, stating the numbers ticked) and an optional note; `verification: needed` goes.
    409 when the file changed since the form was opened; 400 for an entry without a number."""
    library: Library = request.app.state.library
    service_id, path, (text, digest, data), form, context = await _posted(request)
    values = _form_values(form)
    sent_digest = values.get("digest", "")
    ticked = [str(n) for n in form.getlist("numbers")]
    context["verify"] = values
    context["verify_ticked"] = ticked
    if context["retired"]:
        # Its verify form is gone: the answer shows by the retired notice.
        _ = gettext(request)
        context["retire_errors"] = {"retired_reason": _("This entry is retired already.")}
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    # No digest at all is no form of the page's (it always has one): checked, then refused.
    if sent_digest and sent_digest != digest:
        return await _verify_conflict(request, _rel(path), (text, digest), values, ticked, context)
    changed, errors = _verification(request, data, values, ticked)
    checked = df.Checked(errors=errors)
    new_text = text
    if not errors:
        merged = df.applied(data, changed)
        checked = _check(request, service_id, merged)
        if checked.ok:
            new_text = edit_mapping(text, changed)
            checked = _written_check(service_id, new_text, merged, library, _settings_age(request))
    # A refusal about another field is the entry's, above the form.
    context["verify_errors"] = {
        key if key in VERIFY_FIELDS else "entry": message for key, message in checked.errors.items()
    }
    if not checked.ok:
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    return await _saved(
        request,
        service_id,
        _rel(path),
        new_text,
        expected=sent_digest,
        what="entry_verified",
        done="verified",
        context=context,
    )


@requires("curator")
async def entry_retire(request: Request) -> Response:
    """Retire an entry: no reader page lists it any more; its file stays, with the date and
    the reason. Refused while an article links to its page."""
    service_id, path, (text, _digest, data), form, context = await _posted(request)
    values = _form_values(form)
    sent_digest = values.get("digest", "")
    changed, errors = d.retirement_changes(values.get("reason", ""), dt.date.today())
    _ = gettext(request)
    if data.get("retired_on") is not None:
        errors["retired_reason"] = _("This entry is retired already.")
    linked = context["linked"]
    if linked and not errors:
        errors["retired_reason"] = _(
            "Articles link to this entry's page: change their links first (%(articles)s).",
            articles=", ".join(linked),
        )
    context["retire_reason"] = values.get("reason", "")
    context["retire_errors"] = errors
    if errors:
        return console_page(request, ENTRY_TEMPLATE, context, 400)
    new_text = edit_mapping(text, changed)
    return await _saved(
        request,
        service_id,
        _rel(path),
        new_text,
        expected=sent_digest,
        what="entry_retired",
        done="retired",
        context=context,
    )


@requires("curator")
async def check_phone(request: Request) -> Response:
    """The phone check as she types (GET `field`, `number`, `country`): the number as the file
    will hold it, grouped for reading, and what `hub check` says of it, as JSON."""
    params = request.query_params
    field = params.get("field", "")
    number = params.get("number", "")
    country = params.get("country", "").strip().upper()
    if field not in df.PHONE_FIELDS or len(number) > 40 or len(country) > 3:
        raise HTTPException(400)
    found = d.check_phone(field, number, country)
    return JSONResponse(found.as_json(), headers={"cache-control": "no-store"})
