"""Tests that kill the mutants the other tests left alive in hub/audit.py and
hub/console_guard.py (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.audit import AuditLog
from hub.store import Store, open_store
from tests.conftest import Clock


@pytest.fixture
def audit(store: Store, clock: Clock) -> AuditLog:
    return AuditLog(store, clock=clock)


def test_a_page_holds_fifty_entries_unless_told(audit: AuditLog) -> None:
    # page's default limit 50 turned 51.
    for n in range(51):
        audit.record("sign_in", actor="", target=f"t{n:02d}")
    entries = audit.page()
    assert len(entries) == 50
    assert (entries[0].target, entries[-1].target) == ("t50", "t01")


def test_after_a_restart_with_a_clock_behind_the_microseconds_still_count(
    path: Path, clock: Clock
) -> None:
    # _parse_id adding the stored id's microseconds turned subtracting them: the next run,
    # whose clock is behind, would give its first entry an id before the last one's.
    clock.now = datetime(2025, 3, 1, 8, 30, 0, 750_000, tzinfo=UTC)
    store = open_store(path)
    AuditLog(store, clock=clock).record("sign_in", actor="a@cso.example", target="first")
    store.close()
    clock.now -= timedelta(hours=1)
    store = open_store(path)
    try:
        log = AuditLog(store, clock=clock)
        made = log.record("sign_out", actor="a@cso.example", target="second")
        assert made.id.startswith("20250301T083000.750001Z-")
        assert [e.target for e in log.page()] == ["second", "first"]
    finally:
        store.close()


def test_a_page_holds_no_more_than_its_limit(audit: AuditLog) -> None:
    # page's limit=limit dropped: the store's own default (100) was used.
    for n in range(3):
        audit.record("sign_in", actor="", target=f"t{n}")
    assert [e.target for e in audit.page(limit=2)] == ["t2", "t1"]
    assert [e.target for e in audit.page(limit=1)] == ["t2"]


def test_an_entry_id_ends_in_six_hex_digits(audit: AuditLog) -> None:
    # _format_id's secrets.token_hex(3) turned token_hex(None) (64 digits) or token_hex(4).
    made = audit.record("sign_in", actor="", target="t")
    assert re.fullmatch(r"20250301T083000\.000000Z-[0-9a-f]{6}", made.id)


def test_a_refused_key_is_named_with_its_path(audit: AuditLog) -> None:
    # _refuse_secrets's default path "change" altered, and the nested path turned None.
    with pytest.raises(ValueError) as refused:
        audit.record("sign_in", actor="", change={"token": "abc"})
    assert str(refused.value) == "change: 'token' may not be in the audit log"
    with pytest.raises(ValueError) as refused:
        audit.record("sign_in", actor="", change={"account": {"role": "x", "passwordHash": "x"}})
    assert str(refused.value) == "change.account: 'passwordHash' may not be in the audit log"


def test_a_key_spelling_out_ip_with_separators_is_refused(audit: AuditLog, store: Store) -> None:
    # The key with its separators taken out ("i.p" -> "ip"): the pattern altered, or the
    # separators replaced by "XXXX", let it through.
    with pytest.raises(ValueError):
        audit.record("sign_in", actor="", change={"I.P": "203.0.113.7"})
    assert store.count("audit") == 0
