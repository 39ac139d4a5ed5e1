"""The directory console's edges a QA pass found (issue 12): saving from a conflict page, a
date of verification sent with "needs verification", "I verified this today" on an entry
without a number or on a file changed since the form was opened, the field a bad date is
named by, and the CSV import's messages (a pasted byte order mark, a missing column, a
retire sent twice). Through the real app on a copy of the starter content."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from hub.settings import PROJECT_ROOT
from tests.conftest import ClientFactory, sign_in_as
from tests.test_console_directory import (
    GOOD_ROWS,
    HEADER,
    HOTLINE,
    SHELTER,
    TODAY,
    edit,
    errors_of,
    form_of,
    import_csv,
    new_form,
    problems,
)

NO_NUMBER = "hk-police-hotline"  # `verification: needed`, no phone and no short number
NO_NUMBER_SAID = (
    "This entry has no phone number or short number yet: add one under “Edit the entry” "
    "below, then verify it."
)
BOTH_SAID = (
    "a date of verification and &#39;needs verification&#39; cannot go together: clear the "
    "date, or untick &#39;Needs verification&#39;"
)
CONFLICT_SAID = "Not saved: someone else changed this file after you opened it"


def removed(line: str) -> str:
    """A line of a conflict's diff that is in the file now and not in her version."""
    return f'<del><span aria-hidden="true">\u2212 </span>{line}</del>'


def added(line: str) -> str:
    """A line of a conflict's diff that is in her version and not in the file now."""
    return f'<ins><span aria-hidden="true">+ </span>{line}</ins>'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the starter content."""
    target = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", target)
    return target


@pytest.fixture
def curator(make_console_client: ClientFactory, tree: Path) -> Iterator[TestClient]:
    """The app on `tree`, a curator signed in."""
    client = make_console_client(content_dir=tree)
    sign_in_as(client, "curator")
    yield client


@pytest.fixture
def other(curator: TestClient) -> TestClient:
    """A second browser on the same running app, an admin signed in (a session of its own)."""
    browser = TestClient(curator.app)
    sign_in_as(browser, "admin")
    return browser


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests_on(html: str) -> set[str]:
    """The `digest` of every form on the page."""
    return set(re.findall(r'<input type="hidden" name="digest" value="([^"]*)">', html))


# -- Saving from a conflict page -----------------------------------------------------------------


def test_sending_again_from_the_conflict_page_saves_her_version(
    curator: TestClient, other: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    action = f"/admin/directory/{HOTLINE}"
    mine = {**form_of(curator.get(action).text, action), "name_en": "Mine"}
    theirs = other.post(
        action,
        data={**form_of(other.get(action).text, action), "cost": "free"},
        follow_redirects=False,
    )
    assert theirs.status_code == 303
    assert yaml.safe_load(path.read_text("utf-8"))["cost"] == "free"
    refused = curator.post(action, data=mine)
    assert refused.status_code == 409
    assert CONFLICT_SAID in refused.text
    assert removed("cost: free") in refused.text
    assert added("cost: unknown") in refused.text
    # Every form of the page (edit, verify, retire) now carries the file's digest.
    assert digests_on(refused.text) == {digest_of(path)}
    assert 'id="verify-again"' not in refused.text
    resent = curator.post(action, data=form_of(refused.text, action), follow_redirects=False)
    assert resent.status_code == 303, resent.text
    assert resent.headers["location"] == f"/admin/directory/{HOTLINE}?done=edited"
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["name"]["en"] == "Mine" and saved["cost"] == "unknown"
    assert "Mine" in curator.get(f"/en/services/{HOTLINE}").text


# -- A date of verification with "needs verification" --------------------------------------------


def test_a_new_entry_with_a_date_and_the_box_ticked_is_refused(
    curator: TestClient, tree: Path
) -> None:
    sent = {**new_form(curator), "verification": "needed", "verified_on": TODAY.isoformat()}
    assert sent["phone"] == "+852 2157 9500"
    refused = curator.post("/admin/directory/new", data=sent)
    assert refused.status_code == 400
    assert f'<p class="error" id="verified_on-error" lang="en">{BOTH_SAID}</p>' in refused.text
    assert not (tree / "services" / "hk-new-helpline.yml").exists()
    # The new form's box is still ticked by default: without a date the entry needs verifying.
    page = curator.get("/admin/directory/new").text
    assert form_of(page, "/admin/directory/new")["verification"] == "needed"
    sent["verified_on"] = ""
    created = curator.post("/admin/directory/new", data=sent, follow_redirects=False)
    assert created.status_code == 303
    saved = yaml.safe_load((tree / "services" / "hk-new-helpline.yml").read_text("utf-8"))
    assert saved["verification"] == "needed" and "verified_on" not in saved


def test_an_edit_with_a_new_date_and_the_box_ticked_is_refused(
    curator: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    status, page = edit(curator, HOTLINE, verified_on="2026-11-01", verification="needed")
    assert status == 400
    assert f'<p class="error" id="verified_on-error" lang="en">{BOTH_SAID}</p>' in page
    assert path.read_bytes() == kept
    # The file's own date with the box ticked is marking it again, as before.
    status, page = edit(curator, HOTLINE, verification="needed")
    assert status == 200, page
    assert yaml.safe_load(path.read_text("utf-8"))["verification"] == "needed"


def test_a_bad_date_of_verification_is_named_by_its_field(curator: TestClient, tree: Path) -> None:
    said = "&#39;verified_on&#39; must be a date written YYYY-MM-DD"
    status, page = edit(curator, HOTLINE, verified_on="yesterday")
    assert status == 400
    assert f'<p class="error" id="verified_on-error" lang="en">{said}</p>' in page
    assert "&#39;v&#39;" not in page
    row = "hk-csv-one,hotline,HK,CSV One,+85221579501,https://example.org/1,2026-01,yesterday"
    status, page = import_csv(curator, "\n".join([HEADER, row]))
    assert status == 400
    assert problems(page) == [("2", "verified_on")]
    assert said in page and "&#39;v&#39;" not in page


# -- I verified this today -----------------------------------------------------------------------


def test_no_verify_form_for_an_entry_without_a_number(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{NO_NUMBER}.yml"
    kept = path.read_bytes()
    action = f"/admin/directory/{NO_NUMBER}/verify"
    page = curator.get(f"/admin/directory/{NO_NUMBER}").text
    assert f'action="{action}"' not in page
    assert f'<p class="notice" id="verify-needs-number">{NO_NUMBER_SAID}</p>' in page
    # Sent anyway (a form from before the number was taken out): what to do, nothing written.
    sent = {
        **form_of(page, f"/admin/directory/{NO_NUMBER}"),
        "source_url": "https://www.police.gov.hk/ppp_en/contact_us.html",
        "source_date": "2026",
    }
    refused = curator.post(action, data=sent)
    assert refused.status_code == 400
    assert (
        f'<p class="notice" id="verify-needs-number" role="alert">{NO_NUMBER_SAID}</p>'
        in refused.text
    )
    assert "a verified entry needs" not in refused.text
    assert path.read_bytes() == kept


def test_verifying_a_number_someone_changed_meanwhile_is_a_conflict(
    curator: TestClient, other: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    action = f"/admin/directory/{HOTLINE}/verify"
    opened = curator.get(f"/admin/directory/{HOTLINE}").text
    mine = {
        **form_of(opened, action),
        "source_url": "https://www.labour.gov.hk/eng/tele/content.htm",
    }
    assert mine["numbers"] == "+85221579537"
    status, _page = edit(
        other,
        HOTLINE,
        phone="+852 2157 9538",
        **{f"source_numbers_{n}": "+85221579538" for n in (1, 2, 3)},
    )
    assert status == 200
    theirs = path.read_bytes()
    refused = curator.post(action, data=mine)
    assert refused.status_code == 409
    assert CONFLICT_SAID in refused.text
    # The other change, against her verification of the file she had opened.
    assert removed("phone: &#34;+85221579538&#34;") in refused.text
    assert added("phone: &#34;+85221579537&#34;") in refused.text
    assert added(f"verified_on: {TODAY}") in refused.text
    assert path.read_bytes() == theirs
    # The form shows the number the file holds now, not ticked: she ticks what the page states.
    assert (
        '<p class="notice warn" id="verify-again">The numbers below are the ones the file holds '
        "now. Tick those the page states, then send again.</p>" in refused.text
    )
    again = form_of(refused.text, action)
    assert again["digest"] == digest_of(path)
    assert "numbers" not in again
    assert 'name="numbers" value="+85221579538">' in refused.text
    assert again["source_url"] == "https://www.labour.gov.hk/eng/tele/content.htm"
    saved = curator.post(action, data={**again, "numbers": "+85221579538"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    written = yaml.safe_load(path.read_text("utf-8"))
    assert written["phone"] == "+85221579538" and written["verified_on"] == TODAY
    assert written["verified_by"] == "Test curator"


def test_verifying_a_file_changed_by_hand_meanwhile_is_a_conflict(
    curator: TestClient, tree: Path
) -> None:
    """A change the audit log does not hold (made by hand): still a conflict, nothing written;
    her verification is shown on the file as it is now."""
    path = tree / "services" / f"{HOTLINE}.yml"
    action = f"/admin/directory/{HOTLINE}/verify"
    mine = {
        **form_of(curator.get(f"/admin/directory/{HOTLINE}").text, action),
        "source_url": "https://www.labour.gov.hk/eng/tele/content.htm",
    }
    theirs = path.read_text("utf-8").replace('phone: "+85221579537"', 'phone: "+85221579538"')
    theirs = theirs.replace('numbers: ["+85221579537"]', 'numbers: ["+85221579538"]')
    path.write_text(theirs, "utf-8")
    assert errors_of(tree) == errors_of(PROJECT_ROOT / "content")
    refused = curator.post(action, data=mine)
    assert refused.status_code == 409
    assert CONFLICT_SAID in refused.text
    assert added(f"verified_on: {TODAY}") in refused.text
    assert form_of(refused.text, action)["digest"] == digest_of(path)
    assert path.read_text("utf-8") == theirs


# -- Retire --------------------------------------------------------------------------------------


def test_a_retire_sent_twice_says_it_is_retired_already(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{SHELTER}.yml"
    action = f"/admin/directory/{SHELTER}/retire"
    sent = {**form_of(curator.get(f"/admin/directory/{SHELTER}").text, action), "reason": "Moved"}
    first = curator.post(action, data=sent, follow_redirects=False)
    assert first.status_code == 303
    written = path.read_bytes()
    again = curator.post(action, data=sent)
    assert again.status_code == 400
    assert (
        '<p class="error" id="retired_reason-error">This entry is retired already.</p>'
        in again.text
    )
    assert path.read_bytes() == written
    # Nor is a retired entry verified from a page opened before.
    verify = f"/admin/directory/{SHELTER}/verify"
    refused = curator.post(
        verify,
        data={**sent, "source_url": "https://example.org/b", "source_date": "2026"},
    )
    assert refused.status_code == 400
    assert (
        '<p class="error" id="retired_reason-error">This entry is retired already.</p>'
        in refused.text
    )
    assert path.read_bytes() == written


# -- CSV import ----------------------------------------------------------------------------------


def test_a_pasted_csv_with_a_byte_order_mark_is_read(curator: TestClient, tree: Path) -> None:
    text = "\ufeff" + "\n".join([HEADER, *GOOD_ROWS])
    status, page = import_csv(curator, text)
    assert status == 200, page
    assert "unknown column" not in page and "Import 2 entries" in page
    assert "\ufeff" not in page
    status, page = import_csv(curator, text, action="import")
    assert status == 200 and "2 entries imported." in page
    assert (tree / "services" / "hk-csv-one.yml").exists()


def test_a_missing_column_is_said_once(curator: TestClient, tree: Path) -> None:
    header = HEADER.replace(",country,", ",")
    rows = [row.replace(",HK,", ",", 1) for row in GOOD_ROWS]
    status, page = import_csv(curator, "\n".join([header, *rows]))
    assert status == 400
    assert problems(page) == [("1", "country")]
    assert "missing column" in page and "None" not in page
    dated = "id,kind,country,name_en,source_url\nhk-x,hotline,HK,X,https://example.org/x\n"
    status, page = import_csv(curator, dated)
    assert status == 400
    assert problems(page) == [("1", "source_date")]
