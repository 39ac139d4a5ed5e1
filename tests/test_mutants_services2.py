"""Directory entry edges the second mutation run of hub/content/services.py found untested:
each refusal of `parse_service` word for word (file name, mapping, numbers, sources that state
numbers the entry lacks, old sources, verifier, languages, the last verification), the
warnings it returns, and every field an entry keeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.content.fields import FieldError
from hub.content.services import parse_service

TODAY = dt.date(2026, 11, 30)
LOCALES = ("en", "th")
PHONE = "+85221234567"


def _source(numbers: list[Any], date: Any = dt.date(2026, 1, 5), url: str = "") -> dict[str, Any]:
    return {"url": url or "https://example.org/a", "date": date, "numbers": numbers}


def _entry(**changes: Any) -> dict[str, Any]:
    """A valid hotline in Hong Kong, changed as asked (None removes a field)."""
    data: dict[str, Any] = {
        "kind": "hotline",
        "name": {"en": "Test line"},
        "country": "HK",
        "phone": PHONE,
        "sources": [_source([PHONE])],
        "verified_on": dt.date(2026, 11, 1),
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _needed(**changes: Any) -> dict[str, Any]:
    """The same entry, not verified yet."""
    return _entry(verified_on=None, verification="needed", **changes)


def _refusal(data: object, service_id: str = "test-line", **options: Any) -> str:
    with pytest.raises(FieldError) as refused:
        parse_service(service_id, data, LOCALES, TODAY, **options)
    return str(refused.value)


def _warnings(data: dict[str, Any], **options: Any) -> list[str]:
    return parse_service("test-line", data, LOCALES, TODAY, **options)[1]


# --- the file and its numbers (parse_service) ---------------------------------------------


@pytest.mark.parametrize("service_id", ["Test-line", "test_line", "test line", "-test", ""])
def test_a_file_name_that_is_no_slug_is_refused_in_words(service_id: str) -> None:
    # Kills the file-name message altered and the SLUG check dropped or inverted.
    assert _refusal(_entry(), service_id) == "file name must be lowercase words joined by '-'"


@pytest.mark.parametrize("data", [None, [], ["kind", "hotline"], "kind: hotline", 3])
def test_a_file_that_is_no_mapping_is_refused_in_words(data: object) -> None:
    assert _refusal(data) == "must be a mapping"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"country": "XX"}, "'country' has 'XX', which is not an ISO 3166 country code"),
        ({"country": None}, "'country' has 'None', which is not an ISO 3166 country code"),
        ({"phone": "+85201234567"}, "'phone' +85201234567 is not a valid number"),
        ({"phone": "21234567"}, "'phone' must be written in E.164, like +85221234567"),
        (
            {"phone_from_abroad": "0085221234567"},
            "'phone_from_abroad' must be written in E.164, like +85221234567",
        ),
        (
            {"phone_from_abroad": "+66021234567"},
            "'phone_from_abroad' +66021234567 is not written in E.164: it reads as "
            "+6621234567 (no national trunk 0 after the country code)",
        ),
        ({"short_number": "99"}, "'short_number' must be 3 to 6 digits"),
        ({"short_number": "9999999"}, "'short_number' must be 3 to 6 digits"),
        (
            {"phone": None, "sources": [_source([])]},
            "a verified entry needs 'phone' or 'short_number'",
        ),
        (
            {"phone": None, "phone_from_abroad": PHONE, "sources": [_source([PHONE])]},
            "a verified entry needs 'phone' or 'short_number'",
        ),
        ({"phone_from_abroad": PHONE}, "'phone_from_abroad' repeats 'phone'; leave it out"),
        ({"confidential": "yes"}, "'confidential' must be true or false"),
        ({"confidential": 1}, "'confidential' must be true or false"),
        (
            {"kind": "school"},
            "'kind' must be one of: emergency, police, hotline, embassy, labour-attache, shelter, "
            "legal-aid, health, cso",
        ),
        (
            {"kind": None},
            "'kind' must be one of: emergency, police, hotline, embassy, labour-attache, shelter, "
            "legal-aid, health, cso",
        ),
        ({"name": None}, "'name' must map locales to texts"),
        ({"name": {"th": "สายด่วน"}}, "'name' needs an English ('en') text"),
        ({"description": {"fr": "Ligne"}}, "'description' has unknown locale 'fr'"),
        ({"hours": {"en": " "}}, "'hours.en' must be a non-empty text"),
        ({"serves": ["ID", "XX"]}, "'serves' has 'XX', which is not an ISO 3166 country code"),
        ({"serves": "ID"}, "'serves' must be a list of texts"),
        ({"website": "example.org"}, "'website' must be an http(s) URL"),
        ({"cost": "cheap"}, "'cost' must be one of: free, paid, unknown"),
        ({"chat": [{"label": "WhatsApp"}]}, "'url' must be a non-empty text"),
        ({"chat": [{"url": "https://wa.me/85221234567"}]}, "'label' must be a non-empty text"),
    ],
    ids=[
        "country-unknown",
        "country-missing",
        "phone-invalid",
        "phone-not-e164",
        "abroad-not-e164",
        "abroad-trunk-zero",
        "short-too-short",
        "short-too-long",
        "verified-no-number",
        "verified-only-abroad",
        "abroad-repeats-phone",
        "confidential-word",
        "confidential-number",
        "kind-unknown",
        "kind-missing",
        "name-missing",
        "name-no-english",
        "description-locale",
        "hours-blank",
        "serves-unknown",
        "serves-not-list",
        "website-no-scheme",
        "cost-unknown",
        "chat-no-url",
        "chat-no-label",
    ],
)
def test_each_entry_mistake_says_what_to_fix(changes: dict[str, Any], message: str) -> None:
    assert _refusal(_entry(**changes)) == message


def test_the_fields_of_an_entry_are_kept_as_written() -> None:
    data = _entry(
        kind="legal-aid",
        name={"en": " Test line ", "th": "สายทดสอบ"},
        description={"en": "Help with contracts"},
        serves=["ID", "PH"],
        short_number="999",
        phone_from_abroad="+85223456789",
        website="https://example.org/line",
        hours={"en": "Every day, 9 to 5"},
        languages=["en", "id", "tl"],
        cost="free",
        confidential=True,
        chat=[{"label": "WhatsApp", "url": "https://wa.me/85221234567"}],
        sources=[_source([PHONE, "999", "+85223456789"])],
    )
    service, warnings = parse_service("test-line", data, LOCALES, TODAY)
    assert warnings == []
    assert service.id == "test-line"
    assert service.kind == "legal-aid"
    assert dict(service.name) == {"en": "Test line", "th": "สายทดสอบ"}
    assert dict(service.description) == {"en": "Help with contracts"}
    assert service.country == "HK"
    assert service.serves == frozenset({"ID", "PH"})
    assert service.phone == "+85221234567"
    assert service.short_number == "999"
    assert service.phone_from_abroad == "+85223456789"
    assert service.website == "https://example.org/line"
    assert dict(service.hours) == {"en": "Every day, 9 to 5"}
    assert service.languages == ("en", "id", "tl")
    assert service.cost == "free"
    assert service.confidential is True
    assert [(c.label, c.url) for c in service.chat] == [("WhatsApp", "https://wa.me/85221234567")]
    assert service.verified_on == dt.date(2026, 11, 1)


def test_the_optional_fields_of_an_entry_have_their_defaults() -> None:
    service, warnings = parse_service("test-line", _entry(), LOCALES, TODAY)
    assert warnings == []
    assert dict(service.description) == {}
    assert service.serves == frozenset()
    assert service.short_number is None
    assert service.phone_from_abroad is None
    assert service.website is None
    assert dict(service.hours) == {}
    assert service.languages == ()
    assert service.cost == "unknown"
    assert service.confidential is None
    assert service.chat == ()


@pytest.mark.parametrize("value", [False, True])
def test_confidential_is_kept_true_or_false(value: bool) -> None:
    service, _ = parse_service("test-line", _entry(confidential=value), LOCALES, TODAY)
    assert service.confidential is value


def test_a_short_number_as_a_yaml_integer_is_kept_as_text() -> None:
    data = _entry(phone=None, short_number=999, sources=[_source([999])])
    service, warnings = parse_service("test-line", data, LOCALES, TODAY)
    assert service.phone is None and service.short_number == "999"
    assert service.sources[0].numbers == ("999",)
    assert warnings == []


def test_an_empty_chat_list_or_none_keeps_no_chat() -> None:
    # `data.get("chat") or []`: a chat written empty (None in YAML) is no chat.
    chats: tuple[object, ...] = ([], {})
    for chat in chats:
        service, _ = parse_service("test-line", _entry(chat=chat), LOCALES, TODAY)
        assert service.chat == ()
    data = _entry()
    data["chat"] = None
    service, _ = parse_service("test-line", data, LOCALES, TODAY)
    assert service.chat == ()


def test_phone_absent_or_none_keeps_no_phone() -> None:
    data = _entry(short_number="999", sources=[_source(["999"])])
    data["phone"] = None
    data["phone_from_abroad"] = None
    data["short_number"] = "999"
    service, _ = parse_service("test-line", data, LOCALES, TODAY)
    assert service.phone is None and service.phone_from_abroad is None
    assert service.short_number == "999"


# --- warnings ----------------------------------------------------------------------------


def test_number_warnings_are_returned_in_the_order_of_the_fields() -> None:
    # The warnings of a number from abroad libphonenumber lacks, then of an unlisted short
    # number, then of an old source, each from parse_service itself.
    data = _entry(
        country="PH",
        phone="+63285272500",
        short_number="1348",
        phone_from_abroad="+85201234567",
        sources=[_source(["+63285272500", "1348", "+85201234567"], date=2020)],
    )
    assert _warnings(data) == [
        "phone_from_abroad +85201234567 is not a valid number in libphonenumber's data, so it"
        " gets no call button; make sure the source confirms it",
        "short number 1348 is not in libphonenumber's data for PH; make sure the source"
        " confirms it",
        "+63285272500: its newest source is from 2020; add a source from 2022 or later that"
        " states it, or mark 'verification: needed'",
        "1348: its newest source is from 2020; add a source from 2022 or later that states it,"
        " or mark 'verification: needed'",
        "+85201234567: its newest source is from 2020; add a source from 2022 or later that"
        " states it, or mark 'verification: needed'",
    ]


def test_a_line_its_readers_cannot_dial_is_warned_about_where_they_are() -> None:
    # A Singapore toll-free number is dialled only in Singapore: from Hong Kong it gets no
    # button, so the readers in Hong Kong have nothing to call.
    toll_free = "+6518002255322"
    here = _entry(phone=toll_free, sources=[_source([toll_free])])
    assert _warnings(here) == [
        "no number can be dialled by its readers in HK; add a number they can call (for"
        " callers abroad: 'phone_from_abroad')"
    ]
    # An origin's short number for its own people abroad: they are abroad.
    abroad = _entry(
        country="ID",
        serves=["ID"],
        phone=None,
        short_number="112",
        sources=[_source(["112"])],
    )
    assert _warnings(abroad, origins=("ID",)) == [
        "no number can be dialled by its readers abroad; add a number they can call (for"
        " callers abroad: 'phone_from_abroad')"
    ]
    # Not an origin: its readers are in Indonesia, where the short number is dialled.
    assert _warnings(abroad) == []
    assert _warnings(abroad, origins=("PH",)) == []


def test_an_entry_that_needs_verification_is_not_warned_about_dialling() -> None:
    toll_free = "+6518002255322"
    assert _warnings(_needed(phone=toll_free, sources=[_source([toll_free])])) == []


# --- sources and the numbers they state (_check_sources) ---------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"sources": [_source([PHONE]), _source([PHONE, "+85229876543"])]},
            "sources 2: '+85229876543' is not one of this entry's numbers (+85221234567)",
        ),
        (
            {
                "short_number": "999",
                "sources": [_source(["+85229876543", PHONE, "999"])],
            },
            "sources 1: '+85229876543' is not one of this entry's numbers (+85221234567, 999)",
        ),
        (
            {"short_number": "999", "sources": [_source([PHONE])]},
            "no source states 999: list it under 'numbers' of the source that gives it, or "
            "mark the entry 'verification: needed'",
        ),
        (
            {"sources": [_source([]), _source(["+852 2123 4567"])]},
            "sources 2: '+852 2123 4567' is not one of this entry's numbers (+85221234567)",
        ),
    ],
    ids=["second-source", "first-of-two-numbers", "number-unstated", "spaced"],
)
def test_each_mistake_of_the_numbers_a_source_states_says_what_to_fix(
    changes: dict[str, Any], message: str
) -> None:
    assert _refusal(_entry(**changes)) == message


def test_a_source_of_an_entry_without_numbers_says_it_has_none() -> None:
    data = _needed(phone=None, sources=[_source([PHONE])])
    assert _refusal(data) == ("sources 1: '+85221234567' is not one of this entry's numbers (none)")


def test_an_entry_that_needs_verification_may_have_numbers_no_source_states() -> None:
    # The unstated phone is skipped and the next number is still checked (`continue`).
    data = _needed(short_number="999", sources=[_source(["999"], date=2021)])
    assert _warnings(data) == [
        "999: its newest source is from 2021; add a source from 2022 or later that states it,"
        " or mark 'verification: needed'"
    ]
    service, _ = parse_service("test-line", _needed(sources=[_source([])]), LOCALES, TODAY)
    assert service.phone == PHONE and service.verified_on is None


@pytest.mark.parametrize(
    ("dates", "warned"),
    [
        ([2022], None),
        ([dt.date(2022, 1, 1)], None),
        ([2021], 2021),
        ([dt.date(2021, 12, 31)], 2021),
        (["2021-12"], 2021),
        ([2019, 2022], None),
        ([2022, 2019], None),
        ([2019, 2021], 2021),
        ([2021, 2019], 2021),
        ([2026], None),
    ],
)
def test_a_number_only_old_sources_state_is_warned_about_with_its_newest_year(
    dates: list[Any], warned: int | None
) -> None:
    # The default age is 4 years: in 2026 a source from 2022 is recent enough, 2021 is not.
    sources = [
        _source([PHONE], date=d, url=f"https://example.org/{i}") for i, d in enumerate(dates)
    ]
    expected = (
        []
        if warned is None
        else [
            f"+85221234567: its newest source is from {warned}; add a source from 2022 or later"
            " that states it, or mark 'verification: needed'"
        ]
    )
    assert _warnings(_entry(sources=sources)) == expected


def test_the_age_of_a_recent_source_is_a_setting() -> None:
    data = _entry(sources=[_source([PHONE], date=2024)])
    assert _warnings(data, source_max_age_years=2) == []
    assert _warnings(data, source_max_age_years=1) == [
        "+85221234567: its newest source is from 2024; add a source from 2025 or later that"
        " states it, or mark 'verification: needed'"
    ]


def test_a_number_stated_by_a_recent_source_is_not_warned_about_for_another_old_one() -> None:
    data = _entry(
        short_number="999",
        sources=[_source([PHONE], date=2026), _source(["999"], date=2020)],
    )
    assert _warnings(data) == [
        "999: its newest source is from 2020; add a source from 2022 or later that states it,"
        " or mark 'verification: needed'"
    ]


# --- verification, verifier and the last verification -------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"verified_on": "last week"}, "'verified_on' must be a date written YYYY-MM-DD"),
        (
            {"last_verified_on": dt.date(2026, 1, 1)},
            "'last_verified_on' goes with 'verification: needed'",
        ),
        ({"verified_by": ""}, "'verified_by' must be a non-empty text"),
        ({"verified_note": "  "}, "'verified_note' must be a non-empty text"),
        ({"verified_by": 7}, "'verified_by' must be a non-empty text"),
        ({"verified_note": ["checked"]}, "'verified_note' must be a non-empty text"),
        ({"languages": ["en", "xx"]}, "'languages' has 'xx', which is not a language code"),
        ({"languages": ["english"]}, "'languages' has 'english', which is not a language code"),
        ({"languages": "en"}, "'languages' must be a list of texts"),
        ({"languages": ["en", ""]}, "'languages' must be a list of texts"),
    ],
    ids=[
        "verified-on-words",
        "last-without-needed",
        "by-empty",
        "note-blank",
        "by-number",
        "note-list",
        "language-unknown",
        "language-word",
        "languages-not-list",
        "language-empty",
    ],
)
def test_each_verified_entry_mistake_says_what_to_fix(
    changes: dict[str, Any], message: str
) -> None:
    assert _refusal(_entry(**changes)) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"last_verified_on": dt.date(2026, 12, 1)},
            "'last_verified_on' 2026-12-01 is in the future",
        ),
        (
            {"last_verified_on": "2026-02-30"},
            "'last_verified_on' must be a date written YYYY-MM-DD",
        ),
        ({"verified_by": "Ana"}, "'verified_by' goes with 'verified_on'"),
        ({"verified_note": "Called them"}, "'verified_note' goes with 'verified_on'"),
        ({"verified_by": ""}, "'verified_by' must be a non-empty text"),
        ({"verified_note": ""}, "'verified_note' must be a non-empty text"),
    ],
    ids=["last-future", "last-not-a-date", "by", "note", "by-empty", "note-empty"],
)
def test_each_unverified_entry_mistake_says_what_to_fix(
    changes: dict[str, Any], message: str
) -> None:
    assert _refusal(_needed(**changes)) == message


def test_the_last_verification_may_be_today_or_before() -> None:
    for last in (TODAY, dt.date(2025, 6, 1), "2025-06-01"):
        service, _ = parse_service("test-line", _needed(last_verified_on=last), LOCALES, TODAY)
        assert service.verified_on is None


def test_a_verifier_and_note_go_with_a_verification() -> None:
    data = _entry(verified_by="Ana", verified_note="Called the line")
    service, _ = parse_service("test-line", data, LOCALES, TODAY)
    assert service.verified_on == dt.date(2026, 11, 1)
    # Written empty (None in YAML) they are absent, with or without a verification.
    for entry in (_entry(), _needed()):
        entry["verified_by"] = None
        entry["verified_note"] = None
        entry["last_verified_on"] = None
        parse_service("test-line", entry, LOCALES, TODAY)


def test_the_note_is_checked_after_a_good_verifier() -> None:
    # The loop goes on to the note once the verifier is good.
    assert _refusal(_entry(verified_by="Ana", verified_note="")) == (
        "'verified_note' must be a non-empty text"
    )
    assert _refusal(_needed(verified_by=None, verified_note="x")) == (
        "'verified_note' goes with 'verified_on'"
    )


def test_a_paid_line_is_kept_as_paid() -> None:
    # The word "paid" among the costs allowed, altered.
    service, _ = parse_service("test-line", _entry(cost="paid"), LOCALES, TODAY)
    assert service.cost == "paid"


@pytest.mark.parametrize(
    ("extra", "key"),
    [({10: "a", 2: "b"}, "10"), ({1: "a", "page": 3}, "1"), ({"tags": 1, "page": 3}, "page")],
    ids=["numbers", "number-and-word", "words"],
)
def test_the_first_unknown_key_of_a_source_is_named_in_the_order_of_its_text(
    extra: dict[object, object], key: str
) -> None:
    # YAML reads `10:` and `2:` as numbers: they are sorted as the texts the message shows
    # ("10" before "2"), and a number beside a word does not crash the sort (`key=str` dropped
    # or turned `key=None`).
    source: dict[Any, Any] = {**_source([PHONE]), **extra}
    assert _refusal(_entry(sources=[source])) == f"sources 1: unknown key '{key}'"
