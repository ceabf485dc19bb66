"""Whose request is it: the caller's address behind trusted proxies, for every service.

A trusted proxy (the gateway for the services; a load balancer or ingress controller for the
gateway) appends the address it saw to X-Forwarded-For. The list is read right to left: each
hop that is one of ours is skipped, and the first one that is not is the client. Anything
further left is the client's own unverified claim. Trusted proxies are given as addresses or
networks (``10.0.0.0/8``), since pods and containers change address.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class Networks:
    def __init__(self, entries: Iterable[str]):
        self.networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]

    def __contains__(self, host: object) -> bool:
        try:
            address = ipaddress.ip_address(str(host).strip())
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def forwarded_client(peer: str | None, forwarded_for: str | None, trusted: Networks) -> str | None:
    """The caller's address: the peer, unless the peer is a trusted proxy that says otherwise."""
    if not peer or not trusted.networks or peer not in trusted or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a hop we cannot read: trust nothing the header says
        if hop not in trusted:
            return hop
    return hops[0] if hops else peer
