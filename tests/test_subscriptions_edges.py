"""Push subscriptions at their edges (the security review of issue 11): every error under /api/
is JSON, an endpoint's path must be one a push service gives, nothing is taken while the hub
cannot send, and a bad HUB_PUSH_SERVICES stops `hub serve` with one line."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.settings import DEFAULT_PUSH_SERVICES, Settings, SettingsError
from tests.fakepush import FakePush
from tests.test_every_response import EXPECTED_HEADERS
from tests.test_push_delivery import add_alert, add_subscription, send, settle
from tests.test_subscriptions_api import emptied, stored

HUB = Path(sys.executable).parent / "hub"
# A loopback service listed exactly, as the tests' fake push service is.
FAKE = "http://127.0.0.1:8123"
SERVICES = f"{DEFAULT_PUSH_SERVICES},{FAKE}"
SUBJECT = "mailto:ops@hub.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def body(endpoint: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A subscription request as the alerts page sends it, with fresh keys."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    data: dict[str, Any] = {
        "subscription": {
            "endpoint": endpoint or f"https://fcm.googleapis.com/fcm/send/{b64(os.urandom(24))}",
            "expirationTime": None,
            "keys": {
                "p256dh": b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
                "auth": b64(os.urandom(16)),
            },
        },
        "locale": "en",
        "origin": "PH",
        "destination": "HK",
        "topics": ["safety"],
        "discreet": True,
    }
    data.update(overrides)
    return data


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _app(folder: Path, subject: str) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=folder, push_services=SERVICES, vapid_subject=subject, subscribe_per_hour=10**6
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def ready_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app that can send alerts (its VAPID subject is set)."""
    yield from _app(tmp_path_factory.mktemp("ready"), SUBJECT)


@pytest.fixture(scope="module")
def unready_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app started without HUB_VAPID_SUBJECT: it cannot send alerts."""
    yield from _app(tmp_path_factory.mktemp("unready"), "")


@pytest.fixture
def ready(ready_app: TestClient) -> TestClient:
    return emptied(ready_app)


@pytest.fixture
def unready(unready_app: TestClient) -> TestClient:
    return emptied(unready_app)


def assert_api_error(response: Any, status: int) -> dict[str, Any]:
    """A JSON error answer of the API, with the security headers and no-store."""
    assert response.status_code == status, response.text[:200]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    data: dict[str, Any] = response.json()
    assert isinstance(data["error"], str) and data["error"]
    return data


# -- F6: every error under /api/ is JSON -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("OPTIONS", "/api/subscriptions", 405, "POST"),
        ("GET", "/api/subscriptions", 405, "POST"),
        ("PATCH", "/api/subscriptions", 405, "POST"),
        ("POST", "/api/subscriptions/some-id", 405, "GET, HEAD, PUT, DELETE"),
        ("GET", "/api/subscriptions/a/b", 404, None),
        ("DELETE", "/api/subscriptions/a/b", 404, None),
        ("GET", "/api/nothing", 404, None),
        ("GET", "/api/alerts/xx.json", 404, None),
        ("POST", "/api/search/en.json", 405, "GET, HEAD"),
    ],
)
def test_an_error_outside_the_api_s_handlers_is_json(
    ready: TestClient, method: str, path: str, status: int, allow: str | None
) -> None:
    response = ready.request(method, path)
    data = assert_api_error(response, status)
    assert data["error"] == {404: "not found", 405: "method not allowed"}[status]
    # Starlette lists the methods from a set, in no fixed order.
    listed = response.headers.get("allow")
    assert (set(listed.split(", ")) if listed else None) == (
        set(allow.split(", ")) if allow else None
    )


def test_a_view_s_own_refusal_under_api_is_json_with_its_reason(ready: TestClient) -> None:
    response = ready.get("/api/packs/en.json", params={"from": "XX", "to": "HK"})
    assert assert_api_error(response, 400) == {"error": "unknown-country"}


@pytest.mark.server_error
def test_a_server_error_under_api_is_json_and_tells_nothing(
    ready: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ready.app.state  # type: ignore[attr-defined]
    monkeypatch.setitem(state._state, "search_exports", None)
    response = ready.get("/api/search/th.json")
    assert assert_api_error(response, 500) == {"error": "internal server error"}
    # Not even the templates are needed: the answer is the same when they are gone.
    monkeypatch.setitem(state._state, "templates", None)
    response = ready.get("/api/search/th.json")
    assert assert_api_error(response, 500) == {"error": "internal server error"}


def test_the_reader_s_error_pages_stay_pages(ready: TestClient) -> None:
    for path in ("/en/nothing", "/apis/x"):
        response = ready.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert 'class="quick-exit"' in response.text


def test_the_other_api_answers_still_work(ready: TestClient) -> None:
    index = ready.get("/api/search/en.json")
    assert index.status_code == 200 and index.headers["content-type"] == "application/json"
    pack = ready.get("/api/packs/en.json", params={"from": "PH", "to": "HK"})
    assert pack.status_code == 200 and "/en/help" in pack.text
    assert ready.get("/api/alerts/en.json").json() == {"newest": None}


# -- F8: an endpoint's path --------------------------------------------------------------------

BAD_PATHS = [
    "https://fcm.googleapis.com/../../x",
    "https://fcm.googleapis.com/fcm/send/../../x",
    "https://fcm.googleapis.com//evil.com/x",
    "https://fcm.googleapis.com/fcm//send/x",
    f"{FAKE}/push/../stats",
    f"{FAKE}/push/%2e%2e/stats",
    f"{FAKE}/push/%2E./stats",
    f"{FAKE}/push/.%2e",
    f"{FAKE}/push/./1",
    f"{FAKE}/push/..",
    f"{FAKE}/push/%2e",
    "https://fcm.googleapis.com/",
    "https://fcm.googleapis.com?token=x",
    "https://fcm.googleapis.com/?token=x",
    "https://a.notify.windows.com//w/?token=x",
]


@pytest.mark.parametrize("endpoint", BAD_PATHS)
def test_an_endpoint_whose_path_moves_elsewhere_is_refused(
    ready: TestClient, endpoint: str
) -> None:
    response = ready.post("/api/subscriptions", json=body(endpoint))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "endpoint"
    assert "path" in response.json()["error"]
    assert stored(ready) == []
    # The sender asks the same question before each send: a stored one is never sent to.
    with pytest.raises(InvalidSubscription):
        PushServices.parse(SERVICES).match(endpoint)


def test_a_stored_endpoint_with_a_dot_segment_is_never_sent_to(tmp_path: Path) -> None:
    # Stored before paths were checked: the sender's HTTP client resolved `/push/../stats`.
    with FakePush() as push:
        settings = Settings(
            data_dir=tmp_path / "var",
            push_services=f"{DEFAULT_PUSH_SERVICES},{push.origin}",
            vapid_subject=SUBJECT,
        )
        with TestClient(create_app(settings)) as client:
            store = client.app.state.store  # type: ignore[attr-defined]
            phone, planted = push.phone(), push.phone()
            good = add_subscription(client, push, phone)
            bad = add_subscription(client, push, planted)
            bad["endpoint"] = f"{push.origin}/push/../stats"
            store.update("subscriptions", bad["id"], {"endpoint": bad["endpoint"]})
            alert = add_alert(client)
            assert send(client, alert, [good, bad]) == 2
            report = settle(client, alert)
        assert (report.delivered, report.failed) == (1, {"not_listed": 1})
        assert push.requests == 1 and len(push.messages(phone)) == 1


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH-x_y", "https://fcm.googleapis.com"),
        ("https://fcm.googleapis.com/wp/dGVzdA:APA91bH-x_y", "https://fcm.googleapis.com"),
        (
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABl-x_Y=",
            "https://updates.push.services.mozilla.com",
        ),
        (
            "https://updates.push.services.mozilla.com/wpush/v1/gAAAAABl-x_Y",
            "https://updates.push.services.mozilla.com",
        ),
        (
            "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2fab%2bcd%3d",
            "https://wns2-par02p.notify.windows.com",
        ),
        ("https://web.push.apple.com/3/device/QGuQyavXutnMbHU", "https://web.push.apple.com"),
        (f"{FAKE}/push/1", FAKE),
        # Dots inside a segment are no dot segment.
        (f"{FAKE}/push/a..b/.well", FAKE),
    ],
)
def test_every_real_push_service_s_endpoint_is_taken(
    ready: TestClient, endpoint: str, origin: str
) -> None:
    assert PushServices.parse(SERVICES).match(endpoint) == origin
    response = ready.post("/api/subscriptions", json=body(endpoint))
    assert response.status_code == 201, response.text
    [doc] = stored(ready)
    assert (doc["endpoint"], doc["push_service"]) == (endpoint, origin)


# -- only promise what works -------------------------------------------------------------------


def test_without_a_vapid_subject_no_subscription_is_taken(unready: TestClient) -> None:
    page = unready.get("/en/alerts", headers={"cookie": "hub_from=PH; hub_to=HK"}).text
    assert "Alerts on this phone are not available yet" in page and "push-form" not in page
    response = unready.post("/api/subscriptions", json=body())
    data = assert_api_error(response, 503)
    assert data["error"].startswith("alerts on phones are not available on this hub yet")
    assert stored(unready) == []


def test_a_ready_hub_takes_the_same_request(ready: TestClient) -> None:
    assert ready.post("/api/subscriptions", json=body()).status_code == 201
    assert len(stored(ready)) == 1


def test_without_a_vapid_subject_hers_can_be_read_confirmed_and_deleted_not_changed(
    unready: TestClient,
) -> None:
    # Taken while the hub could send (the subject was unset since).
    data = body()
    subscriptions = unready.app.state.subscriptions  # type: ignore[attr-defined]
    doc_id, token = subscriptions.subscribe(data)
    url = f"/api/subscriptions/{doc_id}"
    read = unready.get(url, headers=bearer(token))
    assert read.status_code == 200 and read.json()["topics"] == ["safety"]
    # The page confirming what the hub has is no change.
    assert unready.put(url, json=data, headers=bearer(token)).status_code == 200
    changed = unready.put(url, json={**data, "topics": ["events"]}, headers=bearer(token))
    assert_api_error(changed, 503)
    [doc] = stored(unready)
    assert doc["topics"] == ["safety"]
    # A wrong token is still told nothing more than before.
    assert unready.put(url, json=data, headers=bearer("nope")).status_code == 401
    assert unready.delete(url, headers=bearer(token)).status_code == 204
    assert stored(unready) == []


# -- a bad HUB_PUSH_SERVICES -------------------------------------------------------------------


def test_a_bad_push_services_entry_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match=r"^HUB_PUSH_SERVICES: push service 'ftp://x'"):
        PushServices.parse("https://fcm.googleapis.com, ftp://x")


def test_hub_serve_with_a_bad_push_services_entry_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "HUB_DATA_DIR": str(tmp_path / "var"),
        "HUB_PORT": "1",  # never reached: nothing may be served
        "HUB_PUSH_SERVICES": "https://fcm.googleapis.com,http://push.example:80",
    }
    result = subprocess.run(
        [str(HUB), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == (
        "hub: HUB_PUSH_SERVICES: push service 'http://push.example:80': "
        "http only for a loopback origin with its port\n"
    )


# As the server passes them on: a header's bytes read as Latin-1 ("²" is one byte, 0xB2).
@pytest.mark.parametrize("length", ["²", "¹²", "9" * 5000, "+12", "1_2"])
def test_a_content_length_that_is_no_plain_number_is_refused(
    ready: TestClient, length: str
) -> None:
    # "²" passed str.isdigit() and broke int(); so did 5,000 nines: a 500 each.
    response = ready.post(
        "/api/subscriptions",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": length.encode("latin-1")},
    )
    assert response.status_code == 413
    assert response.json()["field"] == "body"
