"""Which push services a subscription's endpoint may be on (HUB_PUSH_SERVICES)."""

from __future__ import annotations


class PushServices:
    """The push-service origins the hub may send to; every other URL is refused."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins

    @classmethod
    def parse(cls, setting: str) -> PushServices:
        """The origins of a comma-separated HUB_PUSH_SERVICES value."""
        return cls(tuple(o.strip() for o in setting.split(",") if o.strip()))
