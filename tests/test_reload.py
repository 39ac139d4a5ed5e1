"""Reloading the content in the running app: pages, search, help, worker and packs follow."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message

from hub.reload import ReloadResult, reload_content
from tests.conftest import ClientFactory, free_port, set_corridor, start_serve

ARTICLE = "articles/keep-your-passport/en.md"
SENTENCE = "That is why it should stay with you."
NEW_WORD = "quillwort"  # in no article of the starter content
SERVICE = "services/hk-consulate-indonesia.yml"
# As the help page of the ID-HK corridor dials it from Hong Kong.
OLD_NUMBER, NEW_NUMBER = "67730466", "67730477"
PACK = ("/api/packs/en.json", {"from": "ID", "to": "HK"})


def app_of(client: TestClient) -> Starlette:
    assert isinstance(client.app, Starlette)
    return client.app


def reload(client: TestClient) -> ReloadResult:
    """Run reload_content in the app's own event loop, as a console save or SIGHUP would."""
    assert client.portal is not None
    return client.portal.call(reload_content, app_of(client))


def worker_version(client: TestClient) -> str:
    found = re.search(r'"version": "([0-9a-f]+)"', client.get("/sw.js").text)
    assert found is not None
    return found.group(1)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_reload_serves_the_edited_article_and_number(
    make_client: ClientFactory, content_copy: Path
) -> None:
    client = make_client(content_copy)
    set_corridor(client, "ID", "HK")
    # Each asked for once before, so the response cache holds the old pages.
    for _ in range(2):
        page = client.get("/en/articles/keep-your-passport").text
        help_page = client.get("/en/help").text
        pack = client.get(PACK[0], params=PACK[1])
    assert SENTENCE in page
    assert f"tel:{OLD_NUMBER}" in help_page
    assert "keep-your-passport" not in client.get("/en/search", params={"q": NEW_WORD}).text
    version = worker_version(client)

    edit(content_copy / ARTICLE, SENTENCE, f"That is why it should stay with you, {NEW_WORD}.")
    edit(content_copy / SERVICE, OLD_NUMBER, NEW_NUMBER)
    result = reload(client)

    assert result.changed and result.previous_version == version
    assert (result.articles, result.services) == (
        len(app_of(client).state.library.articles),
        len(app_of(client).state.library.services),
    )
    page = client.get("/en/articles/keep-your-passport").text
    assert f"stay with you, {NEW_WORD}." in page
    assert SENTENCE not in page
    found = client.get("/en/search", params={"q": NEW_WORD}).text
    assert 'href="/en/articles/keep-your-passport"' in found
    help_page = client.get("/en/help").text
    assert f"tel:{NEW_NUMBER}" in help_page
    assert f"tel:{OLD_NUMBER}" not in help_page
    assert worker_version(client) == result.version != version
    new_pack = client.get(PACK[0], params=PACK[1])
    assert new_pack.headers["etag"] != pack.headers["etag"]
    assert new_pack.json()["version"] == result.version
    # The offline search index follows too.
    assert NEW_WORD in client.get("/api/search/en.json").text


def test_reload_with_nothing_changed_keeps_the_version(
    make_client: ClientFactory, content_copy: Path
) -> None:
    client = make_client(content_copy)
    version = worker_version(client)
    result = reload(client)
    assert not result.changed
    assert result.version == version == worker_version(client)
    assert SENTENCE in client.get("/en/articles/keep-your-passport").text


def test_invalid_file_is_left_out_and_logged_and_the_rest_served(
    make_client: ClientFactory, content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(content_copy)
    before = reload(client).problems
    assert client.get("/en/services/hk-consulate-indonesia").status_code == 200
    edit(content_copy / SERVICE, '"+85267730466"\n', '"6773 0466"\n')
    with caplog.at_level(logging.WARNING):
        result = reload(client)
    assert result.problems == before + 1
    assert f"content {SERVICE}: error: 'phone' must be written in E.164" in caplog.text
    assert client.get("/en/services/hk-consulate-indonesia").status_code == 404
    assert client.get("/en/services/hk-bethune-house").status_code == 200
    assert SENTENCE in client.get("/en/articles/keep-your-passport").text


def test_two_reloads_at_once_run_one_after_the_other(
    make_client: ClientFactory, content_copy: Path
) -> None:
    client = make_client(content_copy)
    version = worker_version(client)
    edit(content_copy / ARTICLE, SENTENCE, f"{SENTENCE} {NEW_WORD}")

    async def both() -> list[ReloadResult]:
        app = app_of(client)
        return list(await asyncio.gather(reload_content(app), reload_content(app)))

    assert client.portal is not None
    first, second = client.portal.call(both)
    # The second started from what the first left, not from the same old state.
    assert first.previous_version == version != first.version
    assert second.previous_version == first.version == second.version
    assert worker_version(client) == second.version
    assert client.get(PACK[0], params=PACK[1]).json()["version"] == second.version
    assert NEW_WORD in client.get("/en/articles/keep-your-passport").text
    found = client.get("/en/search", params={"q": NEW_WORD}).text
    assert 'href="/en/articles/keep-your-passport"' in found


def test_page_rendered_before_a_reload_is_not_kept_after_it(
    make_client: ClientFactory, content_copy: Path
) -> None:
    client = make_client(content_copy)
    app = app_of(client)
    cache = app.state.response_cache
    path = "/en/articles/keep-your-passport"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
    }

    async def get(reload_meanwhile: bool) -> int:
        """Ask for the page; a reload's clear() lands while its response is being sent."""
        cache.clear()

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start" and reload_meanwhile:
                cache.clear()

        await app(dict(scope), receive, send)
        return len(cache.entries)

    assert client.portal is not None
    assert client.portal.call(get, False) == 1
    assert client.portal.call(get, True) == 0


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        body: bytes = response.read()
    return body.decode()


@pytest.mark.slow
def test_serve_reloads_the_content_on_sighup(tmp_path: Path, content_copy: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/en/articles/keep-your-passport"
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path / "var"),
        "HUB_CONTENT_DIR": str(content_copy),
    }
    server = start_serve(env, port)
    try:
        page = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and SENTENCE not in page:
            try:
                page = _get(url)  # kept by the response cache from here on
            except OSError:
                time.sleep(0.2)
        assert SENTENCE in page
        edit(content_copy / ARTICLE, SENTENCE, f"{SENTENCE} {NEW_WORD}")
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and NEW_WORD not in page:
            time.sleep(0.2)
            page = _get(url)
        assert NEW_WORD in page
        assert server.poll() is None
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    log = output.decode()
    assert "content reload (SIGHUP): from version" in log
    articles = len([p for p in (content_copy / "articles").iterdir() if p.is_dir()])
    assert re.search(rf"content reloaded in \d+ ms .*: {articles} articles, \d+ services", log), log
