"""The console in the system Chromium at 360 px wide, as the app serves it (CSP included)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.alerts import Draft
from hub.settings import Settings
from tests.conftest import (
    CONSOLE_ACCOUNTS,
    CONSOLE_PASSWORD,
    ClientFactory,
    post_form,
    sign_in_as,
)


@pytest.fixture
def admin_client(make_console_client: ClientFactory) -> Iterator[TestClient]:
    """The app with an account of each role, the admin signed in."""
    client = make_console_client()
    sign_in_as(client, "admin")
    yield client


def test_checkboxes_and_radio_buttons_are_24px_targets(
    context: Any, admin_client: TestClient
) -> None:
    """On the admin's page of a leader's account, every box is at least 24 x 24 CSS px
    (WCAG 2.5.8), styled by console.css, and nothing has an inline style."""
    leader = admin_client.app.state.accounts.get(CONSOLE_ACCOUNTS["leader"][0])  # type: ignore[attr-defined]

    def through_the_app(route: Any) -> None:
        asked = urlsplit(route.request.url)
        path = asked.path + (f"?{asked.query}" if asked.query else "")
        answer = admin_client.get(path, follow_redirects=False)
        headers = {k: v for k, v in answer.headers.items() if k != "content-encoding"}
        route.fulfill(status=answer.status_code, headers=headers, body=answer.content)

    page = context.new_page()
    page.route("http://testserver/**", through_the_app)
    page.goto(f"http://testserver/admin/accounts/{leader.id}")
    sizes = page.evaluate(
        """() => {
            document.querySelectorAll("details").forEach((d) => { d.open = true; });
            const radio = document.createElement("input");
            radio.type = "radio";
            document.querySelector("form.form").prepend(radio);
            return [...document.querySelectorAll("input[type=checkbox], input[type=radio]")]
                .map((box) => {
                    const r = box.getBoundingClientRect();
                    return [box.type, r.width, r.height];
                });
        }"""
    )
    inline = page.evaluate("() => document.querySelectorAll('[style]').length")
    # Every corridor of the site (53) and every locale (7) is a checkbox, and so is "trusted"
    # (a leader's alerts go out without review).
    assert len([s for s in sizes if s[0] == "checkbox"]) == 53 + 7 + 1
    assert [s for s in sizes if s[0] == "radio"]
    small = [s for s in sizes if s[1] < 24 or s[2] < 24]
    assert small == [], small[:3]
    assert inline == 0


# -- Every console page at 360 px: axe, overflow, CSP; and a sign-in without JavaScript ---------

BASE = "http://testserver"
# Who opens each page: the role that may (the lowest for pages open to every role), or nobody.
# `{leader}` is the leader's account id, `{token}` a fresh invitation link's token, `{alert}`
# the id of an alert the leader submitted (waiting for review).
CONSOLE_PAGES = {
    "login": (None, "/login"),
    "invitation": (None, "/invitation?token={token}"),
    "account": ("leader", "/account"),
    "two-factor": ("leader", "/account/two-factor"),
    "admin-home": ("admin", "/admin/"),
    "accounts": ("admin", "/admin/accounts"),
    "invite": ("admin", "/admin/accounts/new"),
    "account-of-leader": ("admin", "/admin/accounts/{leader}"),
    "audit": ("admin", "/admin/audit"),
    "leaders-home": ("leader", "/leaders/"),
    "leaders-corridor": ("leader", "/leaders/PH-HK"),
    "leaders-alerts": ("leader", "/leaders/alerts"),
    "alert-compose": ("leader", "/leaders/alerts/new"),
    "alert-report": ("leader", "/leaders/alerts/{alert}"),
    "alerts-queue": ("curator", "/admin/alerts"),
    "alert-review": ("curator", "/admin/alerts/{alert}"),
    "translation": ("translator", "/admin/articles/keep-your-passport/th"),
    "articles": ("curator", "/admin/articles"),
    "articles-of-a-translator": ("translator", "/admin/articles?topic=at-work"),
    "article-edit": ("curator", "/admin/articles/keep-your-passport"),
    "article-new": ("admin", "/admin/articles/new"),
}
# Headers of the browser's request the app should not get from a forwarder: httpx sets them.
NOT_FORWARDED = {"host", "content-length"}


class ConsoleSite:
    """One app for the module, served to Chromium through `page.route`, the browser's own
    cookies sent and kept (the client's jar stays empty), and sessions started directly."""

    def __init__(self, client: TestClient, token: str, alert: str) -> None:
        self.client = client
        self.token = token
        self.alert = alert
        self.state: Any = client.app.state  # type: ignore[attr-defined]

    def url(self, path: str) -> str:
        leader = self.state.accounts.get(CONSOLE_ACCOUNTS["leader"][0])
        return BASE + path.format(leader=leader.id, token=self.token, alert=self.alert)

    def serve(self, route: Any) -> None:
        """Answer the browser's request with the app's response, cookies both ways."""
        request = route.request
        asked = urlsplit(request.url)
        path = asked.path + (f"?{asked.query}" if asked.query else "")
        headers = {k: v for k, v in request.all_headers().items() if k not in NOT_FORWARDED}
        self.client.cookies.clear()
        answer = self.client.request(
            request.method,
            path,
            headers=headers,
            content=request.post_data_buffer,
            follow_redirects=False,
        )
        sent: dict[str, str] = {}
        for name, value in answer.headers.multi_items():
            if name == "content-encoding":
                continue
            # Playwright takes several Set-Cookie values as one, a line each.
            sent[name] = f"{sent[name]}\n{value}" if name in sent else value
        route.fulfill(status=answer.status_code, headers=sent, body=answer.content)

    def open(self, browser: Any, role: str | None, *, javascript: bool = True) -> Any:
        """A 360 x 740 context served by the app, signed in as `role` (None: nobody)."""
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, java_script_enabled=javascript
        )
        context.set_default_timeout(15000)
        context.route(f"{BASE}/**", self.serve)
        if role is not None:
            account = self.state.accounts.get(CONSOLE_ACCOUNTS[role][0])
            cookie, _ = self.state.sessions.start(account)
            context.add_cookies([{"name": "hub_session", "value": cookie, "url": BASE}])
        return context


@pytest.fixture(scope="module")
def console_site(
    tmp_path_factory: pytest.TempPathFactory, console_data: Path
) -> Iterator[ConsoleSite]:
    """The app with an account of each role and a person the admin invited through the form,
    with a long email: the accounts list, the audit log and a link have something as wide as
    a real one in them. Nobody stays signed in on the client: the browser holds the cookies."""
    data_dir = tmp_path_factory.mktemp("console-browser") / "var"
    shutil.copytree(console_data, data_dir)
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        sign_in_as(client, "admin")
        invited = post_form(
            client,
            "/admin/accounts/new",
            "/admin/accounts/new",
            {
                "email": "maria.santos-delacruz@migrant-workers.example.org",
                "display_name": "Maria Santos dela Cruz",
                "role": "translator",
                "locales": "th",
            },
        )
        found = re.search(r"/invitation\?token=([\w-]+)", invited.text)
        assert invited.status_code == 200 and found is not None, invited.text[:500]
        sign_out = post_form(client, "/account", "/logout")
        assert sign_out.status_code == 303
        state = client.app.state  # type: ignore[attr-defined]
        leader = state.accounts.set_network(CONSOLE_ACCOUNTS["leader"][0], "Bayanihan Hong Kong")
        expires = (state.alerts.clock() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        title = "The shelter's night line has a new number from Monday"
        body = "Call 2345 6789 after 6 pm. " * 20
        draft = Draft(
            texts={"en": {"title": title, "body": body}, "fil": {"title": title, "body": body}},
            corridors=["PH-HK"],
            locales=["en", "fil"],
            topic="safety",
            expires=expires,
        )
        alert = state.alerts.submit(leader, draft)
        yield ConsoleSite(client, found.group(1), alert["id"])


@pytest.fixture(scope="module")
def axe_rules(browser: Any) -> list[str]:
    """Every rule axe-core has, those it leaves off by default too (target-size, AAA contrast),
    as test_accessibility.py runs them on the reader's pages."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context()
    try:
        page = context.new_page()
        page.evaluate(Axe().axe_script)
        rules = list(page.evaluate("axe.getRules().map(rule => rule.ruleId)"))
    finally:
        context.close()
    assert {"region", "target-size", "color-contrast-enhanced", "landmark-unique"} <= set(rules)
    return rules


def _assert_clean_at_360px(page: Any, axe_rules: list[str], reports: list[str]) -> None:
    """The page as loaded: no axe violation of `axe_rules`, no wider than 360 px, and no
    Content-Security-Policy report."""
    from axe_playwright_python.sync_playwright import Axe

    width = page.evaluate("document.scrollingElement.scrollWidth")
    options = {"runOnly": {"type": "rule", "values": axe_rules}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    assert results.violations_count == 0, results.generate_report()
    assert width <= 360
    assert reports == []


def _csp_reports(page: Any) -> list[str]:
    """Console messages of the page that report a Content-Security-Policy violation."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


@pytest.mark.parametrize("name", list(CONSOLE_PAGES))
def test_console_page_passes_axe_fits_360px_and_keeps_to_its_csp(
    browser: Any, console_site: ConsoleSite, axe_rules: list[str], name: str
) -> None:
    """Each console page, as the role that may open it: every axe-core rule (those off by
    default too, as for the reader's pages), no sideways scrolling, no CSP report."""
    role, path = CONSOLE_PAGES[name]
    context = console_site.open(browser, role)
    try:
        page = context.new_page()
        reports = _csp_reports(page)
        response = page.goto(console_site.url(path))
        assert response is not None and response.status == 200, response and response.status
        assert urlsplit(page.url).path == urlsplit(console_site.url(path)).path
        _assert_clean_at_360px(page, axe_rules, reports)
    finally:
        context.close()


def test_a_leader_signs_in_and_out_without_javascript(
    browser: Any, console_site: ConsoleSite
) -> None:
    """With JavaScript off, the sign-in form takes the leader to /leaders/ and the header's
    button signs her out: her session cookie gone, and ended on the server."""
    context = console_site.open(browser, None, javascript=False)
    try:
        page = context.new_page()
        reports = _csp_reports(page)
        asked: list[str] = []
        page.on("request", lambda request: asked.append(urlsplit(request.url).path))
        page.goto(f"{BASE}/login")
        page.fill("#email", CONSOLE_ACCOUNTS["leader"][0])
        page.fill("#password", CONSOLE_PASSWORD)
        # Chromium reports the redirect's first try as failed before the route answers it:
        # wait for the page it lands on rather than for the first navigation.
        page.click("main button[type=submit]")
        page.wait_for_url(f"{BASE}/leaders/")
        assert page.locator("h1").count() == 1
        assert page.locator("a[href='/leaders/PH-HK']").count() == 1
        session = [c["value"] for c in context.cookies() if c["name"] == "hub_session"]
        assert len(session) == 1 and session[0]
        page.click(".sign-out button")
        page.wait_for_url(f"{BASE}/login?notice=signed_out")
        assert page.locator(".notice[role=status]").count() == 1
        assert not [c for c in context.cookies() if c["name"] == "hub_session" and c["value"]]
        # The server ended it too: the old cookie, sent again, opens nothing.
        console_site.client.cookies.clear()
        again = console_site.client.get(
            "/leaders/", headers={"cookie": f"hub_session={session[0]}"}, follow_redirects=False
        )
        assert again.status_code == 303
        assert again.headers["location"].startswith("/login")
        assert reports == []
        # JavaScript was off indeed: the pages' script was never even fetched.
        assert "/logout" in asked and not [p for p in asked if p.endswith(".js")]
    finally:
        context.close()


def test_a_leader_sees_her_counts_and_the_preview_fits_360px(
    browser: Any, console_site: ConsoleSite, axe_rules: list[str]
) -> None:
    """compose.js counts her title as she types (an emoji is one character), and the preview
    the form leads to passes every axe-core rule, fits 360 px and keeps to the CSP."""
    context = console_site.open(browser, "leader")
    try:
        page = context.new_page()
        reports = _csp_reports(page)
        page.goto(console_site.url("/leaders/alerts/new"))
        page.fill("#title-en", "Rest day rule from 1 March \N{SMILING FACE WITH SMILING EYES}")
        counter = page.locator("[data-count-for='title-en'] .counter")
        assert counter.text_content() is not None
        assert counter.text_content().startswith("28")  # 27 letters and spaces, 1 emoji
        page.fill("#body-en", "Your employer must give you one rest day every week.")
        page.check("input[name=corridors][value=PH-HK]")
        page.check("input[name=locales][value=en]")
        page.check("input[name=topic][value=rules]")
        page.click("button[name=action][value=preview]")
        page.wait_for_load_state()
        assert page.locator("h1").count() == 1
        assert "Rest day rule from 1 March" in page.content()
        _assert_clean_at_360px(page, axe_rules, reports)
    finally:
        context.close()
