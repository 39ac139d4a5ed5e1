"""Write a large content tree made from the starter content, for benchmarks.

The tree holds the starter site.yml, topics.yml and services/, and N articles in every locale the
starter has: copies of the starter articles under new slugs, each with a paragraph of its own
(words drawn from the starter text of its locale and a coined word no other article has), links
to other articles pointing at the copies of the same round, and translations recording the
revision of their new English body, so `hub check` finds no error and no outdated translation.
Run: .venv/bin/python bench/tree.py DEST [N]   (N defaults to 1000)
"""

from __future__ import annotations

import random
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.content.markdown import revision, split_front_matter

STARTER = Path(__file__).resolve().parent.parent / "content"
# An inline Markdown link: [text](target), the only kind the starter articles use.
LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
# Tokens carrying Markdown syntax would make links, emphasis or lists in the added paragraph.
MARKUP = re.compile(r"[\[\]()*_#|`<>!/:\\]|^\d+\.$|^[-+]$")
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "du", "fe", "gi", "ho")
PARAGRAPH_WORDS = 40
# libyaml's safe loader and dumper where PyYAML has them: the same subset, far faster.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _slug(base: str, round_: int) -> str:
    """The slug of copy `round_` (0 keeps the starter slug) of starter article `base`."""
    return base if round_ == 0 else f"{base}-{round_ + 1}"


def _coined(number: int) -> str:
    """A made-up word, different for every number, so each article has a word of its own."""
    letters = []
    number += len(SYLLABLES)  # at least two syllables
    while number:
        number, digit = divmod(number, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
    return "".join(letters)


def _vocabulary(starter: Path, starters: list[str]) -> dict[str, list[str]]:
    """Plain words of the starter article bodies, per locale."""
    words: dict[str, list[str]] = {}
    for slug in starters:
        for path in sorted((starter / "articles" / slug).glob("*.md")):
            _, body = split_front_matter(path.read_text(encoding="utf-8"))
            bucket = words.setdefault(path.stem, [])
            bucket.extend(w for w in body.split() if not MARKUP.search(w))
    return words


def _relink(body: str, round_: int, starters: list[str], made: set[str]) -> str:
    """Point links at starter articles to this round's copies (or round 0's, or unlink them)."""

    def replace(match: re.Match[str]) -> str:
        text, href = match.group(1), match.group(2)
        if href.startswith(("http://", "https://", "mailto:", "tel:", "#")):
            return match.group(0)
        parts = href.split("/")
        for index, part in enumerate(parts):
            if part in starters:
                for candidate in (_slug(part, round_), part):
                    if candidate in made:
                        parts[index] = candidate
                        return f"[{text}]({'/'.join(parts)})"
                return text
        return match.group(0)

    return LINK.sub(replace, body)


def _write(path: Path, meta: dict[str, Any], body: str) -> None:
    head = yaml.dump(meta, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=10_000)
    path.write_text(f"---\n{head}---\n{body}", encoding="utf-8")


def generate_tree(dest: Path, articles: int = 1000, *, starter: Path = STARTER) -> Path:
    """Write a content tree with `articles` articles (all starter locales each) into `dest`.

    `dest` is created; raises FileExistsError if it exists and is not empty. Returns `dest`.
    """
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("site.yml", "topics.yml"):
        shutil.copy2(starter / name, dest / name)
    shutil.copytree(starter / "services", dest / "services")
    starters = sorted(p.name for p in (starter / "articles").iterdir() if (p / "en.md").is_file())
    vocabulary = _vocabulary(starter, starters)
    plan = [(n, *divmod(n, len(starters))) for n in range(articles)]
    made = {_slug(starters[index], round_) for _, round_, index in plan}
    for number, round_, index in plan:
        base = starters[index]
        slug = _slug(base, round_)
        folder = dest / "articles" / slug
        folder.mkdir(parents=True)
        sources = sorted((starter / "articles" / base).glob("*.md"))
        # English first: the translations record the revision of its new body.
        sources.sort(key=lambda p: p.stem != "en")
        english_revision = ""
        for path in sources:
            locale = path.stem
            head, body = split_front_matter(path.read_text(encoding="utf-8"))
            meta = yaml.load(head, Loader=LOADER)
            rng = random.Random(f"{number}/{locale}")
            pool = vocabulary.get(locale) or vocabulary["en"]
            words = [rng.choice(pool) for _ in range(PARAGRAPH_WORDS)]
            words.insert(rng.randrange(len(words)), _coined(number))
            body = _relink(body, round_, starters, made).rstrip("\n")
            body = f"{body}\n\n{' '.join(words)}\n"
            if round_:
                meta["title"] = f"{meta['title']} ({round_ + 1})"
            if locale == "en":
                english_revision = revision(body)
            else:
                meta["source_revision"] = english_revision
            _write(folder / path.name, meta, body)
    return dest


def main(argv: list[str]) -> int:
    """CLI: DEST [N]."""
    if not 1 <= len(argv) <= 2:
        sys.stderr.write("usage: python bench/tree.py DEST [N]\n")
        return 2
    count = int(argv[1]) if len(argv) == 2 else 1000
    dest = generate_tree(Path(argv[0]), count)
    sys.stdout.write(f"{dest}: {count} articles\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
