"""The password policy at its edges, argon2id hashing and verification, and rehashing when the
hasher's parameters change (hub/auth/passwords.py)."""

from __future__ import annotations

import random
import string
import subprocess
import sys
import unicodedata
from typing import Literal

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordRejected,
    Passwords,
    check_password,
)
from hub.settings import PROJECT_ROOT

# Twelve code points that zxcvbn finds no pattern in.
STRONG = "kx7#Qm2!vR9z"
# Thai, 12 code points (vowel and tone marks are code points of their own): "the Mekong flows".
THAI = "แม่น้ำโขงไหล"
# Cheap parameters for the tests that do not look at the cost (argon2's least memory: 8 KiB).
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _long(n: int) -> str:
    """n code points of letters, digits and punctuation in no pattern (the same every run)."""
    chars = string.ascii_letters + string.digits + "!#%&*+-=?@^_~"
    return "".join(random.Random(n).choices(chars, k=n))


def _reason(password: str, **kwargs: object) -> str | None:
    try:
        check_password(password, **kwargs)  # type: ignore[arg-type]
    except PasswordRejected as exc:
        assert exc.field == "password"
        return exc.reason
    return None


# -- the policy --------------------------------------------------------------------------------


def test_at_least_twelve_code_points() -> None:
    assert len(STRONG) == MIN_LENGTH == 12
    assert _reason(STRONG) is None
    with pytest.raises(PasswordRejected) as refused:
        check_password(STRONG[:11])
    assert (refused.value.reason, refused.value.limit) == ("too_short", 12)
    assert _reason("") == "too_short"


def test_a_thai_password_of_twelve_code_points_is_accepted() -> None:
    assert len(THAI) == 12 and unicodedata.is_normalized("NFC", THAI)
    assert _reason(THAI) is None
    assert _reason(THAI[:11]) == "too_short"


def test_length_is_counted_after_nfc() -> None:
    composed = "Việtđẹpnhấ!"  # 11 code points composed, 15 decomposed
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(composed) == 11 and len(decomposed) > 12
    assert _reason(decomposed) == "too_short"
    assert _reason(unicodedata.normalize("NFD", composed + "7")) is None


def test_at_most_the_maximum() -> None:
    assert MAX_LENGTH == 1024
    assert _reason(_long(MAX_LENGTH)) is None
    with pytest.raises(PasswordRejected) as refused:
        check_password(_long(MAX_LENGTH + 1))
    assert (refused.value.reason, refused.value.limit) == ("too_long", MAX_LENGTH)
    assert _reason("x" * 1_000_000) == "too_long"


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # in zxcvbn's passwords list as it is
        "qwertyuiopas",  # a keyboard row, then a word: score 1
        "PASSWORD1234",
        "P@ssw0rd1234",  # l33t
        "drowssap1234",  # reversed
        "1qaz2wsx3edc",  # keyboard columns
        "aaaaaaaaaaaa",
        "abc123abc123",
        "iloveyou1234",
        "hongkong2024",  # a corridor's city and a year: score 2
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    assert len(password) >= MIN_LENGTH
    assert _reason(password) == "common"


def test_a_long_password_is_judged_by_its_beginning() -> None:
    # zxcvbn reads the first 72 code points only: a guessable beginning is enough to refuse.
    assert _reason("password" * 9 + _long(100)) == "common"
    assert _reason(_long(72) + "password" * 9) is None


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "Manila rain at 6am!", "ดอกไม้บานเช้านี้", "ကျွန်မစကားဝှက်"],
)
def test_passphrases_and_other_scripts_pass(password: str) -> None:
    assert _reason(password) is None


def test_the_account_s_own_email_and_name_are_not_a_password() -> None:
    personal = ("maria.santos@example.org", "Maria Santos")
    assert _reason("Maria Santos 1985", personal=personal) == "personal"
    assert _reason("maria.santos!!!", personal=personal) == "personal"
    assert _reason("Maria.Santos@example.org", personal=personal) == "personal"
    # What is left once her name is out is a password of its own.
    assert _reason("maria.santos rice fields at dawn", personal=personal) is None
    # Without the context the same text is only judged on its strength.
    assert _reason("Maria Santos 1985") is None
    # A name too short to forbid (under 4 code points) is ignored.
    assert _reason("ann " + STRONG, personal=("ann@example.org",)) is None


# -- hashing -----------------------------------------------------------------------------------


def test_hash_is_argon2id_with_the_hub_s_parameters_and_a_fresh_salt() -> None:
    passwords = Passwords()
    encoded = passwords.hash(STRONG)
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert STRONG not in encoded
    assert passwords.hash(STRONG) != encoded
    assert passwords.verify(encoded, STRONG) is True
    assert passwords.verify(encoded, STRONG[:-1] + "Z") is False
    assert passwords.needs_rehash(encoded) is False


def test_verify_never_raises() -> None:
    passwords = Passwords(FAST)
    encoded = passwords.hash(STRONG)
    assert passwords.verify(encoded, "") is False
    assert passwords.verify(None, STRONG) is False
    assert passwords.verify("not a hash", STRONG) is False
    assert passwords.verify("$argon2id$v=19$m=8,t=1,p=1$xx$yy", STRONG) is False
    assert passwords.verify(encoded, STRONG + "x" * MAX_LENGTH) is False
    assert passwords.verify(encoded, "x" * 1_000_000) is False


def test_every_answer_costs_one_verification() -> None:
    done: list[bool] = []

    class Counting(PasswordHasher):
        """Counts the argon2 verifications run (a hash that cannot be read runs none)."""

        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            try:
                result = super().verify(hash, password)
            except InvalidHashError:
                raise
            except VerificationError:
                done.append(False)
                raise
            done.append(True)
            return result

    passwords = Passwords(Counting(time_cost=1, memory_cost=8, parallelism=1))
    encoded = passwords.hash(STRONG)
    for password, encoded_or_not, expected in [
        (STRONG, encoded, True),
        ("wrong password", encoded, False),
        (STRONG, None, False),
        (STRONG, "not a hash", False),
        (STRONG, "$argon2id$v=19$m=8,t=1,p=1$xx$yy", False),
        ("x" * 5000, encoded, False),
    ]:
        done.clear()
        assert passwords.verify(encoded_or_not, password) is expected
        assert len(done) == 1, (password, encoded_or_not)


def test_composed_and_decomposed_forms_are_one_password() -> None:
    passwords = Passwords(FAST)
    typed = "Tiếng Việt đẹp lắm"
    nfc, nfd = unicodedata.normalize("NFC", typed), unicodedata.normalize("NFD", typed)
    assert nfc != nfd
    assert passwords.verify(passwords.hash(nfd), nfc) is True
    assert passwords.verify(passwords.hash(nfc), nfd) is True
    assert passwords.verify(passwords.hash(THAI), THAI) is True


def test_a_hash_made_with_other_parameters_needs_rehashing() -> None:
    old = Passwords(FAST)
    current = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    encoded = old.hash(STRONG)
    assert current.verify(encoded, STRONG) is True  # still verifies: the parameters are in it
    assert current.needs_rehash(encoded) is True
    assert old.needs_rehash(encoded) is False
    assert current.needs_rehash(current.hash(STRONG)) is False
    assert current.needs_rehash("not a hash") is True


def test_importing_the_hub_loads_no_password_lists() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hub.auth, hub.app; print('zxcvbn' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    )
    assert done.stdout.strip() == "False"
