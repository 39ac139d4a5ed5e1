"""Take the curation console's screenshots for docs/content-guide.md, from the running hub.

Starts `hub serve` on a loopback port with a copy of the starter content (a git repository, as
a CSO's content folder may be) and a new data folder, adds a curator account with the CLI,
signs in with the system Chromium and walks a curator's day: the worklists, an article edited,
its outdated translation, a directory entry verified, the CSV import's dry run, the history.
Each step's page is saved as docs/images/console-<name>.png, so the guide shows what the console
shows today. Nothing is downloaded: Chromium is the system's (HUB_TEST_CHROMIUM, else
/usr/bin/chromium), and so are the fonts: without one for Thai, Khmer and Burmese (Debian's
fonts-noto-core) their language names show as empty boxes.
Run: make screenshots
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
EMAIL = "curator@example.org"
PASSWORD = "screenshots-only-correct-horse-battery"
# A laptop's window: CSO staff and volunteer translators work from one (issue 12).
WIDTH, HEIGHT = 1280, 900
MAX_HEIGHT = 1600
ARTICLE = "keep-your-passport"
ENTRY = "hk-consulate-indonesia"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _hub(folder: Path) -> Iterator[str]:
    """`hub serve` on a copy of the starter content in `folder`; yields its base URL."""
    content = folder / "content"
    shutil.copytree(ROOT / "content", content)
    git = ["git", "-C", str(content), "-c", "user.name=Hub", "-c", "user.email=hub@example.org"]
    subprocess.run([*git, "init", "-q"], check=True, timeout=60)
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-q", "-m", "Starter content"], check=True, timeout=60)
    env = {**os.environ, "HUB_DATA_DIR": str(folder / "var"), "HUB_CONTENT_DIR": str(content)}
    hub = str(Path(sys.executable).parent / "hub")
    subprocess.run(
        [
            hub,
            "users",
            "add",
            EMAIL,
            "--role",
            "curator",
            "--name",
            "Maria (CSO)",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [hub, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/en/safety", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log_path = folder / "serve.log"
                    raise SystemExit(f"hub serve did not start; see {log_path}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _shot(page: Any, name: str) -> None:
    """Save the page (its first MAX_HEIGHT px) as docs/images/console-<name>.png, in 64
    colours."""
    from PIL import Image

    path = IMAGES / f"console-{name}.png"
    # The top of a long list says what it is; the rest would only make the guide heavy.
    height = min(int(page.evaluate("document.documentElement.scrollHeight")), MAX_HEIGHT)
    page.screenshot(
        path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": height}
    )
    # The console is text on a few flat colours: a palette keeps it sharp at a quarter the size.
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def _open(page: Any, base: str, path: str) -> None:
    response = page.goto(base + path)
    if response is None or response.status != 200:
        status = None if response is None else response.status
        raise SystemExit(f"{path} answered {status}")


def _walk(page: Any, base: str) -> None:
    """A curator's day, one screenshot per step."""
    _open(page, base, "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/admin/")
    _shot(page, "worklists")
    _open(page, base, "/admin/articles")
    _shot(page, "articles")
    _open(page, base, f"/admin/articles/{ARTICLE}")
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\nKeep a photo of your passport's first page on your phone.\n")
    page.click("button[name=action][value=preview]")
    _shot(page, "article-preview")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    _shot(page, "article-saved")
    _open(page, base, f"/admin/articles/{ARTICLE}/vi")
    _shot(page, "translation-outdated")
    _open(page, base, "/admin/directory")
    _shot(page, "directory")
    _open(page, base, f"/admin/directory/{ENTRY}")
    _shot(page, "directory-entry")
    _open(page, base, "/admin/directory/import")
    _shot(page, "directory-import")
    _open(page, base, f"/admin/history?path=articles/{ARTICLE}/en.md")
    _shot(page, "history")


def main() -> int:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        print(f"Chromium not found at {CHROMIUM} (set HUB_TEST_CHROMIUM)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, _hub(Path(tmp)) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()
            _walk(page, base)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
