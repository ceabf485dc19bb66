"""Webhook rules without I/O: which URLs and addresses are refused (IPv6 forms included),
the retry schedule, the payload's bytes and its signature."""
import ipaddress
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from atelier_kit.webhook_signatures import SignatureError, sign, verify

from app.domain import webhooks
from app.domain.webhook_targets import TargetRefused, address_problem, embedded_ipv4, parse_target

REFUSED = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
    "2002:7f00:1::1", "2002:a00:1::",  # 6to4 around loopback and 10/8
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 around loopback and the metadata address
    "::7f00:1",  # IPv4-compatible (deprecated) loopback
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused_in_every_spelling(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=False) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed_in_every_spelling(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=False) is None


def test_the_development_setting_allows_loopback_and_private_but_never_multicast_or_unspecified():
    for address in ("127.0.0.1", "::1", "10.0.0.1", "::ffff:127.0.0.1"):
        assert address_problem(ipaddress.ip_address(address), allow_private=True) is None
    for address in ("0.0.0.0", "::", "224.0.0.1", "ff02::1", "::ffff:0.0.0.0"):
        assert address_problem(ipaddress.ip_address(address), allow_private=True) is not None


def test_the_ipv4_inside_ipv6_is_found():
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:10.1.2.3"))) == "10.1.2.3"
    assert str(embedded_ipv4(ipaddress.ip_address("2002:c0a8:101::1"))) == "192.168.1.1"
    assert str(embedded_ipv4(ipaddress.ip_address("64:ff9b::c0a8:101"))) == "192.168.1.1"
    assert embedded_ipv4(ipaddress.ip_address("2001:4860:4860::8888")) is None
    assert embedded_ipv4(ipaddress.ip_address("10.0.0.1")) is None


@pytest.mark.parametrize("url, reason", [
    ("ftp://example.com/hook", "start with"),
    ("file:///etc/passwd", "start with"),
    ("gopher://example.com/", "start with"),
    ("https://user:pw@example.com/hook", "user name"),
    ("https://user@example.com/hook", "user name"),
    ("https://example.com/hook#frag", "fragment"),
    ("https:///hook", "no host"),
    ("https://example.com:0/hook", "port 0"),
    ("https://example.com:99999/hook", "cannot be read"),
    ("https://exa mple.com/", "spaces"),
    ("https://example.com/\x00", "control"),
    ("https://bücher.example/", "punycode"),
    ("https://example.com/" + "a" * 2100, "longer"),
])
def test_urls_of_the_wrong_shape_are_refused(url, reason):
    with pytest.raises(TargetRefused) as refused:
        parse_target(url, https_only=False)
    assert refused.value.code == "url_not_allowed"
    assert reason in refused.value.message


def test_production_takes_https_only():
    with pytest.raises(TargetRefused):
        parse_target("http://example.com/hook", https_only=True)
    assert parse_target("https://example.com/hook", https_only=True).port == 443


def test_a_target_keeps_what_the_sender_needs():
    target = parse_target("https://Hooks.Example.com:8443/in?x=1", https_only=True)
    assert (target.host, target.port, target.path_and_query, target.host_header) == (
        "hooks.example.com", 8443, "/in?x=1", "hooks.example.com:8443")
    v6 = parse_target("http://[2001:4860:4860::8888]/", https_only=False)
    assert (v6.host, v6.port, v6.host_header) == ("2001:4860:4860::8888", 80, "[2001:4860:4860::8888]")


def test_the_retry_schedule_grows_with_jitter_and_ends():
    rng = random.Random(7)
    for attempt, base in enumerate(webhooks.RETRY_DELAYS_S, start=1):
        delay = webhooks.retry_delay_s(attempt, rng=rng)
        assert base * 0.8 <= delay <= base * 1.2
    assert webhooks.RETRY_DELAYS_S[:6] == (10, 60, 300, 1800, 7200, 21600)
    # Past the table, the last delay repeats.
    assert webhooks.retry_delay_s(20, rng=rng) >= webhooks.RETRY_DELAYS_S[-1] * 0.8
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert now + timedelta(seconds=8) <= webhooks.next_attempt_at(1, 8, now) <= now + timedelta(seconds=12)
    assert webhooks.next_attempt_at(8, 8, now) is None


def test_the_body_is_stable_compact_json():
    delivery = uuid.uuid4()
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    body = webhooks.body(delivery, "job.succeeded", created, {"id": "j", "prompt": "café"})
    assert body == webhooks.body(delivery, "job.succeeded", created, {"id": "j", "prompt": "café"})
    document = json.loads(body)
    assert document == {"id": str(delivery), "type": "job.succeeded", "created_at": "2026-01-02T03:04:05Z",
                        "data": {"id": "j", "prompt": "café"}}
    assert b" " not in body.replace("café".encode(), b"")


def test_a_signature_verifies_and_anything_else_does_not():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    body = b'{"id":"x"}'
    header = sign(secret, body, timestamp=1_700_000_000)
    assert verify(secret, body, header, now=1_700_000_010) == 1_700_000_000
    for bad_body, bad_secret, bad_header in (
        (b'{"id":"y"}', secret, header), (body, secret + "x", header), (body, secret, "t=1700000000,v1=00"),
        (body, secret, ""), (body, secret, "garbage"), (body, secret, "t=-1,v1=ab"), (body, secret, "t=1700000000,v1=é"),
    ):
        with pytest.raises(SignatureError) as error:
            verify(bad_secret, bad_body, bad_header, now=1_700_000_010)
        assert error.value.code == "signature_invalid"
    with pytest.raises(SignatureError) as stale:
        verify(secret, body, header, now=1_700_000_000 + 301)
    assert stale.value.code == "signature_expired"
