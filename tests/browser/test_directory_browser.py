"""The directory console in the system Chromium at 360 px wide, as the app serves it: its pages
pass axe and keep to the CSP, and the phone check shows the server's answer as she types."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_console_browser import (
    ConsoleSite,
    _assert_clean_at_360px,
    _csp_reports,
    axe_rules,
    console_site,
)

__all__ = ["axe_rules", "console_site"]

PAGES = {
    "directory": "/admin/directory",
    "entry": "/admin/directory/ph-dmw-hotline",
    "new-entry": "/admin/directory/new",
    "import": "/admin/directory/import",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_directory_page_passes_axe_fits_360px_and_keeps_to_its_csp(
    browser: Any, console_site: ConsoleSite, axe_rules: list[str], name: str
) -> None:
    context = console_site.open(browser, "curator")
    try:
        page = context.new_page()
        reports = _csp_reports(page)
        response = page.goto(console_site.url(PAGES[name]))
        assert response is not None and response.status == 200
        _assert_clean_at_360px(page, axe_rules, reports)
    finally:
        context.close()


def test_the_phone_check_answers_as_she_types(browser: Any, console_site: ConsoleSite) -> None:
    context = console_site.open(browser, "curator")
    try:
        page = context.new_page()
        reports = _csp_reports(page)
        page.goto(console_site.url("/admin/directory/hk-labour-department-fdh-hotline"))
        phone = page.locator("#phone")
        answer = page.locator("#phone-check")
        phone.fill("")
        phone.type("852 2157 9537")
        answer.filter(has_text="E.164").wait_for()
        phone.fill("+852 2157-9537")
        phone.dispatch_event("input")
        answer.filter(has_text="+852 2157 9537").wait_for()
        short = page.locator("#short_number")
        short.fill("1348")
        short.dispatch_event("input")
        page.locator("#short_number-check").filter(has_text="not in libphonenumber").wait_for()
        assert reports == []
    finally:
        context.close()
