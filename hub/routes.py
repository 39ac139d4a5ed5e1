"""The one named route list of the app."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp

from hub.views import alerts, offline, public, signin
from hub.views.console import account, admin, leaders


def build_routes(static_app: ASGIApp) -> list[BaseRoute]:
    """Every route, each with a name for url_for."""
    return [
        Route("/", public.root, name="root"),
        Mount("/static", app=static_app, name="static"),
        # At the root because a worker's and a manifest's scope is where they are served.
        Route("/sw.js", offline.service_worker, name="service_worker"),
        Route("/manifest.webmanifest", offline.manifest, name="manifest"),
        # A mount of their own: otherwise "/{locale}" below takes "api" for a locale, and a
        # request with the wrong method is a 404 there instead of this route's 405.
        Mount(
            "/api",
            routes=[
                Route("/search/{locale}.json", offline.search_index, name="search_index"),
                Route("/packs/{locale}.json", offline.pack, name="pack"),
                Route("/alerts/{locale}.json", alerts.newest, name="alerts_newest"),
                Route(
                    "/subscriptions",
                    alerts.subscribe,
                    methods=["POST"],
                    name="subscriptions",
                ),
                Route(
                    "/subscriptions/{subscription_id}",
                    alerts.subscription,
                    methods=["GET", "PUT", "DELETE"],
                    name="subscription",
                ),
            ],
        ),
        # Signing in and each person's own account (hub/console_guard.py: no cache, CSRF).
        Route("/login", signin.login, methods=["GET", "POST"], name="login"),
        Route("/logout", signin.logout, methods=["POST"], name="logout"),
        Route("/invitation", signin.invitation, methods=["GET", "POST"], name="invitation"),
        Route("/account", account.account, name="account"),
        Route("/account/name", account.name, methods=["POST"], name="account_name"),
        Route("/account/password", account.password, methods=["POST"], name="account_password"),
        Route("/account/sessions", account.end_sessions, methods=["POST"], name="account_sessions"),
        Route(
            "/account/two-factor",
            account.two_factor,
            methods=["GET", "POST"],
            name="account_two_factor",
        ),
        Route("/account/two-factor/qr.svg", account.two_factor_qr, name="account_two_factor_qr"),
        # The consoles (hub/console_guard.py keeps them out of every cache).
        Mount("/admin", routes=admin.ROUTES, name="admin"),
        Mount("/leaders", routes=leaders.ROUTES, name="leaders"),
        # hub.canonical answers every other spelling of a path, with a relative Location;
        # Starlette's own slash redirects are absolute, built from the Host header.
        Mount(
            "/{locale}",
            app=Router(
                redirect_slashes=False,
                routes=[
                    Route("/", public.home, name="home"),
                    Route("/corridor", public.choose_corridor, name="corridor"),
                    Route("/location", public.choose_location, name="location"),
                    Route("/topics/{topic_id}", public.topic, name="topic"),
                    Route("/articles/{slug}", public.article, name="article"),
                    Route("/help", public.help_page, name="help"),
                    Route("/services/{service_id}", public.service, name="service"),
                    Route("/search", public.search, name="search"),
                    Route("/safety", public.safety, name="safety"),
                    Route("/alerts", alerts.alerts_page, name="alerts"),
                    Route("/offline", offline.save_for_offline, name="offline"),
                    Route("/unavailable", offline.unavailable, name="unavailable"),
                    Route("/discreet", offline.discreet, name="discreet"),
                    Route("/clear", offline.clear, name="clear"),
                ],
            ),
        ),
    ]
