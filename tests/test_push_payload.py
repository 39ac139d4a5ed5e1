"""The message one phone receives for one alert (hub/push/payload.py), byte for byte: what
its service worker reads, in her language or discreet, and the size a push service takes. The
delivery of these bytes through a push service is in tests/test_push_delivery.py."""

from __future__ import annotations

from typing import Any

import pytest

from hub.push.payload import PayloadTooLarge, message

NEUTRAL = ("Notes", "You have a new note.")


def alert(**texts: dict[str, str]) -> dict[str, Any]:
    """An alert as the store keeps it, with only the fields a message reads."""
    return {"id": "al7", "push_topic": "tp9", "texts": texts, "status": "approved"}


def test_her_message_is_compact_json_in_her_language() -> None:
    doc = alert(
        en={"title": "Shelter open", "body": "Call 999."},
        th={"title": "ที่พักเปิด", "body": "โทร 1300"},
    )
    assert message(doc, "en", discreet=False, neutral=NEUTRAL) == (
        b'{"alert":"al7","tag":"tp9","locale":"en","url":"/en/alerts#a-tp9",'
        b'"discreet":false,"title":"Shelter open","body":"Call 999."}'
    )
    # Thai as UTF-8, not as \\u escapes: six bytes of escape for each three-byte letter would
    # take a long text past what a push service takes.
    thai = message(doc, "th", discreet=False, neutral=NEUTRAL)
    assert (
        thai
        == (
            '{"alert":"al7","tag":"tp9","locale":"th","url":"/th/alerts#a-tp9",'
            '"discreet":false,"title":"ที่พักเปิด","body":"โทร 1300"}'
        ).encode()
    )
    assert len(thai) == 148


def test_a_discreet_message_says_nothing_of_the_alert() -> None:
    doc = alert(en={"title": "Shelter open", "body": "Call 999."})
    assert message(doc, "en", discreet=True, neutral=NEUTRAL) == (
        b'{"alert":"al7","tag":"tp9","locale":"en","url":"/en/alerts#a-tp9",'
        b'"discreet":true,"title":"Notes","body":"You have a new note."}'
    )


def test_a_discreet_message_needs_no_text_in_her_language() -> None:
    doc = alert(en={"title": "Shelter open", "body": "Call 999."})
    assert (
        message(doc, "km", discreet=True, neutral=("Notes", "មានកំណត់ចំណាំថ្មី។"))
        == (
            '{"alert":"al7","tag":"tp9","locale":"km","url":"/km/alerts#a-tp9",'
            '"discreet":true,"title":"Notes","body":"មានកំណត់ចំណាំថ្មី។"}'
        ).encode()
    )
    with pytest.raises(KeyError):
        message(doc, "km", discreet=False, neutral=NEUTRAL)


def test_a_message_of_exactly_3993_bytes_is_sent_and_one_byte_more_is_refused() -> None:
    # 4,096 bytes a push service takes, less 86 of header, 1 of padding and 16 of tag.
    head = (
        '{"alert":"al7","tag":"tp9","locale":"en","url":"/en/alerts#a-tp9",'
        '"discreet":false,"title":"T","body":"'
    )
    body = "x" * (3993 - len(head) - len('"}'))
    doc = alert(en={"title": "T", "body": body})
    largest = message(doc, "en", discreet=False, neutral=NEUTRAL)
    assert largest == f'{head}{body}"}}'.encode()
    assert len(largest) == 3993
    with pytest.raises(PayloadTooLarge) as refused:
        message(alert(en={"title": "T", "body": body + "x"}), "en", discreet=False, neutral=NEUTRAL)
    assert str(refused.value) == "3994 bytes, more than 3993"


def test_the_longest_alert_a_leader_can_write_fits_in_one_message() -> None:
    # 80 and 800 characters, each of four UTF-8 bytes (the most any character takes), with an
    # id and a topic as long as the store and the alerts make them (16 and 22 characters).
    doc = {
        "id": "Qm3kA9xZp0LrT2vW",
        "push_topic": "h5Fz0Qe8rN2sLq7aYb3cXw",
        "texts": {"fil": {"title": "\U0001f6a8" * 80, "body": "\U0001f4de" * 800}},
    }
    assert len(message(doc, "fil", discreet=False, neutral=NEUTRAL)) == 3677
