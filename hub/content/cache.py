"""What loading the content tree computes, kept in the data folder from one start to the next.

Parsing YAML, rendering Markdown and building the search indexes cost most of a start (about
10 s of CPU for 1,000 articles in 7 locales); their results depend only on the bytes of the
files and on the code that computes them. So each result is kept under the SHA-256 of what it
was computed from: a file's parsed front matter and rendered body under the file's digest, a
locale's search index under the digest of its documents. An edited file misses and is parsed
again; nothing else is. Each kind of result is dropped when the code computing it changes
(code_keys: the sources of the hub/content modules concerned, the parsers' versions, Python's).

The file is written only by the hub, to a temporary name then renamed, so it is whole or
absent. It holds plain values in `marshal` format: unlike pickle, loading it builds values and
runs nothing, and it is far faster than JSON. The file is a run of sections (kind, code key,
CRC-32, length, then a marshal dict of some entries), so reading or writing it never holds
more than a few MB of its bytes at once. A section of other code is skipped; a damaged file
(a checksum or a length that does not match) is ignored (the start is only slower) and
replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import marshal
import os
import sys
import tempfile
import zlib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

MAGIC = b"hub content cache 3\n"
# Entries per section of the file: a few MB at most for rendered articles.
SECTION_ENTRIES = 256
# marshal's format 4 is read by every Python 3.4 or later; the keys below hold the Python
# version anyway, since neither marshal's output nor unicodedata (search folds text with it)
# is promised across versions.
_MARSHAL_VERSION = 4
_SOURCES = Path(__file__).resolve().parent
# What computes each kind of result: hub/content's modules and the packages they call. A
# release that changes none of them keeps that kind, so an upgrade need not start cold.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "yaml": (("cache.py", "loader.py"), ("PyYAML",)),
    "markdown": (("cache.py", "markdown.py"), ("markdown-it-py", "markdown-it-pyrs", "mdurl")),
    "index": (("cache.py", "search.py", "wordindex.py", "bitslice.py", "text.py"), ()),
}
# A front matter value that marshal cannot hold as is: a date, kept as (tag, ISO text).
# YAML's safe loader never builds a tuple, so a tuple in the cache is always such a tag.
_DATE = "date"


class Uncachable(Exception):
    """A value that the cache cannot hold exactly."""


def code_key(sources: Iterable[Path], packages: Iterable[str]) -> str:
    """A hash of the code that computes a kind of result: the sources of its modules, the
    versions of the packages it calls and Python's (hex SHA-256)."""
    digest = hashlib.sha256(MAGIC + sys.version.encode())
    for name in packages:
        try:
            digest.update(f"{name}={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing\n".encode())
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def code_keys() -> dict[str, str]:
    """For each kind of result, `code_key` of the modules and packages that compute it."""
    return {
        kind: code_key((_SOURCES / module for module in modules), packages)
        for kind, (modules, packages) in KINDS.items()
    }


def encode(value: Any) -> Any:
    """A parsed YAML value as plain values marshal holds exactly; Uncachable otherwise."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dt.datetime):
        raise Uncachable("a date with a time")
    if isinstance(value, dt.date):
        return (_DATE, value.isoformat())
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise Uncachable("a key that is not text")
        return {key: encode(item) for key, item in value.items()}
    raise Uncachable(type(value).__name__)


def decode(value: Any) -> Any:
    """The value `encode` was given (lists and dicts new, so a caller may change them)."""
    kind = type(value)
    if kind is dict:
        return {
            key: item if type(item) in _SCALARS else decode(item) for key, item in value.items()
        }
    if kind is list:
        return [item if type(item) in _SCALARS else decode(item) for item in value]
    if kind is tuple:
        return dt.date.fromisoformat(value[1])
    return value


_SCALARS = frozenset((str, int, float, bool, type(None)))


class ContentCache:
    """Results keyed by digest, read from one file at start and written back when they changed.

    Each kind ("yaml", "markdown", "index") maps a hex digest to a value of plain types. What a
    start did not ask for is left out when the file is written again, so it holds no more than
    one tree's results.
    """

    def __init__(self, path: Path | None, keys: dict[str, str] | None = None) -> None:
        """A cache kept at `path` (None: kept in memory only) for the code of `keys` (default:
        the running code's, see code_keys)."""
        self.path = path
        self.keys = code_keys() if keys is None else keys
        self._old: dict[str, dict[str, Any]] = {}
        self._new: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0
        if path is not None:
            self._old = self._read(path)

    def _read(self, path: Path) -> dict[str, dict[str, Any]]:
        try:
            with path.open("rb") as file:
                return self._sections(file, path)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("content cache %s cannot be read: %s", path, exc)
            return {}

    def _sections(self, file: IO[bytes], path: Path) -> dict[str, dict[str, Any]]:
        """The kinds of results the file holds for the running code; {} if it is damaged."""
        kinds: dict[str, dict[str, Any]] = {}
        if file.readline() != MAGIC:
            log.warning("content cache %s is not one; it will be replaced", path)
            return {}
        while header := file.readline():
            try:
                kind, key, checksum, length = header.decode("ascii").split()
                size = int(length)
            except (UnicodeDecodeError, ValueError):
                size = -1
            if size < 0 or header[-1:] != b"\n":
                log.warning("content cache %s is damaged; it will be replaced", path)
                return {}
            if self.keys.get(kind) != key:
                # Other code computed this kind (an upgrade): it is computed again.
                file.seek(size, os.SEEK_CUR)
                continue
            data = file.read(size)
            if len(data) != size or f"{zlib.crc32(data):08x}" != checksum:
                log.warning("content cache %s is damaged; it will be replaced", path)
                return {}
            try:
                values = marshal.loads(data)
            except (EOFError, ValueError, TypeError) as exc:
                log.warning("content cache %s cannot be read: %s", path, exc)
                return {}
            if not isinstance(values, dict):
                return {}
            kinds.setdefault(kind, {}).update(values)
        return kinds

    def holds(self, kind: str) -> bool:
        """Whether the file read at start held any result of `kind`."""
        return bool(self._old.get(kind))

    def added(self, kind: str) -> dict[str, Any]:
        """The results of `kind` kept for the next start: found, or put since."""
        return dict(self._new.get(kind, {}))

    def has(self, kind: str, digest: str) -> bool:
        """Whether a value is kept for `digest` (found at start, or put since), without
        keeping it for the next start as `get` does."""
        return digest in self._new.get(kind, {}) or digest in self._old.get(kind, {})

    def get(self, kind: str, digest: str) -> Any | None:
        """The value kept for `digest`, or None; a value found is kept for the next start."""
        new = self._new.setdefault(kind, {})
        if digest in new:
            self.hits += 1
            return new[digest]
        value = self._old.get(kind, {}).get(digest)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        new[digest] = value
        return value

    def put(self, kind: str, digest: str, value: Any) -> None:
        """Keep `value` (plain types only) for `digest`."""
        self._new.setdefault(kind, {})[digest] = value

    @property
    def changed(self) -> bool:
        """Whether the file would now hold anything else than it did at start."""
        if set(self._new) != set(self._old):
            return any(self._new.get(kind) for kind in set(self._new) | set(self._old))
        return any(self._new[kind].keys() != self._old[kind].keys() for kind in self._new)

    def save(self) -> None:
        """Write what this start used to the file, whole or not at all, when it changed."""
        if self.path is None or not self.changed:
            return
        temporary: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                dir=self.path.parent, prefix=".content-", delete=False
            ) as file:
                temporary = Path(file.name)
                file.write(MAGIC)
                for kind, values in self._new.items():
                    self._write(file, kind, values)
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("content cache %s cannot be written: %s", self.path, exc)
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            return
        self._old = {kind: dict(values) for kind, values in self._new.items()}

    def _write(self, file: IO[bytes], kind: str, values: dict[str, Any]) -> None:
        """The values of one kind, in sections of SECTION_ENTRIES (so that writing or reading
        never holds more than one section's bytes at once)."""
        items = list(values.items())
        key = self.keys.get(kind, "-")
        for start in range(0, len(items), SECTION_ENTRIES):
            data = marshal.dumps(dict(items[start : start + SECTION_ENTRIES]), _MARSHAL_VERSION)
            file.write(f"{kind} {key} {zlib.crc32(data):08x} {len(data)}\n".encode("ascii"))
            file.write(data)
