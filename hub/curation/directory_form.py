"""A directory entry's edit form (hub/curation/directory.py's console): the file's data as
flat form values and back, each field checked by the readers `hub check` uses (so the form says
what is wrong with every field at once), then the whole entry by `parse_service`; and the
top-level keys a save changes, so the others keep their comments.

Form values are strings named as the CSV import's columns: `kind`, `name_en`, `phone`,
`serves` (codes separated by spaces or commas), `source_url_1`, `source_date_1`,
`source_numbers_1`, `chat_label_1`, `chat_url_1`, `verified_on`, `verification`, ...
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.content import fields as f
from hub.content.library import Library
from hub.content.model import SERVICE_KINDS
from hub.content.services import parse_service, retired_on
from hub.settings import SOURCE_MAX_AGE_YEARS

# Paths under /admin/directory/ that are not entries: no entry may take these ids.
RESERVED_IDS = frozenset({"new", "import", "check-phone"})
COSTS = ("unknown", "free", "paid")
CONFIDENTIAL = ("", "true", "false")
PHONE_FIELDS = ("phone", "phone_from_abroad", "short_number")
LOCALIZED = ("name", "description", "hours")
# The keys of an entry in the order docs/content-format.md writes them; a new file follows it.
KEY_ORDER = (
    "kind",
    "name",
    "description",
    "country",
    "serves",
    "phone",
    "short_number",
    "phone_from_abroad",
    "chat",
    "website",
    "hours",
    "languages",
    "cost",
    "confidential",
    "sources",
    "verified_on",
    "verification",
    "last_verified_on",
    "verified_by",
    "verified_note",
)
# The keys the edit form writes (verified_by and verified_note are written by "I verified
# this today" and only removed by the form, with the verification they describe).
FORM_KEYS = KEY_ORDER
MAX_TEXT = 2000
MAX_REASON = 500
# What a typed number may hold besides its digits and "+": the ways people group numbers.
_GROUPING = re.compile(r"[\s\u00a0\-.()/]")
_SPLIT = re.compile(r"[\s,;]+")
_INDEXED = re.compile(r"^(source|chat)_([a-z]+)_(\d{1,2})$")


@dataclass(frozen=True)
class Checked:
    """What the checks say of an entry: errors by form field (none: it may be written) and
    the warnings `hub check` would print."""

    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the entry may be written."""
        return not self.errors


# -- Form values ------------------------------------------------------------------------------


def scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _joined(value: object) -> str:
    if isinstance(value, list):
        return " ".join(scalar(v) for v in value)
    return scalar(value)


def form_values(data: object, locales: Collection[str]) -> dict[str, str]:
    """An entry file's data as the edit form's fields (strings); missing keys are empty."""
    mapping: Mapping[str, Any] = data if isinstance(data, dict) else {}
    values: dict[str, str] = {}
    for key in ("kind", "country", "phone", "short_number", "phone_from_abroad", "website"):
        values[key] = scalar(mapping.get(key))
    for key in ("serves", "languages"):
        values[key] = _joined(mapping.get(key))
    values["cost"] = scalar(mapping.get("cost")) or "unknown"
    values["confidential"] = scalar(mapping.get("confidential"))
    for key in LOCALIZED:
        texts = mapping.get(key)
        for loc in locales:
            values[f"{key}_{loc}"] = scalar(texts.get(loc)) if isinstance(texts, dict) else ""
    for number, item in enumerate(items(mapping.get("sources")), start=1):
        values[f"source_url_{number}"] = scalar(item.get("url"))
        values[f"source_date_{number}"] = scalar(item.get("date"))
        values[f"source_numbers_{number}"] = _joined(item.get("numbers"))
    for number, item in enumerate(items(mapping.get("chat")), start=1):
        values[f"chat_label_{number}"] = scalar(item.get("label"))
        values[f"chat_url_{number}"] = scalar(item.get("url"))
    values["verified_on"] = scalar(mapping.get("verified_on"))
    values["verification"] = "needed" if mapping.get("verification") == "needed" else ""
    for key in ("verified_by", "verified_note"):
        values[key] = scalar(mapping.get(key))
    return values


def items(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def rows_of(values: Mapping[str, str], group: str) -> list[int]:
    """The numbers of the form's `source` or `chat` rows that hold something, in order."""
    found = set()
    for name, value in values.items():
        matched = _INDEXED.match(name)
        if matched and matched.group(1) == group and value.strip():
            found.add(int(matched.group(3)))
    return sorted(found)


def written_number(typed: str) -> str:
    """A number as typed with the spaces, dashes, dots, slashes and brackets people group it
    with taken out, and Thai, Khmer, Burmese (any decimal) digits as ASCII ones; anything else
    (a letter, an extension) is kept for the check to refuse."""
    return _GROUPING.sub("", ascii_digits(typed.strip()))


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit (๑, ១, ၁, ...) written as its ASCII digit."""
    return "".join(
        str(unicodedata.decimal(c))
        if not c.isascii() and unicodedata.decimal(c, None) is not None
        else c
        for c in text
    )


def plain_text(value: str, key: str, limit: int = MAX_TEXT) -> str:
    text = value.strip()
    if len(text) > limit:
        raise f.FieldError(f"'{key}' may have at most {limit} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text):
        raise f.FieldError(f"'{key}' cannot hold control characters")
    return text


def source_date_value(typed: str) -> object:
    """A source date as YAML should hold it: a date, a "YYYY-MM" text or a year number."""
    text = typed.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise f.FieldError("'date' must be a date written YYYY-MM-DD") from exc
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    f.source_date(text)
    return text


def entry_data(
    values: Mapping[str, str], locales: Collection[str], current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The data an entry's form values describe, keyed and ordered as KEY_ORDER (a key with no
    value is left out), and each field's error, checked by the readers `hub check` uses.
    `current`: the file's data, whose `verified_by` and `verified_note` are kept while the
    entry stays verified."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def get(name: str) -> str:
        return str(values.get(name, "") or "")

    def attempt(name: str, read: Any) -> None:
        try:
            read()
        except f.FieldError as exc:
            errors.setdefault(name, str(exc))

    def kind() -> None:
        data["kind"] = f.choice({"kind": get("kind").strip()}, "kind", SERVICE_KINDS)

    def country() -> None:
        data["country"] = f.country(get("country").strip().upper() or None)

    attempt("kind", kind)
    for key in LOCALIZED:
        texts = {}
        for loc in locales:
            name = f"{key}_{loc}"
            try:
                text = plain_text(get(name), f"{key}.{loc}")
            except f.FieldError as exc:
                errors.setdefault(name, str(exc))
                continue
            if text:
                texts[loc] = text
        if texts and "en" not in texts:
            errors.setdefault(f"{key}_en", f"'{key}' needs an English ('en') text")
        elif texts:
            data[key] = texts
        elif key == "name":
            errors.setdefault("name_en", "'name' needs an English ('en') text")
    attempt("country", country)

    def codes(key: str) -> list[str]:
        return [c for c in _SPLIT.split(get(key).strip()) if c]

    def serves() -> None:
        found = [c.upper() for c in codes("serves")]
        if found:
            data["serves"] = list(f.countries({"serves": found}, "serves"))

    attempt("serves", serves)
    for key in ("phone", "phone_from_abroad"):
        typed = get(key).strip()
        if typed:
            try:
                data[key] = (
                    f.phone(written_number(typed))
                    if key == "phone"
                    else f.e164(written_number(typed), key)
                )
            except f.FieldError as exc:
                errors.setdefault(key, str(exc))
    typed_short = written_number(get("short_number"))
    if typed_short:
        attempt(
            "short_number", lambda: data.__setitem__("short_number", f.short_number(typed_short))
        )
    chats = []
    for number in rows_of(values, "chat"):
        label, url = get(f"chat_label_{number}").strip(), get(f"chat_url_{number}").strip()
        try:
            item = {"label": f.text({"label": label}, "label"), "url": f.url({"url": url}, "url")}
            chats.append(item)
        except f.FieldError as exc:
            errors.setdefault(f"chat_{number}", str(exc))
    if chats:
        data["chat"] = chats
    website = get("website").strip()
    if website:
        attempt(
            "website", lambda: data.__setitem__("website", f.url({"website": website}, "website"))
        )

    def languages() -> None:
        found = codes("languages")
        for code in found:
            if code not in f.known_languages():
                raise f.FieldError(f"'languages' has '{code}', which is not a language code")
        if found:
            data["languages"] = found

    attempt("languages", languages)
    cost = get("cost").strip() or "unknown"
    attempt("cost", lambda: data.__setitem__("cost", f.choice({"cost": cost}, "cost", COSTS)))
    confidential = get("confidential").strip()
    if confidential not in CONFIDENTIAL:
        errors["confidential"] = "'confidential' must be true or false"
    elif confidential:
        data["confidential"] = confidential == "true"
    sources = []
    for number in rows_of(values, "source"):
        try:
            page = f.url({"url": get(f"source_url_{number}").strip()}, "url")
            date = source_date_value(get(f"source_date_{number}"))
            numbers = [
                written_number(n) if n.startswith("+") else n
                for n in codes(f"source_numbers_{number}")
            ]
            sources.append({"url": page, "date": date, "numbers": numbers})
        except f.FieldError as exc:
            errors.setdefault(f"source_{number}", f"sources {number}: {exc}")
    if sources:
        data["sources"] = sources
    needed = get("verification").strip()
    verified = get("verified_on").strip()
    before = current or {}
    if needed not in ("", "needed"):
        errors["verified_on"] = "'verification' can only be 'needed'"
    elif needed and verified and verified != scalar(before.get("verified_on")):
        # A date typed with the box still ticked (a new entry's form ticks it): which one she
        # meant cannot be told, and writing either would drop the other without a word. The
        # file's own date with the box ticked is marking it again, below.
        errors["verified_on"] = (
            "a date of verification and 'needs verification' cannot go together: clear the "
            "date, or untick 'Needs verification'"
        )
    elif needed:
        # Marking it again takes back the verification, its who and note with it; the day it
        # was last verified is kept, so the entry is not taken for one never verified.
        data["verification"] = "needed"
        last = before.get("last_verified_on") if before.get("verified_on") is None else None
        last = last or before.get("verified_on")
        if isinstance(last, dt.date):
            data["last_verified_on"] = last
    elif verified:
        attempt(
            "verified_on",
            lambda: data.__setitem__(
                "verified_on", f.date({"verified_on": verified}, "verified_on")
            ),
        )
        for key in ("verified_by", "verified_note"):
            kept = before.get(key)
            if kept is not None:
                data[key] = kept
    return {key: data[key] for key in KEY_ORDER if key in data}, errors


# Which form field an error of parse_service belongs next to.
_QUOTED = re.compile(r"'([a-z_]+)(?:\.([a-z]+))?'")


def field_of(message: str) -> str:
    """The form field a `hub check` message is about ("entry" when it is about the whole)."""
    found = re.match(r"sources (\d+):", message)
    if found:
        return f"source_{found.group(1)}"
    if message.startswith("no source states"):
        return "sources"
    for key, loc in _QUOTED.findall(message):
        if key in LOCALIZED:
            return f"{key}_{loc or 'en'}"
        if key in ("verification", "verified_on"):
            return "verified_on"
        if key in FORM_KEYS:
            return str(key)
    return "entry"


def check_entry(
    service_id: str,
    data: Mapping[str, Any],
    library: Library,
    today: dt.date,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> Checked:
    """What `hub check` says of an entry with this id and data: its error, by form field, or
    its warnings."""
    try:
        retired_on(dict(data), today)
        _, warnings = parse_service(
            service_id,
            dict(data),
            library.site.locales,
            today,
            origins=library.site.origins,
            source_max_age_years=source_max_age_years,
        )
    except f.FieldError as exc:
        return Checked(errors={field_of(str(exc)): str(exc)})
    return Checked(warnings=warnings)


def changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level keys to set (None: remove) to make `current` hold `wanted` for every key
    the form writes; a key whose value reads the same is left alone, its comments kept."""
    found: dict[str, Any] = {}
    for key in FORM_KEYS:
        before, after = current.get(key), wanted.get(key)
        if not same(before, after):
            found[key] = after
    return found


def same(a: object, b: object) -> bool:
    """Whether two values of an entry read alike: a file's 999 and a form's "999", or its
    date and a form's "2025-06-14"; a bool or None only as itself."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is type(b) and a == b:
        return True
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    alike = (str, int, dt.date)
    return type(a) in alike and type(b) in alike and scalar(a) == scalar(b)


def applied(current: Mapping[str, Any], changed: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with `changed` set (None removes a key), as edit_mapping writes it."""
    result = dict(current)
    for key, value in changed.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def id_problem(service_id: str, taken: Collection[str]) -> str | None:
    """Why a new entry cannot have this id (None: it can): the loader's rule for file names,
    the console's own paths, and an id already used, retired entries' included."""
    if not f.SLUG.match(service_id) or len(service_id) > 80:
        return "an id is lowercase letters and digits, words joined by '-' (at most 80)"
    if service_id in RESERVED_IDS:
        return f"'{service_id}' is a page of the console; choose another id"
    if service_id in taken:
        return f"an entry with the id '{service_id}' exists already"
    return None
