"""Every page type in en, km and my, measured in the browser: tap targets, axe-core, landmarks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

LOCALES = ("en", "km", "my")
# One page of each type the reader meets; search with a word that finds something in the locale.
PAGE_TYPES = {
    "home": "/{loc}/",
    "home-choice-confirmed": "/{loc}/?saved=1",
    "topic": "/{loc}/topics/before-you-go",
    "article": "/{loc}/articles/keep-your-passport",
    "help": "/{loc}/help",
    "service": "/{loc}/services/hk-emergency",
    "search": "/{loc}/search?q=passport",
    "safety": "/{loc}/safety",
    "offline": "/{loc}/offline",
    "unavailable": "/{loc}/unavailable",
    "not-found": "/{loc}/no-such-page",
}
# WCAG 2.5.5 (Target Size, enhanced): 44 by 44 CSS pixels.
MIN_TARGET = 44
# Everything a finger can activate, visible or reached by Tab (the skip link sits off-screen).
TARGETS = (
    "a[href], button, select, input:not([type=hidden]), textarea, summary,"
    " [tabindex]:not([tabindex='-1'])"
)
MEASURE = """([selector, minimum]) => [...document.querySelectorAll(selector)]
  .filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
  .map(e => {
    const box = e.getBoundingClientRect();
    return {text: (e.textContent || e.name || e.tagName).trim().slice(0, 40), tag: e.tagName,
            width: box.width, height: box.height};
  })
  .filter(t => t.width < minimum || t.height < minimum)"""
SHOW_NOTES = (
    "document.querySelectorAll('#offline-note, #update-note').forEach(e => e.hidden = false)"
)


@pytest.fixture(params=LOCALES)
def phone(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    """A 360 x 740 page in one locale, with a corridor chosen (PH to HK), the notes shown."""
    locale = request.param
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto(live_server + f"/{locale}/corridor?from=PH&to=HK&next=/{locale}/")
    page.locale_code = locale
    yield page
    context.close()


def _visit(page: Any, base: str, path: str) -> None:
    response = page.goto(base + path.format(loc=page.locale_code))
    assert response is not None and response.status in {200, 404}, path
    # The offline and update notes appear on any page at any time: measure them too.
    page.evaluate(SHOW_NOTES)


def test_every_tap_target_is_44px_on_every_page_type(phone: Any, live_server: str) -> None:
    small: dict[str, list[Any]] = {}
    measured = 0
    for name, path in PAGE_TYPES.items():
        _visit(phone, live_server, path)
        measured += phone.evaluate(f"document.querySelectorAll({TARGETS!r}).length")
        found = phone.evaluate(MEASURE, [TARGETS, MIN_TARGET])
        if found:
            small[name] = found
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, name
    assert small == {}
    assert measured > 200


def test_search_page_measured_has_results(phone: Any, live_server: str) -> None:
    _visit(phone, live_server, PAGE_TYPES["search"])
    assert phone.locator(".results li").count() > 0


def test_links_in_running_prose_are_44px_tall_and_stay_inline(phone: Any, live_server: str) -> None:
    _visit(phone, live_server, PAGE_TYPES["article"])
    links = phone.evaluate(
        """() => [...document.querySelectorAll('.prose p a')].map(a => ({
            display: getComputedStyle(a).display,
            height: a.getBoundingClientRect().height,
            line: parseFloat(getComputedStyle(a.parentElement).lineHeight),
            size: parseFloat(getComputedStyle(a.parentElement).fontSize)}))"""
    )
    assert links
    for link in links:
        # Inline: a sentence wraps as written. The box is tall enough to hit, and the lines
        # stay close enough to read as prose (not double spaced).
        assert link["display"] == "inline"
        assert link["height"] >= MIN_TARGET
        assert link["line"] <= 2.2 * link["size"]


@pytest.mark.parametrize("path", ["/my/", "/th/help", "/km/articles/keep-your-passport", "/en/"])
def test_readable_at_320px_with_44px_targets(browser: Any, live_server: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(live_server + "/en/corridor?from=PH&to=HK&next=" + path)
    page.goto(live_server + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.evaluate(MEASURE, [TARGETS, MIN_TARGET]) == []
    context.close()


def _axe_rules(page: Any, axe: Any) -> list[str]:
    page.evaluate(axe.axe_script)
    return list(page.evaluate("axe.getRules().map(rule => rule.ruleId)"))


def test_axe_finds_nothing_on_every_page_type(phone: Any, live_server: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    _visit(phone, live_server, PAGE_TYPES["home"])
    # Every rule axe-core has, those it leaves off by default too (target-size, AAA contrast).
    rules = _axe_rules(phone, axe)
    assert {"region", "target-size", "color-contrast-enhanced", "landmark-unique"} <= set(rules)
    options = {"runOnly": {"type": "rule", "values": rules}, "resultTypes": ["violations"]}
    reports = {}
    for name, path in PAGE_TYPES.items():
        _visit(phone, live_server, path)
        results = axe.run(phone, options=options)
        if results.violations_count:
            reports[name] = results.generate_report()
    assert reports == {}, "\n".join(f"{name}: {report}" for name, report in reports.items())


def test_quick_exit_and_skip_link_are_first_and_inside_a_landmark(
    phone: Any, live_server: str
) -> None:
    for path in PAGE_TYPES.values():
        _visit(phone, live_server, path)
        first_two = phone.evaluate(
            f"""() => [...document.querySelectorAll({TARGETS!r})].slice(0, 2).map(e => [
                e.hasAttribute('data-quick-exit'), e.getAttribute('href'),
                e.closest('header, nav, main, footer, aside, [role]') !== null])"""
        )
        assert first_two[0][0] and first_two[0][2], path
        assert first_two[1][1] == "#main" and first_two[1][2], path
    # Tab reaches the quick exit first, then the skip link, which shows itself on focus.
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.hasAttribute('data-quick-exit')")
    phone.keyboard.press("Tab")
    skip = phone.evaluate(
        """() => { const box = document.activeElement.getBoundingClientRect();
                   return [document.activeElement.getAttribute('href'), box.left, box.height]; }"""
    )
    assert skip[0] == "#main" and skip[1] >= 0 and skip[2] >= MIN_TARGET


def test_quick_exit_stays_in_view_while_reading(phone: Any, live_server: str) -> None:
    _visit(phone, live_server, PAGE_TYPES["help"])
    phone.mouse.wheel(0, 3000)
    phone.wait_for_function("window.scrollY > 1000")
    top = phone.evaluate("document.querySelector('[data-quick-exit]').getBoundingClientRect().top")
    assert top == 0
