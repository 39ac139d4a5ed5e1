"""Tests written from the surviving mutants of hub/push/ (mutmut; docs/testing.md, "Mutation
testing"): what each refusal says word for word, the bounds, and the stored values the other
push tests did not read."""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid.jwt import decode as decode_jwt  # type: ignore[import-untyped]

from hub.auth.accounts import Account
from hub.content.loader import load_library
from hub.push.drafts import Draft, DraftRefused, Drafts
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.push.outbox import Outbox
from hub.push.subscriptions import SubscribeLimit, Subscriptions, same_keys
from hub.push.vapid import Vapid, check_subject
from hub.settings import DEFAULT_PUSH_SERVICES, PROJECT_ROOT, SettingsError
from hub.store import Store, open_store
from tests.conftest import LocalZone

FAKE = "http://127.0.0.1:8123"
SERVICES = f"{DEFAULT_PUSH_SERVICES},{FAKE}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def point() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def body(endpoint: str | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subscription": {
            "endpoint": endpoint or f"https://fcm.googleapis.com/fcm/send/{b64(os.urandom(24))}",
            "keys": {"p256dh": b64(point()), "auth": b64(os.urandom(16))},
        },
        "locale": "fil",
        "origin": "PH",
        "destination": "HK",
        "topics": ["safety"],
        "discreet": True,
    }
    data.update(overrides)
    return data


# -- hub/push/subscriptions.py -----------------------------------------------------------------


@pytest.fixture
def subs(tmp_path: Path) -> Iterator[Subscriptions]:
    store = open_store(tmp_path / "store")
    yield Subscriptions(
        store,
        services=PushServices.parse(SERVICES),
        confirm_days=30,
        locales=("en", "fil", "th"),
        origins=("PH", "TH"),
        destinations=("HK", "TH", "SG"),
    )
    store.close()


def _keys(d: dict[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = d["subscription"]["keys"]
    return keys


Spoil = Callable[[dict[str, Any]], None]
REFUSALS: list[tuple[Spoil, str, str]] = [
    (lambda d: d.clear(), "subscription", "subscription must be a PushSubscription"),
    (
        lambda d: d["subscription"].__setitem__("keys", []),
        "keys",
        "subscription.keys must hold p256dh and auth",
    ),
    (lambda d: _keys(d).__setitem__("p256dh", 5), "p256dh", "p256dh must be base64url"),
    (lambda d: _keys(d).__setitem__("p256dh", "a b"), "p256dh", "p256dh must be base64url"),
    # Characters a lenient decoder would skip: the key is refused, not read without them.
    (
        lambda d: _keys(d).__setitem__("auth", b64(os.urandom(16)) + "...."),
        "auth",
        "auth must be base64url",
    ),
    (lambda d: _keys(d).__setitem__("auth", "A" * 65), "auth", "auth must be base64url"),
    # One character over a whole byte: the decoder refuses it.
    (lambda d: _keys(d).__setitem__("auth", "A" * 21), "auth", "auth must be base64url"),
    (
        lambda d: _keys(d).__setitem__("auth", b64(b"x" * 15)),
        "auth",
        "auth must be 16 bytes, not 15",
    ),
    # Four characters a byte at most: 64 are still read (and are 48 bytes).
    (lambda d: _keys(d).__setitem__("auth", "A" * 64), "auth", "auth must be 16 bytes, not 48"),
    (lambda d: _keys(d).__setitem__("auth", "A" * 68), "auth", "auth must be base64url"),
    # Short keys are read whole (the padding the decoder needs is added) and counted.
    (
        lambda d: _keys(d).__setitem__("auth", b64(b"k" * 10)),
        "auth",
        "auth must be 16 bytes, not 10",
    ),
    (lambda d: _keys(d).__setitem__("p256dh", "A" * 261), "p256dh", "p256dh must be base64url"),
    (
        lambda d: _keys(d).__setitem__("p256dh", "A" * 260),
        "p256dh",
        "p256dh must be 65 bytes, not 195",
    ),
    (
        lambda d: _keys(d).__setitem__("p256dh", b64(b"\x04" * 64)),
        "p256dh",
        "p256dh must be 65 bytes, not 64",
    ),
    (
        lambda d: _keys(d).__setitem__("p256dh", b64(b"\x02" + point()[1:])),
        "p256dh",
        "p256dh must be an uncompressed point (0x04 first)",
    ),
    (
        lambda d: _keys(d).__setitem__(
            "p256dh", b64(b"\x04" + b"\x01" * 32 + b"\x00" * 31 + b"\x01")
        ),
        "p256dh",
        "p256dh is not a point on the P-256 curve",
    ),
    (
        lambda d: d.__setitem__("locale", "de"),
        "locale",
        "locale must be one of the site's languages",
    ),
    (lambda d: d.__setitem__("locale", 1), "locale", "locale must be one of the site's languages"),
    (
        lambda d: d.__setitem__("origin", "HK"),
        "origin",
        "origin must be one of the site's home countries",
    ),
    (
        lambda d: d.__setitem__("origin", None),
        "origin",
        "origin must be one of the site's home countries",
    ),
    (
        lambda d: d.__setitem__("destination", "PH"),
        "destination",
        "destination must be one of the site's countries of work",
    ),
    (
        lambda d: d.__setitem__("destination", ["HK"]),
        "destination",
        "destination must be one of the site's countries of work",
    ),
    (
        lambda d: d.update(origin="TH", destination="TH"),
        "destination",
        "destination must differ from origin",
    ),
    (
        lambda d: d.__setitem__("topics", []),
        "topics",
        "topics must be some of safety, rules, events",
    ),
    (
        lambda d: d.__setitem__("topics", "safety"),
        "topics",
        "topics must be some of safety, rules, events",
    ),
    (
        lambda d: d.__setitem__("topics", ["safety", "news"]),
        "topics",
        "topics must be some of safety, rules, events",
    ),
    (
        lambda d: d.__setitem__("topics", [1]),
        "topics",
        "topics must be some of safety, rules, events",
    ),
    (lambda d: d.__setitem__("discreet", "yes"), "discreet", "discreet must be true or false"),
    (lambda d: d.__setitem__("discreet", None), "discreet", "discreet must be true or false"),
]


# The field and the words of each refusal of `check` (a string mutated, a test turned round).
@pytest.mark.parametrize(("spoil", "field", "message"), REFUSALS)
def test_each_refusal_names_its_field_and_says_why(
    subs: Subscriptions, spoil: Spoil, field: str, message: str
) -> None:
    data = body()
    spoil(data)
    with pytest.raises(InvalidSubscription) as caught:
        subs.check(data)
    assert (caught.value.field, caught.value.message, str(caught.value)) == (
        field,
        message,
        message,
    )


def test_a_body_that_is_no_object_is_named_body(subs: Subscriptions) -> None:
    with pytest.raises(InvalidSubscription) as caught:
        subs.check(["subscription"])
    assert (caught.value.field, caught.value.message) == ("body", "the body must be a JSON object")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class RacingStore:
    """The real store, with the first of `hooks` run just before each batch is applied:
    another request's write landing between what `Subscriptions` read and what it writes
    (and the first of `update_hooks` or `insert_hooks` before each update or insert)."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.hooks: list[Callable[[], object]] = []
        self.update_hooks: list[Callable[[], object]] = []
        self.insert_hooks: list[Callable[[], object]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def insert(self, *args: Any, **kwargs: Any) -> str:
        if self.insert_hooks:
            self.insert_hooks.pop(0)()
        return str(self.inner.insert(*args, **kwargs))

    def update(self, *args: Any, **kwargs: Any) -> bool:
        if self.update_hooks:
            self.update_hooks.pop(0)()
        return bool(self.inner.update(*args, **kwargs))

    @contextmanager
    def batch(self) -> Iterator[Any]:
        with self.inner.batch() as batch:
            yield batch
            if self.hooks:
                self.hooks.pop(0)()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def racing(tmp_path: Path, clock: Clock) -> Iterator[tuple[RacingStore, Subscriptions, Outbox]]:
    store = open_store(tmp_path / "store")
    wrapped = RacingStore(store)
    subscriptions = Subscriptions(
        wrapped,  # type: ignore[arg-type]
        services=PushServices.parse(SERVICES),
        confirm_days=30,
        locales=("en", "fil"),
        origins=("PH",),
        destinations=("HK",),
        clock=clock,
    )
    yield wrapped, subscriptions, Outbox(store, clock=clock)
    store.close()


def _alert() -> dict[str, Any]:
    return {
        "id": "alert-1",
        "texts": {"fil": {"title": "Linya", "body": "Ang linya ay 2345 na."}},
        "corridors": ["PH-HK"],
        "locales": ["fil"],
    }


# A re-subscription of the same browser (a new token) between her DELETE's read and its
# batch: the delete is refused and the subscription stays (the delete's `expect` dropped or
# made None).
def test_a_delete_with_a_token_replaced_meanwhile_deletes_nothing(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    doc_id, token = subs.subscribe(data)
    store.hooks.append(lambda: subs.subscribe(data))
    assert subs.delete(doc_id, token) is False
    assert subs.count() == 1
    assert subs.get_by_id(doc_id) is not None


# A delivery that the sender moves on between the read and the batch: the delete reads
# again and goes through (a Conflict answered False when `current` is made None).
def test_a_delete_whose_delivery_changed_meanwhile_is_tried_again(
    racing: tuple[RacingStore, Subscriptions, Outbox], clock: Clock
) -> None:
    store, subs, outbox = racing
    doc_id, token = subs.subscribe(body())
    assert outbox.enqueue(_alert(), store.find("subscriptions")) == 1
    (delivery,) = store.find("deliveries")
    store.hooks.append(
        lambda: store.inner.update("deliveries", delivery["id"], {"state": "retrying"})
    )
    clock.now += timedelta(hours=1)
    assert subs.delete(doc_id, token) is True
    assert subs.count() == 0
    (after,) = store.find("deliveries")
    # Cut from her at the delete's time (`unlink` given no moment).
    assert (after["state"], after["reason"], after["subscription_id"], after["updated"]) == (
        "gone",
        "unsubscribed",
        None,
        "2026-11-30T07:00:00Z",
    )


def test_a_wrong_token_confirms_nothing(subs: Subscriptions) -> None:
    doc_id, token = subs.subscribe(body())
    assert subs.confirm(doc_id, token + "x") is False
    assert subs.confirm(doc_id, token) is True


# `same_keys` on a stored value that is no mapping, or lacks a key (the `or ""` default).
def test_same_keys_needs_both_stored_keys() -> None:
    given = {"p256dh": "XXXX", "auth": "XXXX"}
    assert same_keys(given, given) is True
    assert same_keys(None, given) is False
    assert same_keys([("p256dh", "XXXX")], given) is False
    assert same_keys({"p256dh": "XXXX"}, given) is False
    assert same_keys({"p256dh": "XXXX", "auth": None}, {"p256dh": "XXXX", "auth": ""}) is True


# The limit counts per client network: the third request of an hour is refused, another
# address is another client, and an IPv6 client is its /64.
def test_the_subscribe_limit_counts_each_client_network() -> None:
    limit = SubscribeLimit(2)
    assert limit.per_hour == 2
    assert limit.hit("192.0.2.1") is True
    assert limit.hit("192.0.2.1") is True
    assert limit.hit("192.0.2.1") is False
    assert limit.hit("192.0.2.2") is True
    assert limit.hit("2001:db8::1") and limit.hit("2001:db8::2")
    assert limit.hit("2001:db8::3") is False
    assert limit.hit("2001:db8:0:1::1") is True


def test_a_subscribe_limit_needs_one_request_an_hour() -> None:
    assert SubscribeLimit(1).per_hour == 1
    with pytest.raises(ValueError) as raised:
        SubscribeLimit(0)
    assert str(raised.value) == "a subscribe limit needs at least one request an hour"


def _moving(store: RacingStore, delivery_id: str, times: int) -> None:
    """The delivery changes state before each of the next `times` batches."""

    def move(state: str) -> Callable[[], object]:
        return lambda: store.inner.update("deliveries", delivery_id, {"state": state})

    store.hooks.extend(move(("retrying", "pending")[n % 2]) for n in range(times))


# A removal (a 404 or 410 of its push service: no `expect`) whose delivery changed meanwhile
# is tried again (`expect or {}` turned `expect and {}`).
def test_a_removal_whose_delivery_changed_meanwhile_is_tried_again(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, outbox = racing
    doc_id, _ = subs.subscribe(body())
    outbox.enqueue(_alert(), store.find("subscriptions"))
    (delivery,) = store.find("deliveries")
    _moving(store, delivery["id"], 1)
    assert subs.remove(doc_id) is True
    assert subs.count() == 0


# Five tries, then it gives up and says so (the last `return False` turned True).
def test_a_delete_gives_up_after_five_conflicts(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, outbox = racing
    doc_id, token = subs.subscribe(body())
    outbox.enqueue(_alert(), store.find("subscriptions"))
    (delivery,) = store.find("deliveries")
    _moving(store, delivery["id"], 5)
    assert subs.delete(doc_id, token) is False
    assert subs.count() == 1
    assert store.hooks == []
    # The sixth try goes through.
    _moving(store, delivery["id"], 4)
    assert subs.delete(doc_id, token) is True
    assert subs.count() == 0


# Deleted meanwhile (her push service said it is gone): her DELETE answers False at once.
def test_a_delete_of_a_subscription_removed_meanwhile_is_false(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    doc_id, token = subs.subscribe(body())
    store.hooks.append(lambda: store.inner.delete("subscriptions", doc_id))
    assert subs.delete(doc_id, token) is False
    assert subs.count() == 0


def test_a_wrong_token_says_no_change(subs: Subscriptions) -> None:
    data = body()
    doc_id, token = subs.subscribe(data)
    changed = body(topics=["events"])
    assert subs.changes(doc_id, token, changed) is True
    assert subs.changes(doc_id, token + "x", changed) is False
    assert subs.changes(doc_id, token, data) is False


# A bad body changes nothing: `changes` is False for it (the `except` answered True).
def test_a_bad_body_says_no_change(subs: Subscriptions) -> None:
    doc_id, token = subs.subscribe(body())
    assert subs.changes(doc_id, token, body(topics=["news"])) is False
    assert subs.changes(doc_id, token, "not a body") is False


# Padded keys are taken and stored as given (the decoder adds the padding it needs).
def test_padded_keys_are_taken_as_given(subs: Subscriptions) -> None:
    data = body()
    auth = base64.urlsafe_b64encode(os.urandom(16)).decode()
    key = base64.urlsafe_b64encode(point()).decode()
    assert auth.endswith("==") and key.endswith("=")
    data["subscription"]["keys"] = {"p256dh": key, "auth": auth}
    checked = subs.check(data)
    assert checked.keys == {"p256dh": key, "auth": auth}


# -- hub/push/vapid.py -------------------------------------------------------------------------

SUBJECT = "mailto:ops@hub.example"
SUBJECT_WORDS = "HUB_VAPID_SUBJECT: a mailto: address or an https: URL of the hub's operator, not "


def _pem(key: Any) -> str:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return data.decode()


def _vapid_claims(header: str) -> dict[str, Any]:
    parts = dict(p.strip().split("=", 1) for p in header[len("vapid ") :].split(","))
    claims: dict[str, Any] = decode_jwt(parts["t"], parts["k"])
    return claims


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "mailto:ops@hub.example",
        "mailto:o.p+s@a-b.hub.example",
        "https://hub.example",
        "https://hub.example:8443/contact?x=1",
    ],
)
def test_these_subjects_are_taken_as_given(subject: str) -> None:
    assert check_subject(subject) == subject


# Each way a subject is refused, and the words (the `and`s of the https test, the regex).
@pytest.mark.parametrize(
    "subject",
    [
        "mailto:ops@hub.example/x",
        "mailto:ops@",
        "mailto:o ps@hub.example",
        "mailto:ops@hub..example",
        "https://",
        "https:///contact",
        "https://me@hub.example",
        "https://hub.example/a b",
        "http://hub.example",
    ],
)
def test_these_subjects_are_refused_with_the_rule(subject: str) -> None:
    with pytest.raises(SettingsError) as raised:
        check_subject(subject)
    assert str(raised.value) == SUBJECT_WORDS + repr(subject)


def test_a_raw_key_in_the_setting_may_have_spaces_around_it(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64(key.private_numbers().private_value.to_bytes(32, "big"))
    vapid = Vapid.load(tmp_path / "vapid.pem", private_key=f"  {raw}\n", subject=SUBJECT)
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert vapid.public_key == b64(point)
    pem = Vapid.load(tmp_path / "vapid.pem", private_key=f"\n{_pem(key)}  ", subject=SUBJECT)
    assert pem.public_key == b64(point)
    assert not (tmp_path / "vapid.pem").exists()


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (b64(b"\x01" * 31), "ValueError"),
        (b64(b"\x01" * 33), "ValueError"),
        # Short keys are read whole (their padding added) and refused by their size.
        (b64(b"\x01" * 10), "ValueError"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "ValueError"),
        ("A", "Error"),
        ("ключ", "ValueError"),
        ("-----BEGIN ключ", "UnicodeEncodeError"),
    ],
)
def test_a_bad_key_setting_says_what_to_give(tmp_path: Path, value: str, kind: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Vapid.load(tmp_path / "vapid.pem", private_key=value, subject=SUBJECT)
    assert str(raised.value) == (
        "HUB_VAPID_PRIVATE_KEY: not a P-256 private key (give the base64url of the raw "
        f"32-byte key, or a PEM): {kind}"
    )


def test_a_key_on_another_curve_is_refused_in_the_setting_and_in_the_file(tmp_path: Path) -> None:
    other = _pem(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(SettingsError) as raised:
        Vapid.load(tmp_path / "vapid.pem", private_key=other, subject=SUBJECT)
    assert str(raised.value) == (
        "HUB_VAPID_PRIVATE_KEY: a VAPID key is an EC key on the P-256 curve"
    )
    path = tmp_path / "vapid.pem"
    path.write_text(other)
    os.chmod(path, 0o600)
    with pytest.raises(SettingsError) as raised:
        Vapid.load(path, subject=SUBJECT)
    assert str(raised.value) == f"{path}: a VAPID key is an EC key on the P-256 curve"


def test_a_key_file_that_is_no_pem_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    path.write_bytes(b"not a pem")
    os.chmod(path, 0o600)
    with pytest.raises(SettingsError) as raised:
        Vapid.load(path, subject=SUBJECT)
    assert str(raised.value) == f"{path}: not a PEM private key (ValueError)"


def test_the_key_file_made_and_a_readable_one_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vapid.pem"
    with caplog.at_level(logging.INFO, logger="hub.push.vapid"):
        made = Vapid.load(path, subject=SUBJECT)
        os.chmod(path, 0o640)
        again = Vapid.load(path, subject=SUBJECT)
        Vapid.load(path, subject=SUBJECT)
    assert again.public_key == made.public_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", f"vapid: made a new key pair in {path}"),
        ("WARNING", f"vapid: {path} was readable by others (mode 640); made it 0600"),
    ]
    text = path.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert list(tmp_path.iterdir()) == [path]


def test_a_stale_temp_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    (tmp_path / "vapid.pem.tmp").write_text("half a key")
    Vapid.load(path, subject=SUBJECT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vapid.pem"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# Twelve hours, renewed when an hour or less is left (the constants and the `>`).
def test_the_header_lives_twelve_hours_and_is_renewed_with_an_hour_left(tmp_path: Path) -> None:
    now = [1_800_000_000.5]
    vapid = Vapid.load(tmp_path / "vapid.pem", subject=SUBJECT, clock=lambda: now[0])
    first = vapid.authorization("https://fcm.googleapis.com")
    assert _vapid_claims(first) == {
        "aud": "https://fcm.googleapis.com",
        "sub": "mailto:ops@hub.example",
        "exp": 1_800_043_200,
    }
    assert first.startswith("vapid t=") and first.endswith(f",k={vapid.public_key}")
    now[0] = 1_800_039_599.5  # 3,600.5 s left
    assert vapid.authorization("https://fcm.googleapis.com") == first
    now[0] = 1_800_039_600.0  # an hour left exactly
    renewed = vapid.authorization("https://fcm.googleapis.com")
    assert renewed != first
    assert _vapid_claims(renewed)["exp"] == 1_800_082_800
    assert vapid.authorization("https://fcm.googleapis.com") == renewed


# Her PUT while the same browser subscribed anew (a new token): the PUT writes nothing (the
# update's `expect` of her token's hash dropped or made None).
def test_a_put_with_a_token_replaced_meanwhile_changes_nothing(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    doc_id, token = subs.subscribe(data)
    again = {**data, "topics": ["rules"]}
    store.update_hooks.append(lambda: subs.subscribe(again))
    assert subs.update(doc_id, token, {**data, "topics": ["events"]}) is None
    (doc,) = store.find("subscriptions")
    assert doc["topics"] == ["rules"]


# An id that is no id of the store is refused before the lookup, whatever the token: a
# non-ASCII one would reach `compare_digest`, which raises (`or` turned `and`).
def test_an_id_of_another_shape_opens_nothing(subs: Subscriptions) -> None:
    doc_id, token = subs.subscribe(body())
    for other in ("ü", "", "a" * 65, "a/b", doc_id + "é"):
        assert subs.read(other, token) is None
        assert subs.confirm(other, token) is False
        assert subs.delete(other, token) is False
    assert subs.read(doc_id, "") is None
    assert subs.read(doc_id, token) is not None


# -- hub/push/drafts.py ------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def drafts() -> Drafts:
    library, _ = load_library(PROJECT_ROOT / "content")
    return Drafts(library)


def leader_account(
    corridors: tuple[str, ...] = ("PH-HK",), locales: tuple[str, ...] = ("en", "fil")
) -> Account:
    return Account(
        id="a1",
        email="maria@example.org",
        display_name="Maria",
        role="leader",
        corridors=corridors,
        locales=locales,
        active=True,
        created="2026-01-01T00:00:00Z",
        last_sign_in=None,
        credentials_changed="2026-01-01T00:00:00Z",
    )


def make_draft(**changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "texts": {"en": {"title": "New shelter number", "body": "Call 2345 6789."}},
        "corridors": ["PH-HK"],
        "locales": ["en"],
        "topic": "safety",
        "urgency": "normal",
        "expires": "2026-12-07T06:00:00Z",
        "link": None,
    }
    return Draft(**{**fields, **changes})


def _refusals(
    drafts: Drafts, draft: Draft, scope: Account | None = None
) -> list[tuple[str, str, str | None, int | None, str]]:
    with pytest.raises(DraftRefused) as raised:
        drafts.check(draft, NOW, scope=scope)
    problems = raised.value.problems
    assert str(raised.value) == "; ".join(str(p) for p in problems)
    first = problems[0]
    assert (raised.value.field, raised.value.reason, raised.value.value) == (
        first.field,
        first.reason,
        first.value,
    )
    assert raised.value.limit == first.limit
    return [(p.field, p.reason, p.value, p.limit, str(p)) for p in problems]


# Each refusal of a draft, its field, reason, value and words (strings and tests altered).
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"corridors": ["PHHK", "PH-PH"]},
            [
                ("corridors", "invalid", "PHHK", None, "'PHHK' is not a corridor"),
                ("corridors", "invalid", "PH-PH", None, "'PH-PH' is not a corridor"),
            ],
        ),
        (
            {"corridors": ["hk-ph"]},
            [("corridors", "not_served", "HK-PH", None, "the hub does not serve HK-PH")],
        ),
        (
            {"corridors": []},
            [("corridors", "required", None, None, "choose at least one corridor")],
        ),
        (
            {"locales": ["de"], "texts": {}},
            [
                ("locales", "unknown", "de", None, "'de' is not a language"),
                ("texts", "required", None, None, "write a title and a text in one language"),
            ],
        ),
        (
            {"locales": [], "texts": {}},
            [
                ("locales", "required", None, None, "choose at least one language"),
                ("texts", "required", None, None, "write a title and a text in one language"),
            ],
        ),
        ({"topic": "news"}, [("topic", "unknown", "news", None, "'news' is not a topic")]),
        (
            {"urgency": "low"},
            [("urgency", "unknown", "low", None, "'low' is not an urgency")],
        ),
        (
            {"texts": {"fil": {"title": "Numero", "body": "Tawag."}}},
            [("texts", "not_target", "fil", None, "a text in fil, not a target language")],
        ),
        (
            {"texts": {"en": {"title": "", "body": " \n "}}},
            [
                ("title", "required", "en", None, "the title is empty"),
                ("body", "required", "en", None, "the body is empty"),
            ],
        ),
        (
            {"texts": {"en": {"title": "t" * 81, "body": "b" * 801}}},
            [
                ("title", "too_long", "en", 80, "the title has 81 characters, more than 80"),
                ("body", "too_long", "en", 800, "the body has 801 characters, more than 800"),
            ],
        ),
        (
            {"texts": {"en": {"title": "a\u202eb", "body": "a\x07b"}}},
            [
                ("title", "control", "en", None, "the title holds a control character (U+202E)"),
                ("body", "control", "en", None, "the body holds a control character (U+0007)"),
            ],
        ),
        (
            {"texts": {"en": {"title": "ok", "body": "ok"}, "xx": {"title": "t", "body": "b"}}},
            [("texts", "unknown", "xx", None, "'xx' is not a language")],
        ),
        (
            {"expires": "soon"},
            [("expires", "invalid", "soon", None, "'soon' is not a UTC time")],
        ),
        (
            {"expires": "2026-12-07T06:00:00"},
            [
                (
                    "expires",
                    "invalid",
                    "2026-12-07T06:00:00",
                    None,
                    "'2026-12-07T06:00:00' is not a UTC time",
                )
            ],
        ),
        (
            {"expires": "2026-11-30T06:59:59Z"},
            [
                (
                    "expires",
                    "too_soon",
                    "2026-11-30T06:59:59Z",
                    None,
                    "an alert lasts at least 1:00:00",
                )
            ],
        ),
        (
            {"expires": "2026-12-28T06:00:01Z"},
            [
                (
                    "expires",
                    "too_far",
                    "2026-12-28T06:00:01Z",
                    None,
                    "an alert lasts at most 28 days",
                )
            ],
        ),
        (
            {"link": "https://evil.example/help"},
            [
                (
                    "link",
                    "invalid",
                    "https://evil.example/help",
                    None,
                    "'https://evil.example/help' is not a page of the hub (no other site)",
                )
            ],
        ),
        (
            {"link": " topics/nothing-here "},
            [
                (
                    "link",
                    "unknown",
                    "topics/nothing-here",
                    None,
                    "the hub has no page 'topics/nothing-here'",
                )
            ],
        ),
    ],
)
def test_each_refusal_of_a_draft_in_words(
    drafts: Drafts,
    changes: dict[str, Any],
    expected: list[tuple[str, str, str | None, int | None, str]],
) -> None:
    assert _refusals(drafts, make_draft(**changes)) == expected


def test_corridors_and_locales_out_of_her_scope_in_words(drafts: Drafts) -> None:
    draft = make_draft(
        corridors=["PH-HK", "PH-SG"],
        locales=["en", "th"],
        texts={"en": {"title": "t", "body": "b"}, "th": {"title": "t", "body": "b"}},
    )
    assert _refusals(drafts, draft, leader_account()) == [
        ("corridors", "out_of_scope", "PH-SG", None, "PH-SG is not one of yours"),
        ("locales", "out_of_scope", "th", None, "th is not one of yours"),
    ]


# The bounds themselves are taken: an hour and 28 days away, 80 and 800 characters.
def test_a_draft_at_every_bound_is_taken(drafts: Drafts) -> None:
    for expires, stored in (
        ("2026-11-30T07:00:00Z", "2026-11-30T07:00:00Z"),
        (" 2026-12-28T06:00:00+00:00 ", "2026-12-28T06:00:00Z"),
        ("2026-12-28T15:00:00+09:00", "2026-12-28T06:00:00Z"),
    ):
        draft = make_draft(expires=expires, texts={"en": {"title": "t" * 80, "body": "b" * 800}})
        checked = drafts.check(draft, NOW, scope=None)
        assert checked.draft.expires == stored
        assert checked.converted == ()


# What a draft is cleaned into: trimmed, one line for a title, "\n" line ends, corridors
# upper-case and sorted, locales in the hub's order, a link as a bare path.
def test_a_draft_is_cleaned_into_its_stored_form(drafts: Drafts) -> None:
    draft = Draft(
        texts={
            "fil": {"title": "  Bagong\n numero\t ", "body": " Tawag\r\nsa\r2345 \t\n\n"},
            "en": {"title": "Cafe\u0301", "body": "a\tb  \nc"},
        },
        corridors=[" ph-sg", "PH-HK "],
        locales=["fil ", " EN"],
        topic="rules",
        urgency="high",
        expires="2026-12-01T06:00:00Z",
        link="/fil/help/",
    )
    checked = drafts.check(draft, NOW, scope=leader_account(("PH-HK", "PH-SG")))
    assert checked.draft == Draft(
        texts={
            "en": {"title": "Café", "body": "a b\nc"},
            "fil": {"title": "Bagong numero", "body": "Tawag\nsa\n2345"},
        },
        corridors=["PH-HK", "PH-SG"],
        locales=["en", "fil"],
        topic="rules",
        urgency="high",
        expires="2026-12-01T06:00:00Z",
        link="help",
    )
    assert list(checked.draft.texts) == ["en", "fil"]


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("help", "help"),
        ("safety/", "safety"),
        ("/safety", "safety"),
        ("en/safety", "safety"),
        ("/th/topics/health/", "topics/health"),
        ("topics/health", "topics/health"),
        ("articles/before-you-leave", "articles/before-you-leave"),
        ("services/ae-adjd-legal-aid", "services/ae-adjd-legal-aid"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_these_links_are_pages_of_the_hub(
    drafts: Drafts, link: str | None, kept: str | None
) -> None:
    assert drafts.check(make_draft(link=link), NOW, scope=None).draft.link == kept


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("//evil.example/help", "invalid"),
        ("help:x", "invalid"),
        ("help\\x", "invalid"),
        ("Help", "invalid"),
        ("en", "unknown"),
        ("fil/", "unknown"),
        ("topics", "unknown"),
        ("topics/health/x", "unknown"),
        ("topics/health/x/", "invalid"),
        ("articles/health", "unknown"),
        ("services/health", "unknown"),
        ("events/health", "unknown"),
        ("help/help", "unknown"),
        ("-help", "invalid"),
    ],
)
def test_these_links_are_refused(drafts: Drafts, link: str, reason: str) -> None:
    [(field, found, *_)] = _refusals(drafts, make_draft(link=link))
    assert (field, found) == ("link", reason)


# A client that is no address is counted by its text, whatever it holds (a lone surrogate
# too: the `surrogatepass` of its encoding dropped raises).
def test_the_subscribe_limit_counts_any_client_text() -> None:
    limit = SubscribeLimit(1)
    assert limit.hit("unknown\udcff") is True
    assert limit.hit("unknown\udcff") is False
    assert limit.hit("unknown") is True


# What a subscription stores, field by field, on a fake clock; read back without its hash.
def test_a_subscription_is_stored_field_by_field(subs: Subscriptions, clock: Clock) -> None:
    subs.clock = clock
    data = body(f"{FAKE}/push/one", locale="th", origin="TH", destination="SG", discreet=False)
    data["topics"] = ["events", "safety", "events"]
    doc_id, token = subs.subscribe(data)
    (doc,) = subs._store.find("subscriptions")
    keys = dict(data["subscription"]["keys"])
    assert {k: v for k, v in doc.items() if k not in ("id", "token_hash")} == {
        "endpoint": "http://127.0.0.1:8123/push/one",
        "push_service": "http://127.0.0.1:8123",
        "keys": keys,
        "locale": "th",
        "origin": "TH",
        "destination": "SG",
        "corridor": "TH-SG",
        "topics": ["safety", "events"],
        "discreet": False,
        "created": "2026-11-30T06:00:00Z",
        "confirmed": "2026-11-30T06:00:00Z",
        "last_delivery": None,
    }
    assert doc["id"] == doc_id
    assert subs.read(doc_id, token) == {
        "id": doc_id,
        "endpoint": "http://127.0.0.1:8123/push/one",
        "keys": keys,
        "locale": "th",
        "origin": "TH",
        "destination": "SG",
        "corridor": "TH-SG",
        "topics": ["safety", "events"],
        "discreet": False,
        "created": "2026-11-30T06:00:00Z",
        "confirmed": "2026-11-30T06:00:00Z",
        "last_delivery": None,
    }
    # Confirmed again later: only `confirmed` moves.
    clock.now += timedelta(days=2, seconds=5)
    assert subs.confirm(doc_id, token) is True
    (after,) = subs._store.find("subscriptions")
    assert after == {**doc, "confirmed": "2026-12-02T06:00:05Z"}


def _renewed(store: RacingStore, endpoint: str) -> Callable[[], object]:
    """Her subscription deleted and stored again (same endpoint and keys, a new id)."""

    def renew() -> None:
        doc = store.inner.find_one("subscriptions", endpoint=endpoint)
        assert doc is not None
        store.inner.delete("subscriptions", doc["id"])
        store.inner.insert("subscriptions", {k: v for k, v in doc.items() if k != "id"})

    return renew


# Subscribing again while the stored one changes under it: read again, up to three times,
# then "the endpoint is changing" (the loop's `continue`, its count and its words).
def test_subscribing_again_while_it_changes_reads_again_three_times(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    endpoint = data["subscription"]["endpoint"]
    subs.subscribe(data)
    store.update_hooks.extend(_renewed(store, endpoint) for _ in range(2))
    doc_id, token = subs.subscribe(data)
    assert store.update_hooks == []
    assert subs.read(doc_id, token) is not None
    store.update_hooks.extend(_renewed(store, endpoint) for _ in range(3))
    with pytest.raises(InvalidSubscription) as raised:
        subs.subscribe(data)
    assert (raised.value.field, raised.value.message) == (
        "endpoint",
        "the endpoint is changing: try again",
    )
    assert store.update_hooks == [] and subs.count() == 1


# Deleted between the read and the update: stored anew (a new id).
def test_subscribing_again_while_it_is_deleted_stores_it_anew(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    old_id, _ = subs.subscribe(data)
    store.update_hooks.append(lambda: store.inner.delete("subscriptions", old_id))
    new_id, token = subs.subscribe(data)
    assert new_id != old_id
    assert subs.read(new_id, token) is not None and subs.count() == 1


# The same browser subscribing twice at once: the second insert meets the unique endpoint
# and updates the first one instead (Conflict `continue`).
def test_the_same_endpoint_stored_meanwhile_is_updated(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    first: list[tuple[str, str]] = []
    store.insert_hooks.append(lambda: first.append(subs.subscribe(data)))
    doc_id, token = subs.subscribe({**data, "topics": ["rules"]})
    assert [doc_id] == [first[0][0]]
    assert subs.read(first[0][0], first[0][1]) is None
    read = subs.read(doc_id, token)
    assert read is not None and read["topics"] == ["rules"]
    assert subs.count() == 1


# Unconfirmed for exactly 30 days is kept; a second more is purged, its deliveries cut at
# the purge's time (the `<` of the cutoff, `confirm_days`).
def test_a_subscription_is_purged_a_second_after_its_thirty_days(
    racing: tuple[RacingStore, Subscriptions, Outbox], clock: Clock
) -> None:
    store, subs, outbox = racing
    doc_id, _ = subs.subscribe(body())
    outbox.enqueue(_alert(), store.find("subscriptions"))
    clock.now += timedelta(days=30)
    assert subs.purge_unconfirmed() == 0
    clock.now += timedelta(seconds=1)
    assert subs.purge_due() == 1
    assert subs.get_by_id(doc_id) is None
    (delivery,) = store.find("deliveries")
    assert (delivery["state"], delivery["subscription_id"], delivery["updated"]) == (
        "gone",
        None,
        "2026-12-30T06:00:01Z",
    )
    assert subs.purge_due() == 0


def test_matching_lists_each_subscription_once(subs: Subscriptions) -> None:
    one, _ = subs.subscribe(body(topics=["safety", "rules"]))
    two, _ = subs.subscribe(body(locale="en", topics=["rules"]))
    subs.subscribe(body(destination="SG", topics=["rules"]))
    found = subs.matching(["PH-HK", "PH-HK", "TH-HK"], ["fil", "en", "fil"], "rules")
    assert sorted(doc["id"] for doc in found) == sorted([one, two])
    assert subs.count_matching(["PH-HK", "PH-HK"], ["en"], "rules") == 1
    assert subs.count_matching(["PH-HK"], ["fil"], "events") == 0
    assert subs.count_matching([], ["fil"], "safety") == 0


@pytest.fixture
def manila(local_zone: LocalZone) -> None:
    """The process's local time is Manila's (UTC+8)."""
    local_zone("Asia/Manila")


# Times are stored in UTC whatever the server's local zone (`astimezone(UTC)` turned
# `astimezone(None)`, the local zone).
def test_times_are_stored_in_utc_on_a_server_in_another_zone(
    subs: Subscriptions, manila: None
) -> None:
    subs.clock = lambda: datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    doc_id, _ = subs.subscribe(body())
    assert subs.delivered(doc_id, datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    doc = subs.get_by_id(doc_id)
    assert doc is not None
    assert (doc["created"], doc["last_delivery"]) == (
        "2026-11-30T06:00:00Z",
        "2026-12-01T23:30:00Z",
    )


# Twenty subscribe requests an hour unless the settings say otherwise (the default altered,
# the limit not made).
def test_the_subscribe_limit_is_twenty_an_hour_by_default(subs: Subscriptions) -> None:
    assert subs.limit.per_hour == 20
    assert all(subs.limit.hit("192.0.2.7") for _ in range(20))
    assert subs.limit.hit("192.0.2.7") is False


# Discreet unless she says otherwise (the default of `discreet` altered).
def test_discreet_is_the_default(subs: Subscriptions) -> None:
    data = body()
    del data["discreet"]
    assert subs.check(data).discreet is True
    assert subs.check(body(discreet=False)).discreet is False


# A token is 32 random bytes in base64url: 43 characters (`token_urlsafe(32)` altered).
def test_a_token_is_32_random_bytes(subs: Subscriptions) -> None:
    tokens = {subs.subscribe(body())[1] for _ in range(3)}
    assert len(tokens) == 3
    for token in tokens:
        assert len(token) == 43
        assert len(base64.urlsafe_b64decode(token + "=")) == 32


# The same browser subscribing anew while the stored subscription moves to another endpoint
# (her PUT in between): hers is left as she made it and a new one is stored (the update's
# `expect` of endpoint and keys dropped or made None).
def test_subscribing_again_while_it_moves_leaves_it_alone(
    racing: tuple[RacingStore, Subscriptions, Outbox],
) -> None:
    store, subs, _ = racing
    data = body()
    hers, token = subs.subscribe(data)
    moved = body(f"{FAKE}/push/moved")
    store.update_hooks.append(lambda: subs.update(hers, token, moved))
    new_id, _ = subs.subscribe(data)
    assert new_id != hers and subs.count() == 2
    read = subs.read(hers, token)
    assert read is not None and read["endpoint"] == "http://127.0.0.1:8123/push/moved"


# Two stale ones count two (`+=` turned `=`); one confirmed while the purge runs stays (its
# `expect` of the `confirmed` read dropped).
def test_the_purge_counts_each_and_spares_one_confirmed_meanwhile(
    racing: tuple[RacingStore, Subscriptions, Outbox], clock: Clock
) -> None:
    store, subs, _ = racing
    made = [subs.subscribe(body()) for _ in range(3)]
    clock.now += timedelta(days=31)
    store.hooks.append(lambda: subs.confirm(*made[0]))
    assert subs.purge_unconfirmed() == 2
    assert [doc["id"] for doc in store.find("subscriptions")] == [made[0][0]]


# The thirty days are counted in UTC on a server in another zone too.
def test_the_purge_cutoff_is_utc_on_a_server_in_another_zone(
    subs: Subscriptions, clock: Clock, manila: None
) -> None:
    subs.clock = clock
    subs.subscribe(body())
    clock.now += timedelta(days=30)
    assert subs.purge_unconfirmed() == 0
    clock.now += timedelta(seconds=1)
    assert subs.purge_unconfirmed() == 1


# Once a UTC day, on a server in another zone too: 23:00 and 00:30 in Manila are one UTC
# day, so a stale one waits for the next (`astimezone(UTC)` turned None, `_purged` not kept).
def test_the_purge_runs_once_a_utc_day(subs: Subscriptions, clock: Clock, manila: None) -> None:
    subs.clock = clock
    clock.now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    subs.subscribe(body())
    clock.now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert subs.purge_due() == 1
    clock.now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    subs.subscribe(body())
    clock.now = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert subs.purge_due() == 0 and subs.count() == 1
    clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert subs.purge_due() == 1 and subs.count() == 0


# An https subject with a port and a path signs too (py_vapid's own stricter check is off:
# `conf={"no-strict": True}` altered or dropped).
def test_an_https_subject_with_a_port_and_a_path_signs(tmp_path: Path) -> None:
    vapid = Vapid.load(
        tmp_path / "vapid.pem", subject="https://hub.example:8443/contact", clock=lambda: 1e9
    )
    claims = _vapid_claims(vapid.authorization("https://web.push.apple.com"))
    assert claims == {
        "aud": "https://web.push.apple.com",
        "sub": "https://hub.example:8443/contact",
        "exp": 1_000_043_200,
    }


# No subject unless given: the hub is then not ready to send (the default altered).
def test_a_key_loaded_without_a_subject_is_not_ready(tmp_path: Path) -> None:
    vapid = Vapid.load(tmp_path / "vapid.pem")
    assert (vapid.subject, vapid.ready) == ("", False)
