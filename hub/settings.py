"""One frozen Settings object, read from HUB_* environment variables and a .env file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path(".env")
# Defaults that the modules using them take as their own (a caller without Settings, a test).
RESPONSE_CACHE_BYTES = 32 * 1024 * 1024
# A number whose newest stating source is older than this many years (counted by year) is
# flagged for re-checking; the content review of 2026-11 set "2022 or later".
SOURCE_MAX_AGE_YEARS = 4
STORE_SNAPSHOT_BYTES = 16 * 1024 * 1024
# The push services of Chrome and Android (Google's FCM), Firefox (Mozilla's autopush), Edge
# (Microsoft's WNS, one host per region) and Safari (Apple's).
DEFAULT_PUSH_SERVICES = ",".join(
    [
        "https://fcm.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://*.notify.windows.com",
        "https://web.push.apple.com",
    ]
)


class SettingsError(ValueError):
    """A HUB_* variable holds a value that cannot be used."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"not a boolean: {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told from outside; one field per HUB_* variable."""

    data_dir: Path = field(
        default=Path("var"), metadata={"doc": "Folder for the store and other state"}
    )
    content_dir: Path = field(
        default=PROJECT_ROOT / "content", metadata={"doc": "Folder of the content tree"}
    )
    locales_dir: Path = field(
        default=PROJECT_ROOT / "locales", metadata={"doc": "Folder of gettext catalogs"}
    )
    static_dir: Path = field(
        default=PROJECT_ROOT / "static", metadata={"doc": "Folder of CSS, JS and icons"}
    )
    host: str = field(default="127.0.0.1", metadata={"doc": "Address `hub serve` binds"})
    port: int = field(default=8000, metadata={"doc": "Port `hub serve` listens on"})
    debug: bool = field(default=False, metadata={"doc": "Show tracebacks instead of the 500 page"})
    quick_exit_url: str = field(
        default="https://www.google.com/",
        metadata={"doc": "Neutral site the quick-exit control leaves to"},
    )
    https_only: bool = field(
        default=False, metadata={"doc": "Mark cookies Secure (set behind HTTPS)"}
    )
    warm_up: bool = field(
        default=True,
        metadata={
            "doc": "After start, render every article, check the links, make the search "
            "indexes and save the content cache in the background (off: each page and index "
            "is made when first asked for; links are checked by `hub check` only)"
        },
    )
    response_cache_bytes: int = field(
        default=RESPONSE_CACHE_BYTES,
        metadata={"doc": "Most bytes of finished pages the response cache keeps in memory"},
    )
    source_max_age_years: int = field(
        default=SOURCE_MAX_AGE_YEARS,
        metadata={
            "doc": "`hub check` warns on a directory number whose newest source is older (years)"
        },
    )
    timeout_keep_alive: int = field(
        default=5,
        metadata={"doc": "Seconds an idle connection stays open after a response (uvicorn)"},
    )
    timeout_request: int = field(
        default=20,
        metadata={
            "doc": "Seconds a client has to send a whole request, from connecting or from the "
            "previous response; then the connection is closed"
        },
    )
    limit_concurrency: int = field(
        default=1000,
        metadata={
            "doc": "Connections (idle ones count) and requests at once: a request arriving "
            "while this many are open gets uvicorn's 503 (0: no cap)"
        },
    )
    max_header_bytes: int = field(
        default=16 * 1024,
        metadata={
            "doc": "Most bytes of a request line and headers still incomplete; past it the "
            "request is refused with 400 and the connection closed"
        },
    )
    backlog: int = field(
        default=2048,
        metadata={"doc": "Connections the kernel queues before the server accepts them"},
    )
    timeout_graceful_shutdown: int = field(
        default=10,
        metadata={"doc": "Seconds requests in progress get to finish on shutdown"},
    )
    forwarded_allow_ips: str = field(
        default="",
        metadata={
            "doc": "Comma-separated proxy addresses whose X-Forwarded-Proto is trusted, and "
            "their X-Forwarded-For on console paths only (empty: proxy headers ignored)"
        },
    )

    store_snapshot_bytes: int = field(
        default=STORE_SNAPSHOT_BYTES,
        metadata={
            "doc": "Bytes of store journal after which the snapshot is rewritten in the "
            "background (start-up replays at most about this much)"
        },
    )

    session_idle_minutes: int = field(
        default=30,
        metadata={"doc": "Minutes without a request after which a console session ends"},
    )
    session_max_hours: int = field(
        default=12,
        metadata={"doc": "Hours after sign-in at which a console session ends, however used"},
    )
    require_2fa: bool = field(
        default=False,
        metadata={"doc": "Admins must set up a second factor (TOTP) before using the console"},
    )
    signin_failures: int = field(
        default=5,
        metadata={
            "doc": "Failed sign-ins per account, and per client, after which sign-in is "
            "refused (429) until the window has passed"
        },
    )
    signin_window_seconds: int = field(
        default=900,
        metadata={"doc": "Seconds over which failed sign-ins are counted (kept in memory only)"},
    )

    push_services: str = field(
        default=DEFAULT_PUSH_SERVICES,
        metadata={
            "doc": "Comma-separated origins of the push services a subscription's endpoint may "
            "be on (https; `https://*.example` allows its subdomains; a loopback http origin "
            "only when listed exactly, for tests)"
        },
    )
    vapid_private_key: str = field(
        default="",
        metadata={
            "doc": "VAPID private key (base64url of the raw P-256 key, or PEM); empty: one is "
            "made at first start in HUB_DATA_DIR/vapid.pem (mode 0600)"
        },
    )
    vapid_subject: str = field(
        default="",
        metadata={
            "doc": "VAPID contact of the hub's operator, a mailto: or https: URL; nothing is "
            "sent to push services until it is set"
        },
    )
    push_in_flight: int = field(
        default=64,
        metadata={"doc": "Push messages sent at once, across every push service"},
    )
    push_attempts: int = field(
        default=8,
        metadata={
            "doc": "Tries of a message that meets a 5xx or a timeout (exponential backoff with "
            "jitter between them) before it counts as failed"
        },
    )
    push_timeout_seconds: int = field(
        default=15,
        metadata={"doc": "Seconds a push service has to answer one message"},
    )
    alerts_per_day: int = field(
        default=5,
        metadata={"doc": "Alerts one peer leader may submit in 24 hours"},
    )
    subscribe_per_hour: int = field(
        default=20,
        metadata={
            "doc": "Subscription requests (new or changed) one client may make per hour "
            "(counted in memory by a keyed hash of its address, never stored)"
        },
    )
    subscription_confirm_days: int = field(
        default=60,
        metadata={
            "doc": "Days after which a push subscription its phone has not re-confirmed is "
            "deleted (Apple's service accepts messages for expired ones)"
        },
    )

    def __post_init__(self) -> None:
        for name, least in _LEAST.items():
            value = getattr(self, name)
            if value < least:
                raise SettingsError(f"HUB_{name.upper()}: at least {least}, not {value}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build Settings from HUB_* variables, falling back to the defaults.

        Given a mapping, only that mapping is read. Without one, the process environment is
        read over `.env` in the current folder (see `process_environment`)."""
        env = process_environment() if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"HUB_{f.name.upper()}")
            if raw is None:
                continue
            default = f.default
            try:
                if isinstance(default, bool):
                    values[f.name] = _bool(raw)
                elif isinstance(default, int):
                    values[f.name] = int(raw)
                elif isinstance(default, Path):
                    values[f.name] = Path(raw)
                else:
                    values[f.name] = raw
            except ValueError as exc:
                raise SettingsError(f"HUB_{f.name.upper()}: {exc}") from exc
        return cls(**values)  # type: ignore[arg-type]

    @property
    def store_path(self) -> Path:
        """Path of the embedded TinyDB store file."""
        return self.data_dir / "hub.json"


# The least value each server limit can take; a smaller one is refused, not clamped.
_LEAST = {
    "timeout_keep_alive": 1,
    "timeout_request": 1,
    "limit_concurrency": 0,
    "max_header_bytes": 1024,
    "backlog": 1,
    "timeout_graceful_shutdown": 0,
    "store_snapshot_bytes": 4096,
    "session_idle_minutes": 1,
    "session_max_hours": 1,
    "signin_failures": 1,
    "signin_window_seconds": 1,
    "push_in_flight": 1,
    "push_attempts": 1,
    "push_timeout_seconds": 1,
    "alerts_per_day": 1,
    "subscribe_per_hour": 1,
    "subscription_confirm_days": 1,
}


def read_env_file(path: Path) -> dict[str, str]:
    """The HUB_* values of a .env file ({} when there is none); SettingsError on a name
    that is no setting, so a typo is not silently ignored."""
    if not path.is_file():
        return {}
    # Values are taken as written: no ${VAR} expansion from the environment.
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    known = set(documented())
    for name in values:
        if name.startswith("HUB_") and name not in known:
            raise SettingsError(f"{path}: {name} is not a setting")
    return {name: value for name, value in values.items() if value is not None}


def process_environment(
    environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> dict[str, str]:
    """The variables the hub is run with: `env_file` (default `.env` in the current folder)
    overlaid by the environment (default os.environ), so an exported variable wins."""
    env = os.environ if environ is None else environ
    return {**read_env_file(env_file), **env}


def documented() -> dict[str, str]:
    """Each HUB_* variable name with its one-line description."""
    return {f"HUB_{f.name.upper()}": str(f.metadata["doc"]) for f in fields(Settings)}
