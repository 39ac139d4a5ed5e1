"""Loading the content tree into the app, at start-up and again while it runs.

Everything the app derives from `content/` (the library, the `Known` codes, the search indexes
and their exports, the version, the rendered service worker, the offline packs) is made by one
function, `load_content`, for the lifespan's first load and for every reload alike, so the two
cannot drift apart. A reload makes the new objects in a worker thread, then puts them on
`app.state` in one step of the event loop and empties the response cache: a request under way
keeps the objects it already holds, the next one sees only new ones. The store, sessions,
accounts, catalogs and the push parts are not touched.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.applications import Starlette

from hub import __version__
from hub.content import Library
from hub.content.cache import ContentCache
from hub.content.loader import LoadedTree, Problem, load_tree
from hub.content.search import Indexes
from hub.i18n import I18n, catalog_cache, compile_ahead
from hub.offline import SERVICE_WORKER_DIR, SearchExports, render_service_worker, tree_version
from hub.packs import Packs
from hub.reading import Known
from hub.response_cache import ResponseCache
from hub.settings import Settings
from hub.static import StaticAssets

log = logging.getLogger(__name__)
# The content's lines keep the logger name they have always had at start-up ("WARNING hub.app:
# content ..."), which README.md and docs/operations.md quote and operators grep for.
content_log = logging.getLogger("hub.app")
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Content:
    """What the app derives from one reading of the content tree."""

    library: Library
    problems: list[Problem]
    i18n: I18n
    known: Known
    search: Indexes
    search_exports: SearchExports
    version: str
    service_worker: bytes
    loaded: LoadedTree
    cache: ContentCache

    def warm(self, stop: threading.Event | None = None) -> bool:
        """Do what `load_content(..., defer=True)` left, logging what it finds: render the
        bodies, check the links, make every search index; then save the content cache. Blocking,
        CPU-bound; False if `stop` was set before the end (call again to go on)."""
        for problem in self.loaded.finish(stop):
            _log_problem(problem)
        finished = not (stop is not None and stop.is_set()) and self.search.build_all(stop)
        # Stopped early too: the next start then finds what this one did.
        self.cache.save()
        return finished


def _log_problem(problem: Problem) -> None:
    level = logging.ERROR if problem.level == "error" else logging.WARNING
    content_log.log(level, "content %s", problem)


@dataclass(frozen=True)
class ReloadResult:
    """What a reload found and how long it took (in all, and on the event loop)."""

    articles: int
    services: int
    problems: int
    version: str
    previous_version: str
    seconds: float
    loop_seconds: float

    @property
    def changed(self) -> bool:
        """Whether the version moved: something the pages or the worker show changed."""
        return self.version != self.previous_version


def load_content(
    settings: Settings, assets: StaticAssets, i18n: I18n | None = None, *, defer: bool = False
) -> Content:
    """Read the content tree and derive everything the app serves from it; blocking, CPU-bound.

    `i18n`: the catalogs already compiled (a reload keeps them); made from the site's locales
    when None (the first load). `defer`: leave to `Content.warm` what pages do not wait for
    (rendering the bodies the content cache lacks, which a page does when first shown; the
    links' check; the search indexes, which a search makes when first asked): the first load
    does, so that the hub serves sooner, and warms up while it serves.
    """
    cache = ContentCache(settings.data_dir / "cache" / "content.marshal")
    # A first load: the catalogs compile (those not kept) in a worker while the tree is read.
    catalogs = (
        catalog_cache(settings.data_dir / "cache" / "catalogs.marshal") if i18n is None else None
    )
    catalogs_compiled = (
        compile_ahead(settings.locales_dir, catalogs) if catalogs is not None else None
    )
    try:
        loaded = load_tree(
            settings.content_dir,
            source_max_age_years=settings.source_max_age_years,
            cache=cache,
            defer=defer,
        )
    finally:
        # Waited for even if the tree could not be read: no worker is left behind.
        if catalogs_compiled is not None:
            catalogs_compiled()
    library, problems = loaded.library, loaded.problems
    for problem in problems:
        _log_problem(problem)
    if i18n is None:
        assert catalogs is not None
        i18n = I18n(settings.locales_dir, library.site.locales, catalogs)
        catalogs.save()
    known = Known(
        frozenset(i18n.codes),
        frozenset(library.site.origins),
        frozenset(library.site.destinations),
    )
    search = Indexes(library, i18n.codes, cache)
    version = tree_version(
        [
            settings.static_dir,
            settings.content_dir,
            settings.locales_dir,
            PACKAGE_DIR,  # templates and the code that renders them
            SERVICE_WORKER_DIR,
        ],
        extra=[__version__],
        known=loaded.digests,
    )
    content = Content(
        library=library,
        problems=problems,
        i18n=i18n,
        known=known,
        search=search,
        search_exports=SearchExports(search),
        version=version,
        service_worker=render_service_worker(version, assets, library.site.locales),
        loaded=loaded,
        cache=cache,
    )
    if not defer:
        content.warm()
    content_log.info(
        "content: %d articles, %d services, %d problems%s",
        len(library.articles),
        len(library.services),
        len(problems),
        " so far (links not checked yet)" if defer else "",
    )
    return content


async def warm_up(app: Starlette, content: Content) -> None:
    """Run `content.warm` in a worker thread while the hub serves; it stops early once
    `app.state.warm_stop` is set (a reload, or the hub stopping). Sets `app.state.warmed`."""
    stop: threading.Event = app.state.warm_stop
    started = time.perf_counter()
    before = len(content.problems)
    try:
        finished = await anyio.to_thread.run_sync(content.warm, stop)
    # Nothing waits for this task until the hub stops: a failure is told now, and readers'
    # pages still render (a body when first shown, an index when first searched).
    except Exception:
        log.exception("content warm-up failed; each page and index is made when first asked for")
        finished = False
    if finished:
        content_log.info(
            "content warmed up in %.0f ms: every body rendered, links checked (%d problems "
            "more), %d search indexes made",
            (time.perf_counter() - started) * 1000,
            len(content.problems) - before,
            len(content.search),
        )
    warmed: asyncio.Event = app.state.warmed
    warmed.set()


# What install() replaces on app.state, in this order.
REPLACED = (
    "library",
    "i18n",
    "known",
    "search",
    "search_exports",
    "version",
    "service_worker",
    "packs",
    "kept",
)


def install(app: Starlette, content: Content) -> list[object]:
    """Put `content` on `app.state`, forget every page made from the content before it, and
    return the objects replaced (for the caller to let go of off the event loop).

    No await in here: the event loop runs no request between the first assignment and the last.
    """
    state = app.state
    replaced = [getattr(state, name, None) for name in REPLACED]
    state.library = content.library
    state.i18n = content.i18n
    state.known = content.known
    state.search = content.search
    state.search_exports = content.search_exports
    state.version = content.version
    state.service_worker = content.service_worker
    # Packs made before measured the old pages; a measurement under way finishes in the old
    # instance's thread, which ends with it once the readers waiting for it are answered.
    state.packs = Packs(app, content.library)
    # The fixed part of every page's context holds the site's names (hub/views/render.py).
    state.kept = {}
    cache: ResponseCache | None = getattr(state, "response_cache", None)
    if cache is not None:
        cache.clear()
    return replaced


async def reload_content(app: Starlette, *, cause: str = "asked") -> ReloadResult:
    """Read `content/` again and serve it from the next request on, without a restart.

    A file with errors is left out and logged, as at start-up. Two reloads at once run one after
    the other, so the second reads what the first may have missed.
    """
    state = app.state
    lock: asyncio.Lock = state.reload_lock
    # A first load still warming up would only spend CPU on content about to be replaced.
    state.warm_stop.set()
    async with lock:
        previous: str = state.version
        log.info("content reload (%s): from version %s", cause, previous)
        started = time.perf_counter()
        content = await anyio.to_thread.run_sync(
            load_content, state.settings, state.assets, state.i18n
        )
        swapped = time.perf_counter()
        replaced = install(app, content)
        finished = time.perf_counter()
        # Freeing the old library and indexes took 20 ms on the starter content: in a worker
        # thread, not between two readers' requests.
        await anyio.to_thread.run_sync(replaced.clear)
    result = ReloadResult(
        articles=len(content.library.articles),
        services=len(content.library.services),
        problems=len(content.problems),
        version=content.version,
        previous_version=previous,
        seconds=finished - started,
        loop_seconds=finished - swapped,
    )
    log.info(
        "content reloaded in %.0f ms (%.1f ms on the event loop): %d articles, %d services, "
        "%d problems, version %s%s",
        result.seconds * 1000,
        result.loop_seconds * 1000,
        result.articles,
        result.services,
        result.problems,
        result.version,
        "" if result.changed else " (unchanged)",
    )
    return result


@asynccontextmanager
async def reload_on_hangup(app: Starlette) -> AsyncIterator[None]:
    """While open, SIGHUP reloads the content (`kill -HUP <pid>` after editing files by hand).

    Only the main thread can take signals: under `hub serve` that is the lifespan's; an app run
    in another thread (a test client's) goes without.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        yield
        return
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()

    async def reload_logged() -> None:
        try:
            await reload_content(app, cause="SIGHUP")
        except Exception:
            # The content served before stays: nothing was swapped.
            log.exception("content reload failed; the content loaded before is still served")

    def hangup() -> None:
        task = loop.create_task(reload_logged())
        running.add(task)
        task.add_done_callback(running.discard)

    loop.add_signal_handler(signal.SIGHUP, hangup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        for task in list(running):
            task.cancel()
        # A reload in its worker thread ends before its cancellation is taken.
        await asyncio.gather(*running, return_exceptions=True)
