"""The benchmark harness still runs: one short case over loopback, hub and bare side by side.

Nothing here is timed; the figures themselves belong to `make bench`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import PROJECT_ROOT


@pytest.mark.slow
def test_pages_bench_prints_a_ratio_line_with_both_servers_logging(tmp_path: Path) -> None:
    # A small tree, given as `hub serve` is given one: through the environment.
    tree = PROJECT_ROOT / "tests" / "fixtures" / "valid"
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "var"), "HUB_CONTENT_DIR": str(tree)}
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "pages.py"),
            "--quick",
            "--case",
            "sw",
            "--no-weight",
            "--rounds",
            "1",
            "--seconds",
            "0.2",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    out = done.stdout
    assert f"content {tree}\n" in out, out
    # 0: budget met, 1: not met; anything else is the harness failing.
    assert done.returncode in (0, 1), out + done.stderr
    assert re.search(r"^/sw\.js +\d+ +\d+ +\d+\.\d\d +>= 0\.6 +(met|not met)$", out, re.M), out
    # The bare app answered the hub's very bytes, and nothing else went wrong.
    assert "  ! " not in out, out
    for server in ("hub", "bare"):
        logged = rf"^{server}: (\d+) hub\.access lines logged for (\d+) requests$"
        found = re.search(logged, out, re.M)
        assert found is not None, out
        lines, requests = int(found[1]), int(found[2])
        assert requests > 0 and lines >= requests, out
    assert re.search(r"^Load client's ceiling: \d+ req/s", out, re.M), out
