"""The message one phone receives for one alert: the JSON its service worker reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hub import N_

# At most this many characters (code points) of an alert's title and text in one locale. At
# 4 UTF-8 bytes per code point, the most any character takes, both together with the fields
# around them stay under MAX_PLAINTEXT, so a leader's count of characters is the whole rule.
TITLE_MAX = 80
BODY_MAX = 800
# A push service takes at most 4,096 bytes of message body (RFC 8030, section 7.2). Encrypted
# as aes128gcm in one record (RFC 8291, section 4; RFC 8188, section 2), the body is an 86-byte
# header (16 salt, 4 record size, 1 key id length, 65 key id), the plaintext, a 1-byte padding
# delimiter and a 16-byte tag.
MAX_PLAINTEXT = 4096 - 86 - 1 - 16


# The line a discreet notification shows under the site's neutral name (content/site.yml):
# nothing of the alert, in the subscriber's language.
NEUTRAL_LINE = N_("You have a new note.")


class PayloadTooLarge(ValueError):
    """An alert's message would not fit in one push message (more than MAX_PLAINTEXT bytes)."""


def alert_url(locale: str, push_topic: str) -> str:
    """The path that shows an alert on the reader's alerts page: `/<locale>/alerts#a-<topic>`."""
    return f"/{locale}/alerts#a-{push_topic}"


def message(
    alert: Mapping[str, Any],
    locale: str,
    *,
    discreet: bool,
    neutral: tuple[str, str],
) -> bytes:
    """The UTF-8 JSON for one subscriber: her locale's title and text, or, when discreet,
    only `neutral` (the site's discreet name and a line that says nothing of the alert).

    Shape: {"alert", "tag", "locale", "url", "discreet", "title", "body"}; `tag` is the alert's
    Web Push topic, the same for every correction, so a phone replaces the notification.
    KeyError when the alert has no text in `locale`; PayloadTooLarge past MAX_PLAINTEXT."""
    if discreet:
        title, body = neutral
    else:
        text = alert["texts"][locale]
        title, body = text["title"], text["body"]
    data = {
        "alert": alert["id"],
        "tag": alert["push_topic"],
        "locale": locale,
        "url": alert_url(locale, alert["push_topic"]),
        "discreet": discreet,
        "title": title,
        "body": body,
    }
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > MAX_PLAINTEXT:
        raise PayloadTooLarge(f"{len(encoded)} bytes, more than {MAX_PLAINTEXT}")
    return encoded
