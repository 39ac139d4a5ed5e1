"""Conventions: settings, route names, layers, no I/O at import, console roles, CSRF in forms.

Each convention is checked on the real code and, next to it, shown to fail on the miniature hub
in tests/fixtures/conventions/planted/, where each module says what is planted in it.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hub.app import create_app
from hub.settings import PROJECT_ROOT, Settings, SettingsError, documented
from hub.store import open_store
from hub.store.migrations import MIGRATIONS

HUB = PROJECT_ROOT / "hub"
CONVENTIONS = Path(__file__).resolve().parent / "fixtures" / "conventions"
PLANTED = CONVENTIONS / "planted" / "hub"
PROBE = CONVENTIONS / "import_probe.py"
ARCHITECTURE = PROJECT_ROOT / "docs" / "ARCHITECTURE.md"


# -- Settings ----------------------------------------------------------------------------------


def _env_example() -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }


def test_every_setting_is_in_env_example() -> None:
    assert _env_example() == set(documented())


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


# -- Reading the package's source ----------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    """One module of a package, parsed."""

    name: str  # dotted: hub.content.loader
    rel: str  # its path from the package's parent folder: hub/content/loader.py
    is_package: bool
    tree: ast.Module


@cache
def _package(package_dir: Path) -> dict[str, Module]:
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        rel = path.relative_to(package_dir.parent).as_posix()
        found[name] = Module(name, rel, is_package, ast.parse(path.read_text(encoding="utf-8")))
    return found


def _parents(name: str) -> list[str]:
    """The packages Python imports before `name`: hub, hub.content for hub.content.loader."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@dataclass(frozen=True)
class Import:
    """One import of a module: a module of the package, or an outside module."""

    line: int
    target: str
    inside: bool


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative levels resolved against the module's package."""
    if node.level == 0:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        raise ValueError(f"{module.rel}:{node.lineno}: relative import beyond the package")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: Module, modules: dict[str, Module]) -> list[Import]:
    """Every import anywhere in the module (inside functions and `if` blocks too), each
    resolved to the module it loads: `from hub import views` and `from ..views import pages`
    are imports of hub.views and hub.views.pages."""
    top = module.name.split(".")[0]
    found: list[Import] = []

    def add(line: int, dotted: str) -> None:
        if dotted.split(".")[0] != top:
            found.append(Import(line, dotted, inside=False))
            return
        while dotted not in modules and "." in dotted:
            dotted = dotted.rpartition(".")[0]
        found.append(Import(line, dotted, inside=True))

    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(node.lineno, submodule if submodule in modules else base)
        elif (
            isinstance(node, ast.Call)
            and _called(node) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            add(node.lineno, node.args[0].value)
    return found


def _place(where: str) -> tuple[str, int]:
    """path:line as a key that orders line 9 before line 10."""
    path, _, line = where.rpartition(":")
    return path, int(line)


def _called(call: ast.Call) -> str:
    """The last name of what is called: `Route` for Route(...) and routing.Route(...)."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return _keyword(call, name)


# -- 1. Every route is named in its source -----------------------------------------------------

ROUTE_CLASSES = ("Route", "WebSocketRoute", "Mount", "Host")


@dataclass(frozen=True)
class RouteCall:
    """A Route, WebSocketRoute, Mount or Host constructed somewhere in the package."""

    where: str  # hub/routes.py:14
    module: Module
    kind: str
    path: str  # with the paths of the Mounts it is inside
    call: ast.Call

    @property
    def is_group(self) -> bool:
        """A Mount (or Host) of routes rather than of an app."""
        app = _argument(self.call, 1, "app")
        grouped = isinstance(app, ast.Call) and _called(app) == "Router"
        return self.kind in ("Mount", "Host") and (
            grouped or _keyword(self.call, "routes") is not None
        )


def _route_calls(modules: dict[str, Module]) -> list[RouteCall]:
    found: list[RouteCall] = []

    def visit(node: ast.AST, module: Module, prefix: str) -> None:
        if isinstance(node, ast.Call) and _called(node) in ROUTE_CLASSES:
            kind = _called(node)
            path = _argument(node, 0, "path")
            own = path.value if isinstance(path, ast.Constant) else "{?}"
            full = prefix if kind == "Host" else prefix + str(own)
            found.append(RouteCall(f"{module.rel}:{node.lineno}", module, kind, full, node))
            prefix = full
        for child in ast.iter_child_nodes(node):
            visit(child, module, prefix)

    for module in modules.values():
        visit(module.tree, module, "")
    return found


def unnamed_routes(package_dir: Path) -> list[str]:
    """Routes constructed without an explicit `name=` (Starlette would name a Route after its
    function, so the running app cannot tell). A Mount of routes may go without: a name there
    would become a prefix of every url_for name inside it."""
    problems = []
    for route in _route_calls(_package(package_dir)):
        name = _keyword(route.call, "name")
        empty = isinstance(name, ast.Constant) and name.value in (None, "")
        if (name is None or empty) and not route.is_group:
            problems.append(f"{route.where}: {route.kind} {route.path!r} has no name=")
    return problems


def test_every_route_is_named() -> None:
    routes = _route_calls(_package(HUB))
    named = {n.value for r in routes if isinstance(n := _keyword(r.call, "name"), ast.Constant)}
    # The scan sees the route list (else the check below would pass on nothing).
    assert {"root", "static", "home", "search", "clear"} <= named
    assert unnamed_routes(HUB) == []


def test_an_unnamed_route_is_reported() -> None:
    assert unnamed_routes(PLANTED) == [
        "hub/routes.py:16: Route '/about' has no name=",
        "hub/routes.py:17: Mount '/static' has no name=",
        "hub/routes.py:18: WebSocketRoute '/live' has no name=",
    ]


# -- 2. Imports follow the layer table ---------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One row of the table in docs/ARCHITECTURE.md, section Layers."""

    name: str
    globs: tuple[str, ...]
    may_import: frozenset[str]
    starlette: bool


def read_layers(markdown: str) -> list[Layer]:
    """The rows of the table under `## Layers`."""
    section = markdown.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    layers = []
    for row in rows:
        name, globs, may_import, starlette = (cell.strip() for cell in row.strip("|").split("|"))
        assert starlette in ("yes", "no"), row
        allowed = frozenset(n.strip() for n in may_import.split(",") if n.strip())
        layers.append(
            Layer(name, tuple(re.findall(r"`([^`]+)`", globs)), allowed, starlette == "yes")
        )
    names = {layer.name for layer in layers}
    for layer in layers:
        assert layer.may_import <= names, f"{layer.name} may import an unknown layer"
    return layers


def _layer_of(rel: str, layers: list[Layer]) -> list[Layer]:
    return [layer for layer in layers if any(fnmatch.fnmatch(rel, g) for g in layer.globs)]


def layer_problems(package_dir: Path, layers: list[Layer]) -> list[str]:
    """Modules in no layer (or two), imports the table does not allow, and modules of a layer
    without Starlette that reach it, through any chain of the package's imports."""
    modules = _package(package_dir)
    problems = []
    layer_of: dict[str, Layer] = {}
    for module in modules.values():
        matches = _layer_of(module.rel, layers)
        if len(matches) != 1:
            problems.append(f"{module.rel}: in layers {[m.name for m in matches]}, not one")
        else:
            layer_of[module.name] = matches[0]
    imports = {name: _imports(module, modules) for name, module in modules.items()}
    for name, module in modules.items():
        layer = layer_of.get(name)
        for imp in imports[name]:
            other = layer_of.get(imp.target)
            if layer and other and imp.inside and other.name not in layer.may_import:
                problems.append(
                    f"{module.rel}:{imp.line}: {layer.name} imports {imp.target} ({other.name})"
                )
    for name, module in modules.items():
        layer = layer_of.get(name)
        if layer and not layer.starlette and (chain := _chain_to_starlette(name, imports)):
            problems.append(f"{module.rel}: reaches Starlette: {' -> '.join(chain)}")
    return problems


def _chain_to_starlette(start: str, imports: dict[str, list[Import]]) -> list[str] | None:
    """The shortest chain of imports from `start` to a Starlette module, counting the packages
    each import runs first (importing hub.content.text runs hub/content/__init__.py)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        name = queue.pop(0)
        for imp in imports[name]:
            if not imp.inside and imp.target.split(".")[0] == "starlette":
                return [*paths[name], imp.target]
        nexts = [p for p in _parents(name) if p in imports]
        nexts += [
            t for imp in imports[name] if imp.inside for t in (*_parents(imp.target), imp.target)
        ]
        for target in nexts:
            if target in imports and target not in paths:
                paths[target] = [*paths[name], target]
                queue.append(target)
    return None


def _layers() -> list[Layer]:
    return read_layers(ARCHITECTURE.read_text(encoding="utf-8"))


def test_the_table_keeps_the_domain_free_of_starlette_and_views_imported_by_the_app_only() -> None:
    """The table itself cannot be loosened where the architecture says so."""
    layers = _layers()
    for package in ("content", "store", "auth", "push", "curation"):
        (layer,) = _layer_of(f"hub/{package}/module.py", layers)
        assert not layer.starlette and layer.may_import <= {layer.name, "base"}, package
    assert {layer.name for layer in layers if "views" in layer.may_import} == {"views", "app"}


def test_imports_follow_the_layers() -> None:
    assert layer_problems(HUB, _layers()) == []


def test_imports_against_the_layers_are_reported() -> None:
    assert sorted(layer_problems(PLANTED, _layers())) == sorted(
        [
            "hub/stray.py: in layers [], not one",
            "hub/content/planted_views.py:5: domain imports hub.views (views)",
            "hub/content/wording.py:5: domain imports hub.encoding (http)",
            "hub/store/climb.py:5: domain imports hub.views.pages (views)",
            "hub/content/wording.py: reaches Starlette: "
            "hub.content.wording -> hub.encoding -> starlette.datastructures",
            "hub/content/shapes.py: reaches Starlette: "
            "hub.content.shapes -> hub.content.wording -> hub.encoding -> starlette.datastructures",
            "hub/store/climb.py: reaches Starlette: "
            "hub.store.climb -> hub.views.pages -> starlette.requests",
        ]
    )


# -- 3. No module does I/O at import -----------------------------------------------------------


def probe(root: Path) -> dict[str, dict[str, Any]]:
    """Each module of root/hub imported on its own, with the I/O its own code did
    (tests/fixtures/conventions/import_probe.py: one interpreter, a fork per module)."""
    done = subprocess.run(
        [sys.executable, str(PROBE), str(root), "hub"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {result["module"]: result for result in results}


@pytest.fixture(scope="module")
def hub_probe() -> dict[str, dict[str, Any]]:
    """The probe of the real package, shared by the two tests that read it."""
    return probe(PROJECT_ROOT)


def io_at_import(results: dict[str, dict[str, Any]], root: Path) -> set[tuple[str, str]]:
    """(where, event) of each I/O a module's own code did at import; where is the innermost
    frame of the package, as path:line (function)."""
    found = set()
    for result in results.values():
        for event in result["events"]:
            found.add((event["frames"][0].removeprefix(f"{root}/"), event["event"]))
    return found


@pytest.mark.slow
def test_every_module_imports_on_its_own(hub_probe: dict[str, dict[str, Any]]) -> None:
    """Each module imported first, into an interpreter without the package: no circular imports."""
    assert set(hub_probe) == set(_package(HUB))
    assert {name: r["error"] for name, r in hub_probe.items() if r["error"]} == {}


@pytest.mark.slow
def test_no_module_does_io_at_import(hub_probe: dict[str, dict[str, Any]]) -> None:
    assert io_at_import(hub_probe, PROJECT_ROOT) == set()


def test_io_at_import_and_circular_imports_are_reported() -> None:
    results = probe(PLANTED.parent)
    assert set(results) == set(_package(PLANTED))
    assert {name for name, r in results.items() if r["error"]} == {
        "hub.store.cycle_a",
        "hub.store.cycle_b",
    }
    assert "circular import" in results["hub.store.cycle_a"]["error"]
    assert io_at_import(results, PLANTED.parent) == {
        ("hub/content/reads_file.py:7 (<module>)", "open"),
        ("hub/i18n.py:7 (<module>)", "open"),
    }
    opened = {Path(e["args"][0]).name for e in results["hub.i18n"]["events"]}
    assert "th.dat" in opened  # Babel's file, read because of our module: caught by the stack


# -- 4. Every HUB_* variable read is a setting -------------------------------------------------

HUB_NAME = re.compile(r"HUB_[A-Z0-9_]+")
READERS = ("get", "getenv", "pop", "setdefault")


def hub_variables(package_dir: Path) -> list[tuple[str, str]]:
    """(where, name) of each HUB_* variable the package's code names: any string that is one
    (os.environ[...], os.environ.get, os.getenv or a constant passed to them later), and "?" for
    a name computed from an f-string (os.getenv(f"HUB_{x}")) outside hub/settings.py, where
    Settings maps each field to HUB_<FIELD>."""
    found = []
    for module in _package(package_dir).values():
        for node in ast.walk(module.tree):
            where = f"{module.rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Constant) and HUB_NAME.fullmatch(str(node.value)):
                found.append((where, str(node.value)))
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and _called(node) in READERS and node.args:
                key = node.args[0]
            elif isinstance(node, ast.Subscript):
                key = node.slice
            if (
                isinstance(key, ast.JoinedStr)
                and key.values
                and isinstance(first := key.values[0], ast.Constant)
                and str(first.value).startswith("HUB_")
                and module.rel != "hub/settings.py"
            ):
                found.append((where, "?"))
    return sorted(found, key=lambda item: _place(item[0]))


def unknown_variables(package_dir: Path) -> list[str]:
    """The HUB_* variables read that are no Settings field or are missing from .env.example."""
    settings, listed = set(documented()), _env_example()
    return [
        f"{where}: {name}"
        for where, name in hub_variables(package_dir)
        if name not in settings or name not in listed
    ]


def _another(default: object) -> str:
    """A valid value of the variable other than the default."""
    if isinstance(default, bool):
        return "false" if default else "true"
    if isinstance(default, int):
        return str(default + 1)
    return "/elsewhere"


def test_settings_map_each_field_to_its_variable() -> None:
    """The mapping the scan relies on: HUB_<FIELD> sets the field, for every field."""
    for f in fields(Settings):
        settings = Settings.from_env({f"HUB_{f.name.upper()}": _another(f.default)})
        assert getattr(settings, f.name) != f.default, f.name
    assert set(documented()) == {f"HUB_{f.name.upper()}" for f in fields(Settings)}


def test_every_hub_variable_read_is_a_setting() -> None:
    assert unknown_variables(HUB) == []


def test_a_hub_variable_that_is_no_setting_is_reported() -> None:
    assert unknown_variables(PLANTED) == [
        "hub/store/secrets.py:11: HUB_SECRET_THING",
        "hub/store/secrets.py:16: HUB_API_TOKEN",
        "hub/store/secrets.py:21: HUB_FLAG",
        "hub/store/secrets.py:26: ?",
    ]


# -- 5. Consoles: every console route declares its roles, every POST form carries csrf_token ---

CONSOLE_SEGMENTS = ("admin", "console", "leaders", "account")
CONSOLE_MODULES = ("hub/views/admin*", "hub/views/console*")


def _aliases(module: Module, modules: dict[str, Module]) -> dict[str, str]:
    """What each top-level name of the module stands for, as a dotted name."""
    names = {
        node.name: f"{module.name}.{node.name}"
        for node in module.tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _function(
    expr: ast.expr | None, module: Module, modules: dict[str, Module]
) -> tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The function definition a route's endpoint expression names, if the package has it."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.insert(0, expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    dotted = _aliases(module, modules).get(expr.id, expr.id)
    owner, _, function = ".".join([dotted, *parts]).rpartition(".")
    if owner not in modules:
        return None
    for node in modules[owner].tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return modules[owner], node
    return None


def _roles(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The roles a view declares with `@requires(...)` (starlette.authentication's, or one of
    the same shape): a role name or a non-empty list of them."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _called(decorator) == "requires":
            scopes = _argument(decorator, 0, "scopes")
            items = scopes.elts if isinstance(scopes, ast.List | ast.Tuple) else [scopes]
            roles = [i.value for i in items if isinstance(i, ast.Constant) and i.value]
            if roles and len(roles) == len(items):
                return [str(role) for role in roles]
    return []


def console_routes_without_roles(package_dir: Path) -> list[str]:
    """Console routes whose view declares no role.

    A console route is one whose path (with its Mounts') has a segment of CONSOLE_SEGMENTS, or
    whose view is in hub/views/admin* or hub/views/console*. Its view must be a function of the
    package decorated with `@requires(<roles>)`; a console Mount of an app cannot show its roles,
    so it is reported too."""
    modules = _package(package_dir)
    problems = []
    for route in _route_calls(modules):
        if route.is_group:
            continue
        found = _function(_argument(route.call, 1, "endpoint"), route.module, modules)
        if route.kind in ("Mount", "Host"):
            found = _function(_argument(route.call, 1, "app"), route.module, modules)
        in_console_module = found is not None and any(
            fnmatch.fnmatch(found[0].rel, glob) for glob in CONSOLE_MODULES
        )
        segments = route.path.split("/")
        if not in_console_module and not any(s in CONSOLE_SEGMENTS for s in segments):
            continue
        if found is None or not _roles(found[1]):
            problems.append(f"{route.where}: {route.kind} {route.path!r} declares no roles")
    return problems


def test_every_console_route_declares_its_roles() -> None:
    assert console_routes_without_roles(HUB) == []


def test_a_console_route_without_roles_is_reported() -> None:
    assert console_routes_without_roles(PLANTED) == [
        "hub/routes.py:25: Route '/{locale}/admin/export' declares no roles",
        "hub/routes.py:29: Route '/console/' declares no roles",
        "hub/routes.py:30: Mount '/admin/tools' declares no roles",
        "hub/views/admin.py:30: Route '/audit' declares no roles",
    ]


FORM = re.compile(r"<form\b(?P<attributes>[^>]*)>(?P<body>.*?)</form\s*>", re.I | re.S)
# A method written by the template (`method="{{ m }}"`) may be POST, so it counts as one.
POST = re.compile(r"""\bmethod\s*=\s*["']?\s*(post\b|\{\{)""", re.I)


def forms(templates: Path) -> Iterator[tuple[str, bool, bool]]:
    """(where, is POST, carries csrf_token) of each form in each template."""
    for path in sorted(p for p in templates.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        for match in FORM.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(templates.parent.parent).as_posix()}:{line}"
            is_post = POST.search(match["attributes"]) is not None
            yield where, is_post, "csrf_token" in match["body"]


def post_forms_without_csrf(templates: Path) -> list[str]:
    """Each `<form method="post">` whose body does not mention csrf_token."""
    return [where for where, is_post, has_token in forms(templates) if is_post and not has_token]


def test_every_post_form_carries_csrf_token() -> None:
    # The walk sees the templates' forms (the corridor and search forms are GET ones).
    assert len(list(forms(HUB / "templates"))) >= 2
    assert post_forms_without_csrf(HUB / "templates") == []


def test_a_post_form_without_csrf_token_is_reported() -> None:
    assert post_forms_without_csrf(PLANTED / "templates") == [
        "hub/templates/forms.html:2",
        "hub/templates/forms.html:10",
    ]


# -- The store and the app's lifespan ----------------------------------------------------------


def test_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "hub.json"
    store = open_store(path)
    assert store.schema_version == len(MIGRATIONS)
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
