"""Pure ASGI middleware for the console paths: the session, CSRF, no-store and the locale.

Only requests under CONSOLE_PREFIXES are touched; a reader page passes straight through.
What it finds is put in the scope under the names below for views and templates.
"""

from __future__ import annotations

# Paths of the consoles and of signing in: never cached (response cache, service worker).
CONSOLE_PREFIXES = ("/login", "/logout", "/invitation", "/account", "/admin", "/leaders")

# Scope keys.
ACCOUNT = "hub.account"  # hub.auth.Account of the session, or None
SESSION = "hub.session"  # hub.auth.sessions.Session, or None
CSRF = "hub.csrf"  # the token this request's forms must carry (str)
CONSOLE_LOCALE = "hub.console_locale"  # the console's locale code (str)
NEEDS_TWO_FACTOR = "hub.needs_two_factor"  # an admin who must set up TOTP first (bool)
