"""One directory entry file, field by field: each mistake a curator makes gets its own words.

Written to kill the mutants `make mutants` found surviving in hub/content/services.py
(docs/testing.md, "Mutation testing"): the verification rules and chat links were checked only
for passing or failing, never for what they say or what they keep.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.content.fields import FieldError
from hub.content.services import parse_service

TODAY = dt.date(2026, 11, 30)
LOCALES = ("en", "th")


def _entry(**changes: Any) -> dict[str, Any]:
    """A valid hotline in Hong Kong, changed as asked (None removes a field)."""
    data: dict[str, Any] = {
        "kind": "hotline",
        "name": {"en": "Test line"},
        "country": "HK",
        "phone": "+85221234567",
        "sources": [
            {
                "url": "https://example.org/a",
                "date": dt.date(2026, 1, 5),
                "numbers": ["+85221234567"],
            }
        ],
        "verified_on": dt.date(2026, 11, 1),
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _refusal(data: dict[str, Any]) -> str:
    with pytest.raises(FieldError) as refused:
        parse_service("test-line", data, LOCALES, TODAY)
    return str(refused.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"verification": "later"},
            "'verification' can only be 'needed'",
        ),
        (
            {"verification": True},
            "'verification' can only be 'needed'",
        ),
        (
            {"verified_on": None},
            "needs 'verified_on' (YYYY-MM-DD) or 'verification: needed'",
        ),
        (
            {"verification": "needed"},
            "has both 'verified_on' and 'verification: needed'",
        ),
        (
            {"verified_on": dt.date(2026, 12, 1)},
            "'verified_on' 2026-12-01 is in the future",
        ),
        (
            {"chat": ["https://wa.me/85221234567"]},
            "'chat' must be a list of {label, url}",
        ),
    ],
    ids=["unknown-word", "not-a-word", "neither", "both", "future", "chat-not-mapping"],
)
def test_each_verification_and_chat_mistake_says_what_to_fix(
    changes: dict[str, Any], message: str
) -> None:
    assert _refusal(_entry(**changes)) == message


def test_verified_today_and_needed_without_a_date_are_both_accepted() -> None:
    today, _ = parse_service("test-line", _entry(verified_on=TODAY), LOCALES, TODAY)
    assert today.verified_on == TODAY
    needed, _ = parse_service(
        "test-line", _entry(verified_on=None, verification="needed"), LOCALES, TODAY
    )
    assert needed.verified_on is None and needed.verification_needed


def test_chat_links_are_kept_in_order_with_their_labels() -> None:
    chats = [
        {"label": "WhatsApp", "url": "https://wa.me/85221234567"},
        {"label": "Messenger", "url": "https://m.me/example"},
    ]
    service, _ = parse_service("test-line", _entry(chat=chats), LOCALES, TODAY)
    assert [(c.label, c.url) for c in service.chat] == [
        ("WhatsApp", "https://wa.me/85221234567"),
        ("Messenger", "https://m.me/example"),
    ]
    without, _ = parse_service("test-line", _entry(), LOCALES, TODAY)
    assert without.chat == ()


GOOD_SOURCE = {
    "url": "https://example.org/a",
    "date": dt.date(2026, 1, 5),
    "numbers": ["+85221234567"],
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"source": "https://example.org/a"},
            "'source' is replaced by 'sources': a list of {url, date, numbers} "
            "(see docs/content-format.md)",
        ),
        ({"sources": None}, "'sources' must list at least one {url, date, numbers}"),
        ({"sources": []}, "'sources' must list at least one {url, date, numbers}"),
        ({"sources": GOOD_SOURCE}, "'sources' must list at least one {url, date, numbers}"),
        (
            {"sources": [GOOD_SOURCE, "https://example.org/b"]},
            "sources 2: must be a mapping of url, date and numbers",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "page": 3}]},
            "sources 1: unknown key 'page'",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "date": 2027}]},
            "sources 1: 'date' 2027-01-01 is in the future",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "date": "2026-13"}]},
            "sources 1: 'date' must be a date written YYYY-MM-DD, \"YYYY-MM\" or YYYY",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "numbers": "+85221234567"}]},
            "sources 1: 'numbers' must list the entry's numbers the page states",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "numbers": [True]}]},
            "sources 1: 'numbers' must list the entry's numbers the page states",
        ),
        (
            {"sources": [{**GOOD_SOURCE, "url": "example.org/a"}]},
            "sources 1: 'url' must be an http(s) URL",
        ),
    ],
    ids=[
        "old-key",
        "missing",
        "empty",
        "a-mapping",
        "second-not-mapping",
        "unknown-key",
        "future",
        "bad-month",
        "numbers-text",
        "numbers-bool",
        "url-no-scheme",
    ],
)
def test_each_source_mistake_says_what_to_fix(changes: dict[str, Any], message: str) -> None:
    assert _refusal(_entry(**changes)) == message


def test_sources_are_kept_in_order_with_their_dates_and_numbers() -> None:
    sources = [
        GOOD_SOURCE,
        {"url": "https://example.org/b", "date": "2025-03", "numbers": ["+85221234567"]},
        {"url": "https://example.org/c", "date": 2024, "numbers": []},
    ]
    service, _ = parse_service("test-line", _entry(sources=sources), LOCALES, TODAY)
    assert [(s.url, s.date.year, s.date.month, s.date.day, s.numbers) for s in service.sources] == [
        ("https://example.org/a", 2026, 1, 5, ("+85221234567",)),
        ("https://example.org/b", 2025, 3, None, ("+85221234567",)),
        ("https://example.org/c", 2024, None, None, ()),
    ]


def test_a_source_dated_today_is_not_in_the_future() -> None:
    today = {**GOOD_SOURCE, "date": TODAY}
    service, _ = parse_service("test-line", _entry(sources=[today]), LOCALES, TODAY)
    assert service.sources[0].date.earliest == TODAY
