"""The corridor: chosen with a GET form, remembered in cookies, filtering help and topics."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from tests.conftest import CONTENT, ClientFactory, set_corridor


def _service_ids(html: str) -> list[str]:
    return re.findall(r'id="service-([a-z0-9-]+)"', html)


def test_corridor_form_sets_cookies_and_returns(shared_client: TestClient) -> None:
    response = shared_client.get(
        "/th/corridor",
        params={"from": "ID", "to": "MY", "next": "/th/help"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/th/help?saved=1"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("hub_from=ID") for c in cookies)
    assert any(c.startswith("hub_to=MY") for c in cookies)
    for cookie in cookies:
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "httponly" in cookie.lower()
    html = shared_client.get("/th/").text
    assert re.search(r'<option value="ID" selected>', html)
    assert re.search(r'<option value="MY" selected>', html)


def test_corridor_next_cannot_leave_the_site(shared_client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/en/", "javascript:alert(1)"):
        response = shared_client.get(
            "/th/corridor", params={"from": "PH", "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/th/?saved=1", target


def test_unknown_country_is_a_clear_400_that_changes_nothing(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    response = shared_client.get("/en/corridor", params={"from": "ZZ", "to": "HK"})
    assert response.status_code == 400
    assert "could not be handled" in response.text
    assert "hub_from" not in response.headers.get("set-cookie", "")
    assert 'id="service-ph-consulate-hong-kong"' in shared_client.get("/en/help").text


def test_help_without_corridor_asks_for_it(shared_client: TestClient) -> None:
    html = shared_client.get("/en/help").text
    assert 'name="from"' in html
    assert _service_ids(html) == []


def test_help_lists_the_corridor_in_order_of_need(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/help").text
    ids = _service_ids(html)
    groups = re.findall(r'id="group-([a-z-]+)"', html)
    assert groups[0] == "emergency"
    assert groups.index("home-hotline") < groups.index("embassy") < groups.index("local-hotline")
    assert ids[0] == "hk-emergency"
    assert "ph-dmw-hotline" in ids and "ph-consulate-hong-kong" in ids
    assert ids.index("ph-dmw-hotline") < ids.index("ph-consulate-hong-kong")
    # Nothing from another corridor.
    assert not any(i.startswith(("id-", "my-")) for i in ids)


def test_help_for_the_other_corridor(shared_client: TestClient) -> None:
    set_corridor(shared_client, "ID", "MY")
    ids = _service_ids(shared_client.get("/en/help").text)
    assert ids[0] == "my-emergency"
    assert "id-embassy-kuala-lumpur" in ids and "id-kp2mi-call-centre" in ids
    assert not any(i.startswith(("ph-", "hk-")) for i in ids)


def test_directory_entry_shows_everything_a_caller_needs(shared_client: TestClient) -> None:
    html = shared_client.get("/en/services/hk-labour-department-fdh-hotline").text
    # No corridor yet: dialled as from Hong Kong, where its readers are.
    assert 'href="tel:21579537"' in html and "2157 9537" in html
    for label in ("Hours", "Languages spoken", "Source"):
        assert f"<dt>{label}</dt>" in html
    assert "Last verified on" in html
    assert "Not recently verified" not in html
    set_corridor(shared_client, "PH", "HK")
    shared_client.get("/en/location", params={"in": "origin"}, follow_redirects=False)
    html = shared_client.get("/en/services/hk-labour-department-fdh-hotline").text
    assert 'href="tel:+85221579537"' in html and "+852 2157 9537" in html


def _facts(html: str) -> str:
    return html.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]


def test_unknown_facts_are_left_out_and_sources_are_named(
    content_copy: Path, make_client: ClientFactory
) -> None:
    path = content_copy / "services" / "hk-emergency.yml"
    text = re.sub(r"^(cost|confidential): .*\n", "", path.read_text(encoding="utf-8"), flags=re.M)
    path.write_text(text, encoding="utf-8")
    client = make_client(content_copy)
    facts = _facts(client.get("/en/services/hk-emergency").text)
    assert "<dt>Cost</dt>" not in facts and "<dt>Confidential</dt>" not in facts
    assert "Not known" not in facts
    # hk-emergency.yml's sources (dated 2022 and "2017-11"): each link reads as the site's name
    # and the page's date, as precise as the file gives it, never as the raw address.
    links = re.findall(r'<a href="(https://[^"]+)"[^>]*>([^<]+)</a>', facts)
    assert links == [
        ("https://www.police.gov.hk/offbeat/1205/eng/9014.html", "police.gov.hk, 2022"),
        (
            "https://police.gov.hk/info/doc/pledge/2017/html/Operations/EN/OperationEN.htm",
            "police.gov.hk, November 2017",
        ),
    ]
    thai = _facts(client.get("/th/services/hk-emergency").text)
    assert "ไม่ทราบ" not in thai  # "not known"


def test_help_opens_with_call_now_buttons(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/help").text
    main = html.split("<main", 1)[1]
    call_now = main.split('<section class="call-now"', 1)[1].split("</section>", 1)[0]
    # Before any detail: the list comes before the first group of cards.
    assert main.index('class="call-now"') < main.index('id="group-')
    buttons = re.findall(
        r'<a class="call big" href="tel:([^"]+)"><span class="who">([^<]+)</span>', call_now
    )
    assert buttons[0] == ("999", "Hong Kong emergency (police, fire, ambulance)")
    names = [name for _, name in buttons]
    assert "Labour Department hotline for foreign domestic helpers" in names
    # One per group: as many buttons as groups with a verified number that can be called.
    assert len(buttons) <= len(re.findall(r'id="group-', main))
    # The Philippine hotline's short code works only at home, so its button is a number
    # that can be called from Hong Kong, or it has none.
    assert all(href != "1348" for href, _ in buttons)


def test_change_link_returns_to_the_page_she_was_on(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/help").text
    change = re.search(r'<a class="change" href="([^"]+)">Change</a>', html)
    assert change is not None and change.group(1) == "/en/corridor?next=/en/help"
    form = shared_client.get(change.group(1).replace("&amp;", "&"))
    assert form.status_code == 200
    assert 'name="next" value="/en/help"' in form.text
    assert '<option value="PH" selected>' in form.text
    saved = shared_client.get(
        "/en/corridor", params={"from": "ID", "to": "SG", "next": "/en/help"}, follow_redirects=True
    )
    assert str(saved.url).endswith("/en/help?saved=1")
    assert 'role="status"' in saved.text
    assert "Saved. You will see information for people from Indonesia working in Singapore." in (
        saved.text
    )
    # The confirmation is said once; the plain page does not repeat it.
    assert "Saved." not in shared_client.get("/en/help").text


def test_home_form_confirms_and_returns_to_the_form(shared_client: TestClient) -> None:
    home = shared_client.get("/en/").text
    assert 'name="next" value="/en/#corridor"' in home
    response = shared_client.get(
        "/en/corridor",
        params={"from": "VN", "to": "TW", "next": "/en/#corridor"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/en/?saved=1#corridor"
    page = shared_client.get("/en/?saved=1").text
    assert "Saved. You will see information for people from Vietnam working in Taiwan." in page


def test_only_her_own_country_still_shows_its_hotline(shared_client: TestClient) -> None:
    shared_client.get("/en/corridor", params={"from": "PH", "to": ""}, follow_redirects=False)
    html = shared_client.get("/en/help").text
    assert "Choose where you work too" in html
    assert 'name="to"' in html
    assert "ph-dmw-hotline" in _service_ids(html)
    assert 'id="group-emergency"' not in html
    # Abroad in a country she has not named: numbers that work from any other country only.
    assert "Numbers are shown to call from abroad." in html
    assert 'href="tel:1348"' not in html
    saved = shared_client.get("/en/?saved=1").text
    assert "Saved. You are from Philippines." in saved
    assert "Choose where you work too" in saved


def test_only_the_destination_still_shows_its_emergency_numbers(shared_client: TestClient) -> None:
    shared_client.get("/en/corridor", params={"from": "", "to": "MY"}, follow_redirects=False)
    html = shared_client.get("/en/help").text
    assert "Choose where you are from too" in html
    ids = _service_ids(html)
    assert ids[0] == "my-emergency"
    assert 'id="group-embassy"' not in html and 'id="group-home-hotline"' not in html
    assert re.search(
        r'href="tel:999">Emergency in Malaysia: call 999<', shared_client.get("/en/").text
    )


def test_at_home_her_own_country_comes_first(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    shared_client.get("/en/location", params={"in": "origin"}, follow_redirects=False)
    html = shared_client.get("/en/help").text
    groups = re.findall(r'id="group-([a-z-]+)"', html)
    assert groups[:2] == ["emergency", "home-hotline"]
    assert "Emergency numbers in Philippines" in html
    assert "Emergency numbers in Hong Kong" not in html and "hk-emergency" not in html
    assert "I am in Hong Kong SAR China now" in html
    call_now = html.split('<section class="call-now"', 1)[1].split("</section>", 1)[0]
    assert call_now.index('href="tel:1348"') < call_now.index('href="tel:+852')


def test_unverified_entry_shows_a_notice_and_no_number(shared_client: TestClient) -> None:
    html = shared_client.get("/en/services/ph-mwo-hong-kong").text
    assert "Not recently verified" in html
    assert "tel:" not in html


def test_old_verification_shows_a_notice(content_copy: Path, make_client: ClientFactory) -> None:
    path = content_copy / "services" / "hk-emergency.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"verified_on: .*", "verified_on: 2020-01-01", text), encoding="utf-8")
    client = make_client(content_copy)
    set_corridor(client, "PH", "HK")
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
    link = 'href="/en/articles/keep-your-passport"'
    assert link in client.get("/en/topics/at-work").text  # no corridor: everything
    set_corridor(client, "ID", "MY")
    assert link not in client.get("/en/topics/at-work").text
    set_corridor(client, "PH", "HK")
    assert link in client.get("/en/topics/at-work").text


def test_home_hotlines_are_those_for_her_people_abroad(shared_client: TestClient) -> None:
    set_corridor(shared_client, "TH", "HK")
    html = shared_client.get("/en/help").text
    home = html.split('id="group-home-hotline"', 1)[1].split("</section>\n</section>", 1)[0]
    ids = _service_ids(home.split('id="group-', 1)[0])
    # Thailand's consular call centre serves Thai workers abroad; the labour ministry's 1506
    # serves them too, but is a short code that connects only inside Thailand. Each entry listed
    # says it serves them in its own content file, read here without the hub's loader.
    assert "th-mfa-consular-call-centre" in ids and "th-mol-1506-hotline" not in ids
    for service_id in ids:
        entry = yaml.safe_load((CONTENT / "services" / f"{service_id}.yml").read_text("utf-8"))
        assert "TH" in entry.get("serves", []), service_id


def test_a_corridor_needs_two_countries_that_differ(shared_client: TestClient) -> None:
    response = shared_client.get(
        "/en/corridor", params={"from": "TH", "to": "TH"}, follow_redirects=False
    )
    assert response.status_code == 400
    assert "hub_from" not in response.headers.get("set-cookie", "")


def test_a_next_path_longer_than_any_page_goes_home(shared_client: TestClient) -> None:
    target = "/en/" + "a" * 3000
    for path, params in (("/en/corridor", {"from": "PH"}), ("/en/location", {"in": "origin"})):
        response = shared_client.get(
            path, params={**params, "next": target}, follow_redirects=False
        )
        assert response.headers["location"].startswith("/en/?saved="), path


def test_languages_spoken_are_named_in_every_locale(shared_client: TestClient) -> None:
    # The directory writes Tagalog as "tl"; Khmer and Burmese CLDR data name it as Filipino.
    html = shared_client.get("/km/services/ph-dmw-hotline").text
    spoken = html.split("<dd>", 2)[2].split("</dd>", 1)[0]
    assert "tl" not in spoken and "ហ្វ៊ីលីពីន" in spoken


HOME_CSO = """kind: {kind}
name: {{en: {name}, fil: {name}, id: {name}, vi: {name}, th: {name}, km: {name}, my: {name}}}
country: KH
{serves}website: https://example.org/
sources:
  - url: https://example.org/about
    date: 2025-01-01
    numbers: []
verification: needed
"""


def test_organisations_of_her_country_for_its_workers_abroad_follow_her_own_groups(
    make_client: ClientFactory, content_copy: Path
) -> None:
    services = content_copy / "services"
    for entry, kind, serves in (
        ("kh-legal-help", "legal-aid", "serves: [KH]\n"),
        ("kh-returnee-union", "cso", "serves: [KH]\n"),
        # No `serves`: an organisation for everyone in Cambodia, not for Cambodians abroad.
        ("kh-local-club", "cso", ""),
    ):
        name = entry.replace("-", " ").title()
        text = HOME_CSO.format(kind=kind, name=name, serves=serves)
        (services / f"{entry}.yml").write_text(text, encoding="utf-8")
    client = make_client(content_copy)
    set_corridor(client, "KH", "MY")
    html = client.get("/en/help").text
    assert "Organisations in Cambodia that help its workers abroad" in html
    # The last group: up to the note after the groups.
    section = html.split('id="group-home-cso"', 1)[1].split('<p class="notice">', 1)[0]
    ids = _service_ids(section)
    # Organisations before legal aid, as in the groups where she works.
    assert ids.index("kh-returnee-union") < ids.index("kh-legal-help")
    for service_id in ids:
        entry = yaml.safe_load((services / f"{service_id}.yml").read_text("utf-8"))
        assert entry["country"] == "KH" and "KH" in entry["serves"], service_id
    assert 'id="service-kh-local-club"' not in html
    # The help page's own groups come first; hers at the end.
    groups = re.findall(r'<section class="group" aria-labelledby="group-([a-z-]+)"', html)
    assert groups[-1] == "home-cso" and groups[0] == "emergency"
    # A Filipino reader in Malaysia sees none of them.
    set_corridor(client, "PH", "MY")
    other = client.get("/en/help").text
    assert "group-home-cso" not in other and "kh-legal-help" not in other
