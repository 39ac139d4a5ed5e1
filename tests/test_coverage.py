"""The starter content pack covers every corridor and every locale."""

from __future__ import annotations

import re

import pytest

from hub.content import Library, load_library
from hub.content.dialing import first_dialable
from tests.conftest import CONTENT, LOCALES


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


def test_every_origin_has_a_hotline(library: Library) -> None:
    for origin in library.site.origins:
        groups = dict(library.help_groups(origin, library.site.destinations[0]))
        assert groups.get("home-hotline"), origin


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
