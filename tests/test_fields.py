"""hub/auth/fields.py's display names: no invisible character that reorders or disguises what
admins read (bidi controls and the other format characters), the joiners scripts need kept.

Kept apart from tests/test_accounts.py, which tests the Accounts that use these checks."""

from __future__ import annotations

import unicodedata

import pytest

from hub.auth.fields import InvalidAccount, clean_display_name

# Every bidi control: embeddings and overrides, isolates, and the marks.
BIDI_CONTROLS = [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
BIDI_MARKS = ["\u200e", "\u200f", "\u061c"]
# Other invisible format characters: zero width space, word joiner, soft hyphen, byte order
# mark, a tag letter, an invisible times.
OTHER_INVISIBLE = ["\u200b", "\u2060", "\u00ad", "\ufeff", "\U000e0041", "\u2062"]


def _refused(exc: pytest.ExceptionInfo[InvalidAccount]) -> tuple[str, str]:
    return exc.value.field, exc.value.reason


@pytest.mark.parametrize(
    "hidden",
    BIDI_CONTROLS + BIDI_MARKS + OTHER_INVISIBLE,
    ids=lambda ch: f"U+{ord(ch):04X}",
)
def test_a_name_with_an_invisible_format_character_is_refused(hidden: str) -> None:
    assert unicodedata.category(hidden) == "Cf"
    # "Maria" shown as "airaM" to an admin reading the audit log or the accounts list.
    for name in (f"{hidden}Maria", f"Ma{hidden}ria", f"Maria {hidden}Santos", f"Maria{hidden}"):
        with pytest.raises(InvalidAccount) as refused:
            clean_display_name(name)
        assert _refused(refused) == ("display_name", "invisible")
        assert f"U+{ord(hidden):04X}" in str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "\u0915\u094d\u200d\u0937",  # Devanagari: a half form asked for with ZWJ
        "\u0dc1\u0dca\u200d\u0dbb\u0dd3",  # Sinhala "Sri" with its ZWJ
        "\u1019\u103c\u1014\u103a\u200c\u1019\u102c",  # Burmese with a ZWNJ
        "\u1780\u17d2\u200c\u1798\u17c2\u179a",  # Khmer with a ZWNJ
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian's ZWNJ
    ],
)
def test_joiners_that_scripts_need_are_kept(name: str) -> None:
    assert clean_display_name(f"  {name}  ") == unicodedata.normalize("NFC", name)


def test_control_characters_are_still_refused_as_such() -> None:
    with pytest.raises(InvalidAccount) as refused:
        clean_display_name("Maria\x07Santos")
    assert _refused(refused) == ("display_name", "invalid")
    # Whitespace runs are spaces, as before.
    assert clean_display_name("Maria \t\u2028 Santos") == "Maria Santos"
