"""Push alerts: subscriptions, alerts and their moderation, the outbox and the Web Push sender.

Nothing here imports Starlette; the views in hub/views/ call it."""

from __future__ import annotations

# What an alert is about; a subscriber picks the ones she wants (the labels are in the catalogs).
TOPICS = ("safety", "rules", "events")
# Web Push `Urgency` values a leader may choose (RFC 8030, section 5.3).
URGENCIES = ("normal", "high")
