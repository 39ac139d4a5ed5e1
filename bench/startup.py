"""Start-up time of the app's lifespan, per phase, on the starter tree and a generated tree.

Each run is a fresh process that builds the app with `create_app` and enters its real lifespan
through Starlette's TestClient, with the lifespan's steps (the names hub.app and hub.reload
call: ContentCache, load_tree, I18n, open_store, tree_version, render_service_worker) wrapped
in timers; whatever else the lifespan does is "other". The hub serves once the lifespan ends;
then a search is asked at once (its index made on demand while the warm-up runs), and the run
waits for the warm-up (every body rendered, links checked, every index made, the content cache
saved). Each tree is started twice per run, in one new data folder: the first start finds no
content cache there (a new deployment, or every file changed), the restart finds the one the
first start wrote (a restart, an upgrade that changed no parsing code, or a few files edited).
Budget: the lifespan at most 3 s with 1,000 articles x 7 locales, on each. Also printed:
importing hub.app, create_app (static files), the lifespan's CPU time (the wall time is
inflated on a shared machine), the first search, the warm-up, RSS and the cache file's size.
HUB_CONTENT_DIR, when set, is the one tree measured; otherwise the starter tree and a tree of
N generated articles (bench/tree.py) are.
Run: .venv/bin/python bench/startup.py [--runs 3] [--articles 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
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
    "ContentCache",
    "load_tree",
    "I18n",
    "open_store",
    "tree_version",
    "render_service_worker",
)
# A search right after the lifespan, while the warm-up runs (its index made on demand).
FIRST_SEARCH = "/en/search?q=passport"
STARTS = (("first", "first start, no content cache"), ("restart", "restart, content cache kept"))


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _once(content: Path, data_dir: Path) -> dict[str, float]:
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

    import hub.reload

    # The content's steps are hub/reload.py's (the lifespan's first load is a reload's code);
    # the store's is hub/app.py's.
    for module in (hub.app, hub.reload):
        for name in PHASES:
            if hasattr(module, name):
                setattr(module, name, timed(name, getattr(module, name)))
    import hub.content.cache

    settings = dataclasses.replace(Settings.from_env(), content_dir=content, data_dir=data_dir)
    start = time.perf_counter()
    app = hub.app.create_app(settings)
    created = time.perf_counter() - start
    rss_before = _rss_mb()
    start, start_cpu = time.perf_counter(), time.process_time()
    with TestClient(app) as client:
        lifespan = time.perf_counter() - start
        lifespan_cpu = time.process_time() - start_cpu
        rss_after = _rss_mb()
        for path in ("/en/", FIRST_SEARCH):
            asked = time.perf_counter()
            response = client.get(path)
            if path == FIRST_SEARCH:
                first_search = time.perf_counter() - asked
            # Any article on passports: on a generated tree the copies of the starter's two
            # passport articles share the first page of results.
            wanted = r'href="/en/articles/[a-z0-9-]*passport' if path == FIRST_SEARCH else "</html>"
            if response.status_code != 200 or not re.search(wanted, response.text):
                raise SystemExit(f"{path} answered {response.status_code} after start-up")
        assert client.portal is not None
        client.portal.call(app.state.warmed.wait)
        warmed = time.perf_counter() - start
        warmed_cpu = time.process_time() - start_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"import": imported, "create_app": created, **spent}
    result["other"] = lifespan - sum(spent.values())
    result["lifespan"] = lifespan
    result["lifespan_cpu"] = lifespan_cpu
    result["first_search"] = first_search
    result["warmed"] = warmed
    result["warmed_cpu"] = warmed_cpu
    result["rss_before_lifespan_mb"] = rss_before
    result["rss_after_lifespan_mb"] = rss_after
    result["peak_rss_mb"] = peak
    cache_file = data_dir / "cache" / "content.marshal"
    result["cache_mb"] = cache_file.stat().st_size / 1e6 if cache_file.exists() else 0.0
    return result


def _start(content: Path, data_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--once", str(content), "--data", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _measure(content: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median of each figure over `runs` pairs of fresh processes: a first start in a new
    data folder, then a restart in the same folder."""
    results: dict[str, list[dict[str, float]]] = {key: [] for key, _ in STARTS}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            for key, _ in STARTS:
                results[key].append(_start(content, Path(tmp)))
    return {
        key: {name: statistics.median(r[name] for r in found) for name in found[0]}
        for key, found in results.items()
    }


def _report(label: str, measured: dict[str, dict[str, float]], runs: int) -> bool:
    print(f"{label} (median of {runs} runs)")
    starts = [figures for key, figures in measured.items()]
    print(f"  {'':<24}" + "".join(f"{title.split(',')[0]:>14}" for _, title in STARTS))

    def row(name: str, values: list[str], note: str = "") -> None:
        print(f"  {name:<24}" + "".join(f"{value:>14}" for value in values) + note)

    for key in ("import", "create_app", *PHASES, "other"):
        row(key, [f"{figures[key] * 1000:.0f} ms" for figures in starts])
    verdicts = ["met" if figures["lifespan"] <= BUDGET_S else "NOT met" for figures in starts]
    row("lifespan total", [f"{figures['lifespan'] * 1000:.0f} ms" for figures in starts])
    row(f"budget {BUDGET_S * 1000:.0f} ms", verdicts)
    row(
        "lifespan CPU time",
        [f"{f['lifespan_cpu'] * 1000:.0f} ms" for f in starts],
        "  (all threads of this process; not the forked readers')",
    )
    row(
        "first search",
        [f"{f['first_search'] * 1000:.0f} ms" for f in starts],
        f"  ({FIRST_SEARCH})",
    )
    row(
        "warmed up",
        [f"{f['warmed'] * 1000:.0f} ms" for f in starts],
        "  (from the lifespan's start: bodies rendered, links checked, indexes, cache saved)",
    )
    row("warm-up CPU time", [f"{f['warmed_cpu'] * 1000:.0f} ms" for f in starts])
    row("RSS after lifespan", [f"{f['rss_after_lifespan_mb']:.0f} MB" for f in starts])
    row("peak RSS", [f"{f['peak_rss_mb']:.0f} MB" for f in starts])
    row("content cache file", [f"{f['cache_mb']:.1f} MB" for f in starts])
    return all(verdict == "met" for verdict in verdicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--once", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(_once(args.once, args.data)))
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
