"""Only the gateway is public: the services' ports refuse connections on this machine's
non-loopback addresses, and the services' /internal/ routes are not reachable through it."""
from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

import httpx
import pytest

pytestmark = pytest.mark.e2e
SIOCGIFADDR = 0x8915
INTERNAL_PORTS = ("AUTH_PORT", "PAYMENTS_PORT", "PRE_INFERENCE_PORT")


def non_loopback_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, read from the kernel (Linux)."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # an interface without an IPv4 address
            address = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(address).is_loopback:
                found.append(address)
    return found


def connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


def test_internal_ports_refuse_connections_from_outside(platform):
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    for name in INTERNAL_PORTS:
        port = int(platform["env"][name])
        # The service is up (so a refusal below means "not listening there", not "not running").
        assert connects("127.0.0.1", port), f"{name} {port} is not listening on loopback"
        for address in addresses:
            assert not connects(address, port), f"{name} {port} accepts connections on {address}"


@pytest.mark.parametrize("method, path", [
    ("POST", "/internal/api-keys/introspect"),
    ("GET", "/internal/api-keys/introspect"),
    ("POST", "/api/auth/internal/api-keys/introspect"),
    ("POST", "/api/auth/%2E%2E/%2E%2E/internal/api-keys/introspect"),
])
def test_internal_routes_are_404_through_the_gateway(client, platform, method, path):
    # Even with the right internal token: the route does not exist from outside.
    response = client.request(method, path, json={"key": "atl_live_" + "a" * 40},
                              headers={"X-Internal-Token": platform["env"]["ATELIER_INTERNAL_TOKEN"]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_api_reference_is_served(client):
    document = client.get("/api/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/docs/docs.js" in page.text
