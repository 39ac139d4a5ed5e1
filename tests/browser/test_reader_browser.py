"""The reader's pages in a real browser: quick exit, no third-party requests, small screens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS


def test_quick_exit_is_first_in_tab_order(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.hasAttribute('data-quick-exit')")


HUB_TEXT = ("Quick exit", "Migrant Worker Hub")


def _left_for_the_neutral_site(page: Any, neutral_site: str) -> None:
    """The tab shows the neutral site within a short bounded wait, and no hub text at all."""
    page.wait_for_url(neutral_site, timeout=5000)
    page.wait_for_load_state()
    text = page.inner_text("body")
    assert "Sunny" in text and not any(words in text for words in HUB_TEXT), text


def _back(page: Any) -> None:
    # Back into a page that leaves at once: the navigation it starts may abort go_back's wait.
    try:
        page.go_back(wait_until="commit", timeout=5000)
    except PlaywrightError as error:
        assert "interrupted" in str(error) or "aborted" in str(error), error


def test_back_after_quick_exit_lands_on_the_neutral_site(
    page: Any, live_server: str, neutral_site: str
) -> None:
    page.goto(live_server + "/en/")
    page.goto(live_server + "/en/articles/keep-your-passport")
    page.click("[data-quick-exit]")
    _left_for_the_neutral_site(page, neutral_site)
    # The article was replaced; Back reaches the home page, which must leave again at once.
    _back(page)
    _left_for_the_neutral_site(page, neutral_site)


def test_back_through_a_deeper_history_never_shows_the_hub(
    page: Any, live_server: str, neutral_site: str
) -> None:
    for path in ("/en/", "/en/topics/at-work", "/en/help", "/en/articles/keep-your-passport"):
        page.goto(live_server + path)
    page.click("[data-quick-exit]")
    _left_for_the_neutral_site(page, neutral_site)
    for _ in range(3):
        _back(page)
        _left_for_the_neutral_site(page, neutral_site)


@pytest.fixture(scope="module")
def bfcache_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with its back-forward cache on (Playwright turns it off by default)."""
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield launched
    launched.close()


def test_back_into_a_page_kept_in_the_back_forward_cache_leaves_too(
    bfcache_browser: Any, live_server: str, neutral_site: str
) -> None:
    context = bfcache_browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.enable")
    not_restored: list[Any] = []
    cdp.on("Page.backForwardCacheNotUsed", lambda event: not_restored.append(event))
    page.goto(live_server + "/en/")
    # A worker that claims pages evicts them from the cache: let it take control first.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(live_server + "/en/articles/keep-your-passport")
    page.click("[data-quick-exit]")
    _left_for_the_neutral_site(page, neutral_site)
    _back(page)
    _left_for_the_neutral_site(page, neutral_site)
    # The home page came back whole from the cache (no script ran again): pageshow caught it.
    assert not_restored == []
    context.close()


def test_a_deliberate_visit_after_an_exit_works_and_back_then_is_normal(
    page: Any, live_server: str, neutral_site: str
) -> None:
    page.goto(live_server + "/en/")
    page.click("[data-quick-exit]")
    _left_for_the_neutral_site(page, neutral_site)
    # Typing the address again is a deliberate visit: the hub shows, and clears the flag.
    page.goto(live_server + "/en/help")
    page.goto(live_server + "/en/safety")
    page.go_back()
    page.wait_for_timeout(500)
    assert urlsplit(page.url).path == "/en/help"
    assert "Quick exit" in page.inner_text("body")


def test_escape_twice_leaves_and_back_stays_out(
    page: Any, live_server: str, neutral_site: str
) -> None:
    page.goto(live_server + "/en/")
    page.goto(live_server + "/en/help")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    _left_for_the_neutral_site(page, neutral_site)
    _back(page)
    _left_for_the_neutral_site(page, neutral_site)


def test_escape_held_down_does_not_leave(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/help")
    # Playwright sends a keydown of a key that is still down as a repeat (event.repeat).
    for _ in range(4):
        page.keyboard.down("Escape")
    page.keyboard.up("Escape")
    page.wait_for_timeout(500)
    assert urlsplit(page.url).path == "/en/help"


def test_escape_while_an_input_method_composes_does_not_leave(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/search")
    page.focus("input[name=q]")
    cdp = page.context.new_cdp_session(page)
    # A composition in progress, as a Thai or Burmese keyboard makes: its keydowns compose.
    cdp.send("Input.imeSetComposition", {"text": "ka", "selectionStart": 2, "selectionEnd": 2})
    page.keyboard.press("Escape")
    cdp.send("Input.imeSetComposition", {"text": "kay", "selectionStart": 3, "selectionEnd": 3})
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    assert urlsplit(page.url).path == "/en/search"


def test_escape_with_the_ime_key_code_does_not_leave(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/search")
    page.focus("input[name=q]")
    cdp = page.context.new_cdp_session(page)
    # Android keyboards report the keys they compose with key code 229.
    for _ in range(2):
        for kind in ("rawKeyDown", "keyUp"):
            cdp.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 229},
            )
    page.wait_for_timeout(500)
    assert urlsplit(page.url).path == "/en/search"


def test_one_escape_does_nothing(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/help")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1200)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert urlsplit(page.url).path == "/en/help"


def test_quick_exit_works_without_javascript(
    browser: Any, live_server: str, neutral_site: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/en/")
    page.click("[data-quick-exit]")
    page.wait_for_url(neutral_site)
    context.close()


@pytest.mark.parametrize("locale", ["en", "th", "my", "km"])
def test_no_request_leaves_the_origin_and_no_csp_violation(
    page: Any, live_server: str, locale: str
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto(live_server + f"/{locale}/")
    page.select_option("#corridor-from", "PH")
    page.select_option("#corridor-to", "HK")
    page.click(".corridor button")
    # Back where she was, the choice confirmed.
    page.wait_for_url(live_server + f"/{locale}/?saved=1#corridor")
    assert page.locator('.notes p[role="status"]:not([hidden])').count() == 1
    page.click("a.help-link")
    page.wait_for_load_state()
    page.goto(live_server + f"/{locale}/articles/keep-your-passport")
    origin = urlsplit(live_server).netloc
    assert requests and all(urlsplit(url).netloc == origin for url in requests), requests
    assert errors == []
