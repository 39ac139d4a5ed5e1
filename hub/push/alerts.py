"""Alerts by peer leaders: drafts, moderation, publication, withdrawal and correction."""

from __future__ import annotations

from collections.abc import Callable

from hub.push.outbox import Outbox
from hub.push.subscriptions import Subscriptions
from hub.store import Store


class Alerts:
    """The alerts kept in the store, and the steps of their life."""

    def __init__(
        self,
        store: Store,
        *,
        outbox: Outbox,
        subscriptions: Subscriptions,
        per_day: int,
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._subscriptions = subscriptions
        self.per_day = per_day
        self._wake = wake
