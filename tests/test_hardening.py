"""No 500, nothing forged or reflected: hostile requests get a page, a safe log line, a relative
redirect."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from hub.app import create_app
from hub.middleware import SECURITY_HEADERS
from hub.settings import PROJECT_ROOT, Settings
from hub.views import public

QUICK_EXIT = "https://www.google.com/"


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One client of the real app on the starter content for the read-only tests here."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def client(reader: TestClient) -> TestClient:
    """The shared client without the cookies an earlier test left."""
    reader.cookies.clear()
    return reader


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access log lines written so far."""
    return [r.getMessage() for r in caplog.records if r.name == "hub.access"]


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        # The attack: a forged second line after CR LF.
        ("/en/x%0d%0aGET%20/en/help%20200%200.1ms", "/en/x\\x0d\\x0aGET /en/help 200 0.1ms"),
        ("/en/a%0ab", "/en/a\\x0ab"),
        ("/en/a%00b%1bc%7fd", "/en/a\\x00b\\x1bc\\x7fd"),
        # C1 controls, NEL included, and the Unicode line and paragraph separators.
        ("/en/a%c2%85b%c2%9bc", "/en/a\\x85b\\x9bc"),
        ("/en/a%e2%80%a8b%e2%80%a9c", "/en/a\\u2028b\\u2029c"),
        # A right-to-left override would show the line's text out of order.
        ("/en/a%e2%80%aeb", "/en/a\\u202eb"),
        # A backslash is escaped too, so a path cannot spell an escape that looks real.
        ("/en/a%5cx0ab", "/en/a\\\\x0ab"),
        # Text that is not a control stays as it is.
        ("/th/%e0%b8%a7%e0%b8%b5%e0%b8%8b%e0%b9%88%e0%b8%b2", "/th/วีซ่า"),
    ],
)
def test_access_log_escapes_control_characters(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, shown: str
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.access"):
        client.get(path, follow_redirects=False)
    lines = access_lines(caplog)
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"GET {shown} ")
    assert line.isprintable()
    assert len(line.splitlines()) == 1


class FirstFocusable(HTMLParser):
    """The first element a keyboard reaches, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        focusable = (tag == "a" and "href" in attributes) or tag in {
            "button",
            "input",
            "select",
            "textarea",
        }
        if tag != "main" and attributes.get("tabindex") not in (None, "-1"):
            focusable = True
        if self.first is None and focusable and attributes.get("type") != "hidden":
            self.first = {"tag": tag, **attributes}


def first_focusable(html: str) -> dict[str, str | None]:
    """The first focusable element of a page (AssertionError when there is none)."""
    parser = FirstFocusable()
    parser.feed(html)
    assert parser.first is not None
    return parser.first


def translation(locale: str, message: str) -> str:
    """The message as the shipped catalog of the locale translates it."""
    path = PROJECT_ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        found = read_po(handle).get(message)
    assert found is not None and isinstance(found.string, str)
    return found.string


def assert_security_headers(response: Response | object) -> None:
    """Every security header the hub sends, with its value."""
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


async def _broken_view(request: Request) -> Response:
    raise RuntimeError("a planted bug")


@pytest.fixture
def broken_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The real app whose safety page fails the way a bug in a view would."""
    monkeypatch.setattr(public, "safety", _broken_view)
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_server_error_is_a_localized_page_with_headers_exit_and_log(
    broken_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = broken_client.get("/th/safety")
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="th"' in html
    assert translation("th", "Something went wrong") in html
    assert "planted" not in html and "Traceback" not in html
    first = first_focusable(html)
    assert first["href"] == QUICK_EXIT and "data-quick-exit" in first
    assert access_lines(caplog) == [access_lines(caplog)[0]]
    assert access_lines(caplog)[0].startswith("GET /th/safety 500 ")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info is not None
    assert "a planted bug" in str(errors[0].exc_info[1])


def test_when_even_the_error_page_fails_the_last_resort_keeps_headers_and_exit(
    broken_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    broken_client.app.state.templates = None  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="hub.access"):
        response = broken_client.get("/km/safety")
    assert response.status_code == 500
    assert_security_headers(response)
    first = first_focusable(response.text)
    assert first["href"] == QUICK_EXIT and "data-quick-exit" in first
    assert access_lines(caplog)[0].startswith("GET /km/safety 500 ")
