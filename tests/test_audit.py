"""The audit log in a real store: entries newest first even within one second, pages by cursor,
filters, refused secrets, and the JSON Lines export, oldest first, a page at a time
(hub/audit.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hub.audit
from hub.audit import ACTIONS, AuditLog, Entry, diff
from hub.store import Document, Store, open_store
from tests.conftest import Clock


@pytest.fixture
def audit(store: Store, clock: Clock) -> AuditLog:
    return AuditLog(store, clock=clock)


def _targets(entries: list[Entry]) -> list[str]:
    return [e.target for e in entries]


def test_an_entry_keeps_time_actor_action_target_and_change(audit: AuditLog, clock: Clock) -> None:
    clock.now = datetime(2025, 3, 1, 8, 30, 15, 999_999, tzinfo=UTC)
    made = audit.record(
        "role_changed",
        actor="admin@cso.example",
        target="maria@cso.example",
        change={"role": {"from": "leader", "to": "curator"}, "corridors": ("PH-HK",)},
    )
    assert made.at == "2025-03-01T08:30:15Z"
    (read,) = audit.page()
    assert read == made
    assert (read.actor, read.action, read.target) == (
        "admin@cso.example",
        "role_changed",
        "maria@cso.example",
    )
    assert read.change == {"role": {"from": "leader", "to": "curator"}, "corridors": ["PH-HK"]}


def test_entries_within_one_second_come_newest_first_across_pages(
    audit: AuditLog, clock: Clock
) -> None:
    # The clock stands still: only the order of recording tells the entries apart.
    for n in range(23):
        audit.record("sign_in", actor=f"p{n}@cso.example", target=f"t{n:02d}")
    seen: list[str] = []
    before = None
    while True:
        page = audit.page(before=before, limit=5)
        seen += _targets(page)
        if len(page) < 5:
            break
        before = page[-1].id
    assert seen == [f"t{n:02d}" for n in reversed(range(23))]


def test_a_clock_that_goes_back_keeps_the_order_even_after_a_restart(
    path: Path, clock: Clock
) -> None:
    store = open_store(path)
    AuditLog(store, clock=clock).record("sign_in", actor="a@cso.example", target="first")
    clock.now += timedelta(hours=1)
    AuditLog(store, clock=clock).record("sign_in", actor="a@cso.example", target="second")
    store.close()
    # A new run whose clock is an hour behind the last entry written.
    clock.now -= timedelta(hours=2)
    store = open_store(path)
    try:
        log = AuditLog(store, clock=clock)
        made = log.record("sign_out", actor="a@cso.example", target="third")
        assert made.at == "2025-03-01T07:30:00Z"  # the time recorded is the clock's
        assert _targets(log.page()) == ["third", "second", "first"]
    finally:
        store.close()


def test_two_logs_on_one_store_share_the_order(store: Store, clock: Clock) -> None:
    web, other = AuditLog(store, clock=clock), AuditLog(store, clock=clock)
    for n in range(6):
        (web if n % 2 else other).record("sign_in", actor="", target=str(n))
    assert _targets(web.page()) == ["5", "4", "3", "2", "1", "0"]


def test_filters_by_actor_action_and_target(audit: AuditLog) -> None:
    audit.record("sign_in", actor="ana@cso.example", target="ana@cso.example")
    audit.record("sign_in_failed", actor="", target="ana@cso.example")
    audit.record("account_disabled", actor="cli:ops", target="bo@cso.example")
    audit.record("sign_in", actor="bo@cso.example", target="bo@cso.example")
    assert [e.action for e in audit.page(target="ana@cso.example")] == [
        "sign_in_failed",
        "sign_in",
    ]
    assert [e.target for e in audit.page(action="sign_in")] == [
        "bo@cso.example",
        "ana@cso.example",
    ]
    # Nobody signed in is an actor of its own, not "any actor".
    assert [e.action for e in audit.page(actor="")] == ["sign_in_failed"]
    assert [e.action for e in audit.page(actor="cli:ops", target="bo@cso.example")] == [
        "account_disabled"
    ]
    assert audit.page(actor="cli:ops", action="sign_in") == []


def test_an_unknown_action_is_refused_and_nothing_written(audit: AuditLog, store: Store) -> None:
    with pytest.raises(ValueError, match="sign_up"):
        audit.record("sign_up", actor="")
    assert store.count("audit") == 0
    assert "sign_in" in ACTIONS and "account_created" in ACTIONS


@pytest.mark.parametrize(
    "change",
    [
        {"password": "kx7#Qm2!vR9z"},
        {"password_hash": "$argon2id$..."},
        {"New-Password": "x"},
        {"token": "abc"},
        {"csrf_token": "abc"},
        {"totp_secret": "JBSWY3DPEHPK3PXP"},
        {"secret": "x"},
        {"otp": "123456"},
        {"client_ip": "203.0.113.7"},
        {"user_agent": "Mozilla/5.0"},
        {"account": {"role": "admin", "passwordHash": "x"}},
        {"links": [{"kind": "invite", "token_hash": "ab"}]},
    ],
)
def test_a_change_naming_a_secret_is_refused(
    audit: AuditLog, store: Store, change: Mapping[str, Any]
) -> None:
    with pytest.raises(ValueError, match="may not be in the audit log"):
        audit.record("account_created", actor="cli:ops", target="a@cso.example", change=change)
    assert store.count("audit") == 0


def test_a_change_naming_no_secret_is_kept(audit: AuditLog) -> None:
    change = {"role": "leader", "two_factor": True, "sessions": 2, "kind": "reset"}
    assert audit.record("account_created", actor="cli:ops", change=change).change == change


def test_diff_keeps_only_what_changed() -> None:
    before = {"role": "leader", "corridors": ["PH-HK"], "locales": ["fil"]}
    after = {"role": "leader", "corridors": ["PH-HK", "ID-SG"], "locales": ["fil"]}
    assert diff(before, after) == {"corridors": {"from": ["PH-HK"], "to": ["PH-HK", "ID-SG"]}}


def test_export_writes_json_lines_oldest_first(audit: AuditLog, clock: Clock) -> None:
    chosen = [
        ("account_created", "cli:ops", "ana@cso.example", {"role": "admin"}),
        ("sign_in", "ana@cso.example", "ana@cso.example", {}),
        ("name_changed", "ana@cso.example", "ana@cso.example", {"display_name": "อนา"}),
    ]
    for action, actor, target, change in chosen:
        audit.record(action, actor=actor, target=target, change=change)
        clock.now += timedelta(seconds=1)
    out = io.StringIO()
    assert audit.export(out) == 3
    text = out.getvalue()
    assert text.endswith("\n") and "อนา" in text  # UTF-8 as it is, one object a line
    lines = [json.loads(line) for line in text.splitlines()]
    assert [list(line) for line in lines] == [
        ["id", "at", "actor", "action", "target", "change"]
    ] * 3
    assert [(d["action"], d["actor"], d["target"], d["change"]) for d in lines] == chosen
    assert [d["at"] for d in lines] == [
        "2025-03-01T08:30:00Z",
        "2025-03-01T08:30:01Z",
        "2025-03-01T08:30:02Z",
    ]
    assert [d["id"] for d in lines] == [e.id for e in reversed(audit.page())]


class Watched:
    """A store that tells what the audit log asked of it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.limits: list[int] = []

    def page(self, table: str, where: Mapping[str, Any] | None = None, **kw: Any) -> list[Document]:
        self.limits.append(kw.get("limit", 100))
        return self.store.page(table, where, **kw)

    def __getattr__(self, name: str) -> Any:
        if name in ("find", "_view"):
            raise AssertionError(f"the export read the whole table ({name})")
        return getattr(self.store, name)


def test_export_reads_a_page_at_a_time(
    store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.audit, "EXPORT_PAGE", 4)
    for n in range(10):
        AuditLog(store, clock=clock).record("sign_in", actor="", target=str(n))
    watched = Watched(store)
    out = io.StringIO()
    assert AuditLog(watched, clock=clock).export(out) == 10
    assert [json.loads(line)["target"] for line in out.getvalue().splitlines()] == [
        str(n) for n in range(10)
    ]
    assert watched.limits == [4, 4, 4]
