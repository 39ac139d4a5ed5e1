"""Cache keys one dimension at a time: each value a page reads, changed alone, changes the page.

Issue 9, point 4: the response cache keys reader pages on `Reading.key` (hub/reading.py). A key
that ignored one value (say `hub_from`) would give one reader's cached page to another: a reader
from Thailand working in Hong Kong would get the help page made for a reader from the
Philippines. For every preference cookie (hub/preferences.py) and every query parameter a view
reads (hub/reading.py PARAMETERS), a row below changes that one value with everything else
equal; the list is checked against the code, so a new dimension without a row fails.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from hub.preferences import (
    DESTINATION_COOKIE,
    DISCREET_COOKIE,
    LOCALE_COOKIE,
    LOCATION_COOKIE,
    ORIGIN_COOKIE,
    PREFERENCE_COOKIES,
)
from hub.reading import PARAMETERS, Reading
from tests.test_response_cache import cache_of

# Dimensions that are neither a cookie nor a query parameter.
PATH = "path"
ACCEPT_LANGUAGE = "accept-language"


@dataclass(frozen=True)
class Dimension:
    """One value a page reads, and two settings of it that must give two pages.

    `name` is a preference cookie, a query parameter, PATH (then `a` and `b` are paths) or a
    request header. `a` and `b` are its two values (None: absent); `cookies` and `params` are
    the other values, held equal. `shows_a` is in the answer to `a` and not in that to `b`, and
    the other way round; with both None, the page must be the same for both (the value is not
    one the page reads, so it must not split the cache either). `kept`: the answer is a page the
    cache keeps, so asking again must be answered from it.
    """

    name: str
    path: str
    a: str | None
    b: str | None
    shows_a: str | None
    shows_b: str | None
    kept: bool
    cookies: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()


PH_HK = ((ORIGIN_COOKIE, "PH"), (DESTINATION_COOKIE, "HK"))

DIMENSIONS = [
    # The preference cookies.
    Dimension(
        ORIGIN_COOKIE,
        "/en/help",
        "PH",
        "TH",
        # The consulates of her own country in Hong Kong.
        '/services/ph-consulate-hong-kong"',
        '/services/hk-consulate-thailand"',
        kept=True,
        cookies=((DESTINATION_COOKIE, "HK"),),
    ),
    Dimension(
        DESTINATION_COOKIE,
        "/en/help",
        "HK",
        "SG",
        '/services/hk-emergency"',
        '/services/sg-embassy-philippines"',
        kept=True,
        cookies=((ORIGIN_COOKIE, "PH"),),
    ),
    Dimension(
        LOCATION_COOKIE,
        "/en/help",
        None,
        "origin",
        # In Hong Kong she calls 999; at home in the Philippines the DMW's 1348.
        'href="tel:999"',
        'href="tel:1348"',
        kept=True,
        cookies=PH_HK,
    ),
    Dimension(
        DISCREET_COOKIE,
        "/en/help",
        None,
        "1",
        "<title>Get help · ",
        "/manifest.webmanifest?lang=en&amp;discreet=1",
        kept=True,
    ),
    # The locale cookie is read only where the URL has no locale: never on a kept page.
    Dimension(LOCALE_COOKIE, "/", "th", "km", "/th/", "/km/", kept=False),
    Dimension(
        LOCALE_COOKIE, "/no-such-page", "th", "km", '<html lang="th"', '<html lang="km"', kept=False
    ),
    Dimension(LOCALE_COOKIE, "/en/help", "th", "km", None, None, kept=True, cookies=PH_HK),
    # The query parameters each view reads.
    Dimension(
        "q",
        "/en/search",
        "passport",
        "visa",
        'name="q" value="passport"',
        'name="q" value="visa"',
        kept=True,
    ),
    Dimension(
        "page",
        "/en/search",
        "1",
        "2",
        ">Page 1 of ",
        ">Page 2 of ",
        kept=True,
        params=(("q", "work"),),
    ),
    Dimension(
        "all",
        "/en/search",
        None,
        "1",
        '<p id="search-scope-mine">',
        '<p id="search-scope-every">',
        kept=True,
        cookies=PH_HK,
        params=(("q", "passport"),),
    ),
    Dimension(
        "from",
        "/api/packs/en.json",
        "PH",
        "TH",
        '"from":"PH"',
        '"/en/services/hk-consulate-thailand"',
        kept=True,
        params=(("to", "HK"),),
    ),
    Dimension(
        "to",
        "/api/packs/en.json",
        "HK",
        "SG",
        '"/en/services/hk-emergency"',
        '"/en/services/sg-embassy-philippines"',
        kept=True,
        params=(("from", "PH"),),
    ),
    Dimension("lang", "/manifest.webmanifest", "en", "th", '"lang":"en"', '"lang":"th"', kept=True),
    Dimension(
        "discreet",
        "/manifest.webmanifest",
        None,
        "1",
        "/icons/hub-192.",
        "/icons/discreet-192.",
        kept=True,
    ),
    Dimension(
        "saved",
        "/en/help",
        "1",
        "place",
        "Saved. You will see information for people from Philippines",
        "Saved. Numbers are now shown to call from Hong Kong",
        # A confirmation is said once, after a choice: never kept.
        kept=False,
        cookies=PH_HK,
    ),
    Dimension(
        "next",
        "/en/corridor",
        "/en/help",
        "/en/safety",
        'name="next" value="/en/help"',
        'name="next" value="/en/safety"',
        kept=False,
    ),
    Dimension(
        "in",
        "/en/location",
        "origin",
        "destination",
        "hub_in=origin;",
        'hub_in="";',
        kept=False,
        cookies=PH_HK,
    ),
    Dimension("on", "/en/discreet", "1", None, "hub_discreet=1;", 'hub_discreet="";', kept=False),
    # The path, with its locale, and the language the root sends her to.
    Dimension(PATH, "", "/en/help", "/th/help", '<html lang="en"', '<html lang="th"', kept=True),
    Dimension(ACCEPT_LANGUAGE, "/", "vi", "my", "/vi/", "/my/", kept=False),
]

# Which dimensions each field of a Reading is made from.
READING_FIELDS = {
    "path": {PATH},
    "query": set(PARAMETERS),
    "locale_cookie": {LOCALE_COOKIE},
    "origin": {ORIGIN_COOKIE},
    "destination": {DESTINATION_COOKIE},
    "discreet": {DISCREET_COOKIE},
    "in_origin": {LOCATION_COOKIE},
}


def ask(client: TestClient, dimension: Dimension, value: str | None) -> httpx.Response:
    """The answer with the dimension set to `value` and every other value as the row says."""
    cookies = dict(dimension.cookies)
    params = dict(dimension.params)
    headers: dict[str, str] = {}
    path = dimension.path
    if dimension.name == PATH:
        assert value is not None
        path = value
    elif dimension.name in PREFERENCE_COOKIES:
        if value is not None:
            cookies[dimension.name] = value
    elif dimension.name in PARAMETERS:
        if value is not None:
            params[dimension.name] = value
    elif value is not None:
        headers[dimension.name] = value
    headers["cookie"] = "; ".join(f"{name}={v}" for name, v in cookies.items())
    url = f"{path}?{urlencode(params)}" if params else path
    # Only the cookies above: none the app set on an earlier answer.
    client.cookies.clear()
    return client.get(url, headers=headers, follow_redirects=False)


_EXPIRES = re.compile(r"expires=[^;]*", re.IGNORECASE)


def seen(response: httpx.Response) -> str:
    """What a reader gets: the status, where she is sent, the cookies set, and the body."""
    return "\n".join(
        [
            str(response.status_code),
            response.headers.get("location", ""),
            # A deletion's Expires is the time of the answer: two answers a second apart differ.
            *(_EXPIRES.sub("expires=<when>", c) for c in response.headers.get_list("set-cookie")),
            response.text,
        ]
    )


def test_every_dimension_of_the_code_has_a_row() -> None:
    """A new preference cookie or query parameter must come with a row here."""
    named = {dimension.name for dimension in DIMENSIONS}
    assert set(PREFERENCE_COOKIES) - named == set()
    assert set(PARAMETERS) - named == set()
    assert {PATH} - named == set()


def test_every_field_of_a_reading_is_made_from_dimensions_with_rows() -> None:
    """A new field of Reading (a new value pages may read) must be mapped to its dimensions."""
    fields = {field.name for field in dataclasses.fields(Reading)}
    assert fields == READING_FIELDS.keys()
    named = {dimension.name for dimension in DIMENSIONS}
    for field, dimensions in READING_FIELDS.items():
        assert dimensions <= named, field


# Another value for each field of a Reading, to change one at a time.
OTHER_VALUES: dict[str, Any] = {
    "path": "/th/help",
    "query": (("q", "visa"),),
    "locale_cookie": "km",
    "origin": "TH",
    "destination": "SG",
    "discreet": True,
    "in_origin": True,
}


def test_the_key_changes_with_every_field_but_the_locale_cookie() -> None:
    reading = Reading(
        path="/en/help",
        query=(("q", "passport"),),
        locale_cookie="th",
        origin="PH",
        destination="HK",
        discreet=False,
        in_origin=False,
    )
    assert OTHER_VALUES.keys() == {field.name for field in dataclasses.fields(Reading)}
    for field, value in OTHER_VALUES.items():
        changed = dataclasses.replace(reading, **{field: value})
        if field == "locale_cookie":
            # No kept page reads it (see its rows): one key for all, so one entry per page.
            assert changed.key == reading.key
        else:
            assert changed.key != reading.key, field


@pytest.mark.parametrize(
    "dimension",
    DIMENSIONS,
    ids=[
        f"{d.name}={d.a or '(absent)'}|{d.b or '(absent)'}" + (f"@{d.path}" if d.path else "")
        for d in DIMENSIONS
    ],
)
def test_one_value_changed_alone_changes_the_page(
    shared_client: TestClient, dimension: Dimension
) -> None:
    cache = cache_of(shared_client)
    cache.clear()
    hits = cache.hits
    first_a = ask(shared_client, dimension, dimension.a)
    first_b = ask(shared_client, dimension, dimension.b)
    if dimension.shows_a is None or dimension.shows_b is None:
        # Not a value the page reads: the same page, the second time from the cache.
        assert first_b.content == first_a.content
        assert cache.hits == hits + dimension.kept
        return
    assert first_a.status_code == first_b.status_code
    assert dimension.shows_a in seen(first_a) and dimension.shows_a not in seen(first_b)
    assert dimension.shows_b in seen(first_b) and dimension.shows_b not in seen(first_a)
    # Both were made afresh: neither was taken for the other in the cache.
    assert cache.hits == hits

    again_a = ask(shared_client, dimension, dimension.a)
    again_b = ask(shared_client, dimension, dimension.b)
    assert seen(again_a) == seen(first_a) and again_a.content == first_a.content
    assert seen(again_b) == seen(first_b) and again_b.content == first_b.content
    if dimension.kept:
        assert first_a.status_code == 200
        assert cache.hits == hits + 2 and len(cache.entries) == 2
    else:
        assert cache.hits == hits and len(cache.entries) == 0
