"""Fixtures: the real app on temp folders, and a copy of the content tree to change."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import PROJECT_ROOT, Settings

CONTENT = PROJECT_ROOT / "content"
LOCALES = ("en", "fil", "id", "vi", "th", "km", "my")
FIXTURES = Path(__file__).parent / "fixtures"

ClientFactory = Callable[..., TestClient]


class _Unhandled(logging.Handler):
    """Keeps the "unhandled error" records the 500 handler writes."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("unhandled error"):
            self.records.append(record)


@pytest.fixture(autouse=True)
def no_unhandled_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose requests hit an unhandled exception, unless it is marked
    `server_error`: the 500 page hides the exception from the test client, not from us."""
    handler = _Unhandled()
    logger = logging.getLogger("hub.views.errors")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("server_error") is None:
        record = handler.records[0]
        pytest.fail(f"unhandled error in the app: {record.getMessage()}: {record.exc_info!r}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on the starter content with state in a temp folder."""
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app of the test's own: for a test that changes app state or counts on a fresh one."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for a module's tests that only read: starting it is the slow part."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def shared_client(module_app: TestClient) -> TestClient:
    """The module's app as a reader with no cookies yet (those an earlier test left cleared)."""
    module_app.cookies.clear()
    return module_app


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of the starter content that a test may change."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """Start the real app on another content tree; every client is closed afterwards.

    Each client has a data folder of its own (`var`, `var-2`, ...): one process owns a data
    folder (its store's lock), so two apps open at once cannot share one."""
    opened: list[TestClient] = []

    def factory(content_dir: Path, **kwargs: object) -> TestClient:
        name = "var" if not opened else f"var-{len(opened) + 1}"
        settings = Settings(data_dir=tmp_path / name, content_dir=content_dir)
        test_client = TestClient(create_app(settings), **kwargs)  # type: ignore[arg-type]
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield factory
    for test_client in opened:
        test_client.__exit__(None, None, None)


def set_corridor(client: TestClient, origin: str, destination: str) -> None:
    """Choose a corridor the way a reader does, through the GET form."""
    response = client.get(
        "/en/corridor", params={"from": origin, "to": destination}, follow_redirects=False
    )
    assert response.status_code == 303
