"""The reader's pages in a real browser: quick exit, no third-party requests, small screens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest


def test_quick_exit_is_first_in_tab_order(page: Any, live_server: str) -> None:
    page.goto(live_server + "/en/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.hasAttribute('data-quick-exit')")


def test_quick_exit_click_replaces_history(page: Any, live_server: str, neutral_site: str) -> None:
    page.goto(live_server + "/en/")
    page.goto(live_server + "/en/articles/keep-your-passport/")
    page.click("[data-quick-exit]")
    page.wait_for_url(neutral_site)
    page.go_back()
    # The article was replaced: Back leads to the page before it, not to the article.
    assert urlsplit(page.url).path == "/en/"


def test_escape_twice_leaves(page: Any, live_server: str, neutral_site: str) -> None:
    page.goto(live_server + "/en/")
    page.goto(live_server + "/en/help")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(neutral_site)
    page.go_back()
    assert urlsplit(page.url).path == "/en/"


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
    page.wait_for_url(live_server + f"/{locale}/")
    page.click("a.help-link")
    page.wait_for_load_state()
    page.goto(live_server + f"/{locale}/articles/keep-your-passport/")
    origin = urlsplit(live_server).netloc
    assert requests and all(urlsplit(url).netloc == origin for url in requests), requests
    assert errors == []


@pytest.mark.parametrize("path", ["/my/", "/th/help", "/km/articles/keep-your-passport/", "/en/"])
def test_readable_at_320px_with_44px_targets(browser: Any, live_server: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(live_server + "/en/corridor?from=PH&to=HK&next=" + path)
    page.goto(live_server + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    small = page.evaluate(
        """() => [...document.querySelectorAll(
            'a.quick-exit, nav a, .card > a, a.button, a.call, a.chat, button, select, input')]
          .filter(e => e.offsetParent !== null)
          .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect().height])
          .filter(([, h]) => h < 44)"""
    )
    assert small == []
    context.close()
