"""Query time of the search index, in process: the starter tree against a 1,000-article tree.

For English, Vietnamese, Thai, Khmer and Burmese queries with many, few and no hits, prints the
time of the results page the search view asks for (SearchIndex.page: page 1, corridor PH->HK),
on each tree, and their ratio against the budget: at 1,000 articles within 2x of the starter
tree. Each time is the best of several rounds of repeated calls; nothing is cached between calls.
Also prints the time of building all seven indexes (wall and CPU, with a Python loop of 10^7
steps as a yardstick of the machine), their memory as tracemalloc counts it, and the time of
the offline export, which folds the texts again because the index keeps no folded copy.
No sockets: this measures the index itself; bench/pages.py measures the search page served.
The large tree is written by bench/tree.py into a temporary folder, or read from --tree.
Run: .venv/bin/python bench/search.py [--articles 1000] [--tree DIR]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tree import generate_tree
from hub.content import load_library
from hub.content.library import Library
from hub.content.search import SearchIndex, build_index

ROOT = Path(__file__).resolve().parent.parent
BUDGET_RATIO = 2.0
CORRIDOR = ("PH", "HK")
# (locale, query, what it finds on the starter tree): words of the starter content; the few-hit
# ones are in directory entries, which the large tree does not copy.
QUERIES = (
    ("en", "passport", "many"),
    ("en", "passport fees", "many"),
    ("en", "bethune", "few"),
    ("en", "zzqxj", "none"),
    ("vi", "hộ chiếu", "many"),
    ("vi", "bethune", "few"),
    ("vi", "xyzzy", "none"),
    ("th", "หนังสือเดินทาง", "many"),
    ("th", "นครดูไบ", "few"),
    ("th", "ฆฆฆฆ", "none"),
    ("km", "លិខិតឆ្លងដែន", "many"),
    ("km", "និងកុមារ", "few"),
    ("km", "ឈឈឈឈ", "none"),
    ("my", "နိုင်ငံကူးလက်မှတ်", "many"),
    ("my", "မီးသတ်", "few"),
    ("my", "ဿဿဿ", "none"),
)
ROUNDS = 7
ROUND_SECONDS = 0.05


def query_ms(index: SearchIndex, query: str) -> tuple[float, int]:
    """Best time of one results page in ms, over ROUNDS rounds; and the number of matches."""
    found = index.page(query, 1, *CORRIDOR)
    best = float("inf")
    for _ in range(ROUNDS):
        calls, start = 0, time.perf_counter()
        while True:
            index.page(query, 1, *CORRIDOR)
            calls += 1
            spent = time.perf_counter() - start
            if spent >= ROUND_SECONDS or calls >= 10_000:
                break
        best = min(best, spent / calls)
    return best * 1000, found.total + found.elsewhere


def yardstick() -> float:
    """CPU seconds of a plain Python loop of 10^7 additions: how fast this machine runs Python."""
    start = time.process_time()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.process_time() - start


def build_all(library: Library) -> tuple[dict[str, SearchIndex], float, float]:
    """The seven indexes, built as the app's lifespan builds them; wall and CPU seconds."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    indexes = {locale: build_index(library, locale) for locale in library.site.locales}
    return indexes, time.perf_counter() - wall, time.process_time() - cpu


def index_memory(library: Library) -> tuple[float, float]:
    """MB that tracemalloc counts for the seven indexes, kept and at the peak of building them
    (their raw texts belong to the library and are not counted)."""
    gc.collect()
    tracemalloc.start()
    indexes, _, _ = build_all(library)
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del indexes
    return kept / 1e6, peak / 1e6


def load(content: Path, label: str) -> tuple[Library, dict[str, SearchIndex]]:
    """The library of a tree and its indexes; prints what building them cost."""
    start = time.perf_counter()
    library, _ = load_library(content)
    loaded = time.perf_counter() - start
    indexes, wall, cpu = build_all(library)
    kept, peak = index_memory(library)
    start = time.process_time()
    indexes["my"].export()  # the largest: folds its texts, which the index does not keep
    exported = time.process_time() - start
    sys.stdout.write(
        f"{label}: {len(library.articles)} articles x {len(library.site.locales)} locales, "
        f"{len(library.services)} services (loaded in {loaded:.1f} s)\n"
        f"  building the 7 indexes: {wall:.2f} s wall, {cpu:.2f} s CPU\n"
        f"  memory (tracemalloc): {kept:.1f} MB kept, {peak:.1f} MB at the peak of building\n"
        f"  export() of my, for /api/search/my.json (once per process): {exported:.2f} s CPU\n"
    )
    return library, indexes


def main(argv: list[str]) -> int:
    """Build both trees' indexes, time every query on each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--tree", type=Path, help="an existing large tree (bench/tree.py)")
    args = parser.parse_args(argv)
    sys.stdout.write(f"yardstick: a Python loop of 10^7 steps takes {yardstick():.2f} s CPU\n")
    _, small = load(ROOT / "content", "starter tree")
    with tempfile.TemporaryDirectory() as tmp:
        tree = args.tree or generate_tree(Path(tmp) / "content", args.articles)
        _, large = load(tree, "large tree")
    sys.stdout.write(
        f"\nresults page 1, corridor {CORRIDOR[0]}->{CORRIDOR[1]}; budget: large within "
        f"{BUDGET_RATIO:g}x of starter\n"
        f"{'locale':6} {'query':20} {'kind':5} {'hits':>11} {'starter ms':>10} "
        f"{'large ms':>9} {'ratio':>6}  budget\n"
    )
    worst = 0.0
    for locale, query, kind in QUERIES:
        small_ms, small_hits = query_ms(small[locale], query)
        large_ms, large_hits = query_ms(large[locale], query)
        ratio = large_ms / small_ms
        worst = max(worst, ratio)
        verdict = "met" if ratio <= BUDGET_RATIO else "MISSED"
        hits = f"{small_hits}/{large_hits}"
        sys.stdout.write(
            f"{locale:6} {query:20} {kind:5} {hits:>11} {small_ms:10.3f} {large_ms:9.3f} "
            f"{ratio:6.2f}  {verdict}\n"
        )
    sys.stdout.write(f"worst ratio {worst:.2f} (budget {BUDGET_RATIO:g})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
