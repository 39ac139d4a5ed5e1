"""Start-up time of the app's lifespan, per phase, on the starter tree and a generated tree.

Each run is a fresh process that builds the app with `create_app` and enters its real lifespan
through Starlette's TestClient, with the lifespan's steps (the names hub.app calls: load_library,
I18n, build_index, open_store, tree_version, render_service_worker) wrapped in timers; whatever
else the lifespan does is "other". Budget: the lifespan at most 3 s with 1,000 articles x 7
locales. Also printed: importing hub.app, create_app (static files), the lifespan's CPU time
(the wall time is inflated on a shared machine), and peak RSS.
HUB_CONTENT_DIR, when set, is the one tree measured; otherwise the starter tree and a tree of
N generated articles (bench/tree.py) are.
Run: .venv/bin/python bench/startup.py [--runs 3] [--articles 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_S = 3.0
# The steps of the lifespan, by the name hub.app imports them under.
PHASES = (
    "load_library",
    "I18n",
    "build_index",
    "open_store",
    "tree_version",
    "render_service_worker",
)


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _once(content: Path) -> dict[str, float]:
    """Start the app once in this process; seconds per phase, and RSS in MB."""
    began = time.perf_counter()
    from starlette.testclient import TestClient

    import hub.app
    from hub.settings import Settings

    imported = time.perf_counter() - began
    spent = dict.fromkeys(PHASES, 0.0)

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    for name in PHASES:
        if hasattr(hub.app, name):
            setattr(hub.app, name, timed(name, getattr(hub.app, name)))
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(Settings.from_env(), content_dir=content, data_dir=Path(tmp))
        start = time.perf_counter()
        app = hub.app.create_app(settings)
        created = time.perf_counter() - start
        rss_before = _rss_mb()
        start, start_cpu = time.perf_counter(), time.process_time()
        with TestClient(app) as client:
            lifespan = time.perf_counter() - start
            lifespan_cpu = time.process_time() - start_cpu
            rss_after = _rss_mb()
            status = client.get("/en/").status_code
            if status != 200:
                raise SystemExit(f"/en/ answered {status} after start-up")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"import": imported, "create_app": created, **spent}
    result["other"] = lifespan - sum(spent.values())
    result["lifespan"] = lifespan
    result["lifespan_cpu"] = lifespan_cpu
    result["rss_before_lifespan_mb"] = rss_before
    result["rss_after_lifespan_mb"] = rss_after
    result["peak_rss_mb"] = peak
    return result


def _measure(content: Path, runs: int) -> dict[str, float]:
    """Median of each figure over `runs` fresh processes."""
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--once", str(content)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def _report(label: str, figures: dict[str, float], runs: int) -> bool:
    print(f"{label} (median of {runs} runs)")
    for key in ("import", "create_app", *PHASES, "other"):
        print(f"  {key:<24}{figures[key] * 1000:>9.0f} ms")
    met = figures["lifespan"] <= BUDGET_S
    verdict = "met" if met else "NOT met"
    print(
        f"  {'lifespan total':<24}{figures['lifespan'] * 1000:>9.0f} ms"
        f"  (budget {BUDGET_S * 1000:.0f} ms: {verdict})"
    )
    print(f"  {'lifespan CPU time':<24}{figures['lifespan_cpu'] * 1000:>9.0f} ms  (all threads)")
    print(
        f"  RSS {figures['rss_before_lifespan_mb']:.0f} MB before the lifespan, "
        f"{figures['rss_after_lifespan_mb']:.0f} MB after, peak {figures['peak_rss_mb']:.0f} MB"
    )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--once", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(_once(args.once)))
        return 0
    from bench.tree import generate_tree

    chosen = os.environ.get("HUB_CONTENT_DIR")
    if chosen:
        count = sum(1 for _ in (Path(chosen) / "articles").glob("*/en.md"))
        label = f"{chosen}: {count} articles"
        return 0 if _report(label, _measure(Path(chosen), args.runs), args.runs) else 1
    ok = _report("starter tree", _measure(ROOT / "content", args.runs), args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        tree = generate_tree(Path(tmp) / "content", args.articles)
        label = f"generated tree: {args.articles} articles x 7 locales"
        ok = _report(label, _measure(tree, args.runs), args.runs) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
