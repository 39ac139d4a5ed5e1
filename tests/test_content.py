"""`hub check`, invalid files that never take the site down, and the content model."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.content import load_library
from hub.content.markdown import Converter
from tests.conftest import CONTENT, FIXTURES, LOCALES, ClientFactory

BROKEN_LINES = [
    "articles/no-front-matter/en.md: error: cannot be read: does not start with a '---'",
    "articles/unknown-topic/en.md: error: unknown topic 'cooking'",
    "articles/broken-link/en.md: error: link '../no-such-article/' does not lead to a page",
    "articles/Bad_Slug: error: folder name must be lowercase words joined by '-'",
    "articles/only-thai: error: has no English source (en.md)",
    "articles/first-steps/th.md: warning: translates English revision 000000000000",
    "articles/first-steps/vi.md: error: 'updated' must be a date written YYYY-MM-DD",
    "services/bad-phone.yml: error: 'phone' must be written in E.164",
    "services/future-check.yml: error: 'verified_on' 2999-01-01 is in the future",
    "services/bad-country.yml: error: 'country' has 'XX', which is not an ISO 3166 country code",
    "services/bad-kind.yml: error: 'kind' must be one of",
    "services/not-yaml.yml: error: cannot be read",
    "topics.yml: error: topic 3: id 'at-work' is used twice",
    "services/hk-emergency.yml: error: id 'hk-emergency' is used by another file too",
    "services/unsourced-number.yml: error: no source states +85223020222",
    "services/wrong-source-number.yml: error: sources 1: '112' is not one of this entry's numbers",
    "services/future-source.yml: error: sources 1: 'date' 2999-01-01 is in the future",
    "services/old-source.yml: warning: +85223020222: its newest source is from 2019; add a source",
    "services/home-short-code.yml: warning: no number can be dialled by its readers abroad",
    "services/old-format.yml: error: 'source' is replaced by 'sources'",
    "services/impossible-date.yml: error: cannot be read: day is out of range for month",
]


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `hub` command."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_check_passes_on_the_starter_content() -> None:
    result = hub("check", str(CONTENT))
    assert result.returncode == 0, result.stdout
    assert " error: " not in result.stdout
    assert "0 errors" in result.stderr


def test_check_passes_on_a_valid_fixture() -> None:
    result = hub("check", str(FIXTURES / "valid"))
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    assert "1 articles, 1 services: 0 errors, 0 warnings" in result.stderr


def test_check_reports_every_broken_file_and_fails() -> None:
    result = hub("check", str(FIXTURES / "broken"))
    assert result.returncode == 1
    for line in BROKEN_LINES:
        assert line in result.stdout, line


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "content"
    shutil.copytree(FIXTURES / "valid", tree)
    (tree / "articles" / "first-steps" / "th.md").write_text(
        "---\ntitle: ขั้นตอนแรก\nsummary: ก่อน\nupdated: 2026-01-15\n"
        "source_revision: 000000000000\n---\nอ่าน\n",
        encoding="utf-8",
    )
    result = hub("check", str(tree))
    assert result.returncode == 0
    assert "warning: translates English revision 000000000000" in result.stdout


def test_check_on_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = hub("check", str(tmp_path / "nowhere"))
    assert result.returncode == 2


def test_revision_command_prints_the_english_body_revision() -> None:
    result = hub("revision", "first-steps", "--content", str(FIXTURES / "valid"))
    # The first 12 hex digits of the SHA-256 of the body (after the closing "---", trimmed):
    # the id a translator copies into `source_revision`.
    text = (FIXTURES / "valid/articles/first-steps/en.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1].strip()
    assert hashlib.sha256(body.encode()).hexdigest()[:12] == "629673e635ed"
    assert result.stdout.strip() == "629673e635ed"


def test_invalid_files_never_take_the_site_down(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hub.app"):
        client = make_client(FIXTURES / "broken")
    logged = caplog.text
    assert "services/bad-phone.yml: error: 'phone' must be written in E.164" in logged
    assert "articles/no-front-matter/en.md: error" in logged
    # The valid article and service are served; the invalid ones are not.
    assert "Read your contract." in client.get("/en/articles/first-steps").text
    assert client.get("/en/articles/no-front-matter").status_code == 404
    assert client.get("/en/services/bad-phone").status_code == 404
    assert client.get("/en/services/hk-emergency").status_code == 200
    # An invalid translation falls back to English rather than failing.
    vietnamese = client.get("/vi/articles/first-steps").text
    assert "Read your contract." in vietnamese


def test_a_missing_content_folder_still_serves_pages(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(tmp_path / "empty")
    assert client.get("/en/").status_code == 200
    assert client.get("/en/help").status_code == 200


def test_markdown_raw_html_and_images_are_not_rendered(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "content"
    shutil.copytree(FIXTURES / "valid", tree)
    (tree / "articles" / "first-steps" / "en.md").write_text(
        "---\ntitle: T\nsummary: S\ntopics: [at-work]\nupdated: 2026-01-15\n---\n"
        "<script>alert(1)</script>\n\n![x](https://tracker.example/pixel.png)\n\n"
        "[out](https://www.ilo.org/)\n",
        encoding="utf-8",
    )
    library, _ = load_library(tree, today=dt.date(2026, 6, 1))
    html = library.articles["first-steps"].source.html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert 'href="https://www.ilo.org/" rel="noreferrer noopener"' in html


def test_starter_content_has_enough_to_make_pages_meaningful() -> None:
    library, problems = load_library(CONTENT)
    assert [p for p in problems if p.level == "error"] == []
    assert len(library.articles) >= 4
    assert all("en" in a.texts for a in library.articles.values())
    for origin, destination in (("PH", "HK"), ("ID", "MY")):
        groups = dict(library.help_groups(origin, destination))
        assert groups["emergency"], (origin, destination)
        assert groups["home-hotline"], (origin, destination)
        assert groups["embassy"], (origin, destination)
    assert set(library.site.locales) == set(LOCALES)


# What markdown-it-py 4 gave readers before the fast renderer, written out by hand from its output.
NESTED_QUOTES = "<blockquote>\n" * 19 + "<blockquote></blockquote>\n" + "</blockquote>\n" * 19
NESTED_ITEMS = "<ul>\n<li>item\n" * 9 + "<ul>\n<li></li>\n</ul>\n" + "</li>\n</ul>\n" * 9
READERS_HTML = {
    "raw HTML is text": (
        "<script>alert(1)</script>\n\nHello <b>bold</b> <!-- note -->\n",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        "<p>Hello &lt;b&gt;bold&lt;/b&gt; &lt;!-- note --&gt;</p>\n",
    ),
    "images are links": (
        'See ![a map](https://example.org/map.png "Map") and ![logo](../logo.png).\n',
        '<p>See !<a href="https://example.org/map.png" title="Map" rel="noreferrer noopener">'
        'a map</a> and !<a href="../logo.png">logo</a>.</p>\n',
    ),
    "links": (
        'Read [the help page](../help), [the law](https://example.org/a?b=c&d=e "Law"),\n'
        "[a mirror](//mirror.example/x), [write](mailto:help@example.org) and "
        "[bad](javascript:alert(1)).\n",
        '<p>Read <a href="../help">the help page</a>, <a href="https://example.org/a?b=c&amp;d=e"'
        ' title="Law" rel="noreferrer noopener">the law</a>,\n<a href="//mirror.example/x" '
        'rel="noreferrer noopener">a mirror</a>, <a href="mailto:help@example.org">write</a> and '
        "[bad](javascript:alert(1)).</p>\n",
    ),
    "a host in another script": (
        "Ask [the office](https://例え.jp/ä).\n",
        '<p>Ask <a href="https://xn--r8jz45g.jp/%C3%A4" rel="noreferrer noopener">the office</a>'
        ".</p>\n",
    ),
    "table": (
        "| Day | Hours |\n|:----|------:|\n| Mon | **8** |\n| Sun |\n",
        '<table>\n<thead>\n<tr>\n<th style="text-align:left">Day</th>\n'
        '<th style="text-align:right">Hours</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n'
        '<td style="text-align:left">Mon</td>\n<td style="text-align:right"><strong>8</strong>'
        '</td>\n</tr>\n<tr>\n<td style="text-align:left">Sun</td>\n'
        '<td style="text-align:right"></td>\n</tr>\n</tbody>\n</table>\n',
    ),
    "nested lists": (
        "- **Singapore:** first\n  - second *level*\n    1. third\n    2. again\n\n"
        "       with a paragraph\n- back\n",
        "<ul>\n<li><strong>Singapore:</strong> first\n<ul>\n<li>second <em>level</em>\n<ol>\n"
        "<li>\n<p>third</p>\n</li>\n<li>\n<p>again</p>\n<p>with a paragraph</p>\n</li>\n</ol>\n"
        "</li>\n</ul>\n</li>\n<li>back</li>\n</ul>\n",
    ),
    "emphasis beside a currency sign": ("*£*5 and *€*10\n", "<p>*£*5 and *€*10</p>\n"),
    "500 nested quotes": (">" * 500 + " deep\n", NESTED_QUOTES),
    "500 nested list items": ("".join("  " * i + "- item\n" for i in range(500)), NESTED_ITEMS),
}


@pytest.mark.parametrize("body", READERS_HTML, ids=list(READERS_HTML))
def test_markdown_html_is_what_readers_got_before(body: str) -> None:
    source, expected = READERS_HTML[body]
    assert Converter()(source).html == expected


def test_markdown_plain_text_and_links_come_from_the_same_reading() -> None:
    rendered = Converter()(
        'See [the help page](../help): **call** now &amp; [again](../help "t").\n\n'
        "## Next\n\n- one\n- two  \nthree\n"
    )
    assert rendered.plain == "See the help page : call now & again . Next one two three"
    assert rendered.links == ("../help", "../help")


def _deep_tree(tmp_path: Path, relative: str, text: str) -> Path:
    tree = tmp_path / "content"
    shutil.copytree(FIXTURES / "valid", tree)
    (tree / relative).write_text(text, encoding="utf-8")
    return tree


DEEP = "[" * 1000 + "]" * 1000
# One file of each kind nested 1,000 levels deep; and what still serves beside it.
DEEP_FILES = {
    "site.yml": (f"names: {DEEP}\nlocales: [en]\n", "/en/articles/first-steps"),
    "topics.yml": (f"- id: at-work\n  title: {{en: {DEEP}}}\n", "/en/articles/first-steps"),
    "services/hk-emergency.yml": (f"kind: emergency\nname: {DEEP}\n", "/en/articles/first-steps"),
    "articles/first-steps/en.md": (
        f"---\ntitle: {DEEP}\nupdated: 2026-01-15\n---\nBody\n",
        "/en/services/hk-emergency",
    ),
    "articles/first-steps/th.md": (
        f"---\ntitle: ขั้นตอน\nsource_revision: {DEEP}\n---\nเนื้อหา\n",
        "/th/articles/first-steps",
    ),
}


@pytest.mark.parametrize("relative", DEEP_FILES, ids=list(DEEP_FILES))
def test_a_file_nested_a_thousand_levels_deep_is_its_own_problem(
    relative: str, tmp_path: Path, make_client: ClientFactory
) -> None:
    text, still_served = DEEP_FILES[relative]
    tree = _deep_tree(tmp_path, relative, text)
    result = hub("check", str(tree))
    assert result.returncode == 1, result.stderr
    assert f"{relative}: error: " in result.stdout
    client = make_client(tree)
    assert client.get("/en/").status_code == 200
    served = client.get(still_served)
    assert served.status_code == 200
    assert "Read your contract." in served.text or "999" in served.text


def test_a_body_nested_a_thousand_levels_deep_is_served(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    body = ">" * 1000 + " deep\n\n" + "- " * 1000 + "item\n"
    tree = _deep_tree(
        tmp_path,
        "articles/first-steps/en.md",
        f"---\ntitle: Deep\nsummary: S\ntopics: [at-work]\nupdated: 2026-01-15\n---\n{body}",
    )
    result = hub("check", str(tree))
    assert result.returncode == 0, result.stdout
    page = make_client(tree).get("/en/articles/first-steps").text
    assert NESTED_QUOTES in page
    assert "<ul>\n<li>\n" * 9 + "<ul>\n<li></li>\n</ul>\n" + "</li>\n</ul>\n" * 9 in page


def test_a_huge_file_and_odd_keys_are_problems_of_their_file(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    tree = _deep_tree(
        tmp_path, "services/huge.yml", "kind: cso\ndescription: {en: " + "x" * 300_000 + "}\n"
    )
    service = (tree / "services" / "hk-emergency.yml").read_text(encoding="utf-8")
    (tree / "services" / "odd-key.yml").write_text(
        service.replace('numbers: ["999"]', 'numbers: ["999"]\n    1: one\n    2024-01-01: two'),
        encoding="utf-8",
    )
    result = hub("check", str(tree))
    assert result.returncode == 1
    assert "services/huge.yml: error: is larger than 262,144 bytes" in result.stdout
    assert "services/odd-key.yml: error: sources 1: unknown key '1'" in result.stdout
    client = make_client(tree)
    assert client.get("/en/services/hk-emergency").status_code == 200
    assert client.get("/en/services/huge").status_code == 404


def test_a_link_to_a_page_with_a_trailing_slash_is_reported(content_copy: Path) -> None:
    """Only /<locale>/ ends with a slash; `other-article/` would cost the reader a redirect."""
    article = content_copy / "articles" / "coming-home" / "en.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(text + "\nSee [your passport](keep-your-passport/).\n", encoding="utf-8")
    _, problems = load_library(content_copy)
    messages = [str(p) for p in problems if p.level == "error"]
    assert messages == [
        "articles/coming-home/en.md: error: link 'keep-your-passport/' does not lead to a page "
        "of the hub"
    ]
    article.write_text(text + "\nSee [your passport](keep-your-passport).\n", encoding="utf-8")
    assert [p for p in load_library(content_copy)[1] if p.level == "error"] == []
