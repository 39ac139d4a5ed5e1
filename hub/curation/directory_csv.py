"""Directory entries imported from a CSV file, checked row by row before anything is written.

The columns (docs/content-guide.md, "The directory", lists them too), one entry a row, the
first row naming them in any order:

- required: `id`, `kind`, `country`, `name_en`, `source_url`, `source_date`;
- optional: `name_<locale>`, `description_<locale>`, `hours_<locale>` for the site's other
  locales, `serves`, `phone`, `short_number`, `phone_from_abroad`, `website`, `languages`,
  `cost`, `confidential`, `chat_label`, `chat_url`, `source_numbers` (empty: every number of
  the row), `verified_on` (empty: the entry is written `verification: needed`).

Each row is read as the console's form reads an entry (hub/curation/directory_form.py) and
checked as `hub check` checks a file; its id as a new entry's (the loader's rule, not taken,
not twice in the file). A value is data: it only ever becomes a YAML string, date or number
through the YAML library, and the file's name is the checked id, so no cell can reach a path
outside `services/` or a key of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.content.library import Library
from hub.content.text import has_myanmar
from hub.curation import directory_form as df
from hub.settings import SOURCE_MAX_AGE_YEARS

# Burmese cells in Unicode (converted from Zawgyi when sure) and the names of those it cannot
# convert surely: the console passes hub.content.text.fields_in_unicode.
Burmese = Callable[[Mapping[str, str]], tuple[dict[str, str], tuple[str, ...]]]
ZAWGYI_UNSURE = "typed in Zawgyi, and the hub cannot convert it surely: type it in Unicode"
# 300 rows of about 1 KB (names in seven scripts); URL-encoded in the console's form (3
# characters a byte outside ASCII), within the 1 MiB a signed-in form may hold.
MAX_BYTES = 300 * 1024
# Each row is its own save (written, committed, audited; the content reloads once at the end):
# 100 rows took 6.6 s without git, so 300 keep the import request well under a minute.
MAX_ROWS = 300
REQUIRED = ("id", "kind", "country", "name_en", "source_url", "source_date")
SINGLE = (
    "serves",
    "phone",
    "short_number",
    "phone_from_abroad",
    "website",
    "languages",
    "cost",
    "confidential",
    "chat_label",
    "chat_url",
    "source_numbers",
    "verified_on",
)
# A column read as the form's field of the same name with this row number.
_NUMBERED = {
    "source_url": "source_url_1",
    "source_date": "source_date_1",
    "source_numbers": "source_numbers_1",
    "chat_label": "chat_label_1",
    "chat_url": "chat_url_1",
}
_COLUMN_OF = {v: k for k, v in _NUMBERED.items()} | {"source_1": "source_url", "chat_1": "chat_url"}
# The columns whose row problems follow from a missing required column: said once, as missing.
_FOLLOWS = {"source_url": ("sources",), "source_date": ("sources",)}


def columns(locales: Collection[str]) -> list[str]:
    """Every column a CSV file may have, the required ones first."""
    localized = [f"{key}_{loc}" for key in df.LOCALIZED for loc in locales]
    return [*REQUIRED, *(c for c in localized if c not in REQUIRED), *SINGLE]


@dataclass(frozen=True)
class Problem:
    """One problem of the file: its row (1 is the header), column ("" for the whole row) and
    what is wrong."""

    row: int
    column: str
    message: str


@dataclass
class Row:
    """One entry of the file, as it would be written."""

    row: int
    id: str
    data: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    """What importing the file would do: its rows, and every problem found, in file order."""

    rows: list[Row]
    problems: list[Problem]

    @property
    def clean(self) -> bool:
        """Whether the file may be imported: at least one row, and no problem anywhere."""
        return bool(self.rows) and not self.problems


def decode(data: bytes) -> str | None:
    """A CSV file's text (UTF-8, with or without a byte order mark); None when it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _column(field_name: str, message: str = "") -> str:
    if field_name == "source_1" and message.startswith("sources 1: 'date'"):
        return "source_date"
    return _COLUMN_OF.get(field_name, field_name)


def dry_run(
    text: str,
    library: Library,
    taken: Collection[str],
    today: dt.date,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
    burmese: Burmese | None = None,
) -> DryRun:
    """Every row of the CSV `text` checked as a new entry, nothing written; `taken` are the
    ids of the entries that exist (retired ones too). `burmese` reads a row's Burmese cells as
    Unicode: each cell as it is or converted from Zawgyi, and the cells it cannot convert
    surely (hub.content.text.fields_in_unicode, which alerts and translations use too)."""
    locales = library.site.locales
    known = columns(locales)
    problems: list[Problem] = []
    # A spreadsheet's UTF-8 export starts with a byte order mark, and a text box keeps it.
    text = text.removeprefix("\ufeff")
    if len(text.encode("utf-8")) > MAX_BYTES:
        return DryRun([], [Problem(0, "", f"the file is larger than {MAX_BYTES // 1024} KB")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        body = list(reader)
    except csv.Error as exc:
        return DryRun([], [Problem(0, "", f"cannot be read as CSV: {exc}")])
    if not header or not any(header):
        return DryRun([], [Problem(1, "", "the file is empty: its first row names the columns")])
    for name in header:
        if name not in known:
            problems.append(Problem(1, name, "unknown column"))
    missing = {name for name in REQUIRED if name not in header}
    for name in REQUIRED:
        if name in missing:
            problems.append(Problem(1, name, "missing column"))
    # A row cannot hold a value for a column the file lacks: that is the header's problem.
    unsaid = missing.union(*(_FOLLOWS.get(name, ()) for name in missing))
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            problems.append(Problem(1, name, "column named twice"))
        seen.add(name)
    if len(body) > MAX_ROWS:
        problems.append(Problem(0, "", f"more than {MAX_ROWS} rows: split the file"))
        return DryRun([], problems)
    rows: list[Row] = []
    ids: dict[str, int] = {}
    for number, cells in enumerate(body, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(number, header, cells, library, taken, ids, today, source_max_age_years, burmese)
        row.problems = [p for p in row.problems if p.column not in unsaid]
        rows.append(row)
        problems.extend(row.problems)
    if not rows and not problems:
        problems.append(Problem(0, "", "the file has no entries under its header"))
    return DryRun(rows, problems)


def _row(
    number: int,
    header: list[str],
    cells: list[str],
    library: Library,
    taken: Collection[str],
    ids: dict[str, int],
    today: dt.date,
    age: int,
    burmese: Burmese | None = None,
) -> Row:
    found: list[Problem] = []
    if len(cells) > len(header):
        found.append(Problem(number, "", "more cells than the header has columns"))
    values: dict[str, str] = {}
    for name, cell in zip(header, cells, strict=False):
        if name:
            values[_NUMBERED.get(name, name)] = cell.strip()
    service_id = values.pop("id", "")
    converted: list[str] = []
    myanmar = {name: value for name, value in values.items() if has_myanmar(value)}
    if burmese is not None and myanmar:
        kept, unsure = burmese(myanmar)
        for name in unsure:
            found.append(Problem(number, _column(name), ZAWGYI_UNSURE))
        converted = [name for name, value in kept.items() if value != myanmar[name]]
        values.update(kept)
    problem = df.id_problem(service_id, taken)
    if problem is None and service_id in ids:
        problem = f"the id is used by row {ids[service_id]} too"
    if problem is not None:
        found.append(Problem(number, "id", problem))
    ids.setdefault(service_id, number)
    if not values.get("verified_on"):
        values["verification"] = "needed"
    data, errors = df.entry_data(values, library.site.locales)
    sources = data.get("sources")
    if isinstance(sources, list) and sources and not values.get("source_numbers_1"):
        # An empty `source_numbers` means the page states every number of the row.
        sources[0]["numbers"] = [
            df.scalar(data[key]) for key in df.PHONE_FIELDS if data.get(key) is not None
        ]
    for field_name, message in errors.items():
        found.append(Problem(number, _column(field_name, message), message))
    warnings = [f"{_column(name)}: converted from Zawgyi to Unicode" for name in converted]
    if not errors:
        checked = df.check_entry(service_id or "x", data, library, today, source_max_age_years=age)
        for field_name, message in checked.errors.items():
            found.append(Problem(number, _column(field_name, message), message))
        warnings.extend(checked.warnings)
    return Row(number, service_id, data, found, warnings)


def entries(run: DryRun) -> list[tuple[str, Mapping[str, Any]]]:
    """The id and data of each row to write, when the file is clean (else none)."""
    return [(row.id, row.data) for row in run.rows] if run.clean else []
