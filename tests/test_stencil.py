"""Stencils (hub/views/stencil.py): a partial kept per shape, its values filled per request."""

from __future__ import annotations

import datetime as dt

import jinja2
import pytest
from markupsafe import Markup
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from hub.views.render import Fixed
from hub.views.stencil import Stencil

PARTIALS = {
    "_card.html": (
        '<p{% if loud %} class="loud"{% endif %}>{{ _("Search") }}: {{ text }}'
        ' <a href="{{ link }}">{{ number }}</a></p>{{ cards }}'
    ),
    "_reads_more.html": "<p>{{ text }}{% if secret %}!{% endif %}</p>",
    "_filters.html": "<p>{{ text|upper }}</p>",
}
KEY: Fixed = ("en", False, "", dt.date(2026, 11, 30))


@pytest.fixture
def app(client: TestClient) -> TestClient:
    """The app with the partials above added to its templates."""
    templates: Jinja2Templates = client.app.state.templates  # type: ignore[attr-defined]
    env = templates.env
    env.loader = jinja2.ChoiceLoader([jinja2.DictLoader(PARTIALS), env.loader])  # type: ignore[list-item]
    return client


def test_a_filled_stencil_is_what_the_partial_renders(app: TestClient) -> None:
    stencil = Stencil("_card.html", shape=("loud",), values=("text", "link", "number", "cards"))
    hostile = {"text": "<script>\"&'", "link": "/en/search?q=a&b=<", "number": 3}
    cards = Markup("<li>made</li>")
    for loud in (True, False):
        got = stencil.render(app.app, KEY, {"loud": loud, **hostile, "cards": cards})  # type: ignore[arg-type]
        tag = '<p class="loud">' if loud else "<p>"
        assert got == (
            f"{tag}Search: &lt;script&gt;&#34;&amp;&#39;"
            ' <a href="/en/search?q=a&amp;b=&lt;">3</a></p><li>made</li>'
        )
    # One stencil per shape, rendered once: a second request with new values reuses it.
    kept = app.app.state.kept["stencils of _card.html"][KEY]  # type: ignore[attr-defined]
    assert set(kept) == {(True,), (False,)}
    again = stencil.render(
        app.app, KEY, {"loud": True, "text": "x", "link": "/", "number": 4, "cards": ""}
    )  # type: ignore[arg-type]
    assert again == '<p class="loud">Search: x <a href="/">4</a></p>'
    assert set(kept) == {(True,), (False,)}


def test_a_partial_reading_a_name_outside_shape_and_values_fails(app: TestClient) -> None:
    """Else the stencil would keep the first request's value of it for every later request."""
    stencil = Stencil("_reads_more.html", shape=(), values=("text",))
    with pytest.raises(jinja2.UndefinedError, match="secret"):
        stencil.render(app.app, KEY, {"text": "x", "secret": True})  # type: ignore[arg-type]


def test_a_value_the_partial_does_not_write_as_is_fails(app: TestClient) -> None:
    stencil = Stencil("_filters.html", shape=(), values=("text",))
    with pytest.raises(RuntimeError, match="'text' is not written as is"):
        stencil.render(app.app, KEY, {"text": "x"})  # type: ignore[arg-type]
