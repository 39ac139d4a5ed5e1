"""One reading of each request: what a page may depend on, parsed once, and nothing else."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from hub.reading import INVALID, Known, read
from hub.settings import PROJECT_ROOT

KNOWN = Known(
    locales=frozenset({"en", "th"}),
    origins=frozenset({"PH", "TH"}),
    destinations=frozenset({"HK", "TH"}),
)


def scope(
    query: bytes = b"", cookies: list[bytes] | None = None, path: str = "/en/"
) -> dict[str, Any]:
    headers = [(b"host", b"hub")] + [(b"cookie", c) for c in cookies or []]
    return {"type": "http", "path": path, "query_string": query, "headers": headers}


def test_cookies_of_every_header_are_read_together() -> None:
    reading = read(scope(cookies=[b"x=1", b"hub_from=PH; hub_to=HK"]), KNOWN)
    assert (reading.origin, reading.destination) == ("PH", "HK")
    # The first value of a repeated name wins, whichever header holds it.
    reading = read(scope(cookies=[b"hub_to=HK", b"hub_to=TH"]), KNOWN)
    assert reading.destination == "HK"


@pytest.mark.parametrize(
    "cookie",
    [b"hub_from=XX", b"hub_to=<b>", b"hub_discreet=yes", b"hub_in=mars", b"hub_locale=zz"],
)
def test_a_preference_the_site_does_not_know_reads_as_absent(cookie: bytes) -> None:
    assert read(scope(cookies=[cookie]), KNOWN).key == read(scope(), KNOWN).key
    assert read(scope(cookies=[cookie]), KNOWN).locale_cookie is None


def test_where_she_is_needs_her_origin() -> None:
    assert read(scope(cookies=[b"hub_in=origin"]), KNOWN).in_origin is False
    both = read(scope(cookies=[b"hub_in=origin; hub_from=PH; hub_to=HK"]), KNOWN)
    assert both.in_origin and both.here == "PH"


def test_the_locale_cookie_is_not_part_of_the_key() -> None:
    assert read(scope(cookies=[b"hub_locale=th"]), KNOWN).key == read(scope(), KNOWN).key
    assert read(scope(cookies=[b"hub_locale=TH"]), KNOWN).locale_cookie == "th"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"k=1&p=" + b"x" * 60_000, ()),
        (b"saved=1", (("saved", "1"),)),
        (b"saved=junk", ()),
        (b"from=PH&to=HK", (("from", "PH"), ("to", "HK"))),
        (b"from=XX&to=", (("from", INVALID), ("to", ""))),
        (b"page=2", (("page", "2"),)),
        (b"page=-1", (("page", INVALID),)),
        (b"page=%D9%A3", (("page", INVALID),)),  # an Arabic-Indic digit is not a page number
        (b"page=", ()),
        (b"q=%20%20passport%E2%80%8B%20", (("q", "passport"),)),
        (b"q=a&q=b", (("q", "b"),)),
        (b"lang=th&discreet=1", (("discreet", "1"), ("lang", "th"))),
        (b"lang=EN&discreet=yes", (("lang", "en"),)),
        (b"in=origin", (("in", "origin"),)),
        (b"in=mars", (("in", INVALID),)),
        (b"next=" + b"a" * 3000, (("next", "/"),)),
    ],
)
def test_only_the_parameters_a_view_reads_are_read(
    query: bytes, expected: tuple[tuple[str, object], ...]
) -> None:
    assert read(scope(query), KNOWN).query == expected


def test_a_search_is_read_trimmed_and_cut_at_its_cap() -> None:
    exact = "a" * 200  # the cap, written out: a changed MAX_QUERY_LENGTH is a change here too
    assert read(scope(b"q=" + exact.encode()), KNOWN).param("q") == exact
    longer = read(scope(b"q=" + exact.encode() + b"b"), KNOWN).param("q")
    assert longer == exact


def test_a_reading_is_made_once_per_request() -> None:
    request = scope(b"q=x", [b"hub_from=PH"])
    assert read(request, KNOWN) is read(request, KNOWN)


# Console views (hub/views/signin.py here; hub/views/console/ is not walked) and templates
# (hub/templates/console/) read queries as they are: console paths never reach the response
# cache (it skips them before any look-up) or the service worker, so no key depends on them.
RAW_READERS_ALLOWED: set[str] = {"signin.py"}
CONSOLE_TEMPLATES = PROJECT_ROOT / "hub" / "templates" / "console"


def test_views_read_cookies_and_query_only_through_the_reading() -> None:
    """A view that reads request.cookies or request.query_params could depend on a value the
    response cache does not key on; every view goes through hub.reading instead."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "hub" / "views").glob("*.py")):
        if path.name in RAW_READERS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("cookies", "query_params"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "query"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "url"
            ):
                offenders.append(f"{path.name}:{node.lineno} .url.query")
    assert offenders == []


def test_templates_read_no_cookie_or_query() -> None:
    templates = Path(PROJECT_ROOT / "hub" / "templates")
    walked = [p for p in templates.rglob("*.html") if not p.is_relative_to(CONSOLE_TEMPLATES)]
    assert "base.html" in {p.name for p in walked}
    for path in walked:
        text = path.read_text(encoding="utf-8")
        for raw in ("request.cookies", "request.query_params", "request.url.query"):
            assert raw not in text, f"{path.name} reads {raw}"
