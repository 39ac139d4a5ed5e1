"""Which push services a subscription's endpoint may be on (HUB_PUSH_SERVICES).

The endpoint is a URL the browser hands over and the hub will later POST to, so it is the one
place a reader's request chooses where the hub connects. Only an endpoint whose authority is
exactly a listed one (or, for a `https://*.domain` entry, a DNS name under that domain) is
taken; everything else is refused before it is stored: other schemes, userinfo, ports, IP
literals, private addresses, percent-encoded or non-ASCII hosts, and the spellings (upper
case, a trailing dot, a default port written out) that a second parser might read otherwise.
The path must be one a push service gives: no dot segment (the HTTP client resolves `..`, so
`/push/../stats` reached another path of a listed origin) and no empty segment.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from hub.settings import SettingsError

# Longer than the endpoint of any push service (Microsoft's, with its token in the query, is
# some 300 characters); nothing longer is parsed.
MAX_ENDPOINT = 2048
# The characters RFC 3986 allows in a URI; a browser percent-encodes every other one. A
# backslash, a space or a control character is read differently by different URL parsers.
URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# One DNS label as a push service's host has it: letters, digits and inner hyphens, lower case.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})
# "." and "..", also percent-encoded: the sender's HTTP client (yarl) decodes %2E and then
# resolves dot segments, so any of these moves the request to another path of the origin.
DOT_SEGMENT = re.compile(r"(?:\.|%2e){1,2}", re.IGNORECASE)


class InvalidSubscription(ValueError):
    """A subscription refused, with the request field it is about and why (in English)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Service:
    """One listed origin: `scheme://netloc`, or every subdomain of `netloc` when `wildcard`."""

    listed: str
    scheme: str
    netloc: str
    wildcard: bool

    def authority(self, endpoint: str) -> str | None:
        """The endpoint's `scheme://authority` when it is on this service, else None."""
        if self.wildcard:
            found = re.match(rf"https://((?:{LABEL}\.)+{re.escape(self.netloc)})(?=[/?])", endpoint)
            return f"https://{found.group(1)}" if found else None
        origin = f"{self.scheme}://{self.netloc}"
        # The authority ends at the first "/" or "?" (the endpoint holds no "\\" nor "#"), so
        # exactly the listed one is followed by one of them: not ".evil", "@evil" nor ":1".
        if endpoint.startswith(origin) and endpoint[len(origin) : len(origin) + 1] in ("/", "?"):
            return origin
        return None


def _service(text: str) -> Service:
    """One HUB_PUSH_SERVICES entry, or ValueError saying what is wrong with it."""
    parts = urlsplit(text)
    host = parts.netloc.lower().rstrip(".")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in host or not host:
        raise ValueError(f"push service {text!r}: give an origin (scheme://host[:port]) only")
    try:
        parts.port  # noqa: B018 (read for its check: 0 to 65535, digits only)
    except ValueError:
        # Taken, it would refuse every endpoint on it without a word (a typo for 7000, say).
        raise ValueError(f"push service {text!r}: its port is not a port number") from None
    if parts.scheme == "http":
        name, _, port = host.rpartition(":")
        if name not in LOOPBACK_HOSTS or not port.isdigit():
            raise ValueError(
                f"push service {text!r}: http only for a loopback origin with its port"
            )
        return Service(text, "http", host, wildcard=False)
    if parts.scheme != "https":
        raise ValueError(f"push service {text!r}: https only")
    if host.startswith("*."):
        domain = host[2:]
        if not re.fullmatch(rf"(?:{LABEL}\.)+{LABEL}", domain) or domain.rsplit(".")[-1].isdigit():
            raise ValueError(f"push service {text!r}: `*.` needs a domain name after it")
        return Service(text, "https", domain, wildcard=True)
    if host.endswith(":443"):
        host = host[: -len(":443")]
    return Service(text, "https", host, wildcard=False)


class PushServices:
    """The push-service origins the hub may send to; every other URL is refused."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins
        self._services = tuple(_service(origin) for origin in origins)

    @classmethod
    def parse(cls, setting: str) -> PushServices:
        """The origins of a comma-separated HUB_PUSH_SERVICES value (SettingsError for an entry
        that is not an https origin, a `https://*.domain`, or a loopback http origin)."""
        try:
            return cls(tuple(o.strip() for o in setting.split(",") if o.strip()))
        except ValueError as exc:
            # As hub/settings.py reports a bad value: `hub serve` prints it in one line.
            raise SettingsError(f"HUB_PUSH_SERVICES: {exc}") from None

    def match(self, endpoint: object) -> str:
        """The origin the hub will send to for this endpoint (a listed origin, or the
        subdomain a `*.` entry allowed), or InvalidSubscription (field `endpoint`)."""
        if not isinstance(endpoint, str) or not endpoint:
            raise InvalidSubscription("endpoint", "the endpoint must be a URL")
        if len(endpoint) > MAX_ENDPOINT or not URI_CHARACTERS.fullmatch(endpoint):
            raise InvalidSubscription("endpoint", "the endpoint is not a plain URL")
        if "#" in endpoint:
            raise InvalidSubscription("endpoint", "a push endpoint has no fragment")
        for service in self._services:
            origin = service.authority(endpoint)
            if origin is not None and _agrees(endpoint, origin, service):
                _check_path(endpoint)
                return origin
        raise InvalidSubscription("endpoint", "the endpoint is not on a known push service")


def _check_path(endpoint: str) -> None:
    """Refuse a path no push service gives (InvalidSubscription): empty or `/` alone, a dot
    segment (plain or percent-encoded) or an empty segment; a trailing `/` is WNS's `/w/`."""
    path = urlsplit(endpoint).path
    if path in ("", "/"):
        raise InvalidSubscription("endpoint", "the endpoint has no path")
    segments = path[1:].split("/")
    if segments[-1] == "":
        segments.pop()
    for segment in segments:
        if not segment:
            raise InvalidSubscription("endpoint", "the endpoint's path has an empty segment")
        if DOT_SEGMENT.fullmatch(segment):
            raise InvalidSubscription("endpoint", "the endpoint's path has a dot segment")


def _agrees(endpoint: str, origin: str, service: Service) -> bool:
    """Whether Python's own URL parser reads the same scheme, host and port (a second reader
    of the URL, as the sender's HTTP client will be)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    expected = urlsplit(origin)
    if parts.scheme != service.scheme or parts.netloc != expected.netloc or port != expected.port:
        return False
    # A `*.` entry never reaches an address, however the subdomain is spelt.
    return not (service.wildcard and _is_address(parts.hostname or ""))


def _is_address(host: str) -> bool:
    """Whether a host is an IP address in any spelling a resolver takes (dotted, or a last
    label of digits as in "1.2.3.4" or "0x7f.1")."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.rsplit(".", 1)[-1].isdigit()
    return True
