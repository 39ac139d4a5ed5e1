"""The store's interface: documents, look-ups, unique fields, batches, pages, migrations, the
snapshot TinyDB reads, group commit, and the lock the app holds while it runs."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tinydb
from starlette.testclient import TestClient

import hub.store.journal
import hub.store.tables
from hub.app import create_app
from hub.settings import Settings
from hub.store import (
    Conflict,
    Store,
    StoreError,
    StoreLocked,
    check_unlocked,
    open_store,
    snapshot,
)
from hub.store.migrations import MIGRATIONS, Schema


def _accounts_indexed(schema: Schema) -> None:
    schema.add_index("accounts", "email", unique=True)
    schema.add_index("accounts", "role")


INDEXED = [*MIGRATIONS, _accounts_indexed]
# The first migration alone: the tests that number migrations of their own from 2.
FIRST = MIGRATIONS[:1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "hub.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = open_store(path, migrations=INDEXED)
    yield opened
    opened.close()


def _journal_lines(path: Path) -> list[bytes]:
    return [
        line
        for segment in sorted(path.parent.glob("hub.journal.*"))
        for line in segment.read_bytes().splitlines()
    ]


# -- documents ---------------------------------------------------------------------------------


def test_documents_round_trip_and_are_the_callers_own_copies(store: Store, path: Path) -> None:
    doc = {"email": "a@example.org", "scope": {"locales": ["th", "my"]}, "active": True}
    doc_id = store.insert("accounts", doc)
    doc["scope"]["locales"].append("vi")  # the caller's dict, changed after the insert
    got = store.get("accounts", doc_id)
    assert got == {
        "id": doc_id,
        "email": "a@example.org",
        "scope": {"locales": ["th", "my"]},
        "active": True,
    }
    assert got is not None
    got["scope"]["locales"].clear()
    assert store.get("accounts", doc_id)["scope"]["locales"] == ["th", "my"]  # type: ignore[index]
    assert store.find("accounts", email="a@example.org")[0]["scope"] == {"locales": ["th", "my"]}
    assert store.get("accounts", "nobody") is None
    assert store.get("nothing-yet", doc_id) is None
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("accounts", doc_id)
    reopened = open_store(path, migrations=INDEXED)
    assert reopened.get("accounts", doc_id) == {**got, "scope": {"locales": ["th", "my"]}}
    reopened.close()


def test_ids_are_random_or_the_callers_own_and_never_taken_twice(store: Store) -> None:
    first, second = store.insert("t", {}), store.insert("t", {})
    assert first != second and len(first) >= 16
    assert store.insert("sessions", {"id": "hash-of-token", "account": first}) == "hash-of-token"
    with pytest.raises(Conflict, match="hash-of-token"):
        store.insert("sessions", {"id": "hash-of-token", "account": second})
    assert store.get("sessions", "hash-of-token") == {"id": "hash-of-token", "account": first}
    for bad in (7, "", None):
        with pytest.raises(StoreError):
            store.insert("sessions", {"id": bad})
    assert store.count("sessions") == 1


@pytest.mark.parametrize(
    "doc",
    [{"when": {1, 2}}, {"x": float("nan")}, {"nested": {3: "int key"}}, {"o": object()}],
)
def test_what_json_cannot_hold_is_refused_and_nothing_is_written(store: Store, doc: Any) -> None:
    with pytest.raises(StoreError):
        store.insert("t", doc)
    assert store.count("t") == 0


def test_matching_is_json_equality_and_a_missing_field_is_null(store: Store) -> None:
    ids = {
        "true": store.insert("t", {"v": True}),
        "one": store.insert("t", {"v": 1}),
        "one-float": store.insert("t", {"v": 1.0}),
        "text": store.insert("t", {"v": "1"}),
        "null": store.insert("t", {"v": None}),
        "none": store.insert("t", {}),
        "list": store.insert("t", {"v": ["PH", "HK"]}),
    }

    def found(**equals: Any) -> set[str]:
        by_id = {v: k for k, v in ids.items()}
        return {by_id[d["id"]] for d in store.find("t", **equals)}

    assert found(v=True) == {"true"}
    assert found(v=1) == {"one", "one-float"}
    assert found(v="1") == {"text"}
    assert found(v=None) == {"null", "none"}
    assert found(v=["PH", "HK"]) == found(v=("PH", "HK")) == {"list"}
    assert found() == set(ids)
    assert store.count("t", v=1) == 2
    assert store.find_one("t", v=1)["id"] == min(ids["one"], ids["one-float"])  # type: ignore[index]
    assert store.find_one("t", v="absent") is None


def test_update_merges_keeps_the_id_and_honours_expect(store: Store) -> None:
    doc_id = store.insert("invitations", {"email": "b@example.org", "used": False})
    forged = {"used": True, "id": "forged"}
    assert store.update("invitations", doc_id, forged, expect={"used": False})
    # A single-use invitation: the second use finds it used and changes nothing.
    assert not store.update("invitations", doc_id, {"used": True}, expect={"used": False})
    assert store.get("invitations", doc_id) == {
        "id": doc_id,
        "email": "b@example.org",
        "used": True,
    }
    assert store.get("invitations", "forged") is None
    assert not store.update("invitations", "missing", {"used": True})
    assert not store.delete("invitations", doc_id, expect={"used": False})
    assert store.delete("invitations", doc_id, expect={"used": True})
    assert not store.delete("invitations", doc_id)


def test_delete_where_removes_every_match(store: Store) -> None:
    account = store.insert("accounts", {"email": "c@example.org"})
    for n in range(5):
        store.insert("sessions", {"account": account, "n": n})
    other = store.insert("sessions", {"account": "someone-else"})
    assert store.delete_where("sessions", account=account) == 5
    assert store.delete_where("sessions", account=account) == 0
    assert [d["id"] for d in store.find("sessions")] == [other]


def test_the_reserved_table_is_refused(store: Store) -> None:
    for write in (
        lambda: store.insert("meta", {"schema_version": 99}),
        lambda: store.update("meta", "1", {"schema_version": 99}),
        lambda: store.delete_where(""),
    ):
        with pytest.raises(StoreError, match="table"):
            write()
    assert store.schema_version == len(INDEXED)


# -- indexes -----------------------------------------------------------------------------------


def _count_keys(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the field values read by look-ups (each document examined reads one)."""
    calls = [0]
    real = hub.store.tables.key

    def counting(value: Any) -> Hashable:
        calls[0] += 1
        return real(value)

    monkeypatch.setattr(hub.store.tables, "key", counting)
    return calls


def test_an_indexed_field_is_found_without_a_scan(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.batch() as batch:
        for n in range(3000):
            role = "leader" if n % 3 else "admin"
            batch.insert("accounts", {"email": f"{n}@example.org", "role": role, "n": n})
    calls = _count_keys(monkeypatch)
    found = store.find("accounts", email="1234@example.org")
    assert [d["n"] for d in found] == [1234]
    assert calls[0] < 10
    assert store.count("accounts", role="admin", n=3) == 1
    # Through the role index: the 1000 admins, two fields each (a scan: 3000 documents).
    assert calls[0] < 2100
    calls[0] = 0
    assert [d["email"] for d in store.find("accounts", n=1234)] == ["1234@example.org"]
    assert calls[0] >= 3000  # n is not indexed: every document is read


def test_a_unique_field_refuses_a_second_document_with_its_value(store: Store) -> None:
    first = store.insert("accounts", {"email": "d@example.org"})
    with pytest.raises(Conflict, match=r"accounts\.email"):
        store.insert("accounts", {"email": "d@example.org"})
    second = store.insert("accounts", {"email": "e@example.org"})
    with pytest.raises(Conflict):
        store.update("accounts", second, {"email": "d@example.org"})
    assert store.get("accounts", second)["email"] == "e@example.org"  # type: ignore[index]
    # Null is no value: any number of documents may lack one.
    store.insert("accounts", {"email": None})
    store.insert("accounts", {})
    assert store.update("accounts", first, {"email": "f@example.org"})
    store.insert("accounts", {"email": "d@example.org"})  # free again
    assert store.count("accounts", email="d@example.org") == 1


# -- batches -----------------------------------------------------------------------------------


def test_a_batch_is_applied_whole_as_one_journal_record(store: Store, path: Path) -> None:
    account = store.insert("accounts", {"email": "g@example.org", "active": True})
    sessions = [store.insert("sessions", {"account": account}) for _ in range(3)]
    before = len(_journal_lines(path))
    with store.batch() as batch:
        batch.update("accounts", account, {"active": False}, expect={"active": True})
        batch.delete_where("sessions", account=account)
        audit = batch.insert("audit", {"action": "disable", "target": account})
        batch.update("audit", audit, {"seen": True})  # sees the insert above
    assert len(_journal_lines(path)) == before + 1
    assert store.get("accounts", account)["active"] is False  # type: ignore[index]
    assert all(store.get("sessions", s) is None for s in sessions)
    assert store.get("audit", audit) == {
        "id": audit,
        "action": "disable",
        "target": account,
        "seen": True,
    }


@pytest.mark.parametrize("failing", ["unique", "missing", "expect", "raised"])
def test_a_failing_batch_leaves_nothing(store: Store, path: Path, failing: str) -> None:
    taken = store.insert("accounts", {"email": "h@example.org", "role": "admin"})
    before, lines = store.find("accounts"), len(_journal_lines(path))
    with pytest.raises(Conflict if failing != "raised" else KeyError), store.batch() as batch:
        batch.insert("accounts", {"id": "new", "email": "i@example.org", "role": "leader"})
        batch.update("accounts", taken, {"role": "curator"})
        batch.delete_where("accounts", role="curator")
        if failing == "unique":
            batch.insert("accounts", {"email": "i@example.org"})
        elif failing == "missing":
            batch.update("accounts", "missing", {"role": "admin"})
        elif failing == "expect":
            batch.delete("accounts", "new", expect={"role": "admin"})
        else:
            raise KeyError("the caller failed half-way")
    assert store.find("accounts") == before
    assert len(_journal_lines(path)) == lines
    # The indexes were put back too.
    assert store.find("accounts", email="i@example.org") == []
    assert store.find("accounts", role="admin") == before
    store.insert("accounts", {"email": "i@example.org"})


# -- pages -------------------------------------------------------------------------------------


def test_pages_follow_one_field_then_id_across_json_types(store: Store) -> None:
    values: list[Any] = ["b", 2, None, "a", 1.5, True, "b", 10, False, ["x"], "b"]
    for n, value in enumerate(values):
        store.insert("audit", {"id": f"e{n:02d}", "at": value, "kind": n % 2})
    expected = sorted((hub.store.tables.order_key(v), f"e{n:02d}") for n, v in enumerate(values))
    walked, last = [], None
    for _ in range(10):
        page = store.page("audit", order_by="at", after=last, limit=3)
        if not page:
            break
        walked += [d["id"] for d in page]
        last = page[-1]
    assert walked == [doc_id for _, doc_id in expected]
    assert walked[:3] == ["e02", "e08", "e05"]  # null, false, true, then numbers
    newest = store.page("audit", {"kind": 0}, order_by="at", descending=True, limit=2)
    assert [d["id"] for d in newest] == ["e10", "e06"]  # ties by id, descending too
    after = store.page("audit", {"kind": 0}, order_by="at", descending=True, after=newest[-1])
    assert [d["id"] for d in after] == ["e00", "e04", "e08", "e02"]


# -- durability in one process -----------------------------------------------------------------


def test_concurrent_writers_share_fsyncs_and_all_land(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = [0]
    real = hub.store.journal._sync

    def counting(fd: int) -> None:
        syncs[0] += 1
        real(fd)

    monkeypatch.setattr(hub.store.journal, "_sync", counting)
    store = open_store(path)
    ids: list[str] = []

    def write(thread: int) -> None:
        for n in range(50):
            ids.append(store.insert("deliveries", {"thread": thread, "n": n}))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 400 and syncs[0] < 400
    store.close()
    reopened = open_store(path)
    assert sorted(d["id"] for d in reopened.find("deliveries")) == sorted(ids)
    reopened.close()


def test_the_journal_is_folded_into_a_snapshot_tinydb_reads(path: Path) -> None:
    store = open_store(path, snapshot_bytes=4096)
    ids = [store.insert("subscriptions", {"endpoint": f"https://push/{n}"}) for n in range(150)]
    store.delete("subscriptions", ids[0])
    # Many snapshots were taken on the way: the journal is not the whole history.
    assert sum(len(p.read_bytes()) for p in path.parent.glob("hub.journal.*")) < 20_000
    store.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["hub.json", "hub.lock"]
    plain = tinydb.TinyDB(path)
    rows = plain.table("subscriptions").all()
    assert sorted(r["id"] for r in rows) == sorted(ids[1:])
    assert plain.table("meta").all()[0]["schema_version"] == len(MIGRATIONS)
    plain.close()
    reopened = open_store(path)
    assert reopened.count("subscriptions") == 149
    reopened.close()


def test_a_file_of_the_former_plain_tinydb_store_opens(path: Path) -> None:
    path.parent.mkdir(parents=True)
    legacy = tinydb.TinyDB(path)
    legacy.table("meta").insert({"schema_version": 1})
    legacy.table("subscriptions").insert({"endpoint": "https://push.example/9", "id": "abc"})
    legacy.close()
    store = open_store(path)  # the real migrations, from the legacy file's version 1 on
    assert store.schema_version == len(MIGRATIONS)
    assert store.get("subscriptions", "abc") == {"endpoint": "https://push.example/9", "id": "abc"}
    store.close()


# -- who may read the files -------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # The usual umask: files 0644 and folders 0755 unless the hub asks for less.
    before = os.umask(0o022)
    yield
    os.umask(before)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(folder.iterdir())}


@pytest.mark.usefixtures("permissive_umask")
def test_the_store_s_folder_and_files_are_its_owner_s_only(path: Path) -> None:
    # They hold password hashes, TOTP secrets and emails.
    store = open_store(path, snapshot_bytes=4096)
    for n in range(150):  # several snapshots and journal segments on the way
        store.insert("accounts", {"email": f"p{n}@example.org", "password_hash": "$argon2id$"})
    modes = _modes(path.parent)
    assert "hub.json" in modes and any(name.startswith("hub.journal.") for name in modes)
    assert set(modes.values()) == {0o600}, modes
    store.close()
    assert _modes(path.parent) == {"hub.json": 0o600, "hub.lock": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # `hub serve` checks the lock before anything else: it is what makes the folder then.
    served = path.parent.parent / "served" / "hub.json"
    check_unlocked(served)
    assert _modes(served.parent) == {"hub.lock": 0o600}
    assert stat.S_IMODE(served.parent.stat().st_mode) == 0o700


@pytest.mark.usefixtures("permissive_umask")
def test_the_app_makes_its_data_folder_private(tmp_path: Path) -> None:
    # The app, not only `hub serve`: the static copies would otherwise make it first, 0755.
    settings = Settings(data_dir=tmp_path / "fresh" / "var")
    with TestClient(create_app(settings)) as client:
        assert client.get("/en/").status_code == 200
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700


@pytest.mark.usefixtures("permissive_umask")
def test_a_snapshot_is_private_before_its_first_byte(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path.parent.mkdir(mode=0o755)
    # A temp file left by an older hub, readable by everyone: not reused as it is.
    temp = snapshot.temp_path(path)
    temp.write_text("{}")
    assert stat.S_IMODE(temp.stat().st_mode) == 0o644
    seen: list[int] = []
    dumps = snapshot._dumps

    def watching(value: Any) -> str:
        if not seen:
            seen.append(stat.S_IMODE(temp.stat().st_mode))
        return dumps(value)

    monkeypatch.setattr(snapshot, "_dumps", watching)
    snapshot.write_snapshot(path, snapshot.Snapshot(docs={"t": {"a": {"id": "a"}}}, seq=1))
    assert seen == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A data folder that was there already keeps the mode its owner gave it.
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755


# -- migrations --------------------------------------------------------------------------------


def test_migrations_run_in_order_once_and_record_the_version(path: Path) -> None:
    ran: list[int] = []

    def m2_accounts(schema: Schema) -> None:
        ran.append(2)
        schema.add_index("accounts", "email", unique=True)

    def m3_names_split(schema: Schema) -> None:
        ran.append(3)
        for doc in schema.documents("accounts").values():
            doc["given"], _, doc["family"] = doc.pop("name").partition(" ")

    store = open_store(path, migrations=[*FIRST, m2_accounts])
    assert store.schema_version == 2 and ran == [2]
    store.insert("accounts", {"email": "j@example.org", "name": "Maria Santos"})
    store.close()
    store = open_store(path, migrations=[*FIRST, m2_accounts, m3_names_split])
    assert ran == [2, 3] and store.schema_version == 3
    assert store.find("accounts", given="Maria")[0]["family"] == "Santos"
    with pytest.raises(Conflict):  # the index declared by migration 2 still holds
        store.insert("accounts", {"email": "j@example.org"})
    store.close()
    store = open_store(path, migrations=[*FIRST, m2_accounts, m3_names_split])
    assert ran == [2, 3]
    store.close()
    assert json.loads(path.read_text())["meta"]["1"]["schema_version"] == 3


def test_a_failing_migration_leaves_the_data_as_it_was(path: Path) -> None:
    store = open_store(path, migrations=FIRST)
    store.insert("accounts", {"email": "k@example.org"})
    store.insert("accounts", {"email": "k@example.org"})
    store.close()
    before = path.read_bytes()

    def m2_unique(schema: Schema) -> None:
        for doc in schema.documents("accounts").values():
            doc["email"] = doc["email"].upper()
        schema.add_index("accounts", "email", unique=True)

    with pytest.raises(StoreError, match=r"migration 2 \(m2_unique\).*not unique"):
        open_store(path, migrations=[*FIRST, m2_unique])
    assert path.read_bytes() == before
    store = open_store(path, migrations=FIRST)  # the lock was let go, the data is untouched
    assert {d["email"] for d in store.find("accounts")} == {"k@example.org"}
    store.close()


def test_data_from_a_newer_hub_is_refused(path: Path) -> None:
    open_store(path, migrations=[*MIGRATIONS, _accounts_indexed]).close()
    newer, known = len(MIGRATIONS) + 1, len(MIGRATIONS)
    with pytest.raises(StoreError, match=rf"schema version {newer}.*knows only {known}\b"):
        open_store(path)


def test_the_real_migrations_are_numbered_by_their_place() -> None:
    assert [m.__name__.split("_")[0] for m in MIGRATIONS] == [
        f"m{n}" for n in range(1, len(MIGRATIONS) + 1)
    ]


# -- the app -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_running_app_owns_its_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        assert client.get("/en/").status_code == 200
        store = client.app.state.store  # type: ignore[attr-defined]
        doc_id = store.insert("subscriptions", {"endpoint": "https://push.example/app"})
        with pytest.raises(StoreLocked, match=str(tmp_path / "var" / "hub.lock")):
            open_store(settings.store_path)
    store = open_store(settings.store_path)
    assert store.get("subscriptions", doc_id) is not None
    store.close()
