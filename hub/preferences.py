"""Names of the only cookies the hub sets: a reader's preferences, nothing else."""

from __future__ import annotations

LOCALE_COOKIE = "hub_locale"
ORIGIN_COOKIE = "hub_from"
DESTINATION_COOKIE = "hub_to"
DISCREET_COOKIE = "hub_discreet"
PREFERENCE_COOKIES = (LOCALE_COOKIE, ORIGIN_COOKIE, DESTINATION_COOKIE, DISCREET_COOKIE)
