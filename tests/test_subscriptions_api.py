"""Push subscriptions (issue 11, point 2): the API at /api/subscriptions through the real app,
the endpoint allow-list that keeps the hub from calling any other URL, and the store domain
the alerts and the sender call."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.push.subscriptions import TAKEN, Subscriptions, SubscriptionTaken
from hub.settings import DEFAULT_PUSH_SERVICES, Settings
from hub.store import open_store

# The test's own fake push service, listed exactly as a loopback http origin.
FAKE = "http://127.0.0.1:8123"
SERVICES = f"{DEFAULT_PUSH_SERVICES},{FAKE}"
PER_HOUR = 4
# The hub takes subscriptions only when it can send (tests/test_subscriptions_edges.py).
SUBJECT = "mailto:ops@hub.example"
FIELDS = {
    "id",
    "token_hash",
    "endpoint",
    "push_service",
    "keys",
    "locale",
    "origin",
    "destination",
    "corridor",
    "topics",
    "discreet",
    "created",
    "confirmed",
    "last_delivery",
}
JSON = {"content-type": "application/json"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def p256dh() -> str:
    """A browser's subscription public key: a fresh uncompressed P-256 point."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def body(endpoint: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A subscription request as the alerts page sends it."""
    data: dict[str, Any] = {
        "subscription": {
            "endpoint": endpoint
            if endpoint is not None
            else f"https://fcm.googleapis.com/fcm/send/{b64(os.urandom(24))}",
            "expirationTime": None,
            "keys": {"p256dh": p256dh(), "auth": b64(os.urandom(16))},
        },
        "locale": "fil",
        "origin": "PH",
        "destination": "HK",
        "topics": ["safety", "rules"],
        "discreet": True,
    }
    data.update(overrides)
    return data


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        push_services=SERVICES,
        subscribe_per_hour=PER_HOUR,
        vapid_subject=SUBJECT,
    )


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the tests that do not count on the subscribe limit (starting is slow)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("var"),
        push_services=SERVICES,
        subscribe_per_hour=10**6,
        vapid_subject=SUBJECT,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api(shared_api: TestClient) -> TestClient:
    """The module's app with no subscription stored."""
    return emptied(shared_api)


def emptied(client: TestClient) -> TestClient:
    """Delete every stored subscription of `client`'s app; the client."""
    client.app.state.store.delete_where("subscriptions")  # type: ignore[attr-defined]
    return client


def stored(client: TestClient) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = client.app.state.store.find("subscriptions")  # type: ignore[attr-defined]
    return docs


def subscribe(client: TestClient, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post("/api/subscriptions", json=data or body(), **kw)


# -- subscribing -------------------------------------------------------------------------------


def test_a_phone_subscribes_and_the_store_keeps_only_the_token_hash(api: TestClient) -> None:
    data = body()
    response = subscribe(api, data)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"id", "token"} and len(answer["token"]) >= 40
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    [doc] = stored(api)
    assert set(doc) == FIELDS
    assert doc["id"] == answer["id"]
    assert doc["token_hash"] == hashlib.sha256(answer["token"].encode()).hexdigest()
    assert answer["token"] not in json.dumps(doc)
    assert doc["endpoint"] == data["subscription"]["endpoint"]
    assert doc["push_service"] == "https://fcm.googleapis.com"
    assert doc["keys"] == data["subscription"]["keys"]
    assert (doc["locale"], doc["corridor"], doc["topics"]) == ("fil", "PH-HK", ["safety", "rules"])
    assert doc["discreet"] is True and doc["last_delivery"] is None
    assert doc["created"] == doc["confirmed"]


def test_discreet_is_on_unless_she_turns_it_off(api: TestClient) -> None:
    data = body()
    del data["discreet"]
    assert subscribe(api, data).status_code == 201
    assert subscribe(api, body(discreet=False)).status_code == 201
    assert sorted(doc["discreet"] for doc in stored(api)) == [False, True]


def test_the_same_endpoint_again_updates_and_never_duplicates(api: TestClient) -> None:
    """The same browser subscribing anew (its token lost, the same endpoint and keys)."""
    first = body()
    one = subscribe(api, first).json()
    again = body(first["subscription"]["endpoint"], topics=["events"], locale="th")
    again["subscription"]["keys"] = dict(first["subscription"]["keys"])
    two = subscribe(api, again).json()
    assert two["id"] == one["id"] and two["token"] != one["token"]
    [doc] = stored(api)
    assert (doc["topics"], doc["locale"], doc["keys"]) == (
        ["events"],
        "th",
        again["subscription"]["keys"],
    )
    # The token given before no longer opens it; the new one does.
    assert (
        api.get(f"/api/subscriptions/{one['id']}", headers=bearer(one["token"])).status_code == 401
    )
    assert (
        api.get(f"/api/subscriptions/{one['id']}", headers=bearer(two["token"])).status_code == 200
    )


def _taken_refused(response: Any) -> None:
    assert response.status_code in (400, 409), response.text
    assert response.json() == {"error": TAKEN, "field": "endpoint"}
    assert response.headers["cache-control"] == "no-store"


def test_another_browser_cannot_take_over_an_endpoint_by_subscribing(api: TestClient) -> None:
    """Knowing a phone's endpoint is not enough: other keys (and discreet off) are refused,
    her token keeps working and her record is as she left it."""
    victim = body()
    hers = subscribe(api, victim).json()
    [before] = stored(api)
    attack = body(victim["subscription"]["endpoint"], discreet=False, topics=["events"])
    for keys in (
        attack["subscription"]["keys"],
        # Her public key is no secret (the push service sees it): her auth secret is needed too.
        {"p256dh": victim["subscription"]["keys"]["p256dh"], "auth": b64(os.urandom(16))},
    ):
        attack["subscription"]["keys"] = keys
        _taken_refused(subscribe(api, attack))
    assert stored(api) == [before]
    read = api.get(f"/api/subscriptions/{hers['id']}", headers=bearer(hers["token"]))
    assert read.status_code == 200 and read.json()["discreet"] is True
    assert read.json()["keys"] == victim["subscription"]["keys"]


def test_a_put_cannot_take_another_subscriptions_endpoint(api: TestClient) -> None:
    victim = body()
    hers = subscribe(api, victim).json()
    mine = subscribe(api).json()
    before = {doc["id"]: doc for doc in stored(api)}
    steal = body(victim["subscription"]["endpoint"], discreet=False)
    response = api.put(
        f"/api/subscriptions/{mine['id']}", json=steal, headers=bearer(mine["token"])
    )
    _taken_refused(response)
    assert {doc["id"]: doc for doc in stored(api)} == before
    assert (
        api.get(f"/api/subscriptions/{hers['id']}", headers=bearer(hers["token"])).status_code
        == 200
    )


def test_a_taken_endpoint_is_answered_409(api: TestClient) -> None:
    victim = body()
    subscribe(api, victim)
    attack = body(victim["subscription"]["endpoint"])
    assert subscribe(api, attack).status_code == 409


def test_a_loopback_service_listed_exactly_is_taken(api: TestClient) -> None:
    response = subscribe(api, body(f"{FAKE}/push/abc"))
    assert response.status_code == 201, response.text
    assert stored(api)[0]["push_service"] == FAKE


# Each field refused with its name and a reason (a valid body changed in one place).
def _curve_miss() -> str:
    # x and y that are not a point of P-256 (y of 1 fits no x of this shape).
    return b64(b"\x04" + b"\x01" * 32 + b"\x00" * 31 + b"\x01")


BAD_FIELDS = [
    ("endpoint", lambda d: d["subscription"].__setitem__("endpoint", "https://evil.example/x")),
    ("endpoint", lambda d: d["subscription"].__setitem__("endpoint", 42)),
    ("subscription", lambda d: d.__setitem__("subscription", "https://fcm.googleapis.com/x")),
    ("keys", lambda d: d["subscription"].__setitem__("keys", None)),
    ("p256dh", lambda d: d["subscription"]["keys"].__setitem__("p256dh", b64(b"\x04" * 33))),
    ("p256dh", lambda d: d["subscription"]["keys"].__setitem__("p256dh", "not base64!")),
    ("p256dh", lambda d: d["subscription"]["keys"].__setitem__("p256dh", _curve_miss())),
    (
        "p256dh",
        lambda d: d["subscription"]["keys"].__setitem__(
            "p256dh", b64(b"\x02" + base64.urlsafe_b64decode(p256dh() + "==")[1:])
        ),
    ),
    ("auth", lambda d: d["subscription"]["keys"].__setitem__("auth", b64(os.urandom(15)))),
    ("auth", lambda d: d["subscription"]["keys"].__setitem__("auth", None)),
    ("locale", lambda d: d.__setitem__("locale", "xx")),
    ("locale", lambda d: d.__setitem__("locale", ["en"])),
    ("origin", lambda d: d.__setitem__("origin", "HK")),
    ("destination", lambda d: d.__setitem__("destination", "XX")),
    ("destination", lambda d: d.update(origin="TH", destination="TH")),
    ("topics", lambda d: d.__setitem__("topics", [])),
    ("topics", lambda d: d.__setitem__("topics", ["safety", "weather"])),
    ("topics", lambda d: d.__setitem__("topics", "safety")),
    ("discreet", lambda d: d.__setitem__("discreet", "yes")),
    ("discreet", lambda d: d.__setitem__("discreet", 1)),
]


@pytest.mark.parametrize(
    ("field", "spoil"), BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_FIELDS)]
)
def test_each_field_is_checked_with_a_clear_error(api: TestClient, field: str, spoil: Any) -> None:
    data = body()
    spoil(data)
    response = subscribe(api, data)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["field"] == field and error["error"]
    assert response.headers["cache-control"] == "no-store"
    assert stored(api) == []


def test_a_body_that_is_no_object_is_refused(api: TestClient) -> None:
    response = api.post("/api/subscriptions", content=b"[1, 2]", headers=JSON)
    assert response.status_code == 400 and response.json()["field"] == "body"
    for broken in (b"{", b"[" * 3000, b"\xff\xfe"):
        response = api.post("/api/subscriptions", content=broken, headers=JSON)
        assert response.status_code == 400 and response.json() == {
            "error": "the body is not JSON",
            "field": "body",
        }


# -- what the hub may be made to call ----------------------------------------------------------

SSRF = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8124/push",  # loopback, but not the port listed
    "https://127.0.0.1:8123/push",
    "http://localhost:8123/push",
    "https://fcm.googleapis.com.evil.example/fcm/send/x",
    "https://evil.example/?x=fcm.googleapis.com",
    "https://evil.example/fcm.googleapis.com/",
    "https://fcm.googleapis.com@evil.example/",
    "https://user:pass@fcm.googleapis.com/fcm/send/x",
    "http://fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com:8443/fcm/send/x",
    "https://fcm.googleapis.com:443/fcm/send/x",
    "https://FCM.googleapis.com/fcm/send/x",
    "HTTPS://fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com./fcm/send/x",
    "https://fcm.googleapis.com\\@evil.example/",
    "https://fcm.googleapis.com%2f@evil.example/",
    "https://fcm.googleapis.com /fcm/send/x",
    "https://fcm.googleapis.com/fcm/send/x#frag",
    "https://f\u0441m.googleapis.com/fcm/send/x",  # a Cyrillic "es" for the "c"
    "https://xn--fcm-u8c.googleapis.com/fcm/send/x",
    "https://10.0.0.1/push",
    "https://[::1]/push",
    "https://2130706433/push",
    "https://notify.windows.com/w/?token=x",  # the wildcard's own domain is not one of its hosts
    "https://a.notify.windows.com.evil.example/w/",
    "https://a.notify.windows.com:444/w/",
    "https://10.0.0.1.notify.windows.comx/w/",
    "https://a..notify.windows.com/w/",
    "https://-a.notify.windows.com/w/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "",
    "https://fcm.googleapis.com/" + "x" * 3000,
]


@pytest.mark.parametrize("endpoint", SSRF)
def test_an_endpoint_off_the_listed_push_services_is_refused(
    api: TestClient, endpoint: str
) -> None:
    response = subscribe(api, body(endpoint))
    assert response.status_code in (400, 413), response.text
    if response.status_code == 400:
        assert response.json()["field"] == "endpoint"
    assert stored(api) == []


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", "https://fcm.googleapis.com"),
        ("https://updates.push.services.mozilla.com/wpush/v2/gAAA", None),
        ("https://web.push.apple.com/QGuQyavX", None),
        (
            "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2f",
            "https://wns2-par02p.notify.windows.com",
        ),
        (f"{FAKE}/push/1", FAKE),
    ],
)
def test_the_real_push_services_endpoints_are_taken(endpoint: str, origin: str | None) -> None:
    services = PushServices.parse(SERVICES)
    assert services.match(endpoint) == (origin or endpoint[: endpoint.index("/", 8)])


@pytest.mark.parametrize(
    "setting",
    [
        "http://fcm.googleapis.com",
        "http://127.0.0.1",  # loopback without its port
        "http://10.0.0.1:80",
        "https://fcm.googleapis.com/path",
        "https://user@fcm.googleapis.com",
        "https://*.1.2.3",
        "ftp://fcm.googleapis.com",
    ],
)
def test_a_setting_that_is_no_push_origin_stops_the_hub(setting: str) -> None:
    with pytest.raises(ValueError, match="push service"):
        PushServices.parse(setting)


def test_a_private_address_listed_exactly_is_the_operators_choice() -> None:
    services = PushServices.parse("https://10.0.0.1,http://[::1]:9000")
    assert services.match("https://10.0.0.1/push") == "https://10.0.0.1"
    assert services.match("http://[::1]:9000/push") == "http://[::1]:9000"
    with pytest.raises(InvalidSubscription):
        services.match("https://10.0.0.2/push")


# -- a phone's own subscription: the token -----------------------------------------------------


def test_read_change_and_delete_need_the_subscriptions_token(api: TestClient) -> None:
    mine = subscribe(api).json()
    other = subscribe(api).json()
    url = f"/api/subscriptions/{mine['id']}"
    refusals = []
    for headers in (
        {},
        bearer("not-the-token"),
        bearer(other["token"]),
        {"authorization": mine["token"]},  # no scheme
        {"authorization": f"Basic {mine['token']}"},
    ):
        for method in ("GET", "PUT", "DELETE"):
            response = api.request(
                method, url, headers={**headers, **JSON}, content=json.dumps(body())
            )
            assert response.status_code == 401, (method, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            refusals.append(response.json())
    # An id that does not exist is refused the same way: nothing tells the two apart.
    missing = api.get("/api/subscriptions/no-such-id", headers=bearer(mine["token"]))
    assert missing.status_code == 401 and missing.json() == refusals[0]
    assert len({json.dumps(r) for r in refusals}) == 1
    assert len(stored(api)) == 2

    read = api.get(url, headers=bearer(mine["token"]))
    assert read.status_code == 200 and read.headers["cache-control"] == "no-store"
    assert read.json()["id"] == mine["id"] and "token_hash" not in read.json()
    assert read.json()["topics"] == ["safety", "rules"]

    change = body(read.json()["endpoint"], topics=["events"], discreet=False)
    change["subscription"]["keys"] = read.json()["keys"]
    changed = api.put(url, json=change, headers=bearer(mine["token"]))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["topics"], changed.json()["discreet"]) == (["events"], False)

    deleted = api.delete(url, headers=bearer(mine["token"]))
    assert deleted.status_code == 204 and deleted.headers["cache-control"] == "no-store"
    assert api.get(url, headers=bearer(mine["token"])).status_code == 401
    assert [doc["id"] for doc in stored(api)] == [other["id"]]


def test_a_put_is_checked_like_a_post(api: TestClient) -> None:
    mine = subscribe(api).json()
    url = f"/api/subscriptions/{mine['id']}"
    response = api.put(url, json=body("https://evil.example/x"), headers=bearer(mine["token"]))
    assert response.status_code == 400 and response.json()["field"] == "endpoint"
    assert stored(api)[0]["endpoint"].startswith("https://fcm.googleapis.com/")


def test_a_new_endpoint_from_the_browser_replaces_the_old_one(api: TestClient) -> None:
    """pushsubscriptionchange: the worker PUTs the phone's new subscription with its token."""
    mine = subscribe(api).json()
    renewed = body(f"{FAKE}/push/renewed")
    response = api.put(
        f"/api/subscriptions/{mine['id']}", json=renewed, headers=bearer(mine["token"])
    )
    assert response.status_code == 200
    [doc] = stored(api)
    assert (doc["id"], doc["endpoint"], doc["push_service"]) == (
        mine["id"],
        f"{FAKE}/push/renewed",
        FAKE,
    )


def test_the_page_confirms_the_subscription_when_opened(settings: Settings) -> None:
    with TestClient(create_app(settings)) as api:
        confirmed_in_time(api)


def confirmed_in_time(api: TestClient) -> None:
    """Subscribe two phones; only the one whose page confirms stays past confirm_days."""
    subscriptions: Subscriptions = api.app.state.subscriptions  # type: ignore[attr-defined]
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    moments = [start]
    subscriptions.clock = lambda: moments[-1]
    data = body()
    mine = subscribe(api, data).json()
    kept = subscribe(api).json()
    moments.append(start + timedelta(days=subscriptions.confirm_days - 1))
    # A PUT of the same subscription, as the page sends it each time it is opened.
    response = api.put(f"/api/subscriptions/{mine['id']}", json=data, headers=bearer(mine["token"]))
    assert response.json()["confirmed"] == "2026-03-01T09:00:00Z"
    moments.append(start + timedelta(days=subscriptions.confirm_days + 1))
    assert subscriptions.purge_unconfirmed() == 1
    assert [doc["id"] for doc in stored(api)] == [mine["id"]]
    assert kept["id"] not in {doc["id"] for doc in stored(api)}


# -- what a request may not do -----------------------------------------------------------------


def test_a_large_body_is_refused_before_it_is_read(api: TestClient) -> None:
    data = body()
    data["padding"] = "x" * 5000
    response = subscribe(api, data)
    assert response.status_code == 413 and response.json()["field"] == "body"
    # A length that says more than the limit is refused whatever follows.
    response = api.post(
        "/api/subscriptions",
        content=b"{}",
        headers={**JSON, "content-length": "999999"},
    )
    assert response.status_code == 413
    assert stored(api) == []


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_4096_bytes_is_taken_and_one_of_4097_refused(
    api: TestClient, streamed: bool
) -> None:
    # The limit at its edge, declared or streamed without a length: the JSON padded with
    # trailing spaces (still JSON) to exactly the size.
    def send(size: int) -> Any:
        text = json.dumps(body()).encode()
        data = text + b" " * (size - len(text))
        assert len(data) == size
        content: Any = iter([data[:1000], data[1000:]]) if streamed else data
        return api.post("/api/subscriptions", content=content, headers=JSON)

    taken = send(4096)
    assert taken.status_code == 201, taken.text
    refused = send(4097)
    assert refused.status_code == 413
    assert refused.json()["field"] == "body"
    assert "at most 4096 bytes" in refused.json()["error"]
    assert len(stored(api)) == 1


@pytest.mark.parametrize(
    "kind", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", ""]
)
def test_only_json_is_taken(api: TestClient, kind: str) -> None:
    """What a form of another site can send without a preflight is refused."""
    headers = {"content-type": kind} if kind else {}
    response = api.post("/api/subscriptions", content=json.dumps(body()), headers=headers)
    assert response.status_code == 415 and response.json()["error"]
    assert stored(api) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
    ],
)
def test_another_site_can_neither_subscribe_nor_delete(
    api: TestClient, headers: dict[str, str]
) -> None:
    refused = api.post("/api/subscriptions", json=body(), headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]
    mine = subscribe(api).json()
    url = f"/api/subscriptions/{mine['id']}"
    for method in ("PUT", "DELETE"):
        response = api.request(
            method, url, headers={**headers, **bearer(mine["token"]), **JSON}, content=b"{}"
        )
        assert response.status_code == 403
    assert [doc["id"] for doc in stored(api)] == [mine["id"]]
    # The page's own requests pass.
    same = {"sec-fetch-site": "same-origin", "origin": "http://testserver"}
    assert api.delete(url, headers={**same, **bearer(mine["token"])}).status_code == 204


def test_subscribing_is_rate_limited_per_client(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, client=("2001:db8:1:2::10", 5000)) as first:
        for _ in range(PER_HOUR):
            assert subscribe(first).status_code == 201
        refused = subscribe(first)
        assert refused.status_code == 429 and refused.json()["error"]
        assert refused.headers["retry-after"] == "3600"
        assert len(stored(first)) == PER_HOUR
        # Clients of the running app (not entered: the app's lifespan is the first one's).
        same_network = TestClient(app, client=("2001:db8:1:2:ffff::1", 5000))
        # Another address of the same /64 is the same client.
        assert subscribe(same_network).status_code == 429
        other_network = TestClient(app, client=("2001:db8:1:3::10", 5000))
        assert subscribe(other_network).status_code == 201
        other_address = TestClient(app, client=("198.51.100.7", 5000))
        assert subscribe(other_address).status_code == 201


def test_a_change_counts_against_the_limit_and_a_confirmation_does_not(settings: Settings) -> None:
    with TestClient(create_app(settings), client=("198.51.100.7", 5000)) as api:
        data = body()
        mine = subscribe(api, data).json()
        url = f"/api/subscriptions/{mine['id']}"
        for _ in range(PER_HOUR + 2):
            assert api.put(url, json=data, headers=bearer(mine["token"])).status_code == 200
        statuses = [
            api.put(
                url, json={**data, "topics": [topic]}, headers=bearer(mine["token"])
            ).status_code
            for topic in ("events", "rules", "safety", "events")
        ]
        assert statuses == [200, 200, 200, 429]


def test_nothing_of_the_request_is_stored_but_the_subscription(settings: Settings) -> None:
    agent = "Mozilla/5.0 (Linux; Android 13; MARKER-PHONE-77)"
    address = "203.0.113.199"
    with TestClient(create_app(settings), client=(address, 5123)) as api:
        mine = subscribe(api, headers={"user-agent": agent}).json()
        api.put(
            f"/api/subscriptions/{mine['id']}",
            json=body(topics=["events"]),
            headers={"user-agent": agent, **bearer(mine["token"])},
        )
        [doc] = stored(api)
        assert set(doc) == FIELDS
    written = b"".join(path.read_bytes() for path in settings.data_dir.rglob("*") if path.is_file())
    assert b"subscriptions" in written  # the store did write
    for marker in (agent, "MARKER-PHONE", address, "203.0.113", mine["token"]):
        assert marker.encode() not in written, marker


def test_the_api_answers_no_other_method(api: TestClient) -> None:
    assert api.get("/api/subscriptions").status_code == 405
    assert api.post("/api/subscriptions/x", json=body()).status_code == 405


# -- the domain the alerts and the sender call -------------------------------------------------


@pytest.fixture
def subscriptions(tmp_path: Path) -> Iterator[Subscriptions]:
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


def test_matching_finds_by_corridor_locale_and_topic(subscriptions: Subscriptions) -> None:
    wanted: dict[str, dict[str, Any]] = {
        "ph-hk-fil-safety": {"topics": ["safety"]},
        "ph-hk-en-all": {"locale": "en", "topics": ["safety", "rules", "events"]},
        "ph-sg-fil-safety": {"destination": "SG", "topics": ["safety"]},
        "th-hk-th-events": {"origin": "TH", "locale": "th", "topics": ["events"]},
    }
    made = {name: subscriptions.subscribe(body(**values))[0] for name, values in wanted.items()}

    def names(corridors: list[str], locales: list[str], topic: str) -> set[str]:
        found = {doc["id"] for doc in subscriptions.matching(corridors, locales, topic)}
        assert subscriptions.count_matching(corridors, locales, topic) == len(found)
        return {name for name, doc_id in made.items() if doc_id in found}

    assert names(["PH-HK"], ["fil", "en"], "safety") == {"ph-hk-fil-safety", "ph-hk-en-all"}
    assert names(["PH-HK"], ["fil"], "safety") == {"ph-hk-fil-safety"}
    assert names(["PH-HK", "PH-SG"], ["fil"], "safety") == {"ph-hk-fil-safety", "ph-sg-fil-safety"}
    assert names(["PH-HK", "TH-HK"], ["en", "th"], "events") == {"ph-hk-en-all", "th-hk-th-events"}
    assert names(["PH-HK"], ["fil", "en", "th"], "rules") == {"ph-hk-en-all"}
    assert names(["TH-SG"], ["th"], "safety") == set()


def test_remove_delivered_and_get_by_id(subscriptions: Subscriptions) -> None:
    doc_id, _ = subscriptions.subscribe(body())
    assert subscriptions.delivered(doc_id, datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC))
    found = subscriptions.get_by_id(doc_id)
    assert found is not None and found["last_delivery"] == "2026-05-01T12:00:05Z"
    assert subscriptions.remove(doc_id) and subscriptions.get_by_id(doc_id) is None
    assert not subscriptions.remove(doc_id)
    assert not subscriptions.delivered(doc_id, "2026-05-01T12:00:06Z")


def test_an_endpoint_another_subscription_holds_is_not_taken(
    subscriptions: Subscriptions,
) -> None:
    """Only the browser holding an endpoint's keys changes or deletes its subscription."""
    held = body(f"{FAKE}/push/returning")
    old_id, _ = subscriptions.subscribe(held)
    before = subscriptions.get_by_id(old_id)
    mine, token = subscriptions.subscribe(body())
    with pytest.raises(SubscriptionTaken):
        subscriptions.update(mine, token, body(f"{FAKE}/push/returning", topics=["events"]))
    with pytest.raises(SubscriptionTaken):
        subscriptions.subscribe(body(f"{FAKE}/push/returning", discreet=False))
    assert subscriptions.get_by_id(old_id) == before
    assert subscriptions.count() == 2


def test_unconfirmed_ones_are_purged_once_a_day(subscriptions: Subscriptions) -> None:
    moments = [datetime(2026, 1, 1, 9, tzinfo=UTC)]
    subscriptions.clock = lambda: moments[-1]
    subscriptions.subscribe(body())
    moments.append(moments[0] + timedelta(days=subscriptions.confirm_days + 1))
    assert subscriptions.purge_due() == 1
    # Once that day: a stale one made meanwhile waits for the next day (each subscription
    # calls it, and it reads the whole table).
    moments.append(moments[0])
    subscriptions.subscribe(body())
    moments.append(moments[1] + timedelta(hours=1))
    assert subscriptions.purge_due() == 0 and subscriptions.count() == 1
    moments.append(moments[1] + timedelta(days=1))
    assert subscriptions.purge_due() == 1 and subscriptions.count() == 0
