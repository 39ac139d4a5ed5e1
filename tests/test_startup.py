"""Start-up at scale: the generated benchmark tree is valid content, and corridor lists are
worked out once without ever being shared with a caller that changes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.tree import generate_tree
from hub.content import load_library
from tests.conftest import CONTENT


def test_the_generated_tree_passes_hub_check(tmp_path: Path) -> None:
    # 40 articles: every starter article, then copies whose links must point at copies.
    tree = generate_tree(tmp_path / "content", 40)
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check", str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert "40 articles" in result.stderr and " 0 errors" in result.stderr
    assert "translates English revision" not in result.stdout
    copy = (tree / "articles" / "keep-your-passport-2" / "th.md").read_text(encoding="utf-8")
    assert "(2)" in copy.split("---")[1]
    bodies = {
        path.read_text(encoding="utf-8").split("---", 2)[2]
        for path in (tree / "articles").glob("*/en.md")
    }
    assert len(bodies) == 40


def test_corridor_lists_are_the_same_on_every_call_and_never_shared() -> None:
    library, _ = load_library(CONTENT)
    site = library.site
    for topic in library.topics:
        for origin in (None, *site.origins):
            for destination in (None, *site.destinations):
                expected = [
                    a
                    for a in library.articles.values()
                    if topic.id in a.topics and a.fits(origin, destination)
                ]
                first = library.articles_in(topic.id, origin, destination)
                assert first == expected
                first.clear()
                assert library.articles_in(topic.id, origin, destination) == expected
    groups = library.help_groups("PH", "HK")
    names = [(group, [s.id for s in services]) for group, services in groups]
    groups[0][1].clear()
    groups.clear()
    again = library.help_groups("PH", "HK")
    assert [(group, [s.id for s in services]) for group, services in again] == names
    assert names and all(ids for _, ids in names)
