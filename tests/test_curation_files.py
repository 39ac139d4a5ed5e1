"""The console's save layer without the app: content paths, digests, atomic writes, conflicts
(hub/curation/files.py), YAML written back as a person would (hub/curation/yamltext.py) and
one file committed to git as its author (hub/curation/history.py)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from hub.content.loader import load_tree
from hub.curation import yamltext
from hub.curation.files import (
    Conflict,
    UnsafePath,
    content_path,
    file_digest,
    line_diff,
    read_file,
    write_file,
)
from hub.curation.history import GitError, author_of, commit_file, is_repository
from tests.conftest import CONTENT, as_repository, git, git_env

SERVICE = "services/ph-dmw-hotline.yml"
ARTICLE = "articles/keep-your-passport/vi.md"
STARTER = sorted(
    [
        *CONTENT.glob("articles/*/*.md"),
        *CONTENT.glob("services/*.yml"),
        CONTENT / "site.yml",
        CONTENT / "topics.yml",
    ]
)


def files_in(folder: Path) -> set[str]:
    """Every name in `folder`, hidden ones too (a temp file left behind would be one)."""
    return set(os.listdir(folder))


# -- Digests and paths --------------------------------------------------------------------------


def test_the_digest_is_the_sha256_of_the_bytes_and_read_file_gives_text_and_digest(
    content_copy: Path,
) -> None:
    data = (content_copy / SERVICE).read_bytes()
    assert file_digest(data) == hashlib.sha256(data).hexdigest()
    assert file_digest(b"a") != file_digest(b"b")
    text, digest = read_file(content_copy, SERVICE)
    assert text == data.decode("utf-8")
    assert digest == hashlib.sha256(data).hexdigest()
    assert "DMW\u2013OWWA 1348" in text


@pytest.mark.parametrize(
    "rel",
    [
        "/etc/passwd",
        "../content/services/ph-dmw-hotline.yml",
        "services/../site.yml",
        "articles/x/../../etc",
        "articles/x/../../../etc/passwd.md",
        "./services/ph-dmw-hotline.yml",
        "services//ph-dmw-hotline.yml",
        "articles/.hidden/en.md",
        "services/.ph-dmw-hotline.yml",
        "articles/keep-your-passport/.en.md",
        ".git/config",
        "site.yml",
        "topics.yml",
        "services/ph-dmw-hotline.yaml",
        "services/PH-DMW.yml",
        "services/ph dmw.yml",
        "articles/keep-your-passport/en.txt",
        "articles/keep-your-passport/EN.md",
        "articles/keep-your-passport/sub/en.md",
        "articles/en.md",
        "services\\ph-dmw-hotline.yml",
        "services/ph-dmw-hotline.yml\x00",
        "",
    ],
)
def test_a_path_the_console_may_not_use_is_refused(content_copy: Path, rel: str) -> None:
    before = {path: path.read_bytes() for path in content_copy.rglob("*.yml")}
    with pytest.raises(UnsafePath):
        read_file(content_copy, rel)
    with pytest.raises(UnsafePath):
        write_file(content_copy, rel, "kind: hotline\n", expected=None)
    assert {path: path.read_bytes() for path in content_copy.rglob("*.yml")} == before
    assert not (content_copy.parent / "etc").exists()


@pytest.mark.parametrize(
    "rel", [SERVICE, ARTICLE, "articles/keep-your-passport/en.md", "services/new-entry.yml"]
)
def test_the_files_the_console_edits_are_taken(content_copy: Path, rel: str) -> None:
    assert content_path(content_copy, rel) == content_copy.resolve() / rel


def test_a_symlink_out_of_the_content_folder_is_refused(content_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "elsewhere.yml"
    secret.write_text("kept: true\n")
    (content_copy / "services" / "evil.yml").symlink_to(secret)
    (content_copy / "articles" / "linked").symlink_to(outside, target_is_directory=True)
    (outside / "en.md").write_text("---\ntitle: x\n---\n")
    for rel in ("services/evil.yml", "articles/linked/en.md", "articles/linked/th.md"):
        with pytest.raises(UnsafePath):
            read_file(content_copy, rel)
        with pytest.raises(UnsafePath):
            write_file(content_copy, rel, "changed: true\n", expected=None)
    assert secret.read_text() == "kept: true\n"
    assert files_in(outside) == {"elsewhere.yml", "en.md"}


def test_a_content_folder_reached_through_a_symlink_is_fine(
    content_copy: Path, tmp_path: Path
) -> None:
    link = tmp_path / "linked-content"
    link.symlink_to(content_copy, target_is_directory=True)
    text, digest = read_file(link, SERVICE)
    written = write_file(link, SERVICE, text + "# checked\n", expected=digest)
    assert (content_copy / SERVICE).read_text().endswith("# checked\n")
    assert written.before == text


# -- Atomic writes and conflicts ----------------------------------------------------------------


def test_a_write_replaces_the_file_keeps_its_mode_and_leaves_no_temp_file(
    content_copy: Path,
) -> None:
    path = content_copy / SERVICE
    os.chmod(path, 0o640)
    names = files_in(path.parent)
    text, digest = read_file(content_copy, SERVICE)
    new = text.replace("24 hours, every day", "Every day, all day")
    written = write_file(content_copy, SERVICE, new, expected=digest)
    assert path.read_text() == new
    assert written.before == text and written.before_digest == digest
    assert written.digest == file_digest(new.encode()) == read_file(content_copy, SERVICE)[1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert files_in(path.parent) == names


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temp_file(
    content_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = content_copy / SERVICE
    old = path.read_bytes()
    names = files_in(path.parent)
    digest = read_file(content_copy, SERVICE)[1]

    def fail(source: object, target: object) -> None:
        # The temp file is complete and fsynced by now: the rename is the step that fails.
        assert Path(str(source)).read_text() == "kind: cso\n"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_file(content_copy, SERVICE, "kind: cso\n", expected=digest)
    assert path.read_bytes() == old
    assert files_in(path.parent) == names


def test_a_stale_digest_is_a_conflict_and_nothing_is_written(content_copy: Path) -> None:
    text, digest = read_file(content_copy, SERVICE)
    theirs = text.replace("24 hours, every day", "Theirs")
    write_file(content_copy, SERVICE, theirs, expected=digest)
    with pytest.raises(Conflict) as caught:
        write_file(content_copy, SERVICE, text.replace("24 hours", "Mine"), expected=digest)
    conflict = caught.value
    assert conflict.rel == SERVICE
    assert conflict.current_text == theirs
    assert conflict.current_digest == file_digest(theirs.encode())
    assert (content_copy / SERVICE).read_text() == theirs
    diff = conflict.diff_with(text.replace("24 hours", "Mine"))
    assert ("-", "  en: Theirs") in [(line.kind, line.text) for line in diff]
    assert ("+", "  en: Mine, every day") in [(line.kind, line.text) for line in diff]


def test_a_new_file_must_not_exist_and_an_old_one_must_still_exist(content_copy: Path) -> None:
    text, digest = read_file(content_copy, SERVICE)
    with pytest.raises(Conflict) as appeared:
        write_file(content_copy, SERVICE, "kind: cso\n", expected=None)
    assert appeared.value.current_digest == digest
    (content_copy / SERVICE).unlink()
    with pytest.raises(Conflict) as vanished:
        write_file(content_copy, SERVICE, text, expected=digest)
    assert vanished.value.current_text is None and vanished.value.current_digest is None
    assert not (content_copy / SERVICE).exists()


def test_a_new_article_gets_its_folder_with_the_modes_of_the_others(content_copy: Path) -> None:
    articles = content_copy / "articles"
    os.chmod(articles, 0o750)
    rel = "articles/a-new-article/en.md"
    written = write_file(content_copy, rel, "---\ntitle: New\n---\nBody\n", expected=None)
    folder = articles / "a-new-article"
    assert written.before is None and written.before_digest is None
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert stat.S_IMODE((folder / "en.md").stat().st_mode) == 0o644
    assert files_in(folder) == {"en.md"}
    # Its translation takes the English file's mode.
    os.chmod(folder / "en.md", 0o600)
    write_file(content_copy, "articles/a-new-article/th.md", "---\n---\n", expected=None)
    assert stat.S_IMODE((folder / "th.md").stat().st_mode) == 0o600


def test_line_diff_marks_removed_and_added_lines_and_the_gaps() -> None:
    before = "".join(f"line {n}\n" for n in range(20))
    after = before.replace("line 3\n", "line three\n").replace("line 15\n", "")
    lines = [(line.kind, line.text) for line in line_diff(before, after)]
    assert ("-", "line 3") in lines and ("+", "line three") in lines
    assert ("-", "line 15") in lines
    assert ("@", "") in lines
    assert (" ", "line 10") not in lines  # far from any change
    assert line_diff(before, before) == []
    indented = line_diff("a:\n  b: 1\n", "a:\n  b: 2\n")
    assert [line.shown for line in indented if line.kind == "+"] == ["\u00a0\u00a0b: 2"]


# -- YAML as a person writes it -----------------------------------------------------------------


@pytest.mark.parametrize("path", STARTER, ids=lambda path: str(path.relative_to(CONTENT)))
def test_every_starter_file_is_written_back_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        assert yamltext.edit_front_matter(text, {}) == text
        front_matter, body = yamltext.split_article(text)
        assert yamltext.join_article(front_matter, body) == text
        return
    document, writer = yamltext.load(text)
    assert yamltext.dump(document, writer) == text
    if path.name != "topics.yml":  # a list of topics, not a mapping
        assert yamltext.edit_mapping(text, {}) == text


def test_an_edit_changes_only_the_lines_of_the_fields_it_changes(content_copy: Path) -> None:
    text = (content_copy / SERVICE).read_text()
    edited = yamltext.edit_mapping(
        text,
        {
            "phone": "+63287221155",
            "verified_on": date(2026, 11, 30),
            "hours": {
                "en": "Every day, all day",
                "fil": "24 oras, araw-araw",
                "id": "24 jam, setiap hari",
                "vi": "24 giờ, mỗi ngày",
                "th": "ทุกวัน ตลอดวัน",
                "km": "២៤ ម៉ោង រៀងរាល់ថ្ងៃ",
                "my": "နေ့စဉ် ၂၄ နာရီ",
            },
            "cost": None,
            "needs_verification": "no",
        },
    )
    changed = [(line.kind, line.text) for line in line_diff(text, edited) if line.kind in "+-"]
    assert changed == [
        ("-", 'phone: "+63287221144"'),
        ("+", 'phone: "+63287221155"'),
        ("-", "  en: 24 hours, every day"),
        ("+", "  en: Every day, all day"),
        ("-", "  th: 24 ชั่วโมง ทุกวัน"),
        ("+", "  th: ทุกวัน ตลอดวัน"),
        ("-", "cost: unknown"),
        ("-", "verified_on: 2026-11-29"),
        ("+", "verified_on: 2026-11-30"),
        ("+", 'needs_verification: "no"'),
    ]
    # The comment about the numbers, the flow lists and the quoting of the rest are kept.
    assert "# 1348 in the Philippines and +6321348" in edited
    assert 'numbers: ["1348", "+6321348"]' in edited
    data = yaml.safe_load(edited)
    assert data["verified_on"] == date(2026, 11, 30)
    assert data["needs_verification"] == "no"
    assert data["phone"] == "+63287221155"
    assert list(data)[-1] == "needs_verification"


def test_nested_lists_and_maps_are_changed_in_place(content_copy: Path) -> None:
    text = (content_copy / SERVICE).read_text()
    sources = yaml.safe_load(text)["sources"]
    sources[0]["numbers"] = ["1348"]
    sources.append({"url": "https://example.org/new", "date": date(2026, 11, 30)})
    edited = yamltext.edit_mapping(text, {"sources": sources, "serves": ["PH", "HK"]})
    assert yaml.safe_load(edited)["sources"] == sources
    assert "serves: [PH, HK]" in edited  # the flow style kept
    assert '    numbers: ["1348"]\n' in edited
    assert "  - url: https://example.org/new\n    date: 2026-11-30\n" in edited
    # Six of the seven sources are as they were written.
    assert (
        edited.count('numbers: ["1348", "+6321348"]')
        == text.count('numbers: ["1348", "+6321348"]') - 1
    )


def test_strings_yaml_would_misread_are_quoted_and_unicode_stays_as_is() -> None:
    values = {
        "kind": "hotline",
        "a": "no",
        "b": "1:30",
        "c": "+6521",
        "d": "2026-11-30",
        "e": "null",
        "f": "ခန္ဓာကိုယ်",
        "g": "two\nlines\n",
        "h": "a # not a comment",
        "i": "x: y",
        "j": "- dash",
        "k": "'quoted'",
        "verified_on": date(2026, 11, 30),
        "l": 3,
        "m": True,
        "long": "word " * 100,
    }
    text = yamltext.new_mapping(values)
    assert yaml.safe_load(text) == {**values, "long": values["long"]}
    assert "ခန္ဓာကိုယ်" in text and "\\u" not in text
    assert "verified_on: 2026-11-30\n" in text
    assert len(text.splitlines()) == len(values) + 2  # one line each; "g" is a block of two
    assert list(yaml.safe_load(text)) == list(values)
    edited = yamltext.edit_mapping(text, {"a": "yes", "kind": "cso"})
    assert yaml.safe_load(edited)["a"] == "yes"
    assert edited.startswith("kind: cso\n")


def test_an_article_s_front_matter_and_body_are_changed_apart(content_copy: Path) -> None:
    text = (content_copy / ARTICLE).read_text()
    edited = yamltext.edit_front_matter(
        text, {"translation": "reviewed", "reviewed_by": "Test curator"}
    )
    assert edited.split("---\n", 2)[2] == text.split("---\n", 2)[2]
    assert "translation: reviewed\n" in edited
    assert 'source_revision: "24c0598a10b5"\n' in edited
    assert edited.index("reviewed_by: Test curator") < edited.index("\n---\n")
    replaced = yamltext.edit_front_matter(text, {}, body="Một dòng.\n")
    assert replaced == text[: text.index("\n---\n") + 5] + "Một dòng.\n"
    with pytest.raises(ValueError):
        yamltext.split_article("no front matter\n")
    assert yamltext.split_article("---\ntitle: x\n---\n") == ("title: x\n", "")


def test_edited_files_still_load_without_a_new_problem(content_copy: Path) -> None:
    problems = {str(p) for p in load_tree(content_copy).problems}
    text = (content_copy / SERVICE).read_text()
    (content_copy / SERVICE).write_text(
        yamltext.edit_mapping(text, {"verified_on": date(2026, 11, 30), "cost": "free"})
    )
    article = (content_copy / ARTICLE).read_text()
    (content_copy / ARTICLE).write_text(
        yamltext.edit_front_matter(article, {"translation": "reviewed"})
    )
    loaded = load_tree(content_copy)
    assert {str(p) for p in loaded.problems} <= problems
    assert loaded.library.services["ph-dmw-hotline"].cost == "free"


# -- Git ----------------------------------------------------------------------------------------


@pytest.fixture
def repo(content_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The content copy as a git repository with one commit, on a machine where git knows no
    identity (HOME is an empty folder)."""
    as_repository(content_copy, tmp_path / "home", monkeypatch)
    no_identity = subprocess.run(
        ["git", "-C", str(content_copy), "commit", "--allow-empty", "-m", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        env=git_env(),
    )
    assert no_identity.returncode != 0  # as on a server nobody set git up on
    return content_copy


def test_a_save_is_committed_alone_as_its_author_in_a_dirty_tree(repo: Path) -> None:
    assert is_repository(repo)
    (repo / "site.yml").write_text((repo / "site.yml").read_text() + "# by hand\n")
    (repo / "topics.yml").write_text((repo / "topics.yml").read_text() + "# staged\n")
    git(repo, "add", "topics.yml")
    text, digest = read_file(repo, SERVICE)
    write_file(repo, SERVICE, text.replace("24 hours", "All"), expected=digest)
    commit = commit_file(
        repo,
        SERVICE,
        author=author_of("Test <curator>\n", "acc-1"),
        message=f"entry_edited {SERVICE}",
    )
    assert commit is not None and len(commit) == 40
    shown = git(repo, "show", "--name-only", "--format=%H|%an|%ae|%cn|%s", commit).split("\n")
    assert shown[0].split("|") == [
        commit,
        "Test curator",
        "acc-1@hub.invalid",
        "Test curator",
        f"entry_edited {SERVICE}",
    ]
    assert [line for line in shown[1:] if line] == [SERVICE]
    status = git(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M site.yml", "M  topics.yml"]


def test_a_new_file_on_a_detached_head_is_committed(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    rel = "articles/a-new-article/en.md"
    write_file(repo, rel, "---\ntitle: New\n---\nBody\n", expected=None)
    commit = commit_file(repo, rel, author=("Ana", "a@hub.invalid"), message=f"created {rel}")
    assert git(repo, "rev-parse", "HEAD").strip() == commit
    assert git(repo, "show", "--format=", "--name-status", "HEAD").split() == ["A", rel]


def test_an_unchanged_file_makes_no_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert commit_file(repo, SERVICE, author=("Ana", "a@hub.invalid"), message="same") is None
    assert git(repo, "rev-parse", "HEAD") == head


def test_git_failing_or_missing_is_a_git_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, digest = read_file(repo, SERVICE)
    write_file(repo, SERVICE, text + "# more\n", expected=digest)
    (repo / ".git" / "index.lock").write_text("")
    with pytest.raises(GitError, match=r"index\.lock"):
        commit_file(repo, SERVICE, author=("Ana", "a@hub.invalid"), message="m")
    (repo / ".git" / "index.lock").unlink()
    monkeypatch.setenv("PATH", str(repo))
    with pytest.raises(GitError, match="not installed"):
        commit_file(repo, SERVICE, author=("Ana", "a@hub.invalid"), message="m")


def test_a_folder_without_git_is_no_repository(content_copy: Path) -> None:
    assert not is_repository(content_copy)
    (content_copy / ".git").mkdir()
    assert is_repository(content_copy)


def test_an_author_is_made_safe_for_git() -> None:
    assert author_of("Ana <a@b>", "abc") == ("Ana a@b", "abc@hub.invalid")
    assert author_of("", "a/b") == ("Hub curator", "a-b@hub.invalid")
    assert author_of("Nguyễn\tThị", "x") == ("Nguyễn Thị", "x@hub.invalid")


def test_a_write_fsyncs_the_file_before_the_rename_and_the_folder_after(
    content_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        steps.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(source: str, target: str) -> None:
        steps.append("rename")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    text, digest = read_file(content_copy, SERVICE)
    write_file(content_copy, SERVICE, text + "# x\n", expected=digest)
    assert steps == ["fsync file", "rename", "fsync folder"]
    steps.clear()
    write_file(content_copy, "articles/brand-new/en.md", "---\n---\n", expected=None)
    # The new folder's entry in articles/ first, then the file's.
    assert steps == ["fsync folder", "fsync file", "rename", "fsync folder"]
