"""The `hub` command: serve the app, check the content, print revisions, back up the store,
manage console accounts and export the audit log."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hub.cli_users import add_commands
from hub.content import load_library
from hub.content.burmese import zawgyi_problems
from hub.content.markdown import FrontMatterError, revision, split_front_matter
from hub.settings import Settings, SettingsError
from hub.translation_check import check_locales


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from hub.app import create_app, push_identity
    from hub.server import behind_proxy, server_options
    from hub.store import StoreError, check_unlocked

    # Before uvicorn: a failure inside the app's lifespan would end in a traceback.
    try:
        check_unlocked(settings.store_path)
    except (StoreError, OSError) as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 1
    try:
        # Read again in the lifespan (the key file made here at first start).
        push_identity(settings)
    except SettingsError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    host = args.host or settings.host
    port = args.port or settings.port
    app = behind_proxy(create_app(settings), settings)
    uvicorn.run(app, **server_options(settings, host, port))
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.content) if args.content else settings.content_dir
    if not root.is_dir():
        print(f"{root}: not a folder", file=sys.stderr)
        return 2
    library, problems = load_library(root, source_max_age_years=settings.source_max_age_years)
    problems += zawgyi_problems(root)
    for problem in problems:
        print(problem)
    # Catalogs are code as much as text: a translation may not add markup to a page.
    folder = settings.locales_dir
    catalog_errors = check_locales(folder)
    for path, reason in catalog_errors:
        print(f"{folder.name}/{path.relative_to(folder).as_posix()}: error: {reason}")
    content_errors = sum(1 for p in problems if p.level == "error")
    errors = content_errors + len(catalog_errors)
    warnings = len(problems) - content_errors
    print(
        f"{len(library.articles)} articles, {len(library.services)} services: "
        f"{errors} errors, {warnings} warnings",
        file=sys.stderr,
    )
    return 1 if errors else 0


def _revision(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.content) if args.content else settings.content_dir
    path = root / "articles" / args.slug / "en.md"
    try:
        _, body = split_front_matter(path.read_text(encoding="utf-8"))
    except (OSError, FrontMatterError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    print(revision(body))
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from hub.store import StoreError
    from hub.store.backup import backup

    try:
        made = backup(settings.store_path, Path(args.dest))
    except (StoreError, OSError) as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 1
    for table, count in made.tables.items():
        print(f"{table}: {count} documents")
    print(
        f"{made.path}: schema version {made.schema_version}, last record {made.seq} "
        f"({made.copied_bytes} bytes read from {settings.data_dir} in {made.seconds:.2f} s, "
        f"{made.attempts} attempt{'s' if made.attempts > 1 else ''})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hub` command."""
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", help="address to bind (default HUB_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default HUB_PORT or 8000)")
    serve.set_defaults(func=_serve)
    check = commands.add_parser("check", help="validate the content tree")
    check.add_argument("content", nargs="?", help="content folder (default HUB_CONTENT_DIR)")
    check.set_defaults(func=_check)
    rev = commands.add_parser("revision", help="print the revision of an article's English body")
    rev.add_argument("slug")
    rev.add_argument("--content", help="content folder (default HUB_CONTENT_DIR)")
    rev.set_defaults(func=_revision)
    back = commands.add_parser(
        "backup", help="copy the store of HUB_DATA_DIR, checked, into a new folder (hub may run)"
    )
    back.add_argument("dest", help="new or empty folder to write hub.json into")
    back.set_defaults(func=_backup)
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hub` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    sys.exit(main())
