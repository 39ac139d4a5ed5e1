"""The console's sign-in guards at the edges the other tests leave open (found by a mutation run
over hub/auth/passwords.py, totp.py and throttle.py): the English text of a refusal, the
boundaries of the password policy, the enrolment QR code's size, attempts settled twice, and
what the throttle keeps in memory."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from argon2 import PasswordHasher

from hub.auth import totp
from hub.auth.passwords import PasswordRejected, Passwords, check_password
from hub.auth.throttle import SignInThrottle, Throttled

# Cheap argon2 parameters (its least memory): these tests look at answers, not at the cost.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.23"
# The 36 Greek letters whose canonical decomposition is four code points (a vowel, a breathing,
# an accent and the iota subscript): NFC composes each of them back into one.
GREEK_FOUR = "ᾂᾃᾄᾅᾆᾇᾊᾋᾌᾍᾎᾏᾒᾓᾔᾕᾖᾗᾚᾛᾜᾝᾞᾟᾢᾣᾤᾥᾦᾧᾪᾫᾬᾭᾮᾯ"


def _reason(password: str, personal: tuple[str, ...] = ()) -> str | None:
    try:
        check_password(password, personal=personal)
    except PasswordRejected as exc:
        return exc.reason
    return None


def _greek(n: int) -> str:
    """n Greek letters of four code points each (composed), in no pattern (the same every run)."""
    return "".join(random.Random(n).choices(GREEK_FOUR, k=n))


# -- the password policy ----------------------------------------------------------------------


def test_the_cli_says_in_english_why_a_password_is_refused() -> None:
    cases = [
        ("short", (), "a password needs at least 12 characters"),
        ("x" * 1025, (), "a password may have at most 1024 characters"),
        (
            "Maria Santos 1985",
            ("Maria Santos",),
            "a password must not be made of your email or name",
        ),
        ("password1234", (), "this password is too common or too easy to guess"),
    ]
    for password, personal, text in cases:
        with pytest.raises(PasswordRejected) as refused:
            check_password(password, personal=personal)
        assert str(refused.value) == text


def test_a_password_typed_as_4096_code_points_that_compose_into_1024_is_accepted() -> None:
    composed = _greek(1024)
    typed = unicodedata.normalize("NFD", composed)
    assert len(GREEK_FOUR) == 36 and len(typed) == 4 * 1024
    assert _reason(typed) is None
    # And it signs in, typed either way.
    passwords = Passwords(FAST)
    assert passwords.verify(passwords.hash(composed), typed) is True
    # One letter more is over the bound, however it is typed.
    longer = unicodedata.normalize("NFD", _greek(1025))
    assert _reason(longer) == "too_long"
    assert passwords.verify(passwords.hash(composed), longer) is False


def test_the_longest_password_allowed_signs_in() -> None:
    password = "".join(random.Random(7).choices("abcdefghkmnpqrstuvwxyz23456789!#%", k=1024))
    assert _reason(password) is None
    passwords = Passwords(FAST)
    assert passwords.verify(passwords.hash(password), password) is True


def test_what_is_left_once_the_name_is_out_must_itself_be_twelve_long() -> None:
    personal = ("maria.santos@example.org", "Maria Santos")
    # Eight left ("30/11/24"): refused for the name, not judged on its strength.
    assert _reason("Maria Santos 30/11/24", personal) == "personal"
    # Twelve left: a password of its own.
    assert _reason("Maria Santos kx7#Qm2!vR9z", personal) is None


def test_a_four_letter_name_is_forbidden_too() -> None:
    assert _reason("Anna kx7#Qm2!", ("anna@example.org",)) == "personal"
    assert _reason("Anna kx7#Qm2!") is None


def test_the_longest_personal_text_is_taken_out_first() -> None:
    # "santos" (the address's local part) lies inside "mariasantos" (the name): taken out
    # first, it would leave "maria" behind and thirteen characters in all.
    personal = ("santos@example.org", "Maria Santos")
    assert _reason("Maria Santos kx7#Qm2!", personal) == "personal"


def test_a_name_written_like_an_address_loses_what_comes_before_its_last_at() -> None:
    # As an email's local part is read: everything before the last "@".
    personal = ("lito@example.org", "Lito@Cebu@Port")
    assert _reason("Lito@Cebu kx7#Qm2!", personal) == "personal"


def test_a_leaked_password_is_refused_even_reversed_in_mixed_case() -> None:
    # "olcrackmaster" from zxcvbn's passwords list, reversed with every other letter upper-case:
    # more than 10^8 guesses by zxcvbn's score, but still one leaked password.
    assert _reason("rEtSaMkCaRcLo") == "common"


def test_a_leaked_word_followed_by_a_strong_part_is_accepted() -> None:
    assert _reason("passwordkx7#Qm2!") is None


def test_a_password_of_zxcvbn_score_three_is_accepted() -> None:
    # More than 10^8 guesses ("moderate protection from an offline slow-hash attack").
    assert _reason("sunflower seeds") is None


# -- the TOTP enrolment -------------------------------------------------------------------------


def test_a_secret_with_every_base32_letter_once_is_a_valid_secret() -> None:
    assert totp.valid_secret("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_the_enrolment_qr_code_is_five_pixels_a_module_with_medium_error_correction() -> None:
    uri = totp.provisioning_uri(
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "maria@example.org", "Migrant Hub"
    )
    svg = totp.qr_svg(uri)
    # 109 characters at level M need a version 7 symbol: 45 modules and a quiet zone of 4 on
    # each side, 53 modules of 5 px (level L would fit version 6: 245 px).
    assert b'width="265" height="265"' in svg


# -- the sign-in throttle ---------------------------------------------------------------------


def test_a_refused_sign_in_says_how_long_to_wait() -> None:
    throttle = SignInThrottle(failures=1, window=900)
    throttle.begin("maria@example.org", CLIENT).failed()
    with pytest.raises(Throttled) as held:
        throttle.begin("maria@example.org", OTHER_CLIENT)
    assert held.value.wait in (899, 900)
    assert str(held.value) == f"too many sign-in attempts: wait {held.value.wait} s"


def test_one_failure_and_one_second_make_a_throttle_that_keeps_its_limits() -> None:
    throttle = SignInThrottle(failures=1, window=1)
    assert (throttle.failures, throttle.window) == (1, 1)
    throttle.failed("maria@example.org", CLIENT)
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) == 1


def test_a_throttle_without_failures_or_time_says_so() -> None:
    with pytest.raises(ValueError) as refused:
        SignInThrottle(failures=0)
    assert str(refused.value) == "a sign-in throttle needs at least one failure and one second"


def test_an_attempt_settled_twice_counts_once() -> None:
    throttle = SignInThrottle(failures=2, window=900)
    attempt = throttle.begin("maria@example.org", CLIENT)
    attempt.failed()
    attempt.failed()
    with throttle.begin("ana@example.org", CLIENT) as other:
        other.failed()
    # One failure each for the accounts: two for the client, which is now held back.
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) is None
    assert throttle.retry_after("ana@example.org", OTHER_CLIENT) is None
    assert throttle.retry_after("someone@example.org", CLIENT) is not None


def test_an_attempt_still_in_flight_keeps_counting_after_another_fails() -> None:
    throttle = SignInThrottle(failures=2, window=900)
    first = throttle.begin("maria@example.org", CLIENT)
    second = throttle.begin("maria@example.org", OTHER_CLIENT)
    first.failed()
    # One failure and one password still being checked: no attempt left.
    with pytest.raises(Throttled):
        throttle.begin("maria@example.org", "192.0.2.9")
    second.succeeded()
    throttle.begin("maria@example.org", "192.0.2.9").succeeded()


def test_settled_attempts_leave_nothing_in_flight() -> None:
    throttle = SignInThrottle(failures=5, window=900)
    for n in range(20):
        with throttle.begin(f"user{n}@example.org", f"192.0.2.{n}") as attempt:
            if n % 2:
                attempt.succeeded()
    assert not throttle._in_flight


def test_a_sign_in_name_that_is_no_email_is_lower_cased_not_upper_cased() -> None:
    throttle = SignInThrottle(failures=2, window=900)
    throttle.failed("STRASSE", CLIENT)
    throttle.failed("strasse", OTHER_CLIENT)
    assert throttle.retry_after("Strasse", "192.0.2.9") is not None
    # "ß" upper-cases to "SS" but lower-cases to itself: "straße" is another name.
    assert throttle.retry_after("straße", "192.0.2.9") is None


def test_a_sign_in_name_with_a_lone_surrogate_is_counted() -> None:
    throttle = SignInThrottle(failures=2, window=900)
    for client in (CLIENT, OTHER_CLIENT):
        throttle.failed("maria\udcff", client)
    assert throttle.retry_after("maria\udcff", "192.0.2.9") is not None
    assert throttle.retry_after("maria", "192.0.2.9") is None


def test_every_name_and_address_is_kept_as_a_128_bit_hash() -> None:
    throttle = SignInThrottle(failures=1, window=900)
    throttle.failed("m" * 10_000, "2001:db8:1:2::1111")
    assert throttle.first_refusal("m" * 10_000, "2001:db8:1:2::1111")
    kept = repr(vars(throttle._limiter.storage))
    # The failures and the refusal noted, each by account and by client: nothing but a hash.
    keys = set(re.findall(r"LIMITER/([^/]*)/", kept))
    assert len(keys) == 4
    for key in keys:
        assert re.fullmatch("(noted:)?(account|client):[0-9a-f]{32}", key), key
