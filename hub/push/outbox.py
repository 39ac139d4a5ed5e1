"""The durable outbox: one delivery per (alert, subscription), worked through by the sender."""

from __future__ import annotations

from hub.store import Store


class Outbox:
    """Deliveries of alerts to subscriptions, kept in the store so a restart resumes them."""

    def __init__(self, store: Store) -> None:
        self._store = store
