"""An alert's draft and its checks: each field a leader writes, cleaned or refused.

Texts are trimmed and put in NFC, with no control or bidi characters; Burmese typed in Zawgyi
is converted when the conversion is sure and refused when it is not; corridors must be ones the
hub serves and locales the hub's, both within the author's scope; the expiry an hour to four
weeks away; the link a page of the hub, never another site. Every refused field is named at
once (DraftRefused), so a form can mark each.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.auth.accounts import Account
from hub.auth.errors import Refused
from hub.auth.fields import CORRIDOR, LOCALES
from hub.auth.sessions import TIME_FORMAT
from hub.content.library import Library
from hub.content.text import fields_in_unicode
from hub.push import TOPICS, URGENCIES
from hub.push.payload import BODY_MAX, TITLE_MAX

# An alert lives at least this long: less leaves a curator no time to review it, and a phone
# that is off for a moment no time to get it.
MIN_EXPIRY = timedelta(hours=1)
# At most four weeks: the message's TTL is its time left, and FCM (Chrome, and Firefox on
# Android through it) keeps a message at most 2,419,200 s whatever TTL asks. Past that a phone
# switched on late could not get the alert anyway, and old news leaves the readers' page.
MAX_EXPIRY = timedelta(days=28)
MAX_REASON = 500
# Characters that reorder the text around them (embeddings, overrides, isolates, marks): none of
# the hub's languages is written right to left, and they let one alert pass for another.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINK_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")


class InvalidAlert(Refused):
    """One field of a draft that cannot go out, and why (`value`: the locale of a text, the
    corridor or locale out of scope; `limit`: the length a text may have)."""

    def __init__(
        self,
        field: str,
        reason: str,
        message: str,
        *,
        value: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(field, reason, message, value=value)
        self.limit = limit


class DraftRefused(InvalidAlert):
    """A draft with one or more refused fields: all of them in `problems` (the first one is
    this error's own field and reason), so a form can mark each at once."""

    def __init__(self, problems: Sequence[InvalidAlert]) -> None:
        first = problems[0]
        message = "; ".join(str(p) for p in problems)
        super().__init__(first.field, first.reason, message, value=first.value, limit=first.limit)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Draft:
    """What a leader writes: a title and a text per locale she writes in, who it is for, what
    it is about, how urgent, until when, and an optional page of the hub to open."""

    # locale -> {"title": ..., "body": ...}; only the locales written.
    texts: Mapping[str, Mapping[str, str]]
    corridors: Sequence[str]
    locales: Sequence[str]
    topic: str
    urgency: str = "normal"
    expires: str = ""  # ISO 8601 UTC
    # A path of the hub without its locale: "help", "safety", "topics/<id>",
    # "articles/<slug>", "services/<id>"; None for no link.
    link: str | None = None


@dataclass(frozen=True)
class Checked:
    """A draft as it will be stored (cleaned), and the locales whose text was converted from
    Zawgyi (the preview says so, for the author to read it again)."""

    draft: Draft
    converted: tuple[str, ...] = ()


class Drafts:
    """The checks of a draft that need the site: the corridors the hub serves (every origin
    to every other destination) and the pages a link may open."""

    def __init__(self, library: Library) -> None:
        self.library = library
        site = library.site
        self.corridors = tuple(
            f"{o}-{d}" for o in site.origins for d in site.destinations if o != d
        )

    def check(self, draft: Draft, moment: datetime, *, scope: Account | None) -> Checked:
        """The draft cleaned (texts trimmed and NFC, Zawgyi converted, corridors upper-case,
        locales in the hub's order, the expiry in the stored form, the link a bare path), or
        DraftRefused naming every field that cannot go out, corridors and locales outside
        `scope` among them (None: any the hub has, for a curator or an admin)."""
        problems: list[InvalidAlert] = []
        corridors = self._check_corridors(scope, draft.corridors, problems)
        locales = self._check_locales(scope, draft.locales, problems)
        # Against the locales asked for, kept or not: one mistake is reported once, by locales.
        asked = [code.strip().lower() for code in draft.locales] or list(LOCALES)
        texts, converted = _check_texts(draft.texts, asked, problems)
        if draft.topic not in TOPICS:
            problems.append(
                InvalidAlert(
                    "topic", "unknown", f"{draft.topic!r} is not a topic", value=draft.topic
                )
            )
        if draft.urgency not in URGENCIES:
            problems.append(
                InvalidAlert(
                    "urgency",
                    "unknown",
                    f"{draft.urgency!r} is not an urgency",
                    value=draft.urgency,
                )
            )
        expires = _check_expiry(draft.expires, moment, problems)
        link = self._check_link(draft.link, problems)
        if problems:
            raise DraftRefused(problems)
        cleaned = Draft(
            texts=texts,
            corridors=corridors,
            locales=locales,
            topic=draft.topic,
            urgency=draft.urgency,
            expires=expires,
            link=link,
        )
        return Checked(cleaned, converted)

    def _check_corridors(
        self, scope: Account | None, wanted: Sequence[str], problems: list[InvalidAlert]
    ) -> list[str]:
        kept: set[str] = set()
        for text in wanted:
            code = text.strip().upper()
            match = CORRIDOR.fullmatch(code)
            if match is None or match[1] == match[2]:
                problems.append(
                    InvalidAlert("corridors", "invalid", f"{text!r} is not a corridor", value=text)
                )
            elif code not in self.corridors:
                problems.append(
                    InvalidAlert(
                        "corridors", "not_served", f"the hub does not serve {code}", value=code
                    )
                )
            elif scope is not None and code not in scope.corridors:
                problems.append(
                    InvalidAlert(
                        "corridors", "out_of_scope", f"{code} is not one of yours", value=code
                    )
                )
            else:
                kept.add(code)
        if not wanted:
            problems.append(InvalidAlert("corridors", "required", "choose at least one corridor"))
        return sorted(kept)

    def _check_locales(
        self, scope: Account | None, wanted: Sequence[str], problems: list[InvalidAlert]
    ) -> list[str]:
        kept: set[str] = set()
        for text in wanted:
            code = text.strip().lower()
            if code not in LOCALES:
                problems.append(
                    InvalidAlert("locales", "unknown", f"{text!r} is not a language", value=text)
                )
            elif scope is not None and code not in scope.locales:
                problems.append(
                    InvalidAlert(
                        "locales", "out_of_scope", f"{code} is not one of yours", value=code
                    )
                )
            else:
                kept.add(code)
        if not wanted:
            problems.append(InvalidAlert("locales", "required", "choose at least one language"))
        return [code for code in LOCALES if code in kept]

    def _check_link(self, raw: str | None, problems: list[InvalidAlert]) -> str | None:
        """A page of the hub as a path without its locale, or None; never another site."""
        text = (raw or "").strip()
        if not text:
            return None
        path = text
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:]
        first, _, rest = path.partition("/")
        if first in LOCALES and rest:
            path = rest  # a reader's address pasted whole: /fil/help
        path = path.rstrip("/") if path.count("/") <= 2 else path
        segments = path.split("/")
        # The segment pattern refuses a scheme's ":" and a backslash; "//" needs its own test, since
        # trailing slashes were stripped above.
        if "//" in text or not all(_LINK_SEGMENT.fullmatch(s) for s in segments):
            problems.append(
                InvalidAlert(
                    "link",
                    "invalid",
                    f"{text!r} is not a page of the hub (no other site)",
                    value=text,
                )
            )
            return None
        if not self._page_exists(segments):
            problems.append(
                InvalidAlert("link", "unknown", f"the hub has no page {text!r}", value=text)
            )
            return None
        return "/".join(segments)

    def _page_exists(self, segments: Sequence[str]) -> bool:
        library = self.library
        if len(segments) == 1:
            return segments[0] in ("help", "safety")
        if len(segments) != 2:
            return False
        kind, name = segments
        if kind == "topics":
            return library.topic(name) is not None
        if kind == "articles":
            return name in library.articles
        if kind == "services":
            return name in library.services
        return False


def check_translations(
    texts: Mapping[str, Mapping[str, str]], locales: Sequence[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """A curator's whole new set of texts for an alert that targets `locales`, checked as a
    draft's: the texts cleaned, and the locales targeted with them (one written that was not
    targeted is added, in the hub's order). DraftRefused otherwise."""
    problems: list[InvalidAlert] = []
    unknown = [loc for loc in texts if loc not in LOCALES]
    for loc in unknown:
        problems.append(InvalidAlert("locales", "unknown", f"{loc!r} is not a language", value=loc))
    targets = [loc for loc in LOCALES if loc in locales or loc in texts]
    kept, _ = _check_texts({k: v for k, v in texts.items() if k not in unknown}, targets, problems)
    if problems:
        raise DraftRefused(problems)
    return kept, targets


def check_reason(reason: str) -> str:
    """A rejection's reason as the leader will read it (on one line), or InvalidAlert (field
    reason) when empty, longer than MAX_REASON characters or holding a control character."""
    kept = _one_line(reason)
    if not kept:
        raise InvalidAlert("reason", "required", "say why the alert is rejected")
    if len(kept) > MAX_REASON:
        raise InvalidAlert(
            "reason", "too_long", f"at most {MAX_REASON} characters", limit=MAX_REASON
        )
    if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in kept):
        raise InvalidAlert("reason", "control", "a reason has no control characters")
    return kept


def _check_texts(
    texts: Mapping[str, Mapping[str, str]],
    targets: Sequence[str],
    problems: list[InvalidAlert],
) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    """The texts cleaned, in the hub's locale order, and the locales converted from Zawgyi."""
    kept: dict[str, dict[str, str]] = {}
    converted: list[str] = []
    for locale in LOCALES:
        if locale not in texts:
            continue
        text = texts[locale]
        if locale not in targets:
            problems.append(
                InvalidAlert(
                    "texts",
                    "not_target",
                    f"a text in {locale}, not a target language",
                    value=locale,
                )
            )
            continue
        title = _one_line(str(text.get("title", "")))
        body = _paragraphs(str(text.get("body", "")))
        fine = True
        for name, value in (("title", title), ("body", body)):
            fine = _check_characters(name, value, locale, problems) and fine
        if fine:
            fields, unsure = fields_in_unicode({"title": title, "body": body})
            for name in unsure:
                problems.append(
                    InvalidAlert(
                        name,
                        "zawgyi",
                        f"this Burmese {name} looks typed in Zawgyi and cannot be converted "
                        "surely: type it in Unicode",
                        value=locale,
                    )
                )
            if unsure:
                continue
            if fields != {"title": title, "body": body}:
                converted.append(locale)
                title, body = fields["title"], fields["body"]
        for name, value, limit in (("title", title, TITLE_MAX), ("body", body, BODY_MAX)):
            if not value:
                problems.append(
                    InvalidAlert(name, "required", f"the {name} is empty", value=locale)
                )
            elif len(value) > limit:
                problems.append(
                    InvalidAlert(
                        name,
                        "too_long",
                        f"the {name} has {len(value)} characters, more than {limit}",
                        value=locale,
                        limit=limit,
                    )
                )
        kept[locale] = {"title": title, "body": body}
    unknown = [loc for loc in texts if loc not in LOCALES]
    for loc in unknown:
        problems.append(InvalidAlert("texts", "unknown", f"{loc!r} is not a language", value=loc))
    if not texts:
        problems.append(
            InvalidAlert("texts", "required", "write a title and a text in one language")
        )
    return kept, tuple(converted)


def _check_characters(name: str, value: str, locale: str, problems: list[InvalidAlert]) -> bool:
    """Whether a title or body holds only characters a notification may show."""
    allowed = "\n" if name == "body" else ""
    bad = next(
        (
            ch
            for ch in value
            if (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in BIDI_CONTROLS
        ),
        None,
    )
    if bad is None:
        return True
    problems.append(
        InvalidAlert(
            name,
            "control",
            f"the {name} holds a control character (U+{ord(bad):04X})",
            value=locale,
        )
    )
    return False


def _check_expiry(raw: str, now: datetime, problems: list[InvalidAlert]) -> str:
    """The expiry in the stored form, between MIN_EXPIRY and MAX_EXPIRY from now."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(InvalidAlert("expires", "invalid", f"{raw!r} is not a UTC time", value=raw))
        return raw
    if moment < now + MIN_EXPIRY:
        problems.append(
            InvalidAlert("expires", "too_soon", f"an alert lasts at least {MIN_EXPIRY}", value=raw)
        )
    elif moment > now + MAX_EXPIRY:
        problems.append(
            InvalidAlert(
                "expires", "too_far", f"an alert lasts at most {MAX_EXPIRY.days} days", value=raw
            )
        )
    return _format(moment)


def _one_line(text: str) -> str:
    """NFC, every run of whitespace (a line end too) one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _paragraphs(text: str) -> str:
    """NFC, line ends as "\\n" (a browser sends "\\r\\n"), tabs as spaces, each line's trailing
    spaces and the text's blank ends removed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.replace("\t", " ").split("\n")]
    return "\n".join(lines).strip()


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)
