"""Fixtures: the real app on temp folders, and a copy of the content tree to change."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Scope

from hub.app import create_app
from hub.auth.accounts import Accounts
from hub.auth.passwords import Passwords
from hub.settings import PROJECT_ROOT, Settings
from hub.store import Store, open_store

CONTENT = PROJECT_ROOT / "content"
LOCALES = ("en", "fil", "id", "vi", "th", "km", "my")
FIXTURES = Path(__file__).parent / "fixtures"

ClientFactory = Callable[..., TestClient]


class _Unhandled(logging.Handler):
    """Keeps the "unhandled error" records the 500 handler writes."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("unhandled error"):
            self.records.append(record)


@pytest.fixture(autouse=True)
def no_unhandled_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose requests hit an unhandled exception, unless it is marked
    `server_error`: the 500 page hides the exception from the test client, not from us."""
    handler = _Unhandled()
    logger = logging.getLogger("hub.views.errors")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("server_error") is None:
        record = handler.records[0]
        pytest.fail(f"unhandled error in the app: {record.getMessage()}: {record.exc_info!r}")


# The fixtures' apps start without the background warm-up (HUB_WARM_UP): most live under a
# second, and rendering every body and making every index meanwhile only took CPU from the
# tests (a third of a console test's time). What a reader gets is the same, made when first
# asked for; tests/test_start_deferred.py tests the warm-up itself.


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on the starter content with state in a temp folder."""
    return Settings(data_dir=tmp_path / "var", warm_up=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app of the test's own: for a test that changes app state or counts on a fresh one."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for a module's tests that only read: starting it is the slow part."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"), warm_up=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def shared_client(module_app: TestClient) -> TestClient:
    """The module's app as a reader with no cookies yet (those an earlier test left cleared)."""
    module_app.cookies.clear()
    return module_app


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of the starter content that a test may change."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """Start the real app on another content tree; every client is closed afterwards.

    Each client has a data folder of its own (`var`, `var-2`, ...): one process owns a data
    folder (its store's lock), so two apps open at once cannot share one."""
    opened: list[TestClient] = []

    def factory(content_dir: Path, **kwargs: object) -> TestClient:
        name = "var" if not opened else f"var-{len(opened) + 1}"
        settings = Settings(data_dir=tmp_path / name, content_dir=content_dir, warm_up=False)
        test_client = TestClient(create_app(settings), **kwargs)  # type: ignore[arg-type]
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield factory
    for test_client in opened:
        test_client.__exit__(None, None, None)


def http_scope(method: str = "GET", path: str = "/", **extra: Any) -> Scope:
    """An ASGI HTTP scope as uvicorn gives one, for a request from the test client."""
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        **extra,
    }


def asgi_messages(app: ASGIApp, scope: Scope, incoming: list[Message]) -> list[Message]:
    """The messages an ASGI app sends for one scope, given these to receive (after them,
    `receive` waits: no disconnect until the response is sent)."""
    sent: list[Message] = []
    pending = list(reversed(incoming))

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        await app(scope, receive, send)

    # In a thread of its own: after the browser tests, Playwright leaves an event loop running
    # in the main thread, where asyncio.run() refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()
    return sent


def set_corridor(client: TestClient, origin: str, destination: str) -> None:
    """Choose a corridor the way a reader does, through the GET form."""
    response = client.get(
        "/en/corridor", params={"from": origin, "to": destination}, follow_redirects=False
    )
    assert response.status_code == 303


# -- The console's domain (hub/auth/, hub/audit.py): a store, a clock, cheap argon2 -----------

# Fixtures that start an app, and words in a module that say it starts one (or a server, a
# subprocess): a test with none of them is a unit test.
APP_FIXTURES = frozenset(
    {
        "client",
        "module_app",
        "shared_client",
        "make_client",
        "console_client",
        "make_console_client",
    }
)
_STARTS_SOMETHING = re.compile(r"\b(?:create_app|TestClient|subprocess|FakePush|Sink)\b")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `unit` each test that starts nothing: no app fixture, and a module that names no app,
    server or subprocess (so `-m unit` is the layer that needs nothing started)."""
    starts: dict[Path, bool] = {}
    browser = Path(__file__).parent / "browser"
    for item in items:
        path = item.path
        if path not in starts:
            text = path.read_text(encoding="utf-8")
            starts[path] = path.is_relative_to(browser) or bool(_STARTS_SOMETHING.search(text))
        if not starts[path] and not APP_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.unit)


# argon2's least memory and time: these tests are about accounts and sessions, not cost.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A clock the test moves (it stands still unless moved)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


LocalZone = Callable[[str], None]


@pytest.fixture
def local_zone() -> Iterator[LocalZone]:
    """`local_zone("Asia/Bangkok")` sets the process's local time zone (TZ) for the test; the
    zone before is put back afterwards. The hub keeps its times in UTC wherever it runs."""
    before = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where a test's store file goes: in a folder not made yet, as on a new install."""
    return tmp_path / "data" / "hub.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    """The durable store at the test module's own `path` fixture, closed after the test."""
    opened = open_store(path)
    yield opened
    opened.close()


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    """Console accounts in the test's store, on its clock, hashing with `FAST`."""
    return Accounts(store, Passwords(FAST), clock=clock)


# -- The consoles ------------------------------------------------------------------------------

# A password the policy takes (12+ characters, zxcvbn score 3 or more, not the email or name).
CONSOLE_PASSWORD = "violet harbour lantern 47"
# One account of each role, made by `console_client`: role -> (email, corridors, locales).
CONSOLE_ACCOUNTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "admin": ("admin@hub.example", (), ()),
    "curator": ("curator@hub.example", (), ()),
    "translator": ("translator@hub.example", (), ("th",)),
    "leader": ("leader@hub.example", ("PH-HK",), ("en", "fil")),
}
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


def add_console_accounts(client: TestClient) -> dict[str, str]:
    """Create CONSOLE_ACCOUNTS through the app's Accounts; role -> email."""
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    for role, (email, corridors, locales) in CONSOLE_ACCOUNTS.items():
        if accounts.get(email) is None:
            accounts.create(
                email,
                CONSOLE_PASSWORD,
                role=role,
                display_name=f"Test {role}",
                corridors=corridors,
                locales=locales,
            )
    return {role: email for role, (email, _, _) in CONSOLE_ACCOUNTS.items()}


@pytest.fixture(scope="session")
def console_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder left by an app that made CONSOLE_ACCOUNTS and stopped: copied for each
    console test, it saves the cold start (content cache, static files) and the hashing."""
    data_dir = tmp_path_factory.mktemp("console-data")
    with TestClient(create_app(Settings(data_dir=data_dir, warm_up=False))) as test_client:
        add_console_accounts(test_client)
    return data_dir


@pytest.fixture
def make_console_client(tmp_path: Path, console_data: Path) -> Iterator[ClientFactory]:
    """Start the real app with settings of the test's choosing (`require_2fa=True`, ...) and
    one account of each role (CONSOLE_ACCOUNTS); every client is closed afterwards.

    `base_url="https://testserver"` goes with `https_only=True`: the client then sends the
    Secure cookies back. Each client has a data folder of its own, a copy of `console_data`."""
    opened: list[TestClient] = []

    def factory(*, base_url: str = "http://testserver", **overrides: Any) -> TestClient:
        data_dir = tmp_path / ("console" if not opened else f"console-{len(opened) + 1}")
        shutil.copytree(console_data, data_dir)
        settings = Settings(**{"data_dir": data_dir, "warm_up": False, **overrides})
        test_client = TestClient(create_app(settings), base_url=base_url)
        test_client.__enter__()
        opened.append(test_client)
        add_console_accounts(test_client)
        return test_client

    yield factory
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def console_client(make_console_client: ClientFactory) -> TestClient:
    """The app with default settings and one account of each role, nobody signed in."""
    return make_console_client()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a console page."""
    found = CSRF_INPUT.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def sign_in(
    client: TestClient,
    email: str,
    password: str = CONSOLE_PASSWORD,
    *,
    otp: str | None = None,
    next_path: str | None = None,
) -> httpx.Response:
    """Sign in the way a browser does: open /login, send its form with the page's CSRF token.
    The answer (a 303 on success) is returned unfollowed; the client keeps the cookies."""
    page = client.get("/login", params={"next": next_path} if next_path else None)
    assert page.status_code == 200, page.text[:300]
    form = {"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    if otp is not None:
        form["otp"] = otp
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", data=form, follow_redirects=False)


def sign_in_as(client: TestClient, role: str) -> str:
    """Sign in as the CONSOLE_ACCOUNTS account of `role` (asserting it worked); its email."""
    email = CONSOLE_ACCOUNTS[role][0]
    response = sign_in(client, email)
    assert response.status_code == 303, response.text[:300]
    return email


def post_form(
    client: TestClient, page: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Send a console form as a browser does: the CSRF token read from `page` (a GET), the
    form posted to `action`; the answer unfollowed."""
    opened = client.get(page)
    form = {**(data or {}), "csrf_token": csrf_of(opened.text)}
    return client.post(action, data=form, follow_redirects=False)


def subscribe(client: TestClient, corridor: str, locale: str, topics: tuple[str, ...]) -> str:
    """Store a subscription as the subscriptions API keeps one (nothing is sent); its id."""
    origin, destination = corridor.split("-")
    unique = secrets.token_hex(8)
    doc = {
        "token_hash": unique,
        "endpoint": f"https://push.example/{unique}",
        "push_service": "https://push.example",
        "keys": {"p256dh": "x", "auth": "y"},
        "locale": locale,
        "origin": origin,
        "destination": destination,
        "corridor": corridor,
        "topics": list(topics),
        "discreet": True,
        "created": "2026-01-01T00:00:00Z",
        "confirmed": "2026-01-01T00:00:00Z",
        "last_delivery": None,
    }
    return str(client.app.state.store.insert("subscriptions", doc))  # type: ignore[attr-defined]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(env: Mapping[str, str], port: int) -> subprocess.Popen[bytes]:
    """`hub serve` of this virtualenv on 127.0.0.1:`port`, with `env` as its environment and
    its output (stdout and stderr together) on a pipe; the caller stops it."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "hub"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )


def git_env() -> dict[str, str]:
    """This process's environment without git's own variables: a test run from a git hook
    (GIT_INDEX_FILE, GIT_DIR) would otherwise work on another repository's index."""
    return {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}


def git(root: Path, *args: str) -> str:
    """A git command of the test's own in `root` (with an identity: the hub gives its own to
    each save); its output."""
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Setup", "-c", "user.email=setup@x", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=git_env(),
    )
    return done.stdout


def as_repository(folder: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`folder` made a git repository with one commit, on a machine where git knows no
    identity (HOME is `home`, an empty folder made here)."""
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "starter")
    return folder
