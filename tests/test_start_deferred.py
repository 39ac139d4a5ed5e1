"""A first start serves before every body is rendered and every index made, then warms up in a
worker thread; articles are read on every CPU; compiled catalogs are kept between starts."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.content.loader
import hub.content.shares
import hub.i18n
from hub.app import create_app
from hub.content.cache import ContentCache
from hub.content.loader import load_tree
from hub.content.shares import in_shares
from hub.i18n import I18n, catalog_cache
from hub.reload import Content
from hub.settings import Settings
from tests.conftest import CONTENT
from tests.test_i18n import HOSTILE, _plant

ARTICLE = "articles/keep-your-passport/en.md"
BROKEN = "/en/articles/no-such-article"


def app_of(client: TestClient) -> Starlette:
    assert isinstance(client.app, Starlette)
    return client.app


def wait_warmed(client: TestClient) -> None:
    assert client.portal is not None
    client.portal.call(app_of(client).state.warmed.wait)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds every app's warm-up until set (or until the app stops): what a reader sees in the
    seconds a large tree takes to warm up, made long enough to look at."""
    opened = threading.Event()
    warm = Content.warm

    def held(self: Content, stop: threading.Event | None = None) -> bool:
        for _ in range(1200):  # 60 s at most
            if opened.is_set() or (stop is not None and stop.is_set()):
                break
            time.sleep(0.05)
        return warm(self, stop)

    monkeypatch.setattr(Content, "warm", held)
    yield opened
    opened.set()


def headings(path: Path) -> list[str]:
    """The second-level headings of a Markdown file, read from the file itself."""
    return re.findall(r"^## (.+)$", path.read_text(encoding="utf-8"), flags=re.M)


def test_a_first_start_serves_pages_and_search_before_the_warm_up(
    content_copy: Path, tmp_path: Path, gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    article = content_copy / ARTICLE
    article.write_text(
        article.read_text(encoding="utf-8") + f"\nSee [this page]({BROKEN}).\n", encoding="utf-8"
    )
    settings = Settings(data_dir=tmp_path / "var", content_dir=content_copy)
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        state = app_of(client).state
        page = client.get("/en/articles/keep-your-passport")
        assert page.status_code == 200
        for heading in headings(article):
            assert f">{heading}</h2>" in page.text
        assert f'href="{BROKEN}"' in page.text
        found = client.get("/en/search", params={"q": "passport"})
        assert found.status_code == 200
        assert 'href="/en/articles/keep-your-passport"' in found.text
        # Still held: the link is not checked yet, nothing is written to the data folder.
        assert not state.warmed.is_set()
        assert "does not lead to a page of the hub" not in caplog.text
        assert "links not checked yet" in caplog.text
        assert not (tmp_path / "var" / "cache" / "content.marshal").exists()
        gate.set()
        wait_warmed(client)
        assert f"link '{BROKEN}' does not lead to a page of the hub" in caplog.text
        assert "content warmed up" in caplog.text
        # Every locale's index made, the content cache written.
        assert all(state.search.ready(locale) is not None for locale in state.search)
    assert (tmp_path / "var" / "cache" / "content.marshal").stat().st_size > 0
    # A restart finds every body rendered in the cache: none is left to render.
    with TestClient(create_app(settings)) as again:
        library = app_of(again).state.library
        texts = [text for a in library.articles.values() for text in a.texts.values()]
        assert len(texts) > 100
        assert all(text.rendered_as is not None for text in texts)


def test_stopping_while_warming_up_ends_it_and_keeps_what_was_read(
    content_copy: Path, tmp_path: Path, gate: threading.Event
) -> None:
    settings = Settings(data_dir=tmp_path / "var", content_dir=content_copy)
    started = time.monotonic()
    with TestClient(create_app(settings)) as client:
        assert client.get("/en/").status_code == 200
        assert not app_of(client).state.warmed.is_set()
    # The warm-up saw the stop at once instead of waiting for its gate (60 s).
    assert time.monotonic() - started < 30
    cache = ContentCache(tmp_path / "var" / "cache" / "content.marshal")
    assert cache.holds("yaml")
    assert not cache.holds("index")


def test_with_warm_up_off_nothing_is_made_until_asked_and_pages_are_the_same(
    content_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(data_dir=tmp_path / "var", content_dir=content_copy, warm_up=False)
    with TestClient(create_app(settings)) as client:
        state = app_of(client).state
        time.sleep(1)  # a warm-up of the starter content ends in about this time
        assert all(state.search.ready(locale) is None for locale in state.search)
        found = client.get("/en/search", params={"q": "passport"})
        assert 'href="/en/articles/keep-your-passport"' in found.text
        assert state.search.ready("en") is not None and state.search.ready("th") is None
        page = client.get("/en/articles/keep-your-passport")
        assert "<h1>Your passport belongs to you</h1>" in page.text
    assert "content warmed up" not in caplog.text
    assert not (tmp_path / "var" / "cache" / "content.marshal").exists()


def _read_in_shares(monkeypatch: pytest.MonkeyPatch, minimum: int, cpus: int) -> dict[str, Any]:
    monkeypatch.setattr(hub.content.loader, "PARALLEL_MIN_FOLDERS", minimum)
    monkeypatch.setattr(hub.content.shares, "cpus", lambda: cpus)
    cache = ContentCache(None, keys={})
    loaded = load_tree(CONTENT, cache=cache, defer=True)
    assert loaded.loader is not None
    return {
        "articles": loaded.library.articles,
        "services": loaded.library.services,
        "problems": [str(problem) for problem in loaded.problems],
        "digests": loaded.digests,
        "unrendered": [(d, text.slug, text.locale) for d, text in loaded.loader.unrendered],
        "yaml": cache.added("yaml"),
    }


def test_articles_read_on_three_cpus_are_what_one_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    here = _read_in_shares(monkeypatch, minimum=10**6, cpus=3)
    shared = _read_in_shares(monkeypatch, minimum=2, cpus=3)
    assert shared == here
    files = sorted(CONTENT.glob("articles/*/*.md"))
    assert len(here["articles"]) == len(list(CONTENT.glob("articles/*/en.md")))
    assert len(here["unrendered"]) == len(files)
    read = [here["digests"][str(path)].hex() for path in files]
    assert set(read) <= set(here["yaml"])
    assert [digest for digest, _, _ in here["unrendered"]] == read


def _lengths_unless_forked(parent: int, items: Sequence[str]) -> list[int]:
    if os.getpid() != parent:
        os._exit(3)  # a worker killed (out of memory, say) half-way
    return [len(item) for item in items]


def test_a_share_whose_process_dies_is_done_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(hub.content.shares, "cpus", lambda: 2)
    words = ["a", "bb", "ccc", "dddd", "eeeee"]
    job = functools.partial(_lengths_unless_forked, os.getpid())
    with caplog.at_level(logging.WARNING, logger="hub.content.shares"):
        results = in_shares(job, words, minimum=1)
    assert [n for share in results for n in share] == [1, 2, 3, 4, 5]
    assert len(results) == 2
    assert "a worker process died" in caplog.text


def test_compiled_catalogs_are_kept_and_their_refusals_told_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    po = _plant(tmp_path / "locales", HOSTILE)
    settings = Settings(data_dir=tmp_path / "var", locales_dir=tmp_path / "locales")
    with caplog.at_level(logging.WARNING, logger="hub.i18n"):
        with TestClient(create_app(settings)) as first:
            before = first.get("/th/").text
        told = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(told) == len(HOSTILE)
        caplog.clear()

        def no_parsing(*args: object, **kwargs: object) -> None:
            raise AssertionError("a catalog was compiled again")

        monkeypatch.setattr(hub.i18n, "read_po", no_parsing)
        with TestClient(create_app(settings)) as second:
            assert second.get("/th/").text == before
        assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == told
        # The catalog edited: compiled again, from its new bytes.
        po.write_text(po.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        cache = catalog_cache(settings.data_dir / "cache" / "catalogs.marshal")
        with pytest.raises(AssertionError, match="compiled again"):
            I18n(settings.locales_dir, ("en", "th"), cache)
    for message_id in HOSTILE:
        assert f">{message_id}<" in before


LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def _compile_only_in_a_worker(parent: int, compile_po: Any, data: bytes) -> list[Any]:
    if os.getpid() == parent:
        raise AssertionError("a catalog was compiled here, not in the worker")
    return list(compile_po(data))


def test_a_first_start_compiles_the_catalogs_in_a_worker_while_it_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub.content.shares, "cpus", lambda: 2)
    monkeypatch.setattr(hub.i18n, "_compiled", {})
    monkeypatch.setattr(
        hub.i18n,
        "_compile",
        functools.partial(_compile_only_in_a_worker, os.getpid(), hub.i18n._compile),
    )
    cache = catalog_cache(None)
    compiled = hub.i18n.compile_ahead(LOCALES_DIR, cache)
    compiled()
    assert len(cache.added("catalog")) == 7
    i18n = I18n(LOCALES_DIR, cache=cache)
    # From the Thai catalog as written, not from the code under test.
    assert i18n.translations["th"].gettext("Safety") == "ความปลอดภัย"
    # Kept for this process too: an app made again compiles nothing.
    again = I18n(LOCALES_DIR, cache=catalog_cache(None))
    assert again.translations["th"].gettext("Safety") == "ความปลอดภัย"


def _die_if_forked(parent: int, compile_po: Any, data: bytes) -> list[Any]:
    if os.getpid() != parent:
        os._exit(3)  # the worker killed (out of memory, say) half-way
    return list(compile_po(data))


def test_catalogs_are_compiled_here_when_their_worker_dies_or_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        hub.i18n, "_compile", functools.partial(_die_if_forked, os.getpid(), hub.i18n._compile)
    )
    for cpus in (2, 1):
        monkeypatch.setattr(hub.content.shares, "cpus", lambda cpus=cpus: cpus)
        monkeypatch.setattr(hub.i18n, "_compiled", {})
        cache = catalog_cache(None)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hub.content.shares"):
            hub.i18n.compile_ahead(LOCALES_DIR, cache)()
        assert cache.added("catalog") == {}
        assert ("a worker process died" in caplog.text) is (cpus == 2)
        i18n = I18n(LOCALES_DIR, cache=cache)
        assert i18n.translations["th"].gettext("Safety") == "ความปลอดภัย"
        assert len(cache.added("catalog")) == 7
