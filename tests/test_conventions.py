"""Conventions: every setting documented, every route named, the store, the app factory."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from hub.app import create_app
from hub.settings import PROJECT_ROOT, Settings, SettingsError, documented
from hub.store import open_store


def test_every_setting_is_in_env_example() -> None:
    listed = {
        line.split("=", 1)[0]
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert listed == set(documented())


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {"HUB_PORT": "9001", "HUB_DEBUG": "yes", "HUB_DATA_DIR": "/tmp/x", "OTHER": "1"}
    )
    assert settings.port == 9001 and settings.debug is True
    assert settings.data_dir == Path("/tmp/x")
    assert Settings.from_env({}).port == 8000


@pytest.mark.parametrize("env", [{"HUB_PORT": "eighty"}, {"HUB_DEBUG": "maybe"}])
def test_bad_settings_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="HUB_"):
        Settings.from_env(env)


def test_every_route_is_named(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))

    def walk(routes: list[object]) -> list[object]:
        found: list[object] = []
        for route in routes:
            found.append(route)
            if isinstance(route, Mount) and route.routes:
                found.extend(walk(list(route.routes)))
        return found

    for route in walk(list(app.routes)):
        if isinstance(route, Route) or (isinstance(route, Mount) and not route.routes):
            assert route.name, route


def test_creating_the_app_does_no_io_at_import() -> None:
    """Modules define things; nothing runs at import (no module-level state)."""
    for path in (PROJECT_ROOT / "hub").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                pytest.fail(f"{path}: call at module level")


def test_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "hub.json"
    store = open_store(path)
    assert store.schema_version == 1  # type: ignore[attr-defined]
    doc_id = store.insert("subscriptions", {"endpoint": "https://push.example/1", "locale": "th"})
    assert store.get("subscriptions", doc_id) == {
        "endpoint": "https://push.example/1",
        "locale": "th",
        "id": doc_id,
    }
    assert store.update("subscriptions", doc_id, {"locale": "my", "id": "forged"})
    assert store.find("subscriptions", locale="my")[0]["id"] == doc_id
    assert store.find("subscriptions", locale="th") == []
    store.close()
    reopened = open_store(path)
    assert reopened.get("subscriptions", doc_id) is not None
    assert reopened.delete("subscriptions", doc_id) is True
    assert reopened.delete("subscriptions", doc_id) is False
    assert reopened.get("subscriptions", "missing") is None
    reopened.close()


def test_lifespan_creates_the_data_dir(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    data_dir = tmp_path / "state" / "var"
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/en/").status_code == 200
    assert (data_dir / "hub.json").exists()


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted((PROJECT_ROOT / "hub").rglob("*.py")):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_dependencies_point_one_way() -> None:
    for name, path in _modules():
        imported = _imports(path)
        if not name.startswith("hub.views") and name not in ("hub.app", "hub.routes"):
            assert not any(i.startswith("hub.views") for i in imported), name
        if name.startswith("hub.content"):
            assert not any(i.startswith("starlette") for i in imported), name


def test_every_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh interpreter: no circular imports."""
    import subprocess
    import sys

    script = "; ".join(
        f"subprocess.run([sys.executable, '-c', 'import {name}'], check=True)"
        for name, _ in _modules()
    )
    subprocess.run(
        [sys.executable, "-c", f"import subprocess, sys; {script}"], check=True, timeout=120
    )
