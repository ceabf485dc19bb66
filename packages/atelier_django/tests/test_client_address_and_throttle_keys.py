"""Unit: the client address the kit believes, and the admin throttle's counter keys."""
import pytest
from django.test import RequestFactory, override_settings

from atelier_django.admin_throttle import address_key, pair_key
from atelier_django.client_address import client_address


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),          # the gateway's header
    ("127.0.0.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # only the last entry is the gateway's
    ("10.0.0.5", "203.0.113.9", "10.0.0.5"),              # not from a trusted proxy: ignored
    ("127.0.0.1", "not-an-ip", "127.0.0.1"),
    ("127.0.0.1", "é\xff", "127.0.0.1"),
    ("", "", "unknown"),
])
def test_client_address(remote, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_trusted_proxies_are_configurable():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    with override_settings(ATELIER_TRUSTED_PROXIES=["10.0.0.5"]):
        assert client_address(request) == "203.0.113.9"


def test_keys_are_fixed_length_and_separate_pairs():
    assert pair_key("Staff@Example.com ", "1.1.1.1") == pair_key("staff@example.com", "1.1.1.1")
    assert pair_key("staff", "1.1.1.1") != pair_key("staff", "2.2.2.2")
    assert pair_key("staff", "1.1.1.1") != address_key("1.1.1.1")
    assert len(pair_key("é\udcff" * 1000, "x")) == 64


def test_trusted_proxies_may_be_networks_as_gateway_pods_change_address():
    """In Kubernetes the gateway's pod address changes; its network is what is trusted."""
    with override_settings(ATELIER_TRUSTED_PROXIES=["10.0.0.0/8"]):
        pod = RequestFactory().get("/", REMOTE_ADDR="10.42.7.19", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert client_address(pod) == "203.0.113.9"
        # An ingress pod in front of the gateway appended its own hop: skipped, it is ours too.
        behind_ingress = RequestFactory().get("/", REMOTE_ADDR="10.42.7.19", HTTP_X_FORWARDED_FOR="198.51.100.1, 10.40.0.3")
        assert client_address(behind_ingress) == "198.51.100.1"
        outsider = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert client_address(outsider) == "192.0.2.1"
