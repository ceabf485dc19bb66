"""Sends one signed webhook request to the address that was checked (sync, for the deliverer).

The host is resolved here, every address it resolves to is checked (app.domain.webhook_targets),
and the connection goes to the checked address itself, with the name in Host and in TLS's SNI
(the certificate is verified for the name): nothing resolves the name a second time, so DNS
rebinding cannot move the request to an internal address between the check and the connect.
No redirect is followed (a 3xx is a failed attempt: a redirect could point anywhere), no proxy
or .netrc from the environment is used, the timeouts are explicit (each read, and the whole
exchange: a receiver that trickles its answer a byte at a time cannot hold a delivery thread
past ``connect + 2 x read`` seconds), and at most a short excerpt of the answer is read. A fresh connection per request: a pooled one made for another host at
the same address would carry this host's payload under that host's certificate.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from atelier_kit.webhook_signatures import SIGNATURE_HEADER, sign

from app.domain.webhook_targets import IPAddress, Target, TargetRefused, address_problem, literal_address, parse_target
from app.domain.webhooks import RESPONSE_EXCERPT_BYTES

USER_AGENT = "Atelier-Webhooks/1.0"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no answer (refused address, DNS, connect, TLS, timeout)
    error: str | None
    duration_ms: float


def resolve(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """Every address of the target's host, each one allowed; raises TargetRefused otherwise
    (a host with one private address among public ones is refused: which one a client
    connects to is not ours to choose later)."""
    literal = literal_address(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetRefused("url_not_resolvable", f"{target.host} does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
    if not addresses:
        raise TargetRefused("url_not_resolvable", f"{target.host} has no address")
    check_addresses(addresses, allow_private=allow_private)
    return addresses


def check_addresses(addresses: list[IPAddress], *, allow_private: bool) -> None:
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem is not None:
            raise TargetRefused("url_not_allowed", f"webhooks cannot be sent there: {problem}")


class _Deadline:
    """Ends the exchange at a fixed time whatever the peer does: httpx's timeouts bound each
    read, not their sum. It keeps the connection's socket (httpcore's trace of the connect)
    and shuts it down at the deadline, which wakes a read blocked on it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            with self._lock:
                self._socket = stream.get_extra_info("socket") if stream is not None else None

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._socket is not None:
                try:
                    self._socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed: the exchange is over anyway

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def send(
    url: str, body: bytes, *, secret: str, delivery_id: str, event_type: str, https_only: bool, allow_private: bool,
    connect_timeout_s: float, read_timeout_s: float,
) -> Outcome:
    started = time.monotonic()

    def outcome(status_code: int | None, error: str | None) -> Outcome:
        return Outcome(status_code, error, round((time.monotonic() - started) * 1000, 3))

    try:
        target = parse_target(url, https_only=https_only)
        address = resolve(target, allow_private=allow_private)[0]
    except TargetRefused as exc:
        return outcome(None, f"{exc.code}: {exc.message}")
    pinned_host = f"[{address}]" if address.version == 6 else str(address)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        # The excerpt is read raw: nothing compressed, so a few bytes can never inflate.
        "Accept-Encoding": "identity",
        SIGNATURE_HEADER: sign(secret, body),
        "Atelier-Webhook-Id": delivery_id,
        "Atelier-Webhook-Event": event_type,
    }
    timeout = httpx.Timeout(connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=connect_timeout_s)
    deadline = _Deadline(connect_timeout_s + 2 * read_timeout_s)
    extensions: dict[str, Any] = {"trace": deadline.trace}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    try:
        with deadline, httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", f"{target.scheme}://{pinned_host}:{target.port}{target.path_and_query}", content=body,
                headers=headers, extensions=extensions,
            )
            response = client.send(request, stream=True)
            try:
                excerpt = _excerpt(response)
            finally:
                response.close()
            if 200 <= response.status_code < 300:
                return outcome(response.status_code, None)
            reason = f"HTTP {response.status_code}"
            if 300 <= response.status_code < 400:
                reason += " (redirects are not followed; register the final URL)"
            return outcome(response.status_code, f"{reason}: {excerpt}" if excerpt else reason)
    except httpx.TimeoutException as exc:
        return outcome(None, f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        if deadline.expired:
            return outcome(None, f"timeout: the receiver took over {deadline.seconds:g} s in all")
        return outcome(None, f"{type(exc).__name__}: {exc}"[:500])


def _excerpt(response: httpx.Response) -> str:
    """At most RESPONSE_EXCERPT_BYTES of the answer, for the delivery log; the rest is never read."""
    taken = b""
    for chunk in response.iter_raw(RESPONSE_EXCERPT_BYTES):
        taken += chunk
        if len(taken) >= RESPONSE_EXCERPT_BYTES:
            break
    # Stored in Postgres text and shown in the SPA: no NUL, no other control characters.
    return _CONTROLS.sub(" ", taken[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")).strip()
