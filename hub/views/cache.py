"""A bounded cache of rendered pages: content is fixed for the life of the app."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from hub.middleware import etag_of

DEFAULT_SIZE = 1024


class PageCache:
    """Least-recently-used map from a page's identity to its rendered bytes and ETag."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, tuple[bytes, str]] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bytes, str] | None:
        """The cached body and its ETag, marking them recently used."""
        entry = self._pages.get(key)
        if entry is not None:
            self._pages.move_to_end(key)
        return entry

    def put(self, key: Hashable, body: bytes) -> tuple[bytes, str]:
        """Keep a body with its ETag, dropping the least recently used past the bound."""
        entry = (body, etag_of(body))
        self._pages[key] = entry
        self._pages.move_to_end(key)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._pages)
