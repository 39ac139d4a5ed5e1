"""The `/admin/` console's routes. Its home, the worklists, and their CSV (worklists.py),
accounts (admin_accounts.py), the audit log (admin_audit.py) and the moderation of alerts
(moderation.py) each have a module under hub/views/console/."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from hub.views.console.admin_accounts import account, account_new, accounts
from hub.views.console.admin_audit import audit
from hub.views.console.articles import article, article_new, articles
from hub.views.console.directory import (
    check_phone,
    directory_list,
    entry,
    entry_new,
    entry_retire,
    entry_verify,
)
from hub.views.console.directory_import import directory_import
from hub.views.console.history import history, restore
from hub.views.console.moderation import alert, alerts
from hub.views.console.translations import translation
from hub.views.console.worklists import home, worklists_csv

ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/worklists.csv", worklists_csv, name="worklists_csv"),
    Route("/accounts", accounts, name="accounts"),
    Route("/accounts/new", account_new, methods=["GET", "POST"], name="account_new"),
    Route("/accounts/{account_id}", account, methods=["GET", "POST"], name="account"),
    Route("/audit", audit, name="audit"),
    Route("/alerts", alerts, name="alerts"),
    Route("/alerts/{alert_id}", alert, methods=["GET", "POST"], name="alert"),
    Route("/directory", directory_list, name="directory"),
    Route("/directory/new", entry_new, methods=["GET", "POST"], name="directory_new"),
    Route("/directory/import", directory_import, methods=["GET", "POST"], name="directory_import"),
    Route("/directory/check-phone", check_phone, name="directory_check_phone"),
    Route("/directory/{service_id}", entry, methods=["GET", "POST"], name="directory_entry"),
    Route(
        "/directory/{service_id}/verify", entry_verify, methods=["POST"], name="directory_verify"
    ),
    Route(
        "/directory/{service_id}/retire", entry_retire, methods=["POST"], name="directory_retire"
    ),
    Route("/articles", articles, name="articles"),
    Route("/articles/new", article_new, methods=["GET", "POST"], name="article_new"),
    Route("/articles/{slug}", article, methods=["GET", "POST"], name="article"),
    Route("/history", history, name="history"),
    Route("/history/restore", restore, methods=["POST"], name="history_restore"),
    # Two segments after /articles/: never an article's own page (/articles/{slug}, /new).
    Route(
        "/articles/{slug}/{locale}",
        translation,
        methods=["GET", "POST"],
        name="article_translation",
    ),
]
