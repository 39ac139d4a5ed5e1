"""The hub's VAPID key pair (RFC 8292) and the signed headers made from it.

The private key is HUB_VAPID_PRIVATE_KEY when set (base64url of the raw 32-byte key, or a PEM),
else the PEM file at HUB_DATA_DIR/vapid.pem, made at first start (mode 0600, written whole:
temp file, fsync, rename). A push service sees the same public key for as long as the hub runs
on that folder, so every subscription made against it stays valid across restarts.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]

from hub.settings import SettingsError
from hub.store.files import FILE_MODE, create_private
from hub.store.journal import sync_folder

log = logging.getLogger(__name__)

# How long a signed header is good for (RFC 8292, section 2: at most 24 hours), and how long
# before its end a new one is made, so no message is sent with a token about to lapse on the
# way or at a push service whose clock runs a little ahead.
LIFETIME_SECONDS = 12 * 3600
RENEW_BEFORE_SECONDS = 3600
MAILTO = re.compile(r"mailto:[^@\s/?#]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def check_subject(subject: str) -> str:
    """The VAPID subject as given, or SettingsError: a `mailto:` address or an `https:` URL
    (RFC 8292, section 2.1); empty means not set."""
    if not subject or MAILTO.fullmatch(subject):
        return subject
    parts = urlsplit(subject)
    if parts.scheme == "https" and parts.hostname and not parts.username and " " not in subject:
        return subject
    raise SettingsError(
        "HUB_VAPID_SUBJECT: a mailto: address or an https: URL of the hub's operator, "
        f"not {subject!r}"
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _from_setting(value: str) -> ec.EllipticCurvePrivateKey:
    """The key HUB_VAPID_PRIVATE_KEY holds (never echoed in an error: it is a secret)."""
    text = value.strip()
    try:
        key: object
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if len(raw) != 32:
                raise ValueError(f"{len(raw)} bytes, not 32")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise SettingsError(
            "HUB_VAPID_PRIVATE_KEY: not a P-256 private key (give the base64url of the raw "
            f"32-byte key, or a PEM): {type(exc).__name__}"
        ) from None
    return _p256(key, "HUB_VAPID_PRIVATE_KEY")


def _p256(key: object, where: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SettingsError(f"{where}: a VAPID key is an EC key on the P-256 curve")
    return key


def _from_file(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in the PEM file at `path`, made (and written atomically, 0600) when missing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = ec.generate_private_key(ec.SECP256R1())
        _write_new(path, key)
        log.info("vapid: made a new key pair in %s", path)
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Whoever can read it can send to every subscribed phone as the hub.
        os.chmod(path, FILE_MODE)
        log.warning("vapid: %s was readable by others (mode %o); made it 0600", path, mode)
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{path}: not a PEM private key ({type(exc).__name__})") from None
    return _p256(loaded, str(path))


def _write_new(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)
    with open(create_private(temp), "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    sync_folder(path.parent)


class Vapid:
    """The application server's P-256 key pair and the contact push services see."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        subject: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subject = check_subject(subject)
        self.clock = clock
        # no-strict: py_vapid's own check of `sub` refuses an https URL with a path or port,
        # which RFC 8292 allows; check_subject is the rule here.
        self._signer = Vapid02(key, conf={"no-strict": True})
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = _b64url(point)
        self._headers: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        private_key: str = "",
        subject: str = "",
        clock: Callable[[], float] = time.time,
    ) -> Vapid:
        """The key from `private_key` when given, else the one at `path` (made when missing);
        SettingsError for a key or subject that cannot be used."""
        key = _from_setting(private_key) if private_key.strip() else _from_file(path)
        return cls(key, subject=subject, clock=clock)

    @property
    def ready(self) -> bool:
        """Whether messages may be sent: the operator's contact (HUB_VAPID_SUBJECT) is set."""
        return bool(self.subject)

    def authorization(self, origin: str) -> str:
        """The `Authorization: vapid t=<JWT>, k=<public key>` value for a push service's
        origin (`scheme://host[:port]`, the JWT's `aud`): one per origin, made again when
        less than RENEW_BEFORE_SECONDS of it is left."""
        now = self.clock()
        with self._lock:
            cached = self._headers.get(origin)
            if cached is not None and cached[0] - now > RENEW_BEFORE_SECONDS:
                return cached[1]
            expires = int(now) + LIFETIME_SECONDS
            claims = {"aud": origin, "sub": self.subject, "exp": expires}
            value: str = self._signer.sign(claims)["Authorization"]
            self._headers[origin] = (float(expires), value)
            return value
