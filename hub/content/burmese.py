"""Burmese in the content files is Unicode: a line typed in Zawgyi is a problem for `hub check`.

Zawgyi reuses Unicode's Myanmar code points for other letters, so Zawgyi text shows as garbage
on every phone with a Unicode font (most phones since 2019) and search cannot find it. The
console converts or refuses it as it is typed; this catches a file written by hand. It reads
each line on its own, so one Zawgyi paragraph in a Unicode file is found: the same judgement as
the console's (`fields_in_unicode`, Google's myanmartools model). It is not run at start-up:
the model reads about 0.3 MB of Burmese a second, too slow for 1,000 articles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hub.content.loader import Problem
from hub.content.text import fields_in_unicode, has_myanmar

SUFFIXES = (".md", ".yml", ".yaml")


def zawgyi_lines(text: str) -> Iterator[int]:
    """The 1-based numbers of the lines of `text` whose Burmese reads as Zawgyi."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not has_myanmar(line):
            continue
        kept, unsure = fields_in_unicode({"line": line})
        if unsure or kept["line"] != line:
            yield number


def zawgyi_problems(root: Path) -> list[Problem]:
    """One error per content file under `root` with Zawgyi lines, naming the first few lines."""
    problems: list[Problem] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the loader reports a file it cannot read
        lines = list(zawgyi_lines(text))
        if lines:
            shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
            problems.append(
                Problem(
                    path.relative_to(root).as_posix(),
                    f"Burmese on line {shown} reads as Zawgyi; write it in Unicode "
                    "(the console converts Zawgyi when you paste it there)",
                )
            )
    return problems
