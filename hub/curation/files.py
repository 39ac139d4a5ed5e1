"""Reading and writing one content file for the console: safe paths, digests, atomic writes.

A console form carries the digest of the file as it was when the form was opened; a write
goes through only while the file still has that digest (`Conflict` otherwise), so a save
never silently overwrites someone else's. A write is atomic: the new bytes go to a temp file
in the same folder, are flushed and fsynced, renamed over the old file, and the folder is
fsynced, so a crash leaves the old file or the new one, never half of one.

Only the files the console edits can be named: `articles/<slug>/<locale>.md` and
`services/<id>.yml`, relative to the content folder, without `..`, hidden parts or symlinks.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hub.content.fields import SLUG

# The files the console may write, as POSIX paths under the content folder.
_ARTICLE = re.compile(r"articles/(?P<slug>[^/]+)/(?P<locale>[a-z]{2,3})\.md")
_SERVICE = re.compile(r"services/(?P<id>[^/]+)\.yml")
# A new file's mode when no file beside it tells (rw-r--r--, as the starter content's).
DEFAULT_MODE = 0o644


class UnsafePath(ValueError):
    """A path the console may not read or write: outside the content folder, absolute, with
    `..`, a hidden part or a symlink, or not an article or a directory entry."""


class Conflict(Exception):
    """The file changed (or appeared, or vanished) since the form was opened."""

    def __init__(self, rel: str, current_text: str | None, current_digest: str | None) -> None:
        super().__init__(f"{rel} changed since it was read")
        self.rel = rel
        self.current_text = current_text
        self.current_digest = current_digest

    def diff_with(self, mine: str) -> list[DiffLine]:
        """The lines that differ between the file now (theirs) and `mine`, with some around."""
        return line_diff(self.current_text or "", mine)


@dataclass(frozen=True)
class DiffLine:
    """One line of a line diff: `kind` is "-" (only in the old text), "+" (only in the new),
    " " (in both) or "@" (a gap: lines in both left out); `text` the line, without its end."""

    kind: str
    text: str

    @property
    def shown(self) -> str:
        """The line as a page shows it in wrapping text: its leading spaces and tabs kept as
        no-break spaces (a YAML line's indent is part of its meaning)."""
        stripped = self.text.lstrip(" \t")
        indent = self.text[: len(self.text) - len(stripped)].replace("\t", "    ")
        return "\u00a0" * len(indent) + stripped


@dataclass(frozen=True)
class Written:
    """What a write replaced and made: the old text (None for a new file) and the digests."""

    rel: str
    before: str | None
    before_digest: str | None
    digest: str


def file_digest(data: bytes) -> str:
    """SHA-256 hex of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def check_rel(rel: str) -> PurePosixPath:
    """`rel` as a path when it names an article or a directory entry file; UnsafePath if not."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        raise UnsafePath(f"{rel!r} is not a content path")
    path = PurePosixPath(rel)
    if path.is_absolute() or rel.startswith("/"):
        raise UnsafePath(f"{rel!r} is absolute")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath(f"{rel!r} has an empty, '.' or '..' part")
    if any(part.startswith(".") for part in parts):
        raise UnsafePath(f"{rel!r} has a hidden part")
    article = _ARTICLE.fullmatch(rel)
    service = _SERVICE.fullmatch(rel)
    name = article["slug"] if article else service["id"] if service else None
    if name is None or not SLUG.match(name):
        raise UnsafePath(f"{rel!r} is not articles/<slug>/<locale>.md or services/<id>.yml")
    return path


def content_path(root: Path, rel: str) -> Path:
    """The file `rel` names under the content folder `root`; UnsafePath for a path the console
    may not use, or one that a symlink (anywhere below `root`) leads elsewhere."""
    check_rel(rel)
    base = root.resolve()
    path = base / rel
    # Below the content folder every part must be what it says: a symlink, even one that
    # stays inside, would make the file written differ from the file named (and committed).
    walked = base
    for part in PurePosixPath(rel).parts:
        walked = walked / part
        if walked.is_symlink():
            raise UnsafePath(f"{rel!r} goes through a symlink")
    if path.resolve() != path or not path.resolve().is_relative_to(base):
        raise UnsafePath(f"{rel!r} leads outside the content folder")
    return path


def read_file(root: Path, rel: str) -> tuple[str, str]:
    """The text and digest of content file `rel`; UnsafePath, FileNotFoundError."""
    data = content_path(root, rel).read_bytes()
    return _text(data), file_digest(data)


def read_current(root: Path, rel: str) -> tuple[str, str] | None:
    """The text and digest of content file `rel`, or None when it does not exist."""
    try:
        return read_file(root, rel)
    except FileNotFoundError:
        return None


def write_file(root: Path, rel: str, text: str, *, expected: str | None) -> Written:
    """Write `text` to content file `rel` atomically if its digest is still `expected` (None:
    the file must not exist yet); Conflict otherwise, and nothing is written. A new article's
    folder is made. Blocking: call it off the event loop, one save at a time."""
    path = content_path(root, rel)
    try:
        old: bytes | None = path.read_bytes()
    except FileNotFoundError:
        old = None
    old_digest = None if old is None else file_digest(old)
    if old_digest != expected:
        raise Conflict(rel, None if old is None else _text(old), old_digest)
    data = text.encode("utf-8")
    folder = path.parent
    _make_folders(root.resolve(), folder)
    mode = _mode_for(path, folder)
    atomic_write(path, data, mode)
    return Written(
        rel=rel,
        before=None if old is None else _text(old),
        before_digest=old_digest,
        digest=file_digest(data),
    )


def atomic_write(path: Path, data: bytes, mode: int = DEFAULT_MODE) -> None:
    """Replace `path` with `data` in one step: a temp file in the same folder, flushed and
    fsynced, renamed over `path`, then the folder fsynced. On any failure the temp file is
    removed and `path` is as it was."""
    folder = path.parent
    # A hidden name ending in .tmp: the content loader reads neither "*.md" nor "*.y*ml" of it.
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def line_diff(before: str, after: str, context: int = 2) -> list[DiffLine]:
    """The lines that differ from `before` to `after`, each change with `context` unchanged
    lines around it, and a gap line ("@") where unchanged lines are left out."""
    old, new = before.splitlines(), after.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines or group[0][1] > 0 or group[0][3] > 0:
            lines.append(DiffLine("@", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine(" ", line) for line in old[i1:i2])
                continue
            lines.extend(DiffLine("-", line) for line in old[i1:i2])
            lines.extend(DiffLine("+", line) for line in new[j1:j2])
    return lines


def _text(data: bytes) -> str:
    """A content file's text as the loader reads it (UTF-8, "\\n" line ends)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _make_folders(base: Path, folder: Path) -> None:
    """Make `folder` and any missing parent below `base` (a new article's), each one fsynced
    into its parent; a folder's mode is its parent's."""
    missing: list[Path] = []
    walked = folder
    while not walked.exists():
        missing.append(walked)
        walked = walked.parent
    if walked != base and not walked.is_relative_to(base):
        raise UnsafePath(f"{folder} is outside the content folder")
    for new in reversed(missing):
        parent_mode = stat.S_IMODE(new.parent.stat().st_mode)
        try:
            new.mkdir()
        except FileExistsError:
            continue
        os.chmod(new, parent_mode)
        fsync_folder(new.parent)


def _mode_for(path: Path, folder: Path) -> int:
    """The mode to give the file: the old file's, else that of a file beside it, else 0o644
    (a new article's first file)."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    for sibling in sorted(folder.iterdir()):
        if sibling.name.startswith("."):
            continue
        if sibling.is_file() and not sibling.is_symlink():
            return stat.S_IMODE(sibling.stat().st_mode)
    return DEFAULT_MODE
