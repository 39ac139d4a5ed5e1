"""Offline packs measured off the event loop.

A pack's size is what its pages weigh as served, so each page is asked of the app itself. That
renders every page of the pack, up to a second of pure-Python work on a large tree, so it runs
in a worker thread with an event loop of its own, against a private copy of the app's middleware
stack: the worker shares the router, the loaded content and the templates, which requests only
read, and none of the state a middleware keeps. Each pack is measured once per process, however
many readers ask for it at the same time, and at most `AT_ONCE` packs are measured at a time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import time
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from hub import subrequest
from hub.content import Library
from hub.offline import pack_paths
from hub.preferences import DESTINATION_COOKIE, LOCALE_COOKIE, ORIGIN_COOKIE
from hub.response_cache import ResponseCache

log = logging.getLogger(__name__)

# Locale, origin, destination.
PackKey = tuple[str, str, str]
Pack = dict[str, Any]
# Rendering is pure Python: under the GIL a second worker would not measure faster, it would
# only take more turns from the thread that answers readers.
AT_ONCE = 1


def private_stack(app: Starlette) -> ASGIApp:
    """The app with middleware instances of its own, around the same router and state.

    The response cache is left out: it changes no byte, and would keep a second copy of every
    page measured.
    """
    left_out: object = ResponseCache
    clone = copy.copy(app)
    clone.user_middleware = [m for m in app.user_middleware if m.cls is not left_out]
    clone.middleware_stack = clone.build_middleware_stack()
    return clone


class Packs:
    """The pages of each pack with the compressed bytes each costs (as a browser in a secure
    context takes them), measured in worker threads."""

    def __init__(self, app: Starlette, library: Library, *, at_once: int = AT_ONCE) -> None:
        self._stack = private_stack(app)
        self._library = library
        self._workers = concurrent.futures.ThreadPoolExecutor(
            max_workers=at_once, thread_name_prefix="hub-packs"
        )
        self._measured: dict[PackKey, Pack] = {}
        self._flights: dict[PackKey, concurrent.futures.Future[Pack]] = {}
        self._waiting: Counter[PackKey] = Counter()

    async def measure(self, locale: str, origin: str, destination: str) -> Pack:
        """`{"paths": [{"url", "bytes"}...], "bytes": total}` for one locale and corridor."""
        key = (locale, origin, destination)
        done = self._measured.get(key)
        if done is not None:
            return done
        flight = self._flights.get(key)
        if flight is None:
            flight = self._workers.submit(self._measure_in_thread, key)
            self._flights[key] = flight
        self._waiting[key] += 1
        try:
            # Shielded: a reader who leaves must not cancel what the others wait for.
            pack = await asyncio.shield(asyncio.wrap_future(flight))
        finally:
            self._waiting[key] -= 1
            if flight.done() and self._flights.get(key) is flight:
                del self._flights[key]  # a failed measurement is tried again next time
        self._measured[key] = pack
        return pack

    def waiting(self, locale: str, origin: str, destination: str) -> int:
        """How many requests are waiting for this pack's measurement now."""
        return self._waiting[(locale, origin, destination)]

    def close(self) -> None:
        """Stop the workers; a measurement not yet started is dropped."""
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _measure_in_thread(self, key: PackKey) -> Pack:
        return asyncio.run(self._measure(key))

    async def _measure(self, key: PackKey) -> Pack:
        locale, origin, destination = key
        log.debug("measuring pack %s %s-%s", locale, origin, destination)
        started = time.perf_counter()
        cookie = "; ".join(
            f"{name}={value}"
            for name, value in (
                (LOCALE_COOKIE, locale),
                (ORIGIN_COOKIE, origin),
                (DESTINATION_COOKIE, destination),
            )
        ).encode()
        # A pack is saved by the service worker, so only in a secure context, where every
        # browser takes brotli: the search index comes so (pages are gzip only).
        headers = [(b"accept-encoding", b"br, gzip"), (b"cookie", cookie)]
        entries = []
        for path in pack_paths(self._library, locale, origin, destination):
            reply = await subrequest.get(self._stack, path, headers)
            entries.append({"url": path, "bytes": len(reply.body)})
        pack: Pack = {"paths": entries, "bytes": sum(e["bytes"] for e in entries)}
        log.info(
            "pack %s %s-%s measured: %d pages, %d B in %.0f ms",
            locale,
            origin,
            destination,
            len(entries),
            pack["bytes"],
            (time.perf_counter() - started) * 1000,
        )
        return pack


def packs_of(app: Starlette) -> Packs:
    """The app's pack measurer, made on first use, once the lifespan has loaded the content."""
    packs: Packs | None = getattr(app.state, "packs", None)
    if packs is None:
        packs = Packs(app, app.state.library)
        app.state.packs = packs
    return packs
