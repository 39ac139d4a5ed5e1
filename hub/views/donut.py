"""Donut caching: a page's constant shell rendered once per key, only its holes per request.

What is kept: a page template rendered with a marker in place of each hole and split at the
markers into constant parts (a `Shell`). A hole is one of:
- a block of the template, rendered for each request from the partial it includes, or from the
  partial's stencil (hub/views/stencil.py) where it has one (search.html's `results` block
  includes _search_main.html);
- a value of the context that the template only writes, as `{{ name }}`, never tests or filters
  (the search form's query);
- a language link of base.html's footer, `alternate(code)`, which carries the page's query.

Keyed on: the key of the fixed context (hub.views.render.fixed_key: locale, discreet mode, root
path, day), so a page has a handful of shells (never more than MAX_KEPT). The shell is rendered
from that fixed context alone, which holds no request data: no `request`, no query, no corridor.
A template that reads one of those outside a hole fails (the environment's StrictUndefined)
instead of keeping a value of one request for the next.

Why the page is byte-identical to `render(request, template, context)`: the shell is the page's
own template rendered in the same environment with the same fixed values; a block hole is the
output of the partial on the page's context, as `{% include %}` writes it; a value or a link is
`escape(value)`, as autoescape writes it. base.html passes the page through `local_digits`,
which changes digits only in text between tags, run by run: a hole inside a tag (an attribute)
is left as it is, and a hole in text is passed through the filter on its own, which gives the
same text because the shell has whitespace or a tag on both sides of it (checked when the shell
is made) and a block holds whole elements. Markers are written only by the shell's own render,
never from a request, so no query can be mistaken for one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from hub.i18n import localize_digits_html
from hub.reading import reading_of
from hub.views.render import Fixed, alternate_tail, fixed_context, fixed_key, kept
from hub.views.stencil import Stencil

_MARKER = "\x00hole:{}\x00"
_MARKERS = re.compile("\x00hole:([^\x00]*)\x00")
_ALTERNATE = "alternate:"


def _marker(name: str) -> Markup:
    return Markup(_MARKER.format(name))


@dataclass(frozen=True)
class Hole:
    """Where a shell is cut: the hole's name, and whether it is in text (not inside a tag)."""

    name: str
    in_text: bool


@dataclass(frozen=True)
class Shell:
    """A page rendered once with markers at its holes, cut there into constant parts."""

    key: Fixed  # the fixed-context key it was rendered for
    parts: tuple[str, ...]  # parts[0], holes[0], parts[1], ..., holes[-1], parts[-1]
    holes: tuple[Hole, ...]
    context: Mapping[str, Any]  # the fixed context the shell was rendered from
    blocks: Mapping[str, jinja2.Template | Stencil]  # what renders each block hole
    alternates: tuple[str, ...]  # the locale codes of the language links

    def fill(self, values: Mapping[str, str]) -> str:
        """The page with each hole filled, the digits of a hole in text as base.html writes them."""
        out = [self.parts[0]]
        for hole, part in zip(self.holes, self.parts[1:], strict=True):
            value = values[hole.name]
            if hole.in_text:
                value = localize_digits_html(Markup(value), self.key[0])
            out.append(value)
            out.append(part)
        return "".join(out)


class Donut:
    """A page template whose shell is kept per fixed-context key and whose holes are filled
    for each request."""

    def __init__(
        self, template: str, blocks: Mapping[str, str | Stencil], values: tuple[str, ...]
    ) -> None:
        """`blocks`: each block hole of the template and the partial it includes (its name, or
        its stencil); `values`: the context values the template only writes."""
        self.template = template
        self.blocks = dict(blocks)
        self.values = values

    def shell(self, request: Request) -> Shell:
        """The kept shell for the request's fixed-context key, rendered on first use."""
        key = fixed_key(request)
        store = kept(request.app, f"shells of {self.template}")
        found: Shell | None = store.get(key)
        if found is None:
            found = store[key] = self._make_shell(request.app, key)
        return found

    def render(
        self, request: Request, context: Mapping[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        """The page `render(request, template, context)` writes, made from the kept shell."""
        shell = self.shell(request)
        read = reading_of(request.scope)
        # alternate_path(code), escaped as autoescape writes it: the same tail for every code.
        tail = escape(alternate_tail(read.path, read.query_string, shell.key[0]))
        values: dict[str, str] = {_ALTERNATE + code: f"/{code}/{tail}" for code in shell.alternates}
        for name in self.values:
            values[name] = escape(context[name])
        page = {"request": request, **shell.context, **context}
        for name, partial in shell.blocks.items():
            if isinstance(partial, Stencil):
                values[name] = partial.render(request.app, shell.key, page)
            else:
                values[name] = partial.render(page)
        return HTMLResponse(shell.fill(values), status_code)

    def _make_shell(self, app: Starlette, key: Fixed) -> Shell:
        templates: Jinja2Templates = app.state.templates
        env = templates.env
        overrides = "".join(
            f'{{% block {name} %}}{{{{ hole("{name}") }}}}{{% endblock %}}' for name in self.blocks
        )
        template = env.from_string(f'{{% extends "{self.template}" %}}{overrides}')
        context = fixed_context(app, key)
        html = template.render(
            {
                **context,
                "hole": _marker,
                "alternate": lambda code: _marker(_ALTERNATE + code),
                **{name: _marker(name) for name in self.values},
            }
        )
        pieces = _MARKERS.split(html)
        parts, names = tuple(pieces[0::2]), pieces[1::2]
        holes: list[Hole] = []
        start = 0
        for part, name in zip(parts, names, strict=False):
            start += len(part)
            end = start + len(_MARKER.format(name))
            in_text = html.rfind("<", 0, start) <= html.rfind(">", 0, start)
            if in_text and not (
                _bounded(html[start - 1 : start], ">") and _bounded(html[end : end + 1], "<")
            ):
                raise RuntimeError(f"{self.template}: hole {name!r} touches the text beside it")
            holes.append(Hole(name, in_text))
            start = end
        for name in self.blocks:
            if names.count(name) != 1:
                raise RuntimeError(f"{self.template}: block hole {name!r} is not written once")
        for name in self.values:
            if name not in names:  # a filter changed its marker, or it is not written at all
                raise RuntimeError(f"{self.template}: value hole {name!r} is not written as is")
        blocks: dict[str, jinja2.Template | Stencil] = {
            name: partial if isinstance(partial, Stencil) else env.get_template(partial)
            for name, partial in self.blocks.items()
        }
        return Shell(
            key=key,
            parts=parts,
            holes=tuple(holes),
            context=context,
            blocks=blocks,
            alternates=tuple(n[len(_ALTERNATE) :] for n in names if n.startswith(_ALTERNATE)),
        )


def _bounded(char: str, tag_edge: str) -> bool:
    """Whether the character beside a hole in text ends the text run (or there is none)."""
    return char == "" or char == tag_edge or char.isspace()
