"""Files and folders of a data folder, made readable by their owner only.

The store's files hold argon2 hashes, TOTP secrets and people's emails: each is created with
mode 0600 (and a folder the hub creates, 0700) by the call that creates it, so no byte is ever
in a file another user of the machine may read, whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> None:
    """Create the folder `path` with mode 0700 when missing (its missing parents get the
    usual mode: only this folder holds the data); an existing folder is left as it is."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def create_private(path: Path) -> int:
    """Open a new file at `path` for writing, mode 0600 from its creation; FileExistsError
    when there is one (its mode could be anything)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path`, mode 0600 from its creation."""
    fd = create_private(path)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
