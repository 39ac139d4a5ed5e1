"""One article's translation beside its English (issue 12, point 3): the translation's state,
the English it was translated from, the change to the English since, as a word diff, and the
text of the file a save writes. Plain functions, no Starlette: the console's side-by-side page
(hub/views/console/translations.py) calls them.

The English a translation was made from is the English body whose `revision` (12 hex digits of
its SHA-256, hub/content/markdown.py) the translation's `source_revision` names. The hub keeps
no copy of old bodies of its own; two records may hold one:

- the audit log: each console save records the file's text before and after (`content_saved`),
  so any English body written or replaced through the console is there;
- git: when the content folder is (in) a git repository, each commit that touched `en.md`.

When neither holds it (an English edited by hand outside git, before the console), the page
says so plainly and shows the current English only.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from hub.content import fields as f
from hub.content.markdown import FrontMatterError, revision, split_front_matter
from hub.curation.yamltext import edit_front_matter, join_article, new_mapping

# What the page says of a translation: no file; made from the English as it is now, not
# reviewed or reviewed; made from an older English body.
STATES = ("missing", "draft", "reviewed", "outdated")
# The translation files' keys in the order the starter content writes them (a new file's order).
KEY_ORDER = ("title", "summary", "updated", "status", "translation", "source_revision")
# git: commits of en.md read back at most (newest first), and the seconds all of it may take.
GIT_MOST = 200
GIT_SECONDS = 10.0
# Words, runs of whitespace, and each other character on its own (punctuation, Markdown marks):
# a changed full stop or link target then shows as itself, not as its whole word.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Word diffs of stretches longer than this (tokens of the old times tokens of the new) are not
# matched word by word: difflib's matching can grow with the product. Measured here: the longest
# starter article (1,590 tokens) rewritten, 13 ms; a 244 KB body (95,400 tokens, near the
# loader's 256 KB limit) with every tenth word changed, 0.7 s.
MAX_PAIRS = 4_000_000
# Paragraphs of Markdown: text between blank lines.
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Written:
    """What an article file says: its front matter as YAML reads it, and its Markdown body."""

    meta: Mapping[str, Any]
    body: str

    @property
    def title(self) -> str:
        """The `title`, or "" when it has none (or not a text)."""
        return _text(self.meta.get("title"))

    @property
    def summary(self) -> str:
        """The `summary`, or "" when it has none (or not a text)."""
        return _text(self.meta.get("summary"))

    @property
    def revision(self) -> str:
        """The revision of the body (hub/content/markdown.py's `revision`)."""
        return revision(self.body)


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def read_article(text: str) -> Written:
    """An article file as far as it can be read: a file whose front matter is missing, is not
    closed or is not a YAML mapping gives what is left (the whole text as body, or no keys),
    so a broken translation still fills the form and can be mended there."""
    try:
        head, body = split_front_matter(text)
    except FrontMatterError:
        return Written({}, text.replace("\r\n", "\n"))
    try:
        meta = yaml.safe_load(head)
    except (yaml.YAMLError, ValueError, RecursionError):
        meta = None
    return Written(meta if isinstance(meta, dict) else {}, body)


@dataclass(frozen=True)
class TranslationState:
    """Where one translation stands against the English as it is now."""

    state: str  # one of STATES
    # As the file says: "draft" or "reviewed" (None: missing, or not a word the hub knows).
    translation: str | None = None
    source_revision: str | None = None
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    updated: dt.date | None = None
    # False for a file that says `status: draft`: readers get the English instead.
    published: bool = True


def translation_state(written: Written | None, english_revision: str) -> TranslationState:
    """The state of a translation file (None: there is none) against the current English."""
    if written is None:
        return TranslationState("missing")
    meta = written.meta
    try:
        source_revision: str | None = f.revision_id(meta, "source_revision")
    except f.FieldError:
        source_revision = None
    translation = meta.get("translation", "draft")
    known = translation if translation in ("draft", "reviewed") else None
    if source_revision != english_revision:
        state = "outdated"
    else:
        state = "reviewed" if known == "reviewed" else "draft"
    return TranslationState(
        state=state,
        translation=known,
        source_revision=source_revision,
        reviewed_by=_text(meta.get("reviewed_by")) or None,
        reviewed_on=_date(meta.get("reviewed_on")),
        updated=_date(meta.get("updated")),
        published=meta.get("status", "published") != "draft",
    )


def _date(value: object) -> dt.date | None:
    try:
        return f.date({"date": value}, "date", required=False)
    except f.FieldError:
        return None


def english_in_changes(
    changes: Iterable[Mapping[str, Any]], rel: str, wanted: str
) -> Written | None:
    """The English file text whose body has revision `wanted`, from the `change` of audit
    entries of console saves (`{"path", "before", "after", ...}`); None when none holds it."""
    for change in changes:
        if change.get("path") != rel:
            continue
        for key in ("after", "before"):
            text = change.get(key)
            if isinstance(text, str):
                written = read_article(text)
                if written.revision == wanted:
                    return written
    return None


def english_in_git(
    root: Path,
    rel: str,
    wanted: str,
    *,
    most: int = GIT_MOST,
    seconds: float = GIT_SECONDS,
) -> Written | None:
    """The English file text whose body has revision `wanted`, from the commits of `rel` in
    the git repository holding `root` (newest first, at most `most` of them, within `seconds`);
    None when `root` is in no repository, git is not installed, or no commit holds it."""
    deadline = time.monotonic() + seconds
    # cat-file names a file from the top of the repository, which `root` may be inside.
    prefix = _git(root, ["rev-parse", "--show-prefix"], deadline)
    listed = _git(root, ["log", f"-n{most}", "--format=%H", "--", rel], deadline)
    if prefix is None or listed is None or not listed.split():
        return None
    # One process reads every version, newest first (not one `git show` per commit).
    folder = prefix.decode("utf-8").strip()
    names = "".join(f"{commit}:{folder}{rel}\n" for commit in listed.decode("ascii").split())
    out = _git(root, ["cat-file", "--batch"], deadline, names.encode("utf-8"))
    for text in _batch_texts(out or b""):
        written = read_article(text)
        if written.revision == wanted:
            return written
    return None


def _batch_texts(out: bytes) -> Iterator[str]:
    """The texts of `git cat-file --batch` output: each "<id> <type> <size>" line, then that
    many bytes and a line end ("<name> missing" for a version without the file)."""
    at = 0
    while at < len(out):
        end = out.find(b"\n", at)
        if end < 0:
            return
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue
        size = int(header[2])
        yield out[at : at + size].decode("utf-8", "replace")
        at += size + 1


def _git(root: Path, args: list[str], deadline: float, given: bytes = b"") -> bytes | None:
    """git's output for `args` run in `root` (`given` on its input), or None when it fails or
    time is up."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    # As hub/curation/history.py: what the hub was started with must not point git at
    # another repository, nor make it ask anyone anything.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=left,
            check=False,
            env=env,
            input=given,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout


@dataclass(frozen=True)
class Piece:
    """A run of text in a word diff: the same in both, deleted from the old, or inserted."""

    kind: Literal["same", "deleted", "inserted"]
    text: str

    @property
    def lines(self) -> list[str]:
        """The text split at its line breaks (a page shows each break as one)."""
        return self.text.split("\n")


def tokens(text: str) -> list[str]:
    """A text as the word diff reads it: words, runs of whitespace, other characters."""
    return _TOKEN.findall(text.replace("\r\n", "\n"))


def word_diff(old: str, new: str) -> tuple[Piece, ...]:
    """The change from `old` to `new`, word by word: neighbouring runs of one kind joined.
    Past MAX_PAIRS (texts too long to match word by word in time) the whole of `old` is shown
    deleted and the whole of `new` inserted."""
    before, after = tokens(old), tokens(new)
    if len(before) * len(after) > MAX_PAIRS:
        whole = (Piece("deleted", old), Piece("inserted", new))
        return tuple(piece for piece in whole if piece.text)
    # Spaces are everywhere: matched only as part of a run of words (difflib's "junk"), never
    # as anchors, which would make the matching slow and the diff a scatter of lone spaces.
    matcher = difflib.SequenceMatcher(str.isspace, before, after, autojunk=False)
    pieces: list[Piece] = []

    def add(kind: Literal["same", "deleted", "inserted"], words: list[str]) -> None:
        if not words:
            return
        text = "".join(words)
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            add("same", before[i1:i2])
        else:
            add("deleted", before[i1:i2])
            add("inserted", after[j1:j2])
    return tuple(pieces)


def paragraph_diff(old: str, new: str) -> tuple[tuple[Piece, ...], ...]:
    """The change from `old` to `new` (Markdown bodies) as the stretches of paragraphs that
    changed, each a word diff, in order; a run of unchanged paragraphs between them is an
    empty tuple (a gap), so a long article's few changes are not lost in its whole text."""
    before = [p for p in _PARAGRAPHS.split(old.strip()) if p.strip()]
    after = [p for p in _PARAGRAPHS.split(new.strip()) if p.strip()]
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    stretches: list[tuple[Piece, ...]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            stretches.append(())
        else:
            stretches.append(word_diff("\n\n".join(before[i1:i2]), "\n\n".join(after[j1:j2])))
    return tuple(stretches)


@dataclass(frozen=True)
class EnglishChange:
    """What changed in the English since a translation was made: the title and summary each
    as a word diff, the body as its changed paragraphs (`paragraph_diff`); None for a part
    that is the same."""

    title: tuple[Piece, ...] | None
    summary: tuple[Piece, ...] | None
    body: tuple[tuple[Piece, ...], ...] | None


def english_change(old: Written, title: str, summary: str, body: str) -> EnglishChange:
    """The change from the English a translation was made from to the English now."""

    def part(before: str, now: str) -> tuple[Piece, ...] | None:
        if before.strip() == now.strip():
            return None
        return word_diff(before.strip(), now.strip())

    changed = paragraph_diff(old.body, body)
    return EnglishChange(
        title=part(old.title, title),
        summary=part(old.summary, summary),
        body=changed if any(changed) else None,
    )


def one_line(text: str) -> str:
    """A title or summary as a file keeps it: one line, its runs of whitespace one space."""
    return _SPACES.sub(" ", text).strip()


def body_text(text: str) -> str:
    """A body as a file keeps it: "\\n" line ends, one line end at its end."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n") + "\n"


def translation_text(
    existing: str | None,
    *,
    title: str,
    summary: str,
    body: str,
    english_revision: str,
    today: dt.date,
    reviewer: str | None = None,
) -> str:
    """The translation file a save writes: `existing` (None: a new file) with its title,
    summary and body replaced, `updated` today, and the English revision it translates; a
    draft (`reviewer` None) or reviewed by `reviewer` today. Every other key and comment of
    an existing file is kept; a draft drops an earlier review, which was of another text."""
    reviewed = reviewer is not None
    changes: dict[str, Any] = {
        "title": one_line(title),
        "summary": one_line(summary),
        "updated": today,
        "translation": "reviewed" if reviewed else "draft",
        "source_revision": english_revision,
        "reviewed_by": reviewer,
        "reviewed_on": today if reviewed else None,
    }
    if existing is not None:
        return edit_front_matter(existing, changes, body=body_text(body))
    data = {key: changes.get(key, "published") for key in KEY_ORDER}
    if reviewed:
        data.update(reviewed_by=reviewer, reviewed_on=today)
    return join_article(new_mapping(data), body_text(body))
