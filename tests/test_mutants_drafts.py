"""Tests written from the surviving mutants of hub/push/drafts.py (mutmut; docs/testing.md,
"Mutation testing"): a curator's translations and a rejection's reason, Burmese typed in
Zawgyi read by the draft's own checks, and the refusals and cleaned values the other tests
did not read word for word. No app: the real module on the real content."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest

from hub.auth.accounts import Account
from hub.content.library import Library
from hub.content.loader import load_library
from hub.push.drafts import (
    Draft,
    DraftRefused,
    Drafts,
    InvalidAlert,
    check_reason,
    check_translations,
)
from hub.settings import PROJECT_ROOT
from tests.conftest import LocalZone
from tests.test_mutants_push import leader_account, make_draft

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)

# Burmese samples (as in test_alerts.py): "Hello, the embassy's number changed" typed in Zawgyi,
# which myanmartools is sure of, and its Unicode form; "mingalaba" in Zawgyi, too short to
# convert surely.
ZAWGYI_BODY = "သင္၏ ပတ္စ္ပို႔ကို သင္ကိုယ္တိုင္ ထိန္းသိမ္းထားပါ"
ZAWGYI_AS_UNICODE = "သင်၏ ပတ်စ်ပို့ကို သင်ကိုယ်တိုင် ထိန်းသိမ်းထားပါ"
ZAWGYI_UNSURE = "မဂၤလာပါ"

Problem = tuple[str, str, str | None, int | None, str]


@cache
def _library() -> Library:
    library, _ = load_library(PROJECT_ROOT / "content")
    return library


@pytest.fixture
def drafts() -> Drafts:
    return Drafts(_library())


def _problems(error: InvalidAlert) -> list[Problem]:
    found = error.problems if isinstance(error, DraftRefused) else (error,)
    return [(p.field, p.reason, p.value, p.limit, str(p)) for p in found]


def _refusals(drafts: Drafts, draft: Draft, scope: Account | None = None) -> list[Problem]:
    with pytest.raises(DraftRefused) as raised:
        drafts.check(draft, NOW, scope=scope)
    return _problems(raised.value)


# -- Drafts: the corridors served --------------------------------------------------------------


# Every origin to every destination but itself (`o != d` turned `==` or dropped).
def test_the_hub_serves_every_origin_to_every_other_destination(drafts: Drafts) -> None:
    assert len(drafts.corridors) == 53
    assert drafts.corridors[:3] == ("PH-HK", "PH-SG", "PH-MY")
    assert "TH-TH" not in drafts.corridors
    assert "TH-HK" in drafts.corridors
    assert "KH-TH" in drafts.corridors


# -- Drafts.check: refusals word for word ------------------------------------------------------


# The refused value is the corridor or locale as written (`value=text` turned `value=code`).
def test_a_refused_corridor_or_language_is_named_as_written(drafts: Drafts) -> None:
    draft = make_draft(corridors=["phhk", " th-th "], locales=[" DE", "en"])
    assert _refusals(drafts, draft) == [
        ("corridors", "invalid", "phhk", None, "'phhk' is not a corridor"),
        ("corridors", "invalid", " th-th ", None, "' th-th ' is not a corridor"),
        ("locales", "unknown", " DE", None, "' DE' is not a language"),
    ]


# Out of her scope, named in the stored form (upper-case corridor, lower-case locale).
def test_out_of_scope_is_named_in_the_stored_form(drafts: Drafts) -> None:
    draft = make_draft(
        corridors=["ph-hk", "ph-sg"],
        locales=["EN", " TH "],
        texts={"en": {"title": "t", "body": "b"}, "th": {"title": "t", "body": "b"}},
    )
    scope = leader_account(("PH-HK",), ("en",))
    assert _refusals(drafts, draft, scope) == [
        ("corridors", "out_of_scope", "PH-SG", None, "PH-SG is not one of yours"),
        ("locales", "out_of_scope", "th", None, "th is not one of yours"),
    ]


# Every field refused at once, in the form's order; the error is the first problem's, and its
# words all the problems' joined.
def test_every_refused_field_is_named_at_once(drafts: Drafts) -> None:
    draft = Draft(
        texts={"en": {"title": "", "body": "b"}},
        corridors=["XX"],
        locales=["de"],
        topic="news",
        urgency="low",
        expires="soon",
        link="http://x",
    )
    with pytest.raises(DraftRefused) as raised:
        drafts.check(draft, NOW, scope=None)
    error = raised.value
    assert [(p.field, p.reason) for p in error.problems] == [
        ("corridors", "invalid"),
        ("locales", "unknown"),
        ("texts", "not_target"),
        ("topic", "unknown"),
        ("urgency", "unknown"),
        ("expires", "invalid"),
        ("link", "invalid"),
    ]
    assert (error.field, error.reason, error.value, error.limit) == (
        "corridors",
        "invalid",
        "XX",
        None,
    )
    assert str(error) == (
        "'XX' is not a corridor; 'de' is not a language; a text in en, not a target language; "
        "'news' is not a topic; 'low' is not an urgency; 'soon' is not a UTC time; "
        "'http://x' is not a page of the hub (no other site)"
    )
    assert isinstance(error, ValueError)


# A refusal with a limit passes it on (DraftRefused's `limit=first.limit`).
def test_the_first_problems_limit_is_the_errors(drafts: Drafts) -> None:
    with pytest.raises(DraftRefused) as raised:
        drafts.check(make_draft(texts={"en": {"title": "t" * 81, "body": "b"}}), NOW, scope=None)
    assert (raised.value.field, raised.value.reason, raised.value.value) == (
        "title",
        "too_long",
        "en",
    )
    assert raised.value.limit == 80
    assert str(raised.value) == "the title has 81 characters, more than 80"


# Without any locale chosen the texts are read against all the hub's (`or list(LOCALES)`
# turned `and`): only the missing choice is refused.
def test_texts_without_a_chosen_language_are_not_refused_for_it(drafts: Drafts) -> None:
    draft = make_draft(locales=[], texts={"my": {"title": "t", "body": "b"}})
    assert _refusals(drafts, draft) == [
        ("locales", "required", None, None, "choose at least one language"),
    ]


# A locale chosen twice or written twice is kept once, corridors too.
def test_a_corridor_or_language_given_twice_is_kept_once(drafts: Drafts) -> None:
    draft = make_draft(corridors=["PH-HK", "ph-hk"], locales=["en", "EN "])
    checked = drafts.check(draft, NOW, scope=None)
    assert checked.draft.corridors == ["PH-HK"]
    assert checked.draft.locales == ["en"]


# Locales in the hub's order whatever the order written (and scope None: any).
def test_languages_are_kept_in_the_hubs_order(drafts: Drafts) -> None:
    texts = {loc: {"title": "t", "body": "b"} for loc in ("my", "th", "en")}
    draft = make_draft(locales=["my", "th", "en"], texts=texts, corridors=["MM-TH", "KH-MY"])
    checked = drafts.check(draft, NOW, scope=None)
    assert checked.draft.locales == ["en", "th", "my"]
    assert list(checked.draft.texts) == ["en", "th", "my"]
    assert checked.draft.corridors == ["KH-MY", "MM-TH"]
    assert checked.converted == ()


# -- texts --------------------------------------------------------------------------------------


# A text without a title or a body: each is empty (the `get(..., "")` defaults altered).
def test_a_text_without_a_title_or_a_body_is_empty(drafts: Drafts) -> None:
    assert _refusals(drafts, make_draft(texts={"en": {"body": "b"}})) == [
        ("title", "required", "en", None, "the title is empty"),
    ]
    assert _refusals(drafts, make_draft(texts={"en": {"title": "t"}})) == [
        ("body", "required", "en", None, "the body is empty"),
    ]


# A title or body that is no string is read as its text (`str(...)` dropped).
def test_a_title_that_is_a_number_is_its_digits(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": 112, "body": 911}})
    assert drafts.check(draft, NOW, scope=None).draft.texts == {
        "en": {"title": "112", "body": "911"}
    }


# A body keeps its line ends and its lines' leading spaces; a line's trailing spaces go, and a
# lone "\r" is a line end.
def test_a_body_keeps_its_lines_and_their_indent(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": "t", "body": "\n\n a \r  b\t\r\n\tc  \n\n"}})
    checked = drafts.check(draft, NOW, scope=None)
    assert checked.draft.texts["en"]["body"] == "a\n  b\n c"


# A title is one line: every run of whitespace one space, in NFC.
def test_a_title_is_one_line_in_nfc(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": " Cafe\u0301 \n\t au  lait ", "body": "b"}})
    assert drafts.check(draft, NOW, scope=None).draft.texts["en"]["title"] == "Café au lait"


# A body in NFC too (`normalize("NFC")` turned "NFD" or dropped).
def test_a_body_is_put_in_nfc(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": "t", "body": "Cafe\u0301"}})
    assert drafts.check(draft, NOW, scope=None).draft.texts["en"]["body"] == "Caf\u00e9"


# Control characters: a body may hold line ends, not other controls; a title may hold none
# (a vertical tab is whitespace to a title, a control to a body).
@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        (
            "t",
            "a\x0bb",
            [("body", "control", "en", None, "the body holds a control character (U+000B)")],
        ),
        (
            "t",
            "a\x7fb",
            [("body", "control", "en", None, "the body holds a control character (U+007F)")],
        ),
        (
            "a\x00b",
            "b",
            [("title", "control", "en", None, "the title holds a control character (U+0000)")],
        ),
        (
            "a\u061cb",
            "b",
            [("title", "control", "en", None, "the title holds a control character (U+061C)")],
        ),
        (
            "t",
            "a\u2066b",
            [("body", "control", "en", None, "the body holds a control character (U+2066)")],
        ),
        (
            "t",
            "ok\x01",
            [("body", "control", "en", None, "the body holds a control character (U+0001)")],
        ),
    ],
)
def test_control_characters_are_refused_in_words(
    drafts: Drafts, title: str, body: str, expected: list[Problem]
) -> None:
    assert _refusals(drafts, make_draft(texts={"en": {"title": title, "body": body}})) == expected


def test_a_vertical_tab_in_a_title_is_a_space_and_line_ends_in_a_body_are_kept(
    drafts: Drafts,
) -> None:
    draft = make_draft(texts={"en": {"title": "a\x0bb", "body": "a\nb"}})
    assert drafts.check(draft, NOW, scope=None).draft.texts["en"] == {
        "title": "a b",
        "body": "a\nb",
    }


# The first control character is the one named.
def test_the_first_control_character_is_named(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": "t", "body": "a\x02b\x03"}})
    assert _refusals(drafts, draft)[0][4] == "the body holds a control character (U+0002)"


# A text with a control character is not read for Zawgyi (`fine` altered): only the control
# character is refused.
def test_a_text_with_a_control_character_is_not_read_for_zawgyi(drafts: Drafts) -> None:
    texts = {"my": {"title": "a\x07", "body": ZAWGYI_UNSURE}}
    draft = make_draft(texts=texts, corridors=["MM-TH"], locales=["my"])
    assert _refusals(drafts, draft) == [
        ("title", "control", "my", None, "the title holds a control character (U+0007)"),
    ]
    texts = {"my": {"title": ZAWGYI_UNSURE, "body": "a\x07"}}
    draft = make_draft(texts=texts, corridors=["MM-TH"], locales=["my"])
    assert _refusals(drafts, draft) == [
        ("body", "control", "my", None, "the body holds a control character (U+0007)"),
    ]


# Both fields are checked even when the title is refused (`and fine` order).
def test_a_control_character_in_each_field_is_named_twice(drafts: Drafts) -> None:
    draft = make_draft(texts={"en": {"title": "a\x07", "body": "b\x08"}})
    assert [(p[0], p[1]) for p in _refusals(drafts, draft)] == [
        ("title", "control"),
        ("body", "control"),
    ]


# Zawgyi the model is sure of is converted, and the locale said so.
def test_zawgyi_is_converted_and_the_locale_named(drafts: Drafts) -> None:
    texts = {
        "en": {"title": "t", "body": "b"},
        "my": {"title": "ပတ္စ္ပို႔", "body": ZAWGYI_BODY},
    }
    draft = make_draft(texts=texts, corridors=["MM-TH"], locales=["en", "my"])
    checked = drafts.check(draft, NOW, scope=None)
    assert checked.converted == ("my",)
    assert checked.draft.texts == {
        "en": {"title": "t", "body": "b"},
        "my": {"title": "ပတ်စ်ပို့", "body": ZAWGYI_AS_UNICODE},
    }


# Zawgyi that cannot be converted surely: each field refused in words (the words altered), and
# the texts' own checks still made after it.
def test_unsure_zawgyi_is_refused_in_words(drafts: Drafts) -> None:
    texts = {"my": {"title": ZAWGYI_UNSURE, "body": ZAWGYI_UNSURE}, "xx": {"title": "t"}}
    draft = make_draft(texts=texts, corridors=["MM-TH"], locales=["my"])
    words = "looks typed in Zawgyi and cannot be converted surely: type it in Unicode"
    assert _refusals(drafts, draft) == [
        ("title", "zawgyi", "my", None, f"this Burmese title {words}"),
        ("body", "zawgyi", "my", None, f"this Burmese body {words}"),
        ("texts", "unknown", "xx", None, "'xx' is not a language"),
    ]


# -- expiry -------------------------------------------------------------------------------------


# Stored in UTC whatever the server's zone (`astimezone(UTC)` turned `astimezone(None)`).
def test_the_expiry_is_stored_in_utc_on_a_server_in_another_zone(
    drafts: Drafts, local_zone: LocalZone
) -> None:
    local_zone("Asia/Manila")
    draft = make_draft(expires="2026-12-01T15:30:00+09:00")
    assert drafts.check(draft, NOW, scope=None).draft.expires == "2026-12-01T06:30:00Z"


# The expiry with spaces around it, a fraction of a second (dropped), or an offset of its own.
@pytest.mark.parametrize(
    ("expires", "stored"),
    [
        ("2026-12-01T06:00:00Z", "2026-12-01T06:00:00Z"),
        ("\t2026-12-01T06:00:00Z\n", "2026-12-01T06:00:00Z"),
        ("2026-12-01T06:00:00.999Z", "2026-12-01T06:00:00Z"),
        ("2026-12-01T00:00:00-06:00", "2026-12-01T06:00:00Z"),
    ],
)
def test_these_expiries_are_taken(drafts: Drafts, expires: str, stored: str) -> None:
    assert drafts.check(make_draft(expires=expires), NOW, scope=None).draft.expires == stored


# The bounds are measured from the moment given, not from any other.
def test_the_expiry_bounds_move_with_the_moment(drafts: Drafts) -> None:
    later = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    with pytest.raises(DraftRefused) as raised:
        drafts.check(make_draft(expires="2026-12-05T06:59:59Z"), later, scope=None)
    assert _problems(raised.value) == [
        ("expires", "too_soon", "2026-12-05T06:59:59Z", None, "an alert lasts at least 1:00:00")
    ]
    assert (
        drafts.check(make_draft(expires="2027-01-02T06:00:00Z"), later, scope=None).draft.expires
        == "2027-01-02T06:00:00Z"
    )
    with pytest.raises(DraftRefused) as raised:
        drafts.check(make_draft(expires="2027-01-02T06:00:01Z"), later, scope=None)
    assert _problems(raised.value)[0][1] == "too_far"


# An empty expiry is no UTC time.
def test_an_empty_expiry_is_refused(drafts: Drafts) -> None:
    assert _refusals(drafts, make_draft(expires="")) == [
        ("expires", "invalid", "", None, "'' is not a UTC time")
    ]


# -- links --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("/en/help", "help"),
        ("/my/services/ae-adjd-legal-aid/", "services/ae-adjd-legal-aid"),
        ("  /topics/health  ", "topics/health"),
        ("articles/before-you-leave/", "articles/before-you-leave"),
    ],
)
def test_these_links_are_kept_as_bare_paths(drafts: Drafts, link: str, kept: str) -> None:
    assert drafts.check(make_draft(link=link), NOW, scope=None).draft.link == kept


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            "/",
            ("link", "invalid", "/", None, "'/' is not a page of the hub (no other site)"),
        ),
        (
            " en/ ",
            ("link", "unknown", "en/", None, "the hub has no page 'en/'"),
        ),
        (
            "safety/x",
            ("link", "unknown", "safety/x", None, "the hub has no page 'safety/x'"),
        ),
        (
            "topics/",
            ("link", "unknown", "topics/", None, "the hub has no page 'topics/'"),
        ),
        (
            "a/b/c/",
            (
                "link",
                "invalid",
                "a/b/c/",
                None,
                "'a/b/c/' is not a page of the hub (no other site)",
            ),
        ),
        (
            "/fil/topics/health/x",
            (
                "link",
                "unknown",
                "/fil/topics/health/x",
                None,
                "the hub has no page '/fil/topics/health/x'",
            ),
        ),
    ],
)
def test_these_links_are_refused_in_words(drafts: Drafts, link: str, expected: Problem) -> None:
    assert _refusals(drafts, make_draft(link=link)) == [expected]


# -- check_translations -------------------------------------------------------------------------


# A curator's texts cleaned, and the locales targeted with them, in the hub's order.
def test_translations_are_cleaned_and_add_their_locales() -> None:
    texts = {
        "th": {"title": " t ", "body": "b \r\nc"},
        "en": {"title": "Cafe\u0301", "body": "b"},
    }
    kept, targets = check_translations(texts, ["fil", "en"])
    assert kept == {"en": {"title": "Café", "body": "b"}, "th": {"title": "t", "body": "b\nc"}}
    assert list(kept) == ["en", "th"]
    assert targets == ["en", "fil", "th"]


# An unknown locale is named once, as a language (not again as a text), and the others are
# still read.
def test_a_translation_in_an_unknown_language_is_refused() -> None:
    texts = {"xx": {"title": "t", "body": "b"}, "en": {"title": "", "body": "b"}}
    with pytest.raises(DraftRefused) as raised:
        check_translations(texts, ["en"])
    assert _problems(raised.value) == [
        ("locales", "unknown", "xx", None, "'xx' is not a language"),
        ("title", "required", "en", None, "the title is empty"),
    ]
    assert (raised.value.field, raised.value.reason, raised.value.value) == (
        "locales",
        "unknown",
        "xx",
    )


def test_no_translation_at_all_is_refused() -> None:
    with pytest.raises(DraftRefused) as raised:
        check_translations({}, ["en"])
    assert _problems(raised.value) == [
        ("texts", "required", None, None, "write a title and a text in one language")
    ]


def test_translations_may_be_converted_from_zawgyi() -> None:
    kept, targets = check_translations({"my": {"title": "ပတ္စ္ပို႔", "body": ZAWGYI_BODY}}, ["my"])
    assert kept == {"my": {"title": "ပတ်စ်ပို့", "body": ZAWGYI_AS_UNICODE}}
    assert targets == ["my"]


# -- check_reason -------------------------------------------------------------------------------


# A rejection's reason: on one line, in NFC, up to 500 characters (`>` turned `>=`).
def test_a_reason_is_kept_on_one_line() -> None:
    assert check_reason("  Wrong\r\nnumber,\tsee  Cafe\u0301 ") == "Wrong number, see Café"
    assert check_reason("r" * 500) == "r" * 500
    assert check_reason(" " + "r" * 500 + "\n") == "r" * 500


# Each refusal of a reason with its field, reason, limit and words (strings and the limit
# altered); too long is said before a control character.
@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("", ("reason", "required", None, None, "say why the alert is rejected")),
        (" \n\t ", ("reason", "required", None, None, "say why the alert is rejected")),
        ("r" * 501, ("reason", "too_long", None, 500, "at most 500 characters")),
        ("a\x07" * 300, ("reason", "too_long", None, 500, "at most 500 characters")),
        ("a\x07b", ("reason", "control", None, None, "a reason has no control characters")),
        ("a\x00", ("reason", "control", None, None, "a reason has no control characters")),
        ("a\u202eb", ("reason", "control", None, None, "a reason has no control characters")),
        ("a\u200fb", ("reason", "control", None, None, "a reason has no control characters")),
    ],
)
def test_these_reasons_are_refused_in_words(reason: str, expected: Problem) -> None:
    with pytest.raises(InvalidAlert) as raised:
        check_reason(reason)
    assert not isinstance(raised.value, DraftRefused)
    assert _problems(raised.value) == [expected]


# A text that is not a target does not stop the reading of the next locales (`continue`
# turned `break`).
def test_the_texts_after_one_not_targeted_are_still_read(drafts: Drafts) -> None:
    texts = {"en": {"title": "t", "body": "b"}, "fil": {"title": "", "body": "b"}}
    draft = make_draft(texts=texts, locales=["fil"], corridors=["PH-HK"])
    assert _refusals(drafts, draft) == [
        ("texts", "not_target", "en", None, "a text in en, not a target language"),
        ("title", "required", "fil", None, "the title is empty"),
    ]


# Burmese letters in another locale's text are read for Zawgyi too, and a text refused for it
# does not stop the reading of the next locales (`continue` turned `break`).
def test_the_texts_after_one_refused_for_zawgyi_are_still_read(drafts: Drafts) -> None:
    texts = {
        "en": {"title": ZAWGYI_UNSURE, "body": "Call 2345 6789."},
        "fil": {"title": "t", "body": ""},
    }
    draft = make_draft(texts=texts, locales=["en", "fil"])
    words = "looks typed in Zawgyi and cannot be converted surely: type it in Unicode"
    assert _refusals(drafts, draft) == [
        ("title", "zawgyi", "en", None, f"this Burmese title {words}"),
        ("body", "required", "fil", None, "the body is empty"),
    ]


# A link with "//" in it is another site's, even where the trailing slashes would go
# (`"//" in text` altered); a trailing capital X is no part of a page (`rstrip("/")` turned
# `rstrip("XX/XX")`).
@pytest.mark.parametrize("link", ["help//", "/en/safety//", "helpX", "topics/X"])
def test_these_links_are_invalid(drafts: Drafts, link: str) -> None:
    assert _refusals(drafts, make_draft(link=link)) == [
        ("link", "invalid", link, None, f"{link!r} is not a page of the hub (no other site)")
    ]


# Only a capital "Z" stands for UTC, and only for itself: a lower-case "z" is no UTC time
# (`replace("Z", ...)` turned `replace("z", ...)`), nor a "Z" among other letters
# (`replace("Z", ...)` turned `replace("XXZXX", ...)`, which would read "XXZXX" as UTC).
@pytest.mark.parametrize("expires", ["2026-12-07T06:00:00XXZXX", "2026-12-07T06:00:00ZZ"])
def test_a_z_among_other_letters_is_no_utc_time(drafts: Drafts, expires: str) -> None:
    assert _refusals(drafts, make_draft(expires=expires)) == [
        ("expires", "invalid", expires, None, f"{expires!r} is not a UTC time")
    ]


def test_a_lower_case_z_is_no_utc_time(drafts: Drafts) -> None:
    assert _refusals(drafts, make_draft(expires="2026-12-07T06:00:00z")) == [
        (
            "expires",
            "invalid",
            "2026-12-07T06:00:00z",
            None,
            "'2026-12-07T06:00:00z' is not a UTC time",
        )
    ]
