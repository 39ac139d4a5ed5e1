"""The corridor: chosen with a GET form, remembered in cookies, filtering help and topics."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from tests.conftest import ClientFactory, set_corridor


def _service_ids(html: str) -> list[str]:
    return re.findall(r'id="service-([a-z0-9-]+)"', html)


def test_corridor_form_sets_cookies_and_returns(client: TestClient) -> None:
    response = client.get(
        "/th/corridor",
        params={"from": "ID", "to": "MY", "next": "/th/help"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/th/help"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("hub_from=ID") for c in cookies)
    assert any(c.startswith("hub_to=MY") for c in cookies)
    for cookie in cookies:
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "httponly" in cookie.lower()
    html = client.get("/th/").text
    assert re.search(r'<option value="ID" selected>', html)
    assert re.search(r'<option value="MY" selected>', html)


def test_corridor_next_cannot_leave_the_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/en/", "javascript:alert(1)"):
        response = client.get(
            "/th/corridor", params={"from": "PH", "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/th/", target


def test_unknown_country_is_a_clear_400_that_changes_nothing(client: TestClient) -> None:
    set_corridor(client, "PH", "HK")
    response = client.get("/en/corridor", params={"from": "ZZ", "to": "HK"})
    assert response.status_code == 400
    assert "could not be handled" in response.text
    assert "hub_from" not in response.headers.get("set-cookie", "")
    assert 'id="service-ph-consulate-hong-kong"' in client.get("/en/help").text


def test_help_without_corridor_asks_for_it(client: TestClient) -> None:
    html = client.get("/en/help").text
    assert 'name="from"' in html
    assert _service_ids(html) == []


def test_help_lists_the_corridor_in_order_of_need(client: TestClient) -> None:
    set_corridor(client, "PH", "HK")
    html = client.get("/en/help").text
    ids = _service_ids(html)
    groups = re.findall(r'id="group-([a-z-]+)"', html)
    assert groups[0] == "emergency"
    assert groups.index("home-hotline") < groups.index("embassy") < groups.index("local-hotline")
    assert ids[0] == "hk-emergency"
    assert "ph-dmw-hotline" in ids and "ph-consulate-hong-kong" in ids
    assert ids.index("ph-dmw-hotline") < ids.index("ph-consulate-hong-kong")
    # Nothing from another corridor.
    assert not any(i.startswith(("id-", "my-")) for i in ids)


def test_help_for_the_other_corridor(client: TestClient) -> None:
    set_corridor(client, "ID", "MY")
    ids = _service_ids(client.get("/en/help").text)
    assert ids[0] == "my-emergency"
    assert "id-embassy-kuala-lumpur" in ids and "id-kp2mi-call-centre" in ids
    assert not any(i.startswith(("ph-", "hk-")) for i in ids)


def test_directory_entry_shows_everything_a_caller_needs(client: TestClient) -> None:
    html = client.get("/en/services/hk-labour-department-fdh-hotline").text
    assert 'href="tel:+85221579537"' in html
    assert "+852 2157 9537" in html
    for label in ("Hours", "Languages spoken", "Cost", "Confidential", "Source"):
        assert f"<dt>{label}</dt>" in html
    assert "Last verified on" in html
    assert "Not recently verified" not in html


def test_unverified_entry_shows_a_notice_and_no_number(client: TestClient) -> None:
    html = client.get("/en/services/ph-mwo-hong-kong").text
    assert "Not recently verified" in html
    assert "tel:" not in html


def test_old_verification_shows_a_notice(content_copy: Path, make_client: ClientFactory) -> None:
    path = content_copy / "services" / "hk-emergency.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"verified_on: .*", "verified_on: 2020-01-01", text), encoding="utf-8")
    client = make_client(content_copy)
    html = client.get("/en/services/hk-emergency").text
    assert "last checked more than a year ago" in html
    assert 'href="tel:999"' in html


def test_topic_page_filters_articles_by_corridor(
    content_copy: Path, make_client: ClientFactory
) -> None:
    path = content_copy / "articles" / "keep-your-passport" / "en.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("topics: [at-work]", "topics: [at-work]\ncountries: [HK]", 1))
    client = make_client(content_copy)
    link = 'href="/en/articles/keep-your-passport/"'
    assert link in client.get("/en/topics/at-work").text  # no corridor: everything
    set_corridor(client, "ID", "MY")
    assert link not in client.get("/en/topics/at-work").text
    set_corridor(client, "PH", "HK")
    assert link in client.get("/en/topics/at-work").text


def test_home_hotlines_are_those_for_her_people_abroad(client: TestClient) -> None:
    set_corridor(client, "TH", "HK")
    html = client.get("/en/help").text
    home = html.split('id="group-home-hotline"', 1)[1].split("</section>\n</section>", 1)[0]
    ids = _service_ids(home.split('id="group-', 1)[0])
    library = client.app.state.library  # type: ignore[attr-defined]
    assert ids and all("TH" in library.services[i].serves for i in ids)
