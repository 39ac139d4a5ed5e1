"""`hub users` and `hub audit export` run as the real command on a data folder of their own:
passwords from standard input or a terminal (never argv), refusals, the lock a running hub
holds, `users list`, and the audit entries each change writes (hub/cli_users.py)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from hub.audit import AuditLog
from hub.auth import totp
from hub.auth.accounts import Accounts
from hub.auth.invitations import InvitationInvalid, Invitations
from hub.auth.passwords import Passwords
from hub.auth.sessions import Sessions
from hub.store import Store, open_store
from hub.store.lock import lock_path
from tests.conftest import FAST

HUB = Path(sys.executable).parent / "hub"
PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"
OS_USER = "ops-maria"
# Cheap parameters for accounts the test makes itself; the command hashes with the real ones.


def _environ(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    # getpass.getuser() reads LOGNAME first: the audit log's actor is the test's choice.
    return {**env, "HUB_DATA_DIR": str(data_dir), "LOGNAME": OS_USER, "USER": OS_USER}


def _hub(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The `hub` command, with no terminal to prompt on (a session of its own)."""
    return subprocess.run(
        [str(HUB), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_environ(data_dir),
        timeout=60,
        start_new_session=True,
    )


@contextmanager
def _store(data_dir: Path) -> Iterator[Store]:
    store = open_store(data_dir / "hub.json")
    try:
        yield store
    finally:
        store.close()


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    """The command refused with one `hub: ...` line holding `message`, and no traceback."""
    assert result.returncode == 1, result
    assert result.stderr.startswith("hub: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _nothing_written(data_dir: Path) -> None:
    with _store(data_dir) as store:
        assert store.count("accounts") == 0
        assert store.count("audit") == 0


def _audit(data_dir: Path) -> list[dict[str, Any]]:
    result = _hub(data_dir, "audit", "export")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


# -- hub users add -----------------------------------------------------------------------------


def test_a_password_on_stdin_makes_an_account_that_signs_in(data_dir: Path) -> None:
    result = _hub(
        data_dir,
        *("users", "add", " Maria@CSO.example ", "--role", "leader", "--name", "Maria  Santos"),
        *("--corridor", "PH-HK", "--corridor", "id-sg", "--locale", "my", "fil"),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "maria@cso.example: leader account added, ID-SG,PH-HK fil,my\n"
    with _store(data_dir) as store:
        accounts = Accounts(store)
        assert accounts.authenticate("maria@cso.example", PASSWORD + "\n") is None
        account = accounts.authenticate("maria@cso.example", PASSWORD)
        assert account is not None
        assert (account.role, account.display_name, account.corridors, account.locales) == (
            "leader",
            "Maria Santos",
            ("ID-SG", "PH-HK"),
            ("fil", "my"),
        )
        (entry,) = AuditLog(store).page()
        assert (entry.actor, entry.action, entry.target) == (
            f"cli:{OS_USER}",
            "account_created",
            "maria@cso.example",
        )
    # Only the hash is kept; nothing prints the password back.
    for path in data_dir.iterdir():
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("password", "message"),
    [("Short#1x", "at least 12 characters"), ("password1234", "too common")],
)
def test_a_weak_password_is_refused_and_nothing_written(
    data_dir: Path, password: str, message: str
) -> None:
    result = _hub(
        data_dir, "users", "add", "ana@cso.example", "--role", "admin", "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    _refused(result, message)
    _nothing_written(data_dir)


def test_no_terminal_and_no_password_stdin_is_refused(data_dir: Path) -> None:
    # With no terminal, getpass would read standard input with the echo on; it is not asked.
    result = _hub(data_dir, "users", "add", "ana@cso.example", "--role", "admin", stdin=PASSWORD)
    _refused(result, "--password-stdin")
    _nothing_written(data_dir)


def test_a_password_is_never_taken_from_the_command_line(data_dir: Path) -> None:
    for args in (["--password", PASSWORD], ["--password-std", PASSWORD], [PASSWORD]):
        result = _hub(data_dir, "users", "add", "ana@cso.example", "--role", "admin", *args)
        assert result.returncode == 2, result
        assert "unrecognized arguments" in result.stderr
    assert not (data_dir / "hub.json").exists()


def _typed(data_dir: Path, args: list[str], lines: list[str]) -> tuple[int, str]:
    """Run `hub` on a terminal of its own, typing each line at each password prompt."""
    env = _environ(data_dir)
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.execve(str(HUB), [str(HUB), *args], env)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        for typed, line in enumerate(lines):
            while seen.count(b"password") <= typed:
                assert time.monotonic() < deadline, seen
                if select.select([fd], [], [], 1)[0]:
                    seen += os.read(fd, 1024)
            os.write(fd, line.encode() + b"\n")
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # Linux: EIO once the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode()


def test_a_password_typed_twice_at_the_terminal(data_dir: Path) -> None:
    add = ["users", "add", "ana@cso.example", "--role", "admin"]
    code, screen = _typed(data_dir, add, [PASSWORD, PASSWORD + "x"])
    assert code == 1, screen
    assert "hub: the two passwords differ" in screen
    assert PASSWORD not in screen  # not echoed
    _nothing_written(data_dir)

    code, screen = _typed(data_dir, add, [PASSWORD, PASSWORD])
    assert code == 0, screen
    assert "ana@cso.example: admin account added" in screen
    with _store(data_dir) as store:
        assert Accounts(store).authenticate("ana@cso.example", PASSWORD) is not None


# -- the lock of a running hub -----------------------------------------------------------------


def test_a_running_hub_holds_the_lock(data_dir: Path) -> None:
    # The test process stands for `hub serve`: it owns the data folder.
    with _store(data_dir) as store:
        for args, stdin in (
            (["users", "add", "ana@cso.example", "--role", "admin", "--password-stdin"], PASSWORD),
            (["users", "list"], ""),
            (["audit", "export"], ""),
        ):
            result = _hub(data_dir, *args, stdin=stdin)
            _refused(result, f"{lock_path(data_dir / 'hub.json')} is held by process {os.getpid()}")
        assert store.count("accounts") == 0
        # The hub keeps its store: a write after the refusals lands.
        AuditLog(store).record("sign_out", actor="x@cso.example")
    with _store(data_dir) as store:
        assert store.count("audit") == 1


# -- hub users list ----------------------------------------------------------------------------


def test_users_list_is_an_aligned_table(data_dir: Path) -> None:
    with _store(data_dir) as store:
        accounts = Accounts(
            store, Passwords(FAST), clock=lambda: datetime(2025, 3, 1, 8, 30, 5, tzinfo=UTC)
        )
        accounts.create("ana@cso.example", PASSWORD, role="admin")
        accounts.create("bo@cso.example", None, role="translator", locales=["th", "my"])
        leader = accounts.create(
            "chan@cso.example",
            OTHER,
            role="leader",
            corridors=["KH-TH", "MM-TH"],
            locales=["km", "en"],
        )
        accounts.authenticate("ana@cso.example", PASSWORD)
        accounts.disable("chan@cso.example")
        store.update("accounts", leader.id, {"two_factor": True})
    result = _hub(data_dir, "users", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "EMAIL             ROLE        SCOPE              STATUS       2FA  LAST SIGN-IN",
        "ana@cso.example   admin       all                active       off  2025-03-01T08:30:05Z",
        "bo@cso.example    translator  th,my              no password  off  never",
        "chan@cso.example  leader      KH-TH,MM-TH en,km  disabled     on   never",
    ]  # fmt: skip


def test_users_list_of_an_empty_hub_says_how_to_begin(data_dir: Path) -> None:
    result = _hub(data_dir, "users", "list")
    assert result.returncode == 0
    assert "hub users add EMAIL --role admin" in result.stdout


# -- changes and their audit entries -----------------------------------------------------------


@pytest.mark.slow
def test_every_change_is_one_audit_entry_in_the_export(data_dir: Path, tmp_path: Path) -> None:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    steps: list[tuple[list[str], str]] = [
        (["users", "add", "ana@cso.example", "--role", "admin", "--password-stdin"], PASSWORD),
        (
            [
                *("users", "add", "bo@cso.example", "--role", "leader", "--name", "Bo"),
                *("--corridor", "PH-HK", "--locale", "fil", "--password-stdin"),
            ],
            OTHER,
        ),
        (["users", "disable", "bo@cso.example"], ""),
        (["users", "disable", "bo@cso.example"], ""),  # already disabled: no entry
        (["users", "enable", "BO@cso.example"], ""),
        (["users", "set-role", "bo@cso.example", "translator", "--locale", "th"], ""),
        (["users", "set-role", "bo@cso.example", "translator", "--locale", "th"], ""),  # same
        (["users", "reset-password", "bo@cso.example", "--password-stdin"], PASSWORD),
    ]
    for args, stdin in steps:
        result = _hub(data_dir, *args, stdin=stdin + "\n")
        assert result.returncode == 0, (args, result.stderr)
    ended = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = _audit(data_dir)
    actor = f"cli:{OS_USER}"
    assert [(e["actor"], e["action"], e["target"], e["change"]) for e in lines] == [
        (
            actor,
            "account_created",
            "ana@cso.example",
            {"role": "admin", "display_name": "", "corridors": [], "locales": []},
        ),
        (
            actor,
            "account_created",
            "bo@cso.example",
            {"role": "leader", "display_name": "Bo", "corridors": ["PH-HK"], "locales": ["fil"]},
        ),
        (actor, "account_disabled", "bo@cso.example", {"active": {"from": True, "to": False}}),
        (actor, "account_enabled", "bo@cso.example", {"active": {"from": False, "to": True}}),
        (
            actor,
            "role_changed",
            "bo@cso.example",
            {
                "role": {"from": "leader", "to": "translator"},
                "corridors": {"from": ["PH-HK"], "to": []},
                "locales": {"from": ["fil"], "to": ["th"]},
            },
        ),
        (actor, "password_reset", "bo@cso.example", {}),
    ]
    assert all(started <= e["at"] <= ended for e in lines)
    assert len({e["id"] for e in lines}) == len(lines)

    # The same export into a file, readable by its owner only.
    out = tmp_path / "audit.jsonl"
    result = _hub(data_dir, "audit", "export", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}: 6 audit entries\n"
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == lines
    assert out.stat().st_mode & 0o777 == 0o600
    # What the commands did is what the store holds.
    with _store(data_dir) as store:
        accounts = Accounts(store)
        bo = accounts.authenticate("bo@cso.example", PASSWORD)
        assert bo is not None and (bo.role, bo.locales, bo.active) == ("translator", ("th",), True)


def test_reset_password_cancels_a_link_sent_before(data_dir: Path) -> None:
    with _store(data_dir) as store:
        accounts = Accounts(store, Passwords(FAST))
        bo = accounts.create("bo@cso.example", None, role="translator", locales=["th"])
        token = Invitations(store, accounts).issue(bo, kind="invite", by="ana@cso.example")
    result = _hub(data_dir, "users", "reset-password", "bo@cso.example", "--password-stdin",
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    with _store(data_dir) as store:
        accounts = Accounts(store)
        # The old link can no longer set a password over the one just set.
        with pytest.raises(InvitationInvalid) as refused:
            Invitations(store, accounts).accept(token, OTHER)
        assert refused.value.reason == "invalid"
        assert accounts.authenticate("bo@cso.example", PASSWORD) is not None


def test_clear_2fa_lets_the_password_alone_sign_in_again(data_dir: Path) -> None:
    with _store(data_dir) as store:
        accounts = Accounts(store, Passwords(FAST))
        ana = accounts.create("ana@cso.example", PASSWORD, role="admin")
        secret = totp.new_secret()
        accounts.set_two_factor(ana.email, secret, pyotp.TOTP(secret).now())
        sessions = Sessions(store, accounts, idle=timedelta(hours=1), lifetime=timedelta(hours=8))
        sessions.start(ana)
        assert accounts.authenticate(ana.email, PASSWORD) is None  # her phone is gone
    result = _hub(data_dir, "users", "clear-2fa", "ANA@cso.example")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ana@cso.example: two-step sign-in off, every session ended\n"
    again = _hub(data_dir, "users", "clear-2fa", "ana@cso.example")
    assert again.returncode == 0
    assert again.stdout == "ana@cso.example has no two-step sign-in: nothing changed\n"
    _refused(_hub(data_dir, "users", "clear-2fa", "bo@cso.example"), "no account has the email")
    with _store(data_dir) as store:
        assert store.count("sessions") == 0
        signed_in = Accounts(store).authenticate("ana@cso.example", PASSWORD)
        assert signed_in is not None and not signed_in.two_factor
    lines = _audit(data_dir)
    assert [(e["actor"], e["action"], e["target"], e["change"]) for e in lines] == [
        (
            f"cli:{OS_USER}",
            "two_factor_disabled",
            "ana@cso.example",
            {"two_factor": {"from": True, "to": False}, "sessions_ended": 1},
        )
    ]
    assert secret not in json.dumps(lines)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "disable", "nobody@cso.example"], "no account has the email nobody@cso.example"),
        (["users", "add", "not-an-email", "--role", "admin"], "'not-an-email' is not an email"),
        (["users", "add", "x@cso.example", "--role", "owner"], "'owner' is not a role"),
        (["users", "add", "x@cso.example", "--role", "leader"], "a leader needs at least one"),
        (["users", "add", "x@cso.example", "--role", "leader", "--corridor", "PH-PH",
          "--locale", "fil"], "goes from a country to itself"),
        # Refused before any password is asked for (none is given here).
        (["users", "add", "ANA@cso.example", "--role", "curator"],
         "the email ana@cso.example already exists"),
        (["users", "disable", "ana@cso.example"], "ana@cso.example is the only active admin"),
        (["users", "set-role", "ana@cso.example", "curator"], "the only active admin"),
        (["users", "reset-password", "ana@cso.example", "--password-stdin"],
         "no password on standard input"),
    ],
)  # fmt: skip
def test_refusals_say_why_and_change_nothing(data_dir: Path, args: list[str], message: str) -> None:
    with _store(data_dir) as store:
        Accounts(store, Passwords(FAST)).create("ana@cso.example", PASSWORD, role="admin")
        before = store.page("accounts")
    _refused(_hub(data_dir, *args), message)
    with _store(data_dir) as store:
        assert store.page("accounts") == before
        assert store.count("audit") == 0


@pytest.mark.parametrize("args", [["users", "add", "x@cso.example"], ["users"], ["audit"]])
def test_usage_errors_exit_2(data_dir: Path, args: list[str]) -> None:
    result = _hub(data_dir, *args)
    assert result.returncode == 2
    assert "usage: hub" in result.stderr and "Traceback" not in result.stderr
