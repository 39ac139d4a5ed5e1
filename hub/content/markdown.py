"""Markdown to safe HTML, its plain text and its links, with raw HTML and images off."""

from __future__ import annotations

import hashlib
import html
import re
import string
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import markdown_it_pyrs
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# markdown-it's CommonMark rules with tables added and raw HTML and images left out, as in
# make_renderer.
FAST_RULES: list[Any] = [
    "blockquote",
    "code",
    "fence",
    "heading",
    "hr",
    "lheading",
    "list",
    "paragraph",
    "reference",
    "autolink",
    "backticks",
    "emphasis",
    "entity",
    "escape",
    "link",
    "newline",
    "table",
]
# markdown-it-pyrs (a Rust port of an older markdown-it) is ~20 times faster than markdown-it-py,
# but it recurses without a limit (nesting some ten thousand levels deep overflows the stack and
# kills the process), panics on some runs of backticks and brackets, slows down quadratically on
# a paragraph full of brackets, and differs from markdown-it-py (CommonMark 0.31) on some
# constructs. So it takes only bodies within the bounds and the subset below, which articles
# use and on which both give the same HTML (tests/test_content.py, and every example of the
# CommonMark spec); any other body is rendered by markdown-it-py, whose output is the reference.
FAST_MAX_CHARS = 100_000
# Columns of a line's leading blockquote, list-marker and indent characters (a tab counts 4):
# every nested container takes at least one column, so this bounds the nesting depth below
# markdown-it-py's limit of 20.
FAST_MAX_PREFIX = 15
# Opening brackets in one block (text between blank lines): bounds the nesting of link labels.
FAST_MAX_BRACKETS = 12
# Emphasis delimiters in the whole body: bounds inline nesting.
FAST_MAX_DELIMITERS = 2_000
# A line break first: the regex engine skips from one to the next quickly.
_DEEP_PREFIX = re.compile(rf"\n[ >*+\-.)0-9]{{{FAST_MAX_PREFIX + 1}}}")
# Outside the subset: code (backticks, ~~~ fences), tables (pipes; markdown-it-pyrs also takes a
# line like ":-" alone for a table's alignment row), "<" (autolinks and what would be raw HTML),
# reference definitions, escaped emphasis, NUL and CR (which markdown-it rewrites before
# parsing), blockquotes, and whitespace beyond ASCII (which Python's str.strip() removes where
# markdown-it's trimming does not).
_UNPROVEN_TEXT = ("`", "~", "|", "<", "\x00", "\r", "]:", ":-", "-:", "\\*", "\\_")
_BLOCKQUOTE = re.compile(r"^[ \t*+\-.)0-9]*>", re.MULTILINE)
_UNICODE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# Emphasis: the two match delimiters differently once runs are left open, nest, differ in length,
# can both open and close (as "_" inside a word), straddle a line or a link's brackets, or touch
# a Unicode symbol (punctuation to CommonMark 0.31, not to markdown-it-pyrs). So the runs of "*"
# or "_" (bullets aside) must alternate: one that can only open, then the same run that can only
# close, on the same line with no bracket between. Link destinations are left out first.
_DESTINATION = re.compile(r"\]\([^()\s]*\)")
# Each starts with a literal, so the regex engine skips ahead to it quickly.
_STARS = re.compile(r"\*\**")
_UNDERSCORES = re.compile(r"__*")
_BETWEEN_PAIR = re.compile(r"[\n\[\]]")
_LIST_PREFIX = " \t+-.)0123456789"
_WHITESPACE = frozenset(" \t\n\f")
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# With raw HTML off, every tag in the output is one the renderer wrote; "<" in text is escaped.
_TAG = re.compile(r"<[^>]*>")
_ANCHOR = re.compile(r'<a href="([^"]*)"((?: title="[^"]*")?)>')
_HREF = re.compile(r'<a href="([^"]*)"')


class FrontMatterError(ValueError):
    """A Markdown file whose front matter block is missing or unclosed."""


@dataclass(frozen=True)
class Rendered:
    """A Markdown body as readers and search see it."""

    html: str
    # The visible words, one space between the texts of neighbouring elements.
    plain: str
    # Every link target, in document order, as written into the HTML (entities decoded).
    links: tuple[str, ...]


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
    """markdown-it-py set for CommonMark with raw HTML and images disabled, tables on."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable("image")
    md.add_render_rule("link_open", _link_open)
    return md


def _add_rel(match: re.Match[str]) -> str:
    if _is_external(html.unescape(match.group(1))):
        return f'{match.group(0)[:-1]} rel="noreferrer noopener">'
    return match.group(0)


def _fast_path_fits(body: str) -> bool:
    """Whether markdown-it-pyrs can take the body safely and render it as markdown-it-py does."""
    if len(body) > FAST_MAX_CHARS or any(text in body for text in _UNPROVEN_TEXT):
        return False
    if ">" in body and _BLOCKQUOTE.search(body) is not None:
        return False
    if not body.isascii() and _UNICODE_SPACE.search(body) is not None:
        return False
    stars, underscores = body.count("*"), body.count("_")
    if stars + underscores > FAST_MAX_DELIMITERS:
        return False
    if body.count("[") > FAST_MAX_BRACKETS and any(
        block.count("[") > FAST_MAX_BRACKETS for block in _BLANK_LINE.split(body)
    ):
        return False
    columns = body.replace("\t", "    ") if "\t" in body else body
    if _DEEP_PREFIX.search("\n" + columns) is not None:
        return False
    return not (stars or underscores) or _plain_emphasis(body, underscores=bool(underscores))


def _punctuation(char: str) -> bool:
    if char.isascii():
        return char in _ASCII_PUNCTUATION
    return unicodedata.category(char)[0] in "PS"


def _flanking(toward: str, away: str) -> bool:
    """CommonMark's flanking test of a delimiter run: left-flanking when `toward` is the character
    after the run and `away` the one before it; right-flanking the other way round."""
    if toward in _WHITESPACE:
        return False
    return not _punctuation(toward) or away in _WHITESPACE or _punctuation(away)


def _symbol(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char)[0] == "S"


def _plain_emphasis(body: str, *, underscores: bool = True) -> bool:
    """Whether the emphasis runs alternate: opener only, then the same run, closer only."""
    text = "\n" + (_DESTINATION.sub("]", body) if "](" in body else body) + "\n"
    runs = [match.span() for match in _STARS.finditer(text)]
    if underscores:
        runs += [match.span() for match in _UNDERSCORES.finditer(text)]
        runs.sort()
    opened = ""
    opened_at = 0
    for start, end in runs:
        run = text[start:end]
        before, after = text[start - 1], text[end]
        if run == "*" and after in _WHITESPACE:
            line_start = text.rfind("\n", 0, start) + 1
            if not text[line_start:start].strip(_LIST_PREFIX):
                continue  # a bullet
        if _symbol(before) or _symbol(after):
            return False
        left, right = _flanking(after, before), _flanking(before, after)
        if not opened and left and not right:
            opened, opened_at = run, end
        elif (
            run == opened
            and right
            and not left
            and _BETWEEN_PAIR.search(text, opened_at, start) is None
        ):
            opened = ""
        else:
            return False
    return not opened


def _hosts_alike(links: Sequence[str]) -> bool:
    """Whether no link has a host that markdown-it-py would write differently (punycode)."""
    for href in links:
        if _is_external(href):
            host = href.split("//", 1)[1].split("/", 1)[0]
            if "%" in host:
                return False
    return True


class Converter:
    """Markdown bodies to `Rendered`: markdown-it-pyrs where it is safe, else markdown-it-py."""

    def __init__(self) -> None:
        self._fast = markdown_it_pyrs.MarkdownIt("zero").enable_many(FAST_RULES)
        self._exact = make_renderer()

    def __call__(self, body: str) -> Rendered:
        """The HTML, plain text and links of a Markdown body."""
        if _fast_path_fits(body):
            try:
                fast = _ANCHOR.sub(_add_rel, self._fast.render(body))
            # pyo3 raises a Rust panic as PanicException, a BaseException of no importable name.
            except BaseException as exc:
                if type(exc).__name__ != "PanicException":
                    raise
            else:
                links = tuple(html.unescape(href) for href in _HREF.findall(fast))
                if _hosts_alike(links):
                    return Rendered(fast, _plain(fast), links)
        exact = str(self._exact.render(body))
        links = tuple(html.unescape(href) for href in _HREF.findall(exact))
        return Rendered(exact, _plain(exact), links)


def _plain(rendered: str) -> str:
    """The text of rendered HTML, a space wherever a tag was, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", rendered)).split())


_converters = threading.local()


def render_markdown(body: str) -> Rendered:
    """A Markdown body's HTML, plain text and links, by this thread's own Converter."""
    # One per thread: neither markdown-it-py nor markdown-it-pyrs documents a parser as safe to
    # share between threads, and a reader's page and the warm-up may render at the same time.
    converter: Converter | None = getattr(_converters, "converter", None)
    if converter is None:
        converter = _converters.converter = Converter()
    return converter(body)


def links_from(rendered: str, page: str) -> str:
    """Rendered HTML whose relative links lead where they lead on the reader's `page` (a path,
    e.g. /en/articles/keep-your-passport), for showing a body on another page (the console)."""

    def absolute(match: re.Match[str]) -> str:
        href = html.unescape(match.group(1))
        if urlsplit(href).scheme or href.startswith(("/", "#")):
            return match.group(0)
        return f'<a href="{html.escape(urljoin(page, href))}"'

    return _HREF.sub(absolute, rendered)
