"""Names of the only cookies the hub sets: a reader's preferences, nothing else."""

from __future__ import annotations

LOCALE_COOKIE = "hub_locale"
ORIGIN_COOKIE = "hub_from"
DESTINATION_COOKIE = "hub_to"
DISCREET_COOKIE = "hub_discreet"
# "origin" when she is in her own country now (before leaving, after coming home); absent means
# she is in the country where she works.
LOCATION_COOKIE = "hub_in"
PREFERENCE_COOKIES = (
    LOCALE_COOKIE,
    ORIGIN_COOKIE,
    DESTINATION_COOKIE,
    DISCREET_COOKIE,
    LOCATION_COOKIE,
)
