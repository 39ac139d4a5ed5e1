"""Tests that kill the mutants the other tests left alive in hub/audit.py (docs/testing.md,
"Mutation testing")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditLog
from hub.store import Document, Store
from hub.store.tinydb_store import TinyDBStore
from tests.conftest import Clock, LocalZone


@pytest.fixture
def audit(store: Store, clock: Clock) -> AuditLog:
    return AuditLog(store, clock=clock)


def test_a_refused_key_in_a_list_is_named_with_its_index(audit: AuditLog, store: Store) -> None:
    # _refuse_secrets's path for a list item, f"{path}[{index}]", turned None or dropped.
    with pytest.raises(ValueError) as refused:
        audit.record("sign_in", actor="", change={"links": [{"kind": "a"}, {"token_hash": "ab"}]})
    assert str(refused.value) == "change.links[1]: 'token_hash' may not be in the audit log"
    with pytest.raises(ValueError) as refused:
        audit.record("sign_in", actor="", change={"pairs": ({"a": 1}, [{"otp": "1"}])})
    assert str(refused.value) == "change.pairs[1][0]: 'otp' may not be in the audit log"
    assert store.count("audit") == 0


def test_an_entry_without_a_target_has_an_empty_one(audit: AuditLog) -> None:
    # record's default target "" turned "XXXX".
    made = audit.record("sign_out", actor="a@cso.example")
    assert made.target == ""
    assert [e.target for e in audit.page()] == [""]


@pytest.fixture
def bangkok_zone(local_zone: LocalZone) -> None:
    """The machine's local zone set to UTC+7 for one test (the hub runs wherever it is put)."""
    local_zone("Asia/Bangkok")


@pytest.mark.usefixtures("bangkok_zone")
def test_an_entry_s_time_is_in_utc_whatever_the_machine_s_zone(audit: AuditLog) -> None:
    # record's astimezone(UTC) turned astimezone(None): the machine's zone, written with a "Z".
    made = audit.record("sign_in", actor="a@cso.example")
    assert made.at == "2025-03-01T08:30:00Z"
    assert made.id.startswith("20250301T083000.000000Z-")


def test_the_newest_stored_id_is_read_once_per_log_not_per_entry(
    store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # record's `sequence.last = stamp` turned None: every entry would read the newest one from
    # the store again (a query that ranks the whole table in the embedded store).
    reads: list[str] = []
    real_page = store.page

    def counting_page(table: str, *args: Any, **kwargs: Any) -> list[Document]:
        reads.append(table)
        return real_page(table, *args, **kwargs)

    monkeypatch.setattr(store, "page", counting_page)
    log = AuditLog(store, clock=clock)
    for n in range(3):
        log.record("sign_in", actor="", target=f"t{n}")
    assert reads == ["audit"]


class _UnhashableStore(TinyDBStore):
    # A store that no weak reference can be a key for (its class defines no hash).
    __hash__ = None  # type: ignore[assignment]


def test_a_store_taking_no_weak_reference_gets_an_order_of_its_own(
    path: Path, clock: Clock
) -> None:
    # _sequence's fallback for such a store, `_Sequence()`, turned None: recording crashed.
    store = _UnhashableStore(path)
    try:
        log = AuditLog(store, clock=clock)
        log.record("sign_in", actor="", target="first")
        log.record("sign_in", actor="", target="second")
        assert [e.target for e in log.page()] == ["second", "first"]
    finally:
        store.close()
