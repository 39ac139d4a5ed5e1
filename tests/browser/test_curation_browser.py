"""A curator's edit in the console reaches a reader's installed app: `hub serve` in a
subprocess, the curator and the reader each in a browser of their own."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub.settings import PROJECT_ROOT
from tests.browser.conftest import HubServer
from tests.browser.test_offline_browser import _controlled, _take_the_update

ENTRY = "hk-consulate-indonesia"
# As the help page of the ID-HK corridor shows the entry's `phone` to call from Hong Kong (the
# file holds +85267730466).
OLD_NUMBER, NEW_NUMBER = "Call 6773 0466", "Call 6773 0477"
EMAIL = "curator@example.org"
PASSWORD = "a long passphrase for the browser test"


def _add_curator(server: HubServer, content: Path) -> None:
    """A curator account, made with the CLI before the server owns the data folder."""
    env = {**os.environ, "HUB_DATA_DIR": str(server.data_dir), "HUB_CONTENT_DIR": str(content)}
    server.data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *(str(Path(sys.executable).parent / "hub"), "users", "add", EMAIL),
            *("--role", "curator", "--name", "Maria", "--password-stdin"),
        ],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )


def test_a_curators_new_number_reaches_an_installed_app_after_the_update_prompt(
    browser: Any, context: Any, hub_server: HubServer, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    _add_curator(hub_server, content)
    server = hub_server.start(content)
    reader = context.new_page()
    reader.goto(f"{server.base}/en/corridor?from=ID&to=HK&next=/en/")
    _controlled(reader, f"{server.base}/en/help")
    worker = reader.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert OLD_NUMBER in reader.text_content("main")
    assert NEW_NUMBER not in reader.text_content("main")

    console = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        curator = console.new_page()
        curator.goto(f"{server.base}/login")
        curator.fill("input[name=email]", EMAIL)
        curator.fill("input[name=password]", PASSWORD)
        with curator.expect_navigation():
            curator.click("form button[type=submit]")
        curator.goto(f"{server.base}/admin/directory/{ENTRY}")
        form = "form.entry-form"
        # The consulate's new line, and the page that gives it: every number needs a source,
        # and the older pages no longer give one of the entry's numbers.
        curator.fill(f"{form} input[name=phone]", "+852 6773 0477")
        curator.fill(f"{form} input[name=source_numbers_1]", "")
        curator.fill(f"{form} input[name=source_numbers_2]", "")
        curator.fill(f"{form} input[name=source_url_4]", "https://kemlu.go.id/hongkong/hotline")
        curator.fill(f"{form} input[name=source_date_4]", datetime.date.today().isoformat())
        curator.fill(f"{form} input[name=source_numbers_4]", "+85267730477")
        with curator.expect_navigation():
            curator.click(f"{form} button[type=submit]")
        assert curator.url.startswith(f"{server.base}/admin/directory/{ENTRY}")
        assert curator.locator(f"{form} input[name=phone]").input_value() in (
            "+85267730477",
            "+852 6773 0477",
        )
    finally:
        console.close()
    # The written file holds the new number, in E.164.
    assert 'phone: "+85267730477"' in (content / "services" / f"{ENTRY}.yml").read_text()

    # The reader's app, online: the new worker is announced, and her help page follows.
    _take_the_update(reader, server)
    reader.goto(f"{server.base}/en/help")
    main = reader.text_content("main")
    assert NEW_NUMBER in main and OLD_NUMBER not in main
    assert reader.evaluate("navigator.serviceWorker.controller.scriptURL") == worker
