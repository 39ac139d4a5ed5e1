"""The push-service allow-list on its own (hub/push/endpoints.py): how an operator's
HUB_PUSH_SERVICES entries are read, the words a refused endpoint is answered with, and the
edges of the endpoint's length and port. What the API does with a refusal, and the long lists
of endpoints taken and refused, are in tests/test_subscriptions_api.py and
tests/test_subscriptions_edges.py."""

from __future__ import annotations

import pytest

from hub.push.endpoints import InvalidSubscription, PushServices
from hub.settings import SettingsError

FCM_SEND = "https://fcm.googleapis.com/fcm/send/"


def refusal(services: PushServices, endpoint: object) -> str:
    """The reason `services` gives for refusing `endpoint` (it must refuse it)."""
    with pytest.raises(InvalidSubscription) as refused:
        services.match(endpoint)
    assert refused.value.field == "endpoint"
    # The API answers with `message`; a log line or a traceback shows the exception's text.
    assert str(refused.value) == refused.value.message
    return refused.value.message


# -- how HUB_PUSH_SERVICES is read -------------------------------------------------------------


def test_the_setting_s_entries_are_kept_trimmed_and_blank_ones_skipped() -> None:
    services = PushServices.parse(" https://fcm.googleapis.com ,, http://127.0.0.1:8123 ,")
    assert services.origins == ("https://fcm.googleapis.com", "http://127.0.0.1:8123")


@pytest.mark.parametrize(
    "listed",
    [
        "https://push.example.org/",  # a trailing slash
        "https://push.example.org.",  # the DNS root's trailing dot
        "https://push.example.org:443",  # https's default port written out
        "https://Push.Example.org",
    ],
)
def test_an_origin_listed_in_another_spelling_takes_its_service_s_endpoints(listed: str) -> None:
    services = PushServices.parse(listed)
    assert services.match("https://push.example.org/send/abc") == "https://push.example.org"


GIVE_AN_ORIGIN = "give an origin (scheme://host[:port]) only"
LOOPBACK_ONLY = "http only for a loopback origin with its port"


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("https://push.example.org?key=1", GIVE_AN_ORIGIN),
        ("https://", GIVE_AN_ORIGIN),
        ("https://ops@push.example.org", GIVE_AN_ORIGIN),
        ("http://push.example.org:8080", LOOPBACK_ONLY),
        ("http://localhost", LOOPBACK_ONLY),
        ("wss://push.example.org", "https only"),
        # A typo for 7000: it would take no endpoint at all.
        ("http://127.0.0.1:70000", "its port is not a port number"),
        ("https://push.example.org:99999", "its port is not a port number"),
        # A last label of digits: an address, not a domain.
        ("https://*.push.example.1", "`*.` needs a domain name after it"),
    ],
)
def test_a_setting_that_is_no_push_origin_stops_the_hub_saying_why(
    setting: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        PushServices.parse(f"https://fcm.googleapis.com,{setting}")
    assert str(refused.value) == f"HUB_PUSH_SERVICES: push service '{setting}': {reason}"


def test_a_wildcard_entry_may_have_digits_in_an_inner_label() -> None:
    services = PushServices.parse("https://*.push.1.example.org")
    assert services.match("https://eu.push.1.example.org/w/") == "https://eu.push.1.example.org"


# -- the words of a refusal --------------------------------------------------------------------


def fcm_and_loopback() -> PushServices:
    return PushServices.parse("https://fcm.googleapis.com,http://127.0.0.1:8123")


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (None, "the endpoint must be a URL"),
        (42, "the endpoint must be a URL"),
        ("", "the endpoint must be a URL"),
        ("https://fcm.googleapis.com /fcm/send/x", "the endpoint is not a plain URL"),
        ("https://fcm.googleapis.com/fcm/send/\u00e9", "the endpoint is not a plain URL"),
        ("https://fcm.googleapis.com/fcm/send/x#top", "a push endpoint has no fragment"),
        (
            "https://fcm.googleapis.com.evil.example/x",
            "the endpoint is not on a known push service",
        ),
        ("HTTPS://fcm.googleapis.com/fcm/send/x", "the endpoint is not on a known push service"),
        ("https://fcm.googleapis.com/", "the endpoint has no path"),
        ("https://fcm.googleapis.com?token=x", "the endpoint has no path"),
        ("https://fcm.googleapis.com/fcm//x", "the endpoint's path has an empty segment"),
        ("https://fcm.googleapis.com/fcm/send/../x", "the endpoint's path has a dot segment"),
        ("http://127.0.0.1:8123/push/%2E%2e", "the endpoint's path has a dot segment"),
    ],
)
def test_a_refused_endpoint_is_told_why_in_plain_words(endpoint: object, message: str) -> None:
    assert refusal(fcm_and_loopback(), endpoint) == message


# -- the edges ---------------------------------------------------------------------------------


def test_an_endpoint_of_2048_characters_is_taken_and_one_more_is_refused() -> None:
    endpoint = FCM_SEND + "x" * (2048 - len(FCM_SEND))
    assert len(endpoint) == 2048
    services = fcm_and_loopback()
    assert services.match(endpoint) == "https://fcm.googleapis.com"
    assert refusal(services, endpoint + "x") == "the endpoint is not a plain URL"
