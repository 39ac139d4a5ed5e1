"""The fan-out sender: works through the outbox over one aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from hub.push.endpoints import PushServices
from hub.push.outbox import Outbox
from hub.push.subscriptions import Subscriptions
from hub.push.vapid import Vapid
from hub.store import Store


class Sender:
    """Sends what the outbox holds to the push services, under their error contract."""

    def __init__(
        self,
        store: Store,
        *,
        outbox: Outbox,
        subscriptions: Subscriptions,
        vapid: Vapid,
        services: PushServices,
        neutral: Mapping[str, tuple[str, str]],
        in_flight: int,
        attempts: int,
        timeout: float,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._vapid = vapid
        self._services = services
        self._neutral = neutral
        self._in_flight = in_flight
        self._attempts = attempts
        self._timeout = timeout

    def wake(self) -> None:
        """Look at the outbox again soon: something was queued."""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Send in the background for as long as the block runs."""
        yield
