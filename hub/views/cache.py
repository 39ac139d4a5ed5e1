"""A bounded cache of rendered pages: content is fixed for the life of the app."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

DEFAULT_SIZE = 1024


class PageCache:
    """Least-recently-used map from a page's identity to its rendered bytes."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        """The cached body, marking it recently used."""
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        """Keep a body, dropping the least recently used one past the bound."""
        self._pages[key] = body
        self._pages.move_to_end(key)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
