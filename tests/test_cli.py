"""The `hub` command: serve on a chosen loopback port; usage errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, start_serve


@pytest.mark.slow
def test_serve_answers_on_the_given_host_and_port(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "var")}
    server = start_serve(env, port)
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/en/search?q=secret"
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert '<html lang="en"' in body
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    log = output.decode()
    assert "GET /en/search 200" in log
    # uvicorn's own access line starts with the client's "address:port - ".
    assert re.search(r"\d+\.\d+\.\d+\.\d+:\d+ - ", log) is None, log
    assert "secret" not in log
    assert (tmp_path / "var" / "hub.json").exists()


def test_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "frobnicate"], capture_output=True, timeout=30
    )
    assert result.returncode == 2


def test_bad_setting_is_reported_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "HUB_PORT": "eighty"},
    )
    assert result.returncode == 2
    assert "HUB_PORT" in result.stderr and "Traceback" not in result.stderr
