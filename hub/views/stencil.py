"""Stencils: a partial rendered once per shape with markers for its values, filled per request.

A donut's shell (hub/views/donut.py) keeps what is the same for every request to a page; its
block holes are still rendered by Jinja for each request. A stencil does for such a partial what
the shell does for the page: the partial is rendered once per fixed-context key and *shape* with
a marker in place of each *value*, and cut at the markers; a request only escapes its values into
the cuts.

- The shape: the names of the context the partial tests (`{% if %}`), each a hashable value that
  takes few values (flags, mostly). The stencil is kept per (fixed key, shape), so a partial has
  at most as many stencils per fixed key as its shapes have combinations.
- The values: the names the partial only writes (`{{ name }}`), never tests or filters: text,
  links, the HTML of cards (a Markup, written as it is).

The stencil is rendered from the fixed context, the shape and the markers alone: a partial that
reads any other name fails (the environment's StrictUndefined) instead of keeping one request's
value for the next. Filled, it is byte for byte what the partial renders with the same values,
since autoescape writes `escape(value)` where the marker was. Digits are left as the partial
writes them: the page around it localizes them (base.html's filter, or the donut's hole in text).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Any

from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from hub.views.render import Fixed, fixed_context, kept

_MARKER = "\x00value:{}\x00"
_MARKERS = re.compile("\x00value:([^\x00]*)\x00")


class Stencil:
    """A partial template kept per fixed key and shape, its values filled for each request."""

    def __init__(self, template: str, shape: tuple[str, ...], values: tuple[str, ...]) -> None:
        """`shape`: the context names the partial tests; `values`: those it only writes."""
        self.template = template
        self.shape = shape
        self.values = values

    def render(self, app: Starlette, key: Fixed, context: Mapping[str, Any]) -> str:
        """The partial rendered on `context` (which holds every shape and value name)."""
        shape = tuple(context[name] for name in self.shape)
        store = kept(app, f"stencils of {self.template}")
        found: dict[tuple[Hashable, ...], tuple[tuple[str, ...], tuple[str, ...]]] | None
        found = store.get(key)
        if found is None:
            found = store[key] = {}
        cut = found.get(shape)
        if cut is None:
            # Bounded by the combinations of the shape, a few flags.
            cut = found[shape] = self._cut(app, key, dict(zip(self.shape, shape, strict=True)))
        parts, names = cut
        out = [parts[0]]
        for name, part in zip(names, parts[1:], strict=True):
            out.append(escape(context[name]))
            out.append(part)
        return "".join(out)

    def _cut(
        self, app: Starlette, key: Fixed, shape: Mapping[str, Any]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        templates: Jinja2Templates = app.state.templates
        markers = {name: Markup(_MARKER.format(name)) for name in self.values}
        html = templates.get_template(self.template).render(
            {**fixed_context(app, key), **shape, **markers}
        )
        pieces = _MARKERS.split(html)
        parts, names = tuple(pieces[0::2]), tuple(pieces[1::2])
        for name in self.values:
            if name not in names:  # a filter changed its marker, or it is not written at all
                raise RuntimeError(f"{self.template}: value {name!r} is not written as is")
        return parts, names
