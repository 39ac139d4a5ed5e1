"""Accept-Language negotiation at its edges: the cases the mutation run found untested."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hub.i18n import parse_accept_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # An empty or "*" range is skipped, and the ranges after it still count.
        ("*, th", ["th"]),
        (", , vi;q=0.5, km", ["km", "vi"]),
        # No q is q=1: it ties with an explicit q=1, and the header's order breaks the tie.
        ("vi;q=1, th", ["vi", "th"]),
        ("th, vi;q=1.000", ["th", "vi"]),
        # Every parameter is read, not only the first: q may come after another one.
        ("vi;level=1;q=0.1, th;q=0.5", ["th", "vi"]),
        ("vi ; level=1 ; Q=0 , th", ["th"]),
        # "q==0.5" is a q whose value is "=0.5", no quality: the range is not wanted.
        ("vi;q==0.5, th;q=0.9", ["th"]),
    ],
)
def test_each_range_and_each_parameter_counts(header: str, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # A tag with a script and a region counts by its first subtag alone.
        ("fil-Latn-PH", "fil"),
        ("my-Mymr-MM, en;q=0.5", "my"),
        ("zh-Hant-HK, km-Khmr-KH;q=0.8", "km"),
        # Two ranges equally wanted: the first written wins.
        ("vi;q=1, th", "vi"),
        ("de, *, th", "th"),
        # q=0 means "not this language", even as the only one that matches.
        ("id;q=0, de", "en"),
    ],
)
def test_root_redirects_by_the_language_subtag_of_a_long_tag(
    shared_client: TestClient, header: str, expected: str
) -> None:
    response = shared_client.get("/", headers={"accept-language": header}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/{expected}/"
