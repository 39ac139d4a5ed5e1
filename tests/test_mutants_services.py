"""Directory entry edges the mutation run of hub/content/services.py found untested by the
entry's own tests: the words `hub check` and the console say of a number from abroad that
libphonenumber does not know, and when an entry counts as retired."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.content.fields import FieldError
from hub.content.services import abroad_warnings, retired_on, short_number_warnings

TODAY = dt.date(2026, 11, 30)


def test_a_number_from_abroad_libphonenumber_does_not_know_is_warned_about_in_words() -> None:
    assert abroad_warnings("+85221234567") == []
    assert abroad_warnings("+85201234567") == [
        "phone_from_abroad +85201234567 is not a valid number in libphonenumber's data, so it"
        " gets no call button; make sure the source confirms it"
    ]


def test_a_short_number_libphonenumber_lacks_is_warned_about_in_words() -> None:
    assert short_number_warnings("999", "HK") == []
    assert short_number_warnings("1348", "PH") == [
        "short number 1348 is not in libphonenumber's data for PH; make sure the source confirms it"
    ]


@pytest.mark.parametrize("data", [{}, {"name": {"en": "Line"}}, "retired_on", ["retired_on"], None])
def test_an_entry_without_retired_on_is_not_retired(data: object) -> None:
    assert retired_on(data, TODAY) is None


def test_an_entry_retired_today_is_retired_on_that_day() -> None:
    data = {"retired_on": dt.date(2026, 11, 30), "retired_reason": "Closed in March"}
    assert retired_on(data, TODAY) == dt.date(2026, 11, 30)
    assert retired_on({**data, "retired_on": dt.date(2020, 2, 29)}, TODAY) == dt.date(2020, 2, 29)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"retired_reason": "Closed"}, "'retired_reason' goes with 'retired_on' (YYYY-MM-DD)"),
        (
            {"retired_on": dt.date(2026, 12, 1), "retired_reason": "Closed"},
            "'retired_on' 2026-12-01 is in the future",
        ),
        ({"retired_on": dt.date(2026, 1, 1)}, "'retired_reason' must be a non-empty text"),
        (
            {"retired_on": "soon", "retired_reason": "Closed"},
            "'retired_on' must be a date written YYYY-MM-DD",
        ),
    ],
)
def test_each_retirement_mistake_says_what_to_fix(data: dict[str, object], message: str) -> None:
    with pytest.raises(FieldError) as refused:
        retired_on(data, TODAY)
    assert str(refused.value) == message
