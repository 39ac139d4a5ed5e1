"""The `hub users` and `hub audit` commands: console accounts for the first admin and for
scripts, and the audit log as JSON Lines.

They open the store of HUB_DATA_DIR themselves, so they run while no hub serves that folder
(its lock refuses them otherwise). A password is read from the terminal (asked twice) or from
one line of standard input, never from the command line, where `ps` and shell histories
would keep it. Each change is one audit entry whose actor is "cli:<the OS user>".
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.audit import AuditLog, diff
from hub.auth.accounts import Account, Accounts, EmailTaken, UnknownAccount
from hub.auth.errors import Refused
from hub.auth.fields import ROLES, check_scope, clean_display_name, normalize_email
from hub.auth.invitations import Invitations
from hub.auth.sessions import Sessions
from hub.settings import Settings
from hub.store import Store, StoreError, open_store

Command = Callable[[argparse.Namespace, Settings], int]


class Stop(Exception):
    """The command cannot go on: its message is printed after "hub: "."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `users` and `audit` to the `hub` command's subcommands."""
    users = commands.add_parser(
        "users",
        help="add, list, disable and change console accounts (while no hub serves HUB_DATA_DIR)",
    ).add_subparsers(dest="users_command", required=True, metavar="COMMAND")

    add = users.add_parser(
        "add", help="add an account that can sign in at once", allow_abbrev=False
    )
    add.add_argument("email")
    add.add_argument("--role", required=True, help=f"one of {', '.join(ROLES)}")
    add.add_argument("--name", default="", help="display name shown in the console")
    _scope_options(add)
    _password_option(add)
    add.set_defaults(func=_guarded(_add))

    listing = users.add_parser("list", help="every account: role, scope, status, 2FA, sign-in")
    listing.set_defaults(func=_guarded(_list))

    disable = users.add_parser("disable", help="stop an account signing in, ending its sessions")
    disable.add_argument("email")
    disable.set_defaults(func=_guarded(_disable))

    enable = users.add_parser("enable", help="let a disabled account sign in again")
    enable.add_argument("email")
    enable.set_defaults(func=_guarded(_enable))

    set_role = users.add_parser("set-role", help="give an account a role and its scope")
    set_role.add_argument("email")
    set_role.add_argument("role", help=f"one of {', '.join(ROLES)}")
    _scope_options(set_role)
    set_role.set_defaults(func=_guarded(_set_role))

    reset = users.add_parser(
        "reset-password",
        help="set a new password for an account, ending its sessions",
        allow_abbrev=False,
    )
    reset.add_argument("email")
    _password_option(reset)
    reset.set_defaults(func=_guarded(_reset_password))

    clear_2fa = users.add_parser(
        "clear-2fa",
        help="turn off an account's two-step sign-in (a lost phone), ending its sessions",
    )
    clear_2fa.add_argument("email")
    clear_2fa.set_defaults(func=_guarded(_clear_two_factor))

    audit = commands.add_parser(
        "audit", help="the audit log of HUB_DATA_DIR (while no hub serves it)"
    ).add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    export = audit.add_parser("export", help="write every entry as JSON Lines, oldest first")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(func=_guarded(_export))


def _scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corridor",
        dest="corridors",
        action="extend",
        nargs="+",
        default=[],
        metavar="ORIGIN-DEST",
        help="a corridor a leader works on, like PH-HK (repeatable)",
    )
    parser.add_argument(
        "--locale",
        dest="locales",
        action="extend",
        nargs="+",
        default=[],
        metavar="LOCALE",
        help="a locale a leader or translator works in, like th (repeatable)",
    )


def _password_option(parser: argparse.ArgumentParser) -> None:
    # Its parser takes no abbreviation (allow_abbrev=False): `--password` is an unknown option,
    # never `--password-stdin` under a shorter name.
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (else: asked twice)",
    )


def _guarded(command: Command) -> Command:
    """The command, printing "hub: <why>" and giving 1 for whatever refuses it."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return command(args, settings)
        except (Refused, Stop, StoreError, OSError) as exc:
            print(f"hub: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print("\nhub: interrupted", file=sys.stderr)
        return 1

    return run


@contextlib.contextmanager
def _opened(settings: Settings) -> Iterator[Store]:
    """The store of HUB_DATA_DIR, owned until the block ends (StoreLocked while a hub runs)."""
    store = open_store(settings.store_path, snapshot_bytes=settings.store_snapshot_bytes)
    try:
        yield store
    finally:
        store.close()


def actor() -> str:
    """Who the audit log names for this command: "cli:" and the OS user running it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password database
        user = str(os.getuid())
    return f"cli:{user}"


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice at the terminal."""
    if from_stdin:
        line = sys.stdin.buffer.readline()
        if not line.strip(b"\r\n"):
            raise Stop("no password on standard input: nothing was changed")
        try:
            return line.decode("utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise Stop("the password on standard input is not UTF-8") from None
    with warnings.catch_warnings():
        # Without a terminal getpass would read standard input with the echo on: refuse.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            first = getpass.getpass("New password: ")
            second = getpass.getpass("The same password again: ")
        except getpass.GetPassWarning:
            raise Stop(
                "no terminal to ask for the password on: give it on standard input "
                "with --password-stdin"
            ) from None
        except EOFError:
            raise Stop("no password given: nothing was changed") from None
    if first != second:
        raise Stop("the two passwords differ: nothing was changed")
    return first


# -- hub users ---------------------------------------------------------------------------------


def _add(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        accounts = Accounts(store)
        # Refused before the prompt: nobody types a password for an account that cannot be made.
        email = normalize_email(args.email)
        name = clean_display_name(args.name)
        corridors, locales = check_scope(args.role, args.corridors, args.locales)
        if accounts.get(email) is not None:
            raise EmailTaken(email)
        password = read_password(args.password_stdin)
        account = accounts.create(
            email,
            password,
            role=args.role,
            display_name=name,
            corridors=corridors,
            locales=locales,
        )
        AuditLog(store).record(
            "account_created",
            actor=actor(),
            target=account.email,
            change={
                "role": account.role,
                "display_name": account.display_name,
                "corridors": list(account.corridors),
                "locales": list(account.locales),
            },
        )
    print(f"{account.email}: {account.role} account added, {_scope(account)}")
    return 0


def _status(account: Account) -> str:
    """What `users list` says of an account: one without a password cannot sign in yet (an
    invitation or a forced reset not yet used)."""
    if not account.active:
        return "disabled"
    return "active" if account.has_password else "no password"


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        everyone = Accounts(store).all()
    if not everyone:
        print("no accounts yet: add the first admin with `hub users add EMAIL --role admin`")
        return 0
    rows = [("EMAIL", "ROLE", "SCOPE", "STATUS", "2FA", "LAST SIGN-IN")]
    rows += [
        (
            a.email,
            a.role,
            _scope(a),
            _status(a),
            "on" if a.two_factor else "off",
            a.last_sign_in or "never",
        )
        for a in everyone
    ]
    print("\n".join(_aligned(rows)))
    return 0


def _disable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_active(args.email, settings, active=False)


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_active(args.email, settings, active=True)


def _set_active(email: str, settings: Settings, *, active: bool) -> int:
    """Enable or disable an account (disabling ends its sessions), audited; a no-op says so."""
    state = "active" if active else "disabled"
    with _opened(settings) as store:
        accounts = Accounts(store)
        account = _require(accounts, email)
        if account.active == active:
            print(f"{account.email} is already {state}: nothing changed")
            return 0
        if active:
            accounts.enable(account.email)
        else:
            accounts.disable(account.email)
        AuditLog(store).record(
            "account_enabled" if active else "account_disabled",
            actor=actor(),
            target=account.email,
            change=diff({"active": not active}, {"active": active}),
        )
    print(
        f"{account.email}: enabled" if active else f"{account.email}: disabled, every session ended"
    )
    return 0


def _set_role(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        accounts = Accounts(store)
        before = _require(accounts, args.email)
        corridors, locales = check_scope(args.role, args.corridors, args.locales)
        wanted = {"role": args.role, "corridors": list(corridors), "locales": list(locales)}
        change = diff(_role_and_scope(before), wanted)
        if not change:
            print(f"{before.email} already is {before.role}, {_scope(before)}: nothing changed")
            return 0
        after = accounts.set_role(before.email, args.role, corridors=corridors, locales=locales)
        AuditLog(store).record("role_changed", actor=actor(), target=after.email, change=change)
    print(f"{after.email}: {after.role}, {_scope(after)}")
    return 0


def _reset_password(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        accounts = Accounts(store)
        account = _require(accounts, args.email)
        password = read_password(args.password_stdin)
        accounts.set_password(account.email, password)
        # A link sent before (an invitation, an admin's reset) would set another password
        # over this one.
        Invitations(store, accounts).revoke(account.id)
        AuditLog(store).record("password_reset", actor=actor(), target=account.email)
    note = "" if account.active else " (the account is disabled: `hub users enable` it)"
    print(f"{account.email}: new password set, every session ended{note}")
    return 0


def _clear_two_factor(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        accounts = Accounts(store)
        account = _require(accounts, args.email)
        if not account.two_factor:
            print(f"{account.email} has no two-step sign-in: nothing changed")
            return 0
        accounts.clear_two_factor(account.email)
        # Sessions that passed the old second factor end with it, as from the admin console.
        ended = _sessions(store, accounts, settings).end_all(account.id)
        AuditLog(store).record(
            "two_factor_disabled",
            actor=actor(),
            target=account.email,
            change={**diff({"two_factor": True}, {"two_factor": False}), "sessions_ended": ended},
        )
    print(f"{account.email}: two-step sign-in off, every session ended")
    return 0


def _sessions(store: Store, accounts: Accounts, settings: Settings) -> Sessions:
    return Sessions(
        store,
        accounts,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
    )


def _require(accounts: Accounts, email: str) -> Account:
    account = accounts.get(email)
    if account is None:
        raise UnknownAccount(normalize_email(email))
    return account


def _role_and_scope(account: Account) -> dict[str, Any]:
    return {
        "role": account.role,
        "corridors": list(account.corridors),
        "locales": list(account.locales),
    }


def _scope(account: Account) -> str:
    """An account's scope in a few characters: "all", or its corridors and locales."""
    parts = [",".join(account.corridors), ",".join(account.locales)]
    return " ".join(p for p in parts if p) or "all"


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines of left-aligned columns two spaces apart, with no trailing space."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


# -- hub audit ---------------------------------------------------------------------------------


def _export(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as store:
        log = AuditLog(store)
        if args.output in (None, "-"):
            count = _export_to_stdout(log)
            print(f"{count} audit entries", file=sys.stderr)
            return 0
        count = _export_to_file(log, Path(args.output))
    print(f"{args.output}: {count} audit entries")
    return 0


def _export_to_stdout(log: AuditLog) -> int:
    # JSON Lines is UTF-8 whatever the terminal's locale says.
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    try:
        count = log.export(out)
        out.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone: nothing more to say, and nothing left to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Stop("standard output was closed before the export ended") from None
    finally:
        out.detach()
    return count


def _export_to_file(log: AuditLog, path: Path) -> int:
    """Write the export next to `path`, then rename it: a file at `path` is always whole."""
    partial = path.with_name(f".{path.name}.partial")
    # Owner-only: the log names people by their email.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as out:
            count = log.export(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
