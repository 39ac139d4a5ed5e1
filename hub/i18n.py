"""Locales: catalogs compiled in memory, negotiation, and CLDR names and dates."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from babel.units import format_unit
from markupsafe import Markup, escape

from hub import translation_check
from hub.content.cache import ContentCache, code_key
from hub.content.shares import in_background
from hub.translation_check import refused

log = logging.getLogger(__name__)

# URL codes (BCP 47) of the locales the hub ships, and their gettext folder names.
LOCALES: Mapping[str, str] = {
    "en": "en",
    "fil": "fil",
    "id": "id",
    "vi": "vi",
    "th": "th",
    "km": "km",
    "my": "my",
}
# Browsers send these codes for languages the hub serves under another code.
# Lower case: tags are matched case-insensitively (RFC 5646 section 2.1.1).
ALIASES: Mapping[str, str] = {
    "tl": "fil",
    "tgl": "fil",
    "in": "id",
    "ind": "id",
    "vie": "vi",
    "tha": "th",
    "kh": "km",
    "khm": "km",
    "bur": "my",
    "mya": "my",
}
DOMAIN = "messages"


def catalog_cache(path: Path | None) -> ContentCache:
    """A cache of compiled catalogs at `path`, kept while the code compiling them is the same."""
    sources = (Path(__file__), Path(translation_check.__file__))
    return ContentCache(path, keys={"catalog": code_key(sources, ("babel",))})


def _compile(data: bytes) -> list[Any]:
    """A .po file's bytes compiled: [the .mo bytes, a warning for each translation refused]."""
    catalog = read_po(io.BytesIO(data), domain=DOMAIN)
    warnings = []
    for message, reasons in list(refused(catalog)):
        warnings.append(f"translation of {message.id!r} refused: {'; '.join(reasons)}")
        catalog.delete(message.id, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return [buffer.getvalue(), warnings]


# Catalogs this process compiled, by the SHA-256 of their .po bytes: an app made again in the
# same process (each test makes its own) does not compile the same bytes twice. Bounded, since
# tests plant catalogs of their own.
_COMPILED_MAX = 32
_compiled: dict[str, list[Any]] = {}


def _remember(digest: str, kept: list[Any]) -> None:
    if digest not in _compiled and len(_compiled) >= _COMPILED_MAX:
        del _compiled[next(iter(_compiled))]
    _compiled[digest] = kept


def compile_catalog(po_path: Path, cache: ContentCache | None = None) -> Translations:
    """Read a .po file and compile it in memory, with no build step; from `cache` when it
    holds the compilation of the same bytes.

    A translation that would change a page's markup or fail to take its values is left out,
    with a warning, so the page shows the English message (hub.translation_check).
    """
    data = po_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    kept = cache.get("catalog", digest) if cache is not None else None
    if kept is None:
        kept = _compiled.get(digest) or _compile(data)
        if cache is not None:
            cache.put("catalog", digest, kept)
    _remember(digest, kept)
    compiled, warnings = kept
    # Said again at every start, compiled now or before: the page still shows the English.
    for warning in warnings:
        log.warning("%s: %s", po_path, warning)
    return Translations(io.BytesIO(compiled), domain=DOMAIN)


def _compile_all(catalogs: Mapping[str, bytes]) -> dict[str, list[Any]]:
    return {digest: _compile(data) for digest, data in catalogs.items()}


def compile_ahead(locales_dir: Path, cache: ContentCache) -> Callable[[], None]:
    """Start compiling the shipped catalogs under `locales_dir` that neither `cache` nor this
    process holds, in a forked process; the function returned waits for them and puts them in
    `cache`, where `I18n` finds them.

    A first start calls it before reading the content, so that the seven catalogs (about
    0.5 s of CPU) compile on the other CPU meanwhile. Where no process is forked (one CPU, no
    `fork`) or the worker dies, the function returns having put nothing: `I18n` compiles them.
    """
    todo: dict[str, bytes] = {}
    for folder in LOCALES.values():
        try:
            data = (locales_dir / folder / "LC_MESSAGES" / f"{DOMAIN}.po").read_bytes()
        except OSError:
            continue  # I18n says which catalog is missing
        digest = hashlib.sha256(data).hexdigest()
        if digest in _compiled:
            cache.put("catalog", digest, _compiled[digest])
        elif not cache.has("catalog", digest):
            todo[digest] = data
    if not todo:
        return lambda: None
    result = in_background(functools.partial(_compile_all, todo))

    def done() -> None:
        for digest, kept in (result() or {}).items():
            cache.put("catalog", digest, kept)
            _remember(digest, kept)

    return done


# An RFC 9110 quality value: 0 to 1 with at most three decimals.
_QUALITY = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first, lower case, "_" between
    subtags; parameter names and tags in any case (RFC 9110 section 12.4.2, RFC 5646)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QUALITY.fullmatch(value) else 0.0
        if quality > 0:
            ranked.append((-quality, index, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(ranked)]


@dataclass(frozen=True)
class LocaleInfo:
    """What a template needs to know about one locale."""

    code: str
    native_name: str
    babel: Locale


class I18n:
    """The translations of every shipped locale and the helpers built on CLDR."""

    def __init__(
        self, locales_dir: Path, codes: Iterable[str] = LOCALES, cache: ContentCache | None = None
    ) -> None:
        """The catalogs of `codes` under `locales_dir`, compiled or taken from `cache`."""
        self.codes = tuple(codes)
        self.default = self.codes[0] if "en" not in self.codes else "en"
        self.translations: dict[str, NullTranslations] = {}
        self.info: dict[str, LocaleInfo] = {}
        # Made once: every page render embeds them for the offline note.
        self._month_names: dict[str, tuple[str, ...]] = {}
        self._date_templates: dict[str, str] = {}
        for code in self.codes:
            babel_locale = Locale.parse(LOCALES.get(code, code))
            self.info[code] = LocaleInfo(
                code, babel_locale.get_display_name(babel_locale) or code, babel_locale
            )
            po_path = locales_dir / LOCALES.get(code, code) / "LC_MESSAGES" / f"{DOMAIN}.po"
            if code != "en" and not po_path.exists():
                log.warning("no catalog for %s at %s", code, po_path)
            self.translations[code] = (
                compile_catalog(po_path, cache) if po_path.exists() else NullTranslations()
            )
            months = babel_locale.months["format"]["wide"]
            self._month_names[code] = tuple(str(months[n]) for n in range(1, 13))
            self._date_templates[code] = self._date_template(babel_locale)

    @staticmethod
    def _date_template(babel_locale: Locale) -> str:
        sample = format_date(dt.date(1999, 12, 31), format="long", locale=babel_locale)
        december = str(babel_locale.months["format"]["wide"][12])
        return sample.replace("1999", "{y}").replace("31", "{d}").replace(december, "{MMMM}")

    def negotiate(self, accept_language: str) -> str:
        """The shipped locale (its code, lower case) that the header wants most, else the default.

        A tag counts by its language subtag, in any case and through ALIASES: "Fil-PH" is fil,
        "IN" is id; "zh-HK" is skipped, as the hub has no Chinese.
        """
        for tag in parse_accept_language(accept_language):
            language = tag.split("_", 1)[0]
            code = ALIASES.get(language, language)
            if code in self.codes:
                return code
        return self.default

    def gettext_callables(self, locale: str) -> dict[str, Any]:
        """New-style gettext functions for templates: they format and escape their values."""
        translations = self.translations[locale]

        def gettext(message: str, **values: Any) -> Markup:
            result = Markup(translations.gettext(message))
            return result % values if values else result

        def ngettext(singular: str, plural: str, n: int, **values: Any) -> Markup:
            values.setdefault("num", n)
            return Markup(translations.ngettext(singular, plural, n)) % values

        def pgettext(context: str, message: str, **values: Any) -> Markup:
            result = Markup(translations.pgettext(context, message))
            return result % values if values else result

        return {"gettext": gettext, "ngettext": ngettext, "pgettext": pgettext, "_": gettext}

    def gettext(self, locale: str, message: str) -> str:
        """Translate a message outside templates."""
        return self.translations[locale].gettext(message)

    def country_name(self, code: str, locale: str) -> str:
        """The CLDR name of a country in the locale."""
        return str(self.info[locale].babel.territories.get(code, code))

    def language_name(self, code: str, locale: str) -> str:
        """The CLDR name of a language in the locale; an alias (tl) named as its code (fil)."""
        names = self.info[locale].babel.languages
        return str(names.get(code) or names.get(ALIASES.get(code, code)) or code)

    def date(self, value: dt.date, locale: str) -> str:
        """A date written the way the locale writes it."""
        return format_date(value, format="long", locale=self.info[locale].babel)

    def date_template(self, locale: str) -> str:
        """The long date format as "{d} {MMMM} {y}" parts, for browsers whose Intl lacks it."""
        return self._date_templates[locale]

    def month_names(self, locale: str) -> tuple[str, ...]:
        """The twelve month names, as a long date writes them."""
        return self._month_names[locale]

    def size(self, n_bytes: int, locale: str) -> str:
        """A download size in kB or MB, written the way the locale writes it."""
        babel_locale = self.info[locale].babel
        if n_bytes < 1_000_000:
            kilobytes = max(1, round(n_bytes / 1000))
            return str(
                format_unit(kilobytes, "digital-kilobyte", length="short", locale=babel_locale)
            )
        megabytes = round(n_bytes / 1_000_000, 1)
        return str(format_unit(megabytes, "digital-megabyte", length="short", locale=babel_locale))

    def partial_date(self, locale: str, year: int, month: int | None, day: int | None) -> str:
        """A date known to the year, month or day, written as precisely as it is known."""
        babel_locale = self.info[locale].babel
        if month is None:
            return format_skeleton("y", dt.date(year, 1, 1), locale=babel_locale)
        if day is None:
            return format_skeleton("yMMMM", dt.date(year, month, 1), locale=babel_locale)
        return self.date(dt.date(year, month, day), locale)


# The digit zero of each CLDR numbering system a shipped locale may default to; the other nine
# follow it in Unicode. Babel names a locale's system but does not carry its digits.
NUMBERING_ZEROS: Mapping[str, str] = {
    "latn": "0",
    "mymr": "\u1040",
    "khmr": "\u17e0",
    "thai": "\u0e50",
}
ASCII_DIGITS = "0123456789"
# A run of text between whitespace that names or addresses something (e-mail, URL, "COVID-19",
# "wa.me/...") keeps its digits as typed: it must stay recognisable and usable as written.
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f@]")
_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;")
_TOKEN = re.compile(r"\S+")
_DIGIT = re.compile(r"\d")
_DIGIT_OR_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;|\d")
# Markup whose digits are not text to read: tags with their attributes, comments, and the
# content of elements that hold code or a form value.
_NOT_TEXT = re.compile(
    r"<!--.*?-->|<(script|style|textarea)\b.*?</\1\s*>|<[^>]*>", re.DOTALL | re.IGNORECASE
)


@functools.lru_cache(maxsize=32)
def locale_digits(locale: str) -> str:
    """The ten digits 0-9 of the locale's CLDR default numbering system (ASCII if unknown)."""
    babel_locale = Locale.parse(LOCALES.get(locale, locale).replace("-", "_"))
    zero = NUMBERING_ZEROS.get(babel_locale.default_numbering_system, "0")
    return "".join(chr(ord(zero) + n) for n in range(10))


def _convert_token(match: re.Match[str], digits: str) -> str:
    token = match.group(0)
    if _LATIN.search(_ENTITY.sub("", token)):
        return token

    def swap(found: re.Match[str]) -> str:
        char = found.group(0)
        return char if len(char) > 1 else digits[unicodedata.decimal(char)]

    return _DIGIT_OR_ENTITY.sub(swap, token)


def localize_digits(text: str, locale: str) -> str:
    """Plain text with every decimal digit, of any script, written in the locale's digits.

    Runs of non-space characters holding a Latin letter or "@" (addresses, codes like
    "COVID-19") keep their digits; character references such as "&#39;" are left whole.
    Locales whose default is Latin digits get the text as typed.
    """
    digits = locale_digits(locale)
    if digits == ASCII_DIGITS or not _DIGIT.search(text):
        return text
    return _TOKEN.sub(lambda match: _convert_token(match, digits), text)


def localize_digits_html(html: str, locale: str) -> Markup:
    """HTML whose visible text uses the locale's digits; tags, attributes and scripts unchanged.

    Only markup already made safe (a Markup, as an autoescaped template's filter block gives)
    passes as HTML; a plain string is escaped first, so no text can become markup here.
    """
    safe = escape(html)
    if locale_digits(locale) == ASCII_DIGITS:
        return safe
    html = str(safe)  # slices of a Markup are Markup again, each one slower to make
    parts: list[str] = []
    start = 0
    for match in _NOT_TEXT.finditer(html):
        parts.append(localize_digits(html[start : match.start()], locale))
        parts.append(match.group(0))
        start = match.end()
    parts.append(localize_digits(html[start:], locale))
    return Markup("".join(parts))
