"""The offline app's server side: manifest, worker, packs, index, discreet mode, clearing."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import runpy
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import brotli
import pytest
from PIL import Image, ImageChops
from starlette.testclient import TestClient

from hub.content import SearchIndex
from hub.offline import tree_version
from hub.settings import PROJECT_ROOT
from tests.conftest import LOCALES, ClientFactory, set_corridor

# The hub's name in each locale, as content/site.yml writes it.
SITE_NAMES = {
    "en": "Migrant Worker Hub",
    "fil": "Hub ng mga Manggagawang Migrante",
    "id": "Pusat Informasi Pekerja Migran",
    "vi": "Cổng thông tin Lao động Di cư",
    "th": "ศูนย์ข้อมูลแรงงานข้ามชาติ",
    "km": "មជ្ឈមណ្ឌលព័ត៌មានពលករចំណាកស្រុក",
    "my": "ရွှေ့ပြောင်းလုပ်သား သတင်းအချက်အလက်စင်တာ",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_manifest_names_the_hub_in_her_language(shared_client: TestClient, locale: str) -> None:
    data = shared_client.get("/manifest.webmanifest", params={"lang": locale}).json()
    assert data["name"] == SITE_NAMES[locale]
    assert data["start_url"] == f"/{locale}/" and data["scope"] == "/"
    assert data["display"] == "standalone" and data["id"] == "/"
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in data["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in data["icons"]:
        assert shared_client.get(icon["src"]).headers["content-type"] == "image/png"


def test_discreet_manifest_is_neutral(shared_client: TestClient) -> None:
    plain = shared_client.get(
        "/manifest.webmanifest", params={"lang": "th", "discreet": "1"}
    ).json()
    assert plain["name"] == "บันทึก"  # "Notes": site.yml's discreet name in Thai
    assert all("/icons/discreet-" in icon["src"] for icon in plain["icons"])
    assert "hub" not in json.dumps(plain).lower().replace("/static/", "")


def test_discreet_mode_is_chosen_on_the_page_and_changes_the_manifest_link(
    shared_client: TestClient,
) -> None:
    assert "discreet=1" not in shared_client.get("/en/offline").text
    response = shared_client.get(
        "/en/discreet", params={"on": "1", "next": "/en/offline"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/en/offline"
    html = shared_client.get("/en/offline").text
    assert 'rel="manifest" href="/manifest.webmanifest?lang=en&amp;discreet=1"' in html
    assert "icons/discreet-192" in html
    shared_client.get("/en/discreet", params={"on": "0"})
    assert "discreet=1" not in shared_client.get("/en/offline").text


def _worker_config(client: TestClient) -> dict[str, Any]:
    """The CONFIG written into /sw.js, as a browser gets the script."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    found = re.search(r"^const CONFIG = (\{.*?\});$", response.text, flags=re.M)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_service_worker_carries_version_and_shell(shared_client: TestClient) -> None:
    response = shared_client.get("/sw.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    config = _worker_config(shared_client)
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    # The caches it names are the version's: a new version starts them afresh.
    assert 'const SHELL = "hub-shell-" + VERSION;' in response.text
    assert "const VERSION = CONFIG.version;" in response.text
    css = re.search(r'href="(/static/css/[^"]+)"', shared_client.get("/en/").text).group(1)  # type: ignore[union-attr]
    assert css in config["shell"]
    assert set(config["locales"]) == set(LOCALES)


def test_one_article_changed_serves_another_worker_version(
    content_copy: Path, make_client: ClientFactory
) -> None:
    starter = _worker_config(make_client(PROJECT_ROOT / "content"))["version"]
    # The same files elsewhere: the version is of the content, not of where it lies.
    assert _worker_config(make_client(content_copy))["version"] == starter
    article = content_copy / "articles" / "keep-your-passport" / "en.md"
    article.write_text(
        article.read_text(encoding="utf-8") + "\nA sentence added by the CSO today.\n",
        encoding="utf-8",
    )
    assert _worker_config(make_client(content_copy))["version"] != starter


def test_version_follows_content_templates_and_static(tmp_path: Path) -> None:
    tree = tmp_path / "content"
    tree.mkdir()
    (tree / "a.md").write_text("one")
    first = tree_version([tree])
    assert tree_version([tree]) == first
    (tree / "a.md").write_text("two")
    assert tree_version([tree]) != first


def test_pages_register_the_worker_except_the_cleared_page(shared_client: TestClient) -> None:
    assert 'data-service-worker="/sw.js?locale=th"' in shared_client.get("/th/").text
    cleared = shared_client.get("/th/clear")
    assert "data-service-worker" not in cleared.text
    assert 'rel="manifest"' not in cleared.text


# The topics of content/topics.yml.
TOPICS = ("before-you-go", "at-work", "if-something-is-wrong", "health", "money", "going-home")


def _gzip_received(client: TestClient, url: str) -> bytes:
    """The body of `url` as it comes over the wire to a browser that takes gzip, still
    compressed: what downloading it costs."""
    with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as served:
        assert served.status_code == 200, url
        assert served.headers["content-encoding"] == "gzip", url
        return b"".join(served.iter_raw())


def test_pack_lists_the_corridor_pages_with_their_sizes(shared_client: TestClient) -> None:
    response = shared_client.get("/api/packs/th.json", params={"from": "PH", "to": "HK"})
    data = response.json()
    urls = [entry["url"] for entry in data["paths"]]
    for topic in TOPICS:
        assert f"/th/topics/{topic}" in urls
    assert "/th/help" in urls and "/api/search/th.json" in urls
    assert "/th/articles/keep-your-passport" in urls
    assert "/th/services/hk-emergency" in urls and "/th/services/my-emergency" not in urls
    assert all(u.startswith("/th/") or u == "/api/search/th.json" for u in urls)
    shared_client.cookies.update({"hub_locale": "th", "hub_from": "PH", "hub_to": "HK"})
    received = _gzip_received(shared_client, "/th/help")
    assert '<html lang="th"' in gzip.decompress(received).decode()
    measured = next(e["bytes"] for e in data["paths"] if e["url"] == "/th/help")
    assert measured == len(received)
    assert "etag" in response.headers


def _received(client: TestClient, url: str, accept_encoding: str) -> tuple[str, bytes]:
    """The content coding and the still-compressed body of `url` as it comes over the wire."""
    with client.stream("GET", url, headers={"accept-encoding": accept_encoding}) as served:
        assert served.status_code == 200, url
        return served.headers.get("content-encoding", ""), b"".join(served.iter_raw())


def test_pack_sizes_are_the_bytes_the_app_serves(shared_client: TestClient) -> None:
    data = shared_client.get("/api/packs/km.json", params={"from": "KH", "to": "MY"}).json()
    assert len(data["paths"]) > 10
    shared_client.cookies.update({"hub_locale": "km", "hub_from": "KH", "hub_to": "MY"})
    downloaded = 0
    for entry in data["paths"]:
        # What a browser sends in a secure context, the only place a worker saves a pack.
        coding, received = _received(shared_client, entry["url"], "gzip, deflate, br")
        if entry["url"] == "/api/search/km.json":
            assert coding == "br"
            page = brotli.decompress(received).decode()
        else:
            assert coding == "gzip", entry["url"]
            page = gzip.decompress(received).decode()
        assert '<html lang="km"' in page or '"locale":"km"' in page, entry["url"]
        assert entry["bytes"] == len(received), entry["url"]
        downloaded += len(received)
    # The size the save page announces is what saving the pack downloads.
    assert data["bytes"] == downloaded


# Design reference, "Budgets": an offline pack for one locale and corridor, compressed.
PACK_BUDGET = 300_000


@pytest.mark.slow
@pytest.mark.parametrize("locale", LOCALES)
def test_a_pack_of_the_starter_content_is_within_its_budget(
    shared_client: TestClient, locale: str
) -> None:
    # PH -> HK is the largest corridor of every locale (bench/offline.py), Burmese the heaviest.
    data = shared_client.get(f"/api/packs/{locale}.json", params={"from": "PH", "to": "HK"}).json()
    assert len(data["paths"]) > 40
    assert data["bytes"] <= PACK_BUDGET


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip, deflate, br", "br"),
        ("br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("identity", ""),
        ("", ""),
    ],
)
def test_search_index_comes_in_the_coding_the_client_takes(
    shared_client: TestClient, accept_encoding: str, coding: str
) -> None:
    plain = shared_client.get("/api/search/my.json", headers={"accept-encoding": "identity"})
    identity = plain.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', identity)
    with shared_client.stream(
        "GET", "/api/search/my.json", headers={"accept-encoding": accept_encoding}
    ) as served:
        raw = b"".join(served.iter_raw())
        headers = served.headers
    assert headers.get("content-encoding", "") == coding
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(raw)
    # One strong ETag per representation: the coding is part of it.
    assert headers["etag"] == (identity[:-1] + f'-{coding}"' if coding else identity)
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, "": bytes}[coding]
    assert decode(raw) == plain.content
    assert json.loads(plain.content)["locale"] == "my"


def test_search_index_is_smaller_in_brotli_and_answers_304_per_representation(
    shared_client: TestClient,
) -> None:
    br_coding, br = _received(shared_client, "/api/search/my.json", "br")
    gz_coding, gz = _received(shared_client, "/api/search/my.json", "gzip")
    assert (br_coding, gz_coding) == ("br", "gzip")
    # The reason it is offered: a quarter smaller than gzip on the starter tree's Burmese.
    assert len(br) < len(gz) * 0.85
    etag = shared_client.get("/api/search/my.json", headers={"accept-encoding": "br"}).headers[
        "etag"
    ]
    again = shared_client.get(
        "/api/search/my.json", headers={"accept-encoding": "br", "if-none-match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    # Her copy is brotli; a client that takes only gzip gets the gzip bytes, not a 304.
    other = shared_client.get(
        "/api/search/my.json", headers={"accept-encoding": "gzip", "if-none-match": etag}
    )
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"


class HeldMeasurement(logging.Handler):
    """Holds a pack's measurement at its first log line until the test lets it go, and keeps
    the line each finished measurement logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.started = threading.Event()
        self.go = threading.Event()
        self.let_go: list[bool] = []
        self.measured: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("measuring pack"):
            self.started.set()
            # Bounded: were the measurement on the event loop, nothing could release it.
            self.let_go.append(self.go.wait(timeout=10))
        elif " measured: " in message:
            self.measured.append(message)


@pytest.fixture
def held(caplog: pytest.LogCaptureFixture) -> Iterator[HeldMeasurement]:
    """Pack measurements wait for the test's go."""
    caplog.set_level(logging.DEBUG, logger="hub.packs")
    handler = HeldMeasurement()
    logger = logging.getLogger("hub.packs")
    logger.addHandler(handler)
    yield handler
    handler.go.set()
    logger.removeHandler(handler)


def test_pages_are_answered_while_a_pack_is_measured(
    client: TestClient, held: HeldMeasurement
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pack = pool.submit(client.get, "/api/packs/en.json", params={"from": "ID", "to": "SA"})
        assert held.started.wait(timeout=30)
        safety = client.get("/en/safety")
        held.go.set()
        data = pack.result(timeout=60).json()
    assert safety.status_code == 200 and '<html lang="en"' in safety.text
    assert held.let_go == [True]  # still measuring while the safety page was answered
    assert (data["from"], data["to"]) == ("ID", "SA")
    assert "/en/services/sa-embassy-indonesia" in [e["url"] for e in data["paths"]]


def test_one_pack_asked_for_at_once_is_measured_once(
    client: TestClient, held: HeldMeasurement
) -> None:
    params = {"from": "PH", "to": "SA"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        asks = [pool.submit(client.get, "/api/packs/th.json", params=params) for _ in range(4)]
        assert held.started.wait(timeout=30)
        packs = client.app.state.packs  # type: ignore[attr-defined]
        for _ in range(300):  # until all four wait on the measurement (at most 30 s)
            if packs.waiting("th", "PH", "SA") == 4:
                break
            time.sleep(0.1)
        assert packs.waiting("th", "PH", "SA") == 4
        held.go.set()
        bodies = [ask.result(timeout=60).content for ask in asks]
    assert len(set(bodies)) == 1
    assert json.loads(bodies[0])["bytes"] > 0
    assert len(held.measured) == 1, held.measured


def test_pack_with_unknown_country_is_a_400(shared_client: TestClient) -> None:
    response = shared_client.get("/api/packs/th.json", params={"from": "PH", "to": "ZZ"})
    assert response.status_code == 400
    assert (
        shared_client.get("/api/packs/xx.json", params={"from": "PH", "to": "HK"}).status_code
        == 404
    )


def test_save_page_shows_the_size_before_downloading(shared_client: TestClient) -> None:
    html = shared_client.get("/en/offline").text
    assert 'name="from"' in html and 'id="pack"' not in html
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/offline").text
    announced = re.search(r"(\d+) pages to save, about (\d+) kB to download", html)
    assert announced is not None
    assert 'data-manifest="/api/packs/en.json?from=PH&amp;to=HK"' in html
    # What saving then downloads, page by page, as it comes over the wire.
    pack = shared_client.get("/api/packs/en.json", params={"from": "PH", "to": "HK"}).json()
    shared_client.cookies.update({"hub_locale": "en"})
    downloaded = sum(
        len(_received(shared_client, e["url"], "gzip, deflate, br")[1]) for e in pack["paths"]
    )
    assert int(announced.group(1)) == len(pack["paths"])
    assert int(announced.group(2)) == round(downloaded / 1000)


# The title of keep-your-passport in each locale, from content/articles/keep-your-passport/.
PASSPORT_TITLES = {
    "en": "Your passport belongs to you",
    "fil": "Sa iyo ang iyong pasaporte",
    "id": "Paspor Anda adalah milik Anda",
    "vi": "Hộ chiếu là của bạn",
    "th": "หนังสือเดินทางเป็นของคุณ",
    "km": "លិខិតឆ្លងដែនជារបស់អ្នក",
    "my": "သင့်နိုင်ငံကူးလက်မှတ်သည် သင့်ပိုင်ဖြစ်သည်",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_offline_index_holds_every_page_with_its_title_in_her_language(
    shared_client: TestClient, locale: str
) -> None:
    data = shared_client.get(f"/api/search/{locale}.json").json()
    assert data["locale"] == locale
    passport = [d for d in data["docs"] if d[:2] == ["article", "keep-your-passport"]]
    assert len(passport) == 1 and passport[0][2] == PASSPORT_TITLES[locale]
    # Every article folder and service file of the content, each once.
    content = PROJECT_ROOT / "content"
    expected = sorted(
        [["article", folder.name] for folder in (content / "articles").iterdir()]
        + [["service", path.stem] for path in (content / "services").glob("*.yml")]
    )
    assert sorted(d[:2] for d in data["docs"]) == expected


def test_search_index_reproduces_the_server_documents(shared_client: TestClient) -> None:
    data = shared_client.get("/api/search/vi.json").json()
    assert data["weights"] == [10, 3, 1] and data["per_page"] == 10
    passport = next(d for d in data["docs"] if d[1] == "keep-your-passport")
    assert "ho chieu" in passport[6]  # stored normalized, diacritics folded
    compressed = shared_client.get("/api/search/vi.json", headers={"accept-encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert len(gzip.compress(compressed.content)) < len(compressed.content)


def test_search_index_is_made_once_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 1,000 articles making one costs 0.2 s of CPU: on the event loop it would stall every
    # reader's request meanwhile.
    calls: list[bool] = []
    export = SearchIndex.export

    def watched(self: SearchIndex) -> dict[str, object]:
        try:
            asyncio.get_running_loop()
            calls.append(True)
        except RuntimeError:
            calls.append(False)
        return export(self)

    monkeypatch.setattr(SearchIndex, "export", watched)
    first = client.get("/api/search/km.json")
    assert first.json()["locale"] == "km"
    assert client.get("/api/search/km.json", headers={"accept-encoding": "br"}).content == (
        first.content
    )
    assert calls == [False]


def test_clear_tells_the_browser_to_forget_everything(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    shared_client.get("/th/discreet", params={"on": "1"})
    response = shared_client.get("/th/clear")
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert response.headers["cache-control"] == "no-store"
    deleted = response.headers.get_list("set-cookie")
    for name in ("hub_locale", "hub_from", "hub_to", "hub_discreet"):
        assert any(c.startswith(f'{name}=""') and "Max-Age=0" in c for c in deleted), name
    assert '<html lang="th"' in response.text


def test_unavailable_page_is_in_her_language(shared_client: TestClient) -> None:
    html = shared_client.get("/km/unavailable").text
    assert '<html lang="km"' in html and 'href="/km/help"' in html


def test_icons_are_generated_from_their_source() -> None:
    make_icons = runpy.run_path(str(PROJECT_ROOT / "scripts" / "make_icons.py"))
    generated = {}
    for source in sorted((PROJECT_ROOT / "icons").glob("*.png")):
        generated.update(make_icons["icons_for"](source))
    assert len(generated) == 6
    for name, fresh in generated.items():
        shipped = Image.open(PROJECT_ROOT / "static" / "icons" / name).convert("RGBA")
        assert fresh.size == shipped.size
        assert ImageChops.difference(fresh, shipped).getbbox() is None, f"run make icons: {name}"


def test_discreet_cookie_keys_the_response_cache(make_client: ClientFactory) -> None:
    client = make_client(PROJECT_ROOT / "content")
    client.get("/en/offline")
    client.get("/en/discreet", params={"on": "1"})
    assert "discreet=1" in client.get("/en/offline").text
