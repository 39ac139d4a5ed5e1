"""What an account may hold: an email, a display name, a role and its scope, each checked
and normalised, or refused with InvalidAccount (field and reason for the console)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from hub.auth.errors import Refused

ROLES = ("admin", "curator", "translator", "leader")
# The hub's seven locales (hub.i18n.LOCALES, which this layer may not import; a test keeps
# the two equal), in the order scopes are kept in.
LOCALES = ("en", "fil", "id", "vi", "th", "km", "my")
MAX_EMAIL = 254  # RFC 5321's bound on a forward path, less the angle brackets
MAX_LOCAL = 64
MAX_NAME = 100
CORRIDOR = re.compile(r"([A-Z]{2})-([A-Z]{2})")
# The invisible format characters (category Cf) a name may hold: ZERO WIDTH NON-JOINER and
# ZERO WIDTH JOINER pick a letter's form in Khmer, Burmese, Indic and Persian names. Every
# other one is refused: bidi embeddings, overrides, isolates and marks (U+202A..U+202E,
# U+2066..U+2069, U+200E/U+200F, U+061C) reorder the text around a name on an admin's page,
# and the rest (zero width space, word joiner, soft hyphen, byte order mark, tags) make two
# names that look the same differ.
NAME_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})


class InvalidAccount(Refused):
    """An email, display name, role or scope that an account cannot have."""


def normalize_email(raw: str) -> str:
    """The form an email is kept and looked up in, or InvalidAccount (field email, reason
    invalid).

    Surrounding whitespace goes, the text is NFC, and the whole address is lower-cased, the
    local part too: RFC 5321 lets a server tell "Maria@" from "maria@", but no common mail
    service does, and two accounts differing only in case would be one person locked out of
    her account or two people confused in the audit log. Nothing else is rewritten (dots and
    +tags are one provider's rule, not the address's). The check is on the shape only (one @,
    a dotted domain, no spaces or control characters, RFC 5321 lengths): whether mail arrives
    is for the invitation to find out."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or not local
        or "@" in local
        or len(local) > MAX_LOCAL
        or len(email) > MAX_EMAIL
        or len(labels) < 2
        or not all(labels)
        or any(unicodedata.category(ch)[0] in "CZ" for ch in email)
    ):
        raise InvalidAccount("email", "invalid", f"{raw.strip()!r} is not an email address")
    return email


def check_scope(
    role: str, corridors: Iterable[str], locales: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The role's scope, normalised (corridors upper-case and sorted, locales in the hub's
    order, no repeats), or InvalidAccount.

    A corridor is "ORIGIN-DESTINATION": two different ISO 3166-1 alpha-2 codes known to CLDR
    (field corridors, reason invalid, with the value). A locale is one of the seven (field
    locales, reason unknown). A leader needs at least one corridor and one locale, a
    translator at least one locale and no corridor; admins and curators act everywhere and
    take neither (reasons required and not_allowed)."""
    if role not in ROLES:
        raise InvalidAccount("role", "unknown", f"{role!r} is not a role", value=role)
    kept_corridors = sorted({_corridor(text) for text in corridors})
    wanted = set()
    for text in locales:
        code = text.strip().lower()
        if code not in LOCALES:
            raise InvalidAccount(
                "locales", "unknown", f"{text!r} is not one of the hub's locales", value=text
            )
        wanted.add(code)
    kept_locales = [code for code in LOCALES if code in wanted]
    needs = {"leader": ("corridors", "locales"), "translator": ("locales",)}.get(role, ())
    for field, kept in (("corridors", kept_corridors), ("locales", kept_locales)):
        if field in needs and not kept:
            raise InvalidAccount(field, "required", f"a {role} needs at least one of {field}")
        if field not in needs and kept:
            raise InvalidAccount(field, "not_allowed", f"a {role} has no {field}")
    return tuple(kept_corridors), tuple(kept_locales)


def _corridor(text: str) -> str:
    """One corridor, upper-cased, or InvalidAccount."""
    # Imported here: hub.content's package brings the whole content model with it.
    from hub.content.fields import known_territories

    code = text.strip().upper()
    match = CORRIDOR.fullmatch(code)
    if not match:
        raise InvalidAccount(
            "corridors", "invalid", f"{text!r} is not a corridor like PH-HK", value=text
        )
    origin, destination = match.groups()
    for country in (origin, destination):
        # Countries only (hub/content/fields.py's NOT_COUNTRIES are left out): the same a
        # content file may name.
        if country not in known_territories():
            raise InvalidAccount(
                "corridors", "invalid", f"{country!r} is not an ISO 3166 country code", value=text
            )
    if origin == destination:
        raise InvalidAccount(
            "corridors", "invalid", f"{text!r} goes from a country to itself", value=text
        )
    return code


def clean_display_name(raw: str) -> str:
    """A display name: trimmed, NFC, inner whitespace runs made one space; may be empty.
    Refused (InvalidAccount, field display_name): too_long, invalid (a control character),
    invisible (a format character but ZWNJ and ZWJ: see NAME_FORMAT_CHARACTERS)."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if len(name) > MAX_NAME:
        raise InvalidAccount(
            "display_name", "too_long", f"a display name has at most {MAX_NAME} characters"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidAccount("display_name", "invalid", "a display name has no control characters")
    hidden = next(
        (
            ch
            for ch in name
            if unicodedata.category(ch) == "Cf" and ch not in NAME_FORMAT_CHARACTERS
        ),
        None,
    )
    if hidden is not None:
        raise InvalidAccount(
            "display_name",
            "invisible",
            f"a display name has no invisible formatting characters (U+{ord(hidden):04X})",
        )
    return name
