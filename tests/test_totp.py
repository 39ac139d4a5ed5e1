"""The TOTP second factor's pieces (hub/auth/totp.py): secrets, the enrolment URI and QR code,
and code checks against RFC 6238's own test vectors, one step either side, used steps refused.
Sign-in with a second factor is in tests/test_accounts.py."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

import pytest

from hub.auth import totp

# RFC 6238, appendix B: the SHA-1 seed "12345678901234567890" and its 8-digit codes; a 6-digit
# code is the last six digits (RFC 4226's truncation modulo 10^6).
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
]


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("seconds", "code"), RFC_VECTORS)
def test_the_rfc_6238_vectors_verify_at_their_step(seconds: int, code: str) -> None:
    step = seconds // 30
    assert totp.verify(RFC_SECRET, code[-6:], after_step=None, at=_at(seconds)) == step
    # A minute later the code is two steps old: refused.
    assert totp.verify(RFC_SECRET, code[-6:], after_step=None, at=_at(seconds + 60)) is None


def test_one_step_either_side_is_accepted_two_are_not() -> None:
    seconds, code = 1111111109, "081804"  # step 37037036
    step = seconds // 30
    assert totp.verify(RFC_SECRET, code, after_step=None, at=_at(seconds + 30)) == step
    assert totp.verify(RFC_SECRET, code, after_step=None, at=_at(seconds - 30)) == step
    assert totp.verify(RFC_SECRET, code, after_step=None, at=_at(seconds + 60)) is None
    assert totp.verify(RFC_SECRET, code, after_step=None, at=_at(seconds - 60)) is None
    # The edge of a step: 1111111109 is 29 s into its step; two seconds on is the next one.
    assert totp.verify(RFC_SECRET, code, after_step=None, at=_at(seconds + 2)) == step


def test_a_used_step_or_an_older_one_is_refused() -> None:
    seconds, code = 1111111111, "050471"
    step = seconds // 30
    assert totp.verify(RFC_SECRET, code, after_step=step - 1, at=_at(seconds)) == step
    assert totp.verify(RFC_SECRET, code, after_step=step, at=_at(seconds)) is None
    assert totp.verify(RFC_SECRET, code, after_step=step + 1, at=_at(seconds)) is None


@pytest.mark.parametrize(
    "typed",
    [
        "050 471",
        " 050471\n",
        "\uff10\uff15\uff10\uff14\uff17\uff11",  # full-width
        "\u0e50\u0e55\u0e50\u0e54\u0e57\u0e51",  # Thai
        "\u1040\u1045\u1040\u1044\u1047\u1041",  # Burmese
        "\u17e0\u17e5\u17e0\u17e4\u17e7\u17e1",  # Khmer
    ],
)
def test_spaces_and_digits_of_any_script_are_read(typed: str) -> None:
    assert totp.verify(RFC_SECRET, typed, after_step=None, at=_at(1111111111)) is not None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "05047",
        "0504711",
        "05047l",
        "05047\u00b9",
        "-50471",
        "14050471",
        "\uff105\uff104\uff171x",
    ],
)
def test_what_is_not_a_six_digit_code_is_refused(typed: str) -> None:
    assert totp.verify(RFC_SECRET, typed, after_step=None, at=_at(1111111111)) is None


def test_a_broken_secret_verifies_nothing() -> None:
    for secret in ("", "not base32!", "AAAA"):
        assert totp.verify(secret, "050471", after_step=None, at=_at(1111111111)) is None


def test_new_secrets_are_random_160_bit_base32() -> None:
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert totp.valid_secret(secret)
        assert len(base64.b32decode(secret)) == 20
    for bad in ("", RFC_SECRET.lower(), RFC_SECRET[:-1], RFC_SECRET + "A", RFC_SECRET[:-1] + "1"):
        assert not totp.valid_secret(bad), bad


def test_the_provisioning_uri_names_the_hub_and_the_account() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "maria@example.org", "Migrant Hub")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Migrant Hub:maria@example.org"
    query = parse_qs(parts.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Migrant Hub"]
    # Defaults every app assumes: SHA-1, 6 digits, 30 s (absent, or said so).
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]


def test_the_qr_code_is_a_plain_svg_document() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "maria@example.org", "Migrant Hub")
    svg = totp.qr_svg(uri)
    assert svg.startswith(b"<svg ")  # no XML declaration
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = int(root.attrib["width"]), int(root.attrib["height"])
    assert width == height and 150 <= width <= 360  # fits a 360 px screen
    text = svg.decode()
    for banned in ("<script", "style", "on", "href", "class="):
        assert not re.search(rf"[\s<]{banned}", text), banned
    # Black modules on a white ground (a dark page would hide a transparent one).
    paths = list(root.iter("{http://www.w3.org/2000/svg}path"))
    assert {p.get("fill") or p.get("stroke") for p in paths} >= {"#fff", "#000"}
    # Another URI, another picture.
    other = totp.provisioning_uri(totp.new_secret(), "maria@example.org", "Migrant Hub")
    assert totp.qr_svg(other) != svg


def test_verify_reads_the_moment_in_any_zone() -> None:
    bangkok = _at(1111111111).astimezone(timezone(timedelta(hours=7)))
    assert totp.verify(RFC_SECRET, "050471", after_step=None, at=bangkok) == 1111111111 // 30
