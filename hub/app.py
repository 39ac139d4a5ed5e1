"""The app factory: nothing happens until create_app is called."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from hub.audit import AuditLog
from hub.auth import Accounts
from hub.auth.invitations import Invitations
from hub.auth.sessions import Sessions
from hub.auth.throttle import SignInThrottle
from hub.canonical import Canonical
from hub.console_guard import ConsoleGuard
from hub.encoding import Encoding
from hub.middleware import AccessLog, HeadAsGet, SecurityHeaders, ServerErrors
from hub.push.alerts import Alerts
from hub.push.endpoints import PushServices
from hub.push.outbox import Outbox
from hub.push.payload import NEUTRAL_LINE
from hub.push.sender import Sender
from hub.push.subscriptions import Subscriptions
from hub.push.vapid import Vapid
from hub.reload import install, load_content, reload_on_hangup, warm_up
from hub.remember import RememberLocale
from hub.response_cache import ResponseCache
from hub.routes import build_routes
from hub.settings import Settings
from hub.static import StaticAssets
from hub.store import open_store
from hub.store.files import private_folder
from hub.views.errors import http_error, server_error
from hub.views.render import make_templates

# Password hashings and verifications run at once, whatever number of sign-ins arrive: argon2id
# takes 19 MiB and a core for some 30 ms (hub/auth/passwords.py), so more than the 2 cores of
# the box it is sized for only queue on the CPU, and 40 at once (anyio's thread limit) took
# the server from 82 MB to 900 MB resident, which the allocator never gave back.
HASHING_AT_ONCE = 2


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the hub: routes, middleware and a lifespan that opens content and store."""
    settings = settings or Settings.from_env()
    # Made here, before the static copies go into it: it holds password hashes and secrets.
    private_folder(settings.data_dir)
    assets = StaticAssets(settings.static_dir, settings.data_dir / "static")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        content = load_content(settings, assets, defer=True)
        store = open_store(settings.store_path, snapshot_bytes=settings.store_snapshot_bytes)
        install(app, content)
        # Made here, in the event loop that runs the reloads it orders.
        app.state.reload_lock = asyncio.Lock()
        app.state.store = store
        accounts = Accounts(store)
        app.state.accounts = accounts
        app.state.sessions = Sessions(
            store,
            accounts,
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_max_hours),
        )
        # Sessions that ended while the hub was stopped: nothing would delete them otherwise
        # until their cookie came back.
        app.state.sessions.purge()
        app.state.invitations = Invitations(store, accounts)
        app.state.throttle = SignInThrottle(
            failures=settings.signin_failures, window=settings.signin_window_seconds
        )
        app.state.audit = AuditLog(store)
        # Made here, in the event loop that serves the requests that share it.
        app.state.hashing = anyio.CapacityLimiter(HASHING_AT_ONCE)
        # Derives each session's offered TOTP secret (hub/views/console/account.py); a new one
        # each start only means an enrolment under way is offered a new code.
        app.state.enrolment_key = secrets.token_bytes(32)
        start_push(app, settings)
        app.state.warm_stop = threading.Event()
        app.state.warmed = asyncio.Event()
        warming = asyncio.create_task(warm_up(app, content)) if settings.warm_up else None
        # This frame lives as long as the app: the first library must not outlive a reload.
        del content
        try:
            async with reload_on_hangup(app), app.state.sender.running():
                yield
        finally:
            app.state.warm_stop.set()
            # Its worker thread stops between two bodies or two indexes.
            if warming is not None:
                await warming
            app.state.packs.close()
            store.close()

    app = Starlette(
        debug=settings.debug,
        routes=build_routes(assets.app()),
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders),
            Middleware(ServerErrors, handler=server_error, debug=settings.debug),
            Middleware(Canonical),
            Middleware(HeadAsGet),
            Middleware(
                ConsoleGuard,
                handler=http_error,
                secure=settings.https_only,
                require_2fa=settings.require_2fa,
            ),
            Middleware(RememberLocale, secure=settings.https_only),
            Middleware(ResponseCache, max_bytes=settings.response_cache_bytes),
            Middleware(Encoding),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    # hub.canonical redirects, relatively; Starlette's slash redirects are built from Host.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.assets = assets
    app.state.templates = make_templates()
    app.state.url_paths = {}
    return app


def push_identity(settings: Settings) -> tuple[PushServices, Vapid]:
    """The push services the hub may send to and its VAPID key (made in HUB_DATA_DIR at first
    start) with its subject; SettingsError when a setting of theirs cannot be used."""
    services = PushServices.parse(settings.push_services)
    vapid = Vapid.load(
        settings.data_dir / "vapid.pem",
        private_key=settings.vapid_private_key,
        subject=settings.vapid_subject,
    )
    return services, vapid


def start_push(app: Starlette, settings: Settings) -> None:
    """Put the push parts on `app.state`: VAPID key, subscriptions, outbox, sender, alerts."""
    state = app.state
    services, state.vapid = push_identity(settings)
    state.subscriptions = Subscriptions(
        state.store,
        services=services,
        confirm_days=settings.subscription_confirm_days,
        locales=state.i18n.codes,
        origins=state.library.site.origins,
        destinations=state.library.site.destinations,
        per_hour=settings.subscribe_per_hour,
    )
    # Phones that stopped confirming while the hub was stopped (the page confirms when opened).
    state.subscriptions.purge_due()
    state.outbox = Outbox(state.store)
    site = state.library.site
    neutral = {
        locale: (site.name(locale, discreet=True), state.i18n.gettext(locale, NEUTRAL_LINE))
        for locale in state.i18n.codes
    }
    state.sender = Sender(
        state.store,
        outbox=state.outbox,
        subscriptions=state.subscriptions,
        vapid=state.vapid,
        services=services,
        neutral=neutral,
        in_flight=settings.push_in_flight,
        attempts=settings.push_attempts,
        timeout=settings.push_timeout_seconds,
    )
    state.alerts = Alerts(
        state.store,
        outbox=state.outbox,
        subscriptions=state.subscriptions,
        per_day=settings.alerts_per_day,
        wake=state.sender.wake,
        library=state.library,
    )
    # Alerts published when the process stopped before their deliveries were queued.
    state.alerts.resume()
