"""A real hub server on loopback and the system Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture(scope="session")
def live_server(neutral_site: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hub serve` on a free loopback port, stopped after the session."""
    port = _free_port()
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path_factory.mktemp("var")),
        "HUB_QUICK_EXIT_URL": neutral_site,
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/en/", timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("hub serve did not start")
    yield base
    server.terminate()
    server.wait(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system Chromium; never a downloaded browser."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if REQUIRED:
            pytest.fail(f"Chromium not found at {CHROMIUM} and REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browsing context and page."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()
