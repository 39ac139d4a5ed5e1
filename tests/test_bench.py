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


def run_pages_bench(args: list[str], env: dict[str, str], timeout: float) -> str:
    """Run bench/pages.py with these flags; "exit N" and its printout. N is 0 or 1 only."""
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "pages.py"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    # 0: every budget met, 1: one not met; anything else is the harness itself failing.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return f"exit {done.returncode}\n{done.stdout}"


@pytest.mark.slow
def test_pages_bench_prints_a_ratio_line_with_both_servers_logging(tmp_path: Path) -> None:
    # A small tree, given as `hub serve` is given one: through the environment.
    tree = PROJECT_ROOT / "tests" / "fixtures" / "valid"
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "var"), "HUB_CONTENT_DIR": str(tree)}
    args = ["--quick", "--case", "sw", "--no-weight", "--rounds", "1", "--seconds", "0.2"]
    out = run_pages_bench(args, env, timeout=90)
    assert f"content {tree}\n" in out, out
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


@pytest.mark.slow
def test_every_locales_first_visit_and_every_pages_first_round_trip_are_within_budget(
    tmp_path: Path,
) -> None:
    # The design's budgets, on the shipped content, every locale: a whole first visit (HTML,
    # CSS, JS, icons, manifest, worker) at most 25 KB on the wire with headers, and the first
    # round trip of every page a reader can reach at most 14 KB. Weighed over a real socket,
    # as a phone fetches them; the totals are read from the printout and compared here.
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "var")}
    env.pop("HUB_CONTENT_DIR", None)
    out = run_pages_bench(["--weight-only"], env, timeout=600)
    locales = ("en", "fil", "id", "vi", "th", "km", "my")
    visits = dict(re.findall(r"^([a-z]{2,3}) +\d+ +(\d+) +\d+ +(?:yes|NO)$", out, re.M))
    assert sorted(visits) == sorted(locales), out
    for locale, total in visits.items():
        assert 20_000 < int(total) <= 25_000, f"{locale}: first visit {total} B\n{out}"
    trips = re.findall(r"^([a-z]{2,3}) +(\d+) +(\d+) +(\d+)  (/\S+)$", out, re.M)
    assert sorted(t[0] for t in trips) == sorted(locales), out
    for locale, pages, over, largest, page in trips:
        # Every article, entry and main page of the shipped tree, not a handful.
        assert int(pages) > 200, f"{locale}: only {pages} pages crawled\n{out}"
        assert int(over) == 0 and int(largest) <= 14_000, f"{locale}: {page} {largest} B\n{out}"
    assert out.startswith("exit 0\n"), out
