"""Burmese in the content is Unicode (issue 13, point 4): no content file holds Zawgyi, read
line by line with Google's myanmartools directly, and `hub check` refuses a file that does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from myanmartools import ZawgyiDetector

from tests.conftest import CONTENT

# Zawgyi typed by hand: "keep your passport yourself" and "the embassy's phone number has
# changed" (the Unicode spellings are in tests/test_alerts.py).
ZAWGYI_BODY = "သင္၏ ပတ္စ္ပို႔ကို သင္ကိုယ္တိုင္ ထိန္းသိမ္းထားပါ"
ZAWGYI_NEWS = "သံ႐ုံး၏ ဖုန္းနံပါတ္ ေျပာင္းလဲသြားပါၿပီ။"
# myanmartools' documented reading: above 0.95 the text is Zawgyi.
ZAWGYI_ABOVE = 0.95


def burmese_lines(root: Path) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".md", ".yml") or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search("[\u1000-\u109f]", line):
                found.append((path.relative_to(root).as_posix(), number, line))
    return found


def test_no_content_file_holds_zawgyi() -> None:
    detector = ZawgyiDetector()
    lines = burmese_lines(CONTENT)
    # Every article's Burmese translation, the site's names and every directory entry.
    assert len({path for path, _, _ in lines}) >= 150
    zawgyi = [
        (path, number)
        for path, number, line in lines
        if detector.get_zawgyi_probability(line) > ZAWGYI_ABOVE
    ]
    assert zawgyi == []


def hub_check(content: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "check", str(content)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HUB_DATA_DIR": str(tmp_path / "var")},
    )


@pytest.mark.slow
def test_hub_check_refuses_zawgyi_in_an_article_and_in_a_directory_entry(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    clean = hub_check(content, tmp_path)
    assert "Zawgyi" not in clean.stdout and clean.returncode == 0, clean.stdout

    article = content / "articles" / "keep-your-passport" / "my.md"
    lines = article.read_text(encoding="utf-8").splitlines()
    # One Zawgyi paragraph among Unicode ones (line 12 of the file).
    lines.insert(11, ZAWGYI_BODY)
    article.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entry = content / "services" / "mm-mol-hotline.yml"
    text = entry.read_text(encoding="utf-8")
    burmese_name = re.search(r"^  my: (.+)$", text, re.M)
    assert burmese_name is not None
    entry.write_text(text.replace(burmese_name.group(1), ZAWGYI_NEWS, 1), encoding="utf-8")
    name_line = text[: burmese_name.start()].count("\n") + 1

    result = hub_check(content, tmp_path)
    assert result.returncode == 1
    zawgyi = [line for line in result.stdout.splitlines() if "Zawgyi" in line]
    assert zawgyi == [
        "articles/keep-your-passport/my.md: error: Burmese on line 12 reads as Zawgyi; write it "
        "in Unicode (the console converts Zawgyi when you paste it there)",
        f"services/mm-mol-hotline.yml: error: Burmese on line {name_line} reads as Zawgyi; "
        "write it in Unicode (the console converts Zawgyi when you paste it there)",
    ]
