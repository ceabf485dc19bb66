"""The one reading of X-Forwarded-For behind trusted proxies (addresses and networks)."""
import pytest

from atelier_kit.addresses import Networks, forwarded_client

TRUSTED = Networks(["10.0.0.0/8", "127.0.0.1", " ::1 "])


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
    ("10.9.8.7", "1.2.3.4, 203.0.113.9", "203.0.113.9"),      # left of the first outsider: the client's claim
    ("10.9.8.7", "198.51.100.1, 10.1.1.1", "198.51.100.1"),   # our own hops are skipped
    ("10.9.8.7", "10.1.1.1, 10.2.2.2", "10.1.1.1"),           # nothing but ours: the leftmost
    ("192.0.2.1", "203.0.113.9", "192.0.2.1"),                # not a trusted peer: its header means nothing
    ("127.0.0.1", "not-an-ip", "127.0.0.1"),
    ("::1", "2001:db8::1", "2001:db8::1"),
    ("127.0.0.1", "", "127.0.0.1"),
    (None, "203.0.113.9", None),
])
def test_forwarded_client(peer, forwarded, expected):
    assert forwarded_client(peer, forwarded, TRUSTED) == expected


def test_no_trusted_proxy_means_the_peer():
    assert forwarded_client("127.0.0.1", "203.0.113.9", Networks([])) == "127.0.0.1"
    assert "garbage" not in TRUSTED and "10.0.0.1" in TRUSTED
