"""TOTP second factor (RFC 6238 through pyotp: 30-second steps, 6 digits, SHA-1, what every
authenticator app reads): secrets, the enrolment QR code (segno) and code checks that refuse
a step already used."""

from __future__ import annotations

import hmac
import io
import unicodedata
from datetime import datetime

import pyotp
import segno

DIGITS = 6
# 160 bits, RFC 4226's recommended length and pyotp's default.
SECRET_LENGTH = 32
BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
# A code of the step before or after the current one is accepted too: a phone's clock a little
# off, or a code typed as it changed.
WINDOW = 1


def new_secret() -> str:
    """A new random secret, base32 (pyotp.random_base32: 160 bits from the OS)."""
    return pyotp.random_base32(SECRET_LENGTH)


def valid_secret(secret: str) -> bool:
    """Whether a text is a secret this hub makes: SECRET_LENGTH base32 characters."""
    return len(secret) == SECRET_LENGTH and set(secret) <= BASE32


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app enrols from (the QR code's content)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> bytes:
    """The URI as a QR code: a standalone SVG document (no XML declaration, no script, no
    style), black on white with its quiet zone, so it scans on a dark page too."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        scale=5,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgclass=None,
        lineclass=None,
    )
    return out.getvalue()


def verify(secret: str, code: str, *, after_step: int | None, at: datetime) -> int | None:
    """The time step whose code `code` is (the step of `at`, or one before or after it), or
    None; a step at or before `after_step` (one already used) never matches.

    Spaces in the code are ignored and digits of any script read as 0-9 (a Burmese or Thai
    keyboard types its own). `at` must be aware (UTC or any zone)."""
    digits = _digits(code)
    if digits is None:
        return None
    try:
        totp = pyotp.TOTP(secret, digits=DIGITS)
        totp.byte_secret()
    except ValueError:  # not base32 (binascii.Error), or too short to be a secret
        return None
    now = totp.timecode(at)
    matched = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        # Every candidate is compared, in constant time, whatever the others gave; should two
        # steps share a code, the later one counts (and is used up).
        same = hmac.compare_digest(totp.generate_otp(step), digits)
        if same and (after_step is None or step > after_step):
            matched = step
    return matched


def _digits(code: str) -> str | None:
    """The code as DIGITS ASCII digits, or None."""
    text = "".join(code.split())
    if len(text) != DIGITS or not all(ch.isdecimal() for ch in text):
        return None
    return "".join(str(unicodedata.decimal(ch)) for ch in text)
