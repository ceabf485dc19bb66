"""Where a webhook may be sent: the URL's shape, and the addresses its host may resolve to.

A webhook makes this service send requests to an address a client chose, so without these
rules it would reach what only this network can: the metadata endpoint of a cloud machine
(169.254.169.254), the database, the broker, the other services on loopback. So only public
(globally routable) unicast addresses are allowed, whatever way they are written: an IPv4
address inside IPv6 (::ffff:10.0.0.1, the 6to4 and NAT64 prefixes, Teredo) is judged as the
IPv4 address it carries. The rules are checked at registration AND on every delivery, against
the address actually connected to (app.adapters.webhook_sender pins it), so a name that
resolved to a public address when registered and to 127.0.0.1 later (DNS rebinding) is refused.

Pure functions; the resolving is the adapter's.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.text_rules import refused_character

URL_MAX_CHARS = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class TargetRefused(ValueError):
    """``code`` is machine-readable (the API's error code); the message says why, for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """A URL that passed the shape rules, split into what the sender needs."""

    url: str
    scheme: str
    host: str  # lower-case; an IPv6 literal without its brackets
    port: int
    path_and_query: str

    @property
    def host_header(self) -> str:
        """Host as the receiver expects it: the name (or literal) and a port that is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str, *, https_only: bool) -> Target:
    """The shape rules: http(s) (https only in production), a host, no user:password (it
    would be sent to the receiver and logged with the URL), no fragment, any port."""
    if len(url) > URL_MAX_CHARS:
        raise TargetRefused("url_not_allowed", f"the URL is longer than {URL_MAX_CHARS} characters")
    if refused_character(url) is not None or any(c.isspace() for c in url):
        raise TargetRefused("url_not_allowed", "the URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("url_not_allowed", f"the URL cannot be read: {exc}") from None
    scheme = parts.scheme.lower()
    allowed = ("https",) if https_only else ("https", "http")
    if scheme not in allowed:
        raise TargetRefused("url_not_allowed", f"the URL must start with {' or '.join(s + '://' for s in allowed)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefused("url_not_allowed", "the URL must not contain a user name or password")
    if parts.fragment or url.endswith("#"):
        raise TargetRefused("url_not_allowed", "the URL must not have a #fragment (it is never sent)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("url_not_allowed", "the URL has no host")
    if port == 0:
        raise TargetRefused("url_not_allowed", "port 0 is not a port one can connect to")
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        raise TargetRefused("url_not_allowed", "write an internationalised host name in its xn-- (punycode) form") from None
    path = parts.path or "/"
    return Target(
        url=url, scheme=scheme, host=host.lower(), port=port or (443 if scheme == "https" else 80),
        path_and_query=path + (f"?{parts.query}" if parts.query else ""),
    )


def literal_address(host: str) -> IPAddress | None:
    """The host as an IP address when it is one (decimal or hex IPv4 forms such as
    2130706433 are left to the resolver, which turns them into the address judged later)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, Teredo's client), if any."""
    if address.version != 6:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated): no longer routed, so ::7f00:1 is refused below
    # as a reserved address; judged as the IPv4 address too, for the message.
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to ``address``, or None. An IPv6 address carrying an
    IPv4 one is judged as that IPv4 address (Python calls every ::ffff:a.b.c.d private,
    whatever a.b.c.d is, and ::ffff:127.0.0.1 not loopback). With ``allow_private``
    (development and tests only) loopback and private addresses are allowed; multicast and
    the unspecified address never are."""
    candidate = embedded_ipv4(address) or address
    if candidate.is_unspecified:
        return f"{address} is the unspecified address"
    if candidate.is_multicast:
        return f"{address} is a multicast address"
    if allow_private:
        return None
    for label, refused in (
        ("loopback", candidate.is_loopback), ("link-local", candidate.is_link_local),
        ("private", candidate.is_private), ("reserved", candidate.is_reserved),
    ):
        if refused:
            return f"{address} is a {label} address"
    if not candidate.is_global:
        return f"{address} is not a public address"
    return None
