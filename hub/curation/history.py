"""A console save as a git commit, when the content folder is a git repository.

The `git` command, not a library: it takes the repository as it is (an unborn branch, a
detached HEAD, other files changed or staged by hand, an index in any format) and
`git commit --only -- <file>` commits that one file and leaves everything else as it found
it. Nothing depends on the machine's git identity: the author and committer are given for each
commit (the account's name and `<account id>@hub.invalid`); hooks and signing are off, so a
commit never waits for a person; each command has a timeout and no shell.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

# Seconds one git command may take (a large repository's first `git add` refreshes its index).
GIT_TIMEOUT = 30.0
# Characters git refuses or mangles in a name (`<`, `>`, line ends) and controls.
_NAME_UNSAFE = re.compile(r"[<>\x00-\x1f\x7f]")


class GitError(Exception):
    """A git command failed: the file is saved, only its commit is missing."""


def is_repository(root: Path) -> bool:
    """Whether the content folder is the top of a git repository (it has `.git`)."""
    return (root / ".git").exists()


def author_of(name: str, account_id: str) -> tuple[str, str]:
    """The git author of an account's saves: her display name and `<id>@hub.invalid`."""
    clean = " ".join(_NAME_UNSAFE.sub(" ", name).split()) or "Hub curator"
    local = re.sub(r"[^A-Za-z0-9._-]", "-", account_id).strip(".-") or "account"
    return clean, f"{local}@hub.invalid"


def commit_file(root: Path, rel: str, *, author: tuple[str, str], message: str) -> str | None:
    """Commit content file `rel` alone, as `author`; the new commit's id, or None when the
    file already is as the last commit has it. GitError when git fails."""
    _git(root, ["add", "--", rel])
    staged = _git(root, ["diff", "--cached", "--quiet", "--", rel], check=False)
    if staged.returncode == 0:
        return None
    if staged.returncode != 1:
        raise GitError(_reason(staged))
    name, email = author
    env = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    _git(root, ["commit", "--only", "--no-verify", "--quiet", "-m", message, "--", rel], env)
    return _git(root, ["rev-parse", "HEAD"]).stdout.strip()


def _git(
    root: Path, args: list[str], extra: dict[str, str] | None = None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run one git command in `root`; GitError when it fails (with `check`) or cannot run."""
    # What the hub process was started with must not point git at another repository or
    # index, nor make it ask anyone anything.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(extra or {})
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    command = [
        "git",
        "-C",
        str(root),
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
        *args,
    ]
    try:
        done = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise GitError("the git command is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took more than {GIT_TIMEOUT:.0f} s") from exc
    if check and done.returncode != 0:
        raise GitError(_reason(done))
    return done


def _reason(done: subprocess.CompletedProcess[str]) -> str:
    """What a failed git command said, on one short line."""
    said = (done.stderr or done.stdout or "").strip().splitlines()
    command = done.args[7] if len(done.args) > 7 else "git"
    # git says what went wrong on its "fatal:" or "error:" line; hints follow it.
    first = [line for line in said if line.startswith(("fatal:", "error:"))]
    line = (first or said or [f"exit status {done.returncode}"])[0]
    return f"git {command}: {line[:300]}"
