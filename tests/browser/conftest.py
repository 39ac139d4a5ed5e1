"""A real hub server on loopback and the system Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT
from tests.conftest import free_port

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
# CI sets REQUIRE_BROWSER=1 so a missing browser fails the run instead of skipping.
REQUIRED = os.environ.get("REQUIRE_BROWSER", "") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser/ `browser`, so -m selects them without a mark each."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


class _Neutral(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Weather</title><p>Sunny</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="session")
def neutral_site() -> Iterator[str]:
    """A stand-in for the neutral site quick exit leaves to, on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Neutral)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/weather"
    server.shutdown()


class HubServer:
    """`hub serve` in a subprocess on a loopback port; can be restarted on the same port."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = env
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, content_dir: Path | None = None) -> HubServer:
        env = {**os.environ, **self.env, "HUB_DATA_DIR": str(self.data_dir)}
        if content_dir is not None:
            env["HUB_CONTENT_DIR"] = str(content_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(self.port)],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/en/safety", timeout=2).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail("hub serve did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def access_lines(self) -> list[str]:
        """The server's access log lines: 'METHOD PATH STATUS'."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [
            line.split("hub.access: ", 1)[1] for line in text.splitlines() if "hub.access: " in line
        ]


@pytest.fixture(scope="session")
def live_server(neutral_site: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hub serve` on the starter content, on a free loopback port, for the session."""
    server = HubServer(tmp_path_factory.mktemp("var"), {"HUB_QUICK_EXIT_URL": neutral_site})
    server.start()
    yield server.base
    server.stop()


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[HubServer]:
    """A server of this test's own, started by the test (maybe on changed content)."""
    server = HubServer(tmp_path / "var", {})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright, for the system Chromium only; never a downloaded browser."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if REQUIRED:
            pytest.fail(f"Chromium not found at {CHROMIUM} and REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """The system Chromium, headless."""
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def profile_context(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """A context on a real profile folder: Chromium will not install apps from incognito."""
    created = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 360, "height": 740},
    )
    created.set_default_timeout(20000)
    yield created
    created.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browsing context (its own cookies, caches and workers)."""
    created = browser.new_context(viewport={"width": 360, "height": 740})
    created.set_default_timeout(20000)
    yield created
    created.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browsing context and page."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()
