"""Markdown to safe HTML and to plain text, with raw HTML and images off."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict


class FrontMatterError(ValueError):
    """A Markdown file whose front matter block is missing or unclosed."""


def revision(body: str) -> str:
    """The revision id of a Markdown body: 12 hex digits of its SHA-256."""
    normal = body.replace("\r\n", "\n").strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:12]


def split_front_matter(text: str) -> tuple[str, str]:
    """Split a file into its YAML front matter and its Markdown body."""
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.startswith("---\n"):
        raise FrontMatterError("does not start with a '---' front matter line")
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        if head.endswith("\n---"):
            return head[:-4], ""
        raise FrontMatterError("front matter is not closed by a '---' line")
    return head, body


def _is_external(href: str) -> bool:
    lowered = href.strip().lower()
    return lowered.startswith(("http://", "https://", "//"))


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    # Leaving the hub must not tell the next site where the reader came from.
    if _is_external(href):
        token.attrSet("rel", "noreferrer noopener")
    return renderer.renderToken(tokens, idx, options, env)


def make_renderer() -> MarkdownIt:
    """A CommonMark renderer with raw HTML and images disabled, tables on."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable("image")
    md.add_render_rule("link_open", _link_open)
    return md


def plain_text(md: MarkdownIt, body: str) -> str:
    """The visible words of a Markdown body, for search."""
    words: list[str] = []

    def walk(tokens: Sequence[Token]) -> None:
        for token in tokens:
            if token.children:
                walk(token.children)
            elif token.type in {"text", "code_inline", "code_block", "fence"}:
                words.append(token.content)
            elif token.type in {"softbreak", "hardbreak"}:
                words.append(" ")
        return None

    walk(md.parse(body))
    return " ".join(" ".join(words).split())


def links(md: MarkdownIt, body: str) -> list[str]:
    """Every link target in a Markdown body."""
    found: list[str] = []

    def walk(tokens: Sequence[Token]) -> None:
        for token in tokens:
            if token.type == "link_open":
                found.append(str(token.attrGet("href") or ""))
            if token.children:
                walk(token.children)

    walk(md.parse(body))
    return found


def render(md: MarkdownIt, body: str) -> str:
    """Render a Markdown body to HTML."""
    result: Any = md.render(body)
    return str(result)
