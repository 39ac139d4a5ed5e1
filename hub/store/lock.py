"""One process owns a data folder: an exclusive flock on a lock file in it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hub.store.base import StoreLocked


def lock_path(store_path: Path) -> Path:
    """The lock file of the store whose snapshot is `store_path`."""
    return store_path.parent / f"{store_path.stem}.lock"


class FolderLock:
    """An exclusive lock on `path`, held from creation until release (or the process ends:
    the kernel drops a flock with its process, so a killed hub leaves no stale lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            by = f" by process {holder}" if holder.isdigit() else ""
            raise StoreLocked(
                f"{path} is held{by}: another hub is using this data folder "
                "(stop it first, or give this one its own HUB_DATA_DIR)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder's pid, for the message a second process prints; the flock is the lock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"%d\n" % os.getpid(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        """Let another process own the folder."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock
