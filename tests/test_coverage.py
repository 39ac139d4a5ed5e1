"""The content covers every corridor and every locale: each destination's help page lists what a
worker in trouble needs (issue 13, point 3), and each origin's line for its workers abroad, or
says there is none."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from hub.content import Library, load_library
from hub.content.dialing import first_dialable
from tests.conftest import CONTENT, LOCALES, set_corridor

# For each destination, the entry that fills each need of a worker in trouble, chosen by a
# curator (issue 13): (a) emergency, (b) police or anti-trafficking, (c) the labour authority's
# complaint line, (d) a shelter or CSO that serves women migrant workers, (e) legal aid.
NEEDS = {
    "emergency": {"emergency"},
    "police": {"emergency", "police", "hotline"},
    "labour": {"hotline"},
    "shelter": {"shelter", "cso"},
    "legal-aid": {"legal-aid"},
}
COVERAGE = {
    "HK": (
        "hk-emergency",
        "hk-police-hotline",
        "hk-labour-department-fdh-hotline",
        "hk-bethune-house",
        "hk-help-for-domestic-workers",
    ),
    "SG": (
        "sg-police-999",
        "sg-anti-trafficking-hotline",
        "sg-mom-mdw-helpline",
        "sg-cde",
        "sg-migrant-workers-law-centre",
    ),
    "MY": (
        "my-emergency",
        "my-mapo-anti-trafficking",
        "my-jtk-labour-complaints",
        "my-tenaganita",
        "my-kl-legal-aid-centre",
    ),
    "TW": (
        "tw-emergency-fire-ambulance",
        "tw-emergency-police",
        "tw-1955-foreign-worker-hotline",
        "tw-hope-workers-center",
        "tw-legal-aid-foundation",
    ),
    "TH": (
        "th-emergency-medical",
        "th-emergency-police",
        "th-mol-1506-hotline",
        "th-msdhs-trafficking-shelters",
        "th-justice-fund",
    ),
    "SA": (
        "sa-emergency",
        "sa-police",
        "sa-hrsd-labour-hotline",
        "sa-domestic-worker-shelters",
        "sa-human-rights-commission",
    ),
    "AE": (
        "ae-emergency",
        "ae-ewaa-anti-trafficking",
        "ae-mohre-call-centre",
        "ae-dfwac",
        "ae-adjd-legal-aid",
    ),
    "JP": (
        "jp-emergency-fire-ambulance",
        "jp-emergency-police",
        "jp-labour-standards-hotline",
        "jp-kalakasan",
        "jp-houterasu-multilingual",
    ),
    "KR": (
        "kr-emergency-fire-ambulance",
        "kr-emergency-police",
        "kr-moel-1350",
        "kr-women-migrants-human-rights-center",
        "kr-klac-132",
    ),
}


@pytest.fixture(scope="module")
def library() -> Library:
    loaded, problems = load_library(CONTENT)
    assert [p for p in problems if p.level == "error"] == []
    return loaded


def test_every_destination_has_an_emergency_number(library: Library) -> None:
    for destination in library.site.destinations:
        numbers = [
            s
            for s in library.services.values()
            if s.kind == "emergency" and s.country == destination and not s.verification_needed
        ]
        assert numbers, destination
        # ... that she can dial where she works.
        assert any(first_dialable(s, destination) for s in numbers), destination


def test_every_number_has_a_source_from_2022_or_later(library: Library) -> None:
    for service in library.services.values():
        if service.verification_needed:
            continue
        for number in service.numbers:
            years = [s.date.year for s in service.sources if number in s.numbers]
            assert years and max(years) >= 2022, (service.id, number)


def test_each_destination_covers_every_need_with_an_entry_of_its_kind(library: Library) -> None:
    assert set(COVERAGE) == set(library.site.destinations)
    for destination, ids in COVERAGE.items():
        for (need, kinds), entry_id in zip(NEEDS.items(), ids, strict=True):
            entry = library.services[entry_id]
            assert entry.kind in kinds and entry.country == destination, (need, entry_id)


@pytest.mark.parametrize("destination", sorted(COVERAGE))
def test_the_help_page_lists_every_need_for_workers_of_every_origin(
    shared_client: TestClient, destination: str
) -> None:
    for origin in ("PH", "ID", "VN", "TH", "KH", "MM"):
        if origin == destination:
            continue
        set_corridor(shared_client, origin, destination)
        html = shared_client.get("/en/help").text
        missing = [i for i in COVERAGE[destination] if f'id="service-{i}"' not in html]
        assert missing == [], (origin, destination)


# Lines of the origins for their workers abroad that a worker abroad can call (a number, not
# only a short code that connects inside the country), from their sources; Cambodia has only
# a short code (1297, for workers back home), so its help page says there is none.
HOME_LINES = {
    "PH": "ph-dmw-hotline",
    "ID": "id-kp2mi-call-centre",
    "VN": "vn-mofa-citizen-protection",
    "MM": "mm-mol-hotline",
    "KH": None,
    "TH": "th-mfa-consular-call-centre",
}
NO_LINE = "We know of no line of {} that its workers abroad can call."


def home_section(html: str) -> str:
    start = html.index('id="group-home-hotline"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("origin", sorted(HOME_LINES))
def test_each_origin_has_a_line_for_its_workers_abroad_or_the_page_says_so(
    shared_client: TestClient, origin: str
) -> None:
    names = {
        "PH": "Philippines",
        "ID": "Indonesia",
        "VN": "Vietnam",
        "MM": "Myanmar (Burma)",
        "KH": "Cambodia",
        "TH": "Thailand",
    }
    destination = "MY"
    set_corridor(shared_client, origin, destination)
    section = home_section(shared_client.get("/en/help").text)
    line = HOME_LINES[origin]
    if line is None:
        assert NO_LINE.format(names[origin]) in section
        assert "The services in Malaysia below can help you" in section
        assert 'class="card' not in section
        # ... and the organisations of Cambodia that take its workers' cases abroad.
        html = shared_client.get("/en/help").text
        assert "Organisations in Cambodia that help its workers abroad" in html
        assert 'id="service-kh-central"' in html and 'id="service-kh-lscw"' in html
    else:
        assert f'id="service-{line}"' in section and "We know of no line" not in section


def test_a_short_code_of_home_shows_when_she_is_home_and_not_abroad(
    shared_client: TestClient,
) -> None:
    set_corridor(shared_client, "KH", "KR")
    abroad = shared_client.get("/en/help").text
    assert 'id="service-kh-molvt-hotline"' not in abroad
    shared_client.get("/en/location", params={"in": "origin"}, follow_redirects=False)
    home = shared_client.get("/en/help").text
    section = home_section(home)
    assert 'id="service-kh-molvt-hotline"' in section and 'href="tel:1297"' in section
    assert "We know of no line" not in home


def test_every_article_exists_in_every_locale(library: Library) -> None:
    assert len(library.articles) >= 16
    for article in library.articles.values():
        assert set(article.texts) == set(LOCALES), article.slug
        for locale, text in article.texts.items():
            if locale != "en":
                assert text.translation in ("draft", "reviewed"), (article.slug, locale)


def test_every_article_is_plain_sourced_and_ends_with_help(library: Library) -> None:
    for article in library.articles.values():
        words = len(article.source.plain.split())
        assert 250 <= words <= 700, (article.slug, words)
        assert article.sources, article.slug
        assert "](../help)" in article.source.body.rsplit("##", 1)[-1], article.slug
        assert not re.search(r"\+\d[\d ]{6,}", article.source.body), article.slug


def test_every_directory_entry_is_named_in_every_locale(library: Library) -> None:
    for service in library.services.values():
        assert set(service.name) == set(LOCALES), service.id
        assert service.sources, service.id
        for source in service.sources:
            assert source.url.startswith(("https://", "http://")), service.id


def test_journey_stages_are_all_covered(library: Library) -> None:
    for topic in library.topics:
        assert library.articles_in(topic.id), topic.id
