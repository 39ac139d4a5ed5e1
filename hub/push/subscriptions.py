"""Push subscriptions kept in the store: endpoint, keys and preferences, nothing of the person."""

from __future__ import annotations

from hub.push.endpoints import PushServices
from hub.store import Store


class Subscriptions:
    """The phones subscribed to alerts."""

    def __init__(self, store: Store, *, services: PushServices, confirm_days: int) -> None:
        self._store = store
        self.services = services
        self.confirm_days = confirm_days
