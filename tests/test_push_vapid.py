"""The hub's VAPID key (hub/push/vapid.py): made once under HUB_DATA_DIR, or given; the signed
header made once per push service and renewed before it expires."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode as decode_jwt  # type: ignore[import-untyped]
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.vapid import LIFETIME_SECONDS, RENEW_BEFORE_SECONDS, Vapid
from hub.settings import Settings, SettingsError

SUBJECT = "mailto:ops@hub.example"
ORIGIN = "https://fcm.googleapis.com"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public(key: ec.EllipticCurvePrivateKey) -> str:
    return _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _claims(header: str) -> dict[str, object]:
    """The verified claims of an `Authorization: vapid t=..., k=...` value."""
    assert header.startswith("vapid ")
    parts = dict(p.strip().split("=", 1) for p in header[len("vapid ") :].split(","))
    claims: dict[str, object] = decode_jwt(parts["t"], parts["k"])
    return claims


def _public_key_of(settings: Settings) -> str:
    with TestClient(create_app(settings)) as client:
        key: str = client.app.state.vapid.public_key  # type: ignore[attr-defined]
        return key


def test_a_key_is_made_at_first_start_readable_by_the_hub_only_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = _public_key_of(settings)
    pem = settings.data_dir / "vapid.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert not (settings.data_dir / "vapid.pem.tmp").exists()
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    # The page's applicationServerKey: the 65-byte uncompressed point of that key.
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert len(raw) == 65 and raw[0] == 4
    assert first == _public(key)
    written = pem.read_bytes()
    # A restart reads it back: every subscription made against it stays valid.
    assert _public_key_of(settings) == first
    assert pem.read_bytes() == written


def test_a_key_file_others_could_read_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    first = Vapid.load(path, subject=SUBJECT)
    os.chmod(path, 0o644)
    again = Vapid.load(path, subject=SUBJECT)
    assert again.public_key == first.public_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_key_in_the_environment_wins_raw_or_pem(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = _b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    for given in (raw, pem):
        settings = Settings(data_dir=tmp_path / "var", vapid_private_key=given)
        assert _public_key_of(settings) == _public(key)
        assert not (settings.data_dir / "vapid.pem").exists()


@pytest.mark.parametrize(
    "value",
    [
        "not a key",
        _b64url(b"\x01" * 31),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        # An RSA key is a key, but not one VAPID can use.
        "rsa",
    ],
)
def test_a_bad_key_in_the_environment_stops_the_start_with_a_clear_error(
    tmp_path: Path, value: str
) -> None:
    if value == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        value = (
            rsa.generate_private_key(public_exponent=65537, key_size=1024)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
    settings = Settings(data_dir=tmp_path / "var", vapid_private_key=value)
    with pytest.raises(SettingsError, match="HUB_VAPID_PRIVATE_KEY") as raised:
        _public_key_of(settings)
    # The secret is never echoed in the error.
    assert value.strip() not in str(raised.value)


@pytest.mark.parametrize("subject", ["ops@hub.example", "http://hub.example", "mailto:nobody"])
def test_a_subject_that_is_no_mailto_or_https_url_is_refused(tmp_path: Path, subject: str) -> None:
    with pytest.raises(SettingsError, match="HUB_VAPID_SUBJECT"):
        Vapid.load(tmp_path / "vapid.pem", subject=subject)


@pytest.mark.parametrize(
    ("subject", "ready"),
    [("", False), (SUBJECT, True), ("https://hub.example/contact", True)],
)
def test_ready_only_with_a_subject(tmp_path: Path, subject: str, ready: bool) -> None:
    assert Vapid.load(tmp_path / "vapid.pem", subject=subject).ready is ready


def test_the_header_is_made_once_per_push_service_and_renewed_before_it_expires(
    tmp_path: Path,
) -> None:
    now = [1_800_000_000.0]
    vapid = Vapid.load(tmp_path / "vapid.pem", subject=SUBJECT, clock=lambda: now[0])
    first = vapid.authorization(ORIGIN)
    claims = _claims(first)
    assert claims == {"aud": ORIGIN, "sub": SUBJECT, "exp": int(now[0]) + LIFETIME_SECONDS}
    assert isinstance(claims["exp"], int) and claims["exp"] - now[0] <= 24 * 3600
    assert first.split("k=")[1] == vapid.public_key
    # Reused while more than RENEW_BEFORE_SECONDS of it is left.
    now[0] += LIFETIME_SECONDS - RENEW_BEFORE_SECONDS - 1
    assert vapid.authorization(ORIGIN) == first
    # Another push service gets its own, with its own audience.
    other = vapid.authorization("https://web.push.apple.com")
    assert _claims(other)["aud"] == "https://web.push.apple.com"
    # Renewed before the first one lapses, with a new expiry still within 24 hours.
    now[0] += 2
    renewed = vapid.authorization(ORIGIN)
    assert renewed != first
    renewed_claims = _claims(renewed)
    assert renewed_claims["exp"] == int(now[0]) + LIFETIME_SECONDS
    assert int(str(renewed_claims["exp"])) > int(str(claims["exp"]))


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HUB_VAPID_SUBJECT", "bogus", "hub: HUB_VAPID_SUBJECT: "),
        ("HUB_VAPID_PRIVATE_KEY", "not-a-key", "hub: HUB_VAPID_PRIVATE_KEY: not a P-256"),
    ],
)
def test_hub_serve_with_an_unusable_vapid_setting_says_so_in_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATA_DIR": str(tmp_path / "var"), "HUB_PORT": "1", name: value}
    hub = Path(sys.executable).parent / "hub"
    result = subprocess.run(
        [str(hub), "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(says) and result.stderr.count("\n") == 1, result.stderr
    assert value not in result.stderr or name == "HUB_VAPID_SUBJECT"
