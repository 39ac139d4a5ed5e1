"""Translations that cannot change a page: each holds exactly the markup of its English message.

Templates trust gettext results as markup (they hold the page's own tags), so a `.po` file is
code: a translation with `<script>` or `<a href=...>` that its English message lacks would be
rendered. `hub check` reports such a message; at start-up it is refused and the English shown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import PoFileError, read_po

_PLACEHOLDER = re.compile(r"%\((\w+)\)")
# Any "<" counts: a browser may start a tag there, and a tag left open at the end of a
# message would take in the template text that follows it.
_MARKUP = re.compile(r"<[^>]*>?")


class _Tag(HTMLParser):
    """The one tag, comment or declaration of a piece of markup, in a normal form."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    @staticmethod
    def _start(tag: str, attrs: list[tuple[str, str | None]], end: str) -> str:
        written = [tag, *(f'{name}="{value or ""}"' for name, value in sorted(attrs))]
        return "<" + " ".join(written) + end

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(self._start(tag, attrs, ">"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(self._start(tag, attrs, "/>"))

    def handle_endtag(self, tag: str) -> None:
        self.found.append(f"</{tag}>")

    def handle_comment(self, data: str) -> None:
        self.found.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.found.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.found.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.found.append(f"<![{data}]>")


def markup_of(text: str) -> Counter[str]:
    """The markup in a message: each tag with its attributes in a normal form (names in lower
    case, attributes sorted, references resolved), anything else from a "<" on as written."""
    found: Counter[str] = Counter()
    for match in _MARKUP.finditer(text):
        token = match.group(0)
        parser = _Tag()
        if token.endswith(">"):
            parser.feed(token)
            parser.close()
        found[parser.found[0] if len(parser.found) == 1 else token] += 1
    return found


def _forms(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list):
        return tuple(str(v) for v in value)
    return ()


def _describe(counts: Counter[str]) -> str:
    return " ".join(sorted(counts.elements()))


def refusals(message: Message, catalog: Catalog | None = None) -> list[str]:
    """Why the translation of a message must not be shown (empty when it may be).

    Every form of the translation must hold the same markup as the English (its singular or,
    for a plural form, either English form), take the values the page fills in without an
    error (a stray "%" would make the page a 500), and pass Babel's own checks.
    """
    english_forms = _forms(message.id)
    english = [markup_of(form) for form in english_forms]
    names = {name for form in english_forms for name in _PLACEHOLDER.findall(form)}
    # Zero prints under any conversion (%s, %d, %x ...), so only a broken format fails.
    values = dict.fromkeys(names | ({"num"} if len(english_forms) > 1 else set()), 0)
    reasons: list[str] = []
    for form in _forms(message.string):
        if not form:
            continue
        if values:
            try:
                form % values
            except (ValueError, TypeError, KeyError) as exc:
                reasons.append(f"cannot take the values the page fills in: {exc}")
        markup = markup_of(form)
        if english and markup not in english:
            # Said against the English form it is closest to.
            nearest = min(english, key=lambda e: (markup - e).total() + (e - markup).total())
            extra, missing = markup - nearest, nearest - markup
            if extra:
                reasons.append(f"holds markup its English message does not: {_describe(extra)}")
            if missing:
                reasons.append(f"leaves out markup of its English message: {_describe(missing)}")
    reasons += [str(error) for error in message.check(catalog)]
    return reasons


def refused(catalog: Catalog) -> Iterator[tuple[Message, list[str]]]:
    """Each translated message of a catalog that must not be shown, with the reasons."""
    for message in list(catalog):
        if message.id and message.string:
            reasons = refusals(message, catalog)
            if reasons:
                yield message, reasons


def check_locales(locales_dir: Path) -> list[tuple[Path, str]]:
    """Every problem of the catalogs in a locales folder: (file, reason), one per bad message."""
    problems: list[tuple[Path, str]] = []
    for path in sorted(locales_dir.glob("*/LC_MESSAGES/*.po")):
        try:
            with path.open("rb") as handle:
                catalog = read_po(handle, abort_invalid=True)
        except (OSError, UnicodeDecodeError, PoFileError) as exc:
            problems.append((path, f"cannot be read: {exc}"))
            continue
        for message, reasons in refused(catalog):
            for reason in reasons:
                problems.append((path, f"translation of {message.id!r}: {reason}"))
    return problems
