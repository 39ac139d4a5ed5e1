"""How each number of a directory entry is dialled from where the reader is."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers

from hub.content.model import Service

# Toll-free, shared-cost, premium and universal-access numbers (SG 1800, JP 0120/0570, KR 1577,
# AE 800) are national services: operators do not carry them from abroad even where
# libphonenumber's metadata does not forbid it, so from abroad they get no call button.
NATIONAL_ONLY = frozenset(
    {
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.UAN,
    }
)
# libphonenumber's "unknown region": dialling from it means dialling from outside the number's
# own country, which is where a reader abroad is when we do not know which country she is in.
ABROAD = "ZZ"


@dataclass(frozen=True)
class Call:
    """One number of an entry as the reader can use it from where she is.

    `href` is the `tel:` target (digits, `+` for international), or None when the number cannot
    be dialled from there; `display` is the number grouped for reading in the same form;
    `field` is the entry's field it comes from: "short_number", "phone" or "phone_from_abroad".
    """

    field: str
    number: str
    display: str
    href: str | None

    @property
    def dialable(self) -> bool:
        """Whether a call button may be shown for it."""
        return self.href is not None


def national_only(number: str) -> bool:
    """Whether an E.164 number is a national service that cannot be called from abroad."""
    return phonenumbers.number_type(phonenumbers.parse(number)) in NATIONAL_ONLY


def _international(number: str, here: str, field: str) -> Call:
    parsed = phonenumbers.parse(number)
    digits = phonenumbers.format_number_for_mobile_dialing(parsed, here, with_formatting=False)
    if digits.startswith("+") and national_only(number):
        digits = ""
    if digits:
        grouped = phonenumbers.format_number_for_mobile_dialing(parsed, here, with_formatting=True)
        return Call(field, number, grouped, digits)
    # Not dialable from here by libphonenumber's data: shown for reading, never as a button.
    grouped = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return Call(field, number, grouped, None)


def calls(service: Service, here: str | None) -> list[Call]:
    """The entry's numbers for a reader in country `here` (None: abroad, country unknown).

    A short number connects only inside the entry's country. An E.164 number is dialled with
    `phonenumbers.format_number_for_mobile_dialing`: national form where it must be (toll-free
    and shared-cost lines in their own country), international elsewhere, and not at all where
    it cannot be dialled (by libphonenumber's data, or a national-only service from abroad).
    The number for callers abroad is offered only outside the country.
    """
    region = here or ABROAD
    inside = here == service.country
    result: list[Call] = []
    if service.short_number:
        href = service.short_number if inside else None
        result.append(Call("short_number", service.short_number, service.short_number, href))
    if service.phone:
        result.append(_international(service.phone, region, "phone"))
    if service.phone_from_abroad and not inside:
        result.append(_international(service.phone_from_abroad, region, "phone_from_abroad"))
    return result


def first_dialable(service: Service, here: str | None) -> Call | None:
    """The first number of the entry that can be called from `here`, if any."""
    return next((c for c in calls(service, here) if c.dialable), None)


def readers_places(service: Service, origins: Collection[str]) -> list[str | None]:
    """Where the entry's readers usually are: abroad (None) for an origin country's line for its
    own people, and in the entry's country for everyone else it serves."""
    for_its_people_abroad = service.country in origins and service.country in service.serves
    places: list[str | None] = [None] if for_its_people_abroad else []
    if not for_its_people_abroad or service.serves - {service.country}:
        places.append(service.country)
    return places
