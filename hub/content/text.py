"""Text that looks the same compares the same: invisible characters, Unicode forms and Zawgyi.

Every rule here is also sent to the browser as data (`export()`), so the offline search in
static/js/search.js folds text with the same character classes, the same Zawgyi model and the
same conversion rules, and finds exactly what the server finds.
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
from collections.abc import Mapping
from typing import Any

from myanmartools import ZawgyiDetector
from para.rules import ZAWGYI_TO_UNICODE_RULES

# Zero-width space, non-joiner, joiner and the byte-order mark: invisible, yet they split a word
# in two for a computer. Text pasted from chat apps and Zawgyi-era keyboards is full of them.
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff"
# Whitespace spelled out (Python's str.split() set) so JavaScript's \s, which differs, is not used.
WHITESPACE = "\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Accents of Latin letters, folded away so "ho chieu" finds "hộ chiếu"; marks of Thai, Khmer and
# Burmese are part of the spelling and are kept.
LATIN_MARKS = "\u0300-\u036f"
MYANMAR = "\u1000-\u109f"
# The digit zero of each script a reader may type numbers in (Thai, Lao, Myanmar, Shan, Khmer);
# Burmese pages show Myanmar digits, so "၁၃၄၈" must find what "1348" finds. NFKD leaves them.
DIGIT_ZEROS = "\u0e50\u0ed0\u1040\u1090\u17e0"
_DIGITS = {ord(zero) + n: str(n) for zero in DIGIT_ZEROS for n in range(10)}
# myanmartools' documented cut-off: above 0.95 the text is Zawgyi, below 0.05 Unicode.
ZAWGYI_THRESHOLD = 0.95
# What gives Burmese away as Zawgyi even when myanmartools is unsure (short text): Zawgyi's
# reuse of the Myanmar Extended code points (stacked and ligature forms; Burmese in Unicode has
# none of them) and the vowel sign E typed before its consonant, at the start of a word.
_ZAWGYI_HINT = re.compile("[\u1060-\u1097]|(?:^|[^\u1000-\u109f])\u1031")
# Below this probability the converted text reads as Unicode to myanmartools (its own cut-off).
_UNICODE_BELOW = 0.05

_ZERO_WIDTH_RE = re.compile(f"[{ZERO_WIDTH}]")
_WHITESPACE_RE = re.compile(f"[{WHITESPACE}]+")
_LATIN_MARKS_RE = re.compile(f"[{LATIN_MARKS}]")
_MYANMAR_RE = re.compile(f"[{MYANMAR}]")
# Python replacement templates the browser can run after "\N" becomes "$N".
_GROUP_REF = re.compile(r"\\(\d+)")


def visible(text: str) -> str:
    """The text without zero-width characters (U+200B, U+200C, U+200D, U+FEFF)."""
    return _ZERO_WIDTH_RE.sub("", text)


def trim(text: str) -> str:
    """The text without zero-width characters and without whitespace at either end."""
    return _WHITESPACE_RE.sub(" ", visible(text)).strip(" ")


def fold(text: str) -> str:
    """Compatibility-decomposed, lower-cased, Latin accents and đ folded, digits of any script
    written 0-9, NFC, spaces collapsed."""
    folded = unicodedata.normalize("NFKD", visible(text).translate(_DIGITS)).lower()
    folded = _LATIN_MARKS_RE.sub("", folded).replace("đ", "d")
    return _WHITESPACE_RE.sub(" ", unicodedata.normalize("NFC", folded)).strip(" ")


def has_myanmar(text: str) -> bool:
    """Whether the text holds any character of the Myanmar block."""
    return _MYANMAR_RE.search(text) is not None


def _js_replacement(template: str) -> str:
    """A Python re.sub template as a JavaScript String.replace one; other escapes refused."""
    plain = _GROUP_REF.sub("", template)
    if "\\" in plain:
        raise ValueError(f"conversion rule replacement not portable: {template!r}")
    return _GROUP_REF.sub(r"$\1", template.replace("$", "$$"))


def _float32(value: float) -> float:
    """The shortest decimal that reads back as the same 32-bit float (JS: Math.fround)."""
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.unpack("f", struct.pack("f", short))[0] == value:
            return short
    return value


class Zawgyi:
    """Detects Zawgyi (Google's myanmartools model) and converts it (paraencoder's rules)."""

    def __init__(self) -> None:
        self.detector = ZawgyiDetector()
        self.rules = [(re.compile(p), r) for p, r in ZAWGYI_TO_UNICODE_RULES]

    def is_zawgyi(self, text: str) -> bool:
        """Whether Burmese text is Zawgyi by myanmartools' reading (probability above 0.95)."""
        return has_myanmar(text) and self.detector.get_zawgyi_probability(text) > ZAWGYI_THRESHOLD

    def to_unicode(self, text: str) -> str:
        """Zawgyi text converted to Unicode; Unicode and other text returned unchanged."""
        if not self.is_zawgyi(text):
            return text
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        return text

    def export(self) -> dict[str, Any]:
        """The detector's model and the conversion rules as plain data for the browser.

        `chars` are the model's characters in code-point order (state i + 1; 0 is any other
        character); `rows[i]` is null for an all-zero row, else [default, index, value, ...]
        of the row's log-likelihood ratios as 32-bit floats (null: not a number); `rules` are
        [pattern, replacement] for JavaScript's RegExp (flag g) and String.replace.
        """
        # The model is the library's data; 1.2.x keeps it in these two attributes.
        chars: str = self.detector._chars
        params = self.detector._params
        size = len(chars) + 1
        rows: list[list[float | None] | None] = []
        for i in range(size):
            row = list(params[i * size : (i + 1) * size])
            counts: dict[float, int] = {}
            for value in row:
                if value == value:  # nan (foreign after foreign) is carried as null
                    counts[value] = counts.get(value, 0) + 1
            default = max(counts, key=lambda v: counts[v]) if counts else 0.0
            if default == 0.0 and all(v == 0.0 for v in row):
                rows.append(None)
                continue
            entry: list[float | None] = [_float32(default)]
            for j, value in enumerate(row):
                if value != default:
                    entry += [j, None if value != value else _float32(value)]
            rows.append(entry)
        return {
            "threshold": ZAWGYI_THRESHOLD,
            "chars": chars,
            "rows": rows,
            "rules": [[p, _js_replacement(r)] for p, r in ZAWGYI_TO_UNICODE_RULES],
        }


@functools.cache
def zawgyi() -> Zawgyi:
    """The one Zawgyi detector and converter (immutable model data, loaded once)."""
    return Zawgyi()


def fields_in_unicode(fields: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each field (a title, a body) in Unicode: as it is, or converted from Zawgyi when the
    conversion is sure; and the names of those that look like Zawgyi but cannot be converted
    surely.

    Each field is read on its own: one the model reads as Unicode is never converted, whatever
    the other is (a Unicode title beside a Zawgyi body). Only a field too short for the model
    to tell goes by the whole text, and is refused if that leaves it a guess with a mark of
    Zawgyi."""
    if not any(has_myanmar(text) for text in fields.values()):
        return dict(fields), ()
    model = zawgyi()
    score = model.detector.get_zawgyi_probability
    whole = score("\n".join(fields.values()))
    kept: dict[str, str] = {}
    by_context: list[str] = []
    unsure: list[str] = []
    for name, text in fields.items():
        probability = score(text) if has_myanmar(text) else 0.0
        if probability < _UNICODE_BELOW:
            kept[name] = text
        elif probability > ZAWGYI_THRESHOLD:
            new = _converted(model, text)
            if score(new) < _UNICODE_BELOW and not _ZAWGYI_HINT.search(new):
                kept[name] = new
            else:
                unsure.append(name)
        elif whole > ZAWGYI_THRESHOLD:
            kept[name] = _converted(model, text)
            by_context.append(name)
        elif _ZAWGYI_HINT.search(text):
            unsure.append(name)
        else:
            kept[name] = text
    if by_context:
        # A short field converted for its context reads as Unicode only with that context.
        after = "\n".join(kept.values())
        if score(after) >= _UNICODE_BELOW or any(
            _ZAWGYI_HINT.search(kept[name]) for name in by_context
        ):
            unsure.extend(by_context)
    return kept, tuple(name for name in fields if name in unsure)


def _converted(model: Zawgyi, text: str) -> str:
    """Zawgyi text in Unicode by the conversion rules (Zawgyi.to_unicode would first ask the
    model again, which cannot tell for a short title on its own), then NFC."""
    for pattern, replacement in model.rules:
        text = pattern.sub(replacement, text)
    return unicodedata.normalize("NFC", text)


def query_text(text: str) -> str:
    """What a typed query means: visible characters, Burmese in Unicode even if typed in Zawgyi."""
    cleaned = visible(text)
    return zawgyi().to_unicode(cleaned) if has_myanmar(cleaned) else cleaned


def export() -> dict[str, Any]:
    """The character classes of fold() for the browser, as RegExp character-class bodies."""
    return {
        "zero_width": ZERO_WIDTH,
        "whitespace": WHITESPACE,
        "latin_marks": LATIN_MARKS,
        "myanmar": MYANMAR,
        "digit_zeros": DIGIT_ZEROS,
    }
