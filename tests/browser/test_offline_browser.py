"""The offline, installable app in the system Chromium: worker, offline pages, packs, search,
updates, clearing, installability; and no request ever leaves the hub's origin."""

from __future__ import annotations

import datetime
import http.client
import json
import re
import shutil
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from hub.settings import PROJECT_ROOT
from tests.browser.conftest import HubServer
from tests.test_search import UNICODE_MYANMAR, ZAWGYI_MYANMAR

CONTENT = PROJECT_ROOT / "content"
ARTICLE = "keep-your-passport"


def _watch(context: Any, server: HubServer) -> list[str]:
    """Every URL the context (pages and workers) asks for; checked to stay on the hub."""
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    return seen


def _assert_same_origin(seen: list[str], server: HubServer | SlowLine) -> None:
    origin = urlsplit(server.base).netloc
    strays = [url for url in seen if urlsplit(url).scheme in ("http", "https")]
    strays = [url for url in strays if urlsplit(url).netloc != origin]
    assert seen and strays == []


# Headers of one connection, not of the answer: a proxy does not pass them on.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class SlowLine:
    """A loopback reverse proxy in front of the hub that holds the answers of chosen paths back
    for longer than the service worker's 3 s timeout: a slow line for those pages only."""

    DELAY = 4.0

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.slow: set[str] = set()
        self.held: list[str] = []
        line = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                line.forward(self)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        """Pass one GET to the hub, after DELAY if its path is a slow one, and its answer back."""
        if urlsplit(handler.path).path in self.slow:
            self.held.append(handler.path)
            time.sleep(self.DELAY)
        upstream = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            upstream.putrequest("GET", handler.path, skip_host=True, skip_accept_encoding=True)
            for name, value in handler.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders()
            answer = upstream.getresponse()
            headers, body = answer.getheaders(), answer.read()
        except ConnectionError:  # an answer held back past the end of its test: the hub is gone
            handler.send_error(502)
            return
        finally:
            upstream.close()
        handler.send_response_only(answer.status, answer.reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_line(hub_server: HubServer) -> Iterator[SlowLine]:
    """The hub on the starter content, reached through a line that is slow for chosen pages."""
    line = SlowLine(hub_server.start().base)
    yield line
    line.close()


def _wait_for(page: Any, expression: str, seconds: float = 20) -> None:
    """Poll an expression (Playwright's wait_for_function evals strings, which the CSP bars)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError as error:  # a navigation replaced the page: ask the next one
            if "context was destroyed" not in str(error):
                raise
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def _controlled(page: Any, url: str) -> None:
    """Open a page and wait until the service worker controls it."""
    page.goto(url)
    page.evaluate("navigator.serviceWorker.ready")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    _wait_for(page, "!!navigator.serviceWorker.controller")


def _offline_at(context: Any, server: HubServer, visited: str, path: str) -> Any:
    """Let the worker take control on `visited`, cut the network, then open `path`."""
    page = context.new_page()
    _controlled(page, server.base + visited)
    context.set_offline(True)
    page.goto(server.base + path)
    return page


def _corridor(page: Any, server: HubServer, locale: str) -> None:
    page.goto(f"{server.base}/{locale}/corridor?from=PH&to=HK&next=/{locale}/")


def test_worker_installs_controls_and_pages_load_offline(
    context: Any, hub_server: HubServer
) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = context.new_page()
    _corridor(page, server, "en")
    _controlled(page, f"{server.base}/en/")
    page.goto(f"{server.base}/en/articles/{ARTICLE}")
    title = page.text_content("h1")
    context.set_offline(True)
    for path, expected in (
        ("/en/", "Your journey"),
        ("/en/help", "Hong Kong"),
        (
            f"/en/articles/{ARTICLE}",
            title,
        ),
    ):
        page.goto(server.base + path)
        assert expected in page.text_content("main"), path
        note = page.locator("#offline-note")
        assert note.is_visible()
        assert re.search(r"\d{4}", note.text_content())  # when the copy was saved
    context.set_offline(False)
    _assert_same_origin(seen, server)


OLD_ADDRESS_COPY = """async (slug) => {
  const fresh = await fetch("/en/articles/" + slug, { cache: "no-store" });
  const body = await fresh.text();
  for (const name of await caches.keys()) {
    await (await caches.open(name)).delete("/en/articles/" + slug, { ignoreVary: true });
  }
  const pack = await caches.open("hub-pack-1");
  await pack.put("/en/articles/" + slug + "/", new Response(body, {
    headers: { "content-type": "text/html; charset=utf-8", date: new Date().toUTCString() },
  }));
  return true;
}"""


def test_an_article_saved_under_its_old_address_opens_offline(
    context: Any, hub_server: HubServer
) -> None:
    """Packs saved before articles lost their trailing slash keep working offline."""
    server = hub_server.start()
    page = context.new_page()
    _controlled(page, f"{server.base}/en/")
    assert page.evaluate(OLD_ADDRESS_COPY, ARTICLE)
    context.set_offline(True)
    page.goto(f"{server.base}/en/articles/{ARTICLE}")
    assert page.text_content("h1") == "Your passport belongs to you"  # en.md's title
    context.set_offline(False)


def test_unvisited_page_offline_shows_the_offline_page_in_her_language(
    context: Any, hub_server: HubServer
) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = _offline_at(context, server, "/th/", "/th/articles/rest-days-and-hours")
    assert page.text_content("h1") == "ยังไม่ได้บันทึกไว้ในโทรศัพท์เครื่องนี้"  # "Not saved on this phone"
    assert page.get_attribute("html", "lang") == "th"
    context.set_offline(False)
    _assert_same_origin(seen, server)


def test_a_page_slower_than_the_timeout_waits_for_the_network_and_is_kept(
    context: Any, slow_line: SlowLine
) -> None:
    seen = _watch(context, slow_line)
    page = context.new_page()
    _controlled(page, f"{slow_line.base}/en/")
    slow = "/en/articles/rest-days-and-hours"
    slow_line.slow.add(slow)
    page.goto(slow_line.base + slow)
    assert slow_line.held == [slow]  # its answer came a second after the worker's timeout
    assert page.text_content("h1") == "Rest days and working hours"
    assert page.get_attribute("html", "data-offline-saved") is None  # from the network
    # The late answer is stored for next time.
    _wait_for(page, f"caches.match('{slow}').then((copy) => !!copy)")
    # A page already on the phone does not make her wait that long: its copy answers.
    slow_line.slow.add("/en/help")
    page.goto(f"{slow_line.base}/en/help")
    assert page.get_attribute("html", "data-offline-saved") is not None
    assert page.locator("h1").count() == 1
    context.set_offline(True)
    page.goto(slow_line.base + slow)
    assert page.text_content("h1") == "Rest days and working hours"
    assert page.locator("#offline-note").is_visible()
    context.set_offline(False)
    _assert_same_origin(seen, slow_line)


def _resave_pack(page: Any, server: HubServer, locale: str) -> None:
    """Save a pack again from its page, without opening any other page of the locale first."""
    page.goto(f"{server.base}/{locale}/offline")
    page.evaluate("document.getElementById('pack-status').removeAttribute('data-saved-on')")
    page.click("#pack-save")
    _wait_for(page, "!!document.getElementById('pack-status').dataset.savedOn")


def test_root_offline_opens_her_latest_saved_home_page(context: Any, hub_server: HubServer) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = context.new_page()
    _controlled(page, f"{server.base}/en/")  # the worker was installed from an English page
    _save_pack(page, server, "en")
    _save_pack(page, server, "th")
    context.set_offline(True)
    page.goto(f"{server.base}/")
    assert page.url == f"{server.base}/th/"
    assert page.get_attribute("html", "lang") == "th"
    assert "เส้นทางของคุณ" in page.text_content("main")  # "Your journey"
    assert page.locator("#offline-note").is_visible()
    context.set_offline(False)
    # Saving the English pack again, every page unchanged, makes it the latest one saved.
    _resave_pack(page, server, "en")
    assert int(page.get_attribute("#pack", "data-kept")) > 0
    context.set_offline(True)
    page.goto(f"{server.base}/")
    assert page.url == f"{server.base}/en/"
    assert "Your journey" in page.text_content("main")
    context.set_offline(False)
    _assert_same_origin(seen, server)


def _search_url(server: HubServer, locale: str, params: dict[str, str]) -> str:
    return f"{server.base}/{locale}/search?{urlencode(params)}"


def _server_results(server: HubServer, locale: str, params: dict[str, str]) -> list[str]:
    """The result links the server gives a reader of the PH -> HK corridor, outside the browser."""
    request = urllib.request.Request(
        _search_url(server, locale, params), headers={"cookie": "hub_from=PH; hub_to=HK"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            html = response.read().decode()
    except urllib.error.HTTPError as error:  # a page past the last one is a 404 with a page
        html = error.read().decode()
    return re.findall(r'<a class="hit" href="([^"]+)"', html)


# What a reader sees of a search: links in order, group of each, count, pages, notes, links.
_SEARCH_STATE = """() => {
  const box = document.getElementById("search-results");
  const shown = (id) => !document.getElementById(id).closest("[hidden]");
  const href = (id) => shown(id) ? document.getElementById(id).getAttribute("href") : null;
  return {
    links: [...box.querySelectorAll("a.hit")].map(a => a.getAttribute("href")),
    groups: [...box.querySelectorAll("section:not([hidden]) h2")].map(h => h.textContent),
    count: document.getElementById("search-count").textContent.trim(),
    page: shown("search-page") ? document.getElementById("search-page").textContent : null,
    prev: href("search-prev"), next: href("search-next"),
    missing: shown("search-missing"),
    all: href("search-scope-all"), only: href("search-scope-only"),
  };
}"""


def _save_pack(page: Any, server: HubServer, locale: str) -> dict[str, Any]:
    _corridor(page, server, locale)
    _controlled(page, f"{server.base}/{locale}/offline")
    size = page.text_content("main")
    assert re.search(r"\d+ (kB|MB)", size)  # the download size, before starting
    page.click("#pack-save")
    _wait_for(page, "!!document.getElementById('pack-status').dataset.savedOn")
    assert page.evaluate("document.getElementById('pack-progress').value") == page.evaluate(
        "document.getElementById('pack-progress').max"
    )
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{server.base}/api/packs/{locale}.json?from=PH&to=HK",
            headers={"cookie": f"hub_locale={locale}; hub_from=PH; hub_to=HK"},
        ),
        timeout=10,
    ) as response:
        manifest: dict[str, Any] = json.load(response)
    return manifest


# Each locale's queries, read by a reader of the PH -> HK corridor: her consulate first, pages,
# all countries, a page past the last, zero-width characters, Unicode forms, Zawgyi.
PARITY_QUERIES: dict[str, list[dict[str, str]]] = {
    "en": [
        {"q": "passport"},
        {"q": "consulate", "page": "2"},
        {"q": "passport", "all": "1"},
        {"q": "passport", "all": "1", "page": "2"},
        {"q": "passport", "page": "99999"},
        {"q": "pass\u200bport\ufeff"},
    ],
    "th": [{"q": "หนังสือเดินทาง"}, {"q": "หนังสือ\u200cเดินทาง\u200d"}],
    "my": [
        {"q": "နိုင်ငံကူးလက်မှတ်"},
        {"q": UNICODE_MYANMAR},
        {"q": ZAWGYI_MYANMAR},
        {"q": "1348"},
        {"q": "၁၃၄၈"},  # the same number in the digits Burmese pages show
    ],
    "vi": [{"q": "ho chieu"}, {"q": unicodedata.normalize("NFD", "hộ chiếu")}],
}


@pytest.mark.parametrize("locale", list(PARITY_QUERIES))
def test_saved_pack_opens_offline_and_search_matches_the_server(
    context: Any, hub_server: HubServer, locale: str
) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = context.new_page()
    manifest = _save_pack(page, server, locale)
    status = page.text_content("#pack-status")
    assert status and re.search(r"\d", status)
    queries = PARITY_QUERIES[locale]
    expected = [_server_results(server, locale, params) for params in queries]
    assert expected[0], "the server finds it"
    if locale == "en":
        assert expected[0][0] == "/en/services/ph-consulate-hong-kong"  # her consulate first
        assert "/en/services/hk-consulate-indonesia" not in expected[2][:1]
        assert expected[4] == [] and expected[5] == expected[0]
    if locale == "my":
        assert expected[2] == expected[1] != []  # Zawgyi finds what Unicode finds
        assert expected[4] == expected[3] != []  # Myanmar digits find what 0-9 find
    if locale in ("th", "vi"):
        assert expected[1] == expected[0]
    articles = [e["url"] for e in manifest["paths"] if "/articles/" in e["url"]]
    assert len(articles) >= 6
    context.set_offline(True)
    # Every article of the pack is kept whole; three of them are opened offline (each opening
    # costs a navigation, and what opens one opens any kept page).
    kept = page.evaluate(
        """(urls) => Promise.all(urls.map((url) => caches.match(url)
             .then((found) => (found ? found.text() : ""))
             .then((text) => text.includes("<h1") && text.includes("</html>"))))""",
        articles,
    )
    assert kept == [True] * len(articles)
    for url in (articles[0], articles[len(articles) // 2], articles[-1]):
        page.goto(server.base + url)
        assert page.locator("article h1").count() == 1, url
        assert page.locator("#offline-note").is_visible()
    offline = []
    for params in queries:
        if params["q"] == ZAWGYI_MYANMAR:  # typed into the search box, as she would
            page.goto(f"{server.base}/{locale}/search")
            page.fill("#search-q", params["q"])
            with page.expect_navigation():
                page.press("#search-q", "Enter")
        else:
            page.goto(_search_url(server, locale, params))
        page.wait_for_selector("#search-results[data-offline-results]", state="attached")
        offline.append(page.evaluate(_SEARCH_STATE))
    assert [state["links"] for state in offline] == expected
    context.set_offline(False)
    for params, state in zip(queries, offline, strict=True):
        page.goto(_search_url(server, locale, params))
        assert page.get_attribute("#search-results", "data-offline-results") is None
        assert page.evaluate(_SEARCH_STATE) == state, params  # groups, count, pages, links
    _assert_same_origin(seen, server)


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def _change_article(content: Path, slug: str, text: str) -> None:
    path = content / "articles" / slug / "en.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")


def _take_the_update(page: Any, server: HubServer) -> None:
    """Open the home page, see the new version announced, reload into it, wait for its worker."""
    page.goto(f"{server.base}/en/")
    # The note waits for the new worker to install, which fetches its whole precache: alone
    # 4-15 s here, and once over the default 20 s while the suite's other browser tests ran.
    page.wait_for_selector("#update-note", state="visible", timeout=60_000)
    assert "New information is available." in page.text_content("#update-note")
    with page.expect_navigation():
        page.click("#update-reload")
    page.wait_for_load_state()
    _wait_for(page, "navigator.serviceWorker.controller !== null")


def test_content_change_brings_a_new_worker_and_a_reload_prompt(
    context: Any, hub_server: HubServer, tmp_path: Path
) -> None:
    content = _copy_content(tmp_path)
    server = hub_server.start(content)
    seen = _watch(context, server)
    page = context.new_page()
    _controlled(page, f"{server.base}/en/articles/{ARTICLE}")
    first = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    server.stop()
    _change_article(content, ARTICLE, "A sentence added by the CSO today.")
    server.start(content)
    _take_the_update(page, server)
    page.goto(f"{server.base}/en/articles/{ARTICLE}")
    assert "A sentence added by the CSO today." in page.text_content("main")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == first
    versions = page.evaluate("caches.keys()")
    assert len([v for v in versions if v.startswith("hub-shell-")]) == 1  # old one deleted
    _assert_same_origin(seen, server)


def test_saved_pack_revalidates_instead_of_downloading_again(
    context: Any, hub_server: HubServer, tmp_path: Path
) -> None:
    content = _copy_content(tmp_path)
    server = hub_server.start(content)
    seen = _watch(context, server)
    page = context.new_page()
    manifest = _save_pack(page, server, "en")
    server.stop()
    _change_article(content, ARTICLE, "New rule explained here.")
    server.start(content)
    before = len(server.access_lines())
    page.goto(f"{server.base}/en/offline")
    page.evaluate("document.getElementById('pack-status').removeAttribute('data-saved-on')")
    page.click("#pack-save")
    _wait_for(page, "!!document.getElementById('pack-status').dataset.savedOn")
    lines = server.access_lines()[before:]
    pack_urls = {e["url"] for e in manifest["paths"]}
    statuses = {}
    for line in lines:
        _method, path, status = line.split()[:3]
        if path in pack_urls:
            statuses[path] = status
    assert statuses[f"/en/articles/{ARTICLE}"] == "200"
    assert statuses["/api/search/en.json"] == "200"
    unchanged = [p for p, s in statuses.items() if s == "304"]
    assert len(unchanged) == len(pack_urls) - 2  # only the article and the index changed
    assert page.get_attribute("#pack", "data-kept") == str(len(unchanged))
    context.set_offline(True)
    page.goto(f"{server.base}/en/articles/{ARTICLE}")
    assert "New rule explained here." in page.text_content("main")
    context.set_offline(False)
    _assert_same_origin(seen, server)


def test_clear_everything_leaves_nothing(context: Any, hub_server: HubServer) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = context.new_page()
    _save_pack(page, server, "th")
    assert page.evaluate("caches.keys()")
    assert context.cookies()
    page.goto(f"{server.base}/th/safety")
    page.click("#clear-everything")
    page.wait_for_url(f"{server.base}/th/clear")
    page.wait_for_load_state()
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert context.cookies() == []
    page.reload()
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    _assert_same_origin(seen, server)


@pytest.mark.parametrize("discreet", [False, True])
def test_both_manifests_are_installable(
    profile_context: Any, hub_server: HubServer, discreet: bool
) -> None:
    context = profile_context
    server = hub_server.start()
    seen = _watch(context, server)
    page = context.new_page()
    if discreet:
        page.goto(f"{server.base}/th/discreet?on=1&next=/th/")
    _controlled(page, f"{server.base}/th/")
    href = page.get_attribute("link[rel=manifest]", "href")
    assert ("discreet=1" in href) is discreet
    manifest = page.evaluate("url => fetch(url).then(r => r.json())", href)
    assert manifest["start_url"] == "/th/"
    assert ("discreet" in manifest["icons"][0]["src"]) is discreet
    session = context.new_cdp_session(page)
    errors = session.send("Page.getInstallabilityErrors")
    assert errors["installabilityErrors"] == []
    session.detach()
    _assert_same_origin(seen, server)


# CLDR's month names as a long date writes them, January first, written out.
MONTHS = {
    "my": (
        "ဇန်နဝါရီ",
        "ဖေဖော်ဝါရီ",
        "မတ်",
        "ဧပြီ",
        "မေ",
        "ဇွန်",
        "ဇူလိုင်",
        "ဩဂုတ်",
        "စက်တင်ဘာ",
        "အောက်တိုဘာ",
        "နိုဝင်ဘာ",
        "ဒီဇင်ဘာ",
    ),
    "km": (
        "មករា",
        "កុម្ភៈ",
        "មីនា",
        "មេសា",
        "ឧសភា",
        "មិថុនា",
        "កក្កដា",
        "សីហា",
        "កញ្ញា",
        "តុលា",
        "វិច្ឆិកា",
        "ធ្នូ",
    ),
    "th": (
        "มกราคม",
        "กุมภาพันธ์",
        "มีนาคม",
        "เมษายน",
        "พฤษภาคม",
        "มิถุนายน",
        "กรกฎาคม",
        "สิงหาคม",
        "กันยายน",
        "ตุลาคม",
        "พฤศจิกายน",
        "ธันวาคม",
    ),
}


@pytest.mark.parametrize("locale", list(MONTHS))
def test_offline_note_dates_are_in_her_language(
    context: Any, hub_server: HubServer, locale: str
) -> None:
    server = hub_server.start()
    seen = _watch(context, server)
    page = _offline_at(context, server, f"/{locale}/", f"/{locale}/")
    note = page.text_content("#offline-note")
    context.set_offline(False)
    _assert_same_origin(seen, server)
    today = datetime.date.today()
    month = MONTHS[locale][today.month - 1]
    # Burmese pages write Myanmar digits (CLDR's default numbering system for my).
    digits = "၀၁၂၃၄၅၆၇၈၉" if locale == "my" else "0123456789"
    year = str(today.year).translate(str.maketrans("0123456789", digits))
    assert month in note and year in note
