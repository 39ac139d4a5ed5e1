"""Changing a YAML document as a person would: the keys asked for, nothing else.

ruamel.yaml's round-trip mode keeps every untouched key's order, comments and quoting, and
the document's indentation (guessed from the text), so a console save changes only the lines
of the fields it changed. Dates stay plain dates (`2026-11-30`), long strings stay on one line
(a wide width), and every script is written as itself, never as `\\u` escapes.

Every starter file under content/articles and content/services (and site.yml, topics.yml)
reads and writes back byte for byte (tests/test_curation_files.py).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver as PyYamlResolver

# Wide enough that no value of a content file is folded onto a second line.
WIDTH = 1_000_000
# The content's own style where the document shows none: maps by 2, "- " items under a key
# indented by 2 (`sources:\n  - url: ...`).
MAPPING_INDENT = 2
SEQUENCE_INDENT = 4
SEQUENCE_OFFSET = 2
FENCE = "---\n"
STR_TAG = "tag:yaml.org,2002:str"


def _yaml(sequence: int = SEQUENCE_INDENT, offset: int = SEQUENCE_OFFSET) -> YAML:
    """A round-trip YAML reader and writer in the content's style."""
    yaml = YAML(typ="rt")
    yaml.width = WIDTH
    yaml.allow_unicode = True
    yaml.preserve_quotes = True
    yaml.indent(mapping=MAPPING_INDENT, sequence=sequence, offset=offset)
    # A value written twice (a review's date is also the day the file was updated) is written
    # twice, never as an anchor and an alias, which tie the two: a hand edit of one would
    # silently change the other.
    yaml.representer.ignore_aliases = lambda *data: True
    return yaml


def load(text: str) -> tuple[Any, YAML]:
    """The document of `text` (for round trip) and a YAML that writes it in the same style."""
    if not text.strip():
        return CommentedMap(), _yaml()
    _, indent, offset = load_yaml_guess_indent(text)
    yaml = _yaml(
        SEQUENCE_INDENT if indent is None else indent,
        SEQUENCE_OFFSET if offset is None else offset,
    )
    return yaml.load(text), yaml


def dump(document: Any, yaml: YAML | None = None) -> str:
    """`document` written as YAML text."""
    out = io.StringIO()
    (yaml or _yaml()).dump(document, out)
    return out.getvalue()


def edit_mapping(text: str, changes: Mapping[str, Any]) -> str:
    """A YAML mapping document with the given top-level keys set (None removes the key); every
    other key's order, comments and style kept, new keys appended at the end."""
    document, yaml = load(text)
    if not isinstance(document, CommentedMap):
        raise ValueError("the document is not a mapping")
    for key, value in changes.items():
        if value is None:
            if key in document:
                _delete(document, key)
        elif key in document:
            document[key] = _merge(document[key], value)
        else:
            document[key] = plain_to_yaml(value)
    return dump(document, yaml)


def new_mapping(data: Mapping[str, Any]) -> str:
    """A new YAML document in the key order given, block style, as a person would write it."""
    return dump(plain_to_yaml(data))


def split_article(text: str) -> tuple[str, str]:
    """A Markdown file's YAML front matter text (with its last line end) and its body;
    ValueError when it has no front matter between `---` lines."""
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.startswith(FENCE):
        raise ValueError("does not start with a '---' front matter line")
    head, sep, body = text[len(FENCE) :].partition("\n" + FENCE)
    if not sep:
        if head.endswith("\n---") or head == "---":
            return head[: -len("---")], ""
        raise ValueError("front matter is not closed by a '---' line")
    return head + "\n", body


def join_article(front_matter: str, body: str) -> str:
    """A Markdown file from its front matter text and its body (`---` lines around the first)."""
    if front_matter and not front_matter.endswith("\n"):
        front_matter += "\n"
    return FENCE + front_matter + FENCE + body


def edit_front_matter(text: str, changes: Mapping[str, Any], body: str | None = None) -> str:
    """An article file with those front matter keys changed (as edit_mapping) and, when `body`
    is given, its body replaced."""
    front_matter, old_body = split_article(text)
    return join_article(edit_mapping(front_matter, changes), old_body if body is None else body)


def plain_to_yaml(value: Any) -> Any:
    """Plain dicts, lists and scalars as ruamel's block-style nodes: a date stays a date (a
    datetime's date is taken: the content format has no times), a string that YAML would read
    as something else (`no`, `1:30`, `+6521`) is quoted, one of several lines is a `|` block."""
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for key, item in value.items():
            if item is not None:
                mapping[key] = plain_to_yaml(item)
        mapping.fa.set_block_style()
        return mapping
    if isinstance(value, list | tuple):
        sequence = CommentedSeq(plain_to_yaml(item) for item in value)
        sequence.fa.set_block_style()
        return sequence
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return _string(value)
    return value


def _string(value: str, like: Any = None) -> Any:
    """`value` quoted as `like` was (a string of the document), else as it needs to be."""
    if "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    if isinstance(like, SingleQuotedScalarString) and "\n" not in value:
        return SingleQuotedScalarString(value)
    if isinstance(like, DoubleQuotedScalarString) or _read_as_other(value):
        return DoubleQuotedScalarString(value)
    return value


def _read_as_other(value: str) -> bool:
    """Whether PyYAML (what `hub check` and the loader read with: YAML 1.1) would read `value`
    unquoted as something other than this string (a bool, number, date, null)."""
    resolver = PyYamlResolver()
    tag = resolver.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag != STR_TAG)


def _merge(old: Any, new: Any) -> Any:
    """`new` written over the document's `old` node: mappings and lists changed in place (so
    their comments, order and flow or block style stay), an unchanged scalar kept as it was
    written, a changed string quoted as the old one was."""
    if isinstance(old, CommentedMap) and isinstance(new, Mapping):
        for key in [key for key in old if key not in new or new[key] is None]:
            _delete(old, key)
        for key, value in new.items():
            if value is None:
                continue
            old[key] = _merge(old[key], value) if key in old else plain_to_yaml(value)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list | tuple):
        items = list(new)
        for index in range(len(old) - 1, len(items) - 1, -1):
            del old[index]
        for index, value in enumerate(items):
            if index < len(old):
                old[index] = _merge(old[index], value)
            else:
                old.append(plain_to_yaml(value))
        return old
    if _same(old, new):
        return old
    if isinstance(new, str) and isinstance(old, str):
        return _string(new, like=old)
    return plain_to_yaml(new)


def _delete(mapping: CommentedMap, key: Any) -> None:
    """Remove `key`, keeping the whole-line comments written under its value: ruamel holds them
    as the key's, but a person wrote them about the next key (or the end of the mapping)."""
    keys = list(mapping)
    index = keys.index(key)
    slot = mapping.ca.items.get(key)
    token = slot[2] if slot and len(slot) > 2 else None
    del mapping[key]
    if token is None:
        return
    # The token's first line ends the key's own line (its end-of-line comment, if any).
    following = str(token.value).partition("\n")[2]
    if not following.strip():
        return
    if index + 1 < len(keys):
        after = mapping.ca.items.setdefault(keys[index + 1], [None, None, None, None])
        after[1] = [CommentToken(following, CommentMark(0), None), *(after[1] or [])]
        return
    if index > 0:
        before = mapping.ca.items.setdefault(keys[index - 1], [None, None, None, None])
        if before[2] is None and not _is_block(mapping[keys[index - 1]]):
            before[2] = CommentToken("\n" + following, CommentMark(0), None)


def _is_block(value: Any) -> bool:
    """Whether `value` is a mapping or list written in block style (its own lines)."""
    if isinstance(value, CommentedMap | CommentedSeq):
        return not value.fa.flow_style()
    return False


def _same(old: Any, new: Any) -> bool:
    """Whether a scalar of the document reads as `new` (a quoted "1" is not the number 1)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, datetime) or isinstance(new, datetime):
        return False
    if isinstance(old, str) and isinstance(new, str):
        return str(old) == new
    if isinstance(old, str) or isinstance(new, str):
        return False
    if isinstance(old, date) and isinstance(new, date):
        return old == new
    return type(old) is type(new) and bool(old == new)
