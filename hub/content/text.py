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
