"""The console in the system Chromium at 360 px wide, as the app serves it (CSP included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tests.conftest import CONSOLE_ACCOUNTS, ClientFactory, sign_in_as


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
    # Every corridor of the site (53) and every locale (7) is a checkbox.
    assert len([s for s in sizes if s[0] == "checkbox"]) == 53 + 7
    assert [s for s in sizes if s[0] == "radio"]
    small = [s for s in sizes if s[1] < 24 or s[2] < 24]
    assert small == [], small[:3]
    assert inline == 0
