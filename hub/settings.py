"""One frozen Settings object, read from HUB_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    response_cache_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata={"doc": "Most bytes of finished pages the response cache keeps in memory"},
    )
    source_max_age_years: int = field(
        default=4,
        metadata={
            "doc": "`hub check` warns on a directory number whose newest source is older (years)"
        },
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build Settings from HUB_* variables, falling back to the defaults."""
        env = os.environ if environ is None else environ
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


def documented() -> dict[str, str]:
    """Each HUB_* variable name with its one-line description."""
    return {f"HUB_{f.name.upper()}": str(f.metadata["doc"]) for f in fields(Settings)}
