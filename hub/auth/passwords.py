"""Passwords: the policy a new password must meet, and argon2id hashing that is rehashed when
its parameters change.

A password is compared as Unicode NFC (the same Thai or Vietnamese password typed on two
keyboards can arrive composed or decomposed), and its length is counted in code points of that
form. Nothing else is changed: spaces and case are the user's own.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.auth.errors import Refused

MIN_LENGTH = 12
# Bounds the cost of normalising and hashing what a form sends; a passphrase never needs more.
MAX_LENGTH = 1024
# zxcvbn's matching grows fast with length (1,024 repeated letters take minutes; 72 take 0.1 s),
# so it reads only this many code points: its own default bound. A longer password is judged by
# its beginning, which can only make the policy stricter.
ANALYSED_LENGTH = 72
# zxcvbn's score: 3 means more than 10^8 guesses ("moderate protection from an offline
# slow-hash attack"), what a copy of the store would face; 2 stops only online guessing.
MIN_SCORE = 3
# A name or address shorter than this is too common a piece of text to forbid.
MIN_PERSONAL = 4

# OWASP's first recommended argon2id configuration (19 MiB, 2 passes, 1 lane): argon2-cffi's
# default (64 MiB, 3 passes, 4 lanes) costs 0.5 s of a shared 2-core box and 64 MiB per sign-in,
# against a serving budget of 150 MB. Raising these later rehashes each account on sign-in.
TIME_COST = 2
MEMORY_KIB = 19 * 1024
PARALLELISM = 1

Reason = Literal["too_short", "too_long", "personal", "common"]


class PasswordRejected(Refused):
    """A new password the policy refuses; `reason` is too_short, too_long, personal (little is
    left once the account's own email and name are taken out) or common; `limit` is the bound
    broken (for too_short and too_long), else None."""

    def __init__(self, reason: Reason, message: str, *, limit: int | None = None) -> None:
        super().__init__("password", reason, message)
        self.limit = limit


def normalize(password: str) -> str:
    """The form a password is measured, hashed and verified in (NFC)."""
    return unicodedata.normalize("NFC", password)


def check_password(password: str, *, personal: Iterable[str] = ()) -> None:
    """Raise PasswordRejected unless the password may be set.

    Refused, in this order: more than MAX_LENGTH code points (too_long); fewer than MIN_LENGTH
    (too_short); fewer than MIN_LENGTH left once every `personal` text (the account's email, its
    local part, its display name; case-insensitive, ignoring spaces) is taken out (personal);
    common (zxcvbn on the first ANALYSED_LENGTH code points, with its bundled frequency lists:
    the whole password is one match in its "passwords" list, even with changed case, l33t
    substitutions or reversed, or its score is below MIN_SCORE, i.e. 10^8 guesses or fewer)."""
    # A bound on the text as sent, before normalising: NFC composes a few code points into one,
    # never dozens, so a text this long cannot come under MAX_LENGTH.
    if len(password) > 4 * MAX_LENGTH:
        raise _too_long()
    password = normalize(password)
    if len(password) > MAX_LENGTH:
        raise _too_long()
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(
            "too_short", f"a password needs at least {MIN_LENGTH} characters", limit=MIN_LENGTH
        )
    rest = "".join(password.casefold().split())
    for text in _personal_texts(personal):
        rest = rest.replace(text, "")
    if len(rest) < MIN_LENGTH:
        raise PasswordRejected("personal", "a password must not be made of your email or name")
    if _common(password[:ANALYSED_LENGTH]):
        raise PasswordRejected("common", "this password is too common or too easy to guess")


def _too_long() -> PasswordRejected:
    return PasswordRejected(
        "too_long", f"a password may have at most {MAX_LENGTH} characters", limit=MAX_LENGTH
    )


def _personal_texts(personal: Iterable[str]) -> list[str]:
    """The texts a password must be more than: each given one and, for an email, its local
    part; folded like the password, longest first (so "maria.s" goes before "maria")."""
    texts = set()
    for item in personal:
        folded = "".join(normalize(item).casefold().split())
        texts.add(folded)
        if "@" in folded:
            texts.add(folded.rpartition("@")[0])
    return sorted((t for t in texts if len(t) >= MIN_PERSONAL), key=len, reverse=True)


def _common(password: str) -> bool:
    """Whether zxcvbn finds the password in its common-passwords list or easy to guess."""
    # zxcvbn reads its frequency lists when imported: here, never at the hub's import. No
    # user_inputs are passed: zxcvbn keeps them in a module-global dict, shared by threads.
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    result: dict[str, Any] = zxcvbn(password, max_length=ANALYSED_LENGTH)
    sequence = result["sequence"]
    if (
        len(sequence) == 1
        and sequence[0]["pattern"] == "dictionary"
        and sequence[0]["dictionary_name"] == "passwords"
    ):
        return True
    return int(result["score"]) < MIN_SCORE


class Passwords:
    """argon2id hashing of passwords: hash, verify, and whether a hash needs redoing."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher(
            time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM
        )
        # Verified in place of a missing account's hash, so that an unknown email costs what a
        # wrong password costs. Made now, not on first use: that first use would be slower.
        self.dummy_hash = self.hasher.hash("a password no account has")

    def hash(self, password: str) -> str:
        """The encoded argon2id hash of a password (its NFC form), with a new random salt."""
        return self.hasher.hash(normalize(password))

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether the password matches the hash; False, never an exception, for a wrong
        password, a missing (None) or unreadable hash, or a password too long to be one.

        Every answer costs one argon2 verification (of the dummy hash when there is no usable
        hash), and argon2 compares in constant time."""
        if encoded is None or len(password) > 4 * MAX_LENGTH:
            self._spend(password[:MAX_LENGTH])
            return False
        password = normalize(password)
        if len(password) > MAX_LENGTH:
            self._spend(password[:MAX_LENGTH])
            return False
        try:
            return self.hasher.verify(encoded, password)
        except InvalidHashError:
            self._spend(password)
            return False
        except VerificationError:  # VerifyMismatchError: the wrong password
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Whether the hash was made with other parameters (or another variant) than this
        hasher's: rehash the password at the next successful sign-in."""
        try:
            return self.hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    def _spend(self, password: str) -> None:
        """Verify against the dummy hash, for the time it takes."""
        with contextlib.suppress(VerificationError):
            self.hasher.verify(self.dummy_hash, password)
